"""Low-rank connectivity W_ij = s Σ_μ F_iμ G_jμ (i ≠ j) through overlaps (MODEL.md §1).

The N×N matrix is never built (except by :meth:`LowRank.dense` for N ≤ 5000): neuron j's activity
a_j reaches every neuron through the p overlaps ``m_μ = s Σ_j G_jμ a_j`` and neuron i receives
``Σ_μ F_iμ m_μ − γ_i a_i`` with the exact self-term ``γ_i = s Σ_μ F_iμ G_iμ`` removed, so that
W_ii = 0 (paper, Eqs. 7–8). Cost per application: O(N p).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .checks import finite
from .errors import ConfigError
from .nonlinearity import Transfer
from .procedural import loadings_key, paper_loadings

__all__ = ["LowRank", "paper", "from_arrays", "DENSE_MAX_N", "loadings_key"]

DENSE_MAX_N = 5000


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class LowRank:
    """Factorized connectivity.

    Attributes:
        F: (N, p) output loadings (paper: ξ).
        G: (N, p) input loadings (paper: φ(ξ) − a).
        scale: s (paper: 1/(cN), in seconds when φ is in Hz).
        gamma: (N,) self-couplings γ_i = s Σ_μ F_iμ G_iμ, removed so that W_ii = 0.
    """

    F: jax.Array
    G: jax.Array
    scale: float
    gamma: jax.Array

    def tree_flatten(self):
        return (self.F, self.G, self.gamma), (self.scale,)

    @classmethod
    def tree_unflatten(cls, aux, children):
        F, G, gamma = children
        return cls(F=F, G=G, scale=aux[0], gamma=gamma)

    @property
    def neurons(self) -> int:
        return int(self.F.shape[0])

    @property
    def rank(self) -> int:
        return int(self.F.shape[1])

    def overlaps(self, a):
        """m = s Gᵀ a; ``a`` is (N,) or (N, k); returns (p,) or (p, k) (Eq. 8), in the
        loadings' precision (float64 loadings compute in float64)."""
        with _precision(self.F.dtype):
            return self.scale * (self.G.T @ jnp.asarray(a, self.F.dtype))

    def recurrent_input(self, a):
        """Σ_{j≠i} W_ij a_j = F (s Gᵀ a) − γ ⊙ a, without the N×N matrix."""
        with _precision(self.F.dtype):
            a = jnp.asarray(a, self.F.dtype)
            m = self.overlaps(a)
            gamma = self.gamma if jnp.ndim(a) == 1 else self.gamma[:, None]
            return self.F @ m - gamma * a

    def dense(self) -> np.ndarray:
        """The N×N matrix with zero diagonal, for validation at N ≤ 5000 only."""
        n = self.neurons
        if n > DENSE_MAX_N:
            raise ConfigError(
                f"dense() builds an N×N matrix and is limited to N ≤ {DENSE_MAX_N} (got N = {n}); "
                "use overlaps()/recurrent_input() instead"
            )
        F = np.asarray(self.F, dtype=np.float64)
        G = np.asarray(self.G, dtype=np.float64)
        W = self.scale * (F @ G.T)
        np.fill_diagonal(W, 0.0)
        return W

    def row_norms(self) -> np.ndarray:
        """‖W_i‖₂ for every row, from the factors: s² F_iᵀ(GᵀG)F_i − γ_i² (no N×N; Eq. 14)."""
        F = np.asarray(self.F, dtype=np.float64)
        G = np.asarray(self.G, dtype=np.float64)
        gram = G.T @ G
        sq = (
            self.scale**2 * np.einsum("ip,pq,iq->i", F, gram, F)
            - np.asarray(self.gamma, dtype=np.float64) ** 2
        )
        return np.sqrt(np.maximum(sq, 0.0))


def _self_couplings(F, G, scale):
    return scale * jnp.sum(F * G, axis=1)


def _precision(dtype):
    """A context in which arrays of ``dtype`` can be made: float64 needs JAX's 64-bit mode, which
    is switched on for the construction only (the arrays stay float64 afterwards)."""
    import contextlib

    if dtype is not None and jnp.dtype(dtype) == jnp.float64:
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def from_arrays(F, G, scale: float, dtype=None) -> LowRank:
    """Connectivity from user arrays F (N, p), G (N, p) and the scalar ``scale``.

    ``dtype`` (default: F's, float32 for NumPy float64 input unless JAX's 64-bit mode is on)."""
    with _precision(dtype):
        return _from_arrays(F, G, scale, dtype)


def _from_arrays(F, G, scale, dtype):
    F = jnp.asarray(F, dtype=dtype)
    G = jnp.asarray(G, dtype=dtype if dtype is not None else F.dtype)
    if F.ndim != 2 or G.shape != F.shape:
        raise ConfigError(
            f"F and G must both be (N, p) arrays of the same shape; got {F.shape}, {G.shape}"
        )
    if not math.isfinite(scale):
        raise ConfigError(f"scale must be finite, got {scale}")
    finite(F, "F")  # names the first NaN or inf
    finite(G, "G")
    return LowRank(F=F, G=G, scale=float(scale), gamma=_self_couplings(F, G, scale))


def paper(
    neurons: int,
    rank: int,
    phi: Transfer,
    seed: int = 0,
    dtype=jnp.float32,
    storage_dtype=None,
) -> LowRank:
    """The paper's disordered network (Eq. 7): F = ξ, G = φ(ξ) − a, s = 1/(cN), ξ_iμ ~ N(0, 1).

    ξ is defined tile by tile from a counter-based RNG (:mod:`lowdim.procedural`), so the procedural
    mode regenerates exactly these numbers. ``storage_dtype`` (e.g. ``jnp.bfloat16``) stores F and G
    in lower precision; G is computed in ``dtype`` before rounding, and γ is computed in ``dtype``
    from the rounded loadings so that the removed self-term matches the stored matrix exactly.
    """
    with _precision(dtype):
        F, G = paper_loadings(neurons, rank, phi, seed, dtype, storage_dtype)
        scale = 1.0 / (phi.c * neurons)
        gamma = _self_couplings(F.astype(dtype), G.astype(dtype), scale)
    return LowRank(F=F, G=G, scale=scale, gamma=gamma)
