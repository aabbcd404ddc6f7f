"""The paired engine against the math: expected step, feedforward mean, J = 0, ODE solver, seeds."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import lowdim
from lowdim import RunConfig, from_arrays, paper, simulate
from lowdim.dynamics import poisson_counts_thinning, thinning_block
from lowdim.paper import paper_network
from lowdim.solve import Program, stream_keys


def _stepper(cfg, conn):
    """One paired step (x, h, k, spike key) → (x_new, h_new) of the paper's network."""
    spec = paper_network(cfg, conn)
    prog = Program(spec.net, spec.grid, spec.probes, layout=spec.layout)
    P = prog.prepare(spec.net)
    keys = stream_keys(jax.random.PRNGKey(cfg.seed), None, spec.seeds())

    def step(x, h, k, spike_key=None):
        ks = keys if spike_key is None else {**keys, "spikes": spike_key[None]}
        (x, h), _ = prog.dense_step((x[:, None], h[:, None]), k, P, ks)
        return x[:, 0], h[:, 0]

    return step, spec


def test_thinning_counts_are_poisson():
    """Counts from the thinning sampler: Poisson(φ(h) dt) per neuron (chi-square goodness of fit)."""
    phi = lowdim.Tanh()
    dt = 0.004  # λ up to 0.4 so that counts ≥ 2 are frequent enough to test
    h = jnp.linspace(-1.0, 5.0, 12)
    lam = np.asarray(phi(h)) * dt
    draws = 20_000
    block = thinning_block(12, phi.max * dt)
    f = jax.jit(
        jax.vmap(lambda k: poisson_counts_thinning(k, phi, h, phi.max, dt, block, jnp.float32))
    )
    counts = np.asarray(f(jax.random.split(jax.random.PRNGKey(7), draws)))
    for j in range(12):
        c = counts[:, j]
        # mean within 4.5 standard errors
        assert abs(c.mean() - lam[j]) < 4.5 * math.sqrt(lam[j] / draws)
        if lam[j] > 0.05:
            k = np.arange(3)
            expected = np.append(stats.poisson.pmf(k, lam[j]), stats.poisson.sf(2, lam[j])) * draws
            observed = np.array([(c == 0).sum(), (c == 1).sum(), (c == 2).sum(), (c >= 3).sum()])
            chi2 = ((observed - expected) ** 2 / expected).sum()
            assert stats.chi2.sf(chi2, df=3) > 1e-4


def test_expected_snn_step_equals_rnn_step():
    """Given the same state, E[h_new] = x_new: average of many one-step draws (per-neuron z-scores)."""
    cfg = RunConfig(neurons=200, rank=5, dtype="float64", input="white_noise", seed=2)
    phi = cfg.phi()
    with lowdim.float64():
        conn = paper(200, 5, phi, seed=2, dtype=jnp.float64)
        step, _ = _stepper(cfg, conn)
        rng = np.random.default_rng(0)
        state = jnp.asarray(rng.normal(1.5, 1.0, 200))
        draws = 20_000
        f = jax.jit(jax.vmap(lambda k: step(state, state, k)))
        x_new, h_new = f(jnp.arange(draws, dtype=jnp.int32))
        diff = np.asarray(h_new - x_new)  # the shared input noise cancels; spike noise remains
    # Var(h_new − x_new) = (1/τ²) Σ_j W_ij² φ_j dt (Poisson counts), per neuron
    W = conn.dense()
    lam = np.asarray(phi.numpy(np.asarray(state))) * cfg.dt
    sd = np.sqrt((W**2) @ lam) / cfg.tau
    z = diff.mean(axis=0) / (sd / math.sqrt(draws))
    # each z is N(0, 1) under the hypothesis; neurons share the same draws (correlated z), so
    # only the maximum is tested (Bonferroni over 200 neurons: P(max |z| > 4.5) < 1.4e-3)
    assert np.abs(z).max() < 4.5
    # and the per-draw variance is the Poisson one (tests that counts are not Bernoulli/scaled)
    ratio = diff.var(axis=0) / sd**2
    assert abs(ratio.mean() - 1.0) < 0.05


