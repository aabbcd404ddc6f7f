"""The latent reduction κ (lowdim.models.latent) against closed forms, a plain NumPy loop, and
N-neuron networks (first-order 1/√N theory for the tolerances)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lowdim


def test_runs_that_differ_only_in_input_arrays_do_not_share_them():
    """Regression (engine): two runs of networks with equal shapes but different drive arrays,
    input vectors or Along coefficients share one compiled program; each must use its own
    arrays (Program.prepare reads them from the network it is given)."""
    N = 200
    rng = np.random.default_rng(0)
    F = rng.standard_normal((N, 2))
    grid = lowdim.Grid(1e-3, 50, 10)
    finals = []
    for amp in (1.0, 3.0):
        u = np.full((50, 2), amp, np.float32)
        V = amp * rng.standard_normal((N, 1))
        net = lowdim.Network(
            neurons=N,
            F=F,
            G=0.5 * F,
            scale=1 / N,
            kinds=(lowdim.Rate(lowdim.Tanh()),),
            inputs=(
                lowdim.Drive(u, lowdim.Along(amp * np.eye(2))),
                lowdim.Drive(u[:, :1], V),
            ),
        )
        got = lowdim.run(net, grid, {"x": lowdim.Potentials()}).x.values[-1]
        fresh = lowdim.solve(net, grid, jax.random.PRNGKey(0), {"x": lowdim.Potentials()})["x"][-1]
        np.testing.assert_allclose(got, np.asarray(fresh), rtol=1e-6, atol=1e-6)
        finals.append(got)
    assert not np.allclose(finals[0], finals[1])


# ----------------------------------------------------------------------------- the κ equations
from scipy import integrate, optimize  # noqa: E402

from lowdim.models.latent import (  # noqa: E402
    LatentModel,
    Quadrature,
    RingDensity,
    gaussian_rank2,
    power_law_fit,
    relative_error,
    sample_drive,
    stability_of,
)

MODEL = gaussian_rank2()  # J = diag(2, 1.5), r_max = 100 Hz, τ = 10 ms


def _sech2_mean(r):
    """E[sech²(r ζ)], ζ ~ N(0, 1), by adaptive quadrature (independent of the GH rule)."""
    f = lambda z: np.exp(-0.5 * z * z) / np.cosh(r * z) ** 2 / math.sqrt(2 * math.pi)  # noqa: E731
    return integrate.quad(f, -40, 40, epsabs=1e-14, epsrel=1e-12, limit=200)[0]


def test_overlaps_equal_steins_closed_form():
    """m(κ) = J κ E[sech²(‖κ‖ ζ)] (Stein's lemma; the constant r_max/2 of φ integrates to 0)."""
    J = np.diag([2.0, 1.5])
    for k in ([0.7, -0.3], [1.5, 0.2], [0.0, 2.5]):
        k = np.array(k)
        np.testing.assert_allclose(
            MODEL.overlaps(k), J @ k * _sech2_mean(np.linalg.norm(k)), rtol=1e-9, atol=1e-12
        )


def test_fixed_points_and_their_stability():
    """Stable points on the κ₁ axis at E[sech²(r ζ)] = 1/2, saddles on the κ₂ axis at 2/3, the
    origin unstable with eigenvalues (j − 1)/τ; the rotation model has only the origin, with
    eigenvalues (2 cos 45° − 1 ± 2i sin 45°)/τ."""
    r1 = optimize.brentq(lambda r: _sech2_mean(r) - 0.5, 0.1, 5)
    r2 = optimize.brentq(lambda r: _sech2_mean(r) - 1 / 1.5, 0.1, 5)
    starts = [[a, b] for a in (-2, -0.5, 0, 0.5, 2) for b in (-2, 0, 2)]
    fps = MODEL.fixed_points(starts)
    kinds = sorted((f["stability"], round(float(np.linalg.norm(f["kappa"])), 6)) for f in fps)
    assert kinds == sorted(
        [("stable", round(r1, 6))] * 2 + [("saddle", round(r2, 6))] * 2 + [("unstable", 0.0)]
    )
    origin = next(f for f in fps if f["stability"] == "unstable")
    np.testing.assert_allclose(sorted(origin["eigenvalues"].real), [50.0, 100.0], rtol=1e-9)
    g = 2.0
    cyc = gaussian_rank2(((g * 0.5**0.5, -g * 0.5**0.5), (g * 0.5**0.5, g * 0.5**0.5)))
    fc = cyc.fixed_points(starts)
    assert len(fc) == 1 and fc[0]["stability"] == "unstable"
    ev = np.sort_complex(fc[0]["eigenvalues"])
    expected = (g * 0.5**0.5 - 1) / 0.01 + np.array([-1j, 1j]) * g * 0.5**0.5 / 0.01
    np.testing.assert_allclose(ev, expected, rtol=1e-9)
    assert stability_of([0.0, -3.0]) == "neutral" and stability_of([1.0, -1.0]) == "saddle"


def test_engine_step_equals_a_numpy_loop_and_rk4_converges():
    """integrate(scheme='engine') against a plain NumPy loop with its own quadrature
    (Gauss–Hermite 60², where the model uses the trapezoid rule: the two rules agree to ~1e-11
    on this integrand); the engine step's O(dt) error against RK4 halves with dt."""
    dt, steps = 5e-4, 60
    u = np.zeros((steps, 2))
    u[20:30, 0] = -2.0
    got = MODEL.integrate([0.5, 1.0], dt, steps, 1, drive=u).kappa
    x, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / math.sqrt(2 * math.pi)
    Z = np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2)
    W = np.outer(w, w).reshape(-1)
    G = Z @ np.diag([2.0, 1.5]) * 0.02
    e = math.exp(-dt / 0.01)
    k = np.array([0.5, 1.0])
    ref = []
    for i in range(steps):
        m = (W * 50.0 * (1 + np.tanh(Z @ k))) @ G
        k = e * k + (dt / 0.01) * m + (1 - e) * u[i]
        ref.append(k)
    np.testing.assert_allclose(got, np.array(ref), rtol=0, atol=1e-9)
    T = 0.05
    fine = MODEL.integrate([0.5, 1.0], 1e-4, 500, 500, scheme="rk4", refine=4).kappa[-1]
    errs = [
        np.linalg.norm(MODEL.integrate([0.5, 1.0], d, int(round(T / d)), 1).kappa[-1] - fine)
        for d in (4e-4, 2e-4)
    ]
    assert 1.8 < errs[0] / errs[1] < 2.2


