"""The sweep runner: a killed sweep resumes (only the rest runs, same results); Dask = local."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from lowdim.errors import ConfigError
from lowdim.sweep import SweepError, SweepStore, point_key, run_sweep

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- point functions
def noisy_square(config: dict) -> dict:
    """Deterministic in the config; leaves one marker file per call in config['log']."""
    if config.get("log"):
        Path(config["log"], f"{config['x']}-{uuid.uuid4().hex}").touch()
    time.sleep(config.get("sleep", 0.0))
    rng = np.random.default_rng(config["x"])
    return {"x": config["x"], "y": config["x"] ** 2 + float(rng.normal())}


def fails_on_three(config: dict) -> dict:
    if config["x"] == 3:
        raise ValueError("three is not allowed")
    return {"y": 2 * config["x"]}


def squares(configs: list[dict]) -> list[dict]:
    """A batch of noisy_square points; leaves one marker file per batch in the first's log."""
    if configs[0].get("log"):
        Path(configs[0]["log"], f"batch-{uuid.uuid4().hex}").touch()
    if any(c.get("fail") for c in configs):
        raise ValueError("this batch fails")
    return [noisy_square({**c, "log": None}) for c in configs]


def parity(config: dict) -> str:
    return str(config["x"] % 2)


def _calls(log: Path) -> int:
    return len(list(log.iterdir()))


# --------------------------------------------------------------------------- keys and store
def test_key_depends_on_function_config_and_salt():
    c = {"x": 1, "y": [1.5, "a"]}
    k = point_key(noisy_square, c)
    assert k == point_key(noisy_square, {"y": [1.5, "a"], "x": 1})  # key order is irrelevant
    assert k != point_key(noisy_square, {"x": 2, "y": [1.5, "a"]})
    assert k != point_key(fails_on_three, c)
    assert k != point_key(noisy_square, c, salt="v2")
    with pytest.raises(ConfigError, match="top-level"):
        point_key(lambda c: c, c)
    with pytest.raises(ConfigError, match="JSON"):
        point_key(noisy_square, {"x": float("nan")})


