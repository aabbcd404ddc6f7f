"""Figures of the Hopfield demo (:mod:`lowdim.experiments.hopfield`): one per part."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from ..models import hopfield as H
from ..plotting import plt
from .style import REFERENCE

__all__ = ["retrieval", "correlated", "mean_field_map", "bifurcation", "capacity"]


def retrieval(res, sc):
    """Overlaps m^μ(t) of the cued (blue) and other patterns (grey) for the four dynamics."""
    runs, th = res["runs"], res["theory"]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4), sharey=True)
    titles = {
        "sync_sign": "synchronous, sign",
        "async_sign": "asynchronous, sign",
        "sync_glauber": f"synchronous, Glauber β = {sc['glauber_beta']:g}",
        "async_glauber": f"asynchronous, Glauber β = {sc['glauber_beta']:g}",
    }
    B = sc["retrieval_cues"]
    for ax, (name, r) in zip(axes, runs.items(), strict=True):
        m = r["m"]
        t = np.arange(m.shape[1])
        for b in range(m.shape[0]):
            ax.plot(t, m[b, :, B:], color="0.75", lw=0.5)
        for b in range(m.shape[0]):
            ax.plot(t, r["own"][b], color="C0", lw=1.0, marker="o", ms=2.5)
        if name.startswith("sync"):  # the map is a synchronous step
            first = th["first_step_sign"] if name.endswith("sign") else th["first_step_glauber"]
            ax.plot([1], [first], "x", color="C3", ms=8, mew=2, label="map F(m₀), step 1")
        ax.axhline(th["ags_overlap"], **REFERENCE)
        ax.set_title(titles[name], fontsize=9)
        ax.set_xlabel("sweep" if name.startswith("async") else "step")
    axes[0].set_ylabel("overlap $m^\\mu(t)$")
    axes[0].legend(loc="center right", fontsize=7)
    fig.suptitle(
        f"Retrieval from a cue with {sc['flip']:.0%} of the bits flipped: N = {res['n']:,}, "
        f"P/N = {res['p'] / res['n']:.2g} (blue: cued pattern; grey: {m.shape[2] - B} others)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def correlated(res, sc):
    """Overlaps with the cued pattern and the prototype vs c; one step from a stored pattern."""
    rows = res["rows"]
    c = np.array([r["correlation"] for r in rows])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    ax = axes[0]
    ax.plot(c, [r["own"] for r in rows], "o-", label="overlap with the cued pattern")
    ax.plot(c, [r["prototype"] for r in rows], "s-", label="overlap with the prototype")
    cc = np.linspace(0, c.max(), 100)
    ax.plot(cc, np.sqrt(cc), **REFERENCE, label="√c (prototype · pattern)")
    ax.set_xlabel("pattern correlation c")
    ax.set_ylabel(f"overlap after {sc['corr_sweeps']} sweeps")
    ax.legend(fontsize=7)
    ax.set_title(f"N = {res['n']:,}, P = {res['P']}, asynchronous sign dynamics", fontsize=9)
    ax = axes[1]
    ax.plot(c, [r["first_step"] for r in rows], "o", label="simulated")
    ax.plot(cc, [H.correlated_first_step(res["P"], x) for x in cc], "k-", lw=1, label="theory")
    ax.set_xlabel("pattern correlation c")
    ax.set_ylabel("overlap after one step from the pattern")
    ax.set_title("stability of a stored pattern", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def mean_field_map(res, sc):
    """The map m(t+1) = F(m(t)) (H4) against simulated (m(t), m(t+1)) pairs and trajectories."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    mm = np.linspace(-0.05, 1, 300)
    ax = axes[0]
    for k, x in enumerate(res["low"]):
        col = f"C{k}"
        ax.plot(mm, H.mean_field_map(mm, 0.0, x["beta"]), color=col, label=f"tanh({x['beta']:g} m)")
        sim = x["sim"]
        ax.plot(sim[:, :-1].ravel(), sim[:, 1:].ravel(), "o", color=col, ms=3, mfc="none")
    ax.plot(mm, mm, **REFERENCE)
    ax.set_xlabel("m(t)")
    ax.set_ylabel("m(t+1)")
    ax.set_title(
        f"Glauber, α = {sc['map_low_p'] / res['n']:.1g}: map vs (m(t), m(t+1))", fontsize=9
    )
    ax.legend(fontsize=7)
    ax = axes[1]
    for k, x in enumerate(res["loads"]):
        col = f"C{k}"
        ax.plot(
            mm,
            H.mean_field_map(mm, x["load"], math.inf),
            color=col,
            label=f"erf(m/√(2·{x['load']:g}))",
        )
        s = x["sim"]
        ax.plot(
            s[:, :, 0].ravel(),
            s[:, :, 1].ravel(),
            "o",
            color=col,
            ms=4,
            label="step 0 → 1" if k == 0 else None,
        )
        ax.plot(
            s[:, :, 1].ravel(),
            s[:, :, 2].ravel(),
            "^",
            color=col,
            ms=4,
            mfc="none",
            label="step 1 → 2" if k == 0 else None,
        )
    ax.plot(mm, mm, **REFERENCE)
    ax.set_xlabel("m(t)")
    ax.set_ylabel("m(t+1)")
    ax.set_title("sign updates: the map is exact for the first step", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[2]
    for k, x in enumerate(res["loads"]):
        col = f"C{k}"
        s = x["sim"]
        t = np.arange(s.shape[-1])
        for i in range(0, s.shape[0], max(1, s.shape[0] // 3)):
            ax.plot(t, s[i].mean(axis=0), "o-", color=col, ms=3)
            ax.plot(
                t,
                H.iterate_map(s[i, :, 0].mean(), s.shape[-1] - 1, x["load"], math.inf),
                "--",
                color=col,
                lw=0.8,
            )
    ax.set_xlabel("step t")
    ax.set_ylabel("m(t)")
    ax.set_title("simulated (o) vs iterated map (--): drift after step 1", fontsize=9)
    fig.tight_layout()
    return fig


def bifurcation(res, sc):
    """Fixed points of F and their stability vs β, AGS retrieval state, simulated overlaps."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, x in zip(axes, res["series"], strict=True):
        bb = np.linspace(0.3, max(sc["bif_betas"]) * 1.05, 200)
        up, zero_stable = [], []
        for b in bb:
            fps = H.fixed_points(x["load"], b)
            st = [f["m"] for f in fps if f["stable"] and f["m"] > 0]
            up.append(max(st) if st else np.nan)
            zero_stable.append(fps[0]["stable"])
        up = np.array(up)
        zs = np.array(zero_stable)
        ax.plot(bb, up, "k-", lw=1.2, label="stable m* > 0 (map)")
        ax.plot(bb, -up, "k-", lw=1.2)
        ax.plot(bb[zs], np.zeros(zs.sum()), "k-", lw=1.2)
        ax.plot(bb[~zs], np.zeros((~zs).sum()), "k--", lw=1, label="m = 0 unstable (map)")
        if x["load"] > 0.01:
            bg = np.linspace(0.3, max(sc["bif_betas"]) * 1.05, 60)
            ax.plot(
                bg,
                [H.ags_state(x["load"], b)["m"] for b in bg],
                "C0-",
                lw=1.2,
                label="AGS retrieval state (RS theory)",
            )
        ax.errorbar(
            sc["bif_betas"],
            x["sim"][:, 0],
            yerr=x["sim"][:, 1],
            fmt="o",
            color="C3",
            ms=4,
            label=f"simulation (N = {res['n']:,})",
        )
        ax.axvline(x["beta_c"], color="0.5", ls=":", lw=0.8)
        ax.set_xlabel("inverse temperature β")
        ax.set_title(
            f"α = {x['load']:.2g}: β_c = {x['beta_c']:.2f} (map), β_M = {x['beta_m']:.2f} (AGS)",
            fontsize=9,
        )
    axes[0].set_ylabel("stationary overlap m")
    axes[0].legend(fontsize=7, loc="lower right")
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def capacity(res, sc):
    """Final overlaps and fraction retrieved vs load per N (probit fits); α_50(N) vs 1/√N."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    aa = np.linspace(0.0, 0.2, 400)
    for k, (n, v) in enumerate(res["per_n"].items()):
        col = f"C{k}"
        a = np.array(v["loads"])
        axes[0].errorbar(
            a,
            v["final"].mean(axis=1),
            yerr=v["final"].std(axis=1) / math.sqrt(v["trials"]),
            fmt="o-",
            color=col,
            ms=3,
            lw=1,
            label=f"N = {n:,}",
        )
        axes[1].plot(a, v["retrieved"].mean(axis=1), "o", color=col, ms=4, label=f"N = {n:,}")
        e = v["estimate"]
        aa2 = np.linspace(a.min(), a.max(), 200)
        axes[1].plot(aa2, ndtr((e["alpha"] - aa2) / e["width"]), "-", color=col, lw=1)
    axes[0].plot(aa, H.ags_overlap(aa), "k-", lw=1.2, label="AGS theory (N → ∞)")
    for ax in axes[:2]:
        ax.axvline(H.ALPHA_C, **REFERENCE)
        ax.set_xlabel("load α = P/N")
        ax.set_xlim(min(min(v["loads"]) for v in res["per_n"].values()) - 0.005, 0.205)
    axes[0].set_ylabel("final overlap (mean ± s.e.)")
    axes[0].set_title("start from each stored pattern, sync sign updates", fontsize=9)
    axes[0].legend(fontsize=7)
    axes[1].set_ylabel(f"fraction retrieved (final m > {sc['threshold']:g})")
    axes[1].set_title("probit fits: α_50(N) where half are retrieved", fontsize=9)
    ax = axes[2]
    ns = np.array(list(res["per_n"]), float)
    al = [v["estimate"]["alpha"] for v in res["per_n"].values()]
    se = [v["estimate"]["stderr"] for v in res["per_n"].values()]
    ax.errorbar(ns**-0.5, al, yerr=se, fmt="o", color="C3", label="α_50(N)")
    ex = res["extrapolated"]
    if ex is not None:
        xx = np.linspace(0, ns.min() ** -0.5 * 1.05, 50)
        ax.plot(
            xx,
            ex["alpha"] + ex["slope"] * xx,
            "C3--",
            lw=1,
            label=f"α_c + a/√N: α_c = {ex['alpha']:.3f} ± {ex['stderr']:.3f}",
        )
    ax.axhline(H.ALPHA_C, **REFERENCE, label="α_c = 0.138 (AGS)")
    ax.set_xlabel("1/√N")
    ax.set_ylabel("critical load")
    ax.set_xlim(left=0)
    ax.legend(fontsize=7)
    ax.set_title("finite-size shift", fontsize=9)
    fig.tight_layout()
    return fig
