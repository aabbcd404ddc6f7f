"""Neuron kinds: what a column of neurons sends and how it updates (DESIGN.md, "One engine").

A kind is a frozen dataclass (:class:`Rate`, :class:`Poisson`, :class:`Binary`) that carries its
own step. The engine (:mod:`lowdim.solve` and the modules of its layer) never asks which class a
kind is: it asks the kind, through this protocol (duck typing on the program ``prog`` and the
step's arrays, so this module imports nothing of the solver):

Flags the planner asks (static, per kind):

- ``name``: "rate", "poisson", "binary"; ``leaky``: the state is a leaky potential (x or h)
  integrated with the factor e = exp(−dt/τ) (Rate, Poisson), not a ±1 state (Binary);
- ``spiking``: the kind emits spike counts (Poisson): probes of spikes, sparse spike overlaps,
  the event method's thinning;
- ``sequential``: its updates within a step see each other (asynchronous Binary): it runs with
  the event method only;
- ``event_method``: the event-driven method (:mod:`lowdim.event`) can run it (Poisson,
  asynchronous Binary);
- ``ode``: its dynamics are an ODE, so the grid may choose a higher-order scheme (Rate);
- ``pairable``: it may be paired with other kinds in one network (not Binary);
- ``candidate_rate(dt, tau)``: candidates per neuron and step of the event method's sampler
  (thinning: max φ · dt; continuous binary updates: dt/τ); None where there is none.

The dense step, for one column block v (N, B) of the kind at step k:

- ``emit(prog, v, k, P, keys) -> Emission``: what the state sends this step —
  ``act`` (N, B), the activity fed to the overlap product m = s Gᵀ (src ⊙ act): φ(x) dt (Rate),
  the counts n (Poisson), S (Binary); ``rate``, the same per unit time (what probes read);
  ``self_term`` γ ⊙ act, removed from the recurrent field (W_ii = 0); ``counts`` (Poisson) or
  None; ``overlaps``, s Σ_spikes src_j G_j (p, B) computed from the spikes' own rows of G when
  the program asks (``prog.sparse_spikes``), else None;
- ``advance(prog, v, field, I, k, P, keys) -> v'``: the new state from the recurrent field
  ``field`` = tgt ⊙ F m − γ ⊙ act (N, B) and the summed inputs ``I`` (N, B, or None): leaky
  kinds e v + field/τ + I (+ membrane noise on Poisson potentials, SM Sec. VI); Binary
  :meth:`Binary.update` of h = field + I;
- ``activity(v)``: what a state sends per unit time outside a step (a sample): φ(v) or S.

The program supplies ``dt``, ``tau``, ``decay``, ``sparse_spikes``, ``membrane`` (the membrane
noise term, with ``input`` and ``population``, or None), ``membrane_variance(inp, k)``,
``spikes(kind, v, k, keys, P=None)`` and ``per_trial(stream, k, fn)``; ``P`` holds the prepared
arrays (``gamma``, ``scale``, ``masks``) and ``keys`` the random streams (:mod:`lowdim.solve`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .errors import ConfigError

__all__ = ["Kind", "Rate", "Poisson", "Binary", "Emission", "KINDS"]


class Emission(NamedTuple):
    """What one kind's column block sends in one step (see the module docstring)."""

    act: object
    rate: object
    self_term: object
    counts: object = None
    overlaps: object = None


class Kind:
    """The protocol of a neuron kind (module docstring); the defaults of a leaky, non-spiking,
    non-sequential kind."""

    name = "kind"
    leaky = True
    spiking = False
    sequential = False
    event_method = False
    ode = False
    pairable = True

    def candidate_rate(self, dt: float, tau: float) -> float | None:
        return None

    def activity(self, v):
        return self.phi(v)

    def emit(self, prog, v, k, P, keys) -> Emission:  # pragma: no cover - the protocol
        raise NotImplementedError

    def advance(self, prog, v, field, I, k, P, keys):
        """Leaky kinds: e v + field/τ + I."""
        vn = prog.decay * v + field / prog.tau
        if I is not None:
            vn = vn + I
        return vn