def test_inprocess_sweep_skips_finished_and_unreadable_points_are_redone(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    configs = [{"x": i, "log": str(log)} for i in range(5)] + [{"x": 1, "log": str(log)}]
    first = run_sweep(noisy_square, configs, tmp_path / "store", workers=0, progress=False)
    assert _calls(log) == 5  # the duplicate config ran once
    assert first[1] == first[5] and [r["x"] for r in first] == [0, 1, 2, 3, 4, 1]
    # a truncated file (e.g. a copy interrupted by hand) is recomputed, the others are not
    key = point_key(noisy_square, configs[2])
    SweepStore(tmp_path / "store").path(key).write_text('{"key": "')
    again = run_sweep(noisy_square, configs, tmp_path / "store", workers=0, progress=False)
    assert _calls(log) == 6
    assert again == first


def test_failed_points_are_reported_and_the_others_kept(tmp_path):
    configs = [{"x": i} for i in range(5)]
    with pytest.raises(SweepError, match="1 sweep point") as err:
        run_sweep(fails_on_three, configs, tmp_path, workers=0, progress=False)
    assert "three is not allowed" in str(err.value)
    assert len(SweepStore(tmp_path).keys()) == 4


def test_grouped_points_run_as_one_batch_each_stored_with_its_own_key(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    configs = [{"x": i, "log": str(log)} for i in range(5)]
    one_by_one = run_sweep(noisy_square, configs, tmp_path / "single", workers=0, progress=False)
    assert _calls(log) == 5
    for f in log.iterdir():
        f.unlink()
    kw = dict(workers=0, progress=False, batch=squares, group=parity)
    batched = run_sweep(noisy_square, configs, tmp_path / "batch", **kw)
    assert batched == one_by_one
    assert _calls(log) == 2  # x even and x odd: two batches
    # the same keys as the points run one by one: either store serves the other
    assert sorted(SweepStore(tmp_path / "batch").keys()) == sorted(
        point_key(noisy_square, c) for c in configs
    )
    # a rerun skips the finished points; a new point of a group runs alone in its batch
    more = configs + [{"x": 7, "log": str(log)}]
    again = run_sweep(noisy_square, more, tmp_path / "batch", **kw)
    assert again[:5] == batched and _calls(log) == 3
    # a failed batch stores none of its points (they rerun), the other batches are stored
    bad = [{"x": i, "fail": i == 3} for i in range(4)]
    with pytest.raises(SweepError, match="2 sweep point"):
        run_sweep(noisy_square, bad, tmp_path / "fail", **kw)
    assert len(SweepStore(tmp_path / "fail").keys()) == 2
    with pytest.raises(ConfigError, match="both batch and group"):
        run_sweep(noisy_square, configs, tmp_path, batch=squares, progress=False)


# --------------------------------------------------------------------------- kill and resume
_DRIVER = """
import sys, json
sys.path.insert(0, {here!r})
from test_sweep import noisy_square
from lowdim.sweep import run_sweep
configs = json.loads({configs!r})
if __name__ == "__main__":
    run_sweep(noisy_square, configs, {store!r}, workers=1, progress=False)
"""


def test_killed_sweep_resumes_and_only_the_rest_runs(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    store = tmp_path / "store"
    n, k = 10, 3
    configs = [{"x": i, "log": str(log), "sleep": 0.4} for i in range(n)]
    script = tmp_path / "driver.py"
    script.write_text(_DRIVER.format(here=str(HERE), configs=json.dumps(configs), store=str(store)))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while len(SweepStore(store).keys()) < k:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its pool worker, at once
        proc.wait()
    stored = len(SweepStore(store).keys())
    assert k <= stored < n
    assert not list(store.glob("*/.*"))  # no temporary files left behind
    calls_before = _calls(log)
    resumed = run_sweep(noisy_square, configs, store, workers=1, progress=False)
    assert _calls(log) - calls_before == n - stored  # only the rest ran
    assert len(SweepStore(store).keys()) == n
    # identical to a sweep that was never interrupted
    fresh = [noisy_square({"x": c["x"]}) for c in configs]
    assert resumed == fresh
    # a third run computes nothing
    calls = _calls(log)
    assert run_sweep(noisy_square, configs, store, workers=0, progress=False) == resumed
    assert _calls(log) == calls


# --------------------------------------------------------------------------- Dask path
def test_dask_cluster_gives_the_same_numbers_as_the_local_pool(tmp_path):
    distributed = pytest.importorskip("distributed")
    from lowdim import RunConfig
    from lowdim.experiments.fig2 import point

    run = RunConfig(
        neurons=60, rank=6, duration=0.05, burn_in=0.01, record_neurons=2, record_overlaps=0
    )
    sims = [{"kind": "recurrent", "run": run.to_dict()}]
    cheap = [{"x": i} for i in range(6)]
    local_sim = run_sweep(point, sims, tmp_path / "local", workers=1, progress=False)
    local_cheap = run_sweep(noisy_square, cheap, tmp_path / "local", workers=0, progress=False)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        addr = cluster.scheduler_address
        dask_sim = run_sweep(point, sims, tmp_path / "dask", scheduler=addr, progress=False)
        dask_cheap = run_sweep(noisy_square, cheap, tmp_path / "dask", scheduler=addr)
    assert dask_cheap == local_cheap
    physics = ("distance_rec", "distance_in", "rate_snn_hz", "rate_rnn_hz", "n_steps")
    assert {k: dask_sim[0][k] for k in physics} == {k: local_sim[0][k] for k in physics}
    assert dask_sim[0]["distance_rec"] > 0
    # stored records carry the config and are readable JSON
    (rec_path,) = (tmp_path / "dask").glob(f"*/{point_key(point, sims[0])}.json")
    assert json.loads(rec_path.read_text())["config"] == sims[0]


def test_unreachable_scheduler_says_what_to_change(tmp_path):
    pytest.importorskip("distributed")
    with pytest.raises(ConfigError, match="--scheduler"):
        run_sweep(
            noisy_square,
            [{"x": 1}],
            tmp_path,
            scheduler="tcp://127.0.0.1:9",
            progress=False,
            connect_timeout=1.0,
        )
