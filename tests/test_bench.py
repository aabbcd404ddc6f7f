"""`lowdim bench` in its quick form writes bench.json with the promised keys and sane values."""

from __future__ import annotations

import json

from lowdim import bench


def test_quick_bench_writes_json(tmp_path):
    res = bench.main(quick=True, out=tmp_path)
    data = json.loads((tmp_path / "bench.json").read_text())
    for key in ("thinning_speedup", "bandwidth_fraction", "brian2_ratio_n1e4", "batch_speedup_b16"):
        assert key in data
    assert data["thinning_speedup"] == res["thinning_speedup"] and data["thinning_speedup"] > 0
    assert 0 < data["bandwidth_fraction"] < 10
    assert data["copy_bandwidth_bytes_per_s"] > 1e8
    kinds = {(r["tool"], r["kind"]) for r in data["rows"] if "error" not in r}
    assert {("lowdim", k) for k in ("snn_event", "snn_dense", "rnn", "paired")} <= kinds
    assert ("numpy", "snn_dense") in kinds
    assert {("lowdim", "paired_b1"), ("lowdim", "paired_b16")} <= kinds
    assert data["batch_speedup_b16"] > 0
    for r in data["rows"]:
        if r["tool"] == "lowdim" and r["kind"] in ("snn_event", "snn_dense", "paired"):
            assert r["rate_hz"] > 0
    # Brian2 is skipped in quick mode: recorded as null with a reason
    assert data["brian2_ratio_n1e4"] is None and data["brian2_note"]
    assert not list(tmp_path.glob(".bench.*"))  # atomic write left no temporary
