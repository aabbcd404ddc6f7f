"""The continuous-time limit of rate networks: ``Grid(..., scheme="rk4")`` (lowdim.integrators).

- Convergence order, measured: the error at a fixed time against the dense N × N ODE solved by
  ``scipy.integrate.solve_ivp`` (DOP853, rtol = atol = 1e-12, float64) falls as dt⁴ under rk4 and
  as dt¹ under the exponential-Euler step (least-squares slope of log error vs log dt, ± 0.3).
- Steady state: rk4 settles on the fixed point of the ODE, −x + W φ(x) + I = 0, while the
  exponential-Euler step settles on x = g W φ(x) + I with g = (dt/τ)/(1 − e^{−dt/τ}).
- Grid-array drives are piecewise constant over a step (checked on the linear network, whose
  rk4 step is known in closed form); noise and spiking/binary kinds are refused.
- The driver (chunks, checkpoint resume bitwise) and the probes Potentials, Overlaps, Readout
  and Projection; procedural loadings; gradients (jax.grad) through the scheme.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import root

import lowdim
from lowdim import Along, Binary, Drive, Grid, MembraneNoise, Network, Noise, Poisson, Rate, solve
from lowdim import probes as pr

PHI = lowdim.Tanh()
N, RANK, TAU = 30, 2, 0.01


def _parts(seed=0, n=N):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, RANK))
    G = PHI.numpy(F) - PHI.a + 0.3 * rng.standard_normal((n, RANK))
    return dict(
        F=F,
        G=G,
        U=rng.standard_normal((n, 1)),
        C=rng.standard_normal((RANK, 1)),
        x0=rng.normal(1.0, 1.0, n),
        s=3.0 / (PHI.c * n),
    )


def _driven(parts, self_coupling=False, dtype="float64"):
    """Strongly recurrent rate network, a drive U sin(300 t) and a drive F C (cos(100 t) + ½)."""
    return Network(
        neurons=len(parts["x0"]),
        F=parts["F"],
        G=parts["G"],
        scale=parts["s"],
        kinds=(Rate(PHI),),
        tau=TAU,
        inputs=(
            Drive(lambda t: jnp.stack([jnp.sin(300.0 * t)]), parts["U"]),
            Drive(lambda t: jnp.stack([jnp.cos(100.0 * t) + 0.5]), Along(parts["C"])),
        ),
        x0=parts["x0"],
        dtype=dtype,
        self_coupling=self_coupling,
    )


def _ode_reference(parts, t_end, self_coupling=False):
    F, G, U, C = parts["F"], parts["G"], parts["U"][:, 0], parts["C"][:, 0]
    W = parts["s"] * F @ G.T
    if not self_coupling:
        np.fill_diagonal(W, 0.0)
    FC = F @ C

    def rhs(t, x):
        return (
            -x + W @ PHI.numpy(x) + U * math.sin(300.0 * t) + FC * (math.cos(100.0 * t) + 0.5)
        ) / TAU

    sol = solve_ivp(rhs, (0.0, t_end), parts["x0"], method="DOP853", rtol=1e-12, atol=1e-12)
    return sol.y[:, -1]


def _errors(parts, t_end, dts, scheme, self_coupling=False):
    ref = _ode_reference(parts, t_end, self_coupling)
    errs = []
    for dt in dts:
        with lowdim.float64():
            net = _driven(parts, self_coupling)
            grid = Grid(dt, round(t_end / dt), scheme=scheme)
            x = solve(net, grid, jax.random.PRNGKey(0), {"x": pr.Potentials()})["x"]
        errs.append(float(np.abs(np.asarray(x[-1]) - ref).max()))
    return np.array(errs)


@pytest.mark.parametrize("self_coupling", [False, True])
def test_rk4_converges_as_dt_to_the_fourth_and_exp_euler_as_dt(self_coupling):
    parts = _parts(0)
    t_end = 4 * TAU
    dts = TAU / np.array([4, 8, 16, 32])
    errs = _errors(parts, t_end, dts, "rk4", self_coupling)
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert abs(slope - 4.0) < 0.3, (slope, errs)
    assert errs[-1] > 1e-10  # well above the reference's own error (rtol 1e-12)
    # the exponential-Euler step, first order (on finer grids, where it is asymptotic)
    fine = TAU / np.array([32, 64, 128, 256])
    ee = _errors(parts, t_end, fine, "exp-euler", self_coupling)
    slope_ee = np.polyfit(np.log(fine), np.log(ee), 1)[0]
    assert abs(slope_ee - 1.0) < 0.3, (slope_ee, ee)
    # at equal dt = τ/32, rk4 is far closer to the continuous-time solution
    assert errs[-1] < 1e-4 * ee[0]


def test_rk4_steady_state_is_the_continuous_time_fixed_point():
    """Constant drives: rk4 ends on −x + W φ(x) + I = 0; exponential Euler (dt = 0.05 τ) ends on
    x = g W φ(x) + I, g = (dt/τ)/(1 − e^{−dt/τ}) = 1.0252 (its recurrent input 2.5 % too large)."""
    parts = _parts(1)
    parts["s"] = 1.0 / (PHI.c * N)  # a unique, strongly attracting fixed point
    F, G, U = parts["F"], parts["G"], parts["U"][:, 0]
    W = parts["s"] * F @ G.T
    np.fill_diagonal(W, 0.0)
    I = 2.0 * U + 0.5
    net = Network(
        neurons=N,
        F=F,
        G=G,
        scale=parts["s"],
        kinds=(Rate(PHI),),
        tau=TAU,
        inputs=(Drive(lambda t: jnp.full((1,), 2.0), parts["U"]), Drive(lambda t: 0.5 + 0.0 * t)),
        x0=parts["x0"],
        dtype="float64",
    )
    dt, steps = 0.05 * TAU, 2000  # 100 τ
    with lowdim.float64():
        rk = solve(
            net, Grid(dt, steps, steps, "rk4"), jax.random.PRNGKey(0), {"x": pr.Potentials()}
        )
        ee = solve(net, Grid(dt, steps, steps), jax.random.PRNGKey(0), {"x": pr.Potentials()})
    x_rk, x_ee = np.asarray(rk["x"][-1]), np.asarray(ee["x"][-1])
    sol = root(lambda x: -x + W @ PHI.numpy(x) + I, x_rk, tol=1e-14)
    assert sol.success
    np.testing.assert_allclose(x_rk, sol.x, rtol=0, atol=1e-9)
    g = (dt / TAU) / (1 - math.exp(-dt / TAU))
    assert abs(g - 1.0252) < 1e-4
    np.testing.assert_allclose(x_ee, g * (W @ PHI.numpy(x_ee)) + I, rtol=0, atol=1e-9)
    assert np.abs(x_ee - sol.x).max() > 1e-3  # the exponential-Euler bias this scheme removes


def test_grid_array_drives_are_piecewise_constant_over_a_step():
    """Without recurrence τ dx/dt = −x + U u_k on step k: one rk4 step maps x to
    R x + (1 − R) U u_k with R = Σ_{j ≤ 4} (−dt/τ)^j / j! (the Taylor polynomial of e^{−dt/τ})."""
    rng = np.random.default_rng(2)
    steps, dt = 12, 0.3 * TAU
    U, u = rng.standard_normal((N, 2)), rng.standard_normal((steps, 2))
    x0 = rng.standard_normal(N)
    with lowdim.float64():
        net = Network(
            neurons=N,
            F=np.ones((N, 1)),
            G=np.ones((N, 1)),
            scale=0.0,
            kinds=(Rate(PHI),),
            tau=TAU,
            inputs=(Drive(u, U),),
            x0=x0,
            dtype="float64",
        )
        xs = np.asarray(
            solve(
                net,
                Grid(dt, steps, scheme="rk4"),
                jax.random.PRNGKey(0),
                {"x": pr.Potentials()},
            )["x"]
        )
    z = -dt / TAU
    R = 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24
    x = x0
    for k in range(steps):
        x = R * x + (1 - R) * (U @ u[k])
        np.testing.assert_allclose(xs[k], x, rtol=1e-12, atol=1e-12, err_msg=f"step {k}")


def test_rk4_refuses_noise_and_spiking_or_binary_kinds():
    parts = _parts(3)
    net = _driven(parts, dtype="float32")
    grid = Grid(1e-3, 4, scheme="rk4")
    key, probes = jax.random.PRNGKey(0), {"x": pr.Potentials()}
    for kinds in ((Poisson(PHI),), (Rate(PHI), Poisson(PHI))):
        with pytest.raises(lowdim.ConfigError, match="scheme='exp-euler'"):
            solve(net.replace(kinds=kinds), grid, key, probes)
    hop = Network(
        neurons=N,
        F=np.sign(parts["F"]),
        G=np.sign(parts["F"]),
        scale=1.0 / N,
        kinds=(Binary(),),
        x0=np.ones(N),
    )
    with pytest.raises(lowdim.ConfigError, match="rate neurons"):
        solve(hop, Grid(1.0, 4, scheme="rk4"), key, probes)
    for noise in (Noise(0.3, Along(1.0)), MembraneNoise(0.5)):
        with pytest.raises(lowdim.ConfigError, match="white noise.*exp-euler"):
            solve(net.replace(inputs=net.inputs + (noise,)), grid, key, probes)
    with pytest.raises(lowdim.ConfigError, match="unknown scheme 'rk5'"):
        solve(net, Grid(1e-3, 4, scheme="rk5"), key, probes)
    assert Grid.of(0.01, 1e-3, scheme="rk4").scheme == "rk4"


def test_driver_checkpoint_and_probes_under_rk4(tmp_path):
    """lowdim.run equals jit(solve) bitwise; an interrupted run resumes bitwise; Overlaps and
    Readout are those of the state each step starts from, Projection that of the state at the
    record time (float64 reference from the potentials)."""
    parts = _parts(4)
    rng = np.random.default_rng(5)
    readout, basis = rng.standard_normal((N, 2)), rng.standard_normal((N, 3))
    x0 = np.stack([parts["x0"], parts["x0"][::-1]])  # two trials
    net = _driven(parts, dtype="float32").replace(x0=x0, readout=readout)
    probes = {
        "x": pr.Potentials(),
        "m": pr.Overlaps(),
        "z": pr.Readout(),
        "proj": pr.Projection(basis),
    }
    grid = Grid(TAU / 20, 60, 5, "rk4")
    key = jax.random.PRNGKey(3)
    direct = jax.jit(lambda n, k: solve(n, grid, k, probes))(net, key)
    path = tmp_path / "rk4.ckpt"
    calls = []

    def stop_after_two(rec, first):
        calls.append(first)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lowdim.run(
            net,
            grid,
            probes,
            key=key,
            checkpoint=path,
            checkpoint_steps=10,
            on_chunk=stop_after_two,
        )
    resumed = lowdim.run(net, grid, probes, key=key, checkpoint=path, checkpoint_steps=10)
    straight = lowdim.run(net, grid, probes, key=key)
    assert straight.attrs["scheme"] == "rk4"
    for v in probes:
        np.testing.assert_array_equal(resumed[v].values, straight[v].values, err_msg=v)
        np.testing.assert_array_equal(np.asarray(direct[v]), straight[v].values, err_msg=v)
    with pytest.raises(lowdim.ConfigError, match="different run"):  # the scheme is in the identity
        lowdim.run(
            net, Grid(TAU / 20, 60, 5), probes, key=key, checkpoint=path, checkpoint_steps=10
        )
    # probes against the potentials of every step (float64, record_every = 1)
    with lowdim.float64():
        net64 = net.replace(dtype="float64")
        one = solve(net64, Grid(TAU / 20, 60, 1, "rk4"), key, probes)
        five = solve(net64, grid, key, probes)
    xs = np.asarray(one["x"])  # (trials, steps, N): the state after each step
    starts = np.concatenate([x0[:, None], xs[:, :-1]], axis=1)  # the state each step starts from
    rates = PHI.numpy(starts)
    m_ref = parts["s"] * rates @ parts["G"]
    np.testing.assert_allclose(np.asarray(one["m"]), m_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(one["z"]), rates @ readout, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(np.asarray(one["proj"]), xs @ basis, rtol=1e-12, atol=1e-12)
    # record_every = 5: means over the interval, samples at its end
    mean5 = m_ref.reshape(2, 12, 5, RANK).mean(axis=2)
    np.testing.assert_allclose(np.asarray(five["m"]), mean5, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(five["x"]), xs[:, 4::5], rtol=1e-12, atol=1e-12)
    # float32 run close to the float64 one
    np.testing.assert_allclose(straight["x"].values, xs[:, 4::5], rtol=1e-4, atol=1e-4)


def test_rk4_with_procedural_loadings_and_self_coupling_equals_stored():
    """The tiled layout (rows regenerated every stage) changes only the order of the sums."""
    from lowdim.procedural import paper_sampler

    n = 1500
    with lowdim.float64():
        net = Network(
            neurons=n,
            sampler=paper_sampler(3, PHI, seed=2),
            scale=2.0 / (PHI.c * n),
            kinds=(Rate(PHI),),
            tau=TAU,
            inputs=(Drive(lambda t: jnp.stack([jnp.sin(300.0 * t)]), Along(np.ones((3, 1)))),),
            x0=np.linspace(-1.0, 2.0, n),
            dtype="float64",
            self_coupling=True,
        )
        grid = Grid(TAU / 10, 20, scheme="rk4")
        key, probes = jax.random.PRNGKey(0), {"x": pr.Potentials(), "m": pr.Overlaps()}
        a = solve(net, grid, key, probes)
        b = solve(net, grid, key, probes, layout=lowdim.Layout(loadings="procedural"))
        F, G = net.loadings()
    np.testing.assert_allclose(np.asarray(b["x"]), np.asarray(a["x"]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(b["m"]), np.asarray(a["m"]), rtol=1e-9, atol=1e-12)
    # and the stored run is rk4 of the dense ODE with the diagonal kept: one step by hand
    W = net.scale * np.asarray(F) @ np.asarray(G).T
    FC = np.asarray(F) @ np.ones(3)

    def f(x, t):
        return (-x + W @ PHI.numpy(x) + FC * math.sin(300.0 * t)) / TAU

    x, h = np.asarray(net.x0), grid.dt
    k1 = f(x, 0.0)
    k2 = f(x + h / 2 * k1, h / 2)
    k3 = f(x + h / 2 * k2, h / 2)
    k4 = f(x + h * k3, h)
    x1 = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    np.testing.assert_allclose(np.asarray(a["x"][0]), x1, rtol=1e-10, atol=1e-10)


def test_gradients_pass_through_rk4():
    """jax.grad of a loss of the final state with respect to the loadings' scale and the
    initial state equals central differences (float64; error O(ε²) ≈ 1e-10 relative)."""
    parts = _parts(6)
    grid = Grid(TAU / 10, 30, scheme="rk4")
    key = jax.random.PRNGKey(0)
    with lowdim.float64():
        net = _driven(parts)

        def loss(scale, x0):
            out = solve(net.replace(scale=scale, x0=x0), grid, key, {"x": pr.Potentials()})
            return jnp.sum(jnp.tanh(out["x"][-1]) ** 2)

        s, x0 = jnp.float64(parts["s"]), jnp.asarray(parts["x0"])
        gs, gx = jax.grad(loss, argnums=(0, 1))(s, x0)
        d = jnp.asarray(np.random.default_rng(7).standard_normal(N))
        eps = 1e-6
        fd_x = (loss(s, x0 + eps * d) - loss(s, x0 - eps * d)) / (2 * eps)
        fd_s = (loss(s * (1 + eps), x0) - loss(s * (1 - eps), x0)) / (2 * eps * s)
        an_x, an_s = float(jnp.sum(gx * d)), float(gs)
        fd_x, fd_s = float(fd_x), float(fd_s)
    assert abs(fd_x - an_x) <= 1e-6 * abs(an_x) + 1e-10
    assert abs(fd_s - an_s) <= 1e-6 * abs(an_s) + 1e-10


def test_memory_estimate_counts_the_stages():
    from lowdim.engine import memory_parts
    from lowdim.solve import Program

    net = _driven(_parts(8), dtype="float32")
    probes = {"x": pr.Potentials()}
    ee = memory_parts(Program(net, Grid(1e-3, 10), probes))["state"]
    rk = memory_parts(Program(net, Grid(1e-3, 10, scheme="rk4"), probes))["state"]
    assert rk - ee == 5 * N * 4 * 2  # five (N, columns) float32 arrays, a lone column padded to 2
