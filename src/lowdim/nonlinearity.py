"""Transfer functions φ, their Gaussian moments a, c and the smoothed rate Φ(x̄, Σ).

Every transfer function is bounded (``max`` is its supremum, in Hz); bounded rates are what makes
the exact thinning sampler for Poisson spikes possible (``lowdim.dynamics``). A user's own φ is
wrapped by :func:`transfer` (:class:`Custom`, also ``lowdim.network.transfer``); its maximum is
optional (rate neurons do not need one, Poisson neurons do).

Units: potentials are dimensionless, rates in Hz, ``c`` in Hz².
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cached_property

import jax.numpy as jnp
import numpy as np
from scipy import integrate

from .errors import ConfigError

__all__ = ["Transfer", "Tanh", "Sigmoid", "Erf", "make_transfer", "TRANSFERS", "Custom", "transfer"]

# Gauss–Hermite (probabilists') nodes for Φ(x̄, Σ) inside jitted code.
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Transfer:
    """Base class of a bounded transfer function φ: potential → rate (Hz)."""

    name = "transfer"

    def __call__(self, x):
        """φ(x), element-wise; works on NumPy and JAX arrays (returns a JAX array)."""
        raise NotImplementedError

    def numpy(self, x):
        """φ(x) in float64 NumPy (for quadrature)."""
        raise NotImplementedError

    @property
    def max(self) -> float:
        """sup φ in Hz."""
        raise NotImplementedError

    def params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # --- Gaussian moments (paper, after Eq. 7) -------------------------------------------
    def _gauss_expect(self, g) -> float:
        """E[g(z)], z ~ N(0, 1), by adaptive quadrature split at the inflection point."""
        dens = lambda z: g(z) * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)  # noqa: E731
        pts = sorted({-40.0, self._centre(), 40.0})
        total = 0.0
        for lo, hi in zip(pts[:-1], pts[1:], strict=True):
            val, _ = integrate.quad(dens, lo, hi, epsabs=0.0, epsrel=1e-13, limit=400)
            total += val
        return total

    def _centre(self) -> float:
        return 0.0

    @cached_property
    def a(self) -> float:
        """a = E[φ(z)], z ~ N(0,1) (Hz)."""
        return self._gauss_expect(lambda z: float(self.numpy(z)))

    @cached_property
    def c(self) -> float:
        """c = Var[φ(z)], z ~ N(0,1) (Hz²)."""
        a = self.a
        return self._gauss_expect(lambda z: (float(self.numpy(z)) - a) ** 2)

    def smoothed(self, xbar, var):
        """Φ(x̄, Σ) = ∫ φ(x) N(x; x̄, Σ) dx (SM Sec. VI, Eq. S25b), by 64-point Gauss–Hermite.

        ``xbar`` and ``var`` broadcast; ``var`` ≥ 0 is the variance Σ. Exact at Σ = 0.
        """
        xbar = jnp.asarray(xbar)
        sd = jnp.sqrt(jnp.asarray(var, dtype=xbar.dtype))
        nodes = jnp.asarray(_GH_NODES, dtype=xbar.dtype)
        w = jnp.asarray(_GH_WEIGHTS, dtype=xbar.dtype)
        vals = self(xbar[..., None] + sd[..., None] * nodes)
        return jnp.sum(vals * w, axis=-1)


@dataclass(frozen=True)
class Tanh(Transfer):
    """The paper's φ(x) = (tanh(x − b) + 1) / (2τ) (caption of Fig. 1); max φ = 1/τ."""

    b: float = 2.0
    tau: float = 0.01
    name = "tanh"

    def __call__(self, x):
        return (jnp.tanh(x - self.b) + 1.0) * (0.5 / self.tau)

    def numpy(self, x):
        return (np.tanh(np.asarray(x, dtype=np.float64) - self.b) + 1.0) * (0.5 / self.tau)

    @property
    def max(self) -> float:
        return 1.0 / self.tau

    def _centre(self) -> float:
        return self.b


@dataclass(frozen=True)
class Sigmoid(Transfer):
    """φ(x) = r_max / (1 + exp(−β (x − b)))."""

    b: float = 2.0
    beta: float = 1.0
    rmax: float = 100.0
    name = "sigmoid"

    def __call__(self, x):
        return self.rmax * (0.5 * (jnp.tanh(0.5 * self.beta * (x - self.b)) + 1.0))

    def numpy(self, x):
        return self.rmax * 0.5 * (np.tanh(0.5 * self.beta * (np.asarray(x, float) - self.b)) + 1.0)

    @property
    def max(self) -> float:
        return self.rmax

    def _centre(self) -> float:
        return self.b


