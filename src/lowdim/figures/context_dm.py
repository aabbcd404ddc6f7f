"""Figures of the context-dependent decision lecture (:mod:`lowdim.experiments.context_dm`)."""

from __future__ import annotations

import numpy as np

from ..plotting import plt
from .style import ZERO, level_colour, shade_epoch

__all__ = ["loss", "psychometric", "latent", "line_attractor", "twins", "mixture", "traces"]


def loss(losses, accs):
    """Batch loss (and its running mean) and batch accuracy over the training steps."""
    fig, ax = plt.subplots(1, 1, figsize=(5.5, 3.4))
    k = np.arange(1, len(losses) + 1)
    ax.semilogy(k, losses, lw=0.6, color="0.6", label="batch loss")
    w = max(1, len(losses) // 50)
    if len(losses) >= w:
        sm = np.convolve(losses, np.ones(w) / w, mode="valid")
        ax.semilogy(k[w - 1 :], sm, color="k", lw=1.4, label=f"mean of {w}")
    ax.set_xlabel("training step")
    ax.set_ylabel("masked MSE")
    ax2 = ax.twinx()
    ax2.plot(k, accs, color="tab:green", lw=0.5, alpha=0.6)
    ax2.set_ylabel("batch accuracy", color="tab:green")
    ax2.set_ylim(0.4, 1.02)
    ax.legend(loc="center right", fontsize=8)
    ax.set_title("training through lowdim.solve (Adam)", fontsize=10)
    fig.tight_layout()
    return fig


def psychometric(psy, task, twin_psy=None, twin_label="", twin_task=None):
    """P(choice = +1) vs each stream's coherence per context; a twin's relevant curve (x)."""
    lv = task.signed_coherences * task.coherence_scale
    lv_t = (twin_task or task).signed_coherences * task.coherence_scale
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
    names = ("stream a (motion)", "stream b (colour)")
    for c, ax in enumerate(axes):
        for s, col in ((0, "tab:blue"), (1, "tab:orange")):
            rel = s == c
            ax.plot(
                lv,
                psy[c][s],
                "o-" if rel else "s--",
                color=col,
                ms=4,
                label=f"{names[s]}{' (relevant)' if rel else ' (irrelevant)'}",
            )
            if twin_psy is not None and rel:
                ax.plot(lv_t, twin_psy[c][s], "x", color="k", ms=6, label=twin_label)
        ax.axhline(0.5, color="0.8", lw=0.8)
        ax.set_title(f"context {'ab'[c]}: {names[c]} relevant", fontsize=9)
        ax.set_xscale("symlog", linthresh=0.01, linscale=0.25)
        ax.set_xlabel("coherence of the stream (input units; symlog axis)")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("P(choice = +1)")
    fig.tight_layout()
    return fig


def latent(tr, kappa, axis, task):
    """κ along the choice axis over time, per context, coloured by the relevant coherence."""
    t = (np.arange(kappa.shape[1]) + 1) * task.dt
    proj = kappa @ axis
    ctx = np.asarray(tr["context"])
    rel = np.where(ctx == 1, np.asarray(tr["coh_b"]), np.asarray(tr["coh_a"]))
    lv = task.signed_coherences
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.4), sharey=True)
    ep = task.epochs()
    for c, ax in enumerate(axes):
        for i in np.flatnonzero(ctx == c):
            ax.plot(t, proj[i], color=level_colour(lv, rel[i]), lw=0.7)
        shade_epoch(ax, ep["stimulus"], task.dt)
        ax.set_title(
            f"context {'ab'[c]} (colour: relevant coherence; all irrelevant ones)", fontsize=8
        )
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("κ along the choice axis")
    fig.tight_layout()
    return fig


