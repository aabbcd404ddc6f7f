"""Ring model (paper Fig. 1A, Eq. 5; SM Sec. I, Corollary 1).

N units at i.i.d. uniform angles θ_i on a ring. If C_ij = cos(θ_i − θ_j), the pairwise correlations
follow the arcsine law ρ(z) = 1/(π √(1 − z²)) as N → ∞: every unit has duplicates whose number
grows linearly with N.

The ring RNN realises these correlations dynamically: rank-2 connectivity with loadings on the
ring, F = G = √2 (cos θ, sin θ) (unit variance per column, like the paper's ξ), scale
s = 1/(cN) as in Eq. 7, the paper's φ, and the paper's input protocol (Eq. 9) in the plane of the
loadings, I_i dt = (σ/√2) F_i · dB on the 'in' half. The 'rec' potentials are linear readouts
x_i ≈ F_i · y(t) of a 2-d process y whose stationary law is rotation invariant (rotating all θ
maps the network onto itself in law), so C_ij^rec → cos(θ_i − θ_j), the arcsine law.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ..analysis.correlations import correlations_of_run
from ..connectivity import LowRank, from_arrays
from ..errors import ConfigError
from ..paper import RunConfig

__all__ = ["ring_angles", "ring_correlations", "ring_connectivity", "ring_rnn_correlations"]


def ring_angles(n: int, seed: int = 0) -> np.ndarray:
    """N i.i.d. uniform angles θ_i ∈ [0, 2π) (float64)."""
    return np.random.default_rng([seed, 11]).uniform(0.0, 2.0 * math.pi, size=n)


def ring_correlations(theta, pairs) -> np.ndarray:
    """C_ij = cos(θ_i − θ_j) for the (P, 2) index array ``pairs`` (Fig. 1A, Eq. 5)."""
    theta = np.asarray(theta, dtype=np.float64)
    pairs = np.asarray(pairs)
    return np.cos(theta[pairs[:, 0]] - theta[pairs[:, 1]])


def ring_connectivity(theta, c: float, dtype=jnp.float32) -> LowRank:
    """Rank-2 ring connectivity F = G = √2 (cos θ, sin θ), s = 1/(cN) (``c`` in Hz², e.g. φ.c)."""
    theta = np.asarray(theta, dtype=np.float64)
    load = math.sqrt(2.0) * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    return from_arrays(load, load, scale=1.0 / (c * len(theta)), dtype=dtype)


def ring_rnn_correlations(
    cfg: RunConfig, n_units: int = 1000, n_pairs: int = 100_000, theta=None
) -> dict:
    """Simulate the ring RNN (``cfg.neurons`` units, ``cfg.rank`` must be 2) and measure C^rec.

    Returns a dict with ``est`` (a two-segment :class:`PairCorrelation`: first/second half of the
    measured time), ``units`` (network indices of the recorded 'rec' units), ``theta`` (all
    angles), ``C`` (measured correlations of the sampled pairs) and ``cos`` (cos(θ_i − θ_j) of the
    same pairs).
    """
    cfg = cfg.validated()
    if cfg.p != 2:
        raise ConfigError(f"the ring RNN has rank 2; set rank = 2 (got {cfg.p})")
    theta = ring_angles(cfg.neurons, cfg.seed) if theta is None else np.asarray(theta)
    dtype = jnp.float64 if cfg.dtype == "float64" else jnp.float32
    conn = ring_connectivity(theta, cfg.phi().c, dtype)
    rng = np.random.default_rng([cfg.seed, 12])
    pop = np.arange(cfg.n_in, cfg.neurons)
    units = np.sort(rng.choice(pop, size=min(n_units, len(pop)), replace=False))
    est, units = correlations_of_run(cfg, conn, n_pairs=n_pairs, units=units)
    pairs = est.pairs
    C = est.correlations()
    cos = ring_correlations(theta[units], pairs)
    return {"est": est, "units": units, "theta": theta, "C": C, "cos": cos}
