"""Figures of the ring-attractor lecture (:mod:`lowdim.experiments.ring_attractor`)."""

from __future__ import annotations

import math

import numpy as np

from ..plotting import plt
from .convergence import errors_vs_n, slope_text, sqrt_n_theory

__all__ = ["kernel", "bump", "tracking", "convergence"]


def kernel(hat, cos):
    """The Mexican hat and its rank-3 truncation, and their Fourier modes."""
    z = np.linspace(-math.pi, math.pi, 721)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot(np.degrees(z), hat(z), "k", label="Mexican hat w(z)")
    ax[0].plot(np.degrees(z), cos(z), "C1--", label="rank 3: ŵ₀ + ŵ₁ cos z")
    ax[0].axhline(0, color="0.7", lw=0.5)
    ax[0].set_xlabel("z − z′ (deg)")
    ax[0].set_ylabel("w (s)")
    ax[0].legend(fontsize=8)
    ks = np.arange(8)
    ax[1].bar(ks, [hat.mode(k) for k in ks], color="k", width=0.6, label="Mexican hat")
    ax[1].bar(ks[:2] + 0.3, [cos.mode(k) for k in ks[:2]], color="C1", width=0.3, label="rank 3")
    ax[1].set_xlabel("Fourier mode k")
    ax[1].set_ylabel("ŵ_k (s)")
    ax[1].legend(fontsize=8)
    ax[1].set_title("w(z) = ŵ₀ + Σ ŵ_k cos kz: rank 2K + 1 keeps k ≤ K", fontsize=9)
    fig.tight_layout()
    return fig


def bump(pers_hat, pers_cos, fld_hat, net, cue_duration):
    """The Mexican-hat field's activity in space and time (cue off at ``cue_duration``), and the
    final profiles of both fields and of the largest rank-3 networks."""
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    path = pers_hat["path"]
    r = pers_hat["rates"]
    im = ax[0].imshow(
        r.T,
        aspect="auto",
        origin="lower",
        extent=[0, path.t[-1], 0, 360],
        cmap="viridis",
    )
    ax[0].axvline(cue_duration, color="w", ls="--", lw=1)
    ax[0].text(cue_duration + 0.01, 330, "cue off", color="w", fontsize=8)
    ax[0].set_xlabel("time (s)")
    ax[0].set_ylabel("z (deg)")
    ax[0].set_title("Mexican-hat field: activity F(h(z, t)) (Hz)", fontsize=9)
    fig.colorbar(im, ax=ax[0])
    zf = np.degrees(fld_hat.z)
    ax[1].plot(
        zf, r[-1], "k", label=f"Mexican-hat field (FWHM {np.degrees(pers_hat['width']):.0f}°)"
    )
    ax[1].plot(
        zf,
        pers_cos["rates"][-1],
        "C1",
        label=f"rank-3 field (FWHM {np.degrees(pers_cos['width']):.0f}°)",
    )
    n = max(net["example"])
    k = net["example"][n][-1]
    z = np.radians(np.linspace(0, 360, 361))
    for j, (name, c) in enumerate((("rate", "C0"), ("Poisson", "C3"))):
        h = k[j, 0] + k[j, 1] * np.cos(z) + k[j, 2] * np.sin(z)
        ax[1].plot(
            np.degrees(z),
            fld_hat.F(h),
            c,
            ls=":",
            lw=1.5,
            label=f"rank-3 {name} network, N = {n:,} (at {net['grid'].duration:g} s)",
        )
    ax[1].set_xlabel("z (deg)")
    ax[1].set_ylabel("F(h) (Hz)")
    ax[1].set_title(f"bump after the cue is removed (t = {path.t[-1]:.1f} s)", fontsize=9)
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def tracking(tr_hat, tr_cos, tr_net, track_n):
    """Lag of the bump behind a moving cue vs its speed: fields (simulation and travelling-bump
    theory) and rank-3 networks of ``track_n`` neurons."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for tr, c, name in ((tr_hat, "k", "Mexican-hat field"), (tr_cos, "C1", "rank-3 field")):
        sp = np.array([r["speed"] for r in tr["rows"]]) / (2 * math.pi)
        ax.plot(
            sp,
            np.degrees([r["lag_theory"] for r in tr["rows"]]),
            c + "-",
            lw=1,
            label=f"{name}: travelling bump (theory)",
        )
        ax.plot(
            sp,
            np.degrees([r["lag"] for r in tr["rows"]]),
            c + "o",
            ms=5,
            label=f"{name}: simulation",
        )
    sp = np.array([r["speed"] for r in tr_net]) / (2 * math.pi)
    ax.plot(
        sp,
        np.degrees([r["lag_rate"] for r in tr_net]),
        "C0s",
        mfc="none",
        label=f"rank-3 rate network, N = {track_n:,}",
    )
    ax.plot(
        sp,
        np.degrees([r["lag_poisson"] for r in tr_net]),
        "C3^",
        mfc="none",
        label=f"rank-3 Poisson network, N = {track_n:,}",
    )
    ax.set_xlabel("cue speed (turns/s)")
    ax.set_ylabel("lag of the bump behind the cue (deg)")
    ax.set_title("head direction: a moving cue drags the bump (missing: cannot follow)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def convergence(net, fits, conv):
    """Rank-3 networks against the field vs N (full and shape error, with the 1/√N theory), and
    the field solver's convergence in grid points and time step."""
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    rows = net["rows"]
    Ns = np.array(sorted({r["neurons"] for r in rows}))
    th = net["theory"]
    for panel, prefix, title, tq, ts in (
        (0, "err", "full error (shape and position)", th["rel_quenched"], th["rel_spike"]),
        (
            1,
            "shape_err",
            "shape error (rotation removed)",
            th["rel_shape_quenched"],
            th["rel_shape_spike"],
        ),
    ):
        a = ax[panel]
        for name, style in (("rate", "C0o"), ("poisson", "C3^")):
            key = f"{prefix}_{name}"
            errors_vs_n(a, rows, key, style, f"{name} (RMS); {slope_text(fits[key])}")
        sqrt_n_theory(a, Ns, tq, ts, "theory, rate: quenched z", "theory, Poisson: + spike noise")
        a.set_xlabel("N")
        a.set_ylabel("relative L2 error of κ(t)")
        a.set_title(f"rank-3 networks → field: {title}", fontsize=9)
        a.legend(fontsize=7)
    Ms = sorted(conv["space"])
    ax[2].loglog(
        Ms, [max(conv["space"][M], 1e-16) for M in Ms], "ko-", label="space: M/2 → M points"
    )
    dts = sorted(conv["time"], reverse=True)
    steps = [conv["duration"] / d for d in dts]
    ax[2].loglog(
        steps, [conv["time"][d] for d in dts], "C2s-", label="time (RK4): 2dt → dt, x = T/dt"
    )
    ax[2].set_xscale("log", base=2)
    ax[2].set_xlabel("grid points M, or steps T/dt")
    ax[2].set_ylabel("max change of h(z, T)")
    ax[2].set_title("field solver: discretisation converges", fontsize=9)
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    return fig
