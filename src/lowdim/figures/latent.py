"""Figures of the latent-κ lecture (:mod:`lowdim.experiments.latent`)."""

from __future__ import annotations

import math

import numpy as np

from ..plotting import plt
from .convergence import errors_vs_n, slope_text, sqrt_n_theory

__all__ = ["phase_panel", "phase_portraits", "traces", "errors"]


def phase_panel(ax, model, lim, fps, trajs, title):
    """Flow field, nullclines, fixed points and trajectories ``(κ (T, 2), style, label)`` of a
    rank-2 latent model on ``lim`` × ``lim``."""
    K1, K2, V1, V2 = model.flow(lim, lim, 25)
    speed = np.hypot(V1, V2)
    ax.streamplot(
        K1,
        K2,
        V1,
        V2,
        color=np.log10(speed + 1e-9),
        cmap="Greys",
        density=1.1,
        linewidth=0.6,
        arrowsize=0.7,
    )
    F1, F2, W1, W2 = model.flow(lim, lim, 201)
    ax.contour(F1, F2, W1, levels=[0], colors="C0", linewidths=1.2)
    ax.contour(F1, F2, W2, levels=[0], colors="C1", linewidths=1.2)
    ax.plot([], [], "C0", label="κ₁-nullcline")
    ax.plot([], [], "C1", label="κ₂-nullcline")
    marks = {
        "stable": ("o", "k"),
        "saddle": ("X", "C3"),
        "unstable": ("o", "w"),
        "neutral": ("s", "C2"),
    }
    for kind, (mk, fc) in marks.items():
        pts = [f["kappa"] for f in fps if f["stability"] == kind]
        if pts:
            pts = np.array(pts)
            ax.plot(
                pts[:, 0],
                pts[:, 1],
                mk,
                mfc=fc,
                mec="k",
                ms=8,
                ls="none",
                label=f"{kind} fixed point",
            )
    for k, style, label in trajs:
        ax.plot(k[:, 0], k[:, 1], style, lw=1.3, label=label)
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel("κ₁")
    ax.set_ylabel("κ₂")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, loc="lower left")


def phase_portraits(model, cyc, fps, fps_c, ref, ref_c, examples, cyc_net):
    """The two-attractor model and the limit-cycle model, each with the κ equations' and the
    smallest networks' trajectories."""
    fig, ax = plt.subplots(1, 2, figsize=(11, 5))
    n_small = min(examples)
    trajs = [
        (ref.kappa, "k-", "κ equations (pulse at 0.1 s)"),
        (examples[n_small][:, 0], "C0--", f"rate network, N = {n_small:,}"),
        (examples[n_small][:, 1], "C3:", f"Poisson network, N = {n_small:,}"),
    ]
    phase_panel(
        ax[0], model, (-2.2, 2.2), fps, trajs, "J = diag(2, 1.5): two attractors (no input)"
    )
    trajs_c = [
        (ref_c.kappa, "k-", "κ equations"),
        (cyc_net[:, 0], "C0--", "rate network"),
        (cyc_net[:, 1], "C3:", "Poisson network"),
    ]
    phase_panel(ax[1], cyc, (-2.2, 2.2), fps_c, trajs_c, "J = 2 R(45°): a limit cycle")
    fig.tight_layout()
    return fig


def traces(ref, examples, pulse):
    """κ(t) of the κ equations and of each N's first rate and Poisson network; the input
    ``pulse`` (start, stop) shaded."""
    fig, ax = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    t = ref.t
    for d in range(2):
        ax[d].plot(t, ref.kappa[:, d], "k", lw=2, label="κ equations")
        for n, c in zip(sorted(examples), ("C0", "C1", "C2", "C4", "C5", "C6", "C7"), strict=False):
            ax[d].plot(t, examples[n][:, 0, d], c, lw=0.9, label=f"rate, N = {n:,}")
            ax[d].plot(t, examples[n][:, 1, d], c, lw=0.6, ls=":", label=f"Poisson, N = {n:,}")
        ax[d].axvspan(pulse[0], pulse[1], color="0.9")
        ax[d].set_ylabel(f"κ{d + 1}")
    ax[1].set_xlabel("time (s)")
    ax[0].legend(fontsize=6, ncol=2)
    ax[0].set_title(
        "networks projected on F (least squares) vs the κ equations; grey: input pulse", fontsize=9
    )
    fig.tight_layout()
    return fig


def errors(rows, fits, theory):
    """Error of the rate and Poisson networks against the κ equations vs N, with fitted slopes
    and the first-order 1/√N theory."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for key, style, name in (("err_rate", "C0o", "rate"), ("err_poisson", "C3^", "Poisson")):
        label = f"{name}: RMS over seeds; {slope_text(fits[key])}"
        Ns = errors_vs_n(ax, rows, key, style, label)
    q, s = theory["rel_quenched"], theory["rel_spike"]
    sqrt_n_theory(
        ax,
        Ns,
        q,
        s,
        f"theory, rate: {q:.2f}/√N (quenched z)",
        f"theory, Poisson: {math.hypot(q, s):.2f}/√N (+ spike noise)",
    )
    ax.set_xlabel("N")
    ax.set_ylabel("‖κ_N − κ‖ / ‖κ‖ over time")
    ax.set_title("N-neuron networks → κ equations", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
