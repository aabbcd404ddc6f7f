"""The simplified feedforward model of SM Sec. V (and its membrane-noise version, SM Sec. VI).

Keeping only the in → rec weights of the paper's network gives a two-layer network: layer 1 =
the "in" neurons (driven by the input, Eq. S22a), layer 2 = the "rec" neurons (passive
membranes driven by layer-1 spikes, Eq. S22c). Run it with
``RunConfig(topology="feedforward")``. For every layer-2 neuron i (Theorem 4, Eq. S21)

    lim_T (1/T) ∫ |h_i − x_i| dt ≤ √(max φ / (2τ)) ‖J_i‖₂,                       (S21)

where ‖J_i‖₂ is the norm of i's incoming weights, i.e. over the in-sources j < N_in only (the
only ones left). With diffusive membrane noise σ̃ dW on layer 1 and the generalized rate network
Φ(x̄, Σ(t)) (Eq. S25), the looser bound (end of SM Sec. VI) is

    lim_T (1/T) ∫ |h_i − x_i| dt ≤ (√(max φ / (2τ)) + max φ) ‖J_i‖₂.

With ‖J_i‖₂ → √(α/c) (Eq. 14) the paper's feedforward line is √(max φ/(2τc)) √α (Fig. 2).

Units: the bounds involve only φ (Hz), τ (s) and J (s, with the paper's s = 1/(cN)); both sides
are dimensionless potentials. They do not depend on the input, so they hold unchanged for every
``noise_time_unit`` (that option rescales only the Brownian input and the membrane noise).

On the simulation grid (``dt``), the spike noise accumulates as Σ_k e^{−2k dt/τ} instead of the
integral; ``dt=`` gives the grid-exact constants, larger than the continuous ones by
√((2dt/τ)/(1 − e^{−2dt/τ})) ≈ 1 + dt/(2τ) (0.5 % at dt/τ = 0.01).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import connectivity as conn_mod
from ..connectivity import LowRank
from ..nonlinearity import Transfer
from ..paper import simulate

__all__ = [
    "in_source_norms",
    "lnp_constant",
    "membrane_constant",
    "bound_lnp",
    "bound_membrane",
    "feedforward_line",
    "BoundCheck",
    "check_bound",
    "feedforward_check",
]


def in_source_norms(conn: LowRank, n_in: int, rows) -> np.ndarray:
    """‖J_i‖₂ over the in-sources j < n_in, for the given (layer-2) rows i ≥ n_in.

    ‖J_i‖² = s² F_iᵀ (G_inᵀ G_in) F_i with G_in = G[:n_in] (no N×N matrix; no self-term since
    i is not an in-source). Shape: (len(rows),), in seconds for the paper's J.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size and rows.min() < n_in:
        raise ValueError("in_source_norms is for layer-2 ('rec') rows i ≥ n_in")
    F = np.asarray(conn.F, dtype=np.float64)[rows]
    G_in = np.asarray(conn.G[:n_in], dtype=np.float64)
    gram = G_in.T @ G_in
    sq = conn.scale**2 * np.einsum("ip,pq,iq->i", F, gram, F)
    return np.sqrt(np.maximum(sq, 0.0))


def lnp_constant(phi_max: float, tau: float, dt: float | None = None) -> float:
    """√(max φ/(2τ)) (Eq. S21); with ``dt``: √(max φ · dt / (τ² (1 − e^{−2dt/τ}))) on the grid."""
    if dt is None:
        return math.sqrt(phi_max / (2.0 * tau))
    return math.sqrt(phi_max * dt / (tau**2 * -math.expm1(-2.0 * dt / tau)))


def membrane_constant(phi_max: float, tau: float, dt: float | None = None) -> float:
    """√(max φ/(2τ)) + max φ (SM Sec. VI); with ``dt`` the grid-exact first term and the grid's
    filter weight (dt/τ)/(1 − e^{−dt/τ}) on the second."""
    if dt is None:
        return lnp_constant(phi_max, tau) + phi_max
    weight = (dt / tau) / -math.expm1(-dt / tau)
    return lnp_constant(phi_max, tau, dt) + phi_max * weight


def bound_lnp(phi: Transfer, tau: float, norms, dt: float | None = None) -> np.ndarray:
    """Per-neuron bound √(max φ/(2τ)) ‖J_i‖₂ (dimensionless potential)."""
    return lnp_constant(phi.max, tau, dt) * np.asarray(norms, dtype=np.float64)


