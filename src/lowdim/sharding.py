"""Neurons sharded over several devices: a 1-D mesh over the neuron axis (GSPMD).

Every per-neuron array (potentials, masks, γ) and the rows of F and G are split in contiguous
blocks over the devices of a 1-D mesh named ``"n"``; the p×q overlaps ``s Gᵀ A`` contract over
the sharded axis, so XLA computes one partial product per device and all-reduces the p·q numbers
— the only communication of a step besides the few recorded neurons and the candidates of the
spike sampler (which reads φ(h_j) of K ≈ N·max φ·dt random neurons). Results equal the one-device
run up to the order of the N-term sums (fp rounding, relative ~ ε·log N).

Several hosts: start every process with the same program and call :func:`initialize` (a thin
wrapper of ``jax.distributed.initialize``) *before* anything else touches JAX, then run with
``RunConfig(devices=jax.device_count())``: the mesh spans the devices of all processes, arrays are
created with :func:`put` (each process materialises only its own shards) and the small records are
replicated so every process can read them. See ``docs/design_notes/engine.md`` for what was tested.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .errors import ConfigError

__all__ = ["AXIS", "make_mesh", "put", "constrain", "replicate", "initialize"]

AXIS = "n"


def make_mesh(devices: int) -> Mesh | None:
    """A 1-D mesh over the first ``devices`` devices (None for one device)."""
    if devices <= 1:
        return None
    have = jax.devices()
    if len(have) < devices:
        raise ConfigError(
            f"devices = {devices} but JAX sees {len(have)} device(s) ({have[0].platform}); set "
            f"devices ≤ {len(have)}, or on CPU start Python with "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={devices}"
        )
    return Mesh(np.asarray(have[:devices]), (AXIS,))


def _spec(ndim: int, axis: int) -> P:
    return P(*([None] * axis + [AXIS] + [None] * (ndim - axis - 1)))


def put(x, mesh: Mesh | None, axis: int | None = 0):
    """Place ``x`` (NumPy or JAX) on the mesh, sharded along ``axis`` (None: replicated).

    Uses ``make_array_from_callback`` so that with several processes each one builds only the
    shards of its own devices (every process must pass the same value)."""
    if mesh is None:
        return jax.numpy.asarray(x)
    spec = P() if axis is None else _spec(np.ndim(x), axis)
    sharding = NamedSharding(mesh, spec)
    if isinstance(x, jax.Array) and jax.process_count() == 1:
        return jax.device_put(x, sharding)
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])


def constrain(x, mesh: Mesh | None, axis: int | None = 0):
    """Inside jit: ask for ``x`` sharded along ``axis`` (no-op without a mesh)."""
    if mesh is None:
        return x
    spec = P() if axis is None else _spec(x.ndim, axis)
    return jax.lax.with_sharding_constraint(x, NamedSharding(mesh, spec))


def replicate(tree, mesh: Mesh | None):
    """Inside jit: replicate every leaf of ``tree`` (records every process can read)."""
    if mesh is None:
        return tree
    return jax.tree_util.tree_map(lambda v: constrain(v, mesh, None), tree)


def initialize(coordinator_address: str, num_processes: int, process_id: int, **kwargs) -> None:
    """Join a multi-process run (``jax.distributed.initialize``); call before any other JAX use.

    On CPU, cross-process collectives need the gloo implementation, which this selects."""
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except Exception:  # noqa: BLE001 - option absent in some jaxlib builds: default then
        pass
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
        **kwargs,
    )
