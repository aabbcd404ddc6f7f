"""Figures of the paper's Fig. 1 (:mod:`lowdim.experiments.fig1`): one function per panel."""

from __future__ import annotations

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..plotting import paired_traces, plt

__all__ = ["ring", "fixed_rank", "load", "setup", "traces"]

_DENSITY_SIZE = (4.2, 3.2)  # one correlation-density panel (A, C)


def _style(ax, **labels):
    """The correlation-density style: axis labels and title, a small frameless legend."""
    ax.set(xlabel="correlation", **labels)
    ax.legend(fontsize=7, frameon=False)


def ring(direct: dict, rnn: dict, direct_neurons: int, rnn_neurons: int):
    """A: histograms of cos(θᵢ − θⱼ) and of the ring RNN's correlations with the arcsine law."""
    fig, ax = plt.subplots(figsize=_DENSITY_SIZE)
    c = direct["centres"]
    ax.plot(c, direct["density"], color="C0", lw=1.5, label=f"cos(θᵢ−θⱼ), N = {direct_neurons:,}")
    ax.plot(c, rnn["density"], color="C1", lw=1.2, label=f"ring RNN, N = {rnn_neurons:,}")
    ax.plot(c, direct["theory"], "k--", lw=1, label="Eq. 5")
    _style(ax, ylabel="density", ylim=(0, 3), title="A  ring model")
    fig.tight_layout()
    return fig


def fixed_rank(hists: dict, neurons: int):
    """B: the RNN's correlation histograms at fixed rank p (``hists``: p → histogram) with
    the Gegenbauer law, one panel per p."""
    fig, axes = plt.subplots(1, len(hists), figsize=(7, 3.0))
    for ax, (p, h) in zip(axes, hists.items(), strict=True):
        ax.plot(h["centres"], h["density"], color="C0", lw=1.5, label=f"RNN, N = {neurons:,}")
        ax.plot(h["centres"], h["theory"], "k--", lw=1, label="Eq. 11")
        _style(ax, title=f"B  p = {p}", ylim=(0, 3 if p == 2 else 1.2))
    axes[0].set_ylabel("density")
    fig.tight_layout()
    return fig


def load(curves: list, alpha: float):
    """C: correlation histograms at the load α for growing N (``curves``: (N, p, histogram)),
    with the normal law N(0, 1/p) of the largest network."""
    fig, ax = plt.subplots(figsize=_DENSITY_SIZE)
    for k, (n, p, h) in enumerate(curves):
        ax.plot(h["centres"], h["density"], color=f"C{k}", lw=1.3, label=f"N = {n:,} (p = {p})")
    n, p, h = curves[-1]
    ax.plot(h["centres"], h["theory"], "k--", lw=1, label=f"N(0, 1/{p})")
    _style(ax, ylabel="density", title=f"C  α = {alpha:g}")
    fig.tight_layout()
    return fig


def setup():
    """D: a schematic of the setup (in/rec halves, shared ξ and B(t))."""
    fig, ax = plt.subplots(figsize=(4.2, 2.6))
    ax.set_axis_off()
    ax.set(xlim=(0, 10), ylim=(0, 6))
    for x0, label in ((3.0, "in\n(N/2)"), (6.5, "rec\n(N/2)")):
        ax.add_patch(FancyBboxPatch((x0 - 1, 2), 2, 2, boxstyle="round,pad=0.1", fc="0.9"))
        ax.text(x0, 3, label, ha="center", va="center", fontsize=9)
    arrows = [((0.3, 3), (1.9, 3)), ((4.1, 3.4), (5.4, 3.4)), ((5.4, 2.6), (4.1, 2.6))]
    for a, b in arrows:
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12))
    for x0 in (3.0, 6.5):
        ax.add_patch(
            FancyArrowPatch(
                (x0 + 0.5, 4.1),
                (x0 - 0.5, 4.1),
                connectionstyle="arc3,rad=1.6",
                arrowstyle="-|>",
                mutation_scale=10,
            )
        )
    ax.text(0.2, 3.4, "(σ/√p) ξ dB", fontsize=8)
    ax.text(
        5,
        0.8,
        "J = ξ(φ(ξ)−a)ᵀ/(cN); same ξ, same B(t) for SNN (spikes) and RNN (rates)",
        ha="center",
        fontsize=6.5,
    )
    ax.set_title("D  setup", fontsize=10)
    return fig


def traces(ds):
    """E: SNN potentials above RNN potentials of 11 recorded neurons of a paired run."""
    return paired_traces(ds, n=11)