def test_network_projection_equals_the_kappa_equations_within_the_sqrt_n_tolerance():
    """N = 50 000 rate neurons (z from the RowSampler), projected on F: the relative L2 error
    against the κ equations on the same grid is a norm of (1/N) Σ_i S(z_i), a mean of N i.i.d.
    terms (finite_n_theory); its RMS over seeds is rel_quenched/√N (the experiment measures
    slope −0.50 [−0.59, −0.41] and RMS within 0.7–1.05 × theory at N = 10³ … 10⁶). The error
    exceeds 4 × the predicted RMS with negligible probability."""
    dt = 5e-4
    grid = lowdim.Grid.of(0.1, dt, 2.5e-3)
    u = np.zeros((grid.steps, 2))
    u[100:160, 0] = -3.0
    ref = MODEL.integrate([0.5, 1.0], dt, grid.steps, grid.record_every, drive=u)
    th = MODEL.finite_n_theory([0.5, 1.0], dt, grid.steps, grid.record_every, drive=u)
    N = 50_000
    net, F = MODEL.network(N, (lowdim.Rate(MODEL.phi),), seed=5, kappa0=[0.5, 1.0], drive=u)
    k = lowdim.run(net, grid, {"k": lowdim.Projection.least_squares(F)}).k.values
    assert relative_error(k, ref.kappa) < 4 * th["rel_quenched"] / math.sqrt(N)


