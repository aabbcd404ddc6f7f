"""Neurons sharded over 4 host devices equal one device to fp tolerance (issue 5, item 4).

One device untiled vs four devices untiled, and vs four devices with procedural loadings (tiling
also only reorders sums).

XLA_FLAGS must be set before JAX starts, so the runs happen in a subprocess. Tolerance: sharding
only changes the order of the N-term sums in the overlaps (per-device partial sums, then an
all-reduce), so in float64 the runs agree to ~N·ε relative on every step; spike draws use the same
keys, and a different spike would need a rate within ~1e-13 of a uniform draw (never, in practice).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import jax
    import lowdim
    assert jax.device_count() == 4, jax.devices()
    from lowdim.paper import prepared
    base = dict(neurons=2048, rank=6, duration=0.02, burn_in=0.005, dtype="float64", seed=1,
                record_neurons=64)
    one = lowdim.simulate(lowdim.RunConfig(**base))
    out = {}
    for name, extra in [("untiled", {}), ("procedural", dict(loadings="procedural", tile_rows=1024))]:
        cfg = lowdim.RunConfig(**base, **extra, devices=4)
        gamma = prepared(cfg)[2]["gamma"]  # per-neuron arrays live in 4 contiguous shards
        assert len(gamma.sharding.device_set) == 4
        assert gamma.addressable_shards[0].data.shape[0] == cfg.padded_neurons // 4
        four = lowdim.simulate(cfg)
        res = {}
        for v in one.data_vars:
            a, b = one[v].values.astype(float), four[v].values.astype(float)
            res[v] = [list(a.shape) == list(b.shape), float(np.max(np.abs(a - b), initial=0.0)),
                      float(np.max(np.abs(a), initial=0.0))]
        res["distance_rec"] = [True, abs(one.attrs["distance_rec"] - four.attrs["distance_rec"]),
                               one.attrs["distance_rec"]]
        res["spikes_equal"] = bool(np.array_equal(one.spike_time.values, four.spike_time.values))
        res["n_spikes"] = int(one.spike_time.size)
        out[name] = res
    print("RESULT" + json.dumps(out))
    """
)


def test_four_host_devices_equal_one():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][0]
    out = json.loads(line[len("RESULT") :])
    for mode, res in out.items():
        assert res.pop("spikes_equal"), mode
        assert res.pop("n_spikes") > 0  # the spike comparison is not vacuous
        for var, (same_shape, diff, size) in res.items():
            assert same_shape, (mode, var)
            assert diff <= 1e-10 * max(size, 1.0), (mode, var, diff, size)


def test_devices_validation():
    import lowdim

    with pytest.raises(lowdim.ConfigError, match="divisible"):
        lowdim.RunConfig(neurons=2001, devices=4).validated()
    with pytest.raises(lowdim.ConfigError, match="xla_force_host_platform_device_count"):
        lowdim.simulate(lowdim.RunConfig(neurons=2048, devices=64, duration=0.01, burn_in=0.0))


WORKER = textwrap.dedent(
    """
    import json, sys
    import lowdim
    from lowdim import sharding
    sharding.initialize("localhost:" + sys.argv[2], 2, int(sys.argv[1]))
    import jax
    assert jax.device_count() == 4 and jax.local_device_count() == 2
    cfg = lowdim.RunConfig(**CFG, devices=4)
    ds = lowdim.simulate(cfg)
    print("RESULT" + json.dumps({"distance_rec": ds.attrs["distance_rec"],
                                 "x": ds.x.values.tolist(), "h": ds.h.values.tolist()}))
    """
)
MH_CFG = dict(neurons=2048, rank=6, duration=0.01, burn_in=0.002, dtype="float64", seed=1)


@pytest.mark.slow
def test_two_processes_on_localhost():
    """jax.distributed with 2 processes × 2 CPU devices (gloo collectives) equals one process."""
    import socket

    import numpy as np

    import lowdim

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = str(s.getsockname()[1])
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    script = WORKER.replace("**CFG", f"**{MH_CFG!r}")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i), port],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    ref = lowdim.simulate(lowdim.RunConfig(**MH_CFG))
    for out, _ in outs:
        line = [ln for ln in out.splitlines() if ln.startswith("RESULT")][0]
        res = json.loads(line[len("RESULT") :])
        assert abs(res["distance_rec"] - ref.attrs["distance_rec"]) <= 1e-12
        np.testing.assert_allclose(np.asarray(res["x"]), ref.x.values, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(res["h"]), ref.h.values, rtol=1e-10, atol=1e-12)
