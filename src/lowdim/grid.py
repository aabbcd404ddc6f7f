"""Where and when a network runs: the time :class:`Grid` and the :class:`Layout` of its loadings.

Both sit beside the description (:mod:`lowdim.network`, :mod:`lowdim.probes`): plain frozen
values that the solver (:mod:`lowdim.solve`) plans from and that front ends build.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax

from .errors import ConfigError
from .procedural import TILE_ROWS

__all__ = ["Grid", "Layout", "SCHEMES"]

#: the time-stepping schemes a Grid may name (how they step: lowdim.solve, lowdim.integrators)
SCHEMES = ("exp-euler", "rk4")


@dataclass(frozen=True)
class Grid:
    """The time grid: ``steps`` steps of ``dt`` seconds, records every ``record_every`` steps.

    ``scheme``: how a step is taken — ``"exp-euler"`` (default: the exponential-Euler step of
    every neuron kind) or ``"rk4"`` (classical Runge–Kutta for rate networks with deterministic
    inputs: the continuous-time ODE to order dt⁴; :mod:`lowdim.integrators`)."""

    dt: float
    steps: int
    record_every: int = 1
    scheme: str = "exp-euler"

    def __post_init__(self):
        self.validate()  # Grid(dt=0, ...) is refused here, not at the first solve

    @classmethod
    def of(
        cls, duration: float, dt: float, record_dt: float | None = None, scheme: str = "exp-euler"
    ) -> Grid:
        """Grid from a duration and a record interval that are whole multiples of dt."""
        for name, v in (("duration", duration), ("dt", dt)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ConfigError(f"{name} must be a number of seconds > 0, got {v!r}")
        steps = _whole(duration / dt, "duration", duration, dt)
        every = 1 if record_dt is None else _whole(record_dt / dt, "record_dt", record_dt, dt)
        if steps % every:
            raise ConfigError(
                f"duration = {duration} s is not a whole number of record intervals of "
                f"{every * dt:g} s; choose a duration that is a multiple of it"
            )
        return cls(dt=float(dt), steps=steps, record_every=every, scheme=scheme)

    def validate(self) -> Grid:
        if isinstance(self.dt, bool) or not isinstance(self.dt, int | float) or not self.dt > 0:
            raise ConfigError(f"dt must be a number of seconds > 0, got {self.dt!r}")
        for name in ("steps", "record_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if self.steps % self.record_every:
            raise ConfigError(
                f"steps = {self.steps} is not a multiple of record_every = {self.record_every}"
            )
        if self.scheme not in SCHEMES:
            raise ConfigError(f"unknown scheme {self.scheme!r}; choose one of {list(SCHEMES)}")
        if self.steps >= 2**31 - 1:
            raise ConfigError(f"at most 2³¹ − 1 steps per run (got {self.steps}); split the run")
        return self

    @property
    def records(self) -> int:
        return self.steps // self.record_every

    @property
    def duration(self) -> float:
        return self.steps * self.dt


def _whole(ratio, name, value, dt) -> int:
    k = round(ratio)
    if k < 1 or abs(ratio - k) > 1e-9 * max(1.0, ratio):
        raise ConfigError(
            f"{name} = {value} s is not a whole multiple of dt = {dt} s; choose e.g. "
            f"{name} = {max(1, k) * dt:g}"
        )
    return int(k)


@dataclass(frozen=True)
class Layout:
    """Where and in what form the loadings live ("where"; Brian2's ``set_device``).

    ``loadings``: "stored" (F and G in memory, O(N p)) or "procedural" (a sampler network's rows
    regenerated block by block every step, O(N) memory). ``storage``: dtype of stored F and G
    (None: the compute dtype; "bfloat16"/"float16" halve the bytes read per step). ``tile_rows``:
    rows per block (a multiple of 1024) for the block-by-block layout. ``devices``: number of
    devices the neurons are sharded over.
    """

    loadings: str = "stored"
    storage: str | None = None
    tile_rows: int | None = None
    devices: int = 1

    def validate(self, net) -> Layout:
        """Checked against ``net`` (a :class:`~lowdim.network.Network`); ConfigError otherwise."""
        if self.loadings not in ("stored", "procedural"):
            raise ConfigError(
                f"unknown loadings {self.loadings!r}; choose 'stored' or 'procedural'"
            )
        if self.loadings == "procedural" and net.sampler is None:
            raise ConfigError(
                "procedural loadings regenerate F and G from a RowSampler; this network has "
                "stored arrays: use loadings = 'stored'"
            )
        if self.storage is not None:
            sizes = {"float64": 8, "float32": 4, "bfloat16": 2, "float16": 2}
            if self.storage not in sizes:
                raise ConfigError(f"unknown storage dtype {self.storage!r}; choose {list(sizes)}")
            if sizes[self.storage] > sizes[net.dtype]:
                raise ConfigError(
                    f"storage {self.storage} is more precise than the compute dtype {net.dtype}"
                )
        if self.tile_rows is not None:
            t = self.tile_rows
            if isinstance(t, bool) or not isinstance(t, int) or t < TILE_ROWS or t % TILE_ROWS:
                raise ConfigError(
                    f"tile_rows must be a positive multiple of {TILE_ROWS}, got {t!r}"
                )
        d = self.devices
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ConfigError(f"devices must be an integer ≥ 1, got {d!r}")
        if d > len(jax.devices()):
            have = jax.devices()
            raise ConfigError(
                f"devices = {d} but JAX sees {len(have)} device(s) ({have[0].platform}); use "
                f"devices ≤ {len(have)} (on CPU, start Python with "
                f"XLA_FLAGS=--xla_force_host_platform_device_count={d})"
            )
        tiled = self.loadings == "procedural" or self.tile_rows is not None
        if d > 1 and not tiled and net.neurons % d:
            raise ConfigError(
                f"N = {net.neurons} neurons cannot be split evenly over {d} devices; choose N "
                "divisible by the device count, or set tile_rows (the tiled layout pads N)"
            )
        return self