def _mask(P, population):
    return P["masks"][population] if population is not None else None


def _max_of(phi) -> float | None:
    try:
        mx = phi.max
    except (AttributeError, ConfigError):
        return None
    return float(mx) if isinstance(mx, int | float) and math.isfinite(mx) else None


# ----------------------------------------------------------------------------- neuron kinds
@dataclass(frozen=True)
class Rate(Kind):
    """Rate neurons (Eq. 2): they send φ(x) (Hz). ``phi``: any callable or Transfer object."""

    phi: Callable
    name = "rate"
    leaky = True
    ode = True

    def __post_init__(self):
        if not callable(self.phi):
            raise ConfigError(f"Rate(phi) needs a callable transfer function, got {self.phi!r}")

    def emit(self, prog, v, k, P, keys) -> Emission:
        """φ(x) dt; under membrane noise the Gaussian-smoothed rate Φ(x, Σ_k) (Eq. S25) on the
        noise's population."""
        r = self.phi(v)
        mem = prog.membrane
        if mem is not None and mem.input.sigma > 0:
            sm = self.phi.smoothed(v, prog.membrane_variance(mem.input, k))
            m = _mask(P, mem.population)
            r = sm if m is None else jnp.where(m[:, None] > 0, sm, r)
        return Emission(r * prog.dt, r, P["gamma"][:, None] * r * prog.dt)


@dataclass(frozen=True)
class Poisson(Kind):
    """Poisson spiking twins of rate neurons (Eq. 1): spike counts n ~ Poisson(φ(h) dt).

    ``phi`` must be bounded and non-negative with a known maximum (``phi.max``, Hz): spikes are
    drawn exactly by thinning at that rate. Checked on a grid of potentials at construction.
    """

    phi: Callable
    name = "poisson"
    leaky = True
    spiking = True
    event_method = True

    def __post_init__(self):
        mx = _max_of(self.phi)
        what = getattr(self.phi, "name", type(self.phi).__name__)
        if mx is None or mx <= 0:
            raise ConfigError(
                f"Poisson neurons need a bounded non-negative transfer with a known maximum rate; "
                f"{what!r} has none: use lowdim.Tanh/Sigmoid/Erf, or lowdim.transfer(fn, max=...)"
            )
        grid = jnp.linspace(-60.0, 60.0, 2401, dtype=jnp.float32)
        vals = np.asarray(self.phi(grid), dtype=np.float64)
        if not np.all(np.isfinite(vals)) or vals.min() < 0 or vals.max() > mx * (1 + 1e-5):
            raise ConfigError(
                f"Poisson neurons need 0 ≤ φ ≤ max φ = {mx:g} Hz; {what!r} takes values in "
                f"[{np.nanmin(vals):.3g}, {np.nanmax(vals):.3g}] on [-60, 60]: give a bounded "
                "non-negative φ (e.g. lowdim.Sigmoid) or its true maximum"
            )

    def candidate_rate(self, dt: float, tau: float) -> float:
        return self.phi.max * dt

    def emit(self, prog, v, k, P, keys) -> Emission:
        """Counts n ~ Poisson(φ(h) dt) (exact thinning); with ``prog.sparse_spikes`` also the
        spikes' overlaps s Σ_spikes src_j G_j."""
        if prog.sparse_spikes:
            n, msum = prog.spikes(self, v, k, keys, P)
            overlaps = P["scale"] * msum
        else:
            n, overlaps = prog.spikes(self, v, k, keys), None
        return Emission(n, n / prog.dt, P["gamma"][:, None] * n, n, overlaps)

    def advance(self, prog, v, field, I, k, P, keys):
        """e h + field/τ + I, plus membrane noise (σ̃ √(dt · time_unit)/τ) ξ on its population."""
        vn = super().advance(prog, v, field, I, k, P, keys)
        mem = prog.membrane
        if mem is not None and mem.input.sigma > 0:
            inp = mem.input
            dW = prog.per_trial(keys["membrane"], k, jax.random.normal)
            scale_w = inp.sigma * math.sqrt(prog.dt * inp.time_unit) / prog.tau
            noise = scale_w * dW
            m = _mask(P, mem.population)
            vn = vn + (noise * m[:, None] if m is not None else noise)
        return vn


