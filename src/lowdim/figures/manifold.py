"""Figures of the manifold demo (:mod:`lowdim.experiments.manifold`)."""

from __future__ import annotations

import numpy as np

from ..analysis import manifold as M
from ..plotting import plt

__all__ = ["participation_ratios", "spectrum", "trajectories"]


def participation_ratios(res, sc):
    """PR of the potentials and of the rates against N, one colour per rank D, (M2) marked."""
    fig, ax = plt.subplots(1, 1, figsize=(6, 4))
    for k, D in enumerate(sc["ranks"]):
        rows = [r for r in res if r["D"] == D]
        n = [r["N"] for r in rows]
        col = f"C{k}"
        ax.plot(n, [r["pr"] for r in rows], "o-", color=col, label=f"D = {D}: potentials x")
        ax.plot(
            n,
            [r["pr_rates"] for r in rows],
            "s--",
            color=col,
            mfc="none",
            label=f"D = {D}: rates tanh(x)",
        )
        ax.plot(n, [r["expected"] for r in rows], "_", color="k", ms=14)
        ax.axhline(D, color=col, ls=":", lw=0.8)
    ax.plot([], [], "_", color="k", ms=14, label="(M2): D − (D+2)(D−1)(1/T_eff + 1/N)")
    ax.set_xscale("log")
    ax.set_xlabel("neurons N")
    ax.set_ylabel("participation ratio (Σλ)²/Σλ²")
    ax.set_title(f"rank-D networks, {sc['duration']:g} s of noise-driven activity", fontsize=9)
    ax.legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def spectrum(res, sc):
    """Fraction of variance per principal component at the largest N, potentials and rates."""
    big = max(sc["neurons"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for k, D in enumerate(sc["ranks"]):
        r = [r for r in res if r["D"] == D and r["N"] == big][0]
        kk = np.arange(1, len(r["variances"]) + 1)
        axes[0].semilogy(
            kk, np.maximum(r["variances"], 1e-12), "o-", color=f"C{k}", label=f"D = {D}"
        )
        axes[1].semilogy(
            kk, np.maximum(r["variances_rates"], 1e-12), "s-", color=f"C{k}", label=f"D = {D}"
        )
    axes[0].set_title(f"potentials x, N = {big:,}", fontsize=9)
    axes[1].set_title(f"rates tanh(x), N = {big:,}", fontsize=9)
    for ax in axes:
        ax.set_xlabel("principal component k")
        ax.set_xticks(range(1, 11))
    axes[0].set_ylabel("fraction of variance λ_k/Σλ")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def trajectories(res, sc):
    """The first seconds of activity in the first three principal components, one panel per D."""
    big = max(sc["neurons"])
    fig = plt.figure(figsize=(5.0 * len(sc["ranks"]), 4.2))
    for k, D in enumerate(sc["ranks"]):
        r = [r for r in res if r["D"] == D and r["N"] == big][0]
        ax = fig.add_subplot(1, len(sc["ranks"]), k + 1, projection="3d")
        M.trajectory_3d(
            r["scores"],
            time=r["time"],
            ax=ax,
            title=f"D = {D}, N = {big:,}: PR = {r['pr']:.3f}",
        )
        lim = np.abs(r["scores"]).max()
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_zlim(-lim, lim)
    return fig
