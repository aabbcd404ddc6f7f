"""Validated run configuration (Python, CLI options or a TOML file), in SI units.

Every field is checked by :meth:`RunConfig.validated`; a bad value raises :class:`ConfigError`
whose message says what to change.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..nonlinearity import TRANSFERS, Transfer, make_transfer
from ..procedural import TILE_ROWS

__all__ = ["RunConfig", "load_config", "TIME_UNITS"]

#: Time unit of the Brownian motions B_μ (MODEL.md §2, "Units"): the increments are
#: ΔB ~ N(0, dt · unit) in the SI-time equations. "s" is the default (σ/√(2τ) ≈ 3.5 for the
#: input-driven part of h^in), "ms" reads time in milliseconds (≈ 0.11), "tau" in units of τ (≈ 0.35).
TIME_UNITS = ("s", "ms", "tau")
INPUTS = ("white_noise", "none", "constant", "step")
NETWORKS = ("both", "snn", "rnn")
METHODS = ("auto", "dense", "event")
TOPOLOGIES = ("recurrent", "feedforward")
DTYPES = ("float32", "float64")
LOADINGS = ("stored", "procedural")
#: storage precision of F and G; products accumulate in ``dtype`` (engine notes, issue 5)
LOADINGS_DTYPES = ("float64", "float32", "bfloat16", "float16")
_BYTES = {"float64": 8, "float32": 4, "bfloat16": 2, "float16": 2}
POPULATIONS = ("rec", "in", "all")
#: the default burn-in (s), named in the message when it leaves no time to measure
BURN_IN = 0.1


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
    #: "dense" (every neuron every step), "event" (event-driven: SNN alone only, lowdim.event)
    #: or "auto": event where it is exact and cheaper (lowdim.solve.Program._event_pays: the
    #: SNN alone), dense otherwise; the run's attrs["method"] says which ran. Left out of
    #: :meth:`to_dict` when "auto", so that configs read as before the field existed.
    method: str = "auto"
    dtype: str = "float32"
    record_neurons: int = 11
    record_population: str = "rec"
    record_dt: float = 1e-3
    record_overlaps: int = 20  #: the first min(record_overlaps, p) overlaps m_μ are recorded
    burn_in: float = BURN_IN
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
    #: "paper": the loadings of Eq. 7 regenerated from ``seed``; otherwise the SHA-256 of custom
    #: loadings (F, G, scale) the run was made with (:func:`lowdim.checkpoint.fingerprint`), set by
    #: :func:`lowdim.simulate` when a connectivity is passed. A config with a fingerprint runs only
    #: with the same loadings (never silently with the paper's). Left out of :meth:`to_dict` when
    #: "paper", so that configs of paper runs read as before.
    loadings_fingerprint: str = "paper"

    # ------------------------------------------------------------------ derived
    @property
    def p(self) -> int:
        if self.rank is not None:
            return int(self.rank)
        return max(1, int(round(self.load * self.neurons)))  # whole after validation

    @property
    def alpha(self) -> float:
        return self.p / self.neurons

    @property
    def n_in(self) -> int:
        return int(round(self.input_fraction * self.neurons))

    @property
    def steps_per_record(self) -> int:
        return max(1, int(round(self.record_dt / self.dt)))  # exact after validation

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

    @property
    def record_population_size(self) -> int:
        """Neurons in ``record_population`` ("in": the first n_in, "rec": the rest, "all")."""
        return {
            "in": self.n_in,
            "rec": self.neurons - self.n_in,
            "all": self.neurons,
        }[self.record_population]

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
        if d["method"] == "auto":
            del d["method"]
        if d["loadings_fingerprint"] == "paper":
            del d["loadings_fingerprint"]  # paper runs' configs read as before the field existed
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        """A validated config from a dict of settings (a TOML table, ``to_dict`` or what
        :func:`lowdim.config_of` returns)."""
        if not isinstance(d, Mapping):
            raise ConfigError(
                f"a run configuration must be a dict of settings, got {type(d).__name__}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(repr(k) for k in d if not isinstance(k, str))
        if bad:
            raise ConfigError(f"setting names must be strings, got {', '.join(bad)}")
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
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ConfigError(f"unknown setting(s) {unknown}; known settings: {sorted(names)}")
        return dataclasses.replace(self, **changes).validated()

    # --------------------------------------------------------------- validation
    def validated(self) -> RunConfig:
        """Return self if every field is valid; raise ConfigError otherwise.

        Nothing is changed silently: a load α whose α·N is not a whole number of patterns, a dt
        that does not divide the record interval, a duration that is not a whole number of
        record intervals, a burn-in that is not a whole number of steps, more recorded neurons
        than the recorded population holds and seeds outside [0, 2³²) are refused with a
        message that names the setting (and its ``lowdim simulate`` flag) and a value to use.

        Every bad setting is reported at once: the message has one line per problem (a check
        that depends on a bad setting, e.g. the burn-in on a bad dt, is left out).
        """
        problems, failed = [], set()
        for name, needs in _CHECKS:
            if failed & needs:
                continue
            try:
                getattr(self, "_check_" + name)()
            except ConfigError as e:
                problems.append(str(e))
                failed.add(name)
        if problems:
            raise ConfigError("\n".join(problems))
        return self

    def _check_size(self):
        _int(self.neurons, "neurons", lo=2, hint="use at least 2 neurons (--neurons)")
        if self.neurons > MAX_NEURONS:
            raise ConfigError(
                f"neurons = {self.neurons} exceeds {MAX_NEURONS} (neuron indices are 32-bit); "
                "use fewer neurons (--neurons)"
            )
        if self.rank is None and self.load is None:
            raise ConfigError("give the rank p (--rank) or the load α = p/N (--load)")
        if self.rank is not None:
            _int(self.rank, "rank", lo=1, hint="rank p must be ≥ 1 (--rank)")
        if self.load is not None:
            _num(self.load, "load", hint="load α must be in (0, 1] (--load)")
            if not 0 < self.load <= 1:
                raise ConfigError(f"load α must be in (0, 1], got {self.load} (--load)")
            pn = self.load * self.neurons
            k = round(pn)
            if self.rank is not None:
                # both given (a saved config carries both): they must agree
                if abs(self.rank - pn) > 1e-9 * max(1.0, pn):
                    raise ConfigError(
                        f"rank = {self.rank} and load = {self.load:g} disagree (load · neurons = "
                        f"{pn:.6g}); give either rank (--rank) or load (--load), not both"
                    )
            elif k < 1 or abs(pn - k) > 1e-9 * max(1.0, pn):
                k = max(1, k)
                n_ok = _neurons_for(self.load)
                other = f", or --neurons {n_ok} with --load {_g(self.load)}" if n_ok else ""
                raise ConfigError(
                    f"load α = {self.load:g} with N = {self.neurons} neurons gives p = α·N = "
                    f"{pn:.6g}, not a whole number of patterns; use --rank {k} (α = "
                    f"{k / self.neurons:.6g}){other}"
                )
        if self.p > self.neurons:
            raise ConfigError(f"rank p = {self.p} exceeds neurons N = {self.neurons}; use p ≤ N")

    def _check_time(self):
        for name in ("duration", "dt", "tau", "record_dt"):
            _num(getattr(self, name), name, positive=True)
        if self.dt >= self.tau:
            raise ConfigError(
                f"dt = {self.dt} s must be smaller than τ = {self.tau} s (try --dt 1e-4)"
            )
        if self.record_dt < self.dt:
            raise ConfigError(
                f"record_dt = {self.record_dt} s must be ≥ dt = {self.dt} s (--record-dt, --dt)"
            )
        spr = self.record_dt / self.dt
        if not spr < MAX_STEPS:  # inf for extreme values: round() would overflow
            raise ConfigError(
                f"record_dt / dt = {spr:.3g} steps per record, but a run has at most 2³¹ − 1 "
                "steps; use a shorter --record-dt or a larger --dt"
            )
        k = round(spr)
        if abs(spr - k) > 1e-9 * spr:
            raise ConfigError(
                f"dt = {self.dt:g} s does not divide the record interval record_dt = "
                f"{self.record_dt:g} s ({spr:.4g} steps per record); choose --dt "
                f"{_g(self.record_dt / math.ceil(spr))} or another divisor of it, or --record-dt "
                f"{_g(k * self.dt)} (a whole number of steps)"
            )
        interval = k * self.dt
        nrec = self.duration / interval
        if not nrec * k <= MAX_STEPS:  # also inf for extreme values
            raise ConfigError(
                f"duration / dt = {nrec * k:.3g} steps, but a run has at most 2³¹ − 1 steps; "
                "shorten --duration or use a larger --dt"
            )
        m = round(nrec)
        if m < 1 or abs(nrec - m) > 1e-9 * nrec:
            lo, hi = max(1, math.floor(nrec)), max(1, math.ceil(nrec))
            choices = " or ".join(dict.fromkeys(f"--duration {_g(j * interval)}" for j in (lo, hi)))
            raise ConfigError(
                f"duration = {self.duration:g} s is not a whole number of record intervals of "
                f"{_g(interval)} s (record_dt); choose {choices}"
            )
        steps = m * k
        if steps > MAX_STEPS:
            raise ConfigError(
                f"duration / dt = {steps:.3g} steps, but a run has at most 2³¹ − 1 steps; shorten "
                "--duration or use a larger --dt"
            )
        _num(self.burn_in, "burn_in", nonneg=True, hint="set --burn-in in seconds")
        b = self.burn_in / self.dt
        if b < MAX_STEPS and abs(b - round(b)) > 1e-9 * max(1.0, b):
            raise ConfigError(
                f"burn_in = {self.burn_in:g} s is not a whole number of steps of dt = {self.dt:g} "
                f"s; choose --burn-in {_g(round(b) * self.dt)}"
            )
        if not b < MAX_STEPS or self.burn_steps >= self.n_steps:
            default = " (the default)" if self.burn_in == BURN_IN else ""
            raise ConfigError(
                f"burn_in = {self.burn_in:g} s{default} leaves no time to measure in duration = "
                f"{self.n_steps * self.dt:g} s; give --burn-in below {self.n_steps * self.dt:g} "
                "s (e.g. --burn-in 0) or lengthen --duration"
            )

    def _check_seeds(self):
        problems = []
        for name in ("seed", "input_seed", "spike_seed"):
            if name == "seed" or getattr(self, name) is not None:
                try:
                    _seed(getattr(self, name), name)
                except ConfigError as e:
                    problems.append(str(e))
        if problems:
            raise ConfigError("\n".join(problems))

    def _check_levels(self):
        _num(self.sigma, "sigma", nonneg=True)
        _num(self.membrane_noise, "membrane_noise", nonneg=True)
        _num(self.input_level, "input_level")
        _num(self.step_start, "step_start", nonneg=True)
        if not (
            isinstance(self.step_stop, float | int)
            and not isinstance(self.step_stop, bool)
            and (self.step_stop == math.inf or _finite(self.step_stop))
        ):
            raise ConfigError(
                f"step_stop must be a number of seconds or inf, got {self.step_stop!r}"
            )

    def _check_fraction(self):
        _num(self.input_fraction, "input_fraction")
        if not 0 < self.input_fraction < 1:
            raise ConfigError(f"input_fraction must be in (0, 1), got {self.input_fraction}")
        if self.n_in < 1 or self.n_in >= self.neurons:
            raise ConfigError(
                "input_fraction leaves one population empty; choose a value nearer 0.5"
            )

    def _check_input(self):
        _choice(self.input, INPUTS, "input")
        if self.input == "step":
            if not self.step_stop > self.step_start:
                raise ConfigError(
                    f"the step input is on for step_start ≤ t < step_stop, but step_stop = "
                    f"{self.step_stop} ≤ step_start = {self.step_start}; set step_stop later"
                )
            for name in ("step_start", "step_stop"):  # the step switches on the time grid
                v = getattr(self, name)
                k = v / self.dt
                if k < MAX_STEPS and abs(k - round(k)) > 1e-9 * max(1.0, k):
                    raise ConfigError(
                        f"{name} = {v:g} s is not a whole number of steps of dt = {self.dt:g} "
                        f"s; choose {name} = {_g(round(k) * self.dt)}"
                    )

    def _check_choices(self):
        _choice(self.noise_time_unit, TIME_UNITS, "noise_time_unit")
        _choice(self.networks, NETWORKS, "networks")
        _choice(self.method, METHODS, "method")
        if self.method == "event" and self.networks != "snn":
            raise ConfigError(
                f"method = 'event' runs the SNN alone (networks = 'snn'), got networks = "
                f"{self.networks!r}: the paired run and the distance Δ need the RNN's dense pass; "
                "use --method auto (or dense), or --networks snn"
            )
        _choice(self.topology, TOPOLOGIES, "topology")
        _choice(self.dtype, DTYPES, "dtype")
        _choice(self.loadings, LOADINGS, "loadings")
        if self.loadings_dtype is not None:
            _choice(self.loadings_dtype, LOADINGS_DTYPES, "loadings_dtype")
            if _BYTES[self.loadings_dtype] > _BYTES[self.dtype]:
                raise ConfigError(
                    f"loadings_dtype = {self.loadings_dtype} is more precise than dtype = "
                    f"{self.dtype}; use --dtype {self.loadings_dtype} or a lower --loadings-dtype"
                )

    def _check_layout(self):
        if self.tile_rows is not None:
            _int(
                self.tile_rows,
                "tile_rows",
                lo=TILE_ROWS,
                hint=f"tile_rows must be a multiple of {TILE_ROWS}, e.g. --tile-rows {TILE_ROWS}",
            )
            if self.tile_rows % TILE_ROWS:
                raise ConfigError(
                    f"tile_rows = {self.tile_rows} must be a multiple of {TILE_ROWS}, e.g. "
                    f"--tile-rows {max(1, round(self.tile_rows / TILE_ROWS)) * TILE_ROWS}"
                )
        _int(self.devices, "devices", lo=1, hint="devices must be ≥ 1 (--devices)")
        if self.devices > 1 and not self.tiled and self.neurons % self.devices:
            raise ConfigError(
                f"neurons = {self.neurons} is not divisible by devices = {self.devices}; choose "
                "--neurons divisible by --devices, or give --tile-rows (the tiled layout pads N)"
            )

    def _check_records(self):
        _choice(self.record_population, POPULATIONS, "record_population")
        _int(self.record_neurons, "record_neurons", lo=0)
        size = self.record_population_size
        if self.record_neurons > size:
            raise ConfigError(
                f"record_neurons = {self.record_neurons} exceeds the {size} neurons of the "
                f"'{self.record_population}' population (N = {self.neurons}, input_fraction = "
                f"{self.input_fraction:g}); use --record-neurons {size} or fewer"
            )

    def _check_overlaps(self):
        _int(self.record_overlaps, "record_overlaps", lo=0)

    def _check_transfer(self):
        _choice(self.transfer, TRANSFERS, "transfer")
        if not isinstance(self.transfer_params, Mapping) or not all(
            isinstance(k, str) for k in self.transfer_params
        ):
            raise ConfigError("transfer_params must be a table of numbers, e.g. {b = 2.0}")
        phi = self.phi()  # raises ConfigError on unknown names/params
        if phi.max * self.dt > 1.0:
            raise ConfigError(
                f"max φ · dt = {phi.max * self.dt:g} > 1: at most one expected spike per step is "
                f"supported; reduce dt (--dt {_g(1.0 / phi.max)} or less)"
            )

    def _check_fingerprint(self):
        fp = self.loadings_fingerprint
        if not isinstance(fp, str) or (fp != "paper" and not _is_sha256(fp)):
            raise ConfigError(
                f"loadings_fingerprint must be 'paper' or the SHA-256 (64 hex digits) of custom "
                f"loadings, got {fp!r}"
            )
        if fp != "paper" and self.loadings == "procedural":
            raise ConfigError(
                "procedural loadings regenerate the paper's connectivity from the seed, but this "
                "config was run with custom loadings (loadings_fingerprint); use --loadings stored"
            )


#: the groups of checks of :meth:`RunConfig.validated`, each with the groups it depends on
#: (skipped when one of them failed, so that one bad setting gives one message)
_CHECKS = (
    ("size", set()),
    ("time", set()),
    ("seeds", set()),
    ("levels", set()),
    ("fraction", {"size"}),
    ("input", {"time"}),
    ("choices", set()),
    ("layout", {"size"}),
    ("records", {"size", "fraction"}),
    ("overlaps", set()),
    ("transfer", {"time"}),
    ("fingerprint", {"choices"}),
)


#: at most this many neurons (indices are 32-bit) and steps per run (the step index is int32)
MAX_NEURONS = 2**31 - 1
MAX_STEPS = 2**31 - 1
#: seeds are keys of jax.random.PRNGKey, which in JAX's default 32-bit mode keeps only the low 32
#: bits of a seed (2³² would alias 0), and with 64-bit mode on would give another stream
SEED_LIMIT = 2**32


def _g(x: float) -> str:
    """A number as a short flag value (no float noise such as 0.15000000000000002)."""
    return f"{x:.10g}"


def _neurons_for(load: float) -> int | None:
    """The smallest N ≥ 2 with load·N a whole number ≥ 1 (within 1e-9), or None."""
    from fractions import Fraction

    q = Fraction(load).limit_denominator(10**8).denominator
    for n in (q, 2 * q):
        pn = load * n
        if n >= 2 and round(pn) >= 1 and abs(pn - round(pn)) <= 1e-9 * pn:
            return n
    return None


def _short(v) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "…"


def _is_sha256(s: str) -> bool:
    return len(s) == 64 and all(c in "0123456789abcdef" for c in s)


def _finite(v) -> bool:
    try:
        return math.isfinite(v)
    except (OverflowError, TypeError):
        return False


def _num(v, name, positive=False, nonneg=False, hint=""):
    if isinstance(v, bool) or not isinstance(v, int | float) or not _finite(v):
        raise ConfigError(
            f"{name} must be a finite number, got {_short(v)}" + (f"; {hint}" if hint else "")
        )
    if positive and not v > 0:
        raise ConfigError(f"{name} must be > 0, got {v}")
    if nonneg and v < 0:
        raise ConfigError(f"{name} must be ≥ 0, got {v}")


def _int(v, name, lo=None, hint=""):
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{name} must be an integer, got {_short(v)}")
    if lo is not None and v < lo:
        raise ConfigError(hint or f"{name} must be ≥ {lo}, got {v}")


def _seed(v, name):
    flag = "--" + name.replace("_", "-")
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < SEED_LIMIT:
        raise ConfigError(
            f"{name} must be an integer in [0, 2³²) = [0, {SEED_LIMIT - 1}], got {_short(v)} (JAX's "
            f"random keys hold 32-bit seeds; larger ones would alias smaller ones); choose another "
            f"{flag}"
        )


def _choice(v, options, name):
    if not isinstance(v, str) or v not in options:
        raise ConfigError(f"unknown {name} {v!r}; choose one of {list(options)}")


def load_config(path: str | Path, **overrides) -> RunConfig:
    """Read a RunConfig from a TOML file (keys as in :class:`RunConfig`), then apply overrides."""
    return RunConfig.from_dict(config_table(path, **overrides))


def config_table(path: str | Path, **overrides) -> dict:
    """The settings of a TOML file with ``overrides`` applied (None = not given), unvalidated.
    ConfigError if the file cannot be read, is not UTF-8 text or not TOML."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(
            f"cannot read config file {str(path)!r}: {e.strerror or e}; check --config"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"config file {str(path)!r} is not UTF-8 text (byte {e.start} cannot be decoded); "
            "--config takes a TOML file such as run.toml"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {e}") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    if "rank" in overrides and overrides["rank"] is not None:
        data.pop("load", None)
    if "load" in overrides and overrides["load"] is not None:
        data.pop("rank", None)
    return data