def line_attractor(tr, kappa, v, axis, sp, task):
    """Mante et al.-style: trajectories in (stream input, choice) planes per context, slow
    points of the latent dynamics along the choice axis."""
    ctx = np.asarray(tr["context"])
    coh = {0: np.asarray(tr["coh_a"]), 1: np.asarray(tr["coh_b"])}
    proj = kappa @ axis
    lv = task.signed_coherences
    s0, s1 = task.epochs()["stimulus"]
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.4))
    names = ("stream a (motion)", "stream b (colour)")
    for c in (0, 1):
        for s in (0, 1):
            ax = axes[c, s]
            for lvl in lv:  # condition averages: sorted by this stream's coherence
                sel = (ctx == c) & (coh[s] == lvl)
                col = level_colour(lv, lvl)
                xs = v[sel, s0 - 1 : s1, s].mean(0)
                ys = proj[sel, s0 - 1 : s1].mean(0)
                ax.plot(xs, ys, "-", color=col, lw=1.2)
                ax.plot(xs[-1], ys[-1], "o", color=col, ms=3)
            pts = sp[c]["points"]
            kp = pts["kappa"] @ axis
            thr = sp[c]["threshold"]
            slow = pts["speed"] < thr
            line = np.where(np.abs(sp[c]["velocity"]) < thr, sp[c]["grid"], np.nan)
            ax.plot(
                np.zeros_like(line),
                line,
                color="0.55",
                lw=5,
                alpha=0.6,
                zorder=1,
                solid_capstyle="butt",
                label=f"|τκ̇| < {thr:.3f}: slow line",
            )
            ax.scatter(
                np.zeros(slow.sum()),
                kp[slow],
                s=16,
                c="k",
                marker="x",
                zorder=3,
                label="minima of ‖τκ̇‖² (optimised)",
            )
            ax.set_xlabel(f"input {names[s]} (filtered, v)")
            ax.set_ylabel("choice axis κ")
            rel = "relevant" if s == c else "irrelevant"
            ax.set_title(f"context {'ab'[c]}: sorted by {names[s][:8]} ({rel})", fontsize=8)
            if c == 0 and s == 0:
                ax.legend(fontsize=7, loc="lower right")
        ax = axes[c, 2]
        g, vel = sp[c]["grid"], sp[c]["velocity"]
        ax.plot(g, vel, "k", lw=1.2, label="τ dκ/dt (stimuli off)")
        ax.axhspan(-sp[c]["threshold"], sp[c]["threshold"], color="0.85", zorder=0)
        ax.plot(
            g,
            sp[c]["sens"][:, 0] * 0.1,
            color="tab:blue",
            lw=1,
            label="+ drift per 0.1 of stream a",
        )
        ax.plot(
            g,
            sp[c]["sens"][:, 1] * 0.1,
            color="tab:orange",
            lw=1,
            label="+ drift per 0.1 of stream b",
        )
        ax.axhline(0, **ZERO)
        ax.set_xlabel("κ along the choice axis")
        ax.set_title(f"context {'ab'[c]}: latent velocity and input drive", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def twins(table, trained_acc, anchors):
    """Accuracy of the resampled RNN and paired SNN vs N (95 % CIs); SNN–RNN distances vs N."""
    Ns = np.array(sorted(table))
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    ax = axes[0]
    for key, col, lab, off in (
        ("rnn", "tab:blue", "RNN (resampled)", 0.97),
        ("snn", "tab:red", "Poisson SNN (paired)", 1.03),
    ):
        acc = np.array([table[n][f"{key}_accuracy"] for n in Ns])
        lo = np.array([table[n][f"{key}_ci"][0] for n in Ns])
        hi = np.array([table[n][f"{key}_ci"][1] for n in Ns])
        ax.errorbar(
            Ns * off, acc, yerr=[acc - lo, hi - acc], fmt="o-", color=col, label=lab, capsize=3
        )
    ax.axhline(trained_acc, color="k", lw=1, label="trained RNN (N = 512)")
    ax.axhline(
        anchors["dubreuil_one_gaussian"],
        color="0.5",
        ls=":",
        label="one Gaussian (Dubreuil et al.)",
    )
    lo2, hi2 = anchors["dubreuil_two_populations"]
    ax.axhspan(lo2, hi2, color="0.9", label="two populations (Dubreuil et al.)")
    ax.set_xscale("log")
    ax.set_xlabel("neurons N")
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(min(0.6, ax.get_ylim()[0]), 1.01)
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[1]
    for key, col, lab in (
        ("distance", "tab:purple", "Δ = ⟨|h − x|⟩"),
        ("distance_kappa", "tab:green", "⟨|κ_SNN − κ_RNN|⟩"),
    ):
        d = np.array([table[n][key] for n in Ns])
        ax.loglog(Ns, d, "o-", color=col, label=lab)
        ax.loglog(Ns, d[0] * np.sqrt(Ns[0] / Ns), ":", color=col, lw=0.8)
    ax.set_xlabel("neurons N")
    ax.set_ylabel("SNN–RNN distance (time and trial mean)")
    ax.set_title("dotted: ∝ 1/√N", fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def mixture(rows, mix, rank, lab):
    """Rows of the trained loadings in four planes, coloured by mixture component (``lab``:
    the column names)."""
    resp = mix.responsibilities(rows).argmax(1)
    pairs = [
        (0, rank),
        (2 * rank, 2 * rank + 2),
        (2 * rank + 1, 2 * rank + 3),
        (2 * rank + 4, rank),
    ]
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.0 * len(pairs), 3.0))
    for ax, (i, j) in zip(axes, pairs, strict=True):
        for k in range(mix.components):
            sel = resp == k
            ax.scatter(rows[sel, i], rows[sel, j], s=4, alpha=0.6, label=f"component {k + 1}")
        ax.set_xlabel(lab[i])
        ax.set_ylabel(lab[j])
    axes[0].legend(fontsize=7, markerscale=3)
    fig.suptitle(f"rows of the trained loadings, {mix.components}-component mixture", fontsize=9)
    fig.tight_layout()
    return fig


def traces(z_small, z_large, n_small, n_large, task, tr):
    """Readouts of paired RNN/SNN on trials of the weakest relevant evidence, both choices."""
    t = (np.arange(z_small.shape[1]) + 1) * task.dt
    ctx = np.asarray(tr["context"])
    rel = np.abs(np.where(ctx == 1, np.asarray(tr["coh_b"]), np.asarray(tr["coh_a"])))
    ch = np.asarray(tr["choice"])
    weak = rel == rel.min()
    pick = np.concatenate(
        [np.flatnonzero(weak & (ch > 0))[:3], np.flatnonzero(weak & (ch < 0))[:3]]
    )
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, z, n in ((axes[0], z_small, n_small), (axes[1], z_large, n_large)):
        for j, i in enumerate(pick):
            ax.plot(t, z[i, :, 0], color=f"C{j}", lw=1.2)
            ax.plot(t, z[i, :, 1], color=f"C{j}", lw=0.8, ls="--")
        shade_epoch(ax, task.epochs()["stimulus"], task.dt)
        ax.axhline(0, **ZERO)
        ax.set_title(f"N = {n:,}: RNN (solid), SNN (dashed)", fontsize=9)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("readout z (weakest evidence, both choices)")
    fig.tight_layout()
    return fig
