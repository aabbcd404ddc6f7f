"""The command line: outputs, summary keys, and one-line errors (exit 2, nothing left behind)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lowdim

SUMMARY_KEYS = {
    "neurons",
    "rank",
    "load",
    "duration",
    "dt",
    "seed",
    "a",
    "c",
    "distance_rec",
    "rate_snn_hz",
    "rate_rnn_hz",
    "wall_seconds",
}


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "lowdim", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def test_simulate_writes_summary_and_dataset(tmp_path):
    out = tmp_path / "sim"
    r = run(
        "simulate",
        "--neurons",
        "2000",
        "--rank",
        "5",
        "--duration",
        "0.2",
        "--seed",
        "3",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["neurons"] == 2000 and summary["rank"] == 5 and summary["seed"] == 3
    assert summary["load"] == pytest.approx(5 / 2000)
    ds = lowdim.load(out / "run.nc")
    assert ds.attrs["distance_rec"] == pytest.approx(summary["distance_rec"])
    assert (out / "traces.png").stat().st_size > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_simulate_from_config_file_with_load(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        'neurons = 2000\nload = 0.005\nduration = 0.2\nseed = 4\nnoise_time_unit = "tau"\n'
    )
    out = tmp_path / "o"
    r = run("simulate", "--config", str(cfg), "--out", str(out), "--no-figure")
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["rank"] == 10 and s["noise_time_unit"] == "tau" and s["seed"] == 4


def test_simulate_snn_method_auto_runs_the_event_method(tmp_path):
    """--networks snn with --method auto (the default) runs event-driven; summary.json and
    run.nc record the method that ran, not "auto"."""
    out = tmp_path / "ev"
    r = run(
        "simulate", "-N", "2000", "-p", "5", "--duration", "0.05", "--burn-in", "0.01",
        "--networks", "snn", "--method", "auto", "--no-figure", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "event"
    ds = lowdim.load(out / "run.nc")
    assert ds.attrs["method"] == "event" and "rate_snn_hz" in ds.attrs


def test_checkpoint_removed_after_the_run_unless_kept(tmp_path):
    """A finished run removes its checkpoint (also one inside --out, which the output folder
    rule keeps), or keeps it with --keep-checkpoint; summary.json and the last line say which."""
    base = ["simulate", "-N", "1000", "-p", "4", "--duration", "0.2", "--no-figure"]
    for keep, ckpt, out in ((False, "a/run.ckpt", "a"), (True, "b.ckpt", "b")):
        flags = ["--keep-checkpoint"] if keep else []
        r = run(*base, "--checkpoint", ckpt, "--out", out, *flags, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        summary = json.loads((tmp_path / out / "summary.json").read_text())
        word = "kept" if keep else "removed"
        assert summary["checkpoint"] == word and summary["checkpoint_path"] == ckpt
        assert (tmp_path / ckpt).exists() == keep
        assert f"checkpoint {ckpt} {word}" in " ".join(r.stdout.split()), r.stdout
        assert "resuming" not in r.stderr and "this session" not in r.stdout


def test_info():
    r = run("info")
    assert r.returncode == 0 and "backend" in r.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["--neurons", "1"], "at least 2 neurons"),
        (["--rank", "0"], "rank p must be ≥ 1"),
        (["--neurons", "100", "--rank", "200"], "exceeds neurons"),
        (["--dt", "0.02"], "smaller than τ"),
        (["--sigma", "nan"], "finite"),
        (["--duration", "inf"], "finite"),
        (["--networks", "both2"], "unknown networks"),
        (["--noise-time-unit", "hours"], "unknown noise_time_unit"),
        (["--neurons", "abc"], "valid integer"),
        (["--load", "2.0"], "load"),
        (["--config", "/nonexistent/run.toml"], "cannot read config"),
        (["--keep-checkpoint"], "--keep-checkpoint needs --checkpoint"),
        (["--neurons", "1000000000", "--rank", "1000"], "GiB"),
        (["--method", "fast"], "unknown method"),
        (["--method", "event"], "--networks snn"),  # the default run is paired
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, args, words):
    out = tmp_path / "out"
    r = run("simulate", *args, "--out", str(out))
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists() and os.listdir(tmp_path) == []


def test_bad_config_contents(tmp_path):
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("neurons = = 3\n")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('neurons = 2000\nrank = 5\ntransfer = "relu"\n')
    typo = tmp_path / "typo.toml"
    typo.write_text("neurons = 2000\nrnak = 5\n")
    for path, words in (
        (bad_toml, "not valid TOML"),
        (unknown, "unknown transfer"),
        (typo, "unknown setting"),
    ):
        r = run("simulate", "--config", str(path), "--out", str(tmp_path / "o"))
        assert r.returncode == 2 and r.stderr.startswith("error:") and words in r.stderr, r.stderr
        assert not (tmp_path / "o").exists()


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    r = run(
        "simulate",
        "--neurons",
        "200",
        "--rank",
        "2",
        "--duration",
        "0.2",
        "--out",
        str(blocker / "sub"),
    )
    assert r.returncode == 2 and "choose another --out" in r.stderr
    assert blocker.read_text() == "x"


def test_unknown_figure():
    r = run("reproduce", "fig9")
    assert r.returncode == 2 and "unknown figure" in r.stderr


def test_lecture_command_checks_the_system_and_its_options(tmp_path):
    from lowdim.cli import _extra_options

    r = run("lecture", "no-such-system")
    assert r.returncode == 2 and "unknown lecture system" in r.stderr
    # `field` is the field-limit demo: its own check of the scale answers
    r = run("lecture", "field", "--scale", "huge", "--out", str(tmp_path / "f"))
    assert r.returncode == 2 and "for the field-limit demo" in r.stderr, r.stderr
    assert not (tmp_path / "f").exists()

    def demo(
        scale="small", out=None, progress=True, seed=0, train_steps: int = 100, fast: bool = False
    ):
        return None

    assert _extra_options(["--train-steps", "5", "--fast"], demo, "demo") == {
        "train_steps": 5,
        "fast": True,
    }
    with pytest.raises(lowdim.ConfigError, match="no option --nope"):
        _extra_options(["--nope", "1"], demo, "demo")
    with pytest.raises(lowdim.ConfigError, match="must be int"):
        _extra_options(["--train-steps", "many"], demo, "demo")


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"lowdim {lowdim.__version__}", r


def test_default_burn_in_is_stated_in_help_readme_and_error(tmp_path):
    """The default burn-in (0.1 s) is in `simulate --help`, the README's table and the error of
    a run too short for it; that error comes with every other bad option, one line each."""
    default = lowdim.RunConfig().burn_in
    r = run("simulate", "--help")
    assert r.returncode == 0 and f"(default {default:g})" in " ".join(r.stdout.split())
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"burn-in B = {default:g} s" in readme
    out = tmp_path / "o"
    r = run("simulate", "-N", "200", "-p", "2", "--duration", "0.05", "--sigma", "-1", "--out", out)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 2, r.stderr
    assert all(ln.startswith("error: ") for ln in lines)
    assert f"burn_in = {default:g} s (the default)" in lines[0] and "--burn-in" in lines[0]
    assert "sigma" in lines[1] and not out.exists()
