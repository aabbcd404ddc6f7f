"""Lecture settings (`lowdim lecture NAME --config FILE.toml` / options), per-lecture help with
run times, and the named model choices of the ring and latent lectures."""

from __future__ import annotations

import json
import math
import re
import tomllib

import numpy as np
import pytest

from lowdim.cli import main
from lowdim.errors import ConfigError
from lowdim.experiments import LECTURES, REGISTRY, get
from lowdim.experiments import settings as st
from lowdim.experiments.times import RUN_TIMES


def _run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


# ----------------------------------------------------------------------------- help, times
@pytest.mark.parametrize("name", list(LECTURES))
def test_lecture_help_lists_its_options_and_a_time_per_scale(name, capsys):
    module = get(name, LECTURES)
    code, out, err = _run(["lecture", name, "--help"], capsys)
    assert code == 0, err
    assert out.startswith(f"Usage: lowdim lecture {name}")
    for scale in module.SCALES:
        line = [x for x in out.splitlines() if x.strip().startswith(scale + " ")]
        assert line and RUN_TIMES[name][scale] in line[0], (name, scale)
    if hasattr(module, "PARAMS") or "config" in module.run.__code__.co_varnames:
        for key in st.keys(module):
            assert f"--{key.replace('_', '-')} " in out, (name, key)
        assert "--config FILE.toml" in out
    if name == "context-dm":
        assert "--train-steps" in out


def test_every_scale_has_a_run_time():
    """Every scale of every `reproduce`/`lecture` command has an entry; the default scale of
    each has a measured number with its unit."""
    for reg in (REGISTRY, LECTURES):
        for name in reg:
            module = get(name, reg)
            assert set(module.SCALES) <= set(RUN_TIMES[name]), name
            small = RUN_TIMES[name]["small"]
            assert re.search(r"\d+(\.\d+)?\s*(s|min|h)\b", small), (name, small)


def test_general_help_shows_run_times_and_reproduce_help_too(capsys):
    code, out, _ = _run(["lecture", "--help"], capsys)
    assert code == 0 and "Usage:" in out and "Examples:" in out
    for name in LECTURES:
        assert f"  {name}: small {RUN_TIMES[name]['small']}" in out
    code, out, _ = _run(["reproduce", "--help"], capsys)
    assert code == 0
    flat = " ".join(out.split())
    for name in REGISTRY:
        for scale, t in RUN_TIMES[name].items():
            if scale != "test":
                assert f"--scale {scale}: {' '.join(t.split())}" in flat, (name, scale)


# ----------------------------------------------------------------------------- settings
def test_command_line_values_are_parsed_with_the_defaults_types():
    assert st.parse_value("x", "3", 1.0) == 3.0
    assert st.parse_value("x", "500,1000", [1, 2]) == [500, 1000]
    assert st.parse_value("x", "1000:8,3000:4", {1: 2}) == {1000: 8, 3000: 4}
    assert st.parse_value("x", "inf", 4.0) == math.inf
    assert st.parse_value("x", "cosine", "mexican-hat") == "cosine"
    assert st.parse_value("J", "[[1, 0], [0, 2]]", ((2.0, 0.0), (0.0, 1.5))) == (
        (1.0, 0.0),
        (0.0, 2.0),
    )
    with pytest.raises(ConfigError, match="must be an integer"):
        st.parse_value("x", "2.5", 3)
    with pytest.raises(ConfigError, match="comma-separated list"):
        st.parse_value("x", "1,,[", [1])


@pytest.mark.parametrize("name", ["ring", "latent", "field-limit", "hopfield"])
def test_saved_settings_read_back_exactly(name, tmp_path):
    module = get(name, LECTURES)
    s = st.resolve(module, name, "test", 4)
    (tmp_path / "s.toml").write_text(st.to_toml(s))
    assert st.resolve(module, name, None, None, tmp_path / "s.toml") == s
    assert st.resolve(module, name, None, None, st.from_summary({"settings": st.jsonable(s)})) == s
    assert tomllib.loads(st.to_toml(s))["lecture"] == name