@dataclass(frozen=True)
class Erf(Transfer):
    """Bounded erf: φ(x) = r_max (1 + erf((x − b)/(√2 s))) / 2, i.e. r_max · Normal cdf.

    Its smoothed rate has the closed form Φ(x̄, Σ) = r_max · NormalCdf((x̄ − b)/√(s² + Σ)).
    """

    b: float = 2.0
    s: float = 1.0
    rmax: float = 100.0
    name = "erf"

    def __call__(self, x):
        from jax.scipy.special import erf

        return self.rmax * 0.5 * (1.0 + erf((x - self.b) / (math.sqrt(2.0) * self.s)))

    def numpy(self, x):
        from scipy.special import erf

        return (
            self.rmax * 0.5 * (1.0 + erf((np.asarray(x, float) - self.b) / (math.sqrt(2) * self.s)))
        )

    @property
    def max(self) -> float:
        return self.rmax

    def _centre(self) -> float:
        return self.b

    def smoothed_exact(self, xbar, var):
        """Closed form of Φ for the erf transfer (used to test the quadrature)."""
        from scipy.special import erf

        xbar = np.asarray(xbar, float)
        scale = np.sqrt(2.0 * (self.s**2 + np.asarray(var, float)))
        return self.rmax * 0.5 * (1.0 + erf((xbar - self.b) / scale))


TRANSFERS = {"tanh": Tanh, "sigmoid": Sigmoid, "erf": Erf}


def make_transfer(name: str = "tanh", **params) -> Transfer:
    """Build a transfer function by name (``tanh`` — the paper's —, ``sigmoid``, ``erf``)."""
    if name not in TRANSFERS:
        raise ConfigError(f"unknown transfer function {name!r}; choose one of {sorted(TRANSFERS)}")
    cls = TRANSFERS[name]
    allowed = {f.name for f in fields(cls)}
    unknown = set(params) - allowed
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {sorted(unknown)} for transfer {name!r}; allowed: {sorted(allowed)}"
        )
    for k, v in params.items():
        if not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(f"transfer parameter {k} must be a finite number, got {v!r}")
    phi = cls(**params)
    if not phi.max > 0:
        raise ConfigError(f"transfer {name!r} must have a positive maximum rate, got {phi.max}")
    for k in ("tau", "s", "rmax"):
        if k in params and params[k] <= 0:
            raise ConfigError(f"transfer parameter {k} must be > 0, got {params[k]}")
    return phi


# ----------------------------------------------------------------------------- user-defined φ
@dataclass(frozen=True, eq=False)
class Custom(Transfer):
    """A user-defined transfer function ``fn`` (any JAX-traceable callable), optionally bounded.

    ``max`` (Hz) is the supremum of ``fn``; Poisson neurons need it (exact thinning), rate
    neurons do not. Compared by identity of ``fn``.
    """

    fn: Callable = None
    bound: float | None = None
    label: str = "custom"

    def __call__(self, x):
        return jnp.asarray(self.fn(x))

    def numpy(self, x):
        return np.asarray(self.fn(jnp.asarray(x, jnp.float32)), dtype=np.float64)

    @property
    def max(self) -> float:
        if self.bound is None:
            raise ConfigError(
                f"transfer {self.label!r} has no known maximum; give one with "
                "lowdim.transfer(fn, max=...)"
            )
        return float(self.bound)

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.label

    def params(self) -> dict:
        return {"max": self.bound, "label": self.label}

    def __hash__(self):
        return hash((id(self.fn), self.bound, self.label))

    def __eq__(self, other):
        return (
            isinstance(other, Custom)
            and self.fn is other.fn
            and (self.bound, self.label) == (other.bound, other.label)
        )


def transfer(fn: Callable, max: float | None = None, name: str = "custom") -> Custom:  # noqa: A002
    """Wrap a user function φ as a transfer object; ``max`` (Hz) is needed for Poisson twins."""
    if not callable(fn):
        raise ConfigError(f"transfer needs a callable φ(x), got {type(fn).__name__}")
    if max is not None and not (isinstance(max, int | float) and math.isfinite(max) and max > 0):
        raise ConfigError(f"max must be a finite rate > 0 (Hz), got {max!r}")
    return Custom(fn=fn, bound=None if max is None else float(max), label=name)
