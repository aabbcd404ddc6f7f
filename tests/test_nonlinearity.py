"""Transfer functions: Gaussian moments a, c against high-precision quadrature; Φ(x̄, Σ)."""

import math

import mpmath as mp
import numpy as np
import pytest

import lowdim
from lowdim import ConfigError, Erf, Sigmoid, Tanh, make_transfer


def _mp_moments(f, centre):
    mp.mp.dps = 40
    g = lambda z: mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
    a = mp.quad(lambda z: f(z) * g(z), [-mp.inf, centre, mp.inf])
    c = mp.quad(lambda z: (f(z) - a) ** 2 * g(z), [-mp.inf, centre, mp.inf])
    return float(a), float(c)


@pytest.mark.parametrize(
    "phi, f, centre",
    [
        (Tanh(b=2.0, tau=0.01), lambda z: (mp.tanh(z - 2) + 1) / (2 * mp.mpf("0.01")), 2),
        (Tanh(b=0.5, tau=0.02), lambda z: (mp.tanh(z - 0.5) + 1) / (2 * mp.mpf("0.02")), 0.5),
        (Sigmoid(b=1.0, beta=3.0, rmax=80.0), lambda z: 80 / (1 + mp.exp(-3 * (z - 1))), 1),
        (
            Erf(b=2.0, s=0.7, rmax=50.0),
            lambda z: 50 * (1 + mp.erf((z - 2) / (mp.sqrt(2) * 0.7))) / 2,
            2,
        ),
    ],
)
def test_moments_ten_significant_digits(phi, f, centre):
    a, c = _mp_moments(f, centre)
    assert phi.a == pytest.approx(a, rel=1e-11)
    assert phi.c == pytest.approx(c, rel=1e-11)


def test_paper_phi_bounds():
    phi = Tanh()
    assert phi.max == pytest.approx(100.0)  # 1/τ: Eq. 3 holds
    x = np.linspace(-50, 50, 1001)
    v = np.asarray(phi(x))
    assert v.min() >= 0 and v.max() <= phi.max


def test_smoothed_matches_closed_form_for_erf():
    phi = Erf(b=2.0, s=0.8, rmax=100.0)
    xbar = np.linspace(-3, 6, 37)
    for var in (0.0, 0.1, 1.0, 5.0):
        with lowdim.float64():  # the comparison is made in float64
            got = np.asarray(phi.smoothed(xbar, np.full_like(xbar, var)))
        # 64-node Gauss–Hermite: error far below 1e-7 · max φ for Σ up to ~8 s²
        np.testing.assert_allclose(got, phi.smoothed_exact(xbar, var), rtol=0, atol=1e-7 * phi.max)


def test_smoothed_at_zero_variance_is_phi_and_monte_carlo_otherwise():
    phi = Tanh()
    x = np.linspace(-2, 5, 15)
    with lowdim.float64():
        np.testing.assert_allclose(
            np.asarray(phi.smoothed(x, np.zeros_like(x))), np.asarray(phi(x)), rtol=1e-12
        )
    rng = np.random.default_rng(0)
    z = rng.standard_normal(400_000)
    var = 0.7
    for xb in (0.0, 2.0, 3.5):
        samples = phi.numpy(xb + math.sqrt(var) * z)
        se = samples.std() / math.sqrt(len(z))
        got = float(phi.smoothed(np.array(xb), np.array(var)))
        assert abs(got - samples.mean()) < 5 * se


def test_make_transfer_errors():
    with pytest.raises(ConfigError, match="unknown transfer"):
        make_transfer("relu")
    with pytest.raises(ConfigError, match="unknown parameter"):
        make_transfer("tanh", gain=3)
    with pytest.raises(ConfigError, match="finite"):
        make_transfer("tanh", b=float("nan"))
    with pytest.raises(ConfigError, match="> 0"):
        make_transfer("erf", s=-1.0)
