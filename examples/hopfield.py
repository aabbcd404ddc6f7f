"""Hopfield memory: retrieving a stored pattern from a corrupted cue, and where retrieval fails.

N binary neurons S_i = ±1 store p random patterns ξ^μ with Hebbian weights
w_ij = (1/N) Σ_μ ξ_i^μ ξ_j^μ — a rank-p network with F = G = ξ, scale 1/N (lecture: Hopfield
model). Neurons update asynchronously, S_i ← sgn(Σ_j w_ij S_j) (``Binary("async")``; one time
step = one sweep in which every neuron updates once, in random order). The overlaps
m^μ = (1/N) Σ_j ξ_j^μ S_j are the network's low-dimensional state (``Overlaps`` probe).

The cue is pattern 1 with 20 % of its signs flipped (m = 0.6). At a small load α = p/N the
network cleans it up (m → 1); near the critical load α_c ≈ 0.138 of the N → ∞ theory (Amit,
Gutfreund & Sompolinsky 1985) retrieval breaks down. The one-step map of the noise-free theory,
m ← erf(m / √(2α)), gives the overlap after one synchronous step from the cue; it is printed beside the
simulation's first asynchronous sweep, which starts from the same cue but lets each neuron see
the neighbours already updated in that sweep (so the two differ, most at high load).

Run: ``python examples/hopfield.py [--small] [--out DIR]`` (writes DIR/hopfield.png).
"""

from __future__ import annotations

import argparse
from math import erf, sqrt
from pathlib import Path

import jax
import numpy as np

import lowdim
from lowdim.plotting import plt, savefig


def retrieval(n: int, load: float, seed: int, sweeps: int, flip: float = 0.2) -> np.ndarray:
    """Overlap with the cued pattern after each sweep (sweeps + 1 values, the cue's first)."""
    rng = np.random.default_rng(seed)
    p = max(1, round(load * n))
    xi = rng.choice([-1.0, 1.0], size=(n, p))
    cue = xi[:, 0] * np.where(rng.random(n) < flip, -1.0, 1.0)
    net = lowdim.Network(
        neurons=n, F=xi, G=xi, scale=1.0 / n, kinds=(lowdim.Binary("async"),), x0=cue
    )
    out = lowdim.solve(
        net, lowdim.Grid(dt=1.0, steps=sweeps), jax.random.PRNGKey(seed), {"m": lowdim.Overlaps()}
    )
    m = np.asarray(out["m"])[:, 0]
    return np.concatenate([[float(cue @ xi[:, 0]) / n], m])


def main(small: bool = False, out: Path = Path("examples-out")) -> dict:
    n = 1000 if small else 8000
    sweeps = 6 if small else 10
    loads = [0.05, 0.1, 0.2] if small else [0.02, 0.05, 0.1, 0.12, 0.14, 0.16, 0.2, 0.25]
    seeds = 1 if small else 3
    curves = {a: np.mean([retrieval(n, a, s, sweeps) for s in range(seeds)], axis=0) for a in loads}
    result = {}
    for a, m in curves.items():
        one_step = erf(m[0] / sqrt(2 * a))
        result[a] = {"final_overlap": float(m[-1]), "first_sweep": float(m[1])}
        print(
            f"α = {a:.2f}: overlap {m[0]:.2f} (cue) → {m[1]:.3f} after one sweep "
            f"(one synchronous step of the theory: {one_step:.3f}) → {m[-1]:.3f} after {sweeps}"
        )

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    cmap = plt.cm.viridis
    for k, (a, m) in enumerate(curves.items()):
        axes[0].plot(m, "o-", ms=3, color=cmap(k / max(1, len(curves) - 1)), label=f"α = {a}")
    axes[0].set(xlabel="sweep", ylabel="overlap m¹ with the cued pattern", ylim=(0, 1.05))
    axes[0].set_title(f"retrieval from a cue with 20 % flipped bits, N = {n:,}")
    axes[0].legend(fontsize=8)
    axes[1].plot(loads, [result[a]["final_overlap"] for a in loads], "o-", color="C3")
    axes[1].axvline(0.138, color="k", ls="--", lw=1, label="α_c ≈ 0.138 (N → ∞)")
    axes[1].set(xlabel="load α = p/N", ylabel=f"overlap after {sweeps} sweeps", ylim=(0, 1.05))
    axes[1].set_title("capacity")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    savefig(fig, out / "hopfield.png")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a small, fast version (for tests)")
    ap.add_argument("--out", type=Path, default=Path("examples-out"), help="output folder")
    a = ap.parse_args()
    main(a.small, a.out)