def test_feedforward_snn_mean_converges_to_rnn():
    """In→rec weights only (SM Sec. V): E[h_rec | input] = x_rec; mean over spike-noise trials."""
    cfg = RunConfig(
        neurons=400,
        rank=8,
        duration=0.05,
        dt=1e-4,
        topology="feedforward",
        dtype="float64",
        seed=5,
        record_neurons=20,
        record_dt=1e-3,
        burn_in=0.0,
    )
    n_steps = cfg.n_steps
    with lowdim.float64():
        conn = paper(400, 8, cfg.phi(), seed=5, dtype=jnp.float64)
        step, spec = _stepper(cfg, conn)
        rec = jnp.asarray(spec.rec_idx)

        def trial(spike_key):
            def body(c, k):
                x, h = c
                x, h = step(x, h, k, spike_key)
                return (x, h), (x[rec], h[rec])

            z = jnp.zeros(400)
            _, (xs, hs) = jax.lax.scan(body, (z, z), jnp.arange(n_steps, dtype=jnp.int32))
            return xs, hs

        trials = 400
        xs, hs = jax.jit(jax.vmap(trial))(jax.random.split(jax.random.PRNGKey(11), trials))
        xs, hs = np.asarray(xs), np.asarray(hs)
    np.testing.assert_array_equal(xs[0], xs[1])  # the RNN sees the same input in every trial
    t = slice(100, None, 50)  # after 1 τ, every 5 ms
    mean_h, se = hs[:, t].mean(0), hs[:, t].std(0, ddof=1) / math.sqrt(trials)
    z = (mean_h - xs[0][t]) / se
    assert np.abs(z).max() < 5.0
    assert abs(np.mean(z**2) - 1.0) < 5 * math.sqrt(2 / z.size) + 0.1  # correlated in time


def test_zero_coupling_snn_equals_rnn_exactly():
    cfg = RunConfig(neurons=500, rank=4, duration=0.05, seed=1, record_neurons=50, burn_in=0.0)
    rng = np.random.default_rng(0)
    conn = from_arrays(
        rng.standard_normal((500, 4)), rng.standard_normal((500, 4)), 0.0, dtype=np.float32
    )
    ds = simulate(cfg, conn)
    np.testing.assert_array_equal(ds.h.values, ds.x.values)
    assert ds.attrs["distance_rec"] == 0.0
    assert ds.sizes["spike"] > 0  # spikes happen, they just do not couple


def _ode_error(dt):
    N, p, level = 40, 3, 2.5
    cfg = RunConfig(
        neurons=N,
        rank=p,
        duration=0.03,
        dt=dt,
        input="constant",
        input_level=level,
        networks="rnn",
        dtype="float64",
        record_neurons=N,
        record_population="all",
        record_dt=1e-3,
        burn_in=0.0,
        seed=4,
    )
    phi = cfg.phi()
    with lowdim.float64():
        conn = paper(N, p, phi, seed=4, dtype=jnp.float64)
        conn = from_arrays(conn.F, conn.G, conn.scale * 2.0, dtype=np.float64)  # strong recurrence
    ds = simulate(cfg, conn)
    W = conn.dense()
    I = np.where(np.arange(N) < cfg.n_in, level, 0.0)
    tau = cfg.tau

    def rhs(t, x):
        return (-x + W @ phi.numpy(x) + I) / tau

    sol = integrate.solve_ivp(
        rhs,
        (0, ds.time.values[-1]),
        np.zeros(N),
        t_eval=ds.time.values,
        rtol=1e-10,
        atol=1e-12,
        method="DOP853",
    )
    ref = sol.y.T[:, ds.neuron.values]
    assert np.abs(W @ phi.numpy(ref[-1])).max() > 5.0  # the recurrence matters
    return np.abs(ds.x.values - ref).max(), np.abs(ref).max()


def test_noise_free_rnn_matches_ode_solver_first_order():
    (e1, _), (e2, size) = _ode_error(2e-5), _ode_error(1e-5)
    assert e2 < 2 * (1e-5 / 0.01) * size  # global error of a first-order scheme: O(dt/τ) · |x|
    assert 1.8 < e1 / e2 < 2.2  # first-order convergence in dt


def test_same_seed_same_numbers_other_seed_different():
    cfg = RunConfig(neurons=1000, rank=5, duration=0.05, seed=9, burn_in=0.01)
    a, b, c = simulate(cfg), simulate(cfg), simulate(cfg.replace(seed=10))
    for v in ("x", "h", "m_rnn", "m_snn", "spike_time"):
        np.testing.assert_array_equal(a[v].values, b[v].values)
    assert a.attrs["distance_rec"] == b.attrs["distance_rec"]
    assert not np.array_equal(a.x.values, c.x.values)
    assert a.attrs["distance_rec"] != c.attrs["distance_rec"]


