"""Theory of Fig. 1: densities (Eqs. 5, 11, normal), Eq. 10, Eq. 12 and its failing region, Eq. 14."""

import math

import mpmath
import numpy as np
import pytest
from scipy import integrate, stats

from lowdim import Tanh, paper
from lowdim.analysis import theory as th

PS = [2, 2.5, 3, 4, 7, 20, 100]


def _pdf_cdf(kind, p):
    return th.density(kind, p)


@pytest.mark.parametrize(
    "kind,p",
    [("arcsine", None)] + [("gegenbauer", p) for p in PS] + [("normal", 4), ("normal", 50)],
)
def test_density_integrates_to_one_and_matches_cdf(kind, p):
    pdf, cdf = _pdf_cdf(kind, p)
    lo, hi = (-1.0, 1.0) if kind != "normal" else (-12 / math.sqrt(p), 12 / math.sqrt(p))
    f = lambda z: float(pdf(np.array([z]))[0])  # noqa: E731
    total, err = integrate.quad(f, lo, hi, limit=200, points=[0.0])
    assert abs(total - 1.0) < 1e-7 + 10 * err
    for z in (-0.9, -0.3, 0.0, 0.2, 0.75):
        part, err = integrate.quad(f, lo, z, limit=200)
        assert abs(part - float(cdf(np.array([z]))[0])) < 1e-7 + 10 * err


def test_gegenbauer_constant_is_eq11():
    for p in PS:
        z = np.array([-0.5, 0.1, 0.6])
        const = math.gamma(p / 2) / (math.sqrt(math.pi) * math.gamma((p - 1) / 2))
        np.testing.assert_allclose(th.gegenbauer_pdf(z, p), const * (1 - z**2) ** ((p - 3) / 2))
        assert th.gegenbauer_const(p) == pytest.approx(const, rel=1e-12)


def test_special_cases_and_variance():
    z = np.linspace(-0.99, 0.99, 41)
    np.testing.assert_allclose(th.gegenbauer_pdf(z, 2), th.arcsine_pdf(z), rtol=1e-12)
    np.testing.assert_allclose(th.gegenbauer_pdf(z, 3), 0.5, rtol=1e-12)
    for p in (2, 5, 40):  # the Gegenbauer law has variance exactly 1/p
        pdf, _ = th.density("gegenbauer", p)
        var, _ = integrate.quad(lambda x, pdf=pdf: x * x * float(pdf(np.array([x]))[0]), -1, 1)
        assert var == pytest.approx(1 / p, rel=1e-7)
    # Gegenbauer(p) → N(0, 1/p): sup distance of the cdfs shrinks with p
    d = [np.abs(th.gegenbauer_cdf(z, p) - th.normal_cdf(z, p)).max() for p in (10, 100, 1000)]
    assert d[0] > d[1] > d[2]


@pytest.mark.parametrize("p", [2, 4, 30])
def test_gegenbauer_matches_cosine_similarity_of_gaussian_vectors(p):
    """KS test at a fixed seed, independent pairs (disjoint vectors), level 0.001."""
    rng = np.random.default_rng(123 + p)
    n = 20_000
    xi = rng.normal(size=(2 * n, p))
    pairs = np.stack([np.arange(n), n + np.arange(n)], axis=1)
    c = th.cosine_bound(xi, pairs)
    assert stats.kstest(c, lambda z: th.gegenbauer_cdf(z, p)).pvalue > 1e-3
    if p == 30:  # and the wrong law is rejected
        assert stats.kstest(c, lambda z: th.gegenbauer_cdf(z, 20)).pvalue < 1e-3


def test_cosine_bound_against_direct():
    rng = np.random.default_rng(0)
    xi = rng.normal(size=(50, 7))
    pairs = np.array([[0, 1], [3, 49], [10, 10]])
    u = xi / np.linalg.norm(xi, axis=1, keepdims=True)
    np.testing.assert_allclose(th.cosine_bound(xi, pairs), (u[pairs[:, 0]] * u[pairs[:, 1]]).sum(1))


def test_exact_tail_by_hand_and_by_integration():
    # p = 2, ε = 0.9: 1 − (2/π) arcsin 0.9 ≈ 0.287
    assert th.pair_tail_exact(0.9, 2) == pytest.approx(1 - 2 / math.pi * math.asin(0.9), rel=1e-12)
    assert th.pair_tail_exact(0.9, 2) == pytest.approx(0.2871, abs=1e-4)
    for p in (3, 5, 12, 60):
        for eps in (0.05, 0.3, 0.8):
            with mpmath.workdps(30):
                cst = mpmath.gamma(p / 2) / (mpmath.sqrt(mpmath.pi) * mpmath.gamma((p - 1) / 2))
                ref = 2 * cst * mpmath.quad(lambda z, p=p: (1 - z**2) ** ((p - 3) / 2), [eps, 1])
            assert float(th.pair_tail_exact(eps, p)) == pytest.approx(float(ref), rel=1e-10)


def test_union_bound_decreases_in_p():
    ps = np.arange(2, 400)
    for eps in (0.1, 0.5, 0.9):
        u = np.array([float(th.union_bound(1000, eps, p)) for p in ps])
        assert np.all(np.diff(u) < 0)


