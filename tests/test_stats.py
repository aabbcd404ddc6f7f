"""lowdim.analysis.stats against independent computations: SciPy's t interval, linregress and
Wilson interval, a weighted least squares by numpy.linalg.lstsq, the two-level bootstrap's
variance in closed form, and the root mean square by numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sst

from lowdim.analysis import stats


def test_mean_ci_is_the_student_t_interval():
    rng = np.random.default_rng(1)
    for n in (2, 3, 7, 40):
        v = rng.normal(3.0, 2.0, n)
        m, h, sd = stats.mean_ci(v)
        lo, hi = sst.t.interval(0.95, n - 1, loc=v.mean(), scale=sst.sem(v))
        assert m == pytest.approx(v.mean(), rel=1e-14)
        assert sd == pytest.approx(np.std(v, ddof=1), rel=1e-14)
        assert (m - h, m + h) == pytest.approx((lo, hi), rel=1e-12)
    m, h, sd = stats.mean_ci([1.5])
    assert m == 1.5 and math.isnan(h) and math.isnan(sd)
    assert stats.t_quantile(10) == pytest.approx(2.228138851986274, rel=1e-12)  # tables
    assert math.isnan(stats.t_quantile(0))


def test_slope_fit_is_linregress_of_the_logs():
    rng = np.random.default_rng(2)
    alpha = np.repeat([0.01, 0.02, 0.05, 0.1], 3)
    values = 0.3 * alpha**0.5 * np.exp(rng.normal(0, 0.05, alpha.size))
    s = stats.slope_fit(alpha, values)
    ref = sst.linregress(np.log(alpha), np.log(values))
    half = sst.t.ppf(0.975, alpha.size - 2) * ref.stderr
    assert s["value"] == pytest.approx(ref.slope, rel=1e-12)
    assert s["intercept"] == pytest.approx(ref.intercept, rel=1e-12)
    assert s["stderr"] == pytest.approx(ref.stderr, rel=1e-10)
    assert s["ci"] == pytest.approx([ref.slope - half, ref.slope + half], rel=1e-10)
    assert s["n"] == 12 and s["alpha_range"] == pytest.approx([0.01, 0.1], rel=1e-14)
    for a, v in (([0.1, 0.2], [1.0, 2.0]), ([0.1] * 4, [1.0, 2.0, 3.0, 4.0])):  # too few / one α
        s = stats.slope_fit(a, v)
        assert math.isnan(s["value"]) and all(math.isnan(c) for c in s["ci"])


def test_wilson_is_scipys():
    for k, n in ((0, 10), (3, 10), (10, 10), (57, 144), (1, 1)):
        ref = sst.binomtest(k, n).proportion_ci(method="wilson")
        np.testing.assert_allclose(stats.wilson(k, n), (ref.low, ref.high), atol=1e-12)
    assert 1.959963984540054 == pytest.approx(sst.norm.ppf(0.975), rel=1e-15)
    assert all(math.isnan(x) for x in stats.wilson(0, 0))


def test_two_level_bootstrap_matches_its_variance_in_closed_form():
    """Resampling D draws, then B trials within each: the mean has variance
    (1/D)[Var_d(m_d) + mean_d(σ_d²)/B] (population variances) about the grand mean; the
    interval's ends are the normal quantiles to within 5 Monte-Carlo s.e. of a 2.5 % quantile
    of 2000 replicates (≈ 0.06 sd each)."""
    rng = np.random.default_rng(3)
    D, B = 20, 50
    v = rng.normal(0, 1, (D, 1)) + rng.normal(0, 2, (D, B))
    sd = math.sqrt((v.mean(1).var() + v.var(1).mean() / B) / D)
    lo, hi = stats.bootstrap_ci(v, seed=4)
    z = sst.norm.ppf(0.975)
    tol = 5 * math.sqrt(0.025 * 0.975 / 2000) / sst.norm.pdf(z) * sd
    assert lo == pytest.approx(v.mean() - z * sd, abs=tol)
    assert hi == pytest.approx(v.mean() + z * sd, abs=tol)
    assert stats.bootstrap_ci(v, seed=4) == (lo, hi)  # seeded


def test_interval_is_the_union_of_bootstrap_and_wilson():
    same = np.ones((2, 72), bool)  # every outcome the same: the bootstrap interval is a point
    lo, hi = stats.interval(same)
    assert hi == 1.0 and lo == pytest.approx(
        sst.binomtest(144, 144).proportion_ci(method="wilson").low
    )
    rng = np.random.default_rng(5)
    mixed = rng.random((3, 40)) < rng.uniform(0.3, 0.9, (3, 1))
    b, w = stats.bootstrap_ci(mixed), stats.wilson(int(mixed.sum()), mixed.size)
    assert stats.interval(mixed) == (min(b[0], w[0]), max(b[1], w[1]))


def test_extrapolate_is_weighted_least_squares():
    """Against numpy.linalg.lstsq on the rows scaled by 1/stderr; the s.e. of the limit is
    inflated by √(χ²/dof) only where χ²/dof > 1; NaN points are left out."""
    rng = np.random.default_rng(6)
    n = np.array([1e3, 3e3, 1e4, 3e4, 1e5])
    se = np.array([4e-3, 3e-3, 2e-3, 1.5e-3, 1e-3])
    y = 0.138 + 0.5 / np.sqrt(n) + rng.normal(0, 1, n.size) * se * 3  # scatter > errors
    fit = stats.extrapolate(n, y, se)
    A = np.stack([np.ones_like(n), n**-0.5], axis=1) / se[:, None]
    coef, res, *_ = np.linalg.lstsq(A, y / se, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    chi2, dof = float(res[0]), n.size - 2
    assert fit["limit"] == pytest.approx(coef[0], rel=1e-10)
    assert fit["slope"] == pytest.approx(coef[1], rel=1e-9)
    assert fit["chi2"] == pytest.approx(chi2, rel=1e-8) and fit["dof"] == dof
    assert fit["stderr"] == pytest.approx(math.sqrt(cov[0, 0] * max(1, chi2 / dof)), rel=1e-9)
    exact = stats.extrapolate(n, 0.138 + 0.5 / np.sqrt(n), se)  # no scatter: no inflation
    assert exact["limit"] == pytest.approx(0.138, abs=1e-12) and exact["chi2"] < 1e-18
    assert exact["stderr"] == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-9)
    y2 = y.copy()
    y2[[1, 3]] = np.nan
    keep = [0, 2, 4]
    assert stats.extrapolate(n, y2, se) == stats.extrapolate(n[keep], y[keep], se[keep])
    two = stats.extrapolate(n[:2], y[:2], se[:2])  # exactly determined: dof 0, no inflation
    assert two["dof"] == 0 and two["chi2"] == pytest.approx(0, abs=1e-12)
    assert stats.extrapolate(n[:2], [0.1, np.nan], se[:2]) is None


def test_rms_and_rms_of_selected_rows():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, 50)
    assert stats.rms(x) == pytest.approx(np.linalg.norm(x) / math.sqrt(x.size), rel=1e-14)
    rows = [
        {"n": n, "p": p, "err": float(e)} for n, p, e in zip([1, 2] * 25, [1] * 50, x, strict=True)
    ]
    assert stats.rms_of(rows, "err", n=2) == pytest.approx(
        np.sqrt(np.mean(x[1::2] ** 2)), rel=1e-14
    )
    assert stats.rms_of(rows, "err", n=1, p=1) == stats.rms(x[::2])
    assert stats.rms_of(rows, "err") == stats.rms(x)


def test_endpoint_log_slope_is_the_two_point_fit_of_the_logs():
    """The exponent from the two ends equals numpy's degree-1 fit of the logs of those two
    points, recovers b of y = c x^b exactly, and ignores the points in between."""
    x, y = np.array([100.0, 1e3, 1e5]), np.array([0.02, 0.005, 0.0007])
    ref = np.polyfit(np.log(x[[0, -1]]), np.log(y[[0, -1]]), 1)[0]
    assert stats.endpoint_log_slope(x, y) == pytest.approx(ref, rel=1e-12)
    assert stats.endpoint_log_slope(x, 3.0 * x**-0.5) == pytest.approx(-0.5, rel=1e-12)


def test_fraction_outside_counts_the_tails_and_matches_the_normal_law():
    v = np.array([-4.0, -3.0, -2.9, 0.0, 1.0, 3.0, 3.01, 10.0])
    # strictly outside ±3 about 0: −4, 3.01, 10 (the points at exactly ±3 are inside)
    assert stats.fraction_outside(v, 0.0, 1.0) == 3 / 8
    assert stats.fraction_outside(v, 1.0, 0.5, k=4.0) == np.mean(np.abs(v - 1.0) > 2.0)
    rng = np.random.default_rng(5)
    n = 400_000
    x = rng.normal(2.0, 0.5, n)
    p = 2 * sst.norm.sf(3.0)  # 0.0027
    # a binomial fraction: within 5 of its standard deviations of the normal tail mass
    assert abs(stats.fraction_outside(x, 2.0, 0.5) - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_rms_by_is_rms_of_for_each_value():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 24)
    n = np.repeat([10, 100, 1000], 8)
    p = np.tile([1, 2], 12)
    rows = [
        {"neurons": int(a), "p": int(b), "err": float(e)} for a, b, e in zip(n, p, x, strict=True)
    ]
    got = stats.rms_by(rows, "err", "neurons", [10, 1000], p=2)
    want = {str(v): math.sqrt(np.mean(x[(n == v) & (p == 2)] ** 2)) for v in (10, 1000)}
    assert list(got) == ["10", "1000"]
    assert got == pytest.approx(want, rel=1e-14)


def test_circular_mean_is_scipys_circmean():
    rng = np.random.default_rng(5)
    for centre in (-3.0, 0.3, 3.1):
        a = centre + rng.vonmises(0.0, 4.0, 200)  # wraps around ±π for centres near π
        got = stats.circular_mean(a)
        want = sst.circmean(a, high=math.pi, low=-math.pi)
        assert -math.pi < got <= math.pi
        assert abs(np.angle(np.exp(1j * (got - want)))) < 1e-12
