"""The Threefry-2x32 hash unrolled on the CPU while lowdim compiles a simulation chunk.

Every ``jax.random`` draw (split, fold_in, uniform, randint, normal, poisson) runs the
Threefry-2x32 hash. On the CPU, JAX lowers that hash as a loop of five iterations (short compile
times); inside a simulation step each draw then launches its own loop, and each iteration copies
its carry. At N = 10⁴ the event method's step spends most of its ≈ 480 XLA operations per step in
those loops. :func:`unrolled` lowers the same hash with its 20 rounds written out, as JAX does on
the GPU: the same additions, rotations and xors in the same order, so the bits are identical
(``tests/test_threefry.py`` compares them with JAX's own lowering). It is scoped: the rule JAX had
is restored on exit, so code compiled outside lowdim's chunks is untouched.

The draws are identical, but the program around them is fused differently, so other float32
arithmetic of a step can round differently. A stored paired run, rerun under this rule, had its
rate network's x move by up to 10⁻⁶ while its spikes stayed the same. The engine therefore uses it
for the event method only (``engine.compiled_chunk``), where the draws are most of the step's
operations. The dense method keeps JAX's rule, and its stored runs rerun bitwise.

Where JAX's internals differ from what this module expects (another JAX version), :func:`unrolled`
changes nothing and the chunks compile with JAX's own rule.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

__all__ = ["unrolled", "hash_2x32", "available"]

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_LOCK = threading.RLock()


def hash_2x32(key1, key2, x1, x2):
    """Threefry-2x32 (20 rounds) of the counters (x1, x2) under the key (key1, key2): uint32
    arrays (broadcast), written out round by round."""
    ks = (key1, key2, key1 ^ key2 ^ np.uint32(0x1BD11BDA))
    a = x1 + ks[0]
    b = x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            a = a + b
            b = (b << np.uint32(r)) | (b >> np.uint32(32 - r))
            b = a ^ b
        a = a + ks[(i + 1) % 3]
        b = b + ks[(i + 2) % 3] + np.uint32(i + 1)
    return a, b


def _table_and_rule():
    """(JAX's table of CPU lowering rules, the primitive, our rule) or None where unavailable."""
    try:
        from jax._src.interpreters import mlir as _mlir
        from jax.extend.random import threefry2x32_p
        from jax.interpreters import mlir

        table = _mlir._platform_specific_lowerings["cpu"]
        entry = type(table[threefry2x32_p])
    except (ImportError, AttributeError, KeyError, TypeError):
        return None
    rule = mlir.lower_fun(lambda k1, k2, x1, x2: hash_2x32(k1, k2, x1, x2), multiple_results=True)
    return table, threefry2x32_p, entry(rule, True)


_STATE: dict = {}


def available() -> bool:
    """Whether :func:`unrolled` can swap the rule with this JAX."""
    if "found" not in _STATE:
        _STATE["found"] = _table_and_rule()
    return _STATE["found"] is not None


@contextlib.contextmanager
def unrolled():
    """Within the block, JAX lowers Threefry-2x32 on the CPU unrolled (identical bits)."""
    if not available():
        yield
        return
    table, prim, ours = _STATE["found"]
    with _LOCK:
        before = table.get(prim)
        table[prim] = ours
        try:
            yield
        finally:
            if before is None:
                table.pop(prim, None)
            else:
                table[prim] = before
