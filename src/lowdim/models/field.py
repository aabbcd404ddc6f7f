"""Field models on a ring: the Wilson–Cowan field, its bump attractor, and the same ring as a
rank-(2K+1) low-rank network (lecture, "Field equation (continuum model)"; MODEL.md §4).

**The field.** Position z ∈ [0, 2π) on a ring (e.g. head direction), potential h(z, t):

    τ ∂h/∂t = −h + R I_ext(z, t) + ∫₀^{2π} (dz′/2π) w(z − z′) F(h(z′, t))              (W1)

with a distance-dependent kernel w (s) and transfer function F (Hz). The measure dz′/2π is the
density ρ of neurons on the ring, so that a network of N neurons at z_i ~ U[0, 2π) with
W_ij = (1/N) w(z_i − z_j) has (W1) as its N → ∞ limit; the lecture's plain ∫ dz′ corresponds to
the kernel w/2π. Units: those of the engine (``lowdim.network``), τ in s, F in Hz, w in s.

**Kernels.** The Mexican hat is a difference of von Mises bumps (:class:`MexicanHat`), short-range
excitation minus long-range inhibition. Every even kernel is a cosine series
w(z) = ŵ₀ + Σ_{k≥1} ŵ_k cos kz, and cos k(z − z′) = cos kz cos kz′ + sin kz sin kz′, so keeping
the modes k ≤ K is a rank-(2K + 1) factorisation W_ij = (1/N) Σ_μ f_μ(z_i) g_μ(z_j) with
f = (1, cos z, sin z, …, cos Kz, sin Kz) and g = (ŵ₀, ŵ₁ cos z, ŵ₁ sin z, …). The rank-3 ring
(K = 1, w = w₀ + w₁ cos(z − z′)) is the Mexican hat cut to its first two Fourier modes
(:func:`truncate`); for the von Mises hat the modes are Bessel functions,
ŵ₀ = a_e I₀(k_e) e^{−k_e} − a_i I₀(k_i) e^{−k_i}, ŵ_k = 2 [a_e I_k(k_e) e^{−k_e} − a_i I_k(k_i) e^{−k_i}].

**Linear stability.** With the dz′/2π measure the convolution multiplies Fourier mode 0 by ŵ₀
and mode k ≥ 1 by ŵ_k/2: around a uniform state h₀, mode k grows at (F′(h₀) λ_k − 1)/τ with
λ₀ = ŵ₀, λ_k = ŵ_k/2 (the tests check the linear field against this closed form).

**The solver** (:class:`RingField`) discretises z on M equally spaced points; the convolution is
the trapezoid rule, (1/M) Σ_j w(z_i − z_j) F(h_j), computed as a circular convolution with the FFT
(O(M log M)); :meth:`RingField.recurrent_direct` is the same sum as a dense matrix (tests). For
smooth periodic integrands the trapezoid rule converges faster than any power of 1/M: halving
the spacing changes the solution by amounts that shrink to rounding (measured in the ring
lecture, ``lowdim lecture ring``). Time stepping: classical RK4 (the reference, error O(dt⁴)) or the
engine's exponential step (``scheme="engine"``: h ← e h + (dt/τ) w∗F(h) + (1 − e) R I(k dt),
e = exp(−dt/τ)), so that a network and its field on the same grid differ only by finite-N terms.

**Drives.** :class:`Cue` (a cosine-shaped input A cos(z − ψ) switched on over [start, stop)) and
:class:`MovingCue` (ψ(t) = ψ₀ + ω (t − start): the head-direction demo) are in the span of
(1, cos z, sin z): their :meth:`coefficients` are the network's drive along those loadings.

**Uniform states and bump onset.** A uniform h(z) = h₀ is a fixed point when
h₀ = ŵ₀ F(h₀) + R I₀ (W2) (:func:`homogeneous_states`, with the growth rates above). For the
rank-3 ring w = ŵ₀ + J₁ cos(z − z′) the stationary bump h = κ₀ + κ₁ cos z solves
κ₀ = ŵ₀ ⟨F(κ₀ + κ₁ cos ζ)⟩ + R I₀, κ₁ = J₁ ⟨cos ζ F(κ₀ + κ₁ cos ζ)⟩ (W3); it exists for
J₁ ≥ J₁* (:func:`bump_onset`: a saddle-node, found by :func:`arclength` continuation of (W3)
in κ₁), while the uniform state stays stable up to J₁ = 2/F′(h₀): between the two, both are
stable (the lecture's bump memory). :func:`continuation` is the natural-parameter version
(the travelling bump continued in the cue's speed).

**Bump measures** (:func:`bump_position`, :func:`bump_width`): the position is the argument of
the first Fourier mode of the activity F(h); the width is the full width at half maximum of
F(h) − min F(h), in radians: the measure of the set above half height of the trigonometric
interpolant of the samples, its crossings located by root finding (spectrally accurate in M,
not limited by a grid spacing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import jax.numpy as jnp
import numpy as np
from scipy import special

from ..errors import ConfigError
from .latent import LatentModel, RingDensity

__all__ = [
    "MexicanHat",
    "CosineKernel",
    "truncate",
    "RingField",
    "FieldPath",
    "Cue",
    "MovingCue",
    "Drives",
    "ring_latent",
    "ring_loadings",
    "network_drive",
    "bump_position",
    "bump_amplitude",
    "bump_width",
    "continuation",
    "homogeneous_states",
    "UniformState",
    "arclength",
    "bump_onset",
    "BumpOnset",
    "wrap",
]

#: boundaries of a cue within this many seconds of a grid time count as on the grid (t = k dt
#: is computed in float32 by the engine)
_EPS_T = 1e-6


def wrap(angle):
    """Angle(s) wrapped to (−π, π]."""
    a = np.asarray(angle, np.float64)
    return np.angle(np.exp(1j * a))


# ----------------------------------------------------------------------------- kernels
@dataclass(frozen=True)
class MexicanHat:
    """w(z) = a_e exp(k_e (cos z − 1)) − a_i exp(k_i (cos z − 1)) (s): excitation of width
    ~1/√k_e minus broader inhibition (k_i < k_e). Periodic by construction."""

    exc: float = 0.579
    k_exc: float = 3.0
    inh: float = 0.249
    k_inh: float = 0.5

    def __call__(self, z):
        z = np.asarray(z, np.float64)
        c = np.cos(z) - 1.0
        return self.exc * np.exp(self.k_exc * c) - self.inh * np.exp(self.k_inh * c)

    def mode(self, k: int) -> float:
        """ŵ_k of w(z) = ŵ₀ + Σ ŵ_k cos kz (exact, via exponentially scaled Bessel functions)."""
        v = self.exc * special.ive(k, self.k_exc) - self.inh * special.ive(k, self.k_inh)
        return float(v if k == 0 else 2.0 * v)

    @classmethod
    def with_modes(cls, w0: float, w1: float, k_exc: float = 3.0, k_inh: float = 0.5):
        """The hat with concentrations k_e, k_i whose first two modes are ŵ₀ = w0, ŵ₁ = w1."""
        A = np.array(
            [
                [special.ive(0, k_exc), -special.ive(0, k_inh)],
                [2 * special.ive(1, k_exc), -2 * special.ive(1, k_inh)],
            ]
        )
        a_e, a_i = np.linalg.solve(A, [w0, w1])
        if a_e <= 0 or a_i <= 0:
            raise ConfigError(
                f"no Mexican hat with k_e = {k_exc}, k_i = {k_inh} has modes ({w0}, {w1}): "
                "choose other concentrations"
            )
        return cls(float(a_e), float(k_exc), float(a_i), float(k_inh))

    def describe(self) -> str:
        return (
            f"{self.exc:.4g}·exp({self.k_exc:g}(cos z − 1)) − {self.inh:.4g}·exp({self.k_inh:g}"
            "(cos z − 1)) s"
        )


@dataclass(frozen=True)
class CosineKernel:
    """w(z) = ŵ₀ + Σ_{k=1}^{K} ŵ_k cos kz (s), ``coefficients`` = (ŵ₀, …, ŵ_K): a
    rank-(2K + 1) connectivity."""

    coefficients: tuple = (-0.02, 0.15)

    def __call__(self, z):
        z = np.asarray(z, np.float64)
        out = np.full(z.shape, float(self.coefficients[0]))
        for k, c in enumerate(self.coefficients[1:], start=1):
            out = out + c * np.cos(k * z)
        return out

    def mode(self, k: int) -> float:
        return float(self.coefficients[k]) if k < len(self.coefficients) else 0.0

    @property
    def modes(self) -> int:
        return len(self.coefficients) - 1

    def describe(self) -> str:
        terms = [f"{self.coefficients[0]:.4g}"] + [
            f"{c:+.4g} cos {k}z" if k > 1 else f"{c:+.4g} cos z"
            for k, c in enumerate(self.coefficients[1:], start=1)
        ]
        return " ".join(terms) + " s"


def truncate(kernel, modes: int = 1) -> CosineKernel:
    """The kernel cut to its Fourier modes k ≤ ``modes`` (rank 2·modes + 1)."""
    return CosineKernel(tuple(kernel.mode(k) for k in range(int(modes) + 1)))


# ----------------------------------------------------------------------------- drives
@dataclass(frozen=True)
class Cue:
    """I(z, t) = offset + amplitude · cos(z − angle) for start ≤ t < stop (else 0).

    Boundaries within 1 µs of a grid time count as on it (the engine computes t = k dt in
    float32)."""

    amplitude: float
    angle: float = 0.0
    start: float = 0.0
    stop: float = math.inf
    offset: float = 0.0

    def _on(self, t, xp):
        return ((t >= self.start - _EPS_T) & (t < self.stop - _EPS_T)) * 1.0

    def angle_at(self, t, xp=np):
        return self.angle + 0.0 * t

    def coefficients(self, t, xp=np):
        """(c₀, c_cos, c_sin) with I(z, t) = c₀ + c_cos cos z + c_sin sin z."""
        on = self._on(t, xp)
        a = self.angle_at(t, xp)
        A = self.amplitude * on
        return xp.stack([self.offset * on, A * xp.cos(a), A * xp.sin(a)])

    def __call__(self, t, z):
        c = self.coefficients(t)
        return c[0] + c[1] * np.cos(z) + c[2] * np.sin(z)


@dataclass(frozen=True)
class MovingCue(Cue):
    """A cue whose angle turns at ``speed`` rad/s: ψ(t) = angle + speed (t − start)."""

    speed: float = 0.0

    def angle_at(self, t, xp=np):
        return self.angle + self.speed * (t - self.start)


@dataclass(frozen=True)
class Drives:
    """The sum of several cues (each a :class:`Cue`)."""

    cues: tuple

    def coefficients(self, t, xp=np):
        out = self.cues[0].coefficients(t, xp)
        for c in self.cues[1:]:
            out = out + c.coefficients(t, xp)
        return out

    def __call__(self, t, z):
        c = self.coefficients(t)
        return c[0] + c[1] * np.cos(z) + c[2] * np.sin(z)


@dataclass(frozen=True)
class _JaxCoefficients:
    """t ↦ the drive's coefficients along the first ``width`` loadings (JAX, for lowdim.Drive)."""

    drive: object
    width: int

    def __call__(self, t):
        c = self.drive.coefficients(t, jnp)
        if self.width > 3:
            c = jnp.concatenate([c, jnp.zeros(self.width - 3, c.dtype)])
        return c


