"""The latent reduction κ of a low-rank network (lecture, "Field equation and low-dimensional
dynamics"; MODEL.md §4; Mastrogiuseppe & Ostojic 2018).

Neurons sit at positions z_i ~ ρ (i.i.d.), and the weights are

    W_ij = (1/N) Σ_μ f_μ(z_i) g_μ(z_j)        (lowdim: F_iμ = f_μ(z_i), G_jμ = g_μ(z_j), s = 1/N)

**Units.** lowdim's engine integrates τ dx_i/dt = −x_i + Σ_j W_ij φ(x_j) + I_i
(``lowdim.network``; τ in s, φ in Hz, so g carries seconds). In these units the lecture's
reduction reads: if the initial potentials and the input lie in the span of the f_μ,
h(z, 0) = Σ_μ f_μ(z) κ_μ(0) and I(z, t) = Σ_μ f_μ(z) I_μ(t), then as N → ∞
h(z, t) = Σ_μ f_μ(z) κ_μ(t) with

    τ dκ_μ/dt = −κ_μ + m_μ(κ) + I_μ(t),   m_μ(κ) = ∫ dz ρ(z) g_μ(z) φ(Σ_ν f_ν(z) κ_ν)     (L1)

(the lecture writes dκ_μ/dt = −κ_μ/τ + ∫ ρ g_μ φ(·): its weights are ours divided by τ).
The overlaps m_μ are those the engine's :class:`~lowdim.probes.Overlaps` probe records
(m = s Gᵀ φ(x), in Hz·s = dimensionless here). An input direction that is not in the span of
the recurrent f_μ is added as a basis function with g_μ = 0 (the lecture's "D + 3" input basis).

**Finite N.** The network's potentials stay in the span of the columns of F up to the removed
self-term (W_ii = 0, O(1/N)), and their least-squares coordinates κ_N follow (L1) with the
integral replaced by the empirical mean over the N sampled z_j: a Monte-Carlo error of order
1/√N (the quenched sampling of z). Poisson twins add the spike noise
(1/N) Σ_j g(z_j) (dZ_j − φ_j dt): a martingale term of variance (1/N) ∫ρ g gᵀ φ dt per unit
time, also of order 1/√N, whose effect on κ is given by :meth:`LatentModel.spike_noise_variance`
(the linear-noise approximation around the N → ∞ trajectory).

**Integration.** ``scheme="engine"`` advances (L1) with the engine's own step
(``e = exp(−dt/τ)``): κ ← e κ + (dt/τ) m(κ) + (1 − e) I(k dt) + ε_k/τ, so that a network and its
reduction on the same grid differ only by the finite-N terms; ``scheme="rk4"`` is classical
Runge–Kutta on a refined grid (the continuous-time reference; the difference between the two
is the O(dt) error of the engine's step). Quadrature in float64: for Gaussian z the
Gaussian-weighted trapezoid rule on [−8, 8]^d (d ≤ 2; exponentially accurate for the analytic
integrands here, including steep φ(f·κ) at large κ where Gauss–Hermite converges slowly) or
Gauss–Hermite tensor grids (d ≥ 3); the uniform grid for the ring (spectrally accurate for
smooth periodic integrands).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..network import Along, Drive, Network, RowSampler
from ..solve import float64

__all__ = [
    "Quadrature",
    "GaussianDensity",
    "RingDensity",
    "LatentModel",
    "LatentPath",
    "relative_error",
    "stability_of",
    "sample_drive",
    "power_law_fit",
    "gaussian_rank2",
]


# ----------------------------------------------------------------------------- quadrature
@dataclass(frozen=True, eq=False)
class Quadrature:
    """Nodes (Q, d) and weights (Q,) of a rule for ∫ ρ(z) (…) dz; the weights sum to 1."""

    nodes: np.ndarray
    weights: np.ndarray
    name: str = "quadrature"

    @classmethod
    def gauss_hermite(cls, dim: int, order: int) -> Quadrature:
        """Tensor Gauss–Hermite rule for z ~ N(0, I_dim): ``order`` nodes per axis (exact for
        polynomials of degree ≤ 2·order − 1 in each coordinate)."""
        x, w = np.polynomial.hermite_e.hermegauss(int(order))
        w = w / math.sqrt(2.0 * math.pi)
        grids = np.meshgrid(*([x] * dim), indexing="ij")
        wgrids = np.meshgrid(*([w] * dim), indexing="ij")
        nodes = np.stack([g.reshape(-1) for g in grids], axis=1)
        weights = np.prod(np.stack([g.reshape(-1) for g in wgrids], axis=1), axis=1)
        return cls(nodes, weights, f"Gauss–Hermite {order}^{dim}")

    @classmethod
    def gaussian_trapezoid(cls, dim: int, points: int, half_width: float = 8.0) -> Quadrature:
        """Tensor trapezoid rule on [−L, L]^dim with standard-normal weights (normalised):
        exponentially accurate for analytic integrands and, unlike Gauss–Hermite, evenly
        resolving sharp features anywhere in the box (spacing 2L/(points − 1))."""
        x = np.linspace(-half_width, half_width, int(points))
        w = np.exp(-0.5 * x * x)
        w = w / w.sum()
        grids = np.meshgrid(*([x] * dim), indexing="ij")
        wgrids = np.meshgrid(*([w] * dim), indexing="ij")
        nodes = np.stack([g.reshape(-1) for g in grids], axis=1)
        weights = np.prod(np.stack([g.reshape(-1) for g in wgrids], axis=1), axis=1)
        return cls(nodes, weights, f"trapezoid {points}^{dim} on [−{half_width:g}, {half_width:g}]")

    @classmethod
    def ring(cls, points: int) -> Quadrature:
        """Uniform rule on [0, 2π) (ρ = 1/2π): nodes 2π q/Q, weights 1/Q (trapezoid; exact for
        trigonometric polynomials of degree < Q)."""
        q = int(points)
        z = 2.0 * math.pi * np.arange(q) / q
        return cls(z[:, None], np.full(q, 1.0 / q), f"ring {q}")

    def expect(self, fn) -> np.ndarray:
        """∫ ρ(z) fn(z) dz ≈ Σ_q w_q fn(z_q) (fn maps (Q, d) → (Q, ...))."""
        return np.tensordot(self.weights, np.asarray(fn(self.nodes)), axes=(0, 0))


@dataclass(frozen=True)
class GaussianDensity:
    """ρ = N(0, I_dim). ``draw(key, rows, dtype)`` is a RowSampler draw."""

    dim: int = 1
    name = "gaussian"

    def __call__(self, key, rows, dtype):
        return jax.random.normal(key, (rows, self.dim), dtype)

    def quadrature(self, order: int | None = None) -> Quadrature:
        """The default rule: the Gaussian-weighted trapezoid on [−8, 8]^d (801 points for d = 1,
        121² for d = 2; exponentially accurate, and unlike Gauss–Hermite it resolves the
        steep φ(f·κ) of large κ evenly), Gauss–Hermite with ``order`` (default 24) nodes per
        axis for d ≥ 3. ``order`` sets the points per axis of either rule."""
        if self.dim <= 2:
            return Quadrature.gaussian_trapezoid(self.dim, order or (801 if self.dim == 1 else 121))
        return Quadrature.gauss_hermite(self.dim, order or 24)


@dataclass(frozen=True)
class RingDensity:
    """ρ = uniform on [0, 2π) (one angle per neuron). ``draw(key, rows, dtype)``."""

    dim = 1
    name = "ring"

    def __call__(self, key, rows, dtype):
        return jax.random.uniform(key, (rows, 1), dtype, 0.0, 2.0 * math.pi)

    def quadrature(self, order: int | None = None) -> Quadrature:
        return Quadrature.ring(order or 256)


# ----------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class LatentPath:
    """A κ trajectory: ``t`` (T,) in s (the end of each record interval), ``kappa`` (T, D)."""

    t: np.ndarray
    kappa: np.ndarray


def _as_drive_fn(drive, D, steps):
    """(callable k -> (D,) coefficients, description) from None / array (steps, D) / fn(t)."""
    if drive is None:
        return None
    if callable(drive):
        return drive
    u = np.asarray(drive, np.float64)
    if u.ndim != 2 or u.shape[1] != D or u.shape[0] < steps:
        raise ConfigError(
            f"drive must be a function of t or an array (steps, D) = ({steps}, {D}) of basis "
            f"coefficients; got shape {u.shape}"
        )
    return u


@dataclass(frozen=True, eq=False)
class LatentModel:
    """A low-rank network W_ij = (1/N) Σ_μ f_μ(z_i) g_μ(z_j), z ~ ``density``, and its κ
    equations (L1) (module docstring).

    ``f``, ``g``: JAX functions z (n, d) → (n, D) (the same functions build the network's rows
    and the quadrature; both call them on 2-D blocks z (n, d) only); ``phi``: the transfer function (Hz); ``tau``: s; ``order``: quadrature
    order (None: the density's default). Compared by identity (a RowSampler's f and g are
    static parts of a network).
    """

    f: Callable
    g: Callable
    phi: Callable
    density: object = field(default_factory=GaussianDensity)
    tau: float = 0.01
    order: int | None = None
    name: str = "latent"

    def __post_init__(self):
        if not (isinstance(self.tau, int | float) and self.tau > 0):
            raise ConfigError(f"tau must be a time > 0 (s), got {self.tau!r}")
        d = int(self.density.dim)
        z = jnp.zeros((3, d), jnp.float32)
        try:
            fz, gz = jnp.shape(self.f(z)), jnp.shape(self.g(z))
        except Exception as e:  # noqa: BLE001 - any failure means f, g do not fit the density
            raise ConfigError(
                f"f and g must map positions z of shape (n, {d}) (the density's dimension) to "
                f"(n, D) arrays; calling them failed: {e}"
            ) from None
        if len(fz) != 2 or fz != gz or fz[0] != 3:
            raise ConfigError(
                f"f and g must map z (n, {d}) to arrays of the same shape (n, D); got {fz} and {gz}"
            )

    # -- structure
    @cached_property
    def quadrature(self) -> Quadrature:
        return self.density.quadrature(self.order)

    @cached_property
    def rank(self) -> int:
        z = np.zeros((1, self.density.dim), np.float32)
        return int(np.shape(self.f(jnp.asarray(z)))[1])

    @cached_property
    def _jitted(self) -> dict:
        return {}

    @cached_property
    def _node_values(self):
        q = self.quadrature
        with float64():
            z = jnp.asarray(q.nodes, jnp.float64)
            return q.weights.astype(np.float64), np.asarray(self.f(z)), np.asarray(self.g(z))

    def _nodes(self):
        """(z, w, f(z), g(z)) at the quadrature nodes as float64 JAX arrays (inside float64())."""
        w, fz, gz = self._node_values
        return None, jnp.asarray(w), jnp.asarray(fz), jnp.asarray(gz)

    # -- the right-hand side of (L1), in float64 (call inside lowdim.float64())
    def _overlaps_fn(self):
        def m_of(kappa, fz, gz, w):
            h = fz @ kappa  # (Q,)
            return (w * self.phi(h)) @ gz  # (D,)

        return m_of

    def _compiled(self, name):
        """A jitted float64 function of this model (built once, called inside float64())."""
        fn = self._jitted.get(name)
        if fn is None:
            m_of = self._overlaps_fn()
            if name == "overlaps":
                fn = jax.jit(jax.vmap(m_of, in_axes=(0, None, None, None)))
            elif name == "jacobian":
                fn = jax.jit(jax.jacfwd(m_of))
            else:  # spike-noise diffusion

                def diff(kappa, fz, gz, w):
                    r = self.phi(fz @ kappa)
                    return (gz * (w * r)[:, None]).T @ gz

                fn = jax.jit(diff)
            self._jitted[name] = fn
        return fn

    def overlaps(self, kappa) -> np.ndarray:
        """m(κ) = ∫ ρ g φ(f·κ) (D,), or (..., D) for a batch of κ (..., D)."""
        k = np.asarray(kappa, np.float64)
        flat = k.reshape(-1, k.shape[-1])
        # blocks of κ so that the (block, nodes) intermediate stays ~64 MB
        block = max(1, int(8e6 // max(1, len(self.quadrature.weights))))
        with float64():
            z, w, fz, gz = self._nodes()
            fn = self._compiled("overlaps")
            parts = []
            for i in range(0, len(flat), block):
                chunk = flat[i : i + block]
                if len(chunk) < block and len(flat) > block:  # one compiled shape per model
                    chunk = np.concatenate([chunk, np.zeros((block - len(chunk), flat.shape[1]))])
                parts.append(np.asarray(fn(jnp.asarray(chunk), fz, gz, w)))
            out = np.concatenate(parts)[: len(flat)]
            return out.reshape(k.shape)

    def velocity(self, kappa, drive=0.0) -> np.ndarray:
        """dκ/dt = (−κ + m(κ) + I)/τ (1/s), batched over leading axes of κ."""
        k = np.asarray(kappa, np.float64)
        return (-k + self.overlaps(k) + np.asarray(drive, np.float64)) / self.tau

    def jacobian(self, kappa, drive=0.0) -> np.ndarray:
        """∂(dκ/dt)/∂κ (D, D) in 1/s (the constant drive does not enter)."""
        with float64():
            z, w, fz, gz = self._nodes()
            k = jnp.asarray(np.asarray(kappa, np.float64))
            J = self._compiled("jacobian")(k, fz, gz, w)
            return (np.asarray(J) - np.eye(self.rank)) / self.tau

    def spike_noise_diffusion(self, kappa) -> np.ndarray:
        """D(κ) = ∫ ρ g gᵀ φ(f·κ) (D, D), in s²·Hz: N × the covariance per unit time of the
        spike-noise term (1/N) Σ_j g_j (dZ_j − φ_j dt) of the Poisson twins."""
        with float64():
            z, w, fz, gz = self._nodes()
            k = jnp.asarray(np.asarray(kappa, np.float64))
            return np.asarray(self._compiled("diffusion")(k, fz, gz, w))

    # -- integration
    def integrate(
        self,
        kappa0,
        dt: float,
        steps: int,
        record_every: int = 1,
        drive=None,
        increments=None,
        scheme: str = "engine",
        refine: int = 4,
    ) -> LatentPath:
        """Integrate (L1) from κ(0) = ``kappa0`` (D,) for ``steps`` steps of ``dt`` s.

        ``drive``: None, an array (steps, D) of basis coefficients I(k dt), or a JAX function
        t ↦ (D,) (as a :class:`~lowdim.network.Drive` along ``Along(eye(D))`` gives the network).
        ``increments``: None or an array (steps, D) of noise increments ε_k (added as ε_k/τ at
        step k, e.g. σ C ΔB_k). ``scheme``: "engine" (the engine's exponential step) or "rk4"
        (``refine`` RK4 substeps per dt, drive held at I(k dt) over each step, noise added at the
        end of the step). Records κ at the end of each record interval (like the engine's
        "sample" probes): ``t`` = (r + 1) · record_every · dt.
        """
        if scheme not in ("engine", "rk4"):
            raise ConfigError(f"unknown scheme {scheme!r}; choose 'engine' or 'rk4'")
        steps, every = int(steps), int(record_every)
        if steps < 1 or every < 1 or steps % every:
            raise ConfigError("steps must be a positive multiple of record_every")
        D = self.rank
        u = _as_drive_fn(drive, D, steps)
        if increments is not None:
            inc = np.asarray(increments, np.float64)
            if inc.shape != (steps, D):
                raise ConfigError(f"increments must have shape (steps, D) = ({steps}, {D})")
        k0 = np.asarray(kappa0, np.float64).reshape(-1)
        if k0.shape != (D,):
            raise ConfigError(f"kappa0 must have D = {D} components, got {k0.shape}")
        tau, e = float(self.tau), math.exp(-dt / self.tau)
        key = (scheme, steps, every, float(dt), refine, callable(u), u is None, increments is None)
        with float64():
            z, w, fz, gz = self._nodes()
            m_of = self._overlaps_fn()
            fn = self._jitted.get(key)
            if fn is None:

                def u_at(uarr, k):
                    if u is None:
                        return jnp.zeros(D, jnp.float64)
                    if callable(u):
                        return jnp.asarray(u(k.astype(jnp.float64) * dt), jnp.float64)
                    return uarr[k]

                def step(kappa, k, uarr, incarr, fz, gz, w):
                    uk = u_at(uarr, k)
                    if scheme == "engine":
                        new = e * kappa + (dt / tau) * m_of(kappa, fz, gz, w) + (1.0 - e) * uk
                    else:
                        h = dt / refine

                        def vel(kk):
                            return (-kk + m_of(kk, fz, gz, w) + uk) / tau

                        def sub(kk, _):
                            a = vel(kk)
                            b = vel(kk + 0.5 * h * a)
                            c = vel(kk + 0.5 * h * b)
                            d = vel(kk + h * c)
                            return kk + (h / 6.0) * (a + 2 * b + 2 * c + d), None

                        new, _ = jax.lax.scan(sub, kappa, None, length=refine)
                    if incarr is not None:
                        new = new + incarr[k] / tau
                    return new

                def run(k0, uarr, incarr, fz, gz, w):
                    def body(kappa, k):
                        nk = step(kappa, k, uarr, incarr, fz, gz, w)
                        return nk, nk

                    _, path = jax.lax.scan(body, k0, jnp.arange(steps, dtype=jnp.int32))
                    return path[every - 1 :: every]

                fn = jax.jit(run)
                self._jitted[key] = fn
            uarr = None if (u is None or callable(u)) else jnp.asarray(u[:steps], jnp.float64)
            incarr = None if increments is None else jnp.asarray(inc, jnp.float64)
            path = np.asarray(fn(jnp.asarray(k0), uarr, incarr, fz, gz, w))
        t = dt * every * np.arange(1, steps // every + 1)
        return LatentPath(t=t, kappa=path)

    def finite_n_theory(
        self, kappa0, dt: float, steps: int, record_every: int = 1, drive=None
    ) -> dict:
        """First-order (1/√N) theory of the error of an N-neuron network against (L1), on the
        engine's grid: the covariances of κ_N − κ at the record times, times N.

        Around the N → ∞ path κ_k, with A_k = e I + (dt/τ) ∂m/∂κ(κ_k):

        - quenched sampling of z (rate and Poisson networks alike): κ_N − κ = (1/N) Σ_i S_k(z_i)
          with S_{k+1}(z) = A_k S_k(z) + (dt/τ) [g(z) φ(f(z)·κ_k) − m(κ_k)], S_0 = 0, so its
          covariance is (1/N) ∫ ρ S_k S_kᵀ (a mean of N i.i.d. zero-mean terms);
        - spike noise (Poisson twins): the step adds (1/τ)(1/N) Σ_j g(z_j)(n_j − φ_j dt), of
          covariance (dt/τ²)(1/N) ∫ ρ g gᵀ φ(f·κ_k), propagated by Σ_{k+1} = A_k Σ_k A_kᵀ + …

        Returns ``quenched`` and ``spike`` (T, D, D) (multiply by 1/N), the path (``t``,
        ``kappa``) and the predicted RMS relative errors of the relative L2 error used by the
        experiments, ``rel_quenched`` and ``rel_spike`` (multiply by 1/√N): the square root of
        Σ_t tr Cov_t / Σ_t ‖κ_t‖² (the self-term removal W_ii = 0 adds O(1/N), neglected).
        """
        steps, every = int(steps), int(record_every)
        full = self.integrate(kappa0, dt, steps, 1, drive=drive)
        K = full.kappa  # κ after each step; the step k starts from κ_{k-1}
        starts = np.concatenate([np.asarray(kappa0, np.float64)[None], K[:-1]], axis=0)
        tau, e = float(self.tau), math.exp(-dt / self.tau)
        D = self.rank
        with float64():
            _, w, fz, gz = self._nodes()
            m_of = self._overlaps_fn()
            jac = jax.jacfwd(m_of)

            @jax.jit
            def run(starts, fz, gz, w):
                def body(carry, kap):
                    S, Sig = carry
                    r = self.phi(fz @ kap)  # (Q,)
                    m = (w * r) @ gz
                    A = e * jnp.eye(D) + (dt / tau) * jac(kap, fz, gz, w)
                    S = S @ A.T + (dt / tau) * (gz * r[:, None] - m[None, :])
                    Dm = (gz * (w * r)[:, None]).T @ gz
                    Sig = A @ Sig @ A.T + (dt / tau**2) * Dm
                    Q = (S * w[:, None]).T @ S
                    return (S, Sig), (Q, Sig)

                S0 = jnp.zeros((fz.shape[0], D))
                _, (Qs, Sigs) = jax.lax.scan(body, (S0, jnp.zeros((D, D))), starts)
                return Qs, Sigs

            Qs, Sigs = run(jnp.asarray(starts), fz, gz, w)
            Qs, Sigs = np.asarray(Qs)[every - 1 :: every], np.asarray(Sigs)[every - 1 :: every]
        kap = K[every - 1 :: every]
        norm = float(np.sum(kap**2))
        return {
            "t": full.t[every - 1 :: every],
            "kappa": kap,
            "quenched": Qs,
            "spike": Sigs,
            "rel_quenched": math.sqrt(float(np.trace(Qs, axis1=1, axis2=2).sum()) / norm),
            "rel_spike": math.sqrt(float(np.trace(Sigs, axis1=1, axis2=2).sum()) / norm),
        }

    # -- fixed points and flow (D = 2 phase portraits)
    def fixed_points(self, starts, drive=0.0, tol: float = 1e-10) -> list[dict]:
        """Distinct roots of −κ + m(κ) + I = 0 found from each start (S, D), with the
        eigenvalues of the Jacobian (1/s) and a label: 'stable', 'saddle', 'unstable'."""
        from scipy.optimize import root

        found = []
        drive = np.asarray(drive, np.float64)
        for s in np.atleast_2d(np.asarray(starts, np.float64)):
            sol = root(
                lambda k: -k + self.overlaps(k) + drive,
                s,
                jac=lambda k: self.jacobian(k, drive) * self.tau,
                tol=tol,
            )
            k = sol.x  # accepted on its residual (hybr may stop "not making progress" at a root)
            if not np.all(np.isfinite(k)) or np.max(np.abs(-k + self.overlaps(k) + drive)) > 1e-8:
                continue
            if any(np.max(np.abs(k - f["kappa"])) < 1e-6 for f in found):
                continue
            ev = np.linalg.eigvals(self.jacobian(k, drive))
            found.append({"kappa": k, "eigenvalues": ev, "stability": stability_of(ev)})
        return found

    def flow(self, lim1, lim2, n: int = 25, drive=0.0):
        """(K1, K2, V1, V2): κ on an n × n grid over ``lim1`` × ``lim2`` and dκ/dt (1/s)."""
        if self.rank != 2:
            raise ConfigError(f"flow fields are drawn for D = 2 (this model has D = {self.rank})")
        k1 = np.linspace(*lim1, n)
        k2 = np.linspace(*lim2, n)
        K1, K2 = np.meshgrid(k1, k2)
        V = self.velocity(np.stack([K1, K2], axis=-1), drive)
        return K1, K2, V[..., 0], V[..., 1]

    # -- the N-neuron network
    def sampler(self, seed: int = 0) -> RowSampler:
        """Seeded rows z_i ~ ρ, F_i = f(z_i), G_i = g(z_i) (:class:`~lowdim.network.RowSampler`)."""
        return RowSampler(
            rank=self.rank, draw=self.density, f=self.f, g=self.g, seed=int(seed), name=self.name
        )

    def network(
        self,
        neurons: int,
        kinds,
        seed: int = 0,
        kappa0=None,
        drive=None,
        dtype: str = "float32",
        loadings: str = "sampler",
    ) -> tuple[Network, np.ndarray]:
        """The N-neuron network of this model and its loadings F (N, D) in float64.

        ``kinds``: e.g. ``(Rate(φ), Poisson(φ))`` (a paired run). ``kappa0``: initial state
        x0 = F κ0 (None: 0). ``drive``: basis coefficients (array (steps, D) or a JAX function
        of t), applied as ``Drive(drive, Along(eye(D)))``, i.e. I_i = Σ_μ f_μ(z_i) I_μ(t).
        ``loadings``: "sampler" — the seeded :meth:`sampler` (stored by default;
        ``lowdim.Layout(loadings="procedural")`` regenerates its rows every step, O(N) memory) —
        or "arrays": the same rows materialised once and passed as F and G (array leaves: runs
        that differ only in the seed reuse one compiled program)."""
        n = int(neurons)
        if n < 2:
            raise ConfigError(f"neurons must be ≥ 2, got {neurons!r}")
        if loadings not in ("sampler", "arrays"):
            raise ConfigError(f"loadings must be 'sampler' or 'arrays', got {loadings!r}")
        samp = self.sampler(seed)
        Fj, Gj = samp.materialize(n, jnp.float32)
        F = np.asarray(Fj, np.float64)
        inputs = ()
        if drive is not None:
            u = drive if callable(drive) else np.asarray(drive, np.float32)
            inputs = (Drive(u, Along(np.eye(self.rank))),)
        x0 = None if kappa0 is None else (F @ np.asarray(kappa0, np.float64)).astype(np.float32)
        common = dict(
            neurons=n,
            scale=1.0 / n,
            kinds=tuple(kinds),
            tau=self.tau,
            inputs=inputs,
            x0=x0,
            dtype=dtype,
        )
        if loadings == "sampler":
            net = Network(sampler=samp, **common)
        else:
            net = Network(F=Fj, G=Gj, **common)
        return net, F


# ----------------------------------------------------------------------------- helpers
def sample_drive(fn, dt: float, steps: int) -> np.ndarray:
    """fn(k dt) for k = 0 … steps − 1 as a float64 array (steps, D): a drive given as a JAX
    function turned into the array form (runs with the same array shapes share one compiled
    program; the engine and :meth:`LatentModel.integrate` read row k at step k)."""
    with float64():
        t = jnp.arange(int(steps), dtype=jnp.float64) * float(dt)
        return np.asarray(jax.vmap(lambda tt: jnp.asarray(fn(tt), jnp.float64))(t))


def stability_of(eigenvalues, rtol: float = 1e-6) -> str:
    """'stable' (all Re λ < 0), 'unstable' (all > 0), 'saddle' (both signs), or 'neutral'
    (Re λ ≤ 0 with some Re λ = 0 within ``rtol`` · max |λ|: a continuous attractor such as the
    ring's rotation mode)."""
    re = np.real(np.asarray(eigenvalues))
    tol = rtol * max(1.0, float(np.max(np.abs(eigenvalues))))
    zero = np.abs(re) <= tol
    if np.all(re < -tol):
        return "stable"
    if np.all(re > tol):
        return "unstable"
    if np.all(re[~zero] < 0):
        return "neutral"
    return "saddle"


def relative_error(a, b, norm_of=None) -> float:
    """‖a − b‖ / ‖b‖ over all entries (e.g. κ_N(t) against κ(t), time × components); with
    ``norm_of`` the denominator is ‖norm_of‖ instead."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    den = np.linalg.norm(b if norm_of is None else np.asarray(norm_of, np.float64))
    return float(np.linalg.norm(a - b) / den)


def power_law_fit(x, y) -> dict:
    """OLS of log y on log x over all points (all seeds): slope with a 95 % t-interval,
    intercept, and the fit's residual sd (seed-to-seed scatter widens the interval)."""
    from scipy import stats

    lx = np.log(np.asarray(x, np.float64))
    ly = np.log(np.asarray(y, np.float64))
    n = lx.size
    if n < 3 or np.ptp(lx) == 0:
        return {"slope": math.nan, "ci": [math.nan, math.nan], "n": int(n)}
    X = np.stack([np.ones_like(lx), lx], axis=1)
    coef, *_ = np.linalg.lstsq(X, ly, rcond=None)
    resid = ly - X @ coef
    s2 = float(resid @ resid) / (n - 2)
    se = math.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1])
    h = float(stats.t.ppf(0.975, n - 2)) * se
    b = float(coef[1])
    return {
        "slope": b,
        "ci": [b - h, b + h],
        "stderr": se,
        "intercept": float(coef[0]),
        "residual_sd": math.sqrt(s2),
        "n": int(n),
    }