# ----------------------------------------------------------------------------- ring
def test_ring_kernel_and_transfer_by_name():
    from lowdim.experiments import ring_attractor as ra
    from lowdim.models.field import CosineKernel, MexicanHat
    from lowdim.nonlinearity import Erf, Sigmoid

    s = st.resolve(ra, "ring", "test", 0, overrides={"kernel": "cosine", "w1": 0.2})
    with st.use_params(ra, s["model"]):
        phi, hat, cos = ra._model()
    assert isinstance(hat, CosineKernel) and isinstance(phi, Sigmoid)
    assert hat.mode(0) == -0.02 and hat.mode(1) == 0.2 and cos.mode(1) == 0.2
    phi, hat, cos = ra._model()  # the module's own model again outside the block
    assert isinstance(hat, MexicanHat) and math.isclose(hat.mode(1), 0.15, rel_tol=1e-12)
    s = st.resolve(ra, "ring", "test", 0, overrides={"transfer": "erf", "beta": 2.0})
    with st.use_params(ra, s["model"]):
        phi, _, _ = ra._model()
    assert isinstance(phi, Erf) and phi.s == 0.5 and phi.b == 1.0 and phi.rmax == 100.0
    for bad, msg in (({"kernel": "gauss"}, "mexican-hat"), ({"transfer": "relu"}, "sigmoid")):
        s = st.resolve(ra, "ring", "test", 0, overrides=bad)
        with st.use_params(ra, s["model"]), pytest.raises(ConfigError, match=msg):
            ra._model()


# ----------------------------------------------------------------------------- latent
def test_latent_named_f_g_density():
    from lowdim.experiments import latent as lt

    P = {**lt.PARAMS, "f": "tanh", "g": "tanh", "density": "uniform"}
    m = lt._model(P["J"], P)
    z = np.array([[0.3, -1.2], [1.0, 0.5]], np.float32)
    J = np.array(P["J"])
    np.testing.assert_allclose(np.asarray(m.f(z)), np.tanh(z), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(m.g(z)), np.tanh(z) @ J.T * 2 / 100, rtol=1e-6)
    q = m.quadrature  # uniform on [−√3, √3]²: mean 0, unit variance, E[z⁴] = 9/5
    np.testing.assert_allclose(q.expect(lambda x: x), 0, atol=1e-12)
    np.testing.assert_allclose(q.expect(lambda x: x**2), 1, rtol=1e-12)
    np.testing.assert_allclose(q.expect(lambda x: x**4), 9 / 5, rtol=1e-12)
    import jax

    draw = np.asarray(m.density(jax.random.PRNGKey(0), 200_000, np.float32))
    assert np.abs(draw).max() <= math.sqrt(3) and abs(draw.var() - 1) < 5 * math.sqrt(0.8 / 2e5)
    base = lt._model(lt.PARAMS["J"], lt.PARAMS)
    assert base.name == "gaussian-rank2"
    with pytest.raises(ConfigError, match=r"unknown latent density 'ring'; choose one of"):
        lt._model(P["J"], {**P, "density": "ring"})


# ----------------------------------------------------------------------------- rerun
_TINY = {
    "ring": {
        "points": 32,
        "hold": 0.1,
        "conv_points": [16, 32],
        "conv_dts": [4e-4, 2e-4],
        "conv_duration": 0.05,
        "track_points": 32,
        "track_duration": 0.3,
        "speeds_turns": [1.0],
        "net_n": [300, 600],
        "seeds": 1,
        "net_duration": 0.15,
        "track_n": 300,
    },
    "latent": {"duration": 0.15, "neurons": [300, 600], "seeds": 1},
    "field-limit": {"neurons": [300, 600], "seeds": 1, "duration": 0.02, "record_each": 10},
}


def _numbers(x):
    if isinstance(x, dict):
        return {k: _numbers(v) for k, v in x.items() if "seconds" not in k and "wall" not in k}
    if isinstance(x, list):
        return [_numbers(v) for v in x]
    return x


