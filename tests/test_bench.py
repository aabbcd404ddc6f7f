"""`lowdim bench` in its quick form writes bench.json with the promised keys and sane values."""

from __future__ import annotations

import json

import pytest

from lowdim import bench


def test_quick_bench_writes_json(tmp_path):
    res = bench.main(quick=True, out=tmp_path, repeats=2)
    data = json.loads((tmp_path / "bench.json").read_text())
    for key in ("thinning_speedup", "bandwidth_fraction", "brian2_ratio_n1e4", "batch_speedup_b16"):
        assert key in data and key + "_best" in data
    assert data["thinning_speedup"] == res["thinning_speedup"] and data["thinning_speedup"] > 0
    assert 0 < data["bandwidth_fraction"] < 10
    assert data["copy_bandwidth_bytes_per_s"] > 1e8
    kinds = {(r["tool"], r["kind"]) for r in data["rows"] if "error" not in r}
    assert {("lowdim", k) for k in ("snn_event", "snn_cli", "snn_dense", "rnn", "paired")} <= kinds
    assert ("numpy", "snn_dense") in kinds
    assert {("lowdim", "paired_b1"), ("lowdim", "paired_b16")} <= kinds
    assert data["batch_speedup_b16"] > 0
    for r in data["rows"]:
        if r["tool"] == "lowdim" and r["kind"] in ("snn_event", "snn_dense", "paired"):
            assert r["rate_hz"] > 0
    # alternated repetitions in one process: every variant and floor twice, ratios per repetition
    assert data["settings"]["repeats"] == 2 and len(data["floors"]) == 2
    for f in data["floors"]:
        assert f["copy_bandwidth_bytes_per_s"] > 1e8 and f["one_read_floor_seconds"] > 0
    for r in ("lowdim", "snn_event"), ("lowdim", "snn_cli"), ("numpy", "paired"):
        reps = [x["repeat"] for x in data["rows"] if (x["tool"], x["kind"]) == r]
        assert reps == [0, 1], r
    for key, vals in data["ratios"].items():
        assert len(vals) == 2, key
    t = [v for v in data["ratios"]["thinning_speedup"] if v is not None]
    assert data["thinning_speedup_best"] == max(t)
    assert min(t) <= data["thinning_speedup"] <= max(t)
    f = [v for v in data["ratios"]["paired_over_one_read_floor"] if v is not None]
    assert data["paired_over_one_read_floor_best"] == min(f)
    # the CLI's SNN path (method auto) runs the event method: same loop, same spikes
    cli = [r for r in data["rows"] if r["kind"] == "snn_cli"]
    ev = [r for r in data["rows"] if r["kind"] == "snn_event"]
    assert all(r["method"] == "event" for r in cli + ev)
    assert [r["rate_hz"] for r in cli] == [r["rate_hz"] for r in ev]
    assert data["cli_over_event"] > 0
    # Brian2 is skipped in quick mode: recorded as null with a reason, not an error
    assert data["brian2_ratio_n1e4"] is None and data["brian2_note"]
    assert data["brian2_error"] is None
    assert not list(tmp_path.glob(".bench.*"))  # atomic write left no temporary


def test_an_installed_peer_that_fails_is_an_error_with_its_reason(tmp_path, monkeypatch):
    """Brian2 installed (the bench extra) but both variants fail: the ratio is missing *with*
    the reason in bench.json (brian2_error), not a silent null."""
    real_peer = bench._peer

    def peer(script, args, timeout):
        if script == "brian2_snn.py":
            return {"error": "exit 1: error: command 'g++' failed"}
        return real_peer(script, args, timeout)

    monkeypatch.setattr(bench, "_brian2_installed", lambda: "2.9.0")
    monkeypatch.setattr(bench, "_peer", peer)
    res = bench.main(quick=True, out=tmp_path, repeats=1, brian2=True)
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["brian2_ratio_n1e4"] is None
    assert "g++" in data["brian2_error"] and "2.9.0" in data["brian2_error"]
    assert res["brian2_error"] == data["brian2_error"]
    errs = [r for r in data["rows"] if r["tool"].startswith("brian2")]
    assert len(errs) == 2 and all("error" in r for r in errs)


def test_lowdim_bench_exits_1_with_the_peer_error(monkeypatch, capsys):
    from lowdim import cli

    monkeypatch.setattr(
        cli.bench_mod, "main", lambda **kw: {"brian2_error": "brian2 2.9.0 … timed out"}
    )
    with pytest.raises(SystemExit) as e:
        cli.main(["bench", "--repeats", "1"])
    assert e.value.code == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert lines == ["error: brian2 2.9.0 … timed out"]


def test_repeats_must_be_a_whole_number_at_least_1():
    with pytest.raises(bench.ConfigError, match="repeats"):
        bench.main(quick=True, repeats=0)
