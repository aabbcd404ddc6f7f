"""Theory of the paper's Fig. 1 and Eqs. 5, 10–12, 14 (Schmutz, Brea, Gerstner 2025).

Limit correlation densities (each as ``*_pdf`` and ``*_cdf`` on z ∈ [−1, 1]):

- ring model, Eq. 5: arcsine law ρ(z) = 1/(π √(1 − z²)) (SM Sec. I, Corollary 1);
- fixed rank p, Eq. 11: "Gegenbauer" law ρ_p(z) = Γ(p/2)/(√π Γ((p−1)/2)) (1 − z²)^((p−3)/2),
  the projection of the uniform law on the sphere S^{p−1} onto a diameter, i.e. (Z + 1)/2 ~
  Beta((p−1)/2, (p−1)/2) (SM Sec. I, Theorem 1); p = 2 is the arcsine law, p = 3 is uniform;
- p = αN → ∞ (Fig. 1C): normal with variance 1/p (SM Sec. I, Theorem 2). The Gegenbauer law has
  variance exactly 1/p for every p.

Duplicate bound (Eq. 12, SM Sec. III). Under Eq. 11, Z² ~ Beta(1/2, (p−1)/2), so the exact
single-pair tail is P(|C| ≥ ε) = I_{1−ε²}((p−1)/2, 1/2) (regularized incomplete Beta). The union
bound N(N−1)/2 · P(|C| ≥ ε) is rigorous. The closed form printed as Eq. 12 replaces the tail by
(1 − ε²)^((p−1)/2)/√π; its proof (SM Lemma 2) uses two steps that fail in general:
Γ(p/2) ≤ Γ((p+1)/2) is false for p = 2, and y/√(1 − y²) ≤ y is false for all y ∈ (0, 1). The
printed factor is *below* the exact tail on a region of (p, ε) (:func:`printed_factor_fails`):
for p = 2 for every ε ∈ (0, 1) (e.g. ε = 0.9: 0.246 < 0.287), for p = 3 for ε < √π − 1, and for
large p roughly for ε√p < √2. Where it fails, Eq. 12 is not proven (and is false for N = 2,
where the union bound is an equality). lowdim uses the exact tail; :func:`pair_tail_bound` is a
closed form that does hold for all p ≥ 2, 0 < ε < 1 (Wendel's inequality Γ(x+½)/Γ(x) ≤ √x and
1/√(1 − y²) ≤ 1/ε on the integration range).

Incoming-weight norms (Eq. 14, SM Sec. IV): ‖J_i‖₂ → √(α/c), Var(‖J_i‖²) = 2α(1+α)/(c²N) +
O(1/N²); :func:`norm_sq_moments` gives the exact finite-N mean and variance over ξ.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

__all__ = [
    "arcsine_pdf",
    "arcsine_cdf",
    "gegenbauer_pdf",
    "gegenbauer_cdf",
    "gegenbauer_const",
    "normal_pdf",
    "normal_cdf",
    "density",
    "cosine_bound",
    "pair_tail_exact",
    "union_bound",
    "printed_pair_factor",
    "printed_eq12",
    "pair_tail_bound",
    "printed_factor_fails",
    "failure_eps_max",
    "min_rank_duplicate_free",
    "norm_limit",
    "norm_sq_var_limit",
    "norm_sq_moments",
]


def _z(z):
    return np.asarray(z, dtype=np.float64)


# ------------------------------------------------------------------------- densities
def arcsine_pdf(z):
    """Eq. 5: ρ(z) = 1_{[−1,1]}(z) / (π √(1 − z²)) (ring model, N → ∞)."""
    z = _z(z)
    inside = np.abs(z) < 1
    out = np.zeros_like(z)
    out[inside] = 1.0 / (math.pi * np.sqrt(1.0 - z[inside] ** 2))
    return out


def arcsine_cdf(z):
    """Cumulative distribution of Eq. 5: 1/2 + arcsin(z)/π on [−1, 1]."""
    z = np.clip(_z(z), -1.0, 1.0)
    return 0.5 + np.arcsin(z) / math.pi


def gegenbauer_const(p: float) -> float:
    """Normalisation of Eq. 11: Γ(p/2) / (√π Γ((p−1)/2))."""
    return math.exp(special.gammaln(p / 2) - special.gammaln((p - 1) / 2)) / math.sqrt(math.pi)


def _check_p(p):
    if not p > 1:
        raise ValueError(f"the Gegenbauer law (Eq. 11) needs p > 1, got p = {p}")


def gegenbauer_pdf(z, p: float):
    """Eq. 11: ρ_p(z) = Γ(p/2)/(√π Γ((p−1)/2)) (1 − z²)^((p−3)/2) on [−1, 1] (p > 1)."""
    _check_p(p)
    z = _z(z)
    inside = np.abs(z) < 1
    out = np.zeros_like(z)
    a = (p - 1) / 2
    out[inside] = 0.5 * stats.beta.pdf((z[inside] + 1) / 2, a, a)
    return out


def gegenbauer_cdf(z, p: float):
    """Cumulative distribution of Eq. 11: I_{(z+1)/2}((p−1)/2, (p−1)/2)."""
    _check_p(p)
    a = (p - 1) / 2
    return special.betainc(a, a, (np.clip(_z(z), -1.0, 1.0) + 1) / 2)


def normal_pdf(z, p: float):
    """Fig. 1C limit: centred normal density with variance 1/p (SM Sec. I, Theorem 2)."""
    return stats.norm.pdf(_z(z), scale=1.0 / math.sqrt(p))


def normal_cdf(z, p: float):
    """Cumulative distribution of the centred normal with variance 1/p."""
    return stats.norm.cdf(_z(z), scale=1.0 / math.sqrt(p))


def density(kind: str, p: float | None = None):
    """(pdf, cdf) callables of one limit law: ``"arcsine"``, ``"gegenbauer"`` or ``"normal"``."""
    if kind == "arcsine":
        return arcsine_pdf, arcsine_cdf
    if kind == "gegenbauer":
        return (lambda z: gegenbauer_pdf(z, p)), (lambda z: gegenbauer_cdf(z, p))
    if kind == "normal":
        return (lambda z: normal_pdf(z, p)), (lambda z: normal_cdf(z, p))
    raise ValueError(f"unknown density {kind!r}; choose arcsine, gegenbauer or normal")


# ------------------------------------------------------------------------- Eq. 10
def cosine_bound(xi, pairs) -> np.ndarray:
    """Eq. 10: cosine similarity ξ_i·ξ_j / (‖ξ_i‖ ‖ξ_j‖) of rows of ``xi`` (N, p) for ``pairs`` (P, 2).

    The paper's bound on C_ij, tight when γ_i = 0 (and asymptotically for fixed p). Rows are
    gathered pair by pair (memory O(P p)), never an N×N matrix.
    """
    xi = np.asarray(xi, dtype=np.float64)
    pairs = np.asarray(pairs)
    norms = np.sqrt(np.einsum("ip,ip->i", xi, xi))
    out = np.empty(len(pairs))
    step = max(1, 2_000_000 // max(xi.shape[1], 1))
    for s in range(0, len(pairs), step):
        i, j = pairs[s : s + step, 0], pairs[s : s + step, 1]
        out[s : s + step] = np.einsum("kp,kp->k", xi[i], xi[j]) / (norms[i] * norms[j])
    return out


# ------------------------------------------------------------------------- Eq. 12
def pair_tail_exact(eps, p: float):
    """Exact P(|C_ij| ≥ ε) under Eq. 11: I_{1−ε²}((p−1)/2, 1/2) (SM Sec. III, first display).

    Z² ~ Beta(1/2, (p−1)/2) for Z Gegenbauer(p). For p = 2: 1 − (2/π) arcsin ε.
    """
    _check_p(p)
    eps = _z(eps)
    return special.betainc((p - 1) / 2, 0.5, np.clip(1.0 - eps**2, 0.0, 1.0))


def union_bound(n: int, eps, p: float):
    """Rigorous union bound on P(∃ i ≠ j: |C_ij| ≥ ε): N(N−1)/2 · P(|C| ≥ ε) (SM Lemma 2)."""
    return n * (n - 1) / 2 * pair_tail_exact(eps, p)


def printed_pair_factor(eps, p: float):
    """The per-pair factor printed in Eq. 12: (1 − ε²)^((p−1)/2) / √π."""
    eps = _z(eps)
    return (1.0 - eps**2) ** ((p - 1) / 2) / math.sqrt(math.pi)


def printed_eq12(n: int, eps, p: float):
    """Eq. 12 as printed: N(N−1)/2 · (1 − ε²)^((p−1)/2)/√π (valid only where the factor ≥ tail)."""
    return n * (n - 1) / 2 * printed_pair_factor(eps, p)


def pair_tail_bound(eps, p: float):
    """A closed-form bound that holds for all p ≥ 2 and 0 < ε < 1 (corrects SM Lemma 2):

    P(|C| ≥ ε) ≤ √2 (1 − ε²)^((p−1)/2) / (ε √(π (p − 1))),

    from Γ(p/2)/Γ((p−1)/2) ≤ √((p−1)/2) (Wendel) and ∫_ε^1 (1−z²)^((p−3)/2) dz =
    ∫_0^{√(1−ε²)} y^{p−2}/√(1−y²) dy ≤ (1−ε²)^((p−1)/2) / ((p−1) ε).
    """
    eps = _z(eps)
    return math.sqrt(2.0) * (1.0 - eps**2) ** ((p - 1) / 2) / (eps * math.sqrt(math.pi * (p - 1)))


def printed_factor_fails(eps, p: float):
    """True where the printed Eq. 12 factor is *below* the exact tail (Eq. 12 not proven there)."""
    return printed_pair_factor(eps, p) < pair_tail_exact(eps, p)


def failure_eps_max(p: int, grid: int = 20001) -> float:
    """Largest ε ∈ (0, 1) at which the printed factor is below the exact tail (0 if none).

    The failing set is an interval (0, ε*(p)) for p ≥ 3 and all of (0, 1) for p = 2 (returns 1).
    Found on a fine grid and refined by bisection.
    """
    e = np.linspace(1e-6, 1 - 1e-9, grid)
    fails = printed_factor_fails(e, p)
    if not fails.any():
        return 0.0
    if fails.all():
        return 1.0
    k = int(np.nonzero(fails)[0].max())
    lo, hi = e[k], e[k + 1]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if printed_factor_fails(mid, p):
            lo = mid
        else:
            hi = mid
    return float(lo)


def min_rank_duplicate_free(n: int, eps: float, delta: float = 0.05, p_max: int = 10**9) -> int:
    """Smallest integer p ≥ 2 with N(N−1)/2 · P(|C| ≥ ε) ≤ δ (exact tail; Eq. 12 inverted).

    Then, under Eqs. 10–11, a network of N units has no pair with |C_ij| ≥ ε with probability
    at least 1 − δ. The tail decreases in p, so the answer is found by bisection.
    """
    if not (0 < eps < 1 and 0 < delta < 1 and n >= 2):
        raise ValueError("need N ≥ 2, 0 < ε < 1 and 0 < δ < 1")
    target = delta / (n * (n - 1) / 2)
    ok = lambda p: float(pair_tail_exact(eps, p)) <= target  # noqa: E731
    if ok(2):
        return 2
    lo, hi = 2, 4
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > p_max:
            raise ValueError(f"no p ≤ {p_max} reaches the target")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


# ------------------------------------------------------------------------- Eq. 14
def norm_limit(alpha: float, c: float) -> float:
    """Eq. 14: ‖J_i‖₂ → √(α/c) in probability as N → ∞ at fixed load α (SM Theorem 3)."""
    return math.sqrt(alpha / c)


def norm_sq_var_limit(alpha: float, c: float, n: int) -> float:
    """SM Eq. S13: Var(‖J_i‖²) = 2α(1+α)/(c²N) + O(1/N²)."""
    return 2 * alpha * (1 + alpha) / (c**2 * n)


def norm_sq_moments(n: int, p: int, phi) -> tuple[float, float]:
    """Exact mean and variance over ξ of ‖J_i‖² for Eq. 7 (SM Eqs. S14–S18, all orders kept).

    E‖J‖² = (N−1) p / (c N²); E[J₁₂⁴] = (3 p m₄ + 3 p(p−1) c²)/(c⁴N⁴) with m₄ = E[(φ(z)−a)⁴];
    E[J₁₂² J₁₃²] = (3 p c² + p(p−1) c²)/(c⁴N⁴); Var = (N−1)E[J₁₂⁴] + (N−1)(N−2)E[J₁₂²J₁₃²] − (E‖J‖²)².
    """
    a, c = phi.a, phi.c
    m4 = phi._gauss_expect(lambda z: (float(phi.numpy(z)) - a) ** 4)
    k = 1.0 / (c**4 * float(n) ** 4)
    e4 = k * (3 * p * m4 + 3 * p * (p - 1) * c**2)
    e22 = k * (3 * p * c**2 + p * (p - 1) * c**2)
    mean = (n - 1) * p / (c * float(n) ** 2)
    var = (n - 1) * e4 + (n - 1) * (n - 2) * e22 - mean**2
    return mean, var
