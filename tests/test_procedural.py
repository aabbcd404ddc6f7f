"""Procedural loadings: the same numbers as stored ones, regenerated tile by tile (issue 5, item 3)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lowdim
from lowdim import connectivity, procedural
from lowdim.paper import RunConfig, estimate_memory

SMALL = dict(neurons=2500, rank=6, duration=0.03, burn_in=0.01, record_dt=1e-3, seed=3)


def _assert_same(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    for key in ("distance_rec", "distance_in", "rate_snn_hz", "rate_rnn_hz", "scale"):
        assert a.attrs.get(key) == b.attrs.get(key), key
    assert "rate_rnn_hz" in a.attrs


def test_tiles_define_xi():
    phi = RunConfig().phi()
    key = procedural.loadings_key(7)
    conn = connectivity.paper(3000, 5, phi, seed=7)
    F, G = conn.F, conn.G
    # compiled, as in the engine (eager op-by-op evaluation of φ may differ in the last ulp)
    tiles = jax.jit(lambda t: procedural.tiles_of(key, t, 5, phi, jnp.float32))
    Ft, Gt = tiles(jnp.arange(3))
    np.testing.assert_array_equal(np.asarray(F), np.asarray(Ft.reshape(-1, 5))[:3000])
    np.testing.assert_array_equal(np.asarray(G), np.asarray(Gt.reshape(-1, 5))[:3000])
    # tile 1 alone equals rows 1024..2047: any tile can be made on its own
    F1, _ = tiles(jnp.asarray([1]))
    np.testing.assert_array_equal(np.asarray(F1[0]), np.asarray(F)[1024:2048])
    # the definition does not depend on N (prefix property), and differs between seeds
    F_small = connectivity.paper(1500, 5, phi, seed=7).F
    np.testing.assert_array_equal(np.asarray(F_small), np.asarray(F)[:1500])
    assert not np.array_equal(np.asarray(connectivity.paper(1500, 5, phi, seed=8).F), F_small)
    # standard normal entries
    assert abs(float(jnp.mean(F))) < 0.05 and abs(float(jnp.std(F)) - 1) < 0.05


@pytest.mark.parametrize("extra", [{}, {"loadings_dtype": "bfloat16", "networks": "rnn"}])
def test_procedural_bitwise_equals_stored(extra):
    cfg = RunConfig(**SMALL, tile_rows=1024, **extra)
    stored = lowdim.simulate(cfg)
    proc = lowdim.simulate(cfg.replace(loadings="procedural"))
    _assert_same(stored, proc)


def test_tiled_agrees_with_untiled_to_rounding():
    """Tiling changes only the order of the N-term sums: float64 runs agree to ~1e-12."""
    cfg = RunConfig(**SMALL, dtype="float64", networks="rnn")
    a = lowdim.simulate(cfg)
    b = lowdim.simulate(cfg.replace(loadings="procedural", tile_rows=1024))
    np.testing.assert_allclose(b["x"].values, a["x"].values, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b["m_rnn"].values, a["m_rnn"].values, rtol=1e-9, atol=1e-12)


def test_procedural_memory_is_O_N():
    big = RunConfig(neurons=10**8, rank=464, duration=0.01, burn_in=0.0)
    stored = estimate_memory(big)
    proc = estimate_memory(big.replace(loadings="procedural"))
    assert stored > 2 * 10**8 * 464 * 4  # F and G in float32
    assert proc < 200 * 10**8  # a few hundred bytes per neuron, not N·p
    # bf16 storage halves the loadings part
    half = estimate_memory(big.replace(loadings_dtype="bfloat16"))
    assert 0.45 < (half - proc) / (stored - proc) < 0.55


def test_procedural_rejects_custom_connectivity():
    cfg = RunConfig(**SMALL, loadings="procedural")
    conn = connectivity.paper(cfg.neurons, cfg.p, cfg.phi(), 0)
    with pytest.raises(lowdim.ConfigError, match="procedural"):
        lowdim.simulate(cfg, conn)


def test_tile_rows_validation():
    with pytest.raises(lowdim.ConfigError, match="multiple of 1024"):
        RunConfig(tile_rows=1500).validated()
    with pytest.raises(lowdim.ConfigError, match="loadings"):
        RunConfig(loadings="generated").validated()
