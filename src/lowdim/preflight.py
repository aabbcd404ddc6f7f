"""Checks of a paper run's inputs, before any work and before any allocation.

:func:`simulate_inputs` is the front matter of :func:`lowdim.simulate`: the configuration (a
:class:`~lowdim.config.RunConfig` or the dict :func:`lowdim.config_of` returns), the loadings
(their fingerprint must match the configuration's), recorded neurons, the method and the
checkpoint path are checked, and a bad value raises :class:`~lowdim.ConfigError` with a message
that says what to change. :func:`cost` estimates what a run needs (steps, memory by part, the
size of its results on disk) without allocating anything; the command line prints it before a
large run.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping

from .errors import ConfigError

__all__ = ["simulate_inputs", "check_devices", "cost", "describe_cost", "LARGE"]

#: a run is "large" (its estimate is printed before it starts) from this much memory or work
#: (element-steps: N · p · steps, about a minute or more of CPU time)
LARGE = {"bytes": 2**30, "steps": 10**6, "element_steps": 10**11}


def check_devices(devices, flag: str = "--devices") -> None:
    """ConfigError if more devices are asked for than JAX sees (before any divisibility check,
    so that the message names the real problem)."""
    if isinstance(devices, bool) or not isinstance(devices, int) or devices <= 1:
        return
    import jax

    have = jax.devices()
    if devices > len(have):
        raise ConfigError(
            f"{flag} {devices} but JAX sees {len(have)} device(s) ({have[0].platform}); use "
            f"{flag} {len(have)} or fewer, or on CPU start with "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={devices}"
        )


def check_checkpoint_path(path, flag: str = "--checkpoint"):
    """The checkpoint path, absolute: writable, and if it exists, a checkpoint file (an .npz
    archive); ConfigError otherwise."""
    import zipfile

    from .io import check_writable_file

    path = check_writable_file(path, flag)
    if path.exists() and not zipfile.is_zipfile(path):
        raise ConfigError(
            f"{flag} {str(path)!r} exists and is not a lowdim checkpoint; give a new file path "
            "(a checkpoint is written there and read back to resume)"
        )
    return path


def config_from(cfg, flag: str = "devices"):
    """A validated RunConfig from a RunConfig or a dict of settings (devices checked first)."""
    from .config import RunConfig

    if isinstance(cfg, Mapping | RunConfig):
        devices = cfg.get("devices") if isinstance(cfg, Mapping) else cfg.devices
        try:
            check_devices(devices, flag)
        except ConfigError as e:  # the other settings are checked with one device
            try:
                _validated(cfg, devices=1)
            except ConfigError as more:
                raise ConfigError(f"{e}\n{more}") from None
            raise
        return _validated(cfg)
    raise ConfigError(
        f"simulate needs a lowdim.RunConfig (or the dict config_of returns), got "
        f"{type(cfg).__name__}"
    )


def _validated(cfg, **changes):
    from .config import RunConfig

    if isinstance(cfg, Mapping):
        return RunConfig.from_dict({**cfg, **changes})
    return cfg.replace(**changes) if changes else cfg.validated()


def simulate_inputs(
    cfg,
    connectivity=None,
    *,
    checkpoint=None,
    checkpoint_every=300.0,
    checkpoint_steps=None,
    record_indices=None,
    on_chunk=None,
    keep_records=True,
    method="dense",
    block=None,
):
    """(config, connectivity, record_indices, checkpoint path) of a :func:`lowdim.simulate` call,
    every argument checked; the config carries the loadings' fingerprint when custom loadings
    are passed. Raises ConfigError, saying what to change."""
    import numpy as np

    from .checkpoint import fingerprint
    from .connectivity import LowRank

    cfg = config_from(cfg)
    if connectivity is not None:
        if not isinstance(connectivity, LowRank):
            raise ConfigError(
                "connectivity must be a lowdim.LowRank (lowdim.from_arrays(F, G, scale) or "
                f"lowdim.paper(...)), got {type(connectivity).__name__}"
            )
        if connectivity.neurons != cfg.neurons or connectivity.rank != cfg.p:
            raise ConfigError(
                f"connectivity is N = {connectivity.neurons}, p = {connectivity.rank} but the "
                f"config says N = {cfg.neurons}, p = {cfg.p}; make them agree"
            )
        if cfg.loadings == "procedural":
            raise ConfigError(
                "procedural loadings regenerate the paper's connectivity from the seed; pass no "
                "connectivity, or use loadings = 'stored' for custom loadings"
            )
        fp = fingerprint(connectivity)
        if cfg.loadings_fingerprint not in ("paper", fp):
            raise ConfigError(
                f"this configuration was run with other loadings (fingerprint "
                f"{cfg.loadings_fingerprint[:12]}…) than the connectivity passed ({fp[:12]}…); "
                "pass the run's own loadings (its folder's loadings.npz: lowdim.rerun(folder))"
            )
        cfg = dataclasses.replace(cfg, loadings_fingerprint=fp)
    elif cfg.loadings_fingerprint != "paper":
        raise ConfigError(
            f"this configuration was run with custom loadings (fingerprint "
            f"{cfg.loadings_fingerprint[:12]}…), not the paper's; pass them, "
            "simulate(cfg, lowdim.from_arrays(F, G, scale)), or rerun the run's folder, which "
            "holds them (lowdim.rerun(folder) or `lowdim rerun FOLDER`)"
        )
    if not isinstance(method, str) or method not in ("dense", "event"):
        raise ConfigError(f"method must be 'dense' or 'event', got {method!r}")
    if block is not None and (isinstance(block, bool) or not isinstance(block, int) or block < 1):
        raise ConfigError(f"block must be a positive integer or None, got {block!r}")
    if record_indices is not None:
        try:
            idx = np.asarray(record_indices)
            ok = idx.ndim <= 1 and (idx.size == 0 or np.issubdtype(idx.dtype, np.integer))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(
                "record_indices must be a 1-D sequence of integer neuron indices, got "
                f"{type(record_indices).__name__}"
            )
        idx = idx.reshape(-1).astype(np.int64)
        if len(np.unique(idx)) != len(idx) or (idx < 0).any() or (idx >= cfg.neurons).any():
            raise ConfigError(
                f"record_indices must be distinct neuron indices in [0, {cfg.neurons})"
            )
        record_indices = idx
    if on_chunk is not None and not callable(on_chunk):
        raise ConfigError(f"on_chunk must be a function (records, first), got {on_chunk!r}")
    if not isinstance(keep_records, bool):
        raise ConfigError(f"keep_records must be True or False, got {keep_records!r}")
    if checkpoint is not None:
        if not isinstance(checkpoint, str | os.PathLike):
            raise ConfigError(f"checkpoint must be a file path, got {type(checkpoint).__name__}")
        checkpoint = check_checkpoint_path(checkpoint, "checkpoint")
        if not keep_records:
            raise ConfigError("checkpoints keep the records; use keep_records=True with checkpoint")
    if checkpoint_every is not None and (
        isinstance(checkpoint_every, bool)
        or not isinstance(checkpoint_every, int | float)
        or not checkpoint_every >= 0
        or not math.isfinite(checkpoint_every)
    ):
        raise ConfigError(f"checkpoint_every must be seconds ≥ 0 or None, got {checkpoint_every!r}")
    if checkpoint_steps is not None and (
        isinstance(checkpoint_steps, bool)
        or not isinstance(checkpoint_steps, int)
        or checkpoint_steps < 1
    ):
        raise ConfigError(f"checkpoint_steps must be a positive integer, got {checkpoint_steps!r}")
    return cfg, connectivity, record_indices, checkpoint


def cost(cfg, per_device: bool | None = None) -> dict:
    """What the paper run ``cfg`` needs, estimated without allocating: steps, N·p·steps,
    memory in bytes by part (loadings, state, records, total; :func:`lowdim.engine.memory_parts`),
    the bytes its records take on disk (run.nc, upper estimate: float64) and the memory
    available."""
    import jax
    import jax.numpy as jnp

    from .engine import _program_of, available_memory, memory_parts

    prog, _ = _program_of(cfg)
    cpu = jax.devices()[0].platform == "cpu"
    parts = memory_parts(prog, True, per_device=(not cpu) if per_device is None else per_device)
    return {
        "steps": prog.grid.steps,
        "records": prog.grid.records,
        "element_steps": prog.grid.steps * prog.n * prog.p,
        "memory": parts,
        # the records once, in the run's dtype (memory_parts counts two float64 copies)
        "disk": parts["records"] * jnp.dtype(prog.dtype).itemsize // 16 + 16 * 1024,
        "available": available_memory(),
    }


def describe_cost(cfg, c: dict) -> str:
    """One line: steps, memory by part, results on disk (printed before a large run)."""
    from .io import human_bytes as b

    m = c["memory"]
    return (
        f"estimate: {c['steps']:,} steps of dt = {cfg.dt:g} s ({c['steps'] * cfg.dt:g} s "
        f"simulated), N = {cfg.neurons:,}, p = {cfg.p}; memory ≈ {b(m['total'])} (loadings "
        f"{b(m['loadings'])}, state {b(m['state'])}, records {b(m['records'])}) of "
        f"{b(c['available'])} available; results on disk ≈ {b(c['disk'])}"
    )


def is_large(c: dict) -> bool:
    return (
        c["memory"]["total"] >= LARGE["bytes"]
        or c["disk"] >= LARGE["bytes"]
        or c["steps"] >= LARGE["steps"]
        or c["element_steps"] >= LARGE["element_steps"]
    )
