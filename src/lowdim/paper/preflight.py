"""Checks of a paper run's inputs, before any work and before any allocation.

:func:`paper_inputs` is the front matter of :func:`~lowdim.paper.paper_network` (and so of
:func:`lowdim.simulate`): the configuration (a :class:`~lowdim.paper.RunConfig` or the dict
:func:`lowdim.config_of` returns), the loadings (N and p as in the configuration, their
fingerprint as the configuration's), the recorded neurons and the method are checked once, and
a bad value raises :class:`~lowdim.ConfigError` with a message that says what to change (the
run's own arguments, checkpoints included, are checked by :func:`lowdim.run`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import jax
import numpy as np

from ..checkpoint import fingerprint
from ..connectivity import LowRank
from ..errors import ConfigError
from .config import METHODS, RunConfig

__all__ = ["paper_inputs", "check_devices", "config_from"]


def check_devices(devices, flag: str = "--devices") -> None:
    """ConfigError if more devices are asked for than JAX sees (before any divisibility check,
    so that the message names the real problem)."""
    if isinstance(devices, bool) or not isinstance(devices, int) or devices <= 1:
        return
    have = jax.devices()
    if devices > len(have):
        raise ConfigError(
            f"{flag} {devices} but JAX sees {len(have)} device(s) ({have[0].platform}); use "
            f"{flag} {len(have)} or fewer, or on CPU start with "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={devices}"
        )


def config_from(cfg, flag: str = "devices"):
    """A validated RunConfig from a RunConfig or a dict of settings (devices checked first)."""
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
    if isinstance(cfg, Mapping):
        return RunConfig.from_dict({**cfg, **changes})
    return cfg.replace(**changes) if changes else cfg.validated()


def paper_inputs(cfg, connectivity=None, record_indices=None, method=None):
    """(config, connectivity, record_indices) of a paper run, every argument checked; the
    config carries the loadings' fingerprint when custom loadings are passed. Raises
    ConfigError, saying what to change."""
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
    if method is not None:
        if not isinstance(method, str) or method not in METHODS:
            raise ConfigError(f"method must be one of {list(METHODS)}, got {method!r}")
        if method != cfg.method:
            cfg = dataclasses.replace(cfg, method=method)
    if cfg.method == "event" and cfg.networks != "snn":
        raise ConfigError(
            f"the event-driven method runs the SNN only (networks = 'snn'), got "
            f"{cfg.networks!r}; the paired run and the distance Δ need the RNN's dense pass: use "
            "method = 'auto' (or 'dense')"
        )
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
    return cfg, connectivity, record_indices
