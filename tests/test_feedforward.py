"""The feedforward model of SM Sec. V and its membrane-noise version (SM Sec. VI)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lowdim
from lowdim.models.feedforward import (
    check_bound,
    feedforward_check,
    feedforward_line,
    in_source_norms,
    lnp_constant,
    membrane_constant,
)

BASE = lowdim.RunConfig(
    neurons=600,
    rank=12,
    duration=0.5,
    burn_in=0.1,
    record_neurons=300,
    record_dt=1e-2,
    record_overlaps=0,
    seed=7,
    dtype="float64",
)


def test_in_source_norms_match_the_dense_matrix():
    phi = lowdim.Tanh()
    conn = lowdim.paper(300, 7, phi, seed=3, dtype=np.float64)
    W = conn.dense()
    rows = np.arange(150, 300, 7)
    want = np.linalg.norm(W[rows, :150], axis=1)  # in-sources only (feedforward model)
    np.testing.assert_allclose(in_source_norms(conn, 150, rows), want, rtol=1e-12)
    with pytest.raises(ValueError):
        in_source_norms(conn, 150, [3])


def test_constants_and_line():
    # continuous constants of Eq. S21 and SM VI; the grid ones converge to them as dt → 0
    assert lnp_constant(100.0, 0.01) == pytest.approx(math.sqrt(100 / 0.02))
    assert membrane_constant(100.0, 0.01) == pytest.approx(math.sqrt(5000) + 100)
    for dt in (1e-4, 1e-5):
        rel = lnp_constant(100.0, 0.01, dt) / lnp_constant(100.0, 0.01) - 1
        assert 0 < rel < dt / 0.01  # ≈ dt/(2τ)
        assert membrane_constant(100.0, 0.01, dt) > membrane_constant(100.0, 0.01)
    phi = lowdim.Tanh()
    # ‖J_i‖ → √(α/c) (Eq. 14) turns the bound into the Fig. 2 line
    a = np.array([1e-4, 1e-2])
    np.testing.assert_allclose(
        feedforward_line(a, phi, 0.01), lnp_constant(phi.max, 0.01) * np.sqrt(a / phi.c)
    )
    chk = check_bound([0.1, 0.3, 0.2], [0.2, 0.2, 0.2])
    assert (chk.n, chk.satisfied) == (3, 2) and chk.worst_ratio == pytest.approx(1.5)


def test_feedforward_bound_holds_for_every_recorded_neuron():
    res = feedforward_check(BASE)
    chk = res["check"]
    assert chk["n"] == 300  # every rec neuron of this network
    assert chk["fraction"] == 1.0, chk
    # the bound is an upper bound, not a tautology: the distances are a sizeable fraction of it
    # (E|X| = √(2/π) sd for Gaussian X and rates well below max φ), and scale with ‖J_i‖
    assert 0.15 < chk["mean_ratio"] < chk["worst_ratio"] < 1
    d, norm = np.array(res["distance"]), np.array(res["norm"])
    assert np.corrcoef(d, norm)[0, 1] > 0.5
    # Eq. 14 on the N/2 in-sources: mean norm ≈ √(α/(2c)) (SD of ‖J_i‖² ≈ √(2α/N)/c → < 5 %)
    assert res["norm_mean"] == pytest.approx(res["norm_theory_in_sources"], rel=0.1)


def test_zero_membrane_noise_is_the_plain_model():
    """σ̃ → 0: the generalized network (SNN noise σ̃ dW, RNN with Φ(x̄, Σ_k)) is the plain one.

    σ̃ = 1e-9 switches the membrane-noise code path on (Gauss–Hermite Φ, noise draws); its effect
    on potentials is ~1e-9, far below the tolerance, and it flips no spike.
    """
    cfg = BASE.replace(topology="feedforward", record_neurons=20, duration=0.2, burn_in=0.05)
    plain = lowdim.simulate(cfg)
    tiny = lowdim.simulate(cfg.replace(membrane_noise=1e-9))
    np.testing.assert_array_equal(plain.spike_time.values, tiny.spike_time.values)
    np.testing.assert_allclose(tiny.x.values, plain.x.values, atol=1e-7)
    np.testing.assert_allclose(tiny.h.values, plain.h.values, atol=1e-7)
    assert tiny.attrs["distance_rec"] == pytest.approx(plain.attrs["distance_rec"], abs=1e-7)


def test_membrane_noise_looser_bound_and_layer_one_noise_level():
    sd = 1.0
    sigma_tilde = sd * math.sqrt(2 * BASE.tau)  # stationary sd of the noise part of h^in = 1
    res = feedforward_check(BASE.replace(membrane_noise=sigma_tilde))
    chk = res["check"]
    assert res["bound_kind"].startswith("membrane")
    assert chk["fraction"] == 1.0, chk
    # layer 1: h − x̄ is the membrane-noise OU process alone; its grid variance Σ_∞ is the one the
    # RNN's Φ(x̄, Σ_k) uses, and E|h − x̄| = √(2/π) √Σ_∞ (mean over 300 neurons × 40 τ: < 3 %)
    e = math.exp(-BASE.dt / BASE.tau)
    var = sigma_tilde**2 * BASE.dt / BASE.tau**2 / (1 - e * e)
    assert res["distance_in"] == pytest.approx(math.sqrt(2 / math.pi * var), rel=0.05)