def _glauber_gain(x):
    return 0.5 * (1.0 + jnp.tanh(x))


@dataclass(frozen=True)
class Binary(Kind):
    """±1 neurons (lecture, Hopfield model): S_i ← sgn h_i, or +1 with probability g(β h_i).

    ``schedule``:
    - ``"sync"``: every neuron updated at once, one update per step (S(t+1) = F(S(t)));
    - ``"async"``: one sweep per step, every neuron once, in a random order drawn per step,
      each update seeing the ones before it;
    - ``"continuous"``: continuous-time asynchronous updates, each neuron at rate 1/τ (on the
      grid: K ~ Poisson(N dt/τ) updates per step, each on a uniformly drawn neuron, in order).

    ``beta`` = ∞ gives the deterministic sign; finite β gives Glauber dynamics with gain ``gain``
    (default g(u) = (1 + tanh u)/2, so P(+1) = 1/(1 + e^{−2βh})).

    ``zero``: the sign of a field that is exactly 0 (β = ∞): ``"keep"`` (default) keeps the
    neuron's state, ``"plus"`` sets it to +1 (sgn 0 = +1). Both the dense and the event method
    apply it through :meth:`update`.
    """

    schedule: str = "sync"
    beta: float = math.inf
    gain: Callable | None = None
    zero: str = "keep"
    name = "binary"
    leaky = False
    pairable = False

    def __post_init__(self):
        if self.schedule not in ("sync", "async", "continuous"):
            raise ConfigError(
                f"unknown binary schedule {self.schedule!r}; choose 'sync', 'async' or 'continuous'"
            )
        b = self.beta
        if isinstance(b, bool) or not isinstance(b, int | float) or not b > 0:
            raise ConfigError(f"beta (inverse temperature) must be > 0 or math.inf, got {b!r}")
        if self.zero not in ("keep", "plus"):
            raise ConfigError(
                f"unknown sign convention zero={self.zero!r}; choose 'keep' (sgn 0 keeps the "
                "state) or 'plus' (sgn 0 = +1)"
            )

    @property
    def stochastic(self) -> bool:
        return math.isfinite(self.beta)

    @property
    def sequential(self) -> bool:  # type: ignore[override]
        return self.schedule != "sync"

    @property
    def event_method(self) -> bool:  # type: ignore[override]
        return self.sequential

    def candidate_rate(self, dt: float, tau: float) -> float:
        return dt / tau

    def activity(self, v):
        return v

    def emit(self, prog, v, k, P, keys) -> Emission:
        return Emission(v, v, P["gamma"][:, None] * v)

    def advance(self, prog, v, field, I, k, P, keys):
        """:meth:`update` of h = field + I (Glauber: one uniform per neuron, spikes stream)."""
        h = field if I is None else field + I
        u = prog.per_trial(keys["spikes"], k, jax.random.uniform) if self.stochastic else None
        return self.update(h, v, u)

    def prob_up(self, h):
        """P(S = +1 | h) = g(β h)."""
        g = self.gain or _glauber_gain
        return g(self.beta * h)

    def update(self, h, s, u):
        """New states from fields ``h``, old states ``s`` and uniforms ``u`` (Glauber only)."""
        if self.stochastic:
            return jnp.where(u < self.prob_up(h), 1.0, -1.0).astype(s.dtype)
        if self.zero == "plus":
            return jnp.where(h >= 0, 1.0, -1.0).astype(s.dtype)
        return jnp.where(h > 0, 1.0, jnp.where(h < 0, -1.0, s)).astype(s.dtype)


KINDS = (Rate, Poisson, Binary)
