"""The output-folder rule (lowdim.io): refused unless --overwrite, no stale files, nothing
half-written on an error, resumable state kept, a full disk ends in a clear error with the
previous results intact; and what every run records about itself."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import lowdim
from lowdim import io as lio
from lowdim.sweep import run_sweep
from test_validation import cli  # the in-process CLI runner

SIM = ["simulate", "-N", "200", "-p", "2", "--duration", "0.05", "--burn-in", "0.01"]


def _tree(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _no_stage_left(parent: Path) -> None:
    assert not [p.name for p in parent.rglob("*") if ".partial-" in p.name]


def test_output_folder_rule_and_provenance(tmp_path, monkeypatch):
    from lowdim.paper import simulation as preflight

    monkeypatch.setitem(preflight.LARGE, "steps", 100)  # this run counts as large: estimated
    out = tmp_path / "runs" / "a"
    code, lines, err = cli([*SIM, "--out", str(out)], tmp_path)
    assert code == 0, err
    # the estimate comes before the run (and the bar says "compiling" before "simulating")
    est = next(i for i, ln in enumerate(lines) if ln.startswith("estimate: 500 steps"))
    assert est < lines.index("compiling …") < lines.index("simulating …")
    first = _tree(out)
    assert {"run.nc", "summary.json", "traces.png", "provenance.json"} <= set(first)
    # what a run records about itself: command, time, versions, commit, device, loadings
    summary = json.loads(first["summary.json"])
    attrs = lowdim.load(out / "run.nc").attrs
    for rec in (summary, attrs, json.loads(first["provenance.json"])):
        assert rec["command"] == "lowdim " + " ".join([*SIM, "--out", str(out)])
        assert datetime.fromisoformat(rec["created_utc"]).utcoffset().total_seconds() == 0
        for key in ("lowdim_version", "git_commit", "jax_version", "jaxlib_version"):
            assert rec[key]
        for key in ("numpy_version", "xarray_version", "python", "device", "backend"):
            assert rec[key]
    assert summary["loadings_fingerprint"] == attrs["loadings_fingerprint"] == "paper"
    assert summary["method"] == "dense"

    # the same command again: refused before any work, nothing changed
    code, lines, err = cli([*SIM, "--out", str(out)], tmp_path)
    assert code == 2 and len(lines) == 1 and "add --overwrite" in lines[0], err
    assert _tree(out) == first

    # --overwrite: the folder holds exactly the new run (no stale traces.png)
    code, lines, err = cli(
        [*SIM, "--seed", "5", "--no-figure", "--out", str(out), "--overwrite"], tmp_path
    )
    assert code == 0, err
    second = _tree(out)
    assert "traces.png" not in second and second["run.nc"] != first["run.nc"]
    assert json.loads(second["summary.json"])["seed"] == 5
    _no_stage_left(tmp_path)

    # a folder with files lowdim did not write is never replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, lines, err = cli([*SIM, "--out", str(mine), "--overwrite"], tmp_path)
    assert code == 2 and "did not write" in lines[0]
    assert (mine / "notes.txt").read_text() == "keep me"


def test_failure_inside_a_stage_leaves_nothing(tmp_path):
    out = tmp_path / "new" / "deeper" / "out"
    with pytest.raises(RuntimeError), lio.staged_output(out) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []  # the staging folder and the parents it made are gone


def test_interrupted_stage_keeps_the_store_and_a_dead_process_stage_is_cleaned(tmp_path):
    out = tmp_path / "fig"
    (out / "store" / "ab").mkdir(parents=True)
    (out / "store" / "ab" / "abc.json").write_text("{}")
    with pytest.raises(KeyboardInterrupt), lio.staged_output(out, carry=True) as tmp:
        assert (tmp / "store" / "ab" / "abc.json").exists() and not (out / "store").exists()
        (tmp / "store" / "cd").mkdir()
        (tmp / "store" / "cd" / "cde.json").write_text("{}")
        (tmp / "summary.json").write_text("{}")
        raise KeyboardInterrupt
    assert sorted(p.name for p in (out / "store").rglob("*.json")) == ["abc.json", "cde.json"]
    assert not (out / "summary.json").exists()
    _no_stage_left(tmp_path)

    # a stage left by a process that was killed outright (SIGKILL): its store is recovered and
    # the stage removed by the next run into the same folder
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = lio._HOST
    stale = tmp_path / f".other.partial-{host}-{dead.pid}-x1"
    (stale / "store" / "ef").mkdir(parents=True)
    (stale / "store" / "ef" / "efg.json").write_text("{}")
    (stale / "fig.png").write_text("half")
    with lio.staged_output(tmp_path / "other", carry=True) as tmp:
        assert (tmp / "store" / "ef" / "efg.json").exists()
        (tmp / "summary.json").write_text("{}")
    assert (tmp_path / "other" / "store" / "ef" / "efg.json").exists()
    assert not (tmp_path / "other" / "fig.png").exists()
    _no_stage_left(tmp_path)


def test_a_stage_inside_a_stage_is_one_level_and_messages_name_the_final_folder(tmp_path):
    """An experiment that stages its folder, run by the command line that stages it too: one
    staging folder (no ``..out.partial-….partial-…``); final_path names the folder to be."""
    out = tmp_path / "out"
    with lio.staged_output(out) as tmp:
        with lio.staged_output(tmp) as inner:
            assert inner == tmp and lio.final_path(inner / "a.txt") == out / "a.txt"
            (inner / "a.txt").write_text("a")
        assert [p.name for p in tmp_path.iterdir()] == [tmp.name]  # no second stage beside it
        assert (tmp / "a.txt").exists() and not out.exists()
    assert (out / "a.txt").read_text() == "a" and (out / "provenance.json").exists()
    _no_stage_left(tmp_path)
    # an error inside the inner block: the outer one removes everything
    with pytest.raises(RuntimeError), lio.staged_output(tmp_path / "b") as tmp:
        with lio.staged_output(tmp) as inner:
            (inner / "half.txt").write_text("half")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_lecture_messages_name_final_paths_and_staging_is_not_nested(tmp_path, monkeypatch):
    """`lowdim lecture manifold` (the fastest lecture, its test scale): one staging folder, and
    no message names a staging folder."""
    import contextlib
    import io
    import tempfile

    from lowdim.cli import main

    made = []
    real = tempfile.mkdtemp

    def mkdtemp(*a, **k):
        path = real(*a, **k)
        made.append(Path(path).name)
        return path

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with pytest.raises(SystemExit) as e:
            main(["lecture", "manifold", "--scale", "test", "--out", "lec"])
    said = out.getvalue() + err.getvalue()
    assert e.value.code == 0, said
    stages = [m for m in made if ".partial-" in m]
    assert len(stages) == 1 and stages[0].startswith(".lec.partial-"), stages
    assert ".partial-" not in said, said
    assert "done in" in said and "→ lec\n" in said  # the folder as given on the command line
    assert (tmp_path / "lec" / "summary.json").exists()
    _no_stage_left(tmp_path)


def test_traces_figure_explains_the_bold_trace_and_the_spike_ticks():
    """traces.png: the legend names the bold neuron (the recorded one with most spikes) and
    counts its spike ticks; both agree with the run's spike lists."""
    import numpy as np

    from lowdim.plotting import paired_traces

    ds = lowdim.simulate(lowdim.RunConfig(neurons=1000, rank=4, duration=0.15, seed=2))
    fig = paired_traces(ds)
    ids, counts = np.unique(ds.spike_neuron.values, return_counts=True)
    bold, n = int(ids[np.argmax(counts)]), int(counts.max())
    assert n > 0 and bold in ds.neuron.values[:11]
    texts = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert texts[0] == f"neuron {bold} (bold, most spikes)", texts
    assert texts[1] == f"its SNN spike times ({n} ticks)"
    assert "same colour in both panels" in texts[2]
    ticks = fig.axes[0].collections[0].get_segments()  # one vertical tick per spike
    assert len(ticks) == n
    fig = paired_traces(ds, spikes_of=int(ds.neuron.values[1]))
    texts = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert texts[0] == f"neuron {int(ds.neuron.values[1])} (bold)"


