"""The neural-field limit of the paper's network for a fixed number of patterns p (SM Sec. II).

Neuron i sits at ξ_i ∈ R^p (ξ_i ~ N(0, I_p)); as N → ∞ with p fixed, the potentials of the "in"
and "rec" neurons become two fields on R^p with the Gaussian measure Dz (SM Sec. II):

    τ ∂u^in/∂t  = −u^in  + Σ_P f_P ∫ Dz w(y, z) φ(u^P(t, z)) + (σ/√p) Σ_μ y_μ η_μ(t)     (S·a)
    τ ∂u^rec/∂t = −u^rec + Σ_P f_P ∫ Dz w(y, z) φ(u^P(t, z))                             (S·b)

    w(y, z) = (1/c) Σ_μ y_μ (φ(z_μ) − a)                                                  (S10)

with P ∈ {in, rec}, f_P the fraction of neurons in P (the SM's ½, ½), η_μ = dB_μ/dt the
input's white noises. Two misprints of the SM are corrected here: (S·b) reads −u^in on its
right-hand side in the SM (it must be −u^rec: the rec neurons' own leak), and the Gaussian
measure is written e^{−‖z‖²} without the 1/2 of the standard normal.

**Reduction.** The recurrent term is y · m(t) with the overlaps

    m_μ(t) = (1/c) Σ_P f_P ∫ Dz (φ(z_μ) − a) φ(u^P(t, z)),

so from u(0, ·) = 0 (the engine's default initial state) the fields stay linear in y,
u^P(t, y) = y · K^P(t), and (S·a, S·b) are 2p stochastic equations driven by the same B:

    τ dK^in  = (−K^in  + m) dt + (σ/√p) dB,     τ dK^rec = (−K^rec + m) dt,
    m_μ = (1/c) Σ_P f_P E[(φ(z_μ) − a) φ(z·K^P)],  z ~ N(0, I_p).

The expectation is two-dimensional whatever p: with s = z·K = ‖K‖ x and
z_μ = u_μ x + √(1 − u_μ²) ζ (u = K/‖K‖, x and ζ independent standard normals); a uniform
trapezoid in x resolves the sharp φ(‖K‖ x) (‖K^in‖ reaches ~10 with the SI input), times
Gauss–Hermite in ζ.

**What the field predicts for a network of N neurons** with the same B(t): (i) the overlaps
m_μ(t) (the engine's :class:`~lowdim.probes.Overlaps`: m = (1/(cN)) Σ_j (φ(ξ_jμ) − a) φ(x_j));
(ii) the latent coordinates K^P(t) = least-squares projection of the potentials of population
P on its rows of ξ; (iii) every neuron's potential, x_i(t) ≈ ξ_i · K^P(t) (i in P). The SNN
converges to the same fields (the spike noise averages out in m like 1/√N).

:meth:`PaperField.integrate` advances the K equations with the engine's step; the Brownian
increments are the engine's own draws (:func:`brownian_increments`). :meth:`PaperField.nystrom`
solves the two fields themselves on a tensor Gauss–Hermite grid in y (p ≤ 2; any initial field),
the direct quadrature of (S·a, S·b).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..solve import float64
from .latent import Quadrature

__all__ = ["PaperField", "brownian_increments", "population_basis"]


def brownian_increments(cfg, steps: int | None = None) -> np.ndarray:
    """ΔB (steps, p) of the paper's input (Eq. 9) for the run ``cfg`` (a RunConfig), in the
    time unit of B: the engine's own draws (``lowdim.solve``: the input stream
    fold_in(PRNGKey(input_seed or seed), 2), step k draws normal(fold_in(stream, k), (p,))
    in the run's dtype, scaled by √(dt · time_unit))."""
    cfg = cfg.validated()
    steps = cfg.n_steps if steps is None else int(steps)
    seed = cfg.seed if cfg.input_seed is None else cfg.input_seed
    stream = jax.random.fold_in(jax.random.PRNGKey(seed), 2)
    dtype = jnp.float64 if cfg.dtype == "float64" else jnp.float32
    with float64() if cfg.dtype == "float64" else _null():
        draw = jax.jit(
            jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(stream, k), (cfg.p,), dtype))
        )
        z = np.asarray(draw(jnp.arange(steps, dtype=jnp.int32)), np.float64)
    return z * math.sqrt(cfg.dt * cfg.time_unit_seconds)


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def population_basis(xi, mask) -> np.ndarray:
    """The least-squares projection basis (N, p) of one population: ξ_P (ξ_Pᵀ ξ_P)⁻¹ on its
    rows, zero elsewhere, so that Bᵀ x = argmin_K Σ_{i∈P} (x_i − ξ_i·K)²."""
    xi = np.asarray(xi, np.float64)
    m = np.asarray(mask, bool)
    B = np.zeros_like(xi)
    XP = xi[m]
    B[m] = XP @ np.linalg.inv(XP.T @ XP)
    return B


