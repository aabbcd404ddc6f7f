"""Your own low-rank network from arrays: a rank-1 network with two memories, as rate neurons
and as their spiking twin, from two initial states at once.

The loadings are one Gaussian vector m (N values): W_ij = J m_i m_j / (N r_max) (s), φ(x) =
r_max σ(4x) (Hz), τ = 20 ms. Such a network has one latent variable κ(t) (x_i = κ m_i) and, for
J σ'(0) > 1, two stable states ±κ* with (lecture: "Field equation and low-dimensional dynamics")

    κ* = J E_z[z σ(4 z κ*)],   z ~ N(0, 1)

(Gauss–Hermite quadrature below). The run starts two trials at κ = +0.3 and κ = −0.3: each falls
into the state of its sign, in the rate network and in the Poisson spiking network that shares
its loadings, initial state and time grid (a paired run: ``kinds=(Rate(φ), Poisson(φ))``).

Run: ``python examples/own_network.py [--small] [--out DIR]`` (writes DIR/own_network.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import numpy as np

import lowdim
from lowdim.plotting import plt, savefig


def kappa_star(J: float, grid_factor: float = 1.0) -> float:
    """The positive fixed point of κ = g J E[z σ(4zκ)] (Gauss–Hermite, 80 nodes)."""
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    k = 1.0
    for _ in range(500):
        k = grid_factor * J * np.sum(w * z / (1 + np.exp(-4 * z * k)))
    return float(k)


def kappa_star_sample(m, J: float, sign: float, grid_factor: float = 1.0) -> float:
    """The same fixed point for the N drawn values m_i: κ = g J (1/N) Σ_i m_i σ(4 m_i κ)."""
    k = sign
    for _ in range(500):
        k = grid_factor * J * np.mean(m / (1 + np.exp(-4 * m * k)))
    return float(k)


def main(small: bool = False, out: Path = Path("examples-out")) -> dict:
    n = 2000 if small else 20_000
    J, rmax, tau = 2.0, 100.0, 0.02
    rng = np.random.default_rng(1)
    m = rng.standard_normal((n, 1))
    phi = lowdim.transfer(lambda x: rmax * jax.nn.sigmoid(4.0 * x), max=rmax, name="sigmoid")
    x0 = np.stack([0.3 * m[:, 0], -0.3 * m[:, 0]])  # two trials: κ(0) = ±0.3
    net = lowdim.Network(
        neurons=n,
        F=m,
        G=m,
        scale=J / (n * rmax),  # W_ij = J m_i m_j / (N r_max), in s (φ is in Hz)
        kinds=(lowdim.Rate(phi), lowdim.Poisson(phi)),
        tau=tau,
        x0=x0,
        trials=2,
    )
    grid = lowdim.Grid.of(duration=0.4, dt=2e-4, record_dt=2e-3)
    out_ = lowdim.solve(
        net, grid, jax.random.PRNGKey(0), {"kappa": lowdim.Projection.least_squares(m)}
    )
    kappa = np.asarray(out_["kappa"])[..., 0]  # (trials, time, networks)
    t = (np.arange(grid.records) + 1) * grid.record_every * grid.dt
    h = grid.dt / tau
    ks = kappa_star(J)
    ks_grid = kappa_star(J, h / (1 - np.exp(-h)))  # the fixed point of the time-stepped equations
    last = t > 0.3
    result = {"kappa_star": ks, "kappa_star_grid": ks_grid}
    print(f"theory (N → ∞): κ* = ±{ks:.4f}; on this time grid ±{ks_grid:.4f}")
    for trial, sign in enumerate((+1, -1)):
        sample = kappa_star_sample(m[:, 0], J, sign, h / (1 - np.exp(-h)))
        result[f"theory_sample_{trial}"] = sample
        for k, name in enumerate(["rate", "poisson"]):
            final = float(kappa[trial, last, k].mean())
            result[f"{name}_{trial}"] = final
            print(
                f"{name:>8} from κ(0) = {sign * 0.3:+.1f}: κ(t > 0.3 s) = {final:+.4f}  "
                f"(theory for these N values of m: {sample:+.4f})"
            )

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for trial in range(2):
        axes[0].plot(
            t, kappa[trial, :, 0], color="C0", lw=1.5, label="rate" if trial == 0 else None
        )
        axes[0].plot(
            t, kappa[trial, :, 1], color="C1", lw=0.8, label="spiking" if trial == 0 else None
        )
    for s in (+1, -1):
        axes[0].axhline(s * ks_grid, color="k", ls="--", lw=0.8)
    axes[0].set(xlabel="time (s)", ylabel="κ(t)", title="latent variable (dashed: theory ±κ*)")
    axes[0].legend()
    kk = np.linspace(-1.5, 1.5, 301)
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    flow = [-k + J * np.sum(w * z / (1 + np.exp(-4 * z * k))) for k in kk]
    axes[1].plot(kk, flow, "k")
    axes[1].axhline(0, color="0.6", lw=0.8)
    axes[1].plot([-ks, 0, ks], [0, 0, 0], "o", color="C3")
    axes[1].set(xlabel="κ", ylabel="τ dκ/dt", title="latent dynamics: two stable states")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    savefig(fig, out / "own_network.png")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a small, fast version (for tests)")
    ap.add_argument("--out", type=Path, default=Path("examples-out"), help="output folder")
    a = ap.parse_args()
    main(a.small, a.out)
