"""Streaming pair-correlation estimator (Eq. 4) and the streaming RNN integrator."""

import math

import numpy as np
import pytest

from lowdim import RunConfig, simulate
from lowdim.analysis import theory as th
from lowdim.analysis.correlations import (
    PairCorrelation,
    ks_distance,
    sample_pairs,
    split_half_noise,
)
from lowdim.errors import ConfigError


def test_sample_pairs_distinct_and_complete():
    for m in (2, 3, 17, 300):
        total = m * (m - 1) // 2
        allp = sample_pairs(m, 10**9)
        assert len(allp) == total
        assert np.all(allp[:, 0] < allp[:, 1]) and allp.min() >= 0 and allp.max() < m
        assert len({tuple(r) for r in allp}) == total
    p = sample_pairs(5000, 100_000, seed=3)
    assert len(np.unique(p[:, 0] * 5000 + p[:, 1])) == 100_000
    assert np.all(p[:, 0] < p[:, 1])
    # each unit appears in ≈ 2P/M pairs (uniform sampling): counts are ~Binomial
    counts = np.bincount(p.ravel(), minlength=5000)
    assert abs(counts.mean() - 40) < 1e-9 and counts.std() < 1.5 * math.sqrt(40)


@pytest.mark.parametrize("dense", [True, False])
def test_estimator_matches_corrcoef_blockwise(dense):
    rng = np.random.default_rng(1)
    m, t = 300, 1500
    X = rng.normal(size=(t, m)) @ rng.normal(size=(m, m)) * 0.1 + 5.0  # correlated, offset
    pairs = sample_pairs(m, 40_000 if dense else 2_000, seed=2)
    est = PairCorrelation(m, pairs, segments=2, chunk=50_000)
    assert (est._tiles is not None) == dense
    cuts = [0, 1, 250, 251, 900, t]
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        est.update(X[a:b], segment=int(k >= 3))
    ref = np.corrcoef(X.T)[pairs[:, 0], pairs[:, 1]]
    np.testing.assert_allclose(est.correlations(), ref, atol=1e-12)
    h0 = np.corrcoef(X[:251].T)[pairs[:, 0], pairs[:, 1]]
    np.testing.assert_allclose(est.correlations(0), h0, atol=1e-12)
    # memory O(segments · (P + M)): no M×M array is kept
    assert est.sxy.shape == (2, len(pairs)) and est.s1.shape == (2, m)


def test_estimator_rejects_bad_blocks():
    est = PairCorrelation(4, [[0, 1]])
    with pytest.raises(ConfigError):
        est.update(np.zeros((3, 5)))
    with pytest.raises(ConfigError):
        PairCorrelation(4, [[0, 4]])


def test_gegenbauer_from_linear_readouts_and_finite_t_noise():
    """x_i(t) = ξ_i·y(t), y isotropic white: C → Eq. 10 → Eq. 11, noise std (1 − C²)/√T.

    The errors of all pairs derive from one empirical p×p covariance of y (p(p+1)/2 numbers), so
    their RMS over pairs fluctuates by ≈ 1/√(p(p+1)) between realisations: with p = 40 (≈ 2.5 %)
    a 10 % tolerance is 4 standard deviations.
    """
    rng = np.random.default_rng(4)
    m, p, t = 400, 40, 4000
    xi = rng.normal(size=(m, p))
    pairs = sample_pairs(m, 20_000, seed=4)
    est = PairCorrelation(m, pairs, segments=2)
    for s in range(2):
        est.update(rng.normal(size=(t // 2, p)) @ xi.T, segment=s)
    cos = th.cosine_bound(xi, pairs)
    C = est.correlations()
    # Bartlett: independent samples give Var(Ĉ) = (1 − ρ²)²/T; split-half estimate agrees
    expected = math.sqrt(np.mean((1 - cos**2) ** 2) / t)
    assert split_half_noise(est) == pytest.approx(expected, rel=0.1)
    assert np.sqrt(np.mean((C - cos) ** 2)) == pytest.approx(expected, rel=0.1)
    # KS of C vs Eq. 11 is the KS of the Eq. 10 values up to the blur (≪ here)
    assert (
        abs(
            ks_distance(C, lambda z: th.gegenbauer_cdf(z, p))[0]
            - ks_distance(cos, lambda z: th.gegenbauer_cdf(z, p))[0]
        )
        < 3 * expected
    )


def test_streamed_correlations_equal_batch_correlations_of_the_records():
    """correlations_of_run (streamed, records not kept) = Pearson correlations of the full record."""
    from lowdim.analysis.correlations import correlations_of_run

    cfg = RunConfig(
        neurons=600,
        rank=4,
        duration=0.1,
        dt=1e-4,
        record_dt=1e-3,
        burn_in=0.02,
        dtype="float64",
    )
    units = np.arange(300, 600, 15)
    est, got_units = correlations_of_run(cfg, n_pairs=50, units=units)
    np.testing.assert_array_equal(got_units, units)
    ds = simulate(cfg.replace(networks="rnn"), record_indices=units)
    X = ds.x.values[-80:]  # the records after burn-in
    assert np.abs(X).max() > 0.1
    C_full = np.corrcoef(X.T)
    i, j = est.pairs.T
    np.testing.assert_allclose(est.correlations(), C_full[i, j], rtol=0, atol=1e-9)


@pytest.mark.slow
def test_rnn_correlations_of_paper_network_follow_eq10():
    """Paper network, p = 3, N = 3000: C^rec ≈ Eq. 10 values up to finite-T and finite-N terms."""
    from lowdim import Tanh, paper
    from lowdim.analysis.correlations import correlations_of_run

    cfg = RunConfig(neurons=3000, rank=3, duration=15.0, dt=1e-3, record_dt=5e-3, burn_in=0.2)
    conn = paper(3000, 3, Tanh(), seed=0, dtype=np.float32)
    est, units = correlations_of_run(cfg, conn, n_units=200, n_pairs=10**6)
    C = est.correlations()
    cos = th.cosine_bound(np.asarray(conn.F, np.float64)[units], est.pairs)
    sig = split_half_noise(est)
    # finite-T noise (σ_T) plus an O(1/√N) anisotropy of the latent covariance
    assert np.mean(np.abs(C - cos)) < 3 * sig + 3 / math.sqrt(cfg.neurons)
    assert np.corrcoef(C, cos)[0, 1] > 0.95
