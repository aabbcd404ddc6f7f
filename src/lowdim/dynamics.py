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
    columns=None,
    weights=None,
):
    """Exact independent counts n_j ~ Poisson(φ(h_j) dt) for all j, by thinning.

    Draw K ~ Poisson(N · max φ · dt) candidate events, each on a uniformly chosen neuron j and
    kept with probability φ(h_j)/max φ. Conditioned on K, candidates are i.i.d. uniform with
    independent marks, so per-neuron candidate counts are independent Poisson(max φ · dt)
    (Poisson splitting), and independent thinning with probability φ(h_j)/max φ leaves independent
    Poisson(φ(h_j) dt) counts — exact for any φ ≤ max φ. Candidates are processed in blocks of
    fixed size ``block`` inside a while loop, so K is never truncated.

    Only the candidates' potentials are read (``potentials[idx]``). Returns the counts (N,).

    With ``columns`` (a (p, N) array, e.g. Gᵀ) it also returns Σ_spikes w_j columns[:, j] (p,),
    the sum over the spikes of their neurons' columns (weighted by ``weights`` (N,) if given):
    the accepted candidates are compacted and their columns gathered in sub-blocks, so the cost is
    O(spikes · p) instead of the O(N p) of a dense product with the counts.
    Every draw has an explicit dtype (int32 indices), so the numbers do not depend on JAX's
    64-bit mode.
    ``n_valid`` < N restricts the neurons to the first ``n_valid`` entries (padded layouts; the
    draws are then those of an unpadded array of ``n_valid`` neurons) and the rest get zero counts.
    """
    n = potentials.shape[0] if n_valid is None else n_valid
    kK, kb = jax.random.split(key)
    K = jax.random.poisson(kK, n * rate_max * dt, dtype=jnp.int32)
    acc = max(64, block // 16)
    n_acc_pad = acc * (-(-block // acc))

    def gathered(msum, idx, keep):
        pos = jnp.cumsum(keep.astype(jnp.int32)) - 1
        n_keep = jnp.sum(keep, dtype=jnp.int32)
        comp = (
            jnp.zeros((n_acc_pad,), jnp.int32)
            .at[jnp.where(keep, pos, n_acc_pad)]
            .set(idx, mode="drop")
        )

        def sub(a):
            m, j = a
            rows = jax.lax.dynamic_slice(comp, (j * acc,), (acc,))
            w = ((j * acc + jnp.arange(acc, dtype=jnp.int32)) < n_keep).astype(dtype)
            if weights is not None:
                w = w * weights[rows]
            cols = jnp.take(columns, rows, axis=1, mode="clip").astype(dtype)
            return m + cols @ w, j + 1

        m, _ = jax.lax.while_loop(lambda a: a[1] * acc < n_keep, sub, (msum, jnp.int32(0)))
        return m

    def body(state):
        counts, msum, done, i = state
        k1, k2 = jax.random.split(jax.random.fold_in(kb, i))
        idx = jax.random.randint(k1, (block,), 0, n, dtype=jnp.int32)
        u = jax.random.uniform(k2, (block,), dtype=potentials.dtype)
        valid = jnp.arange(block, dtype=jnp.int32) < (K - done)
        keep = valid & (u * rate_max < rate_fn(potentials[idx]))
        counts = counts.at[idx].add(keep.astype(dtype))
        if columns is not None:
            msum = gathered(msum, idx, keep)
        return counts, msum, done + block, i + 1

    m0 = jnp.zeros((columns.shape[0] if columns is not None else 0,), dtype)
    counts, msum, _, _ = jax.lax.while_loop(
        lambda s: s[2] < K,
        body,
        (jnp.zeros(potentials.shape[0], dtype), m0, jnp.int32(0), jnp.int32(0)),
    )
    return counts if columns is None else (counts, msum)
