"""Faults: SIGINT and SIGTERM during ``lowdim simulate`` and ``lowdim reproduce fig2`` leave
nothing half-written, and the same command afterwards resumes from the checkpoint or the sweep
store and ends with the same numbers as an uninterrupted run.

Each case runs the command line in a subprocess whose checkpoint writer (or sweep store) sends
the signal to its own process after the k-th write, i.e. at a known point of the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lowdim

HOOK = r"""
import json, os, signal, sys
from lowdim import checkpoint, sweep
sig, after = os.environ.get("KILL_WITH"), int(os.environ.get("KILL_AFTER", "0"))
writes = []
def hit(tag):
    writes.append(tag)
    if sig and len(writes) == after:
        os.kill(os.getpid(), getattr(signal, sig))
real_write = checkpoint.write
def write(path, meta, arrays):
    real_write(path, meta, arrays)
    hit(meta["chunks_done"])
checkpoint.write = write
real_put = sweep.SweepStore.put
def put(self, key, record):
    real_put(self, key, record)
    hit(key)
sweep.SweepStore.put = put
if os.environ.get("FIG2"):
    from lowdim.experiments import fig2
    fig2.SCALES["small"] = {**fig2.SCALES["small"], **json.loads(os.environ["FIG2"])}
if os.environ.get("LIVE_NOW"):  # OUT-live.png drawn after every chunk, from the first
    from lowdim import live
    real_init = live.LiveTraces.__init__
    def init(self, *a, **k):
        real_init(self, *a, **{**k, "every": 0, "start_after": 0})
    live.LiveTraces.__init__ = init
import atexit
atexit.register(lambda: print("WRITES=" + json.dumps(writes), flush=True))
from lowdim.cli import main
main(sys.argv[1:])
"""

#: 6000 steps in 3 chunks of 2000 (lowdim.engine.records_per_chunk), a checkpoint after each
SIM = [
    "simulate",
    "-N",
    "1500",
    "-p",
    "5",
    "--duration",
    "0.6",
    "--burn-in",
    "0.1",
    "--seed",
    "3",
    "--no-figure",
    "--checkpoint-every",
    "0",
]
CFG = dict(neurons=1500, rank=5, duration=0.6, burn_in=0.1, seed=3)
#: a fig2 sweep of 2 tiny points (p = 4 at α = 0.1 and 0.2; no feedforward or σ̃ points)
TINY = {
    "p_values": [4],
    "alphas": [0.1, 0.2],
    "cube_neurons": [],
    "seeds": 1,
    "duration": 0.03,
    "burn_in": 0.01,
    "ff_seeds": 0,
    "membrane_seeds": 0,
}


def lowdim_cli(
    args, cwd: Path, kill: str | None = None, after: int = 0, fig2: dict | None = None, **env_
):
    env = dict(os.environ, KILL_AFTER=str(after), **env_)
    env.pop("KILL_WITH", None)
    if kill:
        env["KILL_WITH"] = kill
    if fig2:
        env["FIG2"] = json.dumps(fig2)
    r = subprocess.run(
        [sys.executable, "-c", HOOK, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    writes = [json.loads(ln[7:]) for ln in r.stdout.splitlines() if ln.startswith("WRITES=")]
    return r, (writes[0] if writes else None)


def _clean(folder: Path) -> None:
    """Nothing half-written: no staging folder, no temporary file anywhere below ``folder``."""
    left = [p.name for p in folder.rglob("*") if ".partial-" in p.name or p.name.endswith(".tmp")]
    assert not left, left


def _one_error(r, words: str) -> None:
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and words in errors[0], r.stderr[-3000:]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("sig, code", [("SIGTERM", 128 + signal.SIGTERM), ("SIGINT", 130)])
def test_signal_during_simulate_leaves_nothing_and_the_rerun_resumes(tmp_path, sig, code):
    args = [*SIM, "--checkpoint", "ck/run.ckpt", "--out", "out"]
    r, writes = lowdim_cli(args, tmp_path, kill=sig, after=1, LIVE_NOW="1")
    assert r.returncode == code, r.stderr[-3000:]
    _one_error(r, "terminated" if sig == "SIGTERM" else "interrupted")
    assert writes == [1]  # killed right after the first of 3 chunks was checkpointed
    assert not (tmp_path / "out").exists()
    # the live figure was drawn before the signal, and is gone with the staging folder
    assert f"live figure: {Path('out-live.png')}" in r.stderr, r.stderr[-3000:]
    assert not (tmp_path / "out-live.png").exists()
    _clean(tmp_path)
    assert (tmp_path / "ck" / "run.ckpt").exists()
    if sig == "SIGINT":
        return
    # the same command resumes after the checkpointed chunk and ends with the straight numbers
    r, writes = lowdim_cli(args, tmp_path, LIVE_NOW="1")
    assert r.returncode == 0, r.stderr[-3000:]
    assert writes == [2, 3]  # chunk 1 was not run again
    # 3 chunks of 2000 steps of 1e-4 s: the first one was done
    assert "resuming from the checkpoint at t = 0.2 s (step 2000 of 6000)" in r.stderr
    _clean(tmp_path)
    assert not (tmp_path / "out-live.png").exists()
    # the finished run removed its checkpoint and says so, with the wall time of both sessions
    assert not (tmp_path / "ck" / "run.ckpt").exists()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["checkpoint"] == "removed" and summary["checkpoint_path"] == "ck/run.ckpt"
    assert 0 < summary["session_wall_seconds"] < summary["wall_seconds"]
    out = " ".join(r.stdout.split())
    assert "s (this session)," in out and "s in total" in out, r.stdout
    assert "checkpoint ck/run.ckpt removed" in out, r.stdout
    resumed = lowdim.load(tmp_path / "out" / "run.nc")
    straight = lowdim.simulate(lowdim.RunConfig(**CFG))
    for v in straight.data_vars:
        np.testing.assert_array_equal(resumed[v].values, straight[v].values, err_msg=v)
    assert resumed.attrs["distance_rec"] == straight.attrs["distance_rec"]


def test_signal_during_reproduce_fig2_keeps_finished_points_and_the_rerun_resumes(tmp_path):
    args = ["reproduce", "fig2", "--workers", "0", "--out", "fig2"]
    r, writes = lowdim_cli(args, tmp_path, kill="SIGTERM", after=1, fig2=TINY)
    assert r.returncode == 128 + signal.SIGTERM, r.stderr[-3000:]
    _one_error(r, "terminated")
    _clean(tmp_path)
    out = tmp_path / "fig2"
    assert sorted(p.name for p in out.iterdir()) == ["store"]  # finished points only
    stored = sorted(p.stem for p in (out / "store").rglob("*.json"))
    assert stored == sorted(writes) and len(stored) == 1

    r, writes = lowdim_cli(args, tmp_path, fig2=TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(writes) == 1 and not set(writes) & set(stored)  # only the other point ran
    summary = json.loads((out / "summary.json").read_text())
    assert summary["simulations"] == 2
    assert {"fig2.png", "report.md", "points.csv", "store", "provenance.json"} <= {
        p.name for p in out.iterdir()
    }
    _clean(tmp_path)