def test_distance_decreases_with_load():
    """Δ_N^rec shrinks when α = p/N decreases at fixed p (Eq. 13: ~√α; here α ÷ 10)."""
    base = RunConfig(rank=10, duration=0.4, burn_in=0.1, seed=3)
    d_hi = simulate(base.replace(neurons=1000)).attrs["distance_rec"]
    d_lo = simulate(base.replace(neurons=10_000)).attrs["distance_rec"]
    assert d_lo < 0.6 * d_hi  # √10 ≈ 3.2 expected


def test_records_and_provenance(tmp_path):
    cfg = RunConfig(neurons=2000, rank=6, duration=0.1, seed=1, record_neurons=7, burn_in=0.02)
    ds = simulate(cfg)
    assert ds.sizes["neuron"] == 7 and ds.sizes["time"] == 100
    assert (ds.neuron.values >= cfg.n_in).all()  # recorded from the rec population
    assert ds.time.attrs["units"] == "s" and ds.rate_snn.attrs["units"] == "Hz"
    for key in ("config", "seed", "lowdim_version", "backend", "jax_version", "a", "c"):
        assert key in ds.attrs
    assert lowdim.config_of(ds)["neurons"] == 2000
    path = lowdim.save(ds, tmp_path / "run.nc")
    back = lowdim.load(path)
    np.testing.assert_array_equal(back.h.values, ds.h.values)
    assert back.attrs["distance_rec"] == ds.attrs["distance_rec"]
    # spike times of recorded neurons are consistent with recorded population rates' magnitude
    assert ds.sizes["spike"] > 0 and set(np.unique(ds.spike_neuron.values)) <= set(ds.neuron.values)


def test_single_network_runs():
    cfg = RunConfig(neurons=1000, rank=5, duration=0.05, burn_in=0.01)
    r = simulate(cfg.replace(networks="rnn"))
    s = simulate(cfg.replace(networks="snn"))
    assert "x" in r and "h" not in r and "distance_rec" not in r.attrs
    assert "h" in s and "x" not in s and "rate_snn_hz" in s.attrs
    # the RNN alone computes exactly what the paired run's RNN computes
    both = simulate(cfg)
    np.testing.assert_array_equal(r.x.values, both.x.values)


def test_memory_check_refuses_impossible_run():
    with pytest.raises(lowdim.MemoryBudgetError, match="GiB"):
        simulate(RunConfig(neurons=10**9, rank=1000, duration=0.01, burn_in=0.0))


def test_streams_are_independent():
    """Changing the spike seed leaves loadings and input (hence the RNN) unchanged; and back."""
    cfg = RunConfig(neurons=1000, rank=5, duration=0.05, seed=2, burn_in=0.01)
    a = simulate(cfg.replace(spike_seed=10))
    b = simulate(cfg.replace(spike_seed=11))
    np.testing.assert_array_equal(a.x.values, b.x.values)
    assert not np.array_equal(a.h.values, b.h.values)
    c = simulate(cfg.replace(input_seed=7, spike_seed=10))
    assert not np.array_equal(a.x.values, c.x.values)


def test_on_chunk_gets_the_dataset_in_pieces():
    """run's on_chunk receives each chunk's records keyed by probe, in the dataset's axis order
    (trial, time, ...): concatenated along time they are the dataset's variables, bitwise."""
    cfg = RunConfig(neurons=300, rank=3, duration=0.02, burn_in=0.005, record_dt=1e-3)
    spec = paper_network(cfg)
    net = spec.net.replace(trials=2)
    pieces = []
    ds = lowdim.run(
        net,
        spec.grid,
        spec.probes,
        seed=1,
        checkpoint_steps=50,
        on_chunk=lambda rec, first: pieces.append((first, rec)),
    )
    assert [first for first, _ in pieces] == [0, 5, 10, 15]
    for name in ("x", "h", "m_rnn", "rate_snn", "distance"):
        whole = np.concatenate([rec[name] for _, rec in pieces], axis=1)
        np.testing.assert_array_equal(whole, ds[name].values, err_msg=name)
    counts = np.concatenate([rec["spike"] for _, rec in pieces], axis=1)  # (trial, step, neuron)
    assert counts.shape == (2, spec.grid.steps, len(spec.rec_idx))
    assert int(counts.sum()) == ds.sizes["spike_event"]
