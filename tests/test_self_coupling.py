"""Self-coupling as a choice (``Network(self_coupling=...)``) against a dense N × N reference.

With ``self_coupling=False`` (default) W_ii = 0; with True the diagonal W_ii = s Σ_μ F_iμ G_iμ is
kept (for ±1 Hopfield patterns w_ii = P/N). Every kind and method is compared, pathwise and in
float64, with a plain NumPy loop over a W built here from the loadings (not by
``Network.dense``), drawing the engine's documented random numbers (or, for Poisson spikes, given
its counts): rate and Poisson (dense and event methods), binary synchronous (Glauber, same
uniforms) and asynchronous (event method, same orders and uniforms), stored and procedural
loadings. Tolerances as in tests/test_solve.py (relative 1e-9: rounding of ~10² steps of a
contracting map in float64); each test also checks that the two choices give different paths
by far more than that, so the comparison bites.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lowdim
from lowdim import Binary, Drive, Grid, Layout, Network, Poisson, Rate, RowSampler, solve
from lowdim import probes as pr
from lowdim.procedural import Centered, Identity, NormalRows

N, RANK, T = 40, 3, 60
DT, TAU = 5e-4, 0.01
PHI = lowdim.Tanh()
BOTH = pytest.mark.parametrize("self_coupling", [False, True], ids=["no-diagonal", "diagonal"])


def _fold(key, *ids):
    for i in ids:
        key = jax.random.fold_in(key, i)
    return key


def _W(F, G, s, self_coupling):
    """The dense reference: W = s F Gᵀ, diagonal zeroed unless self-coupling is kept."""
    W = s * (np.asarray(F, np.float64) @ np.asarray(G, np.float64).T)
    if not self_coupling:
        np.fill_diagonal(W, 0.0)
    return W


def _leaky(kind, rng, self_coupling, sampler=None, n=N):
    """Strong recurrence with a large diagonal (G close to F), a drive on the first half."""
    U = rng.standard_normal((n, 1))
    u = rng.standard_normal((T, 1))
    if sampler is None:
        F = rng.standard_normal((n, RANK))
        G = F + 0.3 * rng.standard_normal((n, RANK))
        arrays = dict(F=F, G=G)
    else:
        arrays = dict(sampler=sampler)
    net = Network(
        neurons=n,
        scale=4.0 / n,
        kinds=(kind,),
        tau=TAU,
        inputs=(Drive(u, U, "A"),),
        x0=rng.normal(0.5, 1.0, n),
        populations={"A": np.arange(n // 2)},
        dtype="float64",
        self_coupling=self_coupling,
        **arrays,
    )
    mA = (np.arange(n) < n // 2).astype(float)
    e = math.exp(-DT / TAU)
    inputs = [(1 - e) * (U @ u[k]) * mA for k in range(T)]
    return net, inputs


def _reference_rate(net, inputs, W):
    x, e, out = np.asarray(net.x0, float), math.exp(-DT / TAU), []
    for k in range(T):
        x = e * x + (DT / TAU) * (W @ PHI.numpy(x)) + inputs[k]
        out.append(x)
    return np.array(out)


@BOTH
def test_rate_network_matches_dense_reference_both_ways(self_coupling):
    rng = np.random.default_rng(1)
    with lowdim.float64():
        net, inputs = _leaky(Rate(PHI), rng, self_coupling)
        xs = np.asarray(solve(net, Grid(DT, T), jax.random.PRNGKey(0), {"x": pr.Potentials()})["x"])
        other = solve(
            net.replace(self_coupling=not self_coupling),
            Grid(DT, T),
            jax.random.PRNGKey(0),
            {"x": pr.Potentials()},
        )["x"]
        dense = net.dense()
    W = _W(net.F, net.G, net.scale, self_coupling)
    np.testing.assert_allclose(dense, W, rtol=1e-14, atol=1e-14)
    ref = _reference_rate(net, inputs, W)
    np.testing.assert_allclose(xs, ref, rtol=1e-9, atol=1e-9)
    # the diagonal (γ_i = s F_i·G_i ≈ 4 p/N = 0.3) changes the path by far more than 1e-9
    assert np.abs(np.asarray(other) - xs).max() > 1e-3


@BOTH
@pytest.mark.parametrize("method", ["dense", "event"])
def test_poisson_network_matches_dense_reference_given_its_spikes(self_coupling, method):
    rng = np.random.default_rng(2)
    key = jax.random.PRNGKey(5)
    probes = {"h": pr.Potentials(), "n": pr.Spikes()}
    with lowdim.float64():
        net, inputs = _leaky(Poisson(PHI), rng, self_coupling)
        out = solve(net, Grid(DT, T), key, probes, method=method)
        if method == "event":  # the same random numbers: the dense method's spikes
            dense = solve(net, Grid(DT, T), key, probes, method="dense")
            np.testing.assert_array_equal(np.asarray(out["n"]), np.asarray(dense["n"]))
    hs, ns = np.asarray(out["h"]), np.asarray(out["n"]).astype(float)
    assert ns.sum() > 20
    W = _W(net.F, net.G, net.scale, self_coupling)
    h, e = np.asarray(net.x0, float), math.exp(-DT / TAU)
    gap = 0.0
    Wo = _W(net.F, net.G, net.scale, not self_coupling)
    for k in range(T):
        gap = max(gap, np.abs((Wo - W) @ ns[k]).max() / TAU)
        h = e * h + (W @ ns[k]) / TAU + inputs[k]
        np.testing.assert_allclose(hs[k], h, rtol=1e-9, atol=1e-9, err_msg=f"step {k}")
    assert gap > 1.0  # a spike's own jump γ_i/τ is what the two choices differ by


def _sampler(seed=4):
    return RowSampler(
        rank=RANK, draw=NormalRows(RANK), f=Identity(), g=Centered(PHI), seed=seed, name="t"
    )


@BOTH
def test_procedural_and_stored_sampler_loadings_match_dense_reference(self_coupling):
    """A RowSampler network, loadings stored (materialised) and procedural (tiles regenerated
    every step, γ from the tiles), rate neurons (dense method) and Poisson (event method)."""
    rng = np.random.default_rng(3)
    n = 300
    with lowdim.float64():
        net, inputs = _leaky(Rate(PHI), rng, self_coupling, sampler=_sampler(), n=n)
        net = net.replace(scale=40.0 / n)
        F, G = net.loadings()
        key = jax.random.PRNGKey(0)
        stored = solve(net, Grid(DT, T), key, {"x": pr.Potentials()})["x"]
        proc = solve(
            net, Grid(DT, T), key, {"x": pr.Potentials()}, layout=Layout(loadings="procedural")
        )["x"]
    W = _W(F, G, net.scale, self_coupling)
    e = math.exp(-DT / TAU)
    x = np.asarray(net.x0, float)
    mA = (np.arange(n) < n // 2).astype(float)
    U = np.asarray(net.inputs[0].vectors)
    u = np.asarray(net.inputs[0].u)
    ref = []
    for k in range(T):
        x = e * x + (DT / TAU) * (W @ PHI.numpy(x)) + (1 - e) * (U @ u[k]) * mA
        ref.append(x)
    np.testing.assert_allclose(np.asarray(stored), ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.asarray(proc), ref, rtol=1e-9, atol=1e-9)
    assert np.abs(np.diag(W)).max() > 0.1 or not self_coupling
    # Poisson neurons on the same sampler, event method, given the engine's spikes
    with lowdim.float64():
        snn = net.replace(kinds=(Poisson(PHI),))
        out = solve(snn, Grid(DT, T), key, {"h": pr.Potentials(), "n": pr.Spikes()}, method="event")
    h, ns = np.asarray(snn.x0, float), np.asarray(out["n"]).astype(float)
    assert ns.sum() > 20
    for k in range(T):
        h = e * h + (W @ ns[k]) / TAU + (1 - e) * (U @ u[k]) * mA
    np.testing.assert_allclose(np.asarray(out["h"])[-1], h, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- binary
def _hopfield(rng, schedule, beta, self_coupling, n=60, p=12):
    pat = rng.choice([-1.0, 1.0], size=(n, p))
    cue = pat[:, 0] * np.where(rng.random(n) < 0.3, -1.0, 1.0)
    U = rng.standard_normal((n, 1))
    drive = Drive(0.05 * rng.standard_normal((40, 1)), U)
    net = Network(
        neurons=n,
        F=pat,
        G=pat,
        scale=1.0 / n,
        kinds=(Binary(schedule, beta=beta),),
        x0=cue,
        tau=1.0,
        inputs=(drive,),
        dtype="float64",
        self_coupling=self_coupling,
    )
    return net, pat, U, np.asarray(drive.u)


def _sgn(h, s):
    return np.where(h > 0, 1.0, np.where(h < 0, -1.0, s))


@BOTH
@pytest.mark.parametrize("beta", [math.inf, 1.5])
def test_synchronous_binary_matches_reference_both_ways(self_coupling, beta):
    rng = np.random.default_rng(5)
    key = jax.random.PRNGKey(7)
    with lowdim.float64():
        net, pat, U, u = _hopfield(rng, "sync", beta, self_coupling)
        out = np.asarray(solve(net, Grid(1.0, 40), key, {"S": pr.Potentials()})["S"])
    W = _W(pat, pat, 1.0 / 60, self_coupling)
    if self_coupling:
        np.testing.assert_allclose(np.diag(W), 12 / 60, rtol=1e-15)  # P/N for ±1 patterns
    S = np.asarray(net.x0)
    for k in range(40):
        h = W @ S + U @ u[k]
        if math.isinf(beta):
            S = _sgn(h, S)
        else:
            with lowdim.float64():
                us = np.asarray(jax.random.uniform(_fold(key, 3, k), (60,), jnp.float64))
            S = np.where(us < 0.5 * (1 + np.tanh(beta * h)), 1.0, -1.0)
        np.testing.assert_array_equal(out[k], S, err_msg=f"step {k}")


@BOTH
@pytest.mark.parametrize("beta", [math.inf, 2.0])
def test_asynchronous_binary_matches_reference_both_ways(self_coupling, beta):
    rng = np.random.default_rng(6)
    key = jax.random.PRNGKey(8)
    steps = 6
    with lowdim.float64():
        net, pat, U, u = _hopfield(rng, "async", beta, self_coupling)
        out = np.asarray(solve(net, Grid(1.0, steps), key, {"S": pr.Potentials()})["S"])
        other = np.asarray(
            solve(
                net.replace(self_coupling=not self_coupling),
                Grid(1.0, steps),
                key,
                {"S": pr.Potentials()},
            )["S"]
        )
    W = _W(pat, pat, 1.0 / 60, self_coupling)
    S = np.asarray(net.x0).copy()
    for k in range(steps):
        with lowdim.float64():
            k1, k2 = jax.random.split(_fold(key, 3, k))
            order = np.asarray(jax.random.permutation(k1, jnp.arange(60, dtype=jnp.int32)))
            us = np.asarray(jax.random.uniform(k2, (60,), jnp.float64))
        for j, i in enumerate(order):
            h = W[i] @ S + U[i] @ u[k]
            if math.isinf(beta):
                S[i] = _sgn(h, S[i])
            else:
                S[i] = 1.0 if us[j] < 0.5 * (1 + np.tanh(beta * h)) else -1.0
        np.testing.assert_array_equal(out[k], S, err_msg=f"sweep {k}")
    if not math.isinf(beta):  # Glauber: w_ii = 0.2 shifts P(+1) of every update
        assert np.any(other != out)


# ----------------------------------------------------------------------------- description
def test_self_coupling_is_part_of_the_description_and_checked():
    F = np.ones((10, 2))
    net = Network(neurons=10, F=F, G=F, scale=0.1, kinds=(Rate(PHI),))
    assert net.self_coupling is False
    np.testing.assert_array_equal(np.diag(net.dense()), 0.0)
    kept = net.replace(self_coupling=True)
    np.testing.assert_allclose(np.diag(kept.dense()), 0.2)
    from lowdim.solve import Program

    grid, probes = Grid(DT, 4), {"x": pr.Potentials()}
    assert Program(net, grid, probes) != Program(kept, grid, probes)
    assert hash(Program(net, grid, probes)) != hash(Program(kept, grid, probes))
    with pytest.raises(lowdim.ConfigError, match="self_coupling must be True"):
        net.replace(self_coupling="yes").validate()


def test_hopfield_model_passes_self_coupling_through():
    """hopfield_network/retrieve (float32) against the dense reference. N and P are chosen so
    that no field is a tie (h N sums an odd number of ±1 terms: P(N − 1) without, P N with the
    diagonal), where float32 rounding could decide sgn(0)."""
    from lowdim.models import hopfield

    for sc, n, p in ((False, 50, 9), (True, 51, 9)):
        rng = np.random.default_rng(9)
        pat = rng.choice([-1.0, 1.0], size=(n, p)).astype(np.float32)
        cue = pat[:, 0] * np.where(rng.random(n) < 0.2, -1.0, 1.0)
        net = hopfield.hopfield_network(pat, cue, self_coupling=sc)
        np.testing.assert_allclose(np.diag(net.dense()), p / n if sc else 0.0, rtol=1e-6)
        res = hopfield.retrieve(pat, cue, 5, self_coupling=sc, states=True)
        W = _W(pat, pat, 1.0 / n, sc)
        S = cue.astype(np.float64)
        for k in range(5):
            assert np.abs(W @ S).min() > 0.5 / n  # no ties
            S = _sgn(W @ S, S)
            np.testing.assert_array_equal(res["S"][k], S, err_msg=f"{sc} step {k}")
