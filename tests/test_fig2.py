"""End-to-end Fig. 2 reproduction (tiny), its resumable store, and the small-scale slopes (slow)."""

from __future__ import annotations

import json
import math

import pytest

from lowdim.errors import ConfigError
from lowdim.experiments import fig2
from lowdim.results import from_json
from lowdim.sweep import SweepStore


def _at(tree, path: str):
    """The value at a dotted path of summary.json (a list item by its index)."""
    head, _, rest = path.partition(".")
    node = tree[int(head)] if isinstance(tree, list) else tree[head]
    return _at(node, rest) if rest else node


TINY = {
    "p_values": [4],
    "alphas": [0.1, 0.04],
    "cube_neurons": [64],
    "seeds": 2,
    "duration": 0.06,
    "burn_in": 0.02,
    "ff_p": 4,
    "ff_seeds": 1,
    "ff_record": 20,
    "membrane_p": 4,
    "membrane_seeds": 1,
    "workers": 2,
}


def test_tiny_fig2_end_to_end_and_resume(tmp_path):
    out = tmp_path / "fig2"
    s = fig2.run("small", out, progress=False, **TINY)
    for name in ("fig2.png", "fig2.svg", "points.csv", "report.md", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["scale"] == "small" and on_disk["slopes"] == json.loads(json.dumps(s["slopes"]))
    for key in ("slopes", "slopes_rate_normalized", "points", "feedforward_bound_fraction"):
        assert key in on_disk
    assert set(s["slopes"]) >= {"p=4", "p=N^(1/3)", "p=4, σ̃", "feedforward p=4"}
    # a slope needs ≥ 3 points over ≥ 2 loads: here only the p = 4 curve (2 α × 2 seeds) has them
    assert math.isfinite(s["slopes"]["p=4"]["value"]) and s["slopes"]["p=4"]["n"] == 4
    assert s["slopes"]["feedforward p=4"]["value"] is None  # written as null, not NaN
    pts = {(q["curve"], q["N"]): q for q in s["points"]}
    assert pts[("p=4", 40)]["seeds"] == [0, 1] and pts[("p=4", 100)]["alpha"] == 0.04
    assert pts[("p=N^(1/3)", 64)]["p"] == 4
    # the feedforward bound holds for every recorded neuron, with and without membrane noise
    assert s["feedforward_bound_fraction"] == 1.0 and s["membrane_bound_fraction"] == 1.0
    assert s["feedforward_bound"]["neurons_checked"] == 20 + 20  # two α, 20 neurons each
    # Δ sits at the scale of the feedforward line √(max φ/(2τc)) √α (paper Fig. 2): a unit or
    # noise-scaling error would move it by a factor ≥ √10
    for q in s["points"]:
        assert 0.1 < q["distance_mean"] / q["feedforward_line"] < 2.0, q
    report = (out / "report.md").read_text()
    assert "noise_time_unit" in report
    # the key numbers: each curve's slope (raw and rate-normalised) with its interval, the two
    # bound fractions and worst ratios, the in-source norms; each names its summary.json path
    results = from_json(on_disk["results"])
    assert s["results"] == on_disk["results"]
    assert len(results) == 2 * 5 + 2 * 2 + 2
    for r in results:
        assert _at(on_disk, r.key) == r.value, r.key
        if r.theory_key:
            assert _at(on_disk, r.theory_key) == r.theory, r.theory_key
    slope = next(r for r in results if r.key == "slopes.p=4.value")
    assert list(slope.interval) == s["slopes"]["p=4"]["ci"] and slope.theory == 0.5
    assert {r.key for r in results} >= {"feedforward_bound_fraction", "membrane_bound_fraction"}
    assert "{results}" not in report and "| quantity | measured | theory |" in report
    table = report.split("| quantity |")[1].split("\n\n")[0]
    assert all(line.count("|") == 6 for line in table.splitlines()[1:])  # no stray "|"
    # rerun: every point comes from the store, nothing is recomputed, same numbers
    n_stored = len(SweepStore(out / "store").keys())
    # 2 α × 2 seeds + 1 cube N × 2 seeds + 2 σ̃ panel points (its σ̃ = 0 points are the p = 4
    # curve's, computed once) + 2 α × {0, σ̃} feedforward points
    assert n_stored == s["simulations"] == 4 + 2 + 2 + 4
    again = fig2.run("small", out, progress=False, **TINY)
    assert again["points"] == s["points"] and again["slopes"] == s["slopes"]
    assert len(SweepStore(out / "store").keys()) == n_stored
    assert again["wall_seconds"] < s["wall_seconds"]


def test_seeds_of_one_network_batched_give_the_numbers_of_each_seed_alone():
    """The seeds of a curve point run as one sweep task (one compiled program, loadings given as
    arrays): Δ, rates equal those of each seed run alone within float32 rounding (the removed
    self-term of the loadings given as arrays may differ by an ulp from the sampler path's; a
    few ulps of the accumulated averages, far below a changed spike train's O(1 %))."""
    import numpy as np

    eps = float(np.finfo(np.float32).eps)
    prm = fig2._params("small", {**TINY, "duration": 0.04, "burn_in": 0.01, "seeds": 3})
    pts = [q for q in fig2.build_points(prm) if q["curve"] == "p=4" and q["neurons"] == 100]
    configs = [q["config"] for q in pts]
    assert [q["seed"] for q in pts] == [0, 1, 2]
    assert len({fig2.same_network(c) for c in configs}) == 1  # one task
    batched = fig2.points(configs)
    alone = [fig2.point(c) for c in configs]
    keys = ("distance_rec", "distance_in", "rate_snn_hz", "rate_rnn_hz")
    for b, a in zip(batched, alone, strict=True):
        assert b["n_steps"] == a["n_steps"]
        for k in keys:
            assert b[k] == pytest.approx(a[k], rel=16 * eps, abs=0), k
    assert len({b["distance_rec"] for b in batched}) == 3  # the seeds are different runs
    # points of other shapes or kinds are other tasks
    groups = {fig2.same_network(q["config"]) for q in fig2.build_points(prm)}
    assert len(groups) == 2 + 1 + 2 + 4  # p = 4 × 2 α, the cube N, σ̃ × 2 α, 4 ff points


def test_bad_scale_and_options_say_what_to_change(tmp_path):
    with pytest.raises(ConfigError, match="choose one of"):
        fig2.run("huge", tmp_path)
    with pytest.raises(ConfigError, match="options are"):
        fig2.run("small", tmp_path, n_points=3)
    with pytest.raises(ConfigError, match=r"α"):
        fig2.run("small", tmp_path, alphas=[2.0])


def test_slope_fit_recovers_a_power_law():
    alphas = [1e-3, 1e-2, 1e-1] * 2
    vals = [3 * a**0.5 * (1.01 if i % 2 else 0.99) for i, a in enumerate(alphas)]
    s = fig2.slope_fit(alphas, vals)
    assert s["ci"][0] < 0.5 < s["ci"][1] and abs(s["value"] - 0.5) < 0.01


@pytest.mark.slow
def test_small_scale_shows_the_sqrt_alpha_law(tmp_path):
    """`lowdim reproduce fig2 --scale small` (several minutes on 2 cores)."""
    s = fig2.run("small", tmp_path / "fig2", progress=False)
    for p in (10, 20, 40):
        assert 0.4 < s["slopes"][f"p={p}"]["value"] < 0.65
        lo, hi = s["slopes_rate_normalized"][f"p={p}"]["ci"]
        assert lo < 0.55 and hi > 0.45
    assert s["feedforward_bound_fraction"] == 1.0 and s["membrane_bound_fraction"] == 1.0