def square(config: dict) -> dict:
    return {"y": config["x"] ** 2}


def test_failed_sweep_leaves_no_store(tmp_path):
    from lowdim.errors import ConfigError

    for scheduler in ("notanaddress", "tcp://127.0.0.1:9"):
        with pytest.raises(ConfigError, match="scheduler"):
            run_sweep(
                square,
                [{"x": 1}],
                tmp_path / "store",
                scheduler=scheduler,
                progress=False,
                connect_timeout=1.0,
            )
        assert not (tmp_path / "store").exists()
    code, lines, err = cli(
        ["reproduce", "fig2", "--scheduler", "notanaddress", "--out", "f"], tmp_path
    )
    assert code == 2 and len(lines) == 1 and "tcp://host:8786" in lines[0], err
    assert os.listdir(tmp_path) == []


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return r.returncode == 0


def test_full_disk_ends_in_a_clear_error_with_the_previous_results_intact(tmp_path, monkeypatch):
    """On a small tmpfs (when this process may mount one) the disk really fills up while the
    results are written; elsewhere the write fails through a patched ``lowdim.io.save``."""
    disk = tmp_path / "disk"
    mounted = _tmpfs(disk, "1m")
    try:
        out = disk / "run"
        code, _, err = cli([*SIM, "--no-figure", "--out", str(out)], tmp_path)
        assert code == 0, err
        before = _tree(out)
        if mounted:  # leave ~70 KiB: above the run's estimate, below run.nc + traces.png
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            (disk / "filler").write_bytes(b"\0" * max(0, free - 70 * 1024))
        else:

            def full(ds, path):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

            monkeypatch.setattr(lio, "save", full)
        code, lines, err = cli([*SIM, "--seed", "7", "--out", str(out), "--overwrite"], tmp_path)
        errors = [ln for ln in lines if ln.startswith("error:")]  # after the run's progress
        assert code == 2 and len(errors) == 1 and errors == lines[-1:], err
        assert "No space left on device" in errors[0] and "was changed" in errors[0], lines
        assert "Traceback" not in err
        assert _tree(out) == before  # the previous results are intact
        _no_stage_left(disk)
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=False)


