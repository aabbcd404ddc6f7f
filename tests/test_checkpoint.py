"""Checkpoint and resume (issue 5, item 5): a run killed after its first checkpoint resumes and
ends bitwise equal to an uninterrupted run (all random draws are keyed by the global step)."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lowdim
from lowdim import checkpoint as ckpt

CFG = dict(neurons=1500, rank=5, duration=0.03, burn_in=0.012, record_dt=1e-3, seed=11)
STEPS = 50  # chunks of 50 steps = 5 record intervals: 6 chunks in all

KILLED = (
    textwrap.dedent(
        """
    import os, signal, sys
    import lowdim
    from lowdim import checkpoint
    real = checkpoint.write
    def write_then_die(path, meta, arrays):
        real(path, meta, arrays)
        if meta["chunks_done"] == 2:  # after the 2nd checkpoint: past burn-in, records kept
            os.kill(os.getpid(), signal.SIGKILL)
    checkpoint.write = write_then_die
    cfg = lowdim.RunConfig(**CFG)
    lowdim.simulate(cfg, checkpoint=sys.argv[1], checkpoint_steps=STEPS)
    print("finished")  # must not be reached
    """
    )
    .replace("**CFG", f"**{CFG!r}")
    .replace("STEPS)", f"{STEPS})")
)


def _same(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
    for k in ("distance_rec", "distance_in", "rate_snn_hz", "rate_rnn_hz"):
        assert a.attrs[k] == b.attrs[k], k


def test_killed_run_resumes_bitwise(tmp_path, capsys):
    path = tmp_path / "run.ckpt.npz"
    proc = subprocess.run(
        [sys.executable, "-c", KILLED, str(path)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert "finished" not in proc.stdout
    meta, arrays = ckpt.read(path)
    assert meta["chunks_done"] == 2 and meta["n_chunks"] == 6
    assert arrays["rec/x"].shape[0] == 10  # 2 chunks × 5 record intervals kept so far
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # no torn temp file

    cfg = lowdim.RunConfig(**CFG)
    resumed = lowdim.simulate(cfg, checkpoint=path, checkpoint_steps=STEPS, progress=True)
    # 2 chunks of 50 steps of 1e-4 s were done; the wall time counts both sessions
    said = capsys.readouterr().err
    assert "resuming from the checkpoint at t = 0.01 s (step 100 of 300)" in said, said
    wall_before = meta["wall_seconds"]
    assert resumed.attrs["wall_seconds"] == pytest.approx(
        wall_before + resumed.attrs["session_wall_seconds"], rel=1e-12
    )
    straight = lowdim.simulate(cfg, checkpoint_steps=STEPS)
    assert straight.attrs["session_wall_seconds"] == straight.attrs["wall_seconds"]
    _same(resumed, straight)
    # the chunk length does not change the numbers either (keys per global step)
    _same(resumed, lowdim.simulate(cfg))
    # a completed checkpoint returns the result without simulating again
    meta, _ = ckpt.read(path)
    assert meta["chunks_done"] == meta["n_chunks"]
    _same(lowdim.simulate(cfg, checkpoint=path, checkpoint_steps=STEPS), straight)


def test_checkpoint_of_other_run_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    cfg = lowdim.RunConfig(**CFG)
    seen = []

    def stop(rec, first):
        seen.append(first)
        if len(seen) == 2:  # after the first chunk's checkpoint
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lowdim.simulate(cfg, checkpoint=path, checkpoint_steps=STEPS, on_chunk=stop)
    assert ckpt.read(path)[0]["chunks_done"] == 1
    # the message names what differs: another seed is other loadings, recorded neurons and keys
    with pytest.raises(
        lowdim.ConfigError, match=r"different run \(its network, probes, random keys differ"
    ):
        lowdim.simulate(cfg.replace(seed=12), checkpoint=path, checkpoint_steps=STEPS)
    with pytest.raises(lowdim.ConfigError, match=r"different run \(its network differ"):
        lowdim.simulate(cfg.replace(sigma=0.3), checkpoint=path, checkpoint_steps=STEPS)
    with pytest.raises(lowdim.ConfigError, match="checkpoint_steps"):
        lowdim.simulate(cfg, checkpoint=path, checkpoint_steps=0)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "c.npz"
    ckpt.write(path, {"a": 1}, {"x": np.arange(3)})

    class Boom:
        def __array__(self, *a, **k):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        ckpt.write(path, {"a": 2}, {"x": Boom()})
    meta, arrays = ckpt.read(path)
    assert meta == {"a": 1} and list(arrays["x"]) == [0, 1, 2]
    assert os.listdir(tmp_path) == ["c.npz"]
