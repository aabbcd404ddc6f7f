"""The tutorials in examples/ run (at a small size, ``--small``) and produce their figures.

Each script runs in this process (as ``python examples/NAME.py --small --out DIR`` would run it,
through ``runpy``), so JAX is imported once for all of them. The numbers each returns are checked
against the theory the tutorial states, with tolerances that hold at the small size.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
from matplotlib.image import imread

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str, tmp_path: Path, monkeypatch) -> dict:
    out = tmp_path / name
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--small", "--out", str(out)])
    ns = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__example__")
    result = ns["main"](small=True, out=out)  # the script's own entry point
    pngs = sorted(out.glob("*.png"))
    assert pngs, f"{name} wrote no figure"
    for png in pngs:
        assert imread(png).shape[1] > 300, png
    return result


def test_every_example_is_tested():
    scripts = {p.stem for p in EXAMPLES.glob("*.py")}
    tested = {"paired_run", "own_network", "correlations", "dask_sweep", "hopfield", "ring_bump"}
    assert scripts == tested


def test_paired_run(tmp_path, monkeypatch):
    r = _run("paired_run", tmp_path, monkeypatch)
    # Δ below the feedforward line (Fig. 2) and SNN/RNN overlaps that move together
    assert 0 < r["distance_rec"] < r["feedforward_line"]
    assert r["overlap_correlation"] > 0.7


def test_own_network(tmp_path, monkeypatch):
    """Rate fixed points equal the finite-N theory to 1e-3 (deterministic); the spiking twin's
    κ has spike noise of order 1/√(N r_max τ) ≈ 0.02 at N = 2000, so 0.05 there."""
    r = _run("own_network", tmp_path, monkeypatch)
    for trial in (0, 1):
        assert r[f"rate_{trial}"] == pytest.approx(r[f"theory_sample_{trial}"], abs=1e-3)
        assert r[f"poisson_{trial}"] == pytest.approx(r[f"theory_sample_{trial}"], abs=0.05)
    assert r["theory_sample_0"] > 0 > r["theory_sample_1"]


def test_correlations(tmp_path, monkeypatch):
    """KS distance to Eq. 11 of 5000 sampled pairs among 200 units: pair-sampling noise plus
    the finite-T blur σ_T; 0.08 is ≈ 3× what the small run gives."""
    r = _run("correlations", tmp_path, monkeypatch)
    for p in (2, 4):
        assert r[p]["ks"] < 0.08
        assert abs(r[p]["var"] - 1 / p) < 0.1


def test_dask_sweep(tmp_path, monkeypatch):
    pytest.importorskip("distributed", reason='needs pip install "lowdim[cluster]"')
    r = _run("dask_sweep", tmp_path, monkeypatch)
    assert r["points"] == 2 and r["finite"] and r["slope"] > 0  # Δ grows with α
    assert (tmp_path / "dask_sweep" / "store").is_dir()


def test_hopfield(tmp_path, monkeypatch):
    r = _run("hopfield", tmp_path, monkeypatch)
    assert r[0.05]["final_overlap"] > 0.95  # retrieval below α_c ≈ 0.138
    assert r[0.2]["final_overlap"] < 0.8  # no retrieval above it


def test_ring_bump(tmp_path, monkeypatch):
    """The rate bump's height without input equals the mean-field fixed point on the same time
    grid (N = 1000 evenly spaced neurons: quadrature error ≪ 1 %); the bump stays put."""
    r = _run("ring_bump", tmp_path, monkeypatch)
    assert r["rate"]["height_without_input"] == pytest.approx(r["theory_height_grid"], rel=0.01)
    assert r["rate"]["drift_without_input_rad"] < 0.01
    assert r["poisson"]["height_without_input"] == pytest.approx(r["theory_height_grid"], rel=0.05)
    assert 0 < r["rate"]["lag_behind_moving_cue_rad"] < 1.0
