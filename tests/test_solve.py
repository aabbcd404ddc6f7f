"""The general engine against an independent dense N × N NumPy reference, pathwise.

Every neuron kind is run by ``lowdim.solve`` and by a plain NumPy loop over the dense matrix W
(``Network.dense``: masks applied, W_ii = 0) that draws the *same* random numbers (the streams
documented in ``lowdim.solve``), or — for Poisson spikes — is given the engine's spike counts.
Everything in float64, so the two must agree to rounding (the step is the same arithmetic up to
the order of the sums: relative 1e-9 is ~10⁶ ε over ~10² steps of a contracting map).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lowdim
from lowdim import (
    Along,
    Binary,
    Drive,
    Grid,
    Network,
    Noise,
    Poisson,
    Rate,
    solve,
)
from lowdim import probes as pr

N, P_RANK, T = 48, 3, 60
DT, TAU = 5e-4, 0.01
PHI = lowdim.Tanh()


def _fold(key, *ids):
    for i in ids:
        key = jax.random.fold_in(key, i)
    return key


def _leaky_network(kinds, rng, **extra):
    """A rate/Poisson network with every kind of input: an explicit drive on population A, a
    drive along F (function of t), white noise along F on B and along explicit vectors, a
    uniform drive on B; random initial state; strong recurrence."""
    F = rng.standard_normal((N, P_RANK))
    G = PHI.numpy(F) - PHI.a + 0.3 * rng.standard_normal((N, P_RANK))
    U = rng.standard_normal((N, 2))
    u = rng.standard_normal((T, 2))
    C = rng.standard_normal((P_RANK, 1))
    C2 = rng.standard_normal((P_RANK, 2))
    V = rng.standard_normal((N, 1))
    pops = {"A": np.arange(0, 30), "B": np.arange(20, N)}
    inputs = (
        Drive(u, U, "A"),
        Drive(lambda t: jnp.stack([jnp.sin(200.0 * t)]), Along(C)),
        Noise(0.4, Along(C2), "B", time_unit=1.0),
        Noise(0.2, V, None, time_unit=0.5),
        Drive(lambda t: 0.5 + 0.0 * t, "uniform", "B"),
    )
    args = dict(
        neurons=N,
        F=F,
        G=G,
        scale=3.0 / (PHI.c * N),
        kinds=kinds,
        tau=TAU,
        inputs=inputs,
        x0=rng.normal(2.0, 1.0, N),
        populations=pops,
        dtype="float64",
    )
    args.update(extra)
    return Network(**args), dict(F=F, G=G, U=U, u=u, C=C, C2=C2, V=V, pops=pops)


def _reference_inputs(net, parts, key, k):
    """I_k of the leaky update (same for every kind): drives × (1 − e), noise × σ/τ."""
    e = math.exp(-DT / TAU)
    F, pops = parts["F"], parts["pops"]
    mA = np.isin(np.arange(N), pops["A"]).astype(float)
    mB = np.isin(np.arange(N), pops["B"]).astype(float)
    t = k * DT
    z = np.asarray(jax.random.normal(_fold(key, 2, k), (3,), jnp.float64))  # 2 + 1 noise columns
    I = (1 - e) * (parts["U"] @ parts["u"][k]) * mA
    I = I + (1 - e) * (F @ (parts["C"] @ np.array([math.sin(200.0 * t)])))
    I = I + (0.4 / TAU) * (F @ (parts["C2"] @ (math.sqrt(DT * 1.0) * z[:2]))) * mB
    I = I + (0.2 / TAU) * (parts["V"] @ (math.sqrt(DT * 0.5) * z[2:]))
    I = I + (1 - e) * 0.5 * mB
    return I


def test_rate_network_matches_dense_reference():
    rng = np.random.default_rng(1)
    key = jax.random.PRNGKey(3)
    with lowdim.float64():
        net, parts = _leaky_network((Rate(PHI),), rng)
        out = solve(net, Grid(DT, T), key, {"x": pr.Potentials()})
        W = net.dense()
    xs = np.asarray(out["x"])
    x = np.asarray(net.x0, float)
    e = math.exp(-DT / TAU)
    for k in range(T):
        with lowdim.float64():
            I = _reference_inputs(net, parts, key, k)
        x = e * x + (DT / TAU) * (W @ PHI.numpy(x)) + I
        np.testing.assert_allclose(xs[k], x, rtol=1e-9, atol=1e-9, err_msg=f"step {k}")
    assert np.abs(W @ PHI.numpy(x)).max() > 0.5  # the recurrence matters


@pytest.mark.parametrize("method", ["dense", "event"])
def test_poisson_network_matches_dense_reference_given_its_spikes(method):
    """h_{k+1} = e h_k + (1/τ) W n_k + I_k with the engine's own counts n_k; the event method
    (closed form: groups, explicit vectors, initial state) gives the dense method's spikes."""
    rng = np.random.default_rng(2)
    key = jax.random.PRNGKey(5)
    with lowdim.float64():
        net, parts = _leaky_network((Poisson(PHI),), rng)
        probes = {"h": pr.Potentials(), "n": pr.Spikes()}
        out = solve(net, Grid(DT, T), key, probes, method=method)
        W = net.dense()
        if method == "event":
            dense = solve(net, Grid(DT, T), key, probes, method="dense")
            np.testing.assert_array_equal(np.asarray(out["n"]), np.asarray(dense["n"]))
    hs, ns = np.asarray(out["h"]), np.asarray(out["n"]).astype(float)
    assert ns.sum() > 20  # enough spikes to make the comparison bite
    h = np.asarray(net.x0, float)
    e = math.exp(-DT / TAU)
    for k in range(T):
        with lowdim.float64():
            I = _reference_inputs(net, parts, key, k)
        h = e * h + (W @ ns[k]) / TAU + I
        np.testing.assert_allclose(hs[k], h, rtol=1e-9, atol=1e-9, err_msg=f"step {k}")


