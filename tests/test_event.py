"""The event-driven SNN path (lowdim.event) against the dense per-step SNN path (engine.simulate).

Two kinds of checks:

- pathwise: both methods consume the same random numbers, so in float64 they must produce the
  same spike trains and potentials up to rounding (a tie u·max φ = φ(h) between the two
  summation orders has probability ~1e-13 per candidate);
- statistical: with independent noise streams (different seeds, same connectivity) in float32,
  per-run statistics of the two paths must agree within a Welch t-test at two-sided level 1e-3
  (thresholds from the Student t quantile and the across-seed variances).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import lowdim
from lowdim.errors import ConfigError
from lowdim.paper.simulation import program_of


def _cfg(**kw):
    base = dict(
        neurons=1500,
        rank=10,
        duration=0.15,
        burn_in=0.02,
        networks="snn",
        dtype="float64",
        record_neurons=6,
        record_overlaps=5,
    )
    base.update(kw)
    return lowdim.RunConfig(**base)


def _assert_same_path(a, b):
    np.testing.assert_array_equal(a.spike_time.values, b.spike_time.values)
    np.testing.assert_array_equal(a.spike_neuron.values, b.spike_neuron.values)
    np.testing.assert_allclose(b.h.values, a.h.values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(b.m_snn.values, a.m_snn.values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(b.rate_snn.values, a.rate_snn.values, rtol=1e-12, atol=1e-9)


def test_same_random_numbers_give_the_same_path():
    # seconds as the noise unit: strong input, ≈ 20 Hz, many spikes to compare
    cfg = _cfg(record_population="all", record_neurons=40)
    a = lowdim.simulate(cfg, method="dense")
    b = lowdim.simulate(cfg, method="event")
    assert a.spike_time.size > 20
    _assert_same_path(a, b)
    assert b.attrs["method"] == "event"


def test_many_groups_form_gives_the_same_path(monkeypatch):
    """With few groups the candidates' fields are one product with every group's κ and the group
    counts a compare; above ``FEW_GROUPS`` they are a per-candidate multiply-and-reduce and a
    scatter-add. Forcing the second form here, it must still follow the dense path."""
    from lowdim import engine, event

    monkeypatch.setattr(event, "FEW_GROUPS", 0)
    monkeypatch.setattr(engine, "_EXECUTABLES", {})  # compile afresh under the patched form
    cfg = _cfg(record_population="all", record_neurons=40)
    a = lowdim.simulate(cfg, method="dense")
    b = lowdim.simulate(cfg, method="event")
    assert a.spike_time.size > 20
    _assert_same_path(a, b)


def test_self_term_multi_block_and_repeated_spikes_exact():
    # coarse dt (max φ dt = 0.5) gives neurons with 2+ spikes in a step; a tiny candidate block
    # forces many blocks per step (a neuron's spikes spread over blocks); a strong self-coupling
    # γ makes any error in the lazily stored spike trace visible in h.
    cfg = _cfg(neurons=300, rank=4, dt=5e-3, duration=0.3, burn_in=0.05, record_dt=5e-3)
    phi = cfg.phi()
    rng = np.random.default_rng(3)
    F = rng.standard_normal((300, 4))
    G = phi.numpy(F) - phi.a + 100.0 * F  # large Σ_μ F_iμ G_iμ
    with lowdim.float64():
        conn = lowdim.from_arrays(F, G, 1.0 / (phi.c * 300), dtype=np.float64)
    assert float(np.abs(np.asarray(conn.gamma)).max()) > 0.01  # ≥ 1 potential unit per spike (γ/τ)
    a = lowdim.simulate(cfg, conn, block=7, method="dense")
    b = lowdim.simulate(cfg, conn, block=7, method="event")
    counts = np.unique(a.spike_time.values + 1e3 * a.spike_neuron.values, return_counts=True)[1]
    assert counts.max() >= 2  # repeated spikes of one neuron in one step happened
    _assert_same_path(a, b)


@pytest.mark.slow
def test_feedforward_with_step_input_same_path():
    cfg = _cfg(topology="feedforward", input="step", input_level=1.5, step_start=0.05, sigma=0.3)
    a = lowdim.simulate(cfg, method="dense")
    b = lowdim.simulate(cfg, method="event")
    _assert_same_path(a, b)


def _run_stats(ds, burn):
    t = ds.time.values > burn
    r = ds.rate_snn.values[t]
    m = ds.m_snn.values[t]
    h = ds.h.values[t]
    return np.array(
        [r[:, 0].mean(), r[:, 1].mean(), m.var(axis=0).mean(), h.mean(), h.var(axis=0).mean()]
    )


def _dense_engine(cfg, conn):
    return lowdim.simulate(cfg, conn, method="dense")


def test_statistically_identical_to_dense_path():
    reference = _dense_engine
    seeds = 4
    cfg = _cfg(neurons=2000, rank=10, duration=0.25, dtype="float32", record_neurons=20)
    conn = lowdim.paper(cfg.neurons, cfg.p, cfg.phi(), seed=123)
    dense = np.array([_run_stats(reference(cfg.replace(seed=s), conn), 0.02) for s in range(seeds)])
    event = np.array(
        [
            _run_stats(lowdim.simulate(cfg.replace(seed=100 + s), conn, method="event"), 0.02)
            for s in range(seeds)
        ]
    )
    names = ["rate in", "rate rec", "Var m", "mean h", "Var h"]
    m_d, m_e = dense.mean(0), event.mean(0)
    v_d, v_e = dense.var(0, ddof=1) / seeds, event.var(0, ddof=1) / seeds
    se = np.sqrt(v_d + v_e)
    dof = se**4 / (v_d**2 / (seeds - 1) + v_e**2 / (seeds - 1))
    crit = stats.t.ppf(1 - 0.5e-3, dof)
    t = np.abs(m_d - m_e) / se
    assert np.all(t < crit), dict(zip(names, zip(m_d, m_e, t, crit, strict=True), strict=True))
    assert m_d[0] > 1.0  # the network fires


def test_rejects_paired_and_membrane_noise():
    with pytest.raises(ConfigError, match="SNN only"):
        lowdim.simulate(_cfg(networks="both"), method="event")
    with pytest.raises(ConfigError, match="membrane noise"):
        lowdim.simulate(_cfg(membrane_noise=0.1), method="event")


def test_event_run_resumes_from_its_checkpoint_bitwise(tmp_path):
    cfg = _cfg(dtype="float32", duration=0.05, burn_in=0.01)
    path = tmp_path / "ev.ckpt"
    seen = []

    def stop(rec, first):
        seen.append(first)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lowdim.simulate(cfg, method="event", checkpoint=path, checkpoint_steps=100, on_chunk=stop)
    resumed = lowdim.simulate(cfg, method="event", checkpoint=path, checkpoint_steps=100)
    straight = lowdim.simulate(cfg, method="event")
    assert resumed.attrs["method"] == "event"
    for v in ("h", "m_snn", "rate_snn", "spike_time", "spike_neuron"):
        np.testing.assert_array_equal(resumed[v].values, straight[v].values, err_msg=v)


def test_event_method_refuses_procedural_loadings_with_a_reason():
    with pytest.raises(ConfigError, match="stored, untiled"):
        lowdim.simulate(_cfg(loadings="procedural"), method="event")


def test_auto_runs_the_snn_alone_event_driven_and_everything_else_dense():
    """One rule (Program._event_pays) for the paper's front end and lowdim.run: the event
    method where it is exact and cheaper, the dense one otherwise; attrs say which ran."""
    cfg = _cfg(neurons=400, rank=4, duration=0.02, burn_in=0.0, dtype="float32")
    auto = lowdim.simulate(cfg)  # the config's method: "auto" by default
    event = lowdim.simulate(cfg, method="event")
    assert auto.attrs["method"] == "event" and "method" not in lowdim.config_of(auto)
    for v in ("h", "m_snn", "rate_snn", "spike_time", "spike_neuron"):
        np.testing.assert_array_equal(auto[v].values, event[v].values, err_msg=v)
    assert lowdim.simulate(cfg, method="dense").attrs["method"] == "dense"
    dense_cases = {
        "paired": cfg.replace(networks="both"),
        "membrane noise": cfg.replace(membrane_noise=0.1),
        "procedural loadings": cfg.replace(loadings="procedural"),
        # max φ dt = 100 Hz · 2 ms = 0.2 > EVENT_MAX_CANDIDATES: a candidate per 5 neurons
        "coarse dt": cfg.replace(dt=2e-3, record_dt=2e-3),
    }
    for what, c in dense_cases.items():
        assert program_of(c).method == "dense", what
    assert program_of(cfg).method == "event"


def test_auto_in_run_is_the_same_rule_for_generic_networks():
    phi = lowdim.Tanh()
    F = np.random.default_rng(0).standard_normal((300, 3))
    net = lowdim.Network(300, F=F, G=F, scale=1 / 300, kinds=(lowdim.Poisson(phi),))
    grid = lowdim.Grid(dt=1e-4, steps=20, record_every=10)
    rates = {"r": lowdim.PopulationRates()}
    assert lowdim.run(net, grid, rates).attrs["method"] == "event"
    # a projection needs every potential: the event method cannot serve it, auto runs dense
    proj = {"q": lowdim.probes.Projection(F[:, :1])}
    assert lowdim.run(net, grid, proj).attrs["method"] == "dense"


def test_method_in_the_config_is_validated():
    with pytest.raises(ConfigError, match="unknown method"):
        lowdim.RunConfig.from_dict({"method": "fast"})
    with pytest.raises(ConfigError, match="networks = 'snn'"):
        lowdim.RunConfig.from_dict({"method": "event", "networks": "both"})
    assert lowdim.RunConfig.from_dict({"method": "dense"}).to_dict()["method"] == "dense"
