"""The Hopfield model (lowdim.models.hopfield) on the general engine.

- one-step dynamics equal a dense N × N NumPy version (synchronous and asynchronous sign updates,
  synchronous Glauber updates with the engine's documented random numbers);
- the mean-field map (H4) against large-N simulations, with tolerances derived from 1/√N;
- retrieval at low load, failure for strongly correlated patterns, the capacity breakdown;
- the map's fixed points, β_c and the AGS theory against independent evaluations.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate
from scipy.special import erf

import lowdim
from lowdim import Grid, solve
from lowdim import probes as pr
from lowdim.models import hopfield as H
from results_check import assert_results_match_summary


def _fold(key, *ids):
    for i in ids:
        key = jax.random.fold_in(key, i)
    return key


def _dense(pat):
    """W = (1/N) P Pᵀ with w_ii = 0, float64."""
    n = pat.shape[0]
    W = pat.astype(np.float64) @ pat.T.astype(np.float64) / n
    np.fill_diagonal(W, 0.0)
    return W


# ----------------------------------------------------------------------------- dense reference
def test_synchronous_sign_steps_equal_dense_numpy():
    """N = 300, P = 45 (load 0.15: many neurons change sign). No field is exactly 0: N·h_i =
    Σ_μ p_i^μ Σ_{j≠i} p_j^μ S_j, each inner sum has N − 1 = 299 (odd) terms ±1, so it is odd, and
    a sum of P = 45 (odd) odd integers is odd. The sign is unambiguous, so float32 must give
    exactly the states of the float64 reference."""
    n, p = 300, 45
    pat = H.random_patterns(n, p, seed=1)
    cue = H.corrupt(pat[:, 0], 0.3, seed=2)
    W = _dense(pat)
    net = H.hopfield_network(pat, cue, "sync")
    out = solve(net, Grid(1.0, 6), jax.random.PRNGKey(0), {"S": pr.Potentials()})
    S = cue.astype(np.float64)
    changed = 0
    for k in range(6):
        h = W @ S
        assert np.all(h != 0)
        S_new = np.sign(h)
        changed += int(np.sum(S_new != S))
        S = S_new
        np.testing.assert_array_equal(np.asarray(out["S"][k]), S, err_msg=f"step {k}")
    assert changed > 20  # the dynamics did something
    # the same through retrieve(): states and overlaps aligned (row t = after t steps)
    r = H.retrieve(pat, cue, 6, "sync", states=True)
    np.testing.assert_array_equal(r["S"], np.asarray(out["S"]))
    m_direct = np.concatenate([[cue], r["S"]]) @ pat / n
    np.testing.assert_allclose(r["m"], m_direct, atol=1e-6)


@pytest.mark.parametrize(
    "schedule, storage", [("async", None), ("continuous", None), ("async", "bfloat16")]
)
def test_sequential_overlaps_do_not_drift_over_sweeps(schedule, storage):
    """The event method keeps m up to date after every single update; its running sum must not
    accumulate rounding over steps (sweeps, or N dt/τ random updates): after each step the
    recorded overlaps equal S·ξ/N of the recorded states to float32 rounding of one product
    (≈ 1e-7), where running sums alone drifted by 7e-5 after five sweeps of 2·10⁴ neurons with
    1000 patterns."""
    N, P = 20_000, 1000
    pat = H.random_patterns(N, P, seed=0)
    cue = H.corrupt(pat[:, 0], 0.2, seed=1)
    r = H.retrieve(pat, cue, 5, schedule=schedule, modes=3, states=True, dt=0.5, storage=storage)
    exact = r["S"].astype(np.float64) @ np.asarray(pat[:, :3], np.float64) / N
    np.testing.assert_allclose(r["m"][1:], exact, rtol=0, atol=1e-6)


def test_asynchronous_sign_sweep_equals_dense_numpy():
    """One sweep in the order permutation(k1, N), (k1, k2) = split(fold_in(fold_in(key, 3), k)),
    each update seeing the ones before it (lowdim.event)."""
    n, p = 300, 45
    pat = H.random_patterns(n, p, seed=3)
    cue = H.corrupt(pat[:, 1], 0.3, seed=4)
    W = _dense(pat)
    key = jax.random.PRNGKey(5)
    with lowdim.float64():
        net = H.hopfield_network(pat, cue, "async", dtype="float64")
        out = solve(net, Grid(1.0, 2), key, {"S": pr.Potentials()})
        S = cue.astype(np.float64)
        for k in range(2):
            k1, _ = jax.random.split(_fold(key, 3, k))
            order = np.asarray(jax.random.permutation(k1, jnp.arange(n, dtype=jnp.int32)))
            for i in order:
                S[i] = np.sign(W[i] @ S)
            np.testing.assert_array_equal(np.asarray(out["S"][k]), S, err_msg=f"sweep {k}")
    r = H.retrieve(pat, cue, 2, "async", states=True, seed=5)  # key PRNGKey(5), as above
    np.testing.assert_array_equal(r["S"][-1], S)
    np.testing.assert_allclose(r["m"][0], cue @ pat / n, atol=1e-6)
    np.testing.assert_allclose(r["m"][-1], S @ pat / n, atol=1e-5)


@pytest.mark.parametrize("fold_beta", [False, True])
def test_synchronous_glauber_steps_equal_dense_numpy(fold_beta):
    """S_i ← +1 iff u_i < (1 + tanh(β h_i))/2 with u = uniform(fold_in(fold_in(key, 3), k), (N,))
    (the engine's documented stream for synchronous Glauber updates). ``fold_beta`` builds the
    same chain as Binary(beta=1) with scale β/N. float64: the two sides differ by rounding only,
    a flip needs u within ~1e-16 of the threshold."""
    n, p, beta, steps = 300, 45, 1.7, 8
    pat = H.random_patterns(n, p, seed=6)
    cue = H.corrupt(pat[:, 2], 0.2, seed=7)
    W = _dense(pat)
    key = jax.random.PRNGKey(8)
    with lowdim.float64():
        net = H.hopfield_network(pat, cue, "sync", beta=beta, dtype="float64", fold_beta=fold_beta)
        out = solve(net, Grid(1.0, steps), key, {"S": pr.Potentials()})
        S = cue.astype(np.float64)
        for k in range(steps):
            u = np.asarray(jax.random.uniform(_fold(key, 3, k), (n,), jnp.float64))
            S = np.where(u < 0.5 * (1 + np.tanh(beta * (W @ S))), 1.0, -1.0)
            np.testing.assert_array_equal(np.asarray(out["S"][k]), S, err_msg=f"step {k}")


# ----------------------------------------------------------------------------- mean-field map
def test_mean_field_map_against_quadrature_and_limits():
    """F(m) = ∫Dz tanh(β(m + √α z)) by Gauss–Hermite vs scipy quad; β = ∞ → erf; α = 0 →
    tanh(βm); slope vs central differences of F."""
    for m, a, b in [(0.3, 0.05, 2.0), (0.8, 0.2, 0.7), (0.05, 0.1, 5.0)]:
        ref = integrate.quad(
            lambda z, m=m, a=a, b=b: (
                math.tanh(b * (m + math.sqrt(a) * z))
                * math.exp(-z * z / 2)
                / math.sqrt(2 * math.pi)
            ),
            -12,
            12,
        )[0]
        assert abs(H.mean_field_map(m, a, b) - ref) < 1e-9
        d = (H.mean_field_map(m + 1e-5, a, b) - H.mean_field_map(m - 1e-5, a, b)) / 2e-5
        assert abs(H.mean_field_slope(m, a, b) - d) < 1e-6
    assert abs(H.mean_field_map(0.4, 0.1, math.inf) - erf(0.4 / math.sqrt(0.2))) < 1e-15
    assert abs(H.mean_field_map(0.4, 1e-4, 200.0) - erf(0.4 / math.sqrt(2e-4))) < 1e-3
    assert abs(H.mean_field_map(0.4, 0.0, 2.0) - math.tanh(0.8)) < 1e-15
    # a custom gain with the same odd part gives the same map
    g = lambda u: jax.nn.sigmoid(2 * u)  # noqa: E731  (1 + tanh u)/2 = sigmoid(2u)
    assert abs(H.mean_field_map(0.3, 0.05, 2.0, gain=g) - H.mean_field_map(0.3, 0.05, 2.0)) < 1e-9
    assert (
        abs(H.mean_field_slope(0.3, 0.05, 2.0, gain=g) - H.mean_field_slope(0.3, 0.05, 2.0)) < 1e-5
    )


def test_fixed_points_stability_and_critical_beta():
    """α → 0: m = 0 stable iff β < 1; m* = tanh(β m*) stable; β_c = 1. α > 0: β_c(α) > 1,
    increasing; β = ∞ map has a retrieval fixed point up to α = 2/π (the naive map's capacity)."""
    fps = H.fixed_points(0.0, 0.8)
    assert len(fps) == 1 and fps[0]["stable"]
    fps = H.fixed_points(0.0, 2.0)
    assert not fps[0]["stable"] and abs(fps[0]["slope"] - 2.0) < 1e-12
    (star,) = [f for f in fps if f["m"] > 0]
    assert abs(star["m"] - math.tanh(2 * star["m"])) < 1e-12 and star["stable"]
    assert abs(star["m"] - 0.957504) < 1e-6
    assert H.critical_beta(0.0) == 1.0
    b1, b2 = H.critical_beta(0.01), H.critical_beta(0.05)
    assert 1.0 < b1 < b2
    assert abs(H.mean_field_slope(0.0, 0.05, b2) - 1.0) < 1e-9
    assert any(f["m"] > 0.5 and f["stable"] for f in H.fixed_points(0.3, math.inf))
    assert any(f["m"] > 0 and f["stable"] for f in H.fixed_points(0.6, math.inf))
    assert not any(f["m"] > 0 for f in H.fixed_points(0.7, math.inf))
    assert H.critical_beta(0.7) == math.inf


def test_ags_theory():
    """Amit–Gutfreund–Sompolinsky T = 0: α_c = 0.1379 with m = 0.967; no retrieval beyond."""
    assert abs(H.ags_overlap(0.1379) - 0.9674) < 2e-3
    assert math.isnan(H.ags_overlap(0.14))
    a = np.array([0.01, 0.05, 0.1, 0.13])
    m = H.ags_overlap(a)
    assert np.all(np.diff(m) < 0) and m[0] > 0.99999
    from scipy.special import erfinv  # the equation: y(√(2α) + (2/√π) e^{−y²}) = erf(y)

    y = erfinv(m[1:])
    lhs = y * (np.sqrt(2 * a[1:]) + 2 / np.sqrt(np.pi) * np.exp(-(y**2)))
    np.testing.assert_allclose(lhs, erf(y), atol=1e-5)


def test_ags_finite_temperature_limits():
    """ags_state: α → 0 gives m* = tanh(β m*); β → ∞ gives the T = 0 overlap of ags_overlap;
    at α = 0.05 the retrieval state exists at β = 3 but not at β = 1.5 (β_M(0.05) ≈ 1.84)."""
    star = [f["m"] for f in H.fixed_points(0.0, 2.0) if f["m"] > 0][0]
    assert H.ags_state(1e-9, 2.0)["m"] == pytest.approx(star, abs=1e-6)
    assert H.ags_state(0.1, 200.0)["m"] == pytest.approx(H.ags_overlap(0.1), abs=1e-5)
    assert H.ags_state(0.05, 3.0)["retrieval"] and not H.ags_state(0.05, 1.5)["retrieval"]
    assert 1.7 < H.ags_retrieval_beta(0.05) < 2.0


def _first_step_sd(m0, load, beta, n):
    F = H.mean_field_map(m0, load, beta)
    dF = (H.mean_field_map(m0, load * 1.01, beta) - H.mean_field_map(m0, load * 0.99, beta)) / (
        0.02 * load
    )
    return math.sqrt((1 - F**2) / n + 2 * load / n * dF**2)


@pytest.mark.parametrize("load,beta", [(0.1, math.inf), (0.05, 2.0)])
def test_first_step_matches_mean_field_map(load, beta):
    """One synchronous step from cues of overlap m₀ (exactly (1 − m₀)/2 of the bits flipped),
    N = 20 000, P = αN: each trial's m(1) within 5 sd of F(m₀). The sd, to order 1/√N:

    - m(1) = (1/N) Σ_i p_i S_i(1) averages N terms of variance 1 − F² (law of total variance:
      E[1 − tanh²] + Var[tanh] for Glauber, 1 − F² for sign updates), so (1 − F²)/N;
    - the crosstalk variance is V = Σ_{μ≠1} (m^μ)², each m^μ of variance 1/N: V = α(1 ± √(2/P)),
      i.e. sd √(2α/N), which moves F by ∂F/∂α · √(2α/N).

    Both are independent, so sd² = (1 − F²)/N + (2α/N)(∂F/∂α)²."""
    n, B = 20_000, 4
    p = round(load * n)
    pat = H.random_patterns(n, p, seed=11)
    m0s = [0.2, 0.5]
    cues = np.stack([H.corrupt(pat[:, b], (1 - m0) / 2, seed=b) for m0 in m0s for b in range(B)])
    r = H.retrieve(pat, cues, 1, "sync", beta, modes=B, seed=3)
    for k, m0 in enumerate(m0s):
        for b in range(B):
            row = k * B + b
            assert r["m"][row, 0, b] == pytest.approx(m0, abs=1e-6)
            F = H.mean_field_map(m0, load, beta)
            sd = _first_step_sd(m0, load, beta, n)
            assert abs(r["m"][row, 1, b] - F) < 5 * sd, (m0, b, r["m"][row, 1, b], F, sd)


@pytest.mark.parametrize("beta", [0.8, 2.0])
def test_low_load_glauber_follows_iterated_map(beta):
    """α = 5·10⁻⁴ (N = 20 000, P = 10): the map m(t+1) = tanh(β m(t)) holds at every step.
    Tolerance: the one-step noise sd_t² = (1 − F(m_t)²)/N propagated linearly,
    var_{t+1} = F'(m_t)² var_t + sd_t² (F' = β(1 − tanh²)); each trial within 5 sd at every t."""
    n, p, steps = 20_000, 10, 10
    pat = H.random_patterns(n, p, seed=12)
    cues = np.stack([H.corrupt(pat[:, 0], (1 - m0) / 2, seed=k) for k, m0 in enumerate([0.3, 0.9])])
    r = H.retrieve(pat, cues, steps, "sync", beta, modes=1, seed=4)
    load = p / n
    for row in range(2):
        sim = r["m"][row, :, 0]
        m, var = sim[0], 0.0
        for t in range(steps):
            var = (
                H.mean_field_slope(m, load, beta) ** 2 * var
                + (1 - H.mean_field_map(m, load, beta) ** 2) / n
            )
            m = float(H.mean_field_map(m, load, beta))
            assert abs(sim[t + 1] - m) < 5 * math.sqrt(var) + 1e-6, (row, t, sim[t + 1], m)


# ----------------------------------------------------------------------------- retrieval, capacity
def test_random_patterns_retrieved_correlated_ones_not():
    """N = 2000, P = 10 (α = 0.005), cues with 10 % flipped, 8 asynchronous sweeps. Random
    patterns: overlap > 0.98 with the cued pattern. Pairwise correlation 0.5 (b = 0.71,
    (P − 1) b³ = 3.2 ≫ 1): the state goes to the prototype (overlap > 0.95) and its overlap with
    the cued pattern stays near b = 0.71 (< 0.8)."""
    n, p = 2000, 10
    for c, expect_ok in [(0.0, True), (0.5, False)]:
        pat, xi = H.correlated_patterns(n, p, c, seed=5)
        pair = (pat.T @ pat / n)[np.triu_indices(p, 1)]
        assert abs(pair.mean() - c) < 4 / math.sqrt(n * p * (p - 1) / 2) + 0.02
        cues = np.stack([H.corrupt(pat[:, b], 0.1, seed=b) for b in range(3)])
        r = H.retrieve(pat, cues, 8, "async", states=True, seed=1)
        own = r["m"][np.arange(3), -1, np.arange(3)]
        proto = r["S"][:, -1] @ xi / n
        if expect_ok:
            assert np.all(own > 0.98)
        else:
            assert np.all(own < 0.8) and np.all(proto > 0.95)


def test_capacity_low_and_high_load():
    """N = 2000, synchronous updates from each of 16 stored patterns: at α = 0.08 (far below
    α_c) all are retrieved (final m > 0.9); at α = 0.25 (far above) at most 2 of 16."""
    low = H.final_overlaps(2000, 0.08, trials=16, seed=1)
    high = H.final_overlaps(2000, 0.25, trials=16, seed=1, pad_to=500)
    assert low["retrieved"].all() and low["converged"].all()
    assert high["retrieved"].sum() <= 2
    assert np.all(high["final"] < 0.6)
    assert low["m"][:, 0].min() == 1.0


def test_critical_load_recovers_a_probit_threshold():
    """Synthetic outcomes with P(retrieved) = Φ((0.15 − α)/0.01), 200 trials per load: the fit is
    within 4 bootstrap s.e. of 0.15, and the s.e. is close to the binomial one (~1e-3)."""
    from scipy.special import ndtr

    rng = np.random.default_rng(0)
    loads = np.linspace(0.12, 0.18, 7)
    out = rng.random((7, 200)) < ndtr((0.15 - loads) / 0.01)[:, None]
    est = H.critical_load(loads, out, bootstrap=200)
    assert abs(est["alpha"] - 0.15) < 4 * est["stderr"]
    assert 2e-4 < est["stderr"] < 3e-3


def test_bad_input_messages():
    with pytest.raises(lowdim.ConfigError, match="correlation"):
        H.correlated_patterns(10, 2, 1.5)
    with pytest.raises(lowdim.ConfigError, match="positive integer"):
        H.random_patterns(0, 3)
    with pytest.raises(lowdim.ConfigError, match="±1"):
        H.corrupt(np.array([0.5, 1.0]), 0.1)
    with pytest.raises(lowdim.ConfigError, match="load"):
        H.mean_field_map(0.1, -0.1)
    with pytest.raises(lowdim.ConfigError, match="trials"):
        H.final_overlaps(100, 0.05, trials=8)
    from lowdim.experiments import hopfield as demo

    with pytest.raises(lowdim.ConfigError, match="unknown scale .huge.*choose one of.*small"):
        demo.run(scale="huge", out="/nonexistent/never-written")


# ----------------------------------------------------------------------------- slow
@pytest.mark.slow
def test_capacity_breakdown_near_alpha_c():
    """N = 10⁴, 2 networks × 16 stored patterns per load, loads 0.12 … 0.18: the load α_50 where
    half of the patterns are retrieved lies in [0.138, 0.165] (finite-size shift upwards from
    α_c = 0.138; 0.165 is ~5 s.e. above the value 0.152 measured at this N)."""
    loads = [0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.18]
    out = []
    for a in loads:
        r = [
            H.final_overlaps(10_000, a, trials=16, seed=s, pad_to=1800)["retrieved"]
            for s in range(2)
        ]
        out.append(np.concatenate(r))
    est = H.critical_load(loads, np.array(out))
    assert H.ALPHA_C <= est["alpha"] <= 0.165


@pytest.mark.slow
def test_lecture_hopfield_test_scale(tmp_path):
    """The demo at its test scale writes every file and the summary keys."""
    import json

    from lowdim.experiments import hopfield as demo

    s = demo.run(scale="test", out=tmp_path / "h", progress=False)
    for f in s["files"]:
        assert (tmp_path / "h" / f).exists(), f
    js = json.loads((tmp_path / "h" / "summary.json").read_text())
    assert js["retrieval_overlap"] > 0.95
    assert 0.1 < js["critical_load_estimate"] < 0.25
    assert_results_match_summary(js)
    assert "| critical load α_c |" in (tmp_path / "h" / "report.md").read_text()


# ----------------------------------------------------------------------------- conventions
def _sgn(h, s, zero):
    """The reference sign: sgn 0 keeps the state ("keep") or gives +1 ("plus")."""
    return np.where(h > 0, 1.0, np.where(h < 0, -1.0, s if zero == "keep" else 1.0))


@pytest.mark.parametrize("zero", ["keep", "plus"])
def test_sign_of_a_zero_field_sync_dense_method(zero):
    """N = 64, P = 6, four random initial states: N·h_i = Σ_μ p_i^μ Σ_{j≠i} p_j^μ S_j sums
    P = 6 odd integers (≡ 0 mod 4 for N = 64, P ≡ 2 mod 4), so fields exactly 0 occur; every
    value is a multiple of 1/64 (exact in float32), so the engine must give exactly the states
    of the dense float64 reference with either convention."""
    n, p, steps = 64, 6, 6
    pat = H.random_patterns(n, p, seed=11)
    cue = np.random.default_rng(12).choice(np.float32([-1, 1]), (4, n))
    W = _dense(pat)
    net = H.hopfield_network(pat, cue, "sync", zero=zero)
    out = solve(net, Grid(1.0, steps), jax.random.PRNGKey(0), {"S": pr.Potentials()})
    S, zeros = cue.astype(np.float64), 0
    for k in range(steps):
        h = S @ W
        zeros += int(np.sum(h == 0))
        S = _sgn(h, S, zero)
        got = np.asarray(out["S"])[:, k]
        np.testing.assert_array_equal(got, S, err_msg=f"{zero}, step {k}")
    assert zeros > 0  # the convention was exercised
    r = H.retrieve(pat, cue, steps, "sync", states=True, zero=zero)
    np.testing.assert_array_equal(r["S"], np.asarray(out["S"]))


def test_sign_conventions_differ_where_a_field_is_zero():
    n, p = 64, 6
    pat = H.random_patterns(n, p, seed=11)
    cue = np.random.default_rng(12).choice(np.float32([-1, 1]), (4, n))
    a = H.retrieve(pat, cue, 3, "sync", states=True, zero="keep")["S"]
    b = H.retrieve(pat, cue, 3, "sync", states=True, zero="plus")["S"]
    assert np.any(a != b)
    with pytest.raises(lowdim.ConfigError, match="'keep'.*'plus'"):
        lowdim.Binary(zero="minus")


@pytest.mark.parametrize("zero", ["keep", "plus"])
def test_sign_of_a_zero_field_async_event_method(zero):
    """Asynchronous sweeps (event method) in the engine's order, with exact zero fields."""
    n, p, sweeps = 64, 6, 3
    pat = H.random_patterns(n, p, seed=13)
    cue = np.random.default_rng(14).choice(np.float32([-1, 1]), n)
    W = _dense(pat)
    key = jax.random.PRNGKey(5)
    net = H.hopfield_network(pat, cue, "async", zero=zero)
    out = solve(net, Grid(1.0, sweeps), key, {"S": pr.Potentials()})
    S, zeros = cue.astype(np.float64), 0
    for k in range(sweeps):
        k1, _ = jax.random.split(_fold(key, 3, k))
        order = np.asarray(jax.random.permutation(k1, jnp.arange(n, dtype=jnp.int32)))
        for i in order:
            h = W[i] @ S
            zeros += int(h == 0)
            S[i] = _sgn(h, S[i], zero)
        np.testing.assert_array_equal(np.asarray(out["S"][k]), S, err_msg=f"{zero}, sweep {k}")
    assert zeros > 0


def test_async_runs_stop_at_the_first_sweep_without_a_flip():
    """stop_when_stable: the sweep count is the first sweep of an uninterrupted run whose state
    equals the state before it; the run stops there (its last state is a fixed point: every
    neuron's field agrees with its sign), overlaps and states are those of the full run."""
    n, p = 400, 20
    pat = H.random_patterns(n, p, seed=21)
    cues = np.stack([H.corrupt(pat[:, j], 0.3, seed=22 + j) for j in range(3)])
    full = H.retrieve(pat, cues, 30, "async", states=True, seed=3)
    prev = np.concatenate([cues[:, None], full["S"][:, :-1]], axis=1)
    still = np.all(full["S"] == prev, axis=-1)
    first = np.argmax(still, axis=1) + 1
    assert still.any(axis=1).all() and first.max() < 30
    r = H.retrieve(pat, cues, 30, "async", states=True, seed=3, stop_when_stable=True, chunk=30)
    np.testing.assert_array_equal(r["sweeps"], first)
    # chunks of 2 sweeps: stops after the chunk holding the last trial's first still sweep
    r2 = H.retrieve(pat, cues, 30, "async", states=True, seed=3, stop_when_stable=True, chunk=2)
    assert r2["steps"] == 2 * math.ceil(first.max() / 2) < 30
    assert r2["m"].shape[1] == r2["steps"] + 1
    np.testing.assert_array_equal(r2["sweeps"][first <= 2], first[first <= 2])
    W = _dense(pat)
    for b in range(3):
        S = r2["S"][b, -1].astype(np.float64)
        h = W @ S
        assert np.all((h * S > 0) | (h == 0)), b  # a fixed point of single-neuron updates
    with pytest.raises(lowdim.ConfigError, match="asynchronous sign"):
        H.retrieve(pat, cues, 5, "sync", stop_when_stable=True)


def test_fields_in_float64_when_asked():
    n, p = 200, 10
    pat = H.random_patterns(n, p, seed=31)
    cue = H.corrupt(pat[:, 0], 0.2, seed=32)
    with lowdim.float64():
        r = H.retrieve(pat, cue, 3, "sync", states=True, dtype="float64")
    W = _dense(pat)
    S = cue.astype(np.float64)
    for k in range(3):
        S = _sgn(W @ S, S, "keep")
        np.testing.assert_array_equal(r["S"][k], S)


@pytest.mark.parametrize("schedule, beta", [("async", math.inf), ("sync", 8.0)])
def test_capacity_probe_other_dynamics(schedule, beta):
    """Asynchronous sign sweeps and synchronous Glauber (β = 8) also retrieve every stored
    pattern far below α_c and lose them far above it."""
    low = H.final_overlaps(1000, 0.05, trials=8, seed=1, schedule=schedule, beta=beta, max_steps=20)
    high = H.final_overlaps(1000, 0.3, trials=8, seed=1, schedule=schedule, beta=beta, max_steps=20)
    assert low["retrieved"].all()
    assert high["final"].mean() < 0.7
    if schedule == "async":
        assert low["converged"].all()


_TINY = """
[run]
retrieval_n = 400
retrieval_cues = 2
corr_n = 300
correlations = [0.0, 0.3]
corr_cues = 2
map_n = 400
map_betas = [1.5]
map_low_m0 = [0.5]
map_loads = [0.1]
map_m0 = [0.5]
bif_n = 300
bif_betas = [2.0]
bif_steps = 10
bif_average = 5
cap_n = [300, 600]
cap_networks = {"300" = 1, "600" = 1}
cap_loads = {"300" = [0.05, 0.3], "600" = [0.05, 0.3]}
cap_trials = 4
cap_max_steps = 20
"""


def _numbers(summary):
    return {k: v for k, v in summary.items() if k not in ("timings_seconds", "wall_seconds")}


@pytest.mark.slow
def test_lecture_settings_from_options_and_file_rerun_from_saved_settings(tmp_path, capsys):
    """`lowdim lecture hopfield --config FILE --dynamics async --criterion overlap`: the options
    reach the run, settings.toml and summary.json record them, and the saved settings.toml
    reruns the run with the same summary numbers."""
    import json

    from lowdim.cli import main

    cfg = tmp_path / "tiny.toml"
    cfg.write_text(_TINY)
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["lecture", "hopfield", "--config", str(cfg), "--scale", "test", "--out", str(a)]
    args += ["--dynamics", "async", "--criterion", "overlap", "--level", "0.8"]
    args += ["--glauber-beta", "3", "--seed", "2"]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "phase 5/5: capacity (asynchronous sign sweeps" in err
    s1 = json.loads((a / "summary.json").read_text())
    st = s1["settings"]
    assert st["seed"] == 2 and st["scale"] == "test"
    assert st["run"]["dynamics"] == "async" and st["run"]["glauber_beta"] == 3.0
    assert st["run"]["retrieval_n"] == 400 and s1["retrieval_neurons"] == 400
    assert s1["capacity_dynamics"] == "async" and s1["capacity_criterion"] == "overlap"
    assert "settings.toml" in s1["files"]
    assert 0.05 < s1["critical_load_largest_n"] < 0.3  # the crossing lies between the loads
    with pytest.raises(SystemExit) as e:
        main(["lecture", "hopfield", "--config", str(a / "settings.toml"), "--out", str(b)])
    assert e.value.code == 0
    s2 = json.loads((b / "summary.json").read_text())
    assert _numbers(s2) == _numbers(s1)
    assert (b / "settings.toml").read_text() == (a / "settings.toml").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dynamics", "glauberish"], "unknown capacity dynamics 'glauberish'; choose one of"),
        (["--criterion", "median"], "unknown capacity criterion 'median'"),
        (["--glauber-beta", "x"], "setting glauber_beta must be a number"),
        (["--cap-n", "700"], "cap_n lists N = 700 but cap_networks has no entry"),
        (["--retrieval-size", "5"], "has no option --retrieval-size"),
    ],
)
def test_lecture_settings_bad_values(args, message, tmp_path, capsys):
    from lowdim.cli import main

    with pytest.raises(SystemExit) as e:
        main(["lecture", "hopfield", "--scale", "test", "--out", str(tmp_path / "x"), *args])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_lecture_settings_file_errors(tmp_path):
    from lowdim.errors import ConfigError
    from lowdim.experiments import hopfield as demo
    from lowdim.experiments import settings as st

    with pytest.raises(
        ConfigError, match=r"unknown setting \[run\] retrieval_nn .*valid: .*retrieval_n"
    ):
        st.resolve(demo, "hopfield", "test", 0, {"run": {"retrieval_nn": 3}})
    with pytest.raises(ConfigError, match="for lecture 'ring', not 'hopfield'"):
        st.resolve(demo, "hopfield", None, None, {"lecture": "ring"})
    with pytest.raises(ConfigError, match="unknown scale 'huge'.*'large'"):
        st.resolve(demo, "hopfield", "huge")
    s = st.resolve(demo, "hopfield", "test", 3, {"retrieval_n": 500, "scale": "small"})
    assert s["scale"] == "test" and s["seed"] == 3 and s["run"]["retrieval_n"] == 500
    # the TOML written reads back to the same settings, floats exactly
    s["run"]["flip"] = 0.1 + 0.2
    back = st.resolve(demo, "hopfield", None, None, __import__("tomllib").loads(st.to_toml(s)))
    assert back == s