# ----------------------------------------------------------------------------- an example
@dataclass(frozen=True)
class _Linear:
    """z ↦ z Cᵀ · factor (C: (D, d) as a tuple of rows)."""

    C: tuple
    factor: float = 1.0

    def __call__(self, z):
        C = jnp.asarray(np.asarray(self.C, np.float64), z.dtype)
        return self.factor * (z @ C.T)


def gaussian_rank2(J=((2.0, 0.0), (0.0, 1.5)), rmax: float = 100.0, tau: float = 0.01, order=None):
    """A D = 2 example: z ~ N(0, I₂), f(z) = z, g(z) = (2/r_max) J z, φ(x) = r_max (1 + tanh x)/2.

    By Stein's lemma m(κ) = J κ E[1 − tanh²(κ·z)] (the constant part r_max/2 of φ integrates
    to zero against g), so τ dκ/dt = −κ + J κ G(‖κ‖), G(r) = E[sech²(r ζ)], ζ ~ N(0, 1): for
    J = diag(j₁, j₂) with j₁ > j₂ > 1, two stable fixed points on the κ₁ axis (G = 1/j₁), two
    saddles on the κ₂ axis (G = 1/j₂) and an unstable origin; a rotation in J (J = ρ R(θ),
    ρ cos θ > 1) gives a limit cycle instead. g carries seconds (2/r_max), φ Hz.
    """
    from ..nonlinearity import Sigmoid

    J = tuple(tuple(float(v) for v in row) for row in J)
    phi = Sigmoid(b=0.0, beta=2.0, rmax=float(rmax))  # r_max (1 + tanh x)/2
    ident = tuple(tuple(1.0 if i == j else 0.0 for j in range(2)) for i in range(2))
    return LatentModel(
        f=_Linear(ident),
        g=_Linear(J, 2.0 / rmax),
        phi=phi,
        density=GaussianDensity(2),
        tau=tau,
        order=order,
        name="gaussian-rank2",
    )
