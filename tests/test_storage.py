"""Low-precision storage of the loadings (issue 5, item 2): bf16/fp16 F and G, fp32 accumulation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lowdim
from lowdim.paper import RunConfig, prepared
from lowdim.solve import _contract


@pytest.mark.parametrize("low", [jnp.bfloat16, jnp.float16])
def test_split_product_accumulates_in_fp32(low):
    """Gᵀa with G stored in low precision equals the exact product of the *rounded* G with a to
    fp32 accuracy: the small operand is split into hi + lo parts, so it is not rounded to bf16."""
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    G = jax.random.normal(k1, (20000, 30), jnp.float32).astype(low)
    a = jax.random.uniform(k2, (20000, 2), jnp.float32) * 1e-2
    got = np.asarray(jax.jit(lambda G, a: _contract("np,nq->pq", G, a, jnp.float32))(G, a))
    exact = np.asarray(G, np.float64).T @ np.asarray(a, np.float64)
    naive = np.asarray(G, np.float64).T @ np.asarray(a.astype(low), np.float64)
    err = np.max(np.abs(got - exact)) / np.max(np.abs(exact))
    err_naive = np.max(np.abs(naive - exact)) / np.max(np.abs(exact))
    assert got.dtype == np.float32
    assert err < 2e-5, err
    assert err_naive > 10 * err  # rounding a to the storage precision would be much worse


def test_bf16_storage_run():
    cfg = RunConfig(neurons=3000, rank=8, duration=0.03, burn_in=0.01, seed=2)
    low = cfg.replace(loadings_dtype="bfloat16")
    spec, _, P = prepared(low)
    assert P["F"].dtype == jnp.bfloat16 and P["G"].dtype == jnp.bfloat16
    # γ is the self-term of the rounded loadings, computed in fp32
    F, G = np.asarray(P["F"], np.float64), np.asarray(P["G"], np.float64).T  # Gᵀ stored
    np.testing.assert_allclose(
        np.asarray(P["gamma"]), spec.scale * np.sum(F * G, axis=1), rtol=1e-5, atol=1e-9
    )
    a, b = lowdim.simulate(cfg), lowdim.simulate(low)
    assert b.x.dtype == np.float32
    # same network up to a 2⁻⁹ relative rounding of every weight: the RNN traces stay close
    # (tolerance: |Δx| ≲ 2⁻⁸·|recurrent input| accumulated over a few τ) but are not identical
    diff = np.max(np.abs(a.x.values - b.x.values))
    assert 0 < diff < 5e-2 * np.max(np.abs(a.x.values))
    assert abs(a.attrs["distance_rec"] - b.attrs["distance_rec"]) < 0.3 * a.attrs["distance_rec"]


def test_loadings_dtype_validation():
    with pytest.raises(lowdim.ConfigError, match="loadings_dtype"):
        RunConfig(loadings_dtype="int8").validated()
    with pytest.raises(lowdim.ConfigError, match="more precise"):
        RunConfig(loadings_dtype="float64").validated()
    assert RunConfig(loadings_dtype="float32", dtype="float64").validated().loadings_bytes == 4