def test_sampler_stored_procedural_and_arrays_give_the_same_run():
    """The model's RowSampler network with stored loadings and with procedural loadings (rows
    regenerated from the seed every step, O(N) memory: how N = 10⁶ … runs without storing F
    and G): the same numbers (float32 rounding of different summation orders)."""
    N = 3000
    grid = lowdim.Grid(5e-4, 20, 5)
    outs = []
    for layout in (lowdim.Layout(), lowdim.Layout(loadings="procedural")):
        net, F = MODEL.network(N, (lowdim.Rate(MODEL.phi),), seed=2, kappa0=[0.3, 0.2])
        ds = lowdim.run(net, grid, {"k": lowdim.Projection.least_squares(F)}, layout=layout)
        outs.append(ds.k.values)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-6)


def _first_two(z):
    """f written to LatentModel's contract: z (n, d) → (n, 2), by 2-D indexing."""
    if z.ndim != 2:
        raise AssertionError(f"f was called on z of shape {z.shape}, not (n, d)")
    return z[:, :2]


def _first_two_scaled(z):
    return 0.02 * _first_two(z)


def test_f_and_g_written_to_the_documented_contract_build_and_run_the_network():
    """Regression: f, g are documented as z (n, d) → (n, D); the network's row sampler called
    them on (tiles, 1024, d), so ``lambda z: z[:, :2]`` passed construction and failed with a
    reshape TypeError. Stored and procedural loadings must give the run of the same network
    built from the arrays F = z[:, :2], G = 0.02 F (f, g not called there)."""
    from lowdim.models.latent import GaussianDensity

    model = LatentModel(
        f=_first_two, g=_first_two_scaled, phi=MODEL.phi, density=GaussianDensity(3)
    )
    N = 1500  # two tiles, the second one partly padding
    grid = lowdim.Grid(5e-4, 20, 5)
    net, F = model.network(N, (lowdim.Rate(MODEL.phi),), seed=4, kappa0=[0.4, -0.3])
    assert F.shape == (N, 2) and np.all(np.isfinite(F))
    # the rows are the first two coordinates of z ~ N(0, I₃)
    assert abs(F.mean()) < 5 / math.sqrt(F.size) and abs(F.var() - 1) < 0.1
    ref_net = lowdim.Network(
        neurons=N,
        F=F.astype(np.float32),
        G=(0.02 * F).astype(np.float32),
        scale=1.0 / N,
        kinds=(lowdim.Rate(MODEL.phi),),
        tau=model.tau,
        x0=(F @ np.array([0.4, -0.3])).astype(np.float32),
    )
    probe = {"x": lowdim.Potentials()}
    ref = lowdim.run(ref_net, grid, probe).x.values
    for layout in (lowdim.Layout(), lowdim.Layout(loadings="procedural")):
        got = lowdim.run(net, grid, probe, layout=layout).x.values
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_quadrature_rules_and_drive_sampling():
    q = Quadrature.gauss_hermite(2, 20)
    assert q.expect(lambda z: z[:, 0] ** 2 * z[:, 1] ** 4) == pytest.approx(3.0, rel=1e-12)
    t = Quadrature.gaussian_trapezoid(1, 401)
    assert t.expect(lambda z: np.cos(z[:, 0])) == pytest.approx(math.exp(-0.5), rel=1e-12)
    r = Quadrature.ring(16)
    assert r.expect(lambda z: np.cos(3 * z[:, 0]) ** 2) == pytest.approx(0.5, abs=1e-15)
    u = sample_drive(lambda t: jnp.stack([t, 2 * t]), 0.1, 4)
    np.testing.assert_allclose(u, [[0, 0], [0.1, 0.2], [0.2, 0.4], [0.3, 0.6]], atol=1e-15)


