"""Validated run configuration (Python, CLI options or a TOML file), in SI units.

Every field is checked by :meth:`RunConfig.validated`; a bad value raises :class:`ConfigError`
whose message says what to change.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .nonlinearity import Transfer, make_transfer

__all__ = ["RunConfig", "load_config", "TIME_UNITS"]

#: Time unit of the Brownian motions B_μ (MODEL.md §2, "Units"): the increments are
#: ΔB ~ N(0, dt · unit) in the SI-time equations. "s" is the default (σ/√(2τ) ≈ 3.5 for the
#: input-driven part of h^in), "ms" reads time in milliseconds (≈ 0.11), "tau" in units of τ (≈ 0.35).
TIME_UNITS = ("s", "ms", "tau")
INPUTS = ("white_noise", "none", "constant", "step")
NETWORKS = ("both", "snn", "rnn")
TOPOLOGIES = ("recurrent", "feedforward")
DTYPES = ("float32", "float64")
LOADINGS = ("stored", "procedural")
#: storage precision of F and G; products accumulate in ``dtype`` (engine notes, issue 5)
LOADINGS_DTYPES = ("float64", "float32", "bfloat16", "float16")
_BYTES = {"float64": 8, "float32": 4, "bfloat16": 2, "float16": 2}
#: rows of one definition tile of ξ (lowdim.procedural.TILE_ROWS; repeated to avoid an import)
TILE_ROWS = 1024
POPULATIONS = ("rec", "in", "all")


@dataclass(frozen=True)
class RunConfig:
    """A paired SNN/RNN run of the paper's network (Eqs. 1, 2, 7, 9). Times in seconds."""

    neurons: int = 20_000
    rank: int | None = 20  #: p; give either rank or load (set the other to None)
    load: float | None = None  #: α = p / N
    duration: float = 1.0
    dt: float = 1e-4
    tau: float = 0.01
    seed: int = 0
    #: optional separate seeds of the input stream and of the intrinsic noise (spikes, membrane
    #: noise) stream (default: ``seed``), e.g. for trials with the same input realisation and
    #: independent spike noise; the loadings always come from ``seed``
    input_seed: int | None = None
    spike_seed: int | None = None
    transfer: str = "tanh"
    transfer_params: dict = field(default_factory=lambda: {"b": 2.0})
    sigma: float = 0.5
    input: str = "white_noise"
    input_fraction: float = 0.5  #: fraction of neurons ("in") that receive the input
    input_level: float = 0.0  #: constant/step input I (dimensionless potential units)
    step_start: float = 0.0
    step_stop: float = math.inf
    noise_time_unit: str = "s"
    membrane_noise: float = 0.0  #: σ̃ of SM Sec. VI, on the "in" neurons of the SNN
    topology: str = "recurrent"  #: "feedforward" keeps only in → rec weights (SM Sec. V)
    networks: str = "both"
    dtype: str = "float32"
    record_neurons: int = 11
    record_population: str = "rec"
    record_dt: float = 1e-3
    record_overlaps: int = 20
    burn_in: float = 0.1
    #: "stored" keeps F, G in memory (O(N p)); "procedural" regenerates them per block of rows
    #: from the seed every step (O(N) memory, RNG-bound): same numbers, see lowdim.procedural
    loadings: str = "stored"
    #: storage precision of F and G (None: same as dtype); "bfloat16"/"float16" halve the bytes
    #: read per step, products still accumulate in dtype
    loadings_dtype: str | None = None
    #: rows per block (per device) when the loadings are processed block by block; a multiple of
    #: 1024. None: one block (stored) or 65 536 rows (procedural). Results are bitwise equal between
    #: stored and procedural loadings when both use the same tile_rows and devices.
    tile_rows: int | None = None
    #: number of devices the neurons are sharded over (jax.devices(); 1 = no sharding)
    devices: int = 1

    # ------------------------------------------------------------------ derived
    @property
    def p(self) -> int:
        if self.rank is not None:
            return int(self.rank)
        return max(1, int(round(self.load * self.neurons)))

    @property
    def alpha(self) -> float:
        return self.p / self.neurons

    @property
    def n_in(self) -> int:
        return int(round(self.input_fraction * self.neurons))

    @property
    def steps_per_record(self) -> int:
        return max(1, int(round(self.record_dt / self.dt)))

    @property
    def n_records(self) -> int:
        return max(1, int(round(self.duration / (self.steps_per_record * self.dt))))

    @property
    def n_steps(self) -> int:
        return self.n_records * self.steps_per_record

    @property
    def burn_steps(self) -> int:
        return int(round(self.burn_in / self.dt))

    @property
    def storage_dtype(self) -> str:
        """Precision in which F and G are stored (``loadings_dtype`` or ``dtype``)."""
        return self.loadings_dtype or self.dtype

    @property
    def loadings_bytes(self) -> int:
        return _BYTES[self.storage_dtype]

    @property
    def tiled(self) -> bool:
        """Whether the loadings are processed block by block (procedural, or tile_rows given)."""
        return self.loadings == "procedural" or self.tile_rows is not None

    @property
    def block_rows(self) -> int:
        """Rows per block and device in the tiled layout."""
        if self.tile_rows is not None:
            return self.tile_rows
        per_device = -(-self.neurons // self.devices)
        return min(65536, -(-per_device // TILE_ROWS) * TILE_ROWS)

    @property
    def padded_neurons(self) -> int:
        """N rounded up to whole blocks on every device (tiled) or N (untiled)."""
        if not self.tiled:
            return self.neurons
        unit = self.block_rows * self.devices
        return -(-self.neurons // unit) * unit

    @property
    def time_unit_seconds(self) -> float:
        return {"s": 1.0, "ms": 1e-3, "tau": self.tau}[self.noise_time_unit]

    def phi(self) -> Transfer:
        params = dict(self.transfer_params)
        if self.transfer == "tanh":
            params.setdefault("tau", self.tau)
        return make_transfer(self.transfer, **params)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["rank"] = self.p
        d["load"] = self.alpha
        if math.isinf(d["step_stop"]):
            d["step_stop"] = "inf"
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown setting(s) {unknown}; known settings: {sorted(names)}")
        d = dict(d)
        if d.get("step_stop") == "inf":
            d["step_stop"] = math.inf
        if "load" in d and "rank" not in d:
            d["rank"] = None  # the load defines p
        return cls(**d).validated()

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes).validated()

    # --------------------------------------------------------------- validation
    def validated(self) -> RunConfig:
        """Return self if every field is valid; raise ConfigError otherwise."""
        _int(self.neurons, "neurons", lo=2, hint="use at least 2 neurons (--neurons)")
        if self.rank is not None and self.load is not None:
            # both given: they must agree (a saved config carries both)
            if abs(self.rank - self.load * self.neurons) > 0.5 + 1e-9 * self.neurons:
                raise ConfigError("give either rank (--rank) or load (--load), not both")
        if self.rank is None and self.load is None:
            raise ConfigError("give the rank p (--rank) or the load α = p/N (--load)")
        if self.rank is not None:
            _int(self.rank, "rank", lo=1, hint="rank p must be ≥ 1 (--rank)")
        else:
            _num(self.load, "load", hint="load α must be in (0, 1] (--load)")
            if not 0 < self.load <= 1:
                raise ConfigError(f"load α must be in (0, 1], got {self.load} (--load)")
        if self.p > self.neurons:
            raise ConfigError(f"rank p = {self.p} exceeds neurons N = {self.neurons}; use p ≤ N")
        for name in ("duration", "dt", "tau", "record_dt"):
            _num(getattr(self, name), name, positive=True)
        if self.dt >= self.tau:
            raise ConfigError(
                f"dt = {self.dt} s must be smaller than τ = {self.tau} s (try --dt 1e-4)"
            )
        if self.duration < self.dt:
            raise ConfigError(
                f"duration = {self.duration} s is shorter than one step dt = {self.dt} s"
            )
        if self.record_dt < self.dt:
            raise ConfigError(f"record_dt = {self.record_dt} s must be ≥ dt = {self.dt} s")
        _num(self.burn_in, "burn_in", nonneg=True)
        if self.burn_steps >= self.n_steps:
            raise ConfigError(
                f"burn_in = {self.burn_in} s leaves no time to measure in duration = "
                f"{self.n_steps * self.dt:g} s; shorten burn_in or lengthen duration"
            )
        _int(self.seed, "seed", lo=0, hint="seed must be a non-negative integer (--seed)")
        for name in ("input_seed", "spike_seed"):
            if getattr(self, name) is not None:
                _int(getattr(self, name), name, lo=0, hint=f"{name} must be a non-negative integer")
        _num(self.sigma, "sigma", nonneg=True)
        _num(self.membrane_noise, "membrane_noise", nonneg=True)
        _num(self.input_level, "input_level")
        _num(self.step_start, "step_start", nonneg=True)
        if not (self.step_stop == math.inf or math.isfinite(self.step_stop)):
            raise ConfigError("step_stop must be a number of seconds or inf")
        _num(self.input_fraction, "input_fraction")
        if not 0 < self.input_fraction < 1:
            raise ConfigError(f"input_fraction must be in (0, 1), got {self.input_fraction}")
        if self.n_in < 1 or self.n_in >= self.neurons:
            raise ConfigError(
                "input_fraction leaves one population empty; choose a value nearer 0.5"
            )
        _choice(self.input, INPUTS, "input")
        _choice(self.noise_time_unit, TIME_UNITS, "noise_time_unit")
        _choice(self.networks, NETWORKS, "networks")
        _choice(self.topology, TOPOLOGIES, "topology")
        _choice(self.dtype, DTYPES, "dtype")
        _choice(self.record_population, POPULATIONS, "record_population")
        _choice(self.loadings, LOADINGS, "loadings")
        if self.loadings_dtype is not None:
            _choice(self.loadings_dtype, LOADINGS_DTYPES, "loadings_dtype")
            if _BYTES[self.loadings_dtype] > _BYTES[self.dtype]:
                raise ConfigError(
                    f"loadings_dtype = {self.loadings_dtype} is more precise than dtype = "
                    f"{self.dtype}; use dtype = {self.loadings_dtype} or a lower loadings_dtype"
                )
        if self.tile_rows is not None:
            _int(self.tile_rows, "tile_rows", lo=TILE_ROWS)
            if self.tile_rows % TILE_ROWS:
                raise ConfigError(
                    f"tile_rows = {self.tile_rows} must be a multiple of {TILE_ROWS}, e.g. "
                    f"{max(1, round(self.tile_rows / TILE_ROWS)) * TILE_ROWS}"
                )
        _int(self.devices, "devices", lo=1, hint="devices must be ≥ 1 (--devices)")
        if self.devices > 1 and not self.tiled and self.neurons % self.devices:
            raise ConfigError(
                f"neurons = {self.neurons} is not divisible by devices = {self.devices}; choose N "
                "divisible by the device count, or set tile_rows (the tiled layout pads N)"
            )
        _int(self.record_neurons, "record_neurons", lo=0)
        _int(self.record_overlaps, "record_overlaps", lo=0)
        if not isinstance(self.transfer_params, dict):
            raise ConfigError("transfer_params must be a table of numbers, e.g. {b = 2.0}")
        phi = self.phi()  # raises ConfigError on unknown names/params
        if phi.max * self.dt > 1.0:
            raise ConfigError(
                f"max φ · dt = {phi.max * self.dt:g} > 1: at most one expected spike per step is "
                "supported; reduce dt"
            )
        return self


def _num(v, name, positive=False, nonneg=False, hint=""):
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ConfigError(
            f"{name} must be a finite number, got {v!r}" + (f"; {hint}" if hint else "")
        )
    if positive and not v > 0:
        raise ConfigError(f"{name} must be > 0, got {v}")
    if nonneg and v < 0:
        raise ConfigError(f"{name} must be ≥ 0, got {v}")


def _int(v, name, lo=None, hint=""):
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{name} must be an integer, got {v!r}")
    if lo is not None and v < lo:
        raise ConfigError(hint or f"{name} must be ≥ {lo}, got {v}")


def _choice(v, options, name):
    if v not in options:
        raise ConfigError(f"unknown {name} {v!r}; choose one of {list(options)}")


def load_config(path: str | Path, **overrides) -> RunConfig:
    """Read a RunConfig from a TOML file (keys as in :class:`RunConfig`), then apply overrides."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config file {str(path)!r}: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {e}") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    if "rank" in overrides and overrides["rank"] is not None:
        data.pop("load", None)
    if "load" in overrides and overrides["load"] is not None:
        data.pop("rank", None)
    return RunConfig.from_dict(data)