def test_paired_columns_share_loadings_input_and_initial_state():
    """In a paired run the rate column equals the rate network alone, bitwise; with s = 0 the
    Poisson column equals it too (the communication is the only difference)."""
    rng = np.random.default_rng(3)
    key = jax.random.PRNGKey(1)
    with lowdim.float64():
        net, _ = _leaky_network((Rate(PHI), Poisson(PHI)), rng)
        alone = net.replace(kinds=(Rate(PHI),))
        both = solve(net, Grid(DT, T), key, {"v": pr.Potentials()})
        one = solve(alone, Grid(DT, T), key, {"v": pr.Potentials()})
        np.testing.assert_array_equal(np.asarray(both["v"][:, 0]), np.asarray(one["v"]))
        free = solve(net.replace(scale=0.0), Grid(DT, T), key, {"v": pr.Potentials()})
    np.testing.assert_array_equal(np.asarray(free["v"][:, 0]), np.asarray(free["v"][:, 1]))


def test_sources_and_targets_mask_the_recurrence():
    rng = np.random.default_rng(4)
    key = jax.random.PRNGKey(2)
    with lowdim.float64():
        net, parts = _leaky_network((Rate(PHI),), rng, sources="A", targets="B")
        out = solve(net, Grid(DT, T), key, {"x": pr.Potentials()})
        W = net.dense()
    assert np.all(W[:, 30:] == 0) and np.all(W[:20] == 0)
    xs, x, e = np.asarray(out["x"]), np.asarray(net.x0, float), math.exp(-DT / TAU)
    for k in range(T):
        with lowdim.float64():
            I = _reference_inputs(net, parts, key, k)
        x = e * x + (DT / TAU) * (W @ PHI.numpy(x)) + I
    np.testing.assert_allclose(xs[-1], x, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- binary
def _hopfield(rng, n=60, p=4, noise=0.3, **kind):
    pat = rng.choice([-1.0, 1.0], size=(n, p))
    cue = pat[:, 0] * np.where(rng.random(n) < noise, -1.0, 1.0)
    U = rng.standard_normal((n, 1))
    drive = Drive(0.05 * rng.standard_normal((40, 1)), U)  # a weak external field
    net = Network(
        neurons=n,
        F=pat,
        G=pat,
        scale=1.0 / n,
        kinds=(Binary(**kind),),
        x0=cue,
        tau=1.0,
        inputs=(drive,),
        dtype="float64",
    )
    return net, pat, U, drive


def _sgn(h, s):
    return np.where(h > 0, 1.0, np.where(h < 0, -1.0, s))


@pytest.mark.parametrize("beta", [math.inf, 1.5])
def test_synchronous_binary_matches_reference(beta):
    rng = np.random.default_rng(5)
    key = jax.random.PRNGKey(7)
    with lowdim.float64():
        net, pat, U, drive = _hopfield(rng, schedule="sync", beta=beta)
        out = solve(net, Grid(1.0, 40), key, {"S": pr.Potentials(), "m": pr.Overlaps()})
        W = net.dense()
    S = np.asarray(net.x0)
    for k in range(40):
        h = W @ S + U @ np.asarray(drive.u)[k]
        if math.isinf(beta):
            S = _sgn(h, S)
        else:
            with lowdim.float64():
                u = np.asarray(jax.random.uniform(_fold(key, 3, k), (60,), jnp.float64))
            S = np.where(u < 0.5 * (1 + np.tanh(beta * h)), 1.0, -1.0)
        np.testing.assert_array_equal(np.asarray(out["S"][k]), S, err_msg=f"step {k}")
    # the overlap probe averages m = (1/N) pᵀ S of the state that each step used
    assert np.asarray(out["m"]).shape == (40, 4)


@pytest.mark.parametrize("beta", [math.inf, 2.0])
def test_asynchronous_binary_matches_reference(beta):
    rng = np.random.default_rng(6)
    key = jax.random.PRNGKey(8)
    with lowdim.float64():
        net, pat, U, drive = _hopfield(rng, schedule="async", beta=beta)
        out = solve(net, Grid(1.0, 6), key, {"S": pr.Potentials()})
        W = net.dense()
    S = np.asarray(net.x0).copy()
    for k in range(6):
        with lowdim.float64():
            k1, k2 = jax.random.split(_fold(key, 3, k))
            order = np.asarray(jax.random.permutation(k1, jnp.arange(60, dtype=jnp.int32)))
            us = np.asarray(jax.random.uniform(k2, (60,), jnp.float64))
        for j, i in enumerate(order):
            h = W[i] @ S + U[i] @ np.asarray(drive.u)[k]
            if math.isinf(beta):
                S[i] = _sgn(h, S[i])
            else:
                S[i] = 1.0 if us[j] < 0.5 * (1 + np.tanh(beta * h)) else -1.0
        np.testing.assert_array_equal(np.asarray(out["S"][k]), S, err_msg=f"sweep {k}")


def test_continuous_glauber_matches_reference():
    from lowdim.dynamics import thinning_block

    rng = np.random.default_rng(7)
    key = jax.random.PRNGKey(9)
    dt, tau, steps = 0.05, 1.0, 30
    with lowdim.float64():
        net, pat, U, drive = _hopfield(rng, schedule="continuous", beta=2.0)
        net = net.replace(tau=tau)
        out = solve(net, Grid(dt, steps), key, {"S": pr.Potentials()})
        W = net.dense()
    block = thinning_block(60, dt / tau)
    S = np.asarray(net.x0).copy()
    updates = 0
    for k in range(steps):
        with lowdim.float64():
            kK, kb = jax.random.split(_fold(key, 3, k))
            K = int(jax.random.poisson(kK, 60 * dt / tau, dtype=jnp.int32))
            done, b = 0, 0
            while done < K:
                k1, k2 = jax.random.split(jax.random.fold_in(kb, b))
                idx = np.asarray(jax.random.randint(k1, (block,), 0, 60, dtype=jnp.int32))
                us = np.asarray(jax.random.uniform(k2, (block,), jnp.float64))
                for j in range(min(K - done, block)):
                    i = idx[j]
                    h = W[i] @ S + U[i] @ np.asarray(drive.u)[k]
                    S[i] = 1.0 if us[j] < 0.5 * (1 + np.tanh(2.0 * h)) else -1.0
                    updates += 1
                done, b = done + block, b + 1
        np.testing.assert_array_equal(np.asarray(out["S"][k]), S, err_msg=f"step {k}")
    # ≈ N dt/τ updates per step: 90 expected over the run, Poisson sd ≈ 9.5
    assert abs(updates - 60 * steps * dt / tau) < 5 * math.sqrt(60 * steps * dt / tau)


@pytest.mark.parametrize("schedule", ["sync", "async"])
def test_sign_dynamics_retrieve_a_pattern_from_a_corrupted_cue(schedule):
    """Hopfield memory (lecture): N = 2000, p = 20 random patterns (load 0.01, far below the
    capacity ≈ 0.138), cue = pattern 0 with 20 % of its signs flipped. Retrieval: the overlap
    with pattern 0 ends above 0.98 and the others stay at the O(1/√N) crosstalk level."""
    rng = np.random.default_rng(11)
    n, p = 2000, 20
    pat = rng.choice([-1.0, 1.0], size=(n, p))
    cue = pat[:, 0] * np.where(rng.random(n) < 0.2, -1.0, 1.0)
    net = Network(
        neurons=n, F=pat, G=pat, scale=1.0 / n, kinds=(Binary(schedule),), x0=cue, tau=1.0
    )
    out = solve(
        net, Grid(1.0, 6), jax.random.PRNGKey(0), {"m": pr.Overlaps(), "S": pr.Potentials()}
    )
    S = np.asarray(out["S"][-1])
    m_direct = pat.T @ S / n
    assert m_direct[0] > 0.98
    assert np.abs(m_direct[1:]).max() < 5 / math.sqrt(n)
    assert abs(float(cue @ pat[:, 0]) / n - 0.6) < 0.05  # the cue really was corrupted


# ----------------------------------------------------------------------------- trials, vmap, grad
def _trial_network(rng, B, kinds=(Rate(PHI),)):
    F = rng.standard_normal((N, 2))
    G = PHI.numpy(F) - PHI.a
    return Network(
        neurons=N,
        F=F,
        G=G,
        scale=2.0 / (PHI.c * N),
        kinds=kinds,
        tau=TAU,
        inputs=(
            Drive(rng.standard_normal((B, T, 2)), rng.standard_normal((N, 2))),
            Noise(0.3, Along(0.7), None),
        ),
        x0=rng.normal(1.0, 1.0, (B, N)),
        readout=rng.standard_normal((N, 2)) / N,
        dtype="float64",
    )


def _single(net, b):
    d, noise = net.inputs
    return net.replace(inputs=(Drive(d.u[b], d.vectors), noise), x0=net.x0[b])


@pytest.mark.parametrize("kinds", [(Rate(PHI),), (Rate(PHI), Poisson(PHI))], ids=["rate", "paired"])
def test_trials_as_columns_equal_a_loop_and_vmap(kinds):
    rng = np.random.default_rng(12)
    B = 3
    probes = {"z": pr.Readout(), "v": pr.Potentials(np.arange(5))}
    keys = jax.random.split(jax.random.PRNGKey(4), B)
    with lowdim.float64():
        net = _trial_network(rng, B, kinds)
        batch = jax.jit(lambda n, k: solve(n, Grid(DT, T, 5), k, probes))(net, keys)
        loop = [solve(_single(net, b), Grid(DT, T, 5), keys[b], probes) for b in range(B)]
        us, x0s = jnp.stack([_single(net, b).inputs[0].u for b in range(B)]), net.x0

        def one(u, x0, key):
            d, noise = net.inputs
            return solve(
                net.replace(inputs=(Drive(u, d.vectors), noise), x0=x0), Grid(DT, T, 5), key, probes
            )

        vm = jax.vmap(one)(us, x0s, keys)
    for name in probes:
        assert batch[name].shape[0] == B
        for b in range(B):
            np.testing.assert_allclose(batch[name][b], loop[b][name], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(vm[name][b], loop[b][name], rtol=1e-12, atol=1e-12)
    # the trials differ (inputs, initial states and noise)
    assert not np.allclose(batch["v"][0], batch["v"][1])


def test_gradient_of_a_readout_loss_equals_central_differences():
    rng = np.random.default_rng(13)
    probes = {"z": pr.Readout()}
    target = rng.standard_normal((T // 5, 2))
    with lowdim.float64():
        net = _single(_trial_network(rng, 1), 0)

        def loss(params):
            n = net.replace(
                F=params["F"],
                readout=params["W"],
                x0=params["x0"],
                inputs=(Drive(net.inputs[0].u, params["U"]), net.inputs[1]),
            )
            z = solve(n, Grid(DT, T, 5), jax.random.PRNGKey(0), probes)["z"]
            return jnp.mean((z - target) ** 2)

        params = {
            "F": jnp.asarray(net.F),
            "W": jnp.asarray(net.readout),
            "x0": jnp.asarray(net.x0),
            "U": jnp.asarray(net.inputs[0].vectors),
        }
        grad = jax.jit(jax.grad(loss))(params)
        f = jax.jit(loss)
        for name in params:
            d = {k: jnp.zeros_like(v) for k, v in params.items()}
            d[name] = jnp.asarray(rng.standard_normal(params[name].shape))
            eps = 1e-5
            plus = {k: params[k] + eps * d[k] for k in params}
            minus = {k: params[k] - eps * d[k] for k in params}
            fd = (f(plus) - f(minus)) / (2 * eps)
            an = jnp.sum(grad[name] * d[name])
            # central differences: error O(eps²·f''') ~ 1e-10 relative here
            assert abs(float(fd - an)) <= 1e-6 * abs(float(an)) + 1e-12, (name, fd, an)


def test_jit_of_solve_equals_the_driver_bitwise():
    rng = np.random.default_rng(14)
    net = _trial_network(rng, 2, (Rate(PHI), Poisson(PHI))).replace(dtype="float32")
    probes = {
        "v": pr.Potentials(np.arange(4)),
        "d": pr.Distance(),
        "dd": pr.Distance(mode="average", start=10),
    }
    grid = Grid(DT, T, 5)
    key = jax.random.PRNGKey(2)
    a = jax.jit(lambda n, k: solve(n, grid, k, probes))(net, key)
    ds = lowdim.run(net, grid, probes, key=key, checkpoint_steps=20)
    np.testing.assert_array_equal(np.asarray(a["v"]), ds.v.values)
    np.testing.assert_array_equal(np.asarray(a["d"]), ds.d.values)
    np.testing.assert_array_equal(np.asarray(a["dd"]), ds.dd.values)
    assert ds.v.dims == ("trial", "time", "network", "neuron")
    assert ds.d.attrs["units"] == "1" and ds.time.attrs["units"] == "s"


def test_interrupted_run_resumes_bitwise(tmp_path):
    rng = np.random.default_rng(15)
    net = _trial_network(rng, 2, (Rate(PHI), Poisson(PHI))).replace(dtype="float32")
    probes = {
        "v": pr.Potentials(np.arange(4)),
        "n": pr.Spikes(np.arange(40)),
        "dd": pr.Distance(mode="average", start=10),
    }
    grid = Grid(DT, T, 5)
    path = tmp_path / "run.ckpt"
    calls = []

    def stop_after_two(rec, first):
        calls.append(first)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lowdim.run(
            net, grid, probes, seed=3, checkpoint=path, checkpoint_steps=10, on_chunk=stop_after_two
        )
    assert path.exists()
    resumed = lowdim.run(net, grid, probes, seed=3, checkpoint=path, checkpoint_steps=10)
    straight = lowdim.run(net, grid, probes, seed=3)
    for v in straight.data_vars:
        np.testing.assert_array_equal(resumed[v].values, straight[v].values, err_msg=v)
    other = _trial_network(np.random.default_rng(16), 2, (Rate(PHI), Poisson(PHI))).replace(
        dtype="float32"
    )
    with pytest.raises(lowdim.ConfigError, match="different run"):
        lowdim.run(other, grid, probes, seed=3, checkpoint=path, checkpoint_steps=10)


# ----------------------------------------------------------------------------- descriptions
def test_descriptions_are_checked_with_messages_that_say_what_to_change():
    F = np.ones((10, 2))
    base = dict(neurons=10, F=F, G=F, scale=0.1)
    cases = [
        (lambda: Poisson(lambda x: jnp.maximum(x, 0.0)), "bounded non-negative"),
        (lambda: Poisson(lowdim.transfer(lambda x: x, max=5.0)), "0 ≤ φ ≤ max"),
        (lambda: Network(**base).validate(), "neuron kind"),
        (lambda: Network(**base, kinds=(Binary(),)).validate(), "initial state"),
        (lambda: Network(**base, kinds=(Binary(), Rate(PHI))).validate(), "cannot be paired"),
        (
            lambda: Network(**{**base, "G": np.ones((9, 2))}, kinds=(Rate(PHI),)).validate(),
            "G has 9 rows, neurons = 10",
        ),
        (
            lambda: Network(
                **base, kinds=(Rate(PHI),), inputs=(Noise(1.0, Along(np.ones((3, 1)))),)
            ).validate(),
            "(p, k)",
        ),
        (
            lambda: Network(
                **base, kinds=(Binary(),), x0=np.ones(10), inputs=(Noise(1.0, Along()),)
            ).validate(),
            "no white noise",
        ),
        (
            lambda: Network(**base, kinds=(Rate(PHI),), populations={"a": [0, 0]}).validate(),
            "twice",
        ),
        (lambda: Network(**base, kinds=(Rate(PHI),), targets="b").validate(), "unknown population"),
        (
            lambda: solve(
                Network(**base, kinds=(Rate(PHI),)),
                Grid(1e-4, 10),
                jax.random.PRNGKey(0),
                {"s": pr.Spikes()},
            ),
            "Poisson",
        ),
        (
            lambda: solve(
                Network(**base, kinds=(Rate(PHI),)),
                Grid(1e-4, 10),
                jax.random.PRNGKey(0),
                {"x": pr.Potentials()},
                method="event",
            ),
            "event",
        ),
        (
            lambda: solve(
                Network(**base, kinds=(Rate(PHI),), dtype="float64"),
                Grid(1e-4, 10),
                jax.random.PRNGKey(0),
                {},
            ),
            "lowdim.float64",
        ),
        (lambda: Grid.of(0.1, 3e-4, 1e-3), "whole multiple"),
        (
            lambda: solve(
                Network(
                    **base, kinds=(Rate(PHI),), inputs=(Drive(np.ones((5, 1)), np.ones((10, 1))),)
                ),
                Grid(1e-4, 10),
                jax.random.PRNGKey(0),
                {},
            ),
            "every step",
        ),
    ]
    for make, match in cases:
        with pytest.raises(lowdim.ConfigError, match=match):
            make()
    # a user transfer function with a declared maximum makes a valid Poisson twin
    Poisson(lowdim.transfer(lambda x: 50.0 * jax.nn.sigmoid(x), max=50.0))


def _with(a, index, value):
    a = np.array(a, dtype=np.float64)
    a[index] = value
    return a


@pytest.mark.parametrize("as_jax", [False, True])
def test_validate_refuses_non_finite_arrays_naming_the_first_bad_entry(as_jax):
    """NaN or ±inf in F, G, x0, readout or an input's arrays: refused with the array's name and
    the first bad index (solve returned NaN silently before), for NumPy and JAX arrays."""
    n = 20
    arr = jnp.asarray if as_jax else np.asarray
    rng = np.random.default_rng(0)
    F = rng.normal(size=(n, 2))
    ok = dict(neurons=n, F=arr(F), G=arr(F), scale=0.05, kinds=(Rate(PHI),))
    Network(**ok).validate()
    bad_f = _with(_with(F, (12, 0), np.nan), (15, 1), np.inf)
    u = np.zeros((10, 1))
    cases = [
        ({"F": arr(bad_f)}, "F has a non-finite value (nan) at row 12, column 0"),
        (
            {"G": arr(_with(F, (3, 1), -np.inf))},
            "G has a non-finite value (-inf) at row 3, column 1",
        ),
        ({"x0": arr(_with(np.zeros(n), 7, np.nan))}, "x0 has a non-finite value (nan) at index 7"),
        (
            {"readout": arr(_with(np.zeros((n, 3)), (19, 2), np.inf))},
            "readout has a non-finite value (inf) at row 19, column 2",
        ),
        (
            {"inputs": (Drive(arr(_with(u, (4, 0), np.nan))),)},
            "input 0 (Drive): u has a non-finite value (nan) at row 4, column 0",
        ),
        (
            {"inputs": (Noise(1.0, arr(_with(np.ones((n, 1)), (2, 0), np.inf))),)},
            "input 0 (Noise): vectors has a non-finite value (inf) at row 2, column 0",
        ),
        (
            {"inputs": (Noise(1.0, Along(arr(_with(np.eye(2), (1, 1), np.nan)))),)},
            "Along(C): C has a non-finite value (nan) at row 1, column 1",
        ),
        ({"scale": np.float64(np.nan)}, "scale has a non-finite value (nan)"),
    ]
    for change, words in cases:
        net = Network(**{**ok, **change})
        with pytest.raises(lowdim.ConfigError) as e:
            net.validate()
        assert words in str(e.value), (words, str(e.value))
        with pytest.raises(lowdim.ConfigError):
            solve(net, Grid(DT, 10), jax.random.PRNGKey(0), {"x": pr.Potentials()})
    # under jit the arrays are tracers, whose values are not known: not checked (and no error)
    out = jax.jit(
        lambda F: solve(
            Network(**{**ok, "F": F}), Grid(DT, 10), jax.random.PRNGKey(0), {"x": pr.Potentials()}
        )["x"]
    )(jnp.asarray(bad_f))
    assert not np.all(np.isfinite(np.asarray(out)))


def test_grid_and_loading_shapes_are_validated_at_construction():
    """Grid(dt=0) and Grid(steps=-1) are refused when they are made; loadings with another
    number of rows than neurons say both numbers."""
    for kw, words in (
        (dict(dt=0, steps=10), "dt must be a number of seconds > 0"),
        (dict(dt=-1e-4, steps=10), "dt must be"),
        (dict(dt=float("nan"), steps=10), "dt must be"),
        (dict(dt=1e-4, steps=-1), "steps must be a positive integer"),
        (dict(dt=1e-4, steps=0), "steps must be a positive integer"),
        (dict(dt=1e-4, steps=10, record_every=3), "not a multiple of record_every"),
    ):
        with pytest.raises(lowdim.ConfigError, match=words):
            Grid(**kw)
    F = np.ones((500, 2))
    with pytest.raises(lowdim.ConfigError, match="F has 500 rows, neurons = 501"):
        Network(neurons=501, F=F, G=F, kinds=(Rate(PHI),)).validate()
    with pytest.raises(lowdim.ConfigError, match="readout has 3 rows, neurons = 500"):
        Network(neurons=500, F=F, G=F, kinds=(Rate(PHI),), readout=np.ones((3, 1))).validate()


def test_importing_lowdim_changes_no_global_setting():
    import subprocess
    import sys

    code = (
        "import jax, matplotlib\n"
        "x64, backend = jax.config.jax_enable_x64, matplotlib.get_backend()\n"
        "import lowdim, lowdim.plotting, lowdim.experiments.fig1\n"
        "assert jax.config.jax_enable_x64 == x64, 'x64 changed'\n"
        "assert matplotlib.get_backend() == backend, 'backend changed'\n"
        "import numpy as np\n"
        "cfg = lowdim.RunConfig(neurons=500, rank=3, duration=0.01, burn_in=0.0, dtype='float64')\n"
        "ds = lowdim.simulate(cfg)\n"
        "assert ds.x.dtype == np.float64 and jax.config.jax_enable_x64 == x64\n"
        "print('ok')\n"
    )
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if k not in ("JAX_ENABLE_X64", "MPLBACKEND")
    }
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-2000:]


def test_event_method_with_trials_equals_the_dense_method_per_trial():
    """Per-trial drives and initial states reach each trial's closed form (Poisson), and a batch
    of asynchronous binary trials equals the trials run one by one."""
    rng = np.random.default_rng(17)
    B = 2
    probes = {"n": pr.Spikes(), "h": pr.Potentials(np.arange(6))}
    with lowdim.float64():
        net = _trial_network(rng, B, (Poisson(PHI),)).replace(readout=None)
        net = net.replace(x0=net.x0 + 1.0)  # higher rates: more spikes to compare
        ev = solve(net, Grid(DT, T, 5), jax.random.PRNGKey(6), probes, method="event")
        de = solve(net, Grid(DT, T, 5), jax.random.PRNGKey(6), probes, method="dense")
    assert np.asarray(ev["n"]).sum() > 20
    np.testing.assert_array_equal(np.asarray(ev["n"]), np.asarray(de["n"]))
    np.testing.assert_allclose(np.asarray(ev["h"]), np.asarray(de["h"]), rtol=0, atol=1e-9)
    hop, _, _, _ = _hopfield(rng, schedule="async")
    hop = hop.replace(dtype="float32")
    cues = np.stack([hop.x0, -hop.x0])
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    batch = solve(hop.replace(x0=cues), Grid(1.0, 4), keys, {"S": pr.Potentials()})
    for b in range(2):
        one = solve(hop.replace(x0=cues[b]), Grid(1.0, 4), keys[b], {"S": pr.Potentials()})
        np.testing.assert_array_equal(np.asarray(batch["S"][b]), np.asarray(one["S"]))


def test_from_arrays_validates_finite_loadings_by_index():
    F = np.ones((10, 2))
    with pytest.raises(lowdim.ConfigError, match=r"G has a non-finite value \(nan\) at row 4"):
        lowdim.from_arrays(F, _with(F, (4, 0), np.nan), 0.1)


@pytest.mark.parametrize("every", [1, 4])
def test_records_written_in_the_step_loop_equal_a_step_by_step_reference(every):
    """The dense advance writes every record in place inside one loop over the steps; the same
    records accumulated step by step from ``dense_step`` in Python (means over each interval,
    samples at its end, every step, averages after ``start``) agree to float64 rounding, over
    two chunks started at a nonzero step (records are keyed by the global step)."""
    from lowdim.solve import Program, stream_keys
    from lowdim.views import DenseView

    rng = np.random.default_rng(21)
    B, n_rec = 3, 5
    probes = {
        "m": pr.Overlaps(),
        "v": pr.Potentials(np.arange(6)),
        "s": pr.Spikes(np.arange(N)),
        "r": pr.PopulationRates(("all",)),
        "d": pr.Distance(("all",), mode="average", start=7),
    }
    with lowdim.float64():
        net = _trial_network(rng, B, (Rate(PHI), Poisson(PHI))).replace(
            populations={"all": range(N)}
        )
        grid = Grid(DT, 2 * n_rec * every, every)
        prog = Program(net, grid, probes, method="dense")
        keys = stream_keys(jax.random.PRNGKey(3), B)
        P = prog.prepare(net)
        state = prog.init_state(P, keys)
        adv = jax.jit(lambda s, start: prog.advance(s, P, probes, keys, start, n_rec))
        state1, rec1 = adv(state, jnp.int32(0))
        state2, rec2 = adv(state1, jnp.int32(n_rec * every))
        got = {k: np.concatenate([rec1[k], rec2[k]]) for k in rec1}

        def one(v, k):
            v, view = prog.dense_step(v, k, P, keys)
            return v, {n: probes[n].output(view) for n in ("m", "s", "r", "d")}

        step = jax.jit(one)
        sample = jax.jit(
            lambda v: probes["v"].output(DenseView(prog, P, list(v), None, None, None))
        )
        v = state["core"]["v"]
        want = {"m": [], "v": [], "s": [], "r": []}
        win, dsum = None, 0.0
        for k in range(grid.steps):
            v, vals = step(v, jnp.int32(k))
            want["s"].append(np.asarray(vals["s"]).astype(np.int8))
            w = {n: np.asarray(vals[n]) for n in ("m", "r")}
            win = w if win is None else {n: win[n] + w[n] for n in w}
            if k >= 7:
                dsum = dsum + np.asarray(vals["d"])
            if k % every == every - 1:
                for n in ("m", "r"):
                    want[n].append(win[n] / every)
                want["v"].append(np.asarray(sample(v)))
                win = None
    for n in ("m", "v", "r"):
        np.testing.assert_allclose(got[n], np.stack(want[n]), rtol=1e-12, atol=1e-12, err_msg=n)
    np.testing.assert_array_equal(got["s"], np.stack(want["s"]))
    np.testing.assert_allclose(state2["sums"]["d"], dsum, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(state2["core"]["v"][0]), np.asarray(v[0]))