def test_latent_validation():
    with pytest.raises(lowdim.ConfigError, match="scheme"):
        MODEL.integrate([0, 0], 1e-3, 10, scheme="euler")
    with pytest.raises(lowdim.ConfigError, match="multiple"):
        MODEL.integrate([0, 0], 1e-3, 10, 3)
    with pytest.raises(lowdim.ConfigError, match="drive"):
        MODEL.integrate([0, 0], 1e-3, 10, drive=np.zeros((5, 2)))
    with pytest.raises(lowdim.ConfigError, match="kappa0"):
        MODEL.integrate([0, 0, 0], 1e-3, 10)
    with pytest.raises(lowdim.ConfigError, match="loadings"):
        MODEL.network(100, (lowdim.Rate(MODEL.phi),), loadings="disk")
    with pytest.raises(lowdim.ConfigError, match="density's dimension"):
        LatentModel(f=MODEL.f, g=MODEL.g, phi=MODEL.phi, density=RingDensity())  # z is 1-D
    with pytest.raises(lowdim.ConfigError, match="tau"):
        LatentModel(f=MODEL.f, g=MODEL.g, phi=MODEL.phi, density=MODEL.density, tau=0)
    from lowdim.models.field import CosineKernel, ring_latent

    with pytest.raises(lowdim.ConfigError, match="D = 2"):
        ring_latent(CosineKernel((0.1, 0.2)), MODEL.phi).flow((-1, 1), (-1, 1))
    from lowdim.experiments import latent as demo

    with pytest.raises(lowdim.ConfigError, match="scale"):
        demo.run(scale="huge", out="unused", progress=False)


@pytest.mark.slow
def test_error_falls_like_one_over_sqrt_n_with_its_predicted_prefactor():
    """Paired rate / Poisson networks, N = 10³ … 10⁵, 6 seeds: the slope of log error vs log N
    has a 95 % CI containing −1/2; at each N the RMS over seeds is within a factor 1.6 of the
    first-order theory (6 seeds: the RMS of a norm of a Gaussian vector with ≥ 2 effective
    degrees of freedom lies within ×/÷ 1.6 of its expectation with probability > 99 %); the
    Poisson − rate difference (the spike term alone) likewise against its own theory."""
    dt = 5e-4
    grid = lowdim.Grid.of(0.2, dt, 2.5e-3)
    u = np.zeros((grid.steps, 2))
    u[200:260, 0] = -3.0
    ref = MODEL.integrate([0.5, 1.0], dt, grid.steps, grid.record_every, drive=u)
    th = MODEL.finite_n_theory([0.5, 1.0], dt, grid.steps, grid.record_every, drive=u)
    rows = []
    for n in (1_000, 10_000, 100_000):
        for s in range(6):
            net, F = MODEL.network(
                n,
                (lowdim.Rate(MODEL.phi), lowdim.Poisson(MODEL.phi)),
                seed=s,
                kappa0=[0.5, 1.0],
                drive=u,
                loadings="arrays",
            )
            k = lowdim.run(net, grid, {"k": lowdim.Projection.least_squares(F)}, seed=s).k.values
            rows.append(
                (
                    n,
                    relative_error(k[:, 0], ref.kappa),
                    relative_error(k[:, 1], k[:, 0], ref.kappa),
                )
            )
    rows = np.array(rows)
    fit = power_law_fit(rows[:, 0], rows[:, 1])
    assert fit["ci"][0] < -0.5 < fit["ci"][1], fit
    for n in (1_000, 10_000, 100_000):
        sel = rows[rows[:, 0] == n]
        rms_q = math.sqrt(np.mean(sel[:, 1] ** 2))
        rms_s = math.sqrt(np.mean(sel[:, 2] ** 2))
        assert 1 / 1.6 < rms_q / (th["rel_quenched"] / math.sqrt(n)) < 1.6, (n, rms_q)
        assert 1 / 1.6 < rms_s / (th["rel_spike"] / math.sqrt(n)) < 1.6, (n, rms_s)


@pytest.mark.slow
def test_lecture_latent_test_scale(tmp_path):
    """The demo at its test scale writes every file and the summary keys."""
    import json

    from lowdim.experiments import latent as demo

    demo.run(scale="test", out=tmp_path / "l", progress=False)
    js = json.loads((tmp_path / "l" / "summary.json").read_text())
    for f in js["files"]:
        assert (tmp_path / "l" / f).exists(), f
    assert set(js["errors_by_n"]) == {"500", "2000", "8000"}
    assert js["error_slope"] < 0 and len(js["error_slope_ci"]) == 2
    assert js["errors_by_n"]["8000"] < js["errors_by_n"]["500"]
