"""Manifold analysis (lowdim.analysis.manifold): PCA, participation ratio, projection on loadings.

Synthetic data of known rank checks the linear algebra exactly (both the N > T Gram path and the
N ≤ T covariance path, against NumPy's SVD); a rank-D rate network driven by independent noise
along its loadings checks PR ≈ D with the tolerance of Eq. (M2).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import lowdim
from lowdim.analysis import manifold as M


def _low_rank(T, N, r, seed=0, scales=None):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((T, r)) * (np.ones(r) if scales is None else np.asarray(scales))
    B = rng.standard_normal((N, r))
    return A @ B.T + rng.standard_normal(N) * 3.0, B  # plus a constant offset per neuron


@pytest.mark.parametrize("T,N", [(200, 700), (300, 80)])
def test_pca_recovers_the_rank_of_low_rank_data(T, N):
    """X = A Bᵀ + offset with r = 4: exactly 4 non-zero variances (numerical rank, rtol 1e-9),
    variances equal to the squared singular values of the centred X / (T − 1), principal axes
    spanning span B, scores reconstructing the centred data, PR from variances = PR from the
    Gram/covariance traces."""
    X, B = _low_rank(T, N, 4, scales=[3.0, 2.0, 1.0, 0.5])
    p = M.pca(X, components=4)
    assert p.rank(rtol=1e-9) == 4
    assert p.dimension(0.999999) == 4
    Xc = X - X.mean(axis=0)
    sv = np.linalg.svd(Xc, compute_uv=False)
    np.testing.assert_allclose(p.variances[:4], sv[:4] ** 2 / (T - 1), rtol=1e-9)
    assert np.all(p.variances[4:] < 1e-9 * p.variances[0])
    assert np.degrees(M.principal_angles(B, p.components).max()) < 1e-5
    np.testing.assert_allclose(p.scores @ p.components.T, Xc, atol=1e-8 * np.abs(Xc).max())
    np.testing.assert_allclose(np.linalg.norm(p.components, axis=0), 1.0, rtol=1e-10)
    pr_eig = (sv**2).sum() ** 2 / (sv**4).sum()
    assert M.participation_ratio(p) == pytest.approx(pr_eig, rel=1e-9)
    assert M.participation_ratio(X) == pytest.approx(pr_eig, rel=1e-9)
    assert 1.0 < pr_eig < 4.0


def test_participation_ratio_of_equal_variances_is_the_dimension():
    """D orthogonal directions with equal variance: PR = D exactly; one dominant: PR → 1."""
    rng = np.random.default_rng(1)
    T, N = 120, 500
    for D in (1, 2, 3, 5):
        U, _ = np.linalg.qr(rng.standard_normal((T, D)) - 0)
        U -= U.mean(axis=0)
        U, _ = np.linalg.qr(U)  # orthonormal and centred (the mean lies outside span U)
        V, _ = np.linalg.qr(rng.standard_normal((N, D)))
        X = 2.0 * U @ V.T
        assert M.participation_ratio(X) == pytest.approx(D, rel=1e-9)
    assert M.participation_ratio(np.array([1.0, 1e-3, 1e-3])) == pytest.approx(1.004, abs=1e-3)


def test_projection_on_loadings():
    """x(t) = F κ(t) exactly: κ̂ = κ, all variance in span F, zero principal angles; activity with
    an orthogonal extra direction: the fraction in span F is the variance ratio."""
    rng = np.random.default_rng(2)
    T, N, D = 150, 400, 3
    F = rng.standard_normal((N, D))
    kappa = rng.standard_normal((T, D))
    X = kappa @ F.T
    res = M.project(X, F)
    np.testing.assert_allclose(res["kappa"], kappa, atol=1e-9)
    assert res["variance_in_span"] == pytest.approx(1.0, abs=1e-12)
    assert res["angles_deg"].max() < 1e-5
    q, _ = np.linalg.qr(np.concatenate([F, rng.standard_normal((N, 1))], axis=1))
    extra = q[:, 3] * rng.standard_normal(T)[:, None] * 5.0
    res2 = M.project(X + extra, F)
    Xc = X - X.mean(0)
    Ec = extra - extra.mean(0)
    expect = (Xc**2).sum() / ((Xc**2).sum() + (Ec**2).sum())
    assert res2["variance_in_span"] == pytest.approx(expect, rel=1e-9)


def test_activity_matrix_from_records_and_messages():
    """xarray records: trials stacked with time, a paired record needs network=k; bad input →
    ConfigError with what to change."""
    data = np.arange(2 * 5 * 2 * 3, dtype=float).reshape(2, 5, 2, 3)
    da = xr.DataArray(data, dims=("trial", "time", "network", "neuron"))
    X = M.activity_matrix(da, network=1)
    assert X.shape == (10, 3)
    np.testing.assert_array_equal(X[5], data[1, 0, 1])
    with pytest.raises(lowdim.ConfigError, match="network=k"):
        M.activity_matrix(da)
    with pytest.raises(lowdim.ConfigError, match="'neuron' dimension"):
        M.activity_matrix(da.rename(neuron="unit"))
    with pytest.raises(lowdim.ConfigError, match="at least two axes"):
        M.pca(np.ones(5))
    with pytest.raises(lowdim.ConfigError, match="not the whole Dataset"):
        M.pca(xr.Dataset({"x": da}))
    with pytest.raises(lowdim.ConfigError, match="NaN"):
        M.pca(np.full((3, 3), np.nan))
    with pytest.raises(lowdim.ConfigError, match="loadings"):
        M.project(np.ones((4, 3)), np.ones((5, 1)))


def test_effective_samples_of_an_ornstein_uhlenbeck_series():
    """AR(1) with correlation time τ = 20 samples: τ_c = ∫ρ² = (1 + a²)/(1 − a²) ≈ τ,
    T_eff = T/τ_c within 15 % (the estimate of ρ is noisy at large lags)."""
    rng = np.random.default_rng(3)
    T, tau = 200_000, 20.0
    a = math.exp(-1 / tau)
    x = np.zeros(T)
    e = rng.standard_normal(T) * math.sqrt(1 - a * a)
    for t in range(1, T):
        x[t] = a * x[t - 1] + e[t]
    tau_c = (1 + a * a) / (1 - a * a)
    assert M.effective_samples(x) == pytest.approx(T / tau_c, rel=0.15)


def _rank_d_network(N, D, seed):
    rng = np.random.default_rng(seed)
    xi = rng.standard_normal((N, D))
    return lowdim.Network(
        neurons=N,
        F=xi,
        G=xi,
        scale=0.5 / N,
        kinds=(lowdim.Rate(jnp.tanh),),
        tau=0.01,
        inputs=(lowdim.Noise(0.1, lowdim.Along(1.0)),),
    ), xi


def _pr_check(N, D, seed, duration=5.0, dt=2e-3):
    """Run the rank-D network, return (PR of potentials, E[PR] of (M2), T_eff)."""
    net, xi = _rank_d_network(N, D, seed)
    grid = lowdim.Grid.of(duration + 0.2, dt, 1e-2)
    ds = lowdim.run(net, grid, {"x": lowdim.Potentials(mode="sample")}, seed=seed)
    x = ds.x.isel(time=slice(20, None))
    p = M.pca(x, components=D)
    kappa = M.project(x, xi, pcs=p)["kappa"]
    teff = M.effective_samples(kappa)  # in samples: T/τ_c with τ_c counted in samples
    return p.participation_ratio, M.expected_participation_ratio(D, teff, N), teff


# the potentials leave span ξ only through the removed self-coupling w_ii = 0, a diagonal
# O(1/N) term: relative variance O(1/N²) outside span ξ, which raises PR by ~1e-6 at N = 2000
_OUTSIDE = 1e-4


@pytest.mark.parametrize("D", [2, 3])
def test_rank_d_network_participation_ratio_is_d(D):
    """Rank-D rate network (W = 0.5 ξξᵀ/N, tanh, τ = 10 ms) driven by independent white noise
    along each loading, N = 2000, 5 s: the potentials lie in span ξ (up to the O(1/N) diagonal
    w_ii = 0), so PR ≤ D; the D latent variables are exchangeable, so PR = D up to (M2)'s
    deficit δ = (D + 2)(D − 1)(1/T_eff + 1/N) (T_eff measured from κ̂). The deficit is a sum of
    squared sample fluctuations (a χ²-like variable with mean δ): accept 0 ≤ D − PR ≤ 5δ."""
    pr_x, expected, teff = _pr_check(2000, D, seed=D)
    assert pr_x <= D + _OUTSIDE
    deficit = D - expected
    assert D - pr_x <= 5 * deficit, (pr_x, expected, teff)
    assert teff > 150  # enough samples for a meaningful tolerance (5δ < 0.3 for D = 3)


@pytest.mark.slow
def test_participation_ratio_stays_d_as_n_grows():
    """D = 1, 2, 3 and N = 1000 … 32 000 (×32), 10 s each: PR within (M2)'s 5δ of D at every N
    (D = 1: PR = 1), and the spread over N within that band (no trend with N)."""
    for D in (1, 2, 3):
        prs, band = [], 0.0
        for N in (1000, 8000, 32_000):
            pr_x, expected, teff = _pr_check(N, D, seed=N + D, duration=10.0, dt=1e-3)
            band = max(band, 5 * (D - expected))
            assert D - band - _OUTSIDE <= pr_x <= D + _OUTSIDE, (D, N, pr_x, expected)
            prs.append(pr_x)
        assert max(prs) - min(prs) <= band + _OUTSIDE


def test_trajectory_3d_figure():
    """The 3-D picture is a backend-free figure with a 3-D axes; < 3 columns → ConfigError."""
    rng = np.random.default_rng(4)
    fig = M.trajectory_3d(rng.standard_normal((50, 3)), time=np.linspace(0, 1, 50), title="x")
    assert fig.axes[0].name == "3d"
    with pytest.raises(lowdim.ConfigError, match="≥ 3"):
        M.trajectory_3d(np.ones((5, 2)))