@pytest.mark.slow
@pytest.mark.parametrize("name", list(_TINY))
def test_rerun_from_saved_settings_gives_the_same_numbers(name, tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(
        f'lecture = "{name}"\nscale = "test"\n[run]\n'
        + "".join(f"{k} = {st._toml_value(v)}\n" for k, v in _TINY[name].items())
    )
    extra = {
        "ring": ["--kernel", "cosine"],
        "latent": ["--f", "tanh"],
        "field-limit": ["--sigma", "0.4"],
    }
    a, b = tmp_path / "a", tmp_path / "b"
    code, _, err = _run(
        ["lecture", name, "--config", str(cfg), "--out", str(a), *extra[name]], capsys
    )
    assert code == 0, err
    assert "phase 1/" in err
    code, _, err = _run(
        ["lecture", name, "--config", str(a / "settings.toml"), "--out", str(b)], capsys
    )
    assert code == 0, err
    s1 = json.loads((a / "summary.json").read_text())
    s2 = json.loads((b / "summary.json").read_text())
    assert s1["settings"]["model"][extra[name][0][2:]] == st.parse_value(
        "x", extra[name][1], s1["settings"]["model"][extra[name][0][2:]]
    )
    assert _numbers(s1) == _numbers(s2)


def test_report_shows_the_settings(tmp_path):
    from lowdim.experiments import hopfield as demo
    from lowdim.report import render_report

    s = st.resolve(demo, "hopfield", "test", 0, overrides={"glauber_beta": 2.5})
    (tmp_path / "summary.json").write_text(json.dumps({"settings": st.jsonable(s)}))
    html = render_report(tmp_path).read_text()
    conf = html[html.index('id="configuration"') :]
    assert "run.glauber_beta" in conf and "2.5" in conf and "No configuration" not in conf


def test_lecture_finish_writes_settings_extras_and_results_and_returns_the_summary(tmp_path):
    """experiments._lecture.finish (ring, latent, field limit): summary.json holds the summary,
    the settings, the extras, the files and the results; report.md gets the files; the run
    returns the summary with settings and results only (NaN as None)."""
    from lowdim.experiments import _lecture
    from lowdim.experiments import latent as lt
    from lowdim.experiments.harness import Result, Study

    cfg = st.resolve(lt, "latent", "test", 3)
    study = Study("demo", {"test": {}})
    with study.session("test", tmp_path / "out", progress=False) as s:
        s.path("data.nc").write_text("x")
        got = _lecture.finish(
            s,
            cfg,
            {"value": 0.25, "gap": float("nan")},
            {"rows": [{"n": 1}]},
            [Result("value", 0.25, theory=0.5, interval=(0.1, 0.4))],
            lambda full: "# demo\n\n{results}\n\nFiles: " + ", ".join(full["files"]) + "\n",
        )
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    files = ["data.nc", "report.md", "settings.toml", "summary.json"]
    assert on_disk["files"] == files and on_disk["rows"] == [{"n": 1}]
    assert on_disk["settings"] == st.jsonable(cfg) and on_disk["wall_seconds"] >= 0
    assert on_disk["results"][0]["interval"] == [0.1, 0.4]
    assert set(got) == {"value", "gap", "settings", "wall_seconds", "results"}
    assert got["gap"] is None and got["results"] == on_disk["results"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Files: " + ", ".join(files) in report and "| value | 0.25 | 0.5 |" in report
    assert st.resolve(lt, "latent", None, None, tmp_path / "out" / "settings.toml") == cfg


def test_lecture_declared_reads_a_table_of_results_from_the_summary():
    """experiments._lecture.declared: each row (key, quantity[, theory[, units[, reference[,
    interval key]]]]) is the Result read from the summary; a theory given as a string is a
    summary key, a number is the theory itself; an interval that is not finite is None."""
    from lowdim.experiments import _lecture
    from lowdim.experiments.harness import Result

    nan = float("nan")
    summary = {"a": {"b": 0.25}, "th": 0.5, "ci": [0.1, 0.4], "bad": [nan, nan], "p2_eps0.9": 3}
    rows = [
        ("a.b", "value", "th", "Hz", "(ref)", "ci"),
        ("p2_eps0.9", "count", 0.0),
        ("a.b", "no theory"),
        ("a.b", "slope", -0.5, "", "(1/√N)", "bad"),
    ]
    assert _lecture.declared(summary, rows) == [
        Result("value", 0.25, 0.5, (0.1, 0.4), "Hz", key="a.b", theory_key="th", reference="(ref)"),
        Result("count", 3, theory=0.0, key="p2_eps0.9"),
        Result("no theory", 0.25, key="a.b"),
        Result("slope", 0.25, theory=-0.5, key="a.b", reference="(1/√N)"),
    ]
    with pytest.raises(KeyError, match="'a.c'"):
        _lecture.declared(summary, [("a.c", "missing")])
