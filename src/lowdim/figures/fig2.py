"""Figures of the paper's Fig. 2 (:mod:`lowdim.experiments.fig2`): Δ vs α and its live view."""

from __future__ import annotations

import numpy as np

from ..live import LivePoints
from ..models.feedforward import feedforward_line
from ..paper import RunConfig
from ..plotting import plt

__all__ = ["distance_vs_load", "live"]

_ALPHA = "load α = p/N"
_LINE = "√(max φ/(2τc)) √α"
_MARKERS = ["s", "*", "D", "^", "v", "P"]


def _line(alpha):
    """The feedforward line of the paper's φ and τ at the loads ``alpha``."""
    cfg = RunConfig()
    return feedforward_line(alpha, cfg.phi(), cfg.tau)


def _draw_line(ax, grid) -> None:
    """The feedforward line on the loads ``grid``, dashed black."""
    ax.plot(grid, _line(grid), "k--", lw=1, label=_LINE)


def _log_axes(ax, title: str) -> None:
    """A Δ-vs-α panel's log axes, labels, title and legend."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_ALPHA)
    ax.set_ylabel("Δ$_N^{rec}$(α)")
    ax.set_title(title)
    ax.legend(fontsize=7)


def distance_vs_load(summary: dict, curves: tuple):
    """Fig. 2: mean Δ_N^rec (95 % CI over seeds) vs α per curve with its fitted slope, next to
    the feedforward line; left the fixed-p and p = N^{1/3} curves, right with and without
    membrane noise σ̃. ``curves``: the (fixed, cube, membrane, feedforward) curve labels."""
    fixed, cube, memb, ff = curves
    by_curve: dict[str, list] = {}
    for q in summary["points"]:
        by_curve.setdefault(q["curve"], []).append(q)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    alphas = np.array([q["alpha"] for q in summary["points"]])
    grid = np.logspace(np.log10(alphas.min()) - 0.1, np.log10(alphas.max()) + 0.1, 50)

    def draw(ax, curve, **kw):
        qs = sorted(by_curve.get(curve, []), key=lambda q: q["alpha"])
        if not qs:
            return
        a = np.array([q["alpha"] for q in qs])
        m = np.array([q["distance_mean"] for q in qs])
        ci = np.nan_to_num(np.array([q["distance_ci95"] for q in qs]))
        s = summary["slopes"][curve]
        label = f"{curve}  (slope {s['value']:.2f} [{s['ci'][0]:.2f}, {s['ci'][1]:.2f}])"
        ax.errorbar(a, m, yerr=ci, capsize=2, lw=1, ms=6, label=label, **kw)

    ax = axes[0]
    for k, curve in enumerate(fixed):
        draw(ax, curve, marker=_MARKERS[k % len(_MARKERS)], ls="-", mfc="none")
    for curve in cube:
        draw(ax, curve, marker="o", ls="-", color="k")
    _draw_line(ax, grid)
    draw(ax, ff[0], marker="^", ls=":", color="0.5")
    _log_axes(ax, "Fig. 2: SNN–RNN distance vs load")
    ax = axes[1]
    draw(ax, memb[0], marker="s", ls="-", color="C0", mfc="none")
    draw(ax, memb[1], marker="s", ls="-", color="C0")
    draw(ax, ff[0], marker="^", ls=":", color="C1", mfc="none")
    draw(ax, ff[1], marker="^", ls=":", color="C1")
    _draw_line(ax, grid)
    u = summary["units"]
    _log_axes(
        ax,
        f"membrane noise σ̃ = {u['membrane_noise_sigma_tilde']:.3g} "
        f"(sd {u['membrane_noise_stationary_sd']:g})",
    )
    fig.tight_layout()
    return fig


def live(path, total: int) -> LivePoints:
    """The sweep's live figure at ``path``: Δ(α) of each finished point (one seed per point),
    log axes, the feedforward line; ``total`` points are expected."""
    return LivePoints(
        path,
        xlabel=_ALPHA,
        ylabel="Δ$_N^{rec}$ (one seed per point)",
        title="Fig. 2 sweep",
        log=True,
        reference=(_line, _LINE),
        total=total,
    )
