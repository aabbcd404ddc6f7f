"""Help with examples for every command, "did you mean" for mistyped names, and lowdim doctor."""

from __future__ import annotations

import pytest

from lowdim.cli import app, main


def _commands():
    """(path, click command) of every command and sub-command of the app."""
    import typer.main

    group = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        out.append((path, cmd))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(group, [])
    return out


def _run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def test_every_command_has_help_with_examples(capsys):
    cmds = [(p, c) for p, c in _commands() if not hasattr(c, "commands")]
    assert {"simulate", "reproduce", "lecture", "doctor", "report", "nwb"} <= {
        p[-1] for p, _ in cmds
    }
    for path, _ in cmds:
        code, out, _ = _run([*path, "--help"], capsys)
        assert code == 0 and "Usage:" in out, path
        if path != ["info"]:
            assert "Examples:" in out and f"lowdim {' '.join(path)}" in out, path


@pytest.mark.parametrize(
    ("args", "suggestion"),
    [
        (["simulat"], "Did you mean 'simulate'?"),
        (["reproduce", "fig"], "Did you mean 'fig"),
        (["reproduce", "fgi2"], "Did you mean 'fig2'?"),
        (["lecture", "hopfeild"], "Did you mean 'hopfield'?"),
        (["simulate", "--neuron", "10"], "--neurons"),
        (["export", "nbw", "x"], "Did you mean 'nwb'?"),
    ],
)
def test_mistyped_names_get_a_suggestion(args, suggestion, capsys):
    code, _, err = _run(args, capsys)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert suggestion in err


def test_lecture_options_get_a_suggestion():
    from lowdim.cli import _extra_options
    from lowdim.errors import ConfigError

    def run(scale="small", out=None, progress=True, seed=0, train_steps: int = 10):
        return {}

    with pytest.raises(ConfigError, match="Did you mean '--train-steps'"):
        _extra_options(["--train-step", "3"], run, "lecture x")
    assert _extra_options(["--train-steps", "3"], run, "lecture x") == {"train_steps": 3}


def test_doctor_reports_backend_extras_and_what_to_install(capsys, tmp_path, monkeypatch):
    from lowdim import doctor

    code, out, _ = _run(["doctor", "--out", str(tmp_path)], capsys)
    assert code == 0 and "lowdim can run here" in out
    for word in ("jax", "devices", "memory", "write access", "pynwb", "mkdocs", "chromium"):
        assert word in out
    # a missing extra is reported with the command that installs it
    real = doctor.importlib.util.find_spec
    monkeypatch.setattr(
        doctor.importlib.util, "find_spec", lambda m: None if m == "pynwb" else real(m)
    )
    checks = {c.name: c for c in doctor.run_checks(tmp_path)}
    assert checks["pynwb"].status == "missing" and "lowdim[nwb]" in checks["pynwb"].advice
    # an unwritable folder is a failure that says what to do
    bad = tmp_path / "file"
    bad.write_text("")
    c = doctor.check_write(bad / "sub")
    assert c.status == "fail" and "--out" in c.advice