# ----------------------------------------------------------------------------- the field
@dataclass(frozen=True)
class FieldPath:
    """A field trajectory: ``t`` (T,) s, ``z`` (M,) rad, ``h`` (T, M)."""

    t: np.ndarray
    z: np.ndarray
    h: np.ndarray


@dataclass(frozen=True, eq=False)
class RingField:
    """The Wilson–Cowan field (W1) on M grid points (module docstring).

    ``kernel``: w(z) in s (callable on NumPy angles); ``phi``: a lowdim transfer function (its
    float64 ``numpy`` method is used); ``tau`` (s), ``R`` (input gain), ``points`` = M.
    """

    kernel: object
    phi: object
    tau: float = 0.01
    points: int = 256
    R: float = 1.0

    def __post_init__(self):
        if not isinstance(self.points, int) or self.points < 4:
            raise ConfigError(f"points must be an integer ≥ 4, got {self.points!r}")
        if not self.tau > 0:
            raise ConfigError(f"tau must be > 0 s, got {self.tau!r}")

    @cached_property
    def z(self) -> np.ndarray:
        return 2.0 * math.pi * np.arange(self.points) / self.points

    @cached_property
    def _w_hat(self) -> np.ndarray:
        return np.fft.rfft(self.kernel(self.z)) / self.points

    def F(self, h):
        return self.phi.numpy(h)

    def recurrent(self, h) -> np.ndarray:
        """(1/M) Σ_j w(z_i − z_j) F(h_j) for h (..., M), by FFT."""
        return np.fft.irfft(self._w_hat * np.fft.rfft(self.F(h), axis=-1), n=self.points, axis=-1)

    def recurrent_direct(self, h) -> np.ndarray:
        """The same sum with the dense M × M matrix (O(M²); a check of the FFT path)."""
        W = self.kernel(self.z[:, None] - self.z[None, :]) / self.points
        return np.asarray(self.F(h)) @ W.T

    def rhs(self, h, t, drive=None) -> np.ndarray:
        """∂h/∂t (1/s) of (W1)."""
        v = -h + self.recurrent(h)
        if drive is not None:
            v = v + self.R * drive(t, self.z)
        return v / self.tau

    def solve(
        self,
        duration: float,
        dt: float,
        h0=None,
        drive=None,
        record_dt: float | None = None,
        scheme: str = "rk4",
    ) -> FieldPath:
        """Integrate (W1) from h0 (M,) (None: 0) for ``duration`` s with step ``dt``.

        ``drive``: a callable (t, z) ↦ I_ext (M,) (e.g. :class:`Cue`, :class:`MovingCue`).
        ``scheme``: "rk4" (the drive evaluated at the substep times) or "engine" (the
        engine's exponential step, the drive held at I(k dt) over step k). Records at the end of
        each record interval (t = (r + 1) · record_dt), like the engine's "sample" probes.
        """
        if scheme not in ("rk4", "engine"):
            raise ConfigError(f"unknown scheme {scheme!r}; choose 'rk4' or 'engine'")
        steps = int(round(duration / dt))
        every = 1 if record_dt is None else int(round(record_dt / dt))
        if steps < 1 or every < 1 or steps % every or abs(steps * dt - duration) > 1e-9:
            raise ConfigError(
                "duration must be a whole number of record intervals, each a whole number of dt"
            )
        h = np.zeros(self.points) if h0 is None else np.array(h0, np.float64)
        if h.shape != (self.points,):
            raise ConfigError(f"h0 must have shape ({self.points},), got {h.shape}")
        out = np.empty((steps // every, self.points))
        e = math.exp(-dt / self.tau)
        for k in range(steps):
            t = k * dt
            if scheme == "rk4":
                a = self.rhs(h, t, drive)
                b = self.rhs(h + 0.5 * dt * a, t + 0.5 * dt, drive)
                c = self.rhs(h + 0.5 * dt * b, t + 0.5 * dt, drive)
                d = self.rhs(h + dt * c, t + dt, drive)
                h = h + (dt / 6.0) * (a + 2 * b + 2 * c + d)
            else:
                new = e * h + (dt / self.tau) * self.recurrent(h)
                if drive is not None:
                    new = new + (1.0 - e) * self.R * drive(t, self.z)
                h = new
            if (k + 1) % every == 0:
                out[(k + 1) // every - 1] = h
        t_rec = dt * every * np.arange(1, steps // every + 1)
        return FieldPath(t=t_rec, z=self.z.copy(), h=out)

    # -- stationary and travelling bumps
    def _dF(self, h):
        """F′(h) by a central difference (step 1e-5; relative error ~1e-10)."""
        d = 1e-5
        return (self.F(h + d) - self.F(h - d)) / (2 * d)

    @cached_property
    def _W(self) -> np.ndarray:
        return self.kernel(self.z[:, None] - self.z[None, :]) / self.points

    @cached_property
    def _even_basis(self):
        """C (M, M/2 + 1): cos(k z_i), the even profiles; and its pseudo-inverse."""
        C = np.cos(np.outer(self.z, np.arange(self.points // 2 + 1)))
        return C, np.linalg.pinv(C)

    def _with_first_mode(self, j1: float):
        """(recurrent, dense W) of the kernel with its first Fourier mode ŵ₁ replaced by j1."""
        w_hat = self._w_hat.copy()
        w_hat[1] = 0.5 * j1
        add = (j1 - 2.0 * self._w_hat[1].real) / self.points
        W = self._W + add * np.cos(self.z[:, None] - self.z[None, :])

        def rec(h):
            return np.fft.irfft(w_hat * np.fft.rfft(self.F(h)), n=self.points)

        return rec, W

    def _even_root(self, h_guess, first_mode=None, extra=None):
        """Newton (hybr) for the even root of −H + w∗F(H) + extra = 0 near ``h_guess``, the
        kernel's first mode replaced by ``first_mode`` when given; returns (H, max |residual|)."""
        from scipy.optimize import root

        C, Cp = self._even_basis
        a0 = Cp @ np.asarray(h_guess, np.float64)
        rec, W = (
            (self.recurrent, self._W) if first_mode is None else self._with_first_mode(first_mode)
        )
        b = 0.0 if extra is None else np.asarray(extra, np.float64)

        def res(a):
            H = C @ a
            return Cp @ (-H + rec(H) + b)

        def jac(a):
            H = C @ a
            return Cp @ (-C + (W * self._dF(H)[None, :]) @ C)

        sol = root(res, a0, jac=jac, method="hybr", tol=1e-13)
        H = C @ sol.x
        if not np.all(np.isfinite(H)):
            return H, math.inf
        return H, float(np.max(np.abs(-H + rec(H) + b)))

    def stationary_bump(self, h_guess) -> np.ndarray:
        """The even stationary bump centred at z = 0: the root of −H + w∗F(H) = 0 among even
        H (cosine series; the rotation mode is excluded so Newton's matrix is regular).
        ``h_guess``: (M,) a bump centred near 0 (e.g. the end of a simulation, recentred)."""
        H, residual = self._even_root(h_guess)
        if residual > 1e-8:
            raise ConfigError("no stationary bump found near the guess; start from a bump")
        return H

    def travelling_bump(self, cue: MovingCue, h_guess) -> np.ndarray | None:
        """H(ζ) with h(z, t) = H(z − ψ(t)) for a cue moving at ω = ``cue.speed``: the root of
        −τ ω H′ = −H + w∗F(H) + R A cos ζ (spectral derivative), or None when Newton finds
        none near the guess (beyond the fastest speed the bump can follow)."""
        from scipy.optimize import root

        M = self.points
        k = np.fft.rfftfreq(M, d=1.0 / M)
        drive = self.R * cue.amplitude * np.cos(self.z) + self.R * cue.offset
        om = cue.speed
        # the spectral derivative as a matrix (Nyquist mode dropped, as irfft does)
        Dm = np.fft.irfft(1j * k[:, None] * np.fft.rfft(np.eye(M), axis=0), n=M, axis=0)

        def res(H):
            return self.tau * om * (Dm @ H) - H + self.recurrent(H) + drive

        def jac(H):
            return self.tau * om * Dm - np.eye(M) + self._W * self._dF(H)[None, :]

        sol = root(res, np.asarray(h_guess, np.float64), jac=jac, method="hybr", tol=1e-13)
        if not np.all(np.isfinite(sol.x)) or np.max(np.abs(res(sol.x))) > 1e-7:
            return None
        return sol.x


# ----------------------------------------------------------------------------- branches
def continuation(solve, guess, values) -> list:
    """Natural-parameter continuation: x_i = ``solve(p_i, x_{i−1})`` for the parameter values
    p_1, p_2, … in order, starting from x_0 = ``guess``; ``solve`` returns None where it finds
    no solution near its guess, and the branch stops there. Returns [(p_i, x_i), …] up to the
    last solution found (the ring lecture continues the travelling bump in the cue's speed
    this way). Folds are not passed: use :func:`arclength` there."""
    out, x = [], guess
    for p in values:
        x = solve(p, x)
        if x is None:
            break
        out.append((p, x))
    return out


@dataclass(frozen=True)
class UniformState:
    """A homogeneous fixed point of the field: potential ``h`` (same everywhere), its rate
    ``rate`` = F(h) (Hz), the growth rates ``growth`` (1/s) of Fourier modes k = 0 … M/2 of a
    perturbation, (F′(h) λ_k − 1)/τ with λ₀ = ŵ₀ and λ_k = ŵ_k/2, and ``stable`` (all < 0)."""

    h: float
    rate: float
    growth: np.ndarray
    stable: bool


def homogeneous_states(field: RingField, offset: float = 0.0, points: int = 20001) -> list:
    """Every homogeneous fixed point of the field (W1) with a uniform input I_ext = ``offset``:
    the roots h₀ of

        h₀ = ŵ₀ F(h₀) + R I₀                                                             (W2)

    (for h(z) = h₀ the convolution is ŵ₀ F(h₀), ŵ₀ the kernel's mean on the field's grid),
    as :class:`UniformState` sorted by h₀, with their linear stability (module docstring).

    F is bounded (0 ≤ F ≤ F_max = ``phi.max``), so every root lies in
    R I₀ + [min(0, ŵ₀ F_max), max(0, ŵ₀ F_max)]; that interval is scanned on ``points`` points
    and each sign change refined by Brent's method (roots closer than the scan's spacing, or
    a double root, can be missed). ŵ₀ ≤ 0 has exactly one root."""
    from scipy.optimize import brentq

    fmax = getattr(field.phi, "max", None)
    if fmax is None or not math.isfinite(float(fmax)):
        raise ConfigError("homogeneous_states needs a bounded transfer function (its .max, Hz)")
    w0 = float(field._w_hat[0].real)
    base = field.R * float(offset)
    lo, hi = base + min(0.0, w0 * fmax), base + max(0.0, w0 * fmax)
    pad = 1e-6 * (1.0 + abs(lo) + abs(hi))
    h = np.linspace(lo - pad, hi + pad, int(points))

    def g(x):
        return w0 * field.F(x) + base - x

    gv = g(h)
    roots = []
    for i in np.flatnonzero(np.sign(gv[:-1]) != np.sign(gv[1:])):
        if gv[i] == 0.0:
            roots.append(float(h[i]))
        elif gv[i + 1] != 0.0:
            roots.append(brentq(lambda x: float(g(x)), h[i], h[i + 1], xtol=1e-15, rtol=1e-15))
    lam = field._w_hat.real.copy()  # λ₀ = ŵ₀, λ_k = ŵ_k / 2 on the grid
    out = []
    for h0 in sorted(set(roots)):
        growth = (float(field._dF(np.array(h0))) * lam - 1.0) / field.tau
        out.append(UniformState(h0, float(field.F(np.array(h0))), growth, bool(growth.max() < 0)))
    return out


def arclength(residual, jacobian, x0, direction, step: float, max_step: float | None = None):
    """Pseudo-arclength continuation of the curve G(x) = 0, G: R^{n+1} → R^n (``residual``,
    with its n × (n + 1) ``jacobian``), from the solution ``x0``, leaving along the side of
    ``direction``. Yields the points x_1, x_2, … and their unit tangents: predictor
    x + s t (t spans the null space of G′), corrector Newton on [G(x); t·(x − x_pred)] = 0;
    the step s halves when Newton does not converge (the generator ends below 1e-6 · ``step``)
    and grows by 1.5 (up to ``max_step``) after fast convergence. Folds in any one coordinate
    are passed, unlike :func:`continuation`."""
    max_step = 10.0 * step if max_step is None else max_step
    x = np.asarray(x0, np.float64)
    t_prev = np.asarray(direction, np.float64)

    def tangent(x, ref):
        t = np.linalg.svd(jacobian(x))[2][-1]
        return t if t @ ref >= 0 else -t

    t = tangent(x, t_prev)
    s = float(step)
    while s >= 1e-6 * step:
        xp = x + s * t
        y, ok, its = xp.copy(), False, 0
        while its < 12 and np.all(np.isfinite(y)):
            its += 1
            r = np.concatenate([residual(y), [t @ (y - xp)]])
            if np.max(np.abs(r)) < 1e-11:
                ok = True
                break
            y = y - np.linalg.solve(np.vstack([jacobian(y), t]), r)
        if not ok:
            s *= 0.5
            continue
        t = tangent(y, t)
        x = y
        yield x, t
        if its <= 4:
            s = min(1.5 * s, max_step)


@dataclass(frozen=True)
class BumpOnset:
    """Where the stationary bump appears as the first-mode coupling ŵ₁ grows (:func:`bump_onset`).

    ``j1``: the smallest ŵ₁ (s) with a bump; ``kind``: "saddle-node" (the bump is born with a
    finite amplitude, a stable and an unstable branch) or "pitchfork" (it grows from the uniform
    state at ``j1_uniform``); ``profile``: the bump H (M,) at onset, centred at z = 0;
    ``drive``: its first-mode drive c = ŵ₁ ⟨cos ζ F(H)⟩; ``j1_uniform`` = 2/F′(h₀): the ŵ₁
    beyond which the uniform state ``uniform`` is unstable to the first mode."""

    j1: float
    kind: str
    profile: np.ndarray
    drive: float
    j1_uniform: float
    uniform: UniformState


def bump_onset(
    field: RingField, offset: float = 0.0, step: float = 0.05, max_drive: float = 100.0
) -> BumpOnset:
    """The coupling J₁ (the kernel's first Fourier mode ŵ₁, the others as in ``field``) at
    which the stationary bump of (W1) appears: for the rank-3 ring w = ŵ₀ + J₁ cos(z − z′) the
    saddle-node of the lecture's self-consistency equations, h(z) = κ₀ + κ₁ cos z with

        κ₀ = ŵ₀ ⟨F(κ₀ + κ₁ cos ζ)⟩ + R I₀,     κ₁ = J₁ ⟨cos ζ F(κ₀ + κ₁ cos ζ)⟩        (W3)

    (⟨·⟩ the mean over ζ ∈ [0, 2π), I₀ = ``offset``): the smallest J₁ with a root κ₁ > 0.
    Only ŵ₀ (and R, τ, F) of ``field`` enter; its kernel must have no modes k ≥ 2 (e.g.
    ``truncate(kernel, 1)``): with them the branch followed here runs into other patterns
    (for the demo's Mexican hat, a two-bump state with ⟨cos ζ F⟩ = 0) and an onset in ŵ₁
    alone is not defined.

    The bump branch is parametrised by its first-mode drive c = J₁ ⟨cos ζ F(H)⟩ instead of
    J₁: H is an even root of −H + w₋∗F(H) + c cos ζ + R I₀ = 0, w₋ the kernel without its
    first mode (for the rank-3 ring H = κ₀ + c cos ζ), and it is a bump of the kernel with
    J₁ = c / ⟨cos ζ F(H)⟩. The curve (H, c) is followed by :func:`arclength` from the lowest
    uniform state (c = 0, steps of ``step`` in units of h) until J₁ has passed its minimum
    (or c > ``max_drive``); the minimum, refined by Brent's method, is the onset. As c → 0,
    J₁ → 2/F′(h₀) (the uniform state's first-mode instability): a minimum there is a
    pitchfork, an interior one a saddle-node (bistability for J₁ between the two)."""
    from scipy.optimize import minimize_scalar

    if not step > 0 or not max_drive > step:
        raise ConfigError(f"need 0 < step < max_drive, got step={step!r}, max_drive={max_drive!r}")
    high = np.abs(field._w_hat.real[2:])
    if high.size and high.max() > 1e-12 * max(1e-300, np.abs(field._w_hat.real[:2]).max()):
        k = 2 + int(np.argmax(high))
        raise ConfigError(
            f"bump_onset needs the rank-3 ring ŵ₀ + J₁ cos z, but the kernel has a mode "
            f"ŵ_{k} = {2 * field._w_hat.real[k]:.3g}: use truncate(kernel, 1)"
        )
    u = homogeneous_states(field, offset)[0]
    j_lin = 2.0 / float(field._dF(np.array(u.h)))
    C, Cp = field._even_basis
    cosz = np.cos(field.z)
    g_c = Cp @ cosz
    base = field.R * float(offset)
    rec, W = field._with_first_mode(0.0)

    def residual(x):
        H = C @ x[:-1]
        return Cp @ (-H + rec(H) + x[-1] * cosz + base)

    def jacobian(x):
        H = C @ x[:-1]
        return np.column_stack([Cp @ (-C + (W * field._dF(H)[None, :]) @ C), g_c])

    def j_of(x):
        return x[-1] / float(np.mean(cosz * field.F(C @ x[:-1])))

    x0 = np.concatenate([Cp @ np.full(field.points, u.h), [0.0]])
    up = np.zeros_like(x0)
    up[-1] = 1.0
    pts, js = [(x0, up)], [j_lin]
    for x, t in arclength(residual, jacobian, x0, up, step, max_step=4 * step):
        pts.append((x, t))
        js.append(j_of(x))
        i = int(np.argmin(js))
        if i < len(js) - 1 and js[-1] > 1.05 * js[i]:
            break
        if x[-1] > max_drive or len(pts) > 5000:
            raise ConfigError(f"no bump onset found for first-mode drives up to {max_drive:g}")
    else:
        raise ConfigError(
            f"the bump branch could not be continued past c = {pts[-1][0][-1]:.4g}; pass a "
            f"smaller step (now {step:g})"
        )
    if i == 0:  # J₁ grows from c = 0: the bump grows out of the uniform state
        return BumpOnset(j_lin, "pitchfork", C @ x0[:-1], 0.0, j_lin, u)
    # refine: the branch near point i as a graph over σ = t_i · (x − x_i)
    xi, ti = pts[i]
    lo, hi = (float(ti @ (pts[k][0] - xi)) for k in (i - 1, i + 1))

    def point(sig):
        y = xi + sig * ti
        for _ in range(30):
            r = np.concatenate([residual(y), [ti @ (y - xi) - sig]])
            if np.max(np.abs(r)) < 1e-12:
                break
            y = y - np.linalg.solve(np.vstack([jacobian(y), ti]), r)
        return y

    opt = minimize_scalar(
        lambda sg: j_of(point(sg)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
    )
    x = point(float(opt.x))
    return BumpOnset(j_of(x), "saddle-node", C @ x[:-1], float(x[-1]), j_lin, u)


# ----------------------------------------------------------------------------- bump measures
def bump_position(rates) -> np.ndarray:
    """Angle (rad) of the first Fourier mode of the activity (..., M) on the uniform grid."""
    r = np.asarray(rates, np.float64)
    M = r.shape[-1]
    z = 2.0 * math.pi * np.arange(M) / M
    return np.angle(r @ np.exp(1j * z))


def bump_amplitude(rates) -> np.ndarray:
    """|(1/M) Σ_j r_j e^{i z_j}| (Hz): zero for a uniform state."""
    r = np.asarray(rates, np.float64)
    M = r.shape[-1]
    z = 2.0 * math.pi * np.arange(M) / M
    return np.abs(r @ np.exp(1j * z)) / M


def _trig_interpolant(r):
    """The trigonometric interpolant p of samples r (M,) on the uniform grid, as a function
    of angle(s), and its values on a grid ``upsample`` times finer: p(z) = (1/M) Σ_k c_k X_k
    e^{ikz} (X = rfft(r), c₀ = 1, c_k = 2 for 0 < k < M/2, c_{M/2} = 1 (real part): p
    interpolates r exactly, also for even M)."""
    M = r.shape[-1]
    spec = np.fft.rfft(r)
    if M % 2 == 0:
        spec = spec.copy()
        spec[-1] *= 0.5
    k = np.arange(spec.size)
    c = np.where(k == 0, 1.0, 2.0) * spec / M

    def p(z):
        z = np.asarray(z, np.float64)
        return np.real(np.exp(1j * np.multiply.outer(z, k)) @ c)

    def fine(upsample):
        n = M * upsample
        full = np.zeros(n // 2 + 1, complex)
        full[: spec.size] = spec
        if M % 2 == 0:  # the halved Nyquist term is now a regular mode: both ±M/2 carry it
            full[spec.size - 1] = spec[-1] * 2.0 if n == M else spec[-1]
        return np.fft.irfft(full, n=n) * upsample

    return p, fine


def _extremum(p, z0, dz, sign):
    """The extremum of p (max for sign = +1, min for −1) within dz of z0 (bounded Brent)."""
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(
        lambda z: -sign * p(z),
        bounds=(z0 - dz, z0 + dz),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return max(sign * float(p(res.x)), sign * float(p(z0))) * sign


def bump_width(rates, upsample: int = 16) -> float:
    """Full width at half maximum (rad) of a single bump r (M,) on the uniform grid: the measure
    of the set where its trigonometric interpolant p exceeds min p + (max p − min p)/2 (the
    half height above the baseline), nan if r is flat.

    The crossings of the half height are bracketed on a grid ``upsample`` × finer and then
    located on p itself by Brent's method (periodic: a bump across z = 0 is measured whole);
    max and min of p are refined the same way. The error is that of the interpolant (spectral
    in M for a smooth bump), not the grid spacing 2π/(M · upsample) of a point count."""
    from scipy.optimize import brentq

    r = np.asarray(rates, np.float64)
    if r.ndim != 1 or r.size < 4:
        raise ConfigError(f"bump_width needs one profile of ≥ 4 grid values, got shape {r.shape}")
    up = max(1, int(upsample))
    p, fine_of = _trig_interpolant(r)
    fine = fine_of(up)
    n = fine.size
    dz = 2.0 * math.pi / n
    zf = dz * np.arange(n)
    hi = _extremum(p, zf[np.argmax(fine)], dz, +1)
    lo = _extremum(p, zf[np.argmin(fine)], dz, -1)
    if hi - lo < 1e-9 * max(1.0, abs(hi)):
        return float("nan")
    level = lo + 0.5 * (hi - lo)
    above = fine > level
    ups, downs = [], []
    for i in np.flatnonzero(above != np.roll(above, -1)):  # a crossing in [z_i, z_i + dz]
        a, b = zf[i], zf[i] + dz
        fa, fb = float(p(a)) - level, float(p(b)) - level
        if fa * fb < 0:
            z = brentq(lambda x: float(p(x)) - level, a, b, xtol=1e-14)
        else:  # rounding put a grid value on the level: linear interpolation of the samples
            d = fine[(i + 1) % n] - fine[i]
            z = a + dz * (level - fine[i]) / d if d != 0 else a
        (ups if not above[i] else downs).append(z)
    if not ups:
        return float("nan")
    ups, downs = np.sort(ups), np.sort(downs)
    # each up-crossing is followed (going round the ring) by the next down-crossing
    nxt = np.searchsorted(downs, ups, side="right") % len(downs)
    return float(np.sum(np.mod(downs[nxt] - ups, 2.0 * math.pi)))


# ----------------------------------------------------------------------------- the network
@dataclass(frozen=True)
class _RingF:
    modes: int

    def __call__(self, z):
        cols = [jnp.ones_like(z)]
        for k in range(1, self.modes + 1):
            cols += [jnp.cos(k * z), jnp.sin(k * z)]
        return jnp.concatenate(cols, axis=-1)


@dataclass(frozen=True)
class _RingG:
    coefficients: tuple

    def __call__(self, z):
        c = self.coefficients
        cols = [c[0] * jnp.ones_like(z)]
        for k in range(1, len(c)):
            cols += [c[k] * jnp.cos(k * z), c[k] * jnp.sin(k * z)]
        return jnp.concatenate(cols, axis=-1)


def ring_loadings(z, kernel: CosineKernel) -> tuple[np.ndarray, np.ndarray]:
    """F (N, 2K+1) = (1, cos z, sin z, …) and G = (ŵ₀, ŵ₁ cos z, ŵ₁ sin z, …) at angles z (N,),
    so that (1/N) F Gᵀ = (1/N) w(z_i − z_j)."""
    z = np.asarray(z, np.float64).reshape(-1, 1)
    cols_f, cols_g = [np.ones_like(z)], [kernel.mode(0) * np.ones_like(z)]
    for k in range(1, kernel.modes + 1):
        cols_f += [np.cos(k * z), np.sin(k * z)]
        cols_g += [kernel.mode(k) * np.cos(k * z), kernel.mode(k) * np.sin(k * z)]
    return np.concatenate(cols_f, axis=1), np.concatenate(cols_g, axis=1)


def ring_latent(kernel: CosineKernel, phi, tau: float = 0.01, points: int = 256) -> LatentModel:
    """The ring with a cosine kernel as a :class:`~lowdim.models.latent.LatentModel`: z ~ U[0, 2π),
    f = (1, cos z, sin z, …), g = (ŵ₀, ŵ₁ cos z, …); its κ equations (L1) with the ring
    quadrature of ``points`` nodes are the field (W1) restricted to the span of f, and
    :meth:`~lowdim.models.latent.LatentModel.network` is the rank-(2K+1) network of N neurons
    (W_ij = (1/N) w(z_i − z_j)). Drives: pass ``network_drive(cue, kernel)`` as its drive."""
    if not isinstance(kernel, CosineKernel):
        raise ConfigError("the ring network needs a CosineKernel: use truncate(kernel, modes)")
    return LatentModel(
        f=_RingF(kernel.modes),
        g=_RingG(tuple(float(c) for c in kernel.coefficients)),
        phi=phi,
        density=RingDensity(),
        tau=tau,
        order=points,
        name=f"ring-rank{2 * kernel.modes + 1}",
    )


def network_drive(drive, kernel: CosineKernel):
    """A cue as basis coefficients for :meth:`LatentModel.network` / ``integrate``: a JAX
    function t ↦ (2K+1,) (the cue's (c₀, c_cos, c_sin), zeros for the higher modes)."""
    return _JaxCoefficients(drive, 2 * kernel.modes + 1)
