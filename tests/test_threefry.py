"""The unrolled Threefry-2x32 lowering gives JAX's bits, and only within its block."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.random import threefry2x32_p

from lowdim import threefry


def _draws(key):
    """Every kind of draw the engine makes, from one key."""
    k1, k2, k3, k4 = jax.random.split(jax.random.fold_in(key, 7), 4)
    return {
        "randint": jax.random.randint(k1, (1000,), 0, 123_457, dtype=jnp.int32),
        "uniform": jax.random.uniform(k2, (999,), dtype=jnp.float32),
        "normal": jax.random.normal(k3, (3, 101), dtype=jnp.float32),
        "poisson": jax.random.poisson(k4, 37.5, (17,), dtype=jnp.int32),
        "bits": jax.random.bits(k4, (257,), dtype=jnp.uint32),
    }


def _compiled(f, *args):
    return jax.jit(f).lower(*args).compile()


def _cpu_rule():
    from jax._src.interpreters import mlir

    return mlir._platform_specific_lowerings["cpu"].get(threefry2x32_p)


def test_hash_matches_the_reference_vectors():
    """Known-answer test of Threefry-2x32 (20 rounds) from the Random123 suite (kat_vectors):
    key (0, 0), counter (0, 0) and key = counter = (2³² − 1, 2³² − 1)."""
    z = np.zeros(1, np.uint32)
    a, b = threefry.hash_2x32(z, z, z, z)
    assert (int(a[0]), int(b[0])) == (0x6B200159, 0x99BA4EFE)
    f = np.full(1, 0xFFFFFFFF, np.uint32)
    a, b = threefry.hash_2x32(f, f, f, f)
    assert (int(a[0]), int(b[0])) == (0x1CB996FC, 0xBB002BE7)


@pytest.mark.skipif(not threefry.available(), reason="this JAX keeps its lowering rules elsewhere")
def test_unrolled_lowering_gives_identical_bits_and_is_scoped():
    key = jax.random.PRNGKey(2026)
    before = _cpu_rule()
    with threefry.unrolled():
        assert _cpu_rule() is not before
        unrolled = _compiled(lambda k: _draws(k), key)  # a new function: no cached lowering
    assert _cpu_rule() is before  # the rule JAX had is back
    reference = _compiled(lambda k: _draws(k), key)
    for name, value in unrolled(key).items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(reference(key)[name]), name)
    # the unrolled program has no loop around the hash; JAX's own has one per draw
    loops = [c.as_text().count(" while(") for c in (unrolled, reference)]
    assert loops[0] < loops[1], loops


@pytest.mark.skipif(not threefry.available(), reason="this JAX keeps its lowering rules elsewhere")
def test_nested_blocks_restore_the_original_rule():
    before = _cpu_rule()
    with threefry.unrolled():
        with threefry.unrolled():
            pass
        assert _cpu_rule() is not before
    assert _cpu_rule() is before
