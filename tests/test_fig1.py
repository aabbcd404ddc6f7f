"""End-to-end: lowdim.experiments.fig1.run at the tiny 'test' scale."""

import json

import pytest

from lowdim.errors import ConfigError
from lowdim.experiments import fig1
from lowdim.results import fmt, from_json


def _at(tree, path: str):
    """The value at a dotted path of summary.json; a key may hold dots ("p2_eps0.9"): the
    longest key that matches is taken first."""
    if isinstance(tree, list):
        head, _, rest = path.partition(".")
        return _at(tree[int(head)], rest) if rest else tree[int(head)]
    if path in tree:
        return tree[path]
    parts = path.split(".")
    for k in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:k])
        if head in tree:
            return _at(tree[head], ".".join(parts[k:]))
    raise KeyError(path)


def test_fig1_rejects_unknown_scale(tmp_path):
    with pytest.raises(ConfigError, match="--scale"):
        fig1.run("huge", tmp_path / "x", progress=False)


def test_fig1_test_scale_end_to_end(tmp_path):
    out = tmp_path / "fig1"
    summary = fig1.run("test", out, progress=False)
    for key in (
        "ks_ring",
        "ks_gegenbauer_p2",
        "ks_gegenbauer_p4",
        "ks_normal_largest_n",
        "norm_mean",
        "norm_theory",
        "scale",
    ):
        assert key in summary
    saved = json.loads((out / "summary.json").read_text())
    assert saved["scale"] == "test" and saved["noise_time_unit"] == "s"
    for stem in ("fig1a", "fig1b", "fig1c", "fig1d", "fig1e"):
        assert (out / f"{stem}.png").stat().st_size > 1000
        assert (out / f"{stem}.svg").exists()
    for nc in ("fig1a.nc", "fig1b_p2.nc", "fig1b_p4.nc", "fig1c.nc", "fig1e.nc"):
        assert (out / nc).exists()
    report = (out / "report.md").read_text()
    assert "noise_time_unit" in report and "0.2871" in report
    # the key numbers: every KS distance of A, B (p = 2, 4), C (each N), the norms, Δ, Eq. 12;
    # each names the summary.json path of its value and theory, and report.md tabulates them
    results = from_json(saved["results"])
    assert summary["results"] == saved["results"]
    assert len(results) == 6 + 5 * 2 + 5 * 2 + 5 + 3 + 1
    for r in results:
        assert _at(saved, r.key) == r.value, r.key
        if r.theory_key:
            assert _at(saved, r.theory_key) == r.theory, r.theory_key
    keys = {r.key for r in results}
    assert {"ks_ring", "ks_ring_direct", "ks_gegenbauer_p2", "ks_gegenbauer_p4"} <= keys
    assert "panels.C.N1000.ks" in keys and saved["ks_normal_largest_n"] == _at(
        saved, "panels.C.N1000.ks"
    )
    assert "{results}" not in report and "| quantity | measured | theory |" in report
    var_ring = fmt(saved["panels"]["A"]["rnn"]["var"])
    assert f"| A: Var C | {var_ring} | 0.5 (Eq. 5) |" in report
    assert not list(out.glob(".*"))  # no temporary files left
    # direct ring correlations (20 000 pairs): KS within ~4.5 sampling standard deviations
    assert summary["ks_ring_direct"] < 1.63 / 20_000**0.5 * 1.5
    # ‖J_i‖₂ of the N = 1000, p = 10 network: within 5 % of √(α/c)
    assert abs(summary["norm_mean"] / summary["norm_theory"] - 1) < 0.05
