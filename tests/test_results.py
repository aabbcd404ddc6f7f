"""Structured results (lowdim.results) and the study harness (lowdim.experiments.harness)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lowdim.errors import ConfigError
from lowdim.experiments.harness import Study
from lowdim.results import Result, from_json, lookup, markdown_table, to_json, write


def test_results_round_trip_through_json_and_numpy_scalars():
    rs = [
        Result("slope", np.float32(0.51), theory=0.5, interval=(0.49, np.float64(0.53)), units="1"),
        Result("count", 7, key="n"),
        Result("missing", None, theory=2.0, reference="(M2)"),
    ]
    back = from_json(json.loads(json.dumps(to_json(rs))))
    assert back == [
        Result("slope", float(np.float32(0.51)), 0.5, (0.49, 0.53), "1"),
        Result("count", 7, key="n"),
        Result("missing", None, theory=2.0, reference="(M2)"),
    ]
    assert back[0].deviation() == pytest.approx(float(np.float32(0.51)) - 0.5)
    assert back[2].deviation() is None
    # entries that are not results (a foreign list) are skipped, not fatal
    assert from_json([{"a": 1}, "x", {"quantity": "q", "value": "text"}]) == []
    assert from_json(None) == []


def test_bad_results_are_refused_with_the_quantity_named():
    with pytest.raises(ConfigError, match="non-empty string"):
        Result("", 1.0)
    with pytest.raises(ConfigError, match="result slope: a number"):
        Result("slope", "fast")


def test_markdown_table_and_write(tmp_path):
    rs = [
        Result("PR(x)", 0.98765, theory=0.99, reference="(M2)"),
        Result("gap", float("nan"), interval=(0.1, 0.2), units="s"),
    ]
    table = markdown_table(rs)
    lines = table.splitlines()
    assert lines[0] == "| quantity | measured | theory | interval | units |"
    assert lines[2] == "| PR(x) | 0.9877 | 0.99 (M2) | – | |".replace("| |", "|  |")
    assert lines[3] == "| gap | nan | – | [0.1, 0.2] | s |"
    summary = write(tmp_path, {"x": float("inf")}, rs, report="# T\n\n{results}\n\nend\n")
    on_disk = json.loads((tmp_path / "summary.json").read_text())  # strict JSON: no NaN/inf
    assert on_disk["x"] is None and on_disk["results"][1]["value"] is None
    assert summary["results"] == to_json(rs) and math.isinf(summary["x"])
    assert (tmp_path / "report.md").read_text() == f"# T\n\n{table}\n\nend\n"
    write(tmp_path / ".", {}, rs, report="# no mark")
    assert (tmp_path / "report.md").read_text().endswith("## Key numbers\n\n" + table + "\n")


def test_harness_session_stages_times_and_lists_files(tmp_path, capsys):
    study = Study("demo", {"test": {"n": 3}}, phases=("one", "two"), choices="use --scale test")
    with pytest.raises(ConfigError, match="unknown scale 'big' for demo; use --scale test"):
        study.settings("big")
    out = tmp_path / "out"
    with study.session("test", out, progress=True) as s:
        assert s.folder != out and s.sc == {"n": 3}
        with s.phase("one"):
            s.path("data.txt").write_text("1")
        with s.phase("two"):
            pass
        summary = s.finish({"value": 1.5}, [Result("value", 1.5, theory=1.0)], "# demo\n")
    err = capsys.readouterr().err
    assert "[demo] phase 1/2: one" in err and "[demo] phase 2/2: two" in err
    assert f"done in 0 s → {out}" in err
    names = ["data.txt", "provenance.json", "report.md", "summary.json"]
    assert sorted(p.name for p in out.iterdir()) == names  # provenance: lowdim.io
    assert summary["files"] == ["data.txt", "report.md", "summary.json"]
    assert set(s.timings) == {"one", "two"} and summary["wall_seconds"] >= 0
    assert json.loads((out / "summary.json").read_text())["results"][0]["theory"] == 1.0


def test_harness_leaves_nothing_on_error(tmp_path):
    study = Study("demo", {"test": {}})
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), study.session("test", out, progress=False) as s:
        s.path("half.txt").write_text("half")
        raise RuntimeError("boom")
    assert not out.exists() and not list(tmp_path.iterdir())


def test_lookup_and_result_at_read_the_summary():
    s = {
        "a": {"b": [1.0, {"c": 2.0}]},
        "p2_eps0.9": {"ks": 0.01},
        "slope": 0.48,
        "slope_ci": [0.41, 0.55],
        "bad_ci": [float("nan"), 1.0],
        "theory": 0.5,
    }
    assert lookup(s, "a.b.0") == 1.0 and lookup(s, "a.b.1.c") == 2.0
    assert lookup(s, "p2_eps0.9.ks") == 0.01
    with pytest.raises(KeyError, match="a.x"):
        lookup(s, "a.x")
    r = Result.at(s, "slope", "slope", "theory", interval_key="slope_ci", reference="(13)")
    assert r == Result("slope", 0.48, 0.5, (0.41, 0.55), "", "slope", "theory", "(13)")
    assert Result.at(s, "slope", "q", interval_key="bad_ci").interval is None
    assert Result.at(s, "p2_eps0.9.ks", "KS", theory=0.0).theory == 0.0
