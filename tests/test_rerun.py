"""Every run can be made again from its own files, bitwise: ``lowdim rerun RUN_DIR``,
``lowdim.rerun(folder)`` and ``simulate(config_of(ds))``, including runs with custom loadings
(saved beside the run and checked against its fingerprint; never silently the paper's)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lowdim
from lowdim.runs import compare
from test_validation import cli  # the in-process CLI runner

#: the run of test_outputs (one compilation serves both files in one pytest process)
CFG = dict(neurons=200, rank=2, duration=0.05, burn_in=0.01)


def test_cli_rerun_is_bitwise_and_a_difference_is_reported(tmp_path):
    run = ["simulate", "-N", "200", "-p", "2", "--duration", "0.05", "--burn-in", "0.01"]
    code, _, err = cli([*run, "--record-neurons", "5", "--no-figure", "--out", "a"], tmp_path)
    assert code == 0, err
    code, lines, err = cli(["rerun", "a", "--no-figure"], tmp_path)
    assert code == 0, err
    assert (
        compare(lowdim.load(tmp_path / "a/run.nc"), lowdim.load(tmp_path / "a-rerun/run.nc")) == []
    )
    again = json.loads((tmp_path / "a-rerun/summary.json").read_text())
    assert again["command"] == "lowdim rerun a --no-figure"

    # the rerun refuses to write over the run it compares with, and over results
    code, lines, _ = cli(["rerun", "a", "--out", "a"], tmp_path)
    assert code == 2 and "differ from RUN_DIR" in lines[0]
    code, lines, _ = cli(["rerun", "a", "--no-figure"], tmp_path)
    assert code == 2 and "--overwrite" in lines[0]

    # a saved run whose records no longer match: exit 1, one line naming what differs
    ds = lowdim.load(tmp_path / "a/run.nc")
    ds["x"].values[3, 1] += 1.0
    lowdim.save(ds, tmp_path / "a/run.nc")
    code, lines, err = cli(["rerun", "a", "--no-figure", "--overwrite"], tmp_path)
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert code == 1 and len(errors) == 1 and "x (max |Δ| = 1)" in errors[0], err


def test_custom_loadings_are_saved_checked_and_never_replaced_by_the_paper(tmp_path):
    cfg = lowdim.RunConfig(**CFG)
    rng = np.random.default_rng(1)
    F, G = rng.standard_normal((200, 2)), rng.standard_normal((200, 2))
    conn = lowdim.from_arrays(F, G, scale=1.0 / 200)
    ds = lowdim.simulate(cfg, conn)
    fp = ds.attrs["loadings_fingerprint"]
    assert len(fp) == 64 and lowdim.config_of(ds)["loadings_fingerprint"] == fp

    # its config alone does not run with the paper's loadings; with its own, bitwise
    with pytest.raises(lowdim.ConfigError, match="custom loadings"):
        lowdim.simulate(lowdim.config_of(ds))
    other = lowdim.from_arrays(F, 2 * G, scale=1.0 / 200)
    with pytest.raises(lowdim.ConfigError, match="other loadings"):
        lowdim.simulate(lowdim.config_of(ds), other)
    assert compare(ds, lowdim.simulate(lowdim.config_of(ds), conn)) == []

    # the folder keeps the loadings; rerun (Python and CLI) reproduces the run bitwise
    with pytest.raises(lowdim.ConfigError, match="pass them"):
        lowdim.save_run(ds, tmp_path / "r")
    assert not (tmp_path / "r").exists()
    lowdim.save_run(ds, tmp_path / "r", conn, figure=False)
    assert (tmp_path / "r" / "loadings.npz").exists()
    assert compare(ds, lowdim.rerun(tmp_path / "r")) == []
    code, lines, err = cli(["rerun", "r", "--no-figure"], tmp_path)
    assert code == 0, err

    # changed or missing loadings are refused, not replaced
    np.savez(tmp_path / "r" / "loadings.npz", F=F, G=G + 1e-9, scale=1.0 / 200, dtype="float32")
    with pytest.raises(lowdim.ConfigError, match="does not hold the loadings"):
        lowdim.rerun(tmp_path / "r")
    (tmp_path / "r" / "loadings.npz").unlink()
    code, lines, _ = cli(["rerun", "r", "--out", "r2"], tmp_path)
    assert code == 2 and "loadings.npz" in lines[0] and "missing" in lines[0]


def test_config_of_a_paper_run_runs_the_same_run():
    ds = lowdim.simulate(lowdim.RunConfig(**CFG))
    table = lowdim.config_of(ds)
    assert "loadings_fingerprint" not in table  # paper runs' configs read as before
    assert compare(ds, lowdim.simulate(table)) == []


def test_a_run_folder_of_an_earlier_version_loads_and_reruns():
    """tests/data/run-v0.1: a folder written by lowdim.simulate + save_run at 6a19501 (the paper's
    own dataset builder then). It loads, its config runs again, and the rerun matches it: the
    records that no population sum enters bitwise; rates and distances (summed per population in
    another order since) to float32 rounding of a sum over N = 300 terms."""
    from pathlib import Path

    folder = Path(__file__).parent / "data" / "run-v0.1"
    old = lowdim.load(folder / "run.nc")
    cfg = lowdim.config_of(old)
    assert cfg["neurons"] == 300 and cfg["seed"] == 7
    assert lowdim.RunConfig.from_dict(cfg).p == 4
    new = lowdim.rerun(folder)
    assert sorted(new.data_vars) == sorted(old.data_vars)
    assert dict(new.sizes) == dict(old.sizes)
    np.testing.assert_array_equal(new["neuron"].values, old["neuron"].values)
    for v in ("x", "h", "m_rnn", "m_snn", "spike_time", "spike_neuron", "distance_neuron"):
        np.testing.assert_array_equal(new[v].values, old[v].values, err_msg=v)
        assert new[v].dims == old[v].dims, v
    eps = float(np.finfo(np.float32).eps)
    for v in ("rate_rnn", "rate_snn", "distance"):
        a, b = old[v].values.astype(np.float64), new[v].values.astype(np.float64)
        # |Σ reordered − Σ| ≤ (N − 1) ε Σ|terms| (≤ N · max|value| after dividing by the size)
        np.testing.assert_allclose(b, a, rtol=0, atol=300 * eps * np.abs(a).max(), err_msg=v)
    for k in ("distance_rec", "distance_in", "rate_rnn_hz", "rate_snn_hz"):
        assert abs(new.attrs[k] - old.attrs[k]) <= 300 * eps * abs(old.attrs[k]), k
    assert diffs_only_in_sums(compare(old, new))


def diffs_only_in_sums(diffs: list[str]) -> bool:
    sums = ("rate_rnn", "rate_snn", "distance ", "distance_in", "distance_rec", "rate_")
    return all(d.startswith(sums) for d in diffs)


def test_lowdim_simulate_plans_its_program_once_and_checks_memory_once(tmp_path, monkeypatch):
    """The command builds the paper's network once, plans one Program and checks its memory
    once (the estimate and the disk check come from that Program, through ``on_plan``)."""
    from lowdim import engine
    from lowdim.solve import Program

    counts = {"program": 0, "memory": 0, "network": 0}
    init, check = Program.__init__, engine.check_memory
    build = lowdim.paper.network.paper_network

    def counting_init(self, *a, **k):
        counts["program"] += 1
        init(self, *a, **k)

    def counting_check(*a, **k):
        counts["memory"] += 1
        return check(*a, **k)

    def counting_build(*a, **k):
        counts["network"] += 1
        return build(*a, **k)

    monkeypatch.setattr(Program, "__init__", counting_init)
    monkeypatch.setattr(engine, "check_memory", counting_check)
    monkeypatch.setattr(lowdim.paper.simulation, "paper_network", counting_build)
    run = ["simulate", "-N", "200", "-p", "2", "--duration", "0.05", "--burn-in", "0.01"]
    code, _, err = cli([*run, "--no-figure", "--out", "a"], tmp_path)
    assert code == 0, err
    assert counts == {"program": 1, "memory": 1, "network": 1}


def test_lowdim_paper_is_the_front_end_and_still_the_papers_loadings():
    """``lowdim.paper`` is the package of the paper's front end; called, it is still
    :func:`lowdim.connectivity.paper` (its name before the package existed)."""
    from lowdim import connectivity

    assert lowdim.paper.simulate is lowdim.simulate
    assert lowdim.paper.RunConfig is lowdim.RunConfig
    a = lowdim.paper(300, 4, lowdim.Tanh(), seed=1)
    b = connectivity.paper(300, 4, lowdim.Tanh(), seed=1)
    np.testing.assert_array_equal(np.asarray(a.F), np.asarray(b.F))
    np.testing.assert_array_equal(np.asarray(a.G), np.asarray(b.G))
    assert a.scale == b.scale