def bound_membrane(phi: Transfer, tau: float, norms, dt: float | None = None) -> np.ndarray:
    """Per-neuron looser bound (√(max φ/(2τ)) + max φ) ‖J_i‖₂ with membrane noise."""
    return membrane_constant(phi.max, tau, dt) * np.asarray(norms, dtype=np.float64)


def feedforward_line(alpha, phi: Transfer, tau: float) -> np.ndarray:
    """The paper's feedforward scaling √(max φ / (2τc)) √α (Fig. 2, dashed line)."""
    return math.sqrt(phi.max / (2.0 * tau * phi.c)) * np.sqrt(np.asarray(alpha, dtype=np.float64))


@dataclass(frozen=True)
class BoundCheck:
    """How many neurons satisfy distance ≤ bound, and the worst distance/bound ratio."""

    n: int
    satisfied: int
    worst_ratio: float
    mean_ratio: float

    @property
    def fraction(self) -> float:
        return self.satisfied / self.n if self.n else float("nan")

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "satisfied": self.satisfied,
            "fraction": self.fraction,
            "worst_ratio": self.worst_ratio,
            "mean_ratio": self.mean_ratio,
        }


def check_bound(distances, bounds) -> BoundCheck:
    """Compare per-neuron time-averaged |h − x| with per-neuron bounds."""
    d = np.asarray(distances, dtype=np.float64)
    b = np.asarray(bounds, dtype=np.float64)
    if d.shape != b.shape:
        raise ValueError(f"distances {d.shape} and bounds {b.shape} differ in shape")
    ratio = d / b
    return BoundCheck(
        n=int(d.size),
        satisfied=int(np.sum(d <= b)),
        worst_ratio=float(np.max(ratio)) if d.size else float("nan"),
        mean_ratio=float(np.mean(ratio)) if d.size else float("nan"),
    )


def feedforward_check(cfg, *, progress: bool = False) -> dict:
    """Simulate the feedforward model of ``cfg`` and check the per-neuron bound.

    ``cfg`` is a :class:`~lowdim.RunConfig`; it is run with ``topology="feedforward"`` and
    ``record_population="rec"``. With ``cfg.membrane_noise > 0`` the looser bound of SM Sec. VI is
    checked (the engine's RNN then uses Φ(x̄, Σ_k) on layer 1). The grid-exact constants are used
    (``dt`` of the run); the continuous ones are reported too.

    Returns a JSON-able dict: neurons (recorded layer-2 indices), distance, norm, bound,
    check (BoundCheck as dict), the constants, the mean in-source norm next to √(α/(2c)) and
    √(α/c), and the run's Δ_rec, Δ_in (layer 1) and rates.
    """
    cfg = cfg.replace(topology="feedforward", record_population="rec")
    phi = cfg.phi()
    dtype = np.float64 if cfg.dtype == "float64" else np.float32
    conn = conn_mod.paper(cfg.neurons, cfg.p, phi, cfg.seed, dtype)
    ds = simulate(cfg, conn, progress=progress)
    rows = ds.neuron.values
    norms = in_source_norms(conn, cfg.n_in, rows)
    noisy = cfg.membrane_noise > 0
    const = (membrane_constant if noisy else lnp_constant)(phi.max, cfg.tau, cfg.dt)
    const_cont = (membrane_constant if noisy else lnp_constant)(phi.max, cfg.tau)
    dist = ds.distance_neuron.values.astype(np.float64)
    bounds = const * norms
    return {
        "neurons": rows.tolist(),
        "distance": dist.tolist(),
        "norm": norms.tolist(),
        "bound": bounds.tolist(),
        "bound_kind": "membrane (SM VI)" if noisy else "LNP (Eq. S21)",
        "constant_grid": const,
        "constant_continuous": const_cont,
        "check": check_bound(dist, bounds).to_dict(),
        "norm_mean": float(np.mean(norms)) if norms.size else float("nan"),
        "norm_theory_in_sources": math.sqrt(cfg.alpha / (2.0 * phi.c)),
        "norm_theory_full_row": math.sqrt(cfg.alpha / phi.c),
        "distance_rec": float(ds.attrs["distance_rec"]),
        "distance_in": float(ds.attrs["distance_in"]),
        "rate_snn_hz": float(ds.attrs["rate_snn_hz"]),
        "rate_rnn_hz": float(ds.attrs["rate_rnn_hz"]),
    }
