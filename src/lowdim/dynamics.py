"""One time step of the paired networks on a shared grid (MODEL.md §3).

    x ← e x + (dt/τ) (J φ(x))  + (σ/(τ√p)) ξ ΔB   [in-neurons]  + (1 − e) I(t)
    h ← e h + (1/τ)  (J n)     + (σ/(τ√p)) ξ ΔB   [in-neurons]  + (1 − e) I(t) [+ (σ̃/τ) ΔW]
    n_j ~ Poisson(φ(h_j) dt),  ΔB ~ N(0, dt·u I_p),  e = exp(−dt/τ)

Given the same state, E[(1/τ) J n] = (dt/τ) J φ(h): the expected SNN step is the RNN step.
J acts through overlaps only (``LowRank``); both networks share one read of F and one of G.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

__all__ = ["poisson_counts_thinning", "thinning_block"]


def thinning_block(neurons: int, lam_max: float) -> int:
    """Candidate buffer size: mean + 8 sd + 16, so one block almost always suffices."""
    mean = neurons * lam_max
    return int(min(neurons * 4 + 16, math.ceil(mean + 8.0 * math.sqrt(mean) + 16)))


def poisson_counts_thinning(
    key,
    rate_fn,
    potentials,
    rate_max: float,
    dt: float,
    block: int,
    dtype=jnp.float32,
    n_valid: int | None = None,
):
    """Exact independent counts n_j ~ Poisson(φ(h_j) dt) for all j, by thinning.

    Draw K ~ Poisson(N · max φ · dt) candidate events, each on a uniformly chosen neuron j and
    kept with probability φ(h_j)/max φ. Conditioned on K, candidates are i.i.d. uniform with
    independent marks, so per-neuron candidate counts are independent Poisson(max φ · dt)
    (Poisson splitting), and independent thinning with probability φ(h_j)/max φ leaves independent
    Poisson(φ(h_j) dt) counts — exact for any φ ≤ max φ. Candidates are processed in blocks of
    fixed size ``block`` inside a while loop, so K is never truncated.

    Only the candidates' potentials are read (``potentials[idx]``). Returns the counts (N,).
    Every draw has an explicit dtype (int32 indices), so the numbers do not depend on JAX's
    64-bit mode.
    ``n_valid`` < N restricts the neurons to the first ``n_valid`` entries (padded layouts; the
    draws are then those of an unpadded array of ``n_valid`` neurons) and the rest get zero counts.
    """
    n = potentials.shape[0] if n_valid is None else n_valid
    kK, kb = jax.random.split(key)
    K = jax.random.poisson(kK, n * rate_max * dt, dtype=jnp.int32)

    def body(state):
        counts, done, i = state
        k1, k2 = jax.random.split(jax.random.fold_in(kb, i))
        idx = jax.random.randint(k1, (block,), 0, n, dtype=jnp.int32)
        u = jax.random.uniform(k2, (block,), dtype=potentials.dtype)
        valid = jnp.arange(block, dtype=jnp.int32) < (K - done)
        keep = valid & (u * rate_max < rate_fn(potentials[idx]))
        counts = counts.at[idx].add(keep.astype(dtype))
        return counts, done + block, i + 1

    counts, _, _ = jax.lax.while_loop(
        lambda s: s[1] < K,
        body,
        (jnp.zeros(potentials.shape[0], dtype), jnp.int32(0), jnp.int32(0)),
    )
    return counts