@dataclass(frozen=True, eq=False)
class PaperField:
    """The field limit of the paper's network (module docstring) for p patterns.

    ``phi``: the paper's transfer (a lowdim Transfer with ``a``, ``c``); ``tau`` (s);
    ``input_fraction`` f_in (the rest is rec); ``sigma``; ``time_unit`` of B (s);
    ``points``, ``order``: nodes of the 2-D rule for m (:meth:`_m_fn`).
    """

    p: int
    phi: object
    tau: float = 0.01
    input_fraction: float = 0.5
    sigma: float = 0.5
    time_unit: float = 1.0
    order: int = 64
    points: int = 481

    @classmethod
    def of(cls, cfg, order: int = 64, points: int = 481) -> PaperField:
        """The field limit of the run ``cfg`` (a RunConfig)."""
        cfg = cfg.validated()
        if cfg.topology != "recurrent" or cfg.input != "white_noise" or cfg.membrane_noise:
            raise ConfigError(
                "the field limit here is for the recurrent network with the white-noise input "
                "(topology = 'recurrent', input = 'white_noise', no membrane noise)"
            )
        return cls(
            p=cfg.p,
            phi=cfg.phi(),
            tau=cfg.tau,
            input_fraction=cfg.n_in / cfg.neurons,
            sigma=cfg.sigma,
            time_unit=cfg.time_unit_seconds,
            order=order,
            points=points,
        )

    @cached_property
    def _rule(self):
        """(x, wx): trapezoid nodes on [−L, L] with standard-normal weights (``points``), and
        (ζ, wζ): Gauss–Hermite (``order``)."""
        L = 8.0
        x = np.linspace(-L, L, self.points)
        wx = np.exp(-0.5 * x * x)
        wx = wx / wx.sum()
        zeta, wz = np.polynomial.hermite_e.hermegauss(self.order)
        return x, wx, zeta, wz / wz.sum()

    def _m_fn(self):
        """m(K_in, K_rec) (p,) for one pair (p,), (p,) (JAX, float64).

        E[(φ(z_μ) − a) φ(z·K)] with s = z·K = ‖K‖ x, z_μ = u_μ x + √(1 − u_μ²) ζ
        (u = K/‖K‖; x, ζ independent standard normals): a uniform trapezoid in x (the sharp
        φ(‖K‖ x) is resolved: spacing 16/points, exponentially accurate for the analytic
        integrand) times Gauss–Hermite in ζ."""
        xn, wxn, zn, wzn = self._rule
        phi, a, c = self.phi, float(self.phi.a), float(self.phi.c)
        f_in = float(self.input_fraction)
        x = jnp.asarray(xn)[:, None]
        zeta = jnp.asarray(zn)[None, :]
        wx = jnp.asarray(wxn)
        wz = jnp.asarray(wzn)

        def one(K):
            norm = jnp.sqrt(jnp.sum(K * K))
            u = K / jnp.maximum(norm, 1e-300)
            outer = phi(norm * jnp.asarray(xn)) * wx  # (X,)

            def comp(um):
                perp = jnp.sqrt(jnp.maximum(1.0 - um * um, 0.0))
                g = (phi(um * x + perp * zeta) - a) @ wz  # (X,): E_ζ[φ(z_μ) − a | x]
                return jnp.sum(outer * g)

            return jax.vmap(comp)(u) / c

        def m(Kin, Krec):
            return f_in * one(Kin) + (1.0 - f_in) * one(Krec)

        return m

    def overlaps(self, K_in, K_rec) -> np.ndarray:
        """m (p,) of the fields u^P = y·K^P (float64)."""
        with float64():
            m = jax.jit(self._m_fn())
            return np.asarray(m(jnp.asarray(K_in, jnp.float64), jnp.asarray(K_rec, jnp.float64)))

    def integrate(self, increments, dt: float, record_every: int = 1) -> dict:
        """The K equations on the engine's grid from K = 0 with the Brownian increments
        ``increments`` (steps, p) (:func:`brownian_increments`):

            K^in  ← e K^in  + (dt/τ) m + (σ/(τ√p)) ΔB_k,   K^rec ← e K^rec + (dt/τ) m,

        m evaluated at the start of the step (as the engine does). Returns ``t`` (T,) (end of
        each record interval), ``K_in``, ``K_rec`` (T, p) at those times, ``m`` (T, p) averaged
        over each record interval (the engine's Overlaps probe in "mean" mode) and
        ``m_sample`` (T, p) at the start of the interval's last step."""
        inc = np.asarray(increments, np.float64)
        steps, p = inc.shape
        if p != self.p:
            raise ConfigError(f"increments must have p = {self.p} columns, got {p}")
        every = int(record_every)
        if steps % every:
            raise ConfigError("the number of steps must be a multiple of record_every")
        tau, e = float(self.tau), math.exp(-dt / self.tau)
        amp = self.sigma / (tau * math.sqrt(self.p))
        with float64():
            m_fn = self._m_fn()

            @jax.jit
            def run(inc):
                def body(carry, dB):
                    Kin, Krec = carry
                    m = m_fn(Kin, Krec)
                    Kin_n = e * Kin + (dt / tau) * m + amp * dB
                    Krec_n = e * Krec + (dt / tau) * m
                    return (Kin_n, Krec_n), (Kin_n, Krec_n, m)

                z = jnp.zeros(self.p, jnp.float64)
                _, (Ki, Kr, M) = jax.lax.scan(body, (z, z), inc)
                return Ki, Kr, M

            Ki, Kr, M = (np.asarray(v) for v in run(jnp.asarray(inc)))
        T = steps // every
        return {
            "t": dt * every * np.arange(1, T + 1),
            "K_in": Ki[every - 1 :: every],
            "K_rec": Kr[every - 1 :: every],
            "m": M.reshape(T, every, p).mean(axis=1),
            "m_sample": M[every - 1 :: every],
        }

    def nystrom(self, increments, dt: float, record_every: int = 1, points: int = 161, u0=None):
        """The fields themselves on a grid y_q ∈ R^p (p ≤ 2): the tensor trapezoid rule on
        [−8, 8]^p with Gaussian weights, ``points`` per axis
        (:meth:`~lowdim.models.latent.Quadrature.gaussian_trapezoid`); (S·a, S·b) with the
        integral as the quadrature sum (Nyström), the engine's step, u^in(0) = u^rec(0) =
        ``u0`` (a function of y (Q, p) → (Q,); None: 0).

        Returns ``y`` (Q, p), ``weights`` (Q,), ``u_in``, ``u_rec`` (T, Q) and their
        projections ``K_in``, ``K_rec`` = ∫ Dy y u(y) / ∫ Dy y_μ² (T, p) (the K equations'
        when u0 = 0; the denominator is 1 up to the rule's error)."""
        if self.p > 2:
            raise ConfigError(f"the Nyström field solver is for p ≤ 2 (got p = {self.p})")
        q = Quadrature.gaussian_trapezoid(self.p, points)
        y, wq = q.nodes, q.weights
        inc = np.asarray(increments, np.float64)
        steps = inc.shape[0]
        every = int(record_every)
        tau, e = float(self.tau), math.exp(-dt / self.tau)
        amp = self.sigma / (tau * math.sqrt(self.p))
        a, c = float(self.phi.a), float(self.phi.c)
        f_in = float(self.input_fraction)
        u_init = np.zeros(len(wq)) if u0 is None else np.asarray(u0(y), np.float64)
        with float64():
            Y = jnp.asarray(y)
            W = jnp.asarray(wq)
            G = (W[:, None] * (self.phi(Y) - a)) / c  # (Q, p): weights · (φ(z_μ) − a)/c

            @jax.jit
            def run(inc, u_init):
                def body(carry, dB):
                    ui, ur = carry
                    m = f_in * (self.phi(ui) @ G) + (1.0 - f_in) * (self.phi(ur) @ G)
                    rec = Y @ m  # ∫ Dz w(y, z) Σ_P f_P φ(u^P(z))
                    ui_n = e * ui + (dt / tau) * rec + amp * (Y @ dB)
                    ur_n = e * ur + (dt / tau) * rec
                    return (ui_n, ur_n), (ui_n, ur_n)

                _, (Ui, Ur) = jax.lax.scan(body, (u_init, u_init), inc)
                return Ui, Ur

            Ui, Ur = (np.asarray(v) for v in run(jnp.asarray(inc), jnp.asarray(u_init)))
        Ui, Ur = Ui[every - 1 :: every], Ur[every - 1 :: every]
        # ∫ Dy y u(y) / ∫ Dy y yᵀ (= K exactly for u = y·K, whatever the rule's moments)
        proj = (y * wq[:, None]) @ np.linalg.inv((y * wq[:, None]).T @ y)
        return {
            "t": dt * every * np.arange(1, steps // every + 1),
            "y": y,
            "weights": wq,
            "u_in": Ui,
            "u_rec": Ur,
            "K_in": Ui @ proj,
            "K_rec": Ur @ proj,
        }