def _strict(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity (not JSON)."""

    def refuse(name):
        raise ValueError(f"{name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_writer_writes_strict_json_with_null_for_nan_and_inf(tmp_path):
    """atomic_write_json: NaN and ±inf become null at any depth (dicts, lists, tuples, NumPy
    scalars and arrays), NumPy values plain numbers; finite values are written exactly."""
    import math

    import numpy as np

    obj = {
        "nan": float("nan"),
        "inf": math.inf,
        "ninf": -math.inf,
        "np_nan": np.float64("nan"),
        "np32_inf": np.float32("inf"),
        "finite": 0.1 + 0.2,
        "np_int": np.int64(7),
        "np_bool": np.bool_(True),
        "nested": {"list": [1.5, float("nan"), (np.float32(2.5), -math.inf)], 3: "int key"},
        "array": np.array([[1.0, np.nan], [np.inf, -0.0]]),
        "none": None,
        "text": "NaN",
    }
    path = tmp_path / "s.json"
    lio.atomic_write_json(path, obj)
    back = _strict(path.read_text())
    assert back == {
        "nan": None,
        "inf": None,
        "ninf": None,
        "np_nan": None,
        "np32_inf": None,
        "finite": 0.1 + 0.2,
        "np_int": 7,
        "np_bool": True,
        "nested": {"list": [1.5, None, [2.5, None]], "3": "int key"},
        "array": [[1.0, None], [None, -0.0]],
        "none": None,
        "text": "NaN",
    }
    assert math.copysign(1, back["array"][1][1]) == -1  # -0.0 kept
    # the writer does not change the caller's object
    assert math.isnan(obj["nan"]) and np.isnan(obj["array"][0, 1])
    with pytest.raises(ValueError, match="NaN in JSON"):
        _strict(json.dumps({"x": float("nan")}))  # the strict reader catches what json writes
