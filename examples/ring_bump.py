"""A ring attractor: a bump of activity that persists without input and follows a moving cue.

N neurons sit on a ring at angles θ_i. Their connectivity has rank 3 — loadings (1, cos θ, sin θ)
— so W_ij = (J₀ + J₁ cos(θ_i − θ_j)) / N: nearby neurons excite each other, all inhibit all
(the lecture's Mexican-hat field model on a ring, as a low-rank network). The same network runs
as rate neurons and as their Poisson spiking twin, side by side (one paired run: same loadings,
same input). The input is a cue along (cos θ, sin θ):

- 0 – 0.2 s: a cue at angle 0 creates a bump there;
- 0.2 – 0.5 s: no input: the bump stays (an attractor, not a response to the input);
- 0.5 – 1.0 s: the cue turns once per second: the bump follows, a little behind.

The bump's position is the angle of the latent variables κ = (κ₀, κ₁, κ₂) of the activity
(least-squares projection on the loadings), its height |κ₁ + iκ₂|.

Run: ``python examples/ring_bump.py [--small] [--out DIR]`` (writes DIR/ring_bump.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import lowdim
from lowdim.plotting import plt, savefig


def main(small: bool = False, out: Path = Path("examples-out")) -> dict:
    n = 1000 if small else 4000
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    F = np.stack([np.ones(n), np.cos(theta), np.sin(theta)], axis=1)
    rmax = 100.0  # Hz
    G = F * np.array([-2.0, 12.0, 12.0]) / rmax  # W_ij = (−2 + 12 cos(θ_i − θ_j)) / (N rmax), in s
    phi = lowdim.transfer(lambda x: rmax * jax.nn.sigmoid(4.0 * (x - 1.0)), max=rmax, name="sig")

    def cue(t):  # (q = 3) input along the loadings' columns: off, fixed, then turning
        on = (t < 0.2) | (t >= 0.5)
        angle = jnp.where(t < 0.5, 0.0, 2 * jnp.pi * (t - 0.5))
        amp = 1.5 * on
        return jnp.stack([0.0 * t, amp * jnp.cos(angle), amp * jnp.sin(angle)])

    net = lowdim.Network(
        neurons=n,
        F=F,
        G=G,
        scale=1.0 / n,
        kinds=(lowdim.Rate(phi), lowdim.Poisson(phi)),  # a paired run: rate and spiking twin
        tau=0.01,
        inputs=(lowdim.Drive(cue, lowdim.Along(np.eye(3))),),
    )
    grid = lowdim.Grid.of(duration=1.0, dt=2e-4, record_dt=5e-3)
    ds = lowdim.run(
        net,
        grid,
        {"kappa": lowdim.Projection.least_squares(F), "rate": lowdim.Activity(mode="mean")},
        seed=0,
        progress=not small,
    )
    t = ds.time.values
    kappa = ds.kappa.values  # (time, network, 3)
    bump = np.angle(kappa[:, :, 1] + 1j * kappa[:, :, 2])  # (time, network)
    height = np.abs(kappa[:, :, 1] + 1j * kappa[:, :, 2])
    cue_angle = np.where(t < 0.5, 0.0, 2 * np.pi * (t - 0.5))

    def wrap(a):
        return np.angle(np.exp(1j * a))

    # theory: the persistent bump of the mean-field (N → ∞) ring, x(θ) = κ₀ + κ₁ cos θ with
    # τ dκ₀/dt = −κ₀ − 2g⟨σ⟩, τ dκ₁/dt = −κ₁ + 12g⟨cos θ σ⟩, σ = φ/rmax, ⟨·⟩ = mean over the ring;
    # g = 1 in continuous time; on the time grid (exponential leak, recurrent input over one step)
    # the fixed point has g = (dt/τ)/(1 − exp(−dt/τ)) ≈ 1 + dt/(2τ)
    def bump_height(g):
        th = np.linspace(-np.pi, np.pi, 4096, endpoint=False)
        k0, k1 = 0.0, 3.0
        for _ in range(2000):  # relax to the fixed point (Euler steps of 0.1 τ)
            sig = 1 / (1 + np.exp(-4 * (k0 + k1 * np.cos(th) - 1)))
            k0 += 0.1 * (-k0 - 2 * g * sig.mean())
            k1 += 0.1 * (-k1 + 12 * g * (np.cos(th) * sig).mean())
        return k1

    h = grid.dt / net.tau
    k1, k1_grid = bump_height(1.0), bump_height(h / (1 - np.exp(-h)))
    print(f"mean-field bump height without input: {k1:.3f} (on this time grid: {k1_grid:.3f})")

    free = (t > 0.3) & (t < 0.5)  # no input: the bump should stay where the cue left it
    moving = t > 0.75  # the cue turns: the bump trails it by a steady lag
    result = {"theory_height": float(k1), "theory_height_grid": float(k1_grid)}
    for k, name in enumerate(ds.network.values):
        result[name] = {
            "height_without_input": float(height[free, k].mean()),
            "drift_without_input_rad": float(np.abs(wrap(bump[free, k])).max()),
            "lag_behind_moving_cue_rad": float(wrap(cue_angle[moving] - bump[moving, k]).mean()),
        }
        print(
            f"{name:>8}: bump height without input {result[name]['height_without_input']:.3f}, "
            f"drift {result[name]['drift_without_input_rad']:.3f} rad, lag behind the moving cue "
            f"{result[name]['lag_behind_moving_cue_rad']:.2f} rad"
        )

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    rates = np.roll(ds.rate.values[:, 0, :], n // 2, axis=1)  # (time, neuron), θ from −π
    im = axes[0].imshow(
        rates.T, aspect="auto", origin="lower", extent=[0, t[-1], -np.pi, np.pi], cmap="viridis"
    )
    axes[0].set(xlabel="time (s)", ylabel="θ_i (rad)", title="rate network: φ(x_i(t)) (Hz)")
    fig.colorbar(im, ax=axes[0])
    for k, name in enumerate(ds.network.values):
        axes[1].plot(t, bump[:, k], lw=1.2, label=f"bump, {name}")
        axes[2].plot(t, height[:, k], lw=1.2, label=name)
    axes[2].plot([0.2, 0.5], [k1_grid, k1_grid], "k--", lw=1, label="mean-field bump")
    axes[1].plot(t, wrap(cue_angle), "k--", lw=1, label="cue angle")
    for ax in axes[1:]:
        ax.axvspan(0.2, 0.5, color="0.9", zorder=0)
    axes[1].set(xlabel="time (s)", ylabel="angle (rad)", title="bump position (grey: no input)")
    axes[2].set(xlabel="time (s)", ylabel="|κ₁ + iκ₂|", title="bump height")
    axes[1].legend(fontsize=8)
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    savefig(fig, out / "ring_bump.png")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a small, fast version (for tests)")
    ap.add_argument("--out", type=Path, default=Path("examples-out"), help="output folder")
    a = ap.parse_args()
    main(a.small, a.out)