@pytest.mark.parametrize("n,p,eps", [(12, 8, 0.8), (30, 20, 0.65), (8, 3, 0.95)])
def test_union_bound_dominates_empirical_duplicate_frequency(n, p, eps):
    """Simulated networks whose correlations are the Eq. 10 values (the tight case)."""
    rng = np.random.default_rng(7)
    trials = 4000
    hits = 0
    iu = np.triu_indices(n, 1)
    for _ in range(trials):
        xi = rng.normal(size=(n, p))
        u = xi / np.linalg.norm(xi, axis=1, keepdims=True)
        hits += np.any(np.abs((u @ u.T)[iu]) >= eps)
    freq = hits / trials
    bound = float(th.union_bound(n, eps, p))
    assert 0.02 < freq < 0.9  # the example is informative
    se = math.sqrt(freq * (1 - freq) / trials)
    assert freq <= min(bound, 1.0) + 4 * se


def test_union_bound_exact_for_two_units():
    """N = 2: the union bound is an equality; sampled frequency agrees within 4 SE."""
    rng = np.random.default_rng(3)
    p, eps, m = 4, 0.6, 200_000
    c = th.cosine_bound(rng.normal(size=(2 * m, p)), np.stack([np.arange(m), m + np.arange(m)], 1))
    freq = np.mean(np.abs(c) >= eps)
    tail = float(th.pair_tail_exact(eps, p))
    assert abs(freq - tail) < 4 * math.sqrt(tail * (1 - tail) / m)


def test_printed_eq12_factor_failing_region_is_pinned():
    # p = 2, ε = 0.9: printed 0.2459 < exact 0.2871
    assert th.printed_pair_factor(0.9, 2) == pytest.approx(math.sqrt(0.19) / math.sqrt(math.pi))
    assert th.printed_factor_fails(0.9, 2)
    # p = 2 fails on all of (0, 1)
    e = np.linspace(1e-4, 1 - 1e-6, 2001)
    assert th.printed_factor_fails(e, 2).all()
    assert th.failure_eps_max(2) == 1.0
    # p = 3 (uniform law): tail 1 − ε vs (1 − ε²)/√π: fails exactly for ε < √π − 1
    assert th.failure_eps_max(3) == pytest.approx(math.sqrt(math.pi) - 1, abs=1e-9)
    assert th.printed_factor_fails(0.77, 3) and not th.printed_factor_fails(0.775, 3)
    # for every p, the failing set is an interval (0, ε*) with ε* decreasing in p, ~ √2/√p
    stars = [th.failure_eps_max(p) for p in (3, 4, 10, 100, 1000)]
    assert all(a > b for a, b in zip(stars, stars[1:], strict=False))
    for p in (3, 10, 100):
        s = th.failure_eps_max(p)
        assert th.printed_factor_fails(np.linspace(1e-4, s * 0.999, 500), p).all()
        assert not th.printed_factor_fails(np.linspace(s * 1.001 + 1e-6, 1 - 1e-6, 500), p).any()
    assert th.failure_eps_max(1000) * math.sqrt(1000) == pytest.approx(0.86, abs=0.05)
    # where it fails at N = 2, the printed Eq. 12 is below the true duplicate probability
    assert th.printed_eq12(2, 0.9, 2) < th.pair_tail_exact(0.9, 2)


def test_corrected_pair_bound_holds_everywhere():
    e = np.linspace(1e-3, 1 - 1e-6, 3001)
    for p in (2, 3, 4, 5, 10, 50, 300):
        assert np.all(th.pair_tail_bound(e, p) >= th.pair_tail_exact(e, p))


def test_min_rank_is_smallest_achieving_target():
    for n, eps, delta in [(10**4, 0.5, 0.05), (10**6, 0.2, 0.01), (100, 0.9, 0.1)]:
        p = th.min_rank_duplicate_free(n, eps, delta)
        assert th.union_bound(n, eps, p) <= delta
        if p > 2:
            assert th.union_bound(n, eps, p - 1) > delta


def test_norm_concentration_inside_clt_band():
    """‖J_i‖² across neurons: mean and variance vs Eq. 14 / S13 within statistical bands."""
    phi = Tanh()
    n, p = 3000, 150
    conn = paper(n, p, phi, seed=5, dtype=np.float64)
    sq = conn.row_norms() ** 2
    mean_th, var_th = th.norm_sq_moments(n, p, phi)
    # leading order agrees with the exact finite-N formula to O(1/N)
    assert var_th == pytest.approx(th.norm_sq_var_limit(p / n, phi.c, n), rel=5 / n * (1 + p))
    # sample mean: within 4 standard errors (rows share G: add the common-mode term, O(1/N²))
    se_mean = math.sqrt(var_th / n)
    assert abs(sq.mean() - mean_th) < 4 * se_mean + 4 * mean_th * math.sqrt(2 / (n * p))
    # sample variance: SE from the sample fourth moment
    m4 = np.mean((sq - sq.mean()) ** 4)
    se_var = math.sqrt((m4 - sq.var() ** 2) / n)
    assert abs(sq.var() - var_th) < 4 * se_var
    # ‖J_i‖₂ concentrates at √(α/c): all rows within 6 sd of the CLT band
    band = 6 * math.sqrt(var_th)
    assert np.all(np.abs(sq - mean_th) < band)
    assert np.sqrt(sq).mean() == pytest.approx(th.norm_limit(p / n, phi.c), rel=0.01)
