"""Ring model (Fig. 1A, Eq. 5)."""

import math

import numpy as np
import pytest
from scipy import stats

from lowdim import RunConfig, Tanh
from lowdim.analysis import theory as th
from lowdim.analysis.correlations import ks_distance, split_half_noise
from lowdim.models.ring import (
    ring_angles,
    ring_connectivity,
    ring_correlations,
    ring_rnn_correlations,
)


def test_ring_correlations_follow_arcsine():
    """Independent pairs (disjoint units) at a fixed seed: KS test at level 0.001."""
    n = 40_000
    theta = ring_angles(2 * n, seed=1)
    pairs = np.stack([np.arange(n), n + np.arange(n)], axis=1)
    c = ring_correlations(theta, pairs)
    assert stats.kstest(c, th.arcsine_cdf).pvalue > 1e-3
    assert stats.kstest(c, lambda z: th.gegenbauer_cdf(z, 3)).pvalue < 1e-3


def test_ring_connectivity_is_cosine_kernel():
    theta = ring_angles(300, seed=2)
    phi = Tanh()
    conn = ring_connectivity(theta, phi.c, dtype=np.float64)
    W = conn.dense()
    ref = 2.0 / (phi.c * 300) * np.cos(theta[:, None] - theta[None, :])
    np.fill_diagonal(ref, 0.0)
    np.testing.assert_allclose(W, ref, rtol=1e-10, atol=1e-18)


@pytest.mark.slow
def test_ring_rnn_correlations_match_arcsine():
    cfg = RunConfig(neurons=2000, rank=2, duration=20.0, dt=1e-3, record_dt=5e-3, burn_in=0.2)
    r = ring_rnn_correlations(cfg, n_units=300, n_pairs=10**6)
    C, cos = r["C"], r["cos"]
    sig = split_half_noise(r["est"])
    # measured C = cos(θ_i − θ_j) up to the finite-T noise σ_T and the O(1/√N) anisotropy of the
    # finite ring (Σ cos² θ_j ≠ Σ sin² θ_j)
    assert np.mean(np.abs(C - cos)) < 3 * sig + 3 / math.sqrt(cfg.neurons)
    ks_c = ks_distance(C, th.arcsine_cdf)[0]
    ks_cos = ks_distance(cos, th.arcsine_cdf)[0]
    assert ks_c < ks_cos + 3 * sig + 3 / math.sqrt(cfg.neurons)
    # Var of the arcsine law is 1/2; shrunk by at most the blur and finite-N terms
    assert abs(C.var() - 0.5) < 2 * (3 * sig + 3 / math.sqrt(cfg.neurons))
