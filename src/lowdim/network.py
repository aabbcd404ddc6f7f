"""What a low-rank network is, kept apart from how it is run (DESIGN.md, "One engine").

A :class:`Network` holds everything that defines the dynamics and nothing about where or how
they are computed:

- loadings F, G (N × p) and the scale s of ``W_ij = s Σ_μ F_iμ G_jμ`` (i ≠ j), as stored arrays
  or as a seeded :class:`RowSampler` that regenerates them (rows i have f(z_i), g(z_i) with
  z_i ~ ρ); W_ii = 0 exactly (the self-term γ_i = s F_i·G_i is removed), or, with
  ``self_coupling=True``, W_ii = s F_i·G_i kept (the Hopfield literature's P/N for ±1 patterns);
- the neuron kinds: :class:`Rate`, :class:`Poisson` (the spiking twin of a rate neuron) or
  :class:`Binary` (±1 neurons with sign or Glauber updates). Several kinds in one network are
  *paired* copies: same loadings, initial state and input, different communication;
- inputs ``I(t) = U u(t) + V σ dB/dt`` (:class:`Drive`, :class:`Noise`) along explicit vectors,
  along the loadings (:class:`Along`) or uniform over a population, and membrane noise;
- initial state, populations (named index sets), sources and targets of the recurrence (the
  feedforward topology of SM Sec. V is ``sources="in", targets="rec"``) and readout vectors.

The dynamics on a grid of step dt (``e = exp(−dt/τ)``), for a column of kind k (the grid's
default scheme; ``Grid(..., scheme="rk4")`` integrates the ODE of rate networks instead,
:mod:`lowdim.integrators`):

    leaky kinds (Rate, Poisson), v = x or h:
      v_i ← e v_i + (1/τ)[tgt_i Σ_μ F_iμ m_μ − γ_i a_i] + Σ_drives (1 − e) U_i u(t)
                  + Σ_noises (σ/τ) V_i ΔB,       ΔB ~ N(0, dt · time_unit)
      m = s Σ_j G_j src_j a_j,  a_j = φ(x_j) dt (Rate) or n_j ~ Poisson(φ(h_j) dt) (Poisson)
    Binary:  h_i = tgt_i Σ_μ F_iμ m_μ − γ_i S_i + Σ_drives U_i u(t),  m = s Σ_j G_j src_j S_j,
      S_i ← sgn h_i (β = ∞) or S_i ← +1 with probability g(β h_i), else −1 (Glauber)

with γ_i = s F_i·G_i tgt_i src_i, so that W_ii = 0 (``self_coupling=True``: γ_i = 0, W_ii =
s F_i·G_i tgt_i src_i). Equations: paper Eqs. 1, 2, 7–9 for the
leaky kinds, the lecture's Hopfield model for Binary. Units: SI (time in seconds, rates in Hz).

A network is a JAX pytree: its arrays (F, G, scale, input arrays, initial state, readout) are
leaves, so ``jax.jit``, ``jax.vmap`` and ``jax.grad`` see them; everything else is static.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .checks import concrete as _concrete
from .checks import finite as _finite
from .connectivity import DENSE_MAX_N
from .errors import ConfigError
from .kinds import KINDS, Binary, Kind, Poisson, Rate  # noqa: F401  (lowdim.network.Rate, ...)
from .nonlinearity import Custom, transfer  # noqa: F401  (lowdim.network.transfer, as before)
from .procedural import RowSampler  # noqa: F401  (lowdim.network.RowSampler, as before)

__all__ = [
    "Network",
    "Rate",
    "Poisson",
    "Binary",
    "Drive",
    "Noise",
    "MembraneNoise",
    "Along",
    "RowSampler",
    "Populations",
    "Custom",
    "transfer",
]

UNIFORM = "uniform"


# ----------------------------------------------------------------------------- populations
class Populations(Mapping):
    """Named sets of neurons: index arrays, boolean masks, or ``range(a, b)`` (kept as a range,
    O(1) memory). Mapping name → boolean mask (made on demand). Hashable by content, so a
    network's populations are static data for ``jax.jit``. ``"all"`` is always present.
    """

    def __init__(self, neurons: int, spec: Mapping | None = None):
        self.neurons = int(neurons)
        n = self.neurons
        self._sets = {"all": range(0, n)}
        for name, sel in (spec or {}).items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"population names must be non-empty strings, got {name!r}")
            if name == "all":
                continue
            if isinstance(sel, slice):
                sel = range(*sel.indices(n))
            if isinstance(sel, range):
                if sel.step != 1 or (len(sel) and (sel.start < 0 or sel.stop > n)):
                    raise ConfigError(
                        f"population {name!r}: a range must be contiguous within [0, {n})"
                    )
                self._sets[name] = sel
            else:
                m = self._mask(name, sel)
                m.setflags(write=False)
                self._sets[name] = m
        h = hashlib.sha256(str(n).encode())
        for k in sorted(self._sets):
            v = self._sets[k]
            h.update(k.encode())
            if isinstance(v, range):
                h.update(f"range({v.start},{v.stop})".encode())
            else:
                h.update(np.packbits(v).tobytes())
        self._hash = h.hexdigest()

    def _mask(self, name, sel) -> np.ndarray:
        a = np.asarray(sel)
        n = self.neurons
        if a.dtype == bool:
            if a.shape != (n,):
                raise ConfigError(f"population {name!r}: a mask must have shape ({n},)")
            return a.copy()
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise ConfigError(
                f"population {name!r} must be a 1-D array of neuron indices, a boolean mask or "
                "a range"
            )
        if a.size and (a.min() < 0 or a.max() >= n):
            raise ConfigError(f"population {name!r} has indices outside [0, {n})")
        m = np.zeros(n, bool)
        m[a] = True
        if m.sum() != a.size:
            raise ConfigError(f"population {name!r} lists a neuron twice")
        return m

    def _get(self, name):
        try:
            return self._sets[name]
        except KeyError:
            raise ConfigError(
                f"unknown population {name!r}; this network has {sorted(self._sets)}"
            ) from None

    def __getitem__(self, name) -> np.ndarray:
        v = self._get(name)
        if isinstance(v, range):
            m = np.zeros(self.neurons, bool)
            m[v.start : v.stop] = True
            return m
        return v

    def __iter__(self):
        return iter(self._sets)

    def __len__(self):
        return len(self._sets)

    def size(self, name) -> int:
        v = self._get(name)
        return len(v) if isinstance(v, range) else int(v.sum())

    def range_of(self, name) -> tuple[int, int] | None:
        """(start, stop) if the population is a contiguous range of neuron indices, else None."""
        v = self._get(name)
        if isinstance(v, range):
            return (v.start, v.stop)
        idx = np.flatnonzero(v)
        if idx.size and idx[-1] - idx[0] + 1 == idx.size:
            return (int(idx[0]), int(idx[-1]) + 1)
        return None

    def check(self, name) -> None:
        """Raise ConfigError if ``name`` is not a population."""
        self._get(name)

    def __hash__(self):
        return hash(self._hash)

    def __eq__(self, other):
        return isinstance(other, Populations) and self._hash == other._hash

    def __repr__(self):
        sizes = ", ".join(f"{k}: {self.size(k)}" for k in self._sets)
        return f"Populations(N = {self.neurons}; {sizes}; {self._hash[:12]})"


# ----------------------------------------------------------------------------- inputs
@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class Along:
    """Input vectors along the loadings: V = F C (C: (p, k) array) or V = c F (scalar c, k = p)."""

    coef: object = 1.0

    def tree_flatten(self):
        if isinstance(self.coef, int | float):
            return (), (float(self.coef),)
        return (self.coef,), (None,)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(coef=aux[0] if aux[0] is not None else children[0])

    @property
    def scalar(self) -> bool:
        return isinstance(self.coef, float)

    def width(self, rank: int) -> int:
        return rank if self.scalar else int(jnp.shape(self.coef)[1])


def _vectors_kind(v) -> str:
    if isinstance(v, str):
        if v != UNIFORM:
            raise ConfigError(
                f"input vectors must be an (N, k) array, Along(...) or 'uniform'; got {v!r}"
            )
        return "uniform"
    if isinstance(v, Along):
        return "along"
    return "array"


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class Drive:
    """Deterministic input I(t) = U u(t) to ``population`` (all neurons if None).

    ``vectors``: an (N, q) array, :class:`Along` (U = F C), or ``"uniform"`` (U = the
    population's indicator, q = 1). ``u``: an array on the time grid, (steps, q) — or
    (trials, steps, q) for a batch of trials — whose row k is u(k dt), or a JAX function
    ``u(t) -> (q,)`` of the time t = k dt in seconds. Leaky neurons integrate it exactly over a
    step for piecewise-constant u (factor 1 − e^{−dt/τ}); binary neurons add U u(t) to the field.
    """

    u: object
    vectors: object = UNIFORM
    population: str | None = None

    def tree_flatten(self):
        u_leaf = not callable(self.u)
        v_leaf = _vectors_kind(self.vectors) != "uniform"
        children = (self.u if u_leaf else None, self.vectors if v_leaf else None)
        aux = (None if u_leaf else self.u, None if v_leaf else self.vectors, self.population)
        return children, aux

    @classmethod
    def tree_unflatten(cls, aux, children):
        u = children[0] if aux[0] is None else aux[0]
        v = children[1] if aux[1] is None else aux[1]
        return cls(u=u, vectors=v, population=aux[2])

    @property
    def kind(self) -> str:
        return _vectors_kind(self.vectors)

    def width(self, rank: int) -> int:
        k = self.kind
        if k == "uniform":
            return 1
        if k == "along":
            return self.vectors.width(rank)
        return int(jnp.shape(self.vectors)[1])


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class Noise:
    """White-noise input I dt = σ V dB to ``population``: ΔB ~ N(0, dt · time_unit · I_r).

    ``vectors``: an (N, r) array or :class:`Along` (the paper's Eq. 9 is
    ``Noise(σ, Along(1/√p), "in")``). ``time_unit`` states the time unit of B in seconds
    (MODEL.md §2: 1 = seconds, 1e-3 = the equations read in ms, τ = units of τ).
    Every trial has its own Brownian motion; paired columns of one trial share it.
    """

    sigma: float
    vectors: object
    population: str | None = None
    time_unit: float = 1.0

    def tree_flatten(self):
        return (self.vectors,), (self.sigma, self.population, self.time_unit)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(sigma=aux[0], vectors=children[0], population=aux[1], time_unit=aux[2])

    @property
    def kind(self) -> str:
        return _vectors_kind(self.vectors)

    def width(self, rank: int) -> int:
        if self.kind == "along":
            return self.vectors.width(rank)
        return int(jnp.shape(self.vectors)[1])


@dataclass(frozen=True)
class MembraneNoise:
    """Independent membrane noise σ̃ dW_i on every neuron of ``population`` (SM Sec. VI).

    Poisson neurons get h_i += (σ̃ √(dt · time_unit)/τ) ξ_i(k); their rate twins use the
    Gaussian-smoothed rate Φ(x̄, Σ_k) (Eq. S25) with Σ_k the variance of that noise at step k.
    """

    sigma: float
    population: str | None = None
    time_unit: float = 1.0


jax.tree_util.register_static(MembraneNoise)


# ----------------------------------------------------------------------------- network
@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class Network:
    """A low-rank network of N neurons (see the module docstring for its equations).

    Attributes:
        neurons: N.
        F, G: (N, p) loadings (None with a ``sampler``).
        scale: s, the factor of W (seconds for the paper's φ in Hz: 1/(cN)).
        kinds: neuron kinds of the paired copies, e.g. ``(Rate(φ), Poisson(φ))``.
        tau: membrane time constant τ (s); for Binary "continuous" the mean time between updates.
        inputs: :class:`Drive`, :class:`Noise` and :class:`MembraneNoise` terms.
        x0: initial potentials (leaky) or ±1 states (Binary): (N,) or (trials, N); None: 0 (leaky
            kinds) — binary networks need one.
        populations: named neuron sets (:class:`Populations` or a dict of index arrays).
        sources, targets: population names restricting the recurrence to W_ij with j ∈ sources,
            i ∈ targets (None: all).
        readout: (N, o) readout vectors W_out (z = W_outᵀ φ(x), or the spike-count analogue).
        sampler: a :class:`RowSampler` regenerating F and G from its seed (then F = G = None).
        dtype: "float32" or "float64" (the compute precision).
        trials: number of trials run side by side (columns); None: 1, or the leading size of
            per-trial arrays (x0 (trials, N), a drive's u (trials, steps, q)). Trials differ in
            those arrays and in their random streams.
        self_coupling: False (default): W_ii = 0, the self-term s F_i·G_i is removed; True: the
            diagonal W_ii = s Σ_μ F_iμ G_iμ (masked like the rest of W) is kept.
    """

    neurons: int
    F: object = None
    G: object = None
    scale: object = 1.0
    kinds: tuple = ()
    tau: float = 0.01
    inputs: tuple = ()
    x0: object = None
    populations: Populations | None = None
    sources: str | None = None
    targets: str | None = None
    readout: object = None
    sampler: RowSampler | None = None
    dtype: str = "float32"
    trials: int | None = None
    self_coupling: bool = False

    def __post_init__(self):
        kinds = self.kinds
        if not isinstance(kinds, tuple):
            kinds = tuple(kinds) if isinstance(kinds, list) else (kinds,)
            object.__setattr__(self, "kinds", kinds)
        if not isinstance(self.inputs, tuple):
            object.__setattr__(self, "inputs", tuple(self.inputs))
        if not isinstance(self.populations, Populations):
            object.__setattr__(self, "populations", Populations(self.neurons, self.populations))

    # -- pytree
    _LEAVES = ("F", "G", "scale", "inputs", "x0", "readout")

    def tree_flatten(self):
        children = tuple(getattr(self, k) for k in self._LEAVES)
        aux = tuple(
            (f.name, getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in self._LEAVES
        )
        return children, aux

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        for k, v in zip(cls._LEAVES, children, strict=True):
            object.__setattr__(obj, k, v)
        for k, v in aux:
            object.__setattr__(obj, k, v)
        return obj

    def replace(self, **changes) -> Network:
        return dataclasses.replace(self, **changes)

    # -- derived
    @property
    def rank(self) -> int:
        if self.sampler is not None:
            return int(self.sampler.rank)
        return int(jnp.shape(self.F)[1])

    @property
    def leaky(self) -> bool:
        return self.kinds[0].leaky

    @property
    def batch(self) -> int | None:
        """Number of trials (``trials``, or the leading size of per-trial arrays); None: one
        trial without a trial axis."""
        found = set() if self.trials is None else {int(self.trials)}
        if self.x0 is not None and jnp.ndim(self.x0) == 2:
            found.add(int(jnp.shape(self.x0)[0]))
        for inp in self.inputs:
            if isinstance(inp, Drive) and not callable(inp.u) and jnp.ndim(inp.u) == 3:
                found.add(int(jnp.shape(inp.u)[0]))
        if len(found) > 1:
            raise ConfigError(
                f"inputs and initial state disagree on the number of trials ({sorted(found)}); "
                "give every per-trial array the same leading size"
            )
        return found.pop() if found else None

    def loadings(self, dtype=None):
        """(F, G) as arrays (a sampler's are materialised: O(N p) memory)."""
        dtype = dtype or jnp.dtype(self.dtype)
        if self.sampler is not None:
            return self.sampler.materialize(self.neurons, dtype)
        return jnp.asarray(self.F, dtype), jnp.asarray(self.G, dtype)

    def dense(self) -> np.ndarray:
        """The N×N matrix W with the recurrence's masks and W_ii = 0 (``self_coupling=True``: the
        diagonal kept) (validation, N ≤ 5000)."""
        if self.neurons > DENSE_MAX_N:
            raise ConfigError(
                f"dense() builds an N×N matrix and is limited to N ≤ {DENSE_MAX_N} "
                f"(got N = {self.neurons})"
            )
        F, G = (np.asarray(a, np.float64) for a in self.loadings())
        W = float(self.scale) * (F @ G.T)
        if not self.self_coupling:
            np.fill_diagonal(W, 0.0)
        if self.targets is not None:
            W = W * self.populations[self.targets][:, None]
        if self.sources is not None:
            W = W * self.populations[self.sources][None, :]
        return W

    # -- validation (shapes, names, values where concrete)
    def validate(self) -> Network:
        """Return self if the description is complete and consistent; raise ConfigError."""
        n = self.neurons
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"neurons must be a positive integer, got {n!r}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if not self.kinds:
            raise ConfigError(
                "give the neuron kind(s), e.g. kinds=(lowdim.Rate(phi),) or "
                "(lowdim.Rate(phi), lowdim.Poisson(phi)) for a paired run"
            )
        for k in self.kinds:
            if not isinstance(k, Kind):
                raise ConfigError(f"unknown neuron kind {k!r}; use lowdim.Rate, Poisson or Binary")
        if not all(k.pairable for k in self.kinds) and len(self.kinds) > 1:
            raise ConfigError(
                "binary neurons cannot be paired with other kinds (their time is counted in "
                "updates, not integrated); run them alone"
            )
        if len({type(k) for k in self.kinds}) != len(self.kinds):
            raise ConfigError("each neuron kind may appear once in kinds")
        _num(self.tau, "tau", positive=True)
        if not isinstance(self.self_coupling, bool):
            raise ConfigError(
                f"self_coupling must be True (keep W_ii = s F_i·G_i) or False (W_ii = 0), got "
                f"{self.self_coupling!r}"
            )
        if self.sampler is not None:
            if self.F is not None or self.G is not None:
                raise ConfigError("give either a sampler or the arrays F and G, not both")
        else:
            if self.F is None or self.G is None:
                raise ConfigError("give the loadings F and G (N × p arrays) or a RowSampler")
            fs, gs = jnp.shape(self.F), jnp.shape(self.G)
            if len(fs) != 2 or len(gs) != 2:
                raise ConfigError(
                    f"F and G must both be (N, p) = ({n}, p) arrays; got shapes {fs} and {gs}"
                )
            for name, s in (("F", fs), ("G", gs)):
                _rows(s, n, name)
            if fs != gs:
                raise ConfigError(f"F and G must have the same shape (N, p); got {fs} and {gs}")
            if fs[1] < 1:
                raise ConfigError("the rank p must be ≥ 1")
            _finite(self.F, "F")
            _finite(self.G, "G")
        if jnp.ndim(self.scale) != 0:
            raise ConfigError(f"scale must be a scalar, got shape {jnp.shape(self.scale)}")
        _finite(self.scale, "scale")
        for name in (self.sources, self.targets):
            if name is not None:
                self.populations.check(name)
        if self.trials is not None and (
            isinstance(self.trials, bool) or not isinstance(self.trials, int) or self.trials < 1
        ):
            raise ConfigError(f"trials must be a positive integer or None, got {self.trials!r}")
        B = self.batch
        p = self.rank
        for i, inp in enumerate(self.inputs):
            self._check_input(i, inp, p, B)
        if self.x0 is not None:
            s = jnp.shape(self.x0)
            if s not in ((n,), (B, n)):
                raise ConfigError(f"x0 must have shape ({n},) or (trials, {n}); got {s}")
            _finite(self.x0, "x0")
            if not self.leaky and _concrete(self.x0):
                v = np.asarray(self.x0)
                if not np.all(np.abs(v) == 1):
                    raise ConfigError("binary neurons need an initial state x0 of ±1 values")
        elif not self.leaky:
            raise ConfigError("binary neurons need an initial state: give x0 (±1 values)")
        if self.readout is not None:
            s = jnp.shape(self.readout)
            if len(s) != 2:
                raise ConfigError(f"readout must be an (N, o) = ({n}, o) array; got shape {s}")
            _rows(s, n, "readout")
            _finite(self.readout, "readout")
        return self

    def _check_input(self, i, inp, p, B):
        n = self.neurons
        what = f"input {i} ({type(inp).__name__})"
        if isinstance(inp, MembraneNoise):
            _num(inp.sigma, f"{what}: sigma", nonneg=True)
            _num(inp.time_unit, f"{what}: time_unit", positive=True)
            if not self.leaky:
                raise ConfigError(f"{what}: membrane noise is for leaky (rate/Poisson) neurons")
        elif isinstance(inp, Noise | Drive):
            kind = inp.kind
            if kind == "array":
                s = jnp.shape(inp.vectors)
                if len(s) != 2 or s[0] != n:
                    raise ConfigError(
                        f"{what}: vectors must be an (N, k) = ({n}, k) array, got {s}"
                    )
                _finite(inp.vectors, f"{what}: vectors")
            elif kind == "along":
                if not inp.vectors.scalar:
                    s = jnp.shape(inp.vectors.coef)
                    if len(s) != 2 or s[0] != p:
                        raise ConfigError(
                            f"{what}: Along(C) needs C of shape (p, k) = ({p}, k), got {s}"
                        )
                _finite(inp.vectors.coef, f"{what}: Along(C): C")
            if isinstance(inp, Noise):
                if kind == "uniform":
                    raise ConfigError(f"{what}: noise needs vectors (an (N, r) array or Along)")
                _num(inp.sigma, f"{what}: sigma", nonneg=True)
                _num(inp.time_unit, f"{what}: time_unit", positive=True)
                if not self.leaky:
                    raise ConfigError(
                        f"{what}: binary neurons take no white noise; use Glauber dynamics "
                        "(Binary(beta=...)) for stochastic updates"
                    )
            else:
                q = inp.width(p)
                if not callable(inp.u):
                    s = jnp.shape(inp.u)
                    ok = (len(s) == 2 and s[1] == q) or (len(s) == 3 and s[2] == q)
                    if kind == "uniform" and len(s) == 1:
                        ok = True
                    if not ok:
                        raise ConfigError(
                            f"{what}: u must be an array (steps, {q}) or (trials, steps, {q}) "
                            f"on the time grid, or a function u(t); got shape {s}"
                        )
                    _finite(inp.u, f"{what}: u")
        else:
            raise ConfigError(f"unknown input {inp!r}; use lowdim.Drive, Noise or MembraneNoise")
        if inp.population is not None:
            self.populations.check(inp.population)


def _rows(shape, n, name):
    """ConfigError unless an (N, ...) array has one row per neuron (N = ``n``)."""
    if shape[0] != n:
        raise ConfigError(
            f"{name} has {shape[0]} rows, neurons = {n}: give {name} one row per neuron"
        )


def _num(v, name, positive=False, nonneg=False):
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ConfigError(f"{name} must be a finite number, got {v!r}")
    if positive and not v > 0:
        raise ConfigError(f"{name} must be > 0, got {v}")
    if nonneg and v < 0:
        raise ConfigError(f"{name} must be ≥ 0, got {v}")
