"""Figures of the field-limit lecture (:mod:`lowdim.experiments.field_limit`)."""

from __future__ import annotations

import numpy as np

from ..analysis.stats import rms_of
from ..plotting import plt
from .convergence import errors_vs_n, slope_text

__all__ = ["traces", "neurons", "errors"]


def traces(example, sols):
    """K^in(t), K^rec(t) and m(t) of the field and of the largest RNN and SNN, one row per p."""
    ranks = sorted(example)
    fig, ax = plt.subplots(len(ranks), 3, figsize=(14, 3.4 * len(ranks)), squeeze=False)
    for r, p in enumerate(ranks):
        ds, n = example[p]["ds"], example[p]["neurons"]
        sol = sols[p]
        t = sol["t"]
        for c, key, label in ((0, "K_in", "K^in"), (1, "K_rec", "K^rec"), (2, "m", "m")):
            a = ax[r, c]
            for mu in range(p):
                col = f"C{mu}"
                a.plot(
                    t,
                    ds[key].values[:, 1, mu],
                    col,
                    lw=0.6,
                    alpha=0.6,
                    label=f"SNN μ={mu + 1}" if c == 0 else None,
                )
                a.plot(
                    t,
                    ds[key].values[:, 0, mu],
                    col,
                    lw=1.2,
                    label=f"RNN μ={mu + 1}" if c == 0 else None,
                )
                a.plot(
                    t, sol[key][:, mu], "k--", lw=1, label="field" if (c == 0 and mu == 0) else None
                )
            a.set_title(f"p = {p}, N = {n:,}: {label}(t)", fontsize=9)
            a.set_xlabel("time (s)")
        ax[r, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def neurons(example, sols):
    """Recorded potentials against the field: for p = 1 against the position ξ_i at one time,
    for each p against u^rec(t, ξ_i) over all times."""
    ranks = sorted(example)
    fig, ax = plt.subplots(1, len(ranks) + 1, figsize=(5 * (len(ranks) + 1), 4), squeeze=False)
    ax = ax[0]
    # p = 1: potentials of rec neurons against their position ξ_i at one time: the field line
    if 1 in example:
        e, sol = example[1], sols[1]
        ds, xi, is_in = e["ds"], e["xi"], e["is_in"]
        k = len(sol["t"]) * 3 // 4
        rec = ~is_in
        y = np.linspace(-3.5, 3.5, 2)
        ax[0].plot(xi[rec, 0], ds.x.values[k, rec], "C0.", ms=4, label="RNN x_i (rec)")
        ax[0].plot(xi[rec, 0], ds.h.values[k, rec], "C3.", ms=3, alpha=0.6, label="SNN h_i (rec)")
        ax[0].plot(y, y * sol["K_rec"][k, 0], "k-", label="field u^rec(t, y) = y K^rec(t)")
        ax[0].plot(xi[is_in, 0], ds.x.values[k, is_in], "C2.", ms=4, label="RNN x_i (in)")
        ax[0].plot(y, y * sol["K_in"][k, 0], "k--", label="field u^in(t, y)")
        ax[0].set_xlabel("position y = ξ_i")
        ax[0].set_ylabel(f"potential at t = {sol['t'][k]:.3f} s")
        ax[0].set_title(f"p = 1, N = {e['neurons']:,}: neurons sit on the field", fontsize=9)
        ax[0].legend(fontsize=7)
    for j, p in enumerate(ranks, start=1):
        e, sol = example[p], sols[p]
        ds, xi, is_in = e["ds"], e["xi"], e["is_in"]
        rec = ~is_in
        pred = sol["K_rec"] @ xi[rec].T  # (T, rec neurons)
        ax[j].plot(
            pred.ravel()[::3],
            ds.h.values[:, rec].ravel()[::3],
            "C3.",
            ms=1.5,
            alpha=0.3,
            label="SNN h_i(t)",
        )
        ax[j].plot(
            pred.ravel()[::3],
            ds.x.values[:, rec].ravel()[::3],
            "C0.",
            ms=1.5,
            alpha=0.3,
            label="RNN x_i(t)",
        )
        lim = [pred.min(), pred.max()]
        ax[j].plot(lim, lim, "k-", lw=0.8, label="identity")
        ax[j].set_xlabel("field u^rec(t, ξ_i) = ξ_i·K^rec(t)")
        ax[j].set_ylabel("network potential")
        ax[j].set_title(
            f"p = {p}, N = {e['neurons']:,}: {int(rec.sum())} rec neurons, all times", fontsize=9
        )
        ax[j].legend(fontsize=7, markerscale=6)
    fig.tight_layout()
    return fig


def errors(rows, fits):
    """Relative errors of the networks against the field vs N, one panel per p, with fitted
    slopes and a 1/√N guide."""
    ranks = sorted({r["p"] for r in rows})
    fig, ax = plt.subplots(1, len(ranks), figsize=(6 * len(ranks), 4.2), squeeze=False)
    for j, p in enumerate(ranks):
        a = ax[0, j]
        Ns = np.array(sorted({r["neurons"] for r in rows if r["p"] == p}))
        for key, c, m, name in (
            ("u_rnn", "C0", "o", "RNN potentials"),
            ("u_snn", "C3", "^", "SNN potentials"),
            ("K_rec_rnn", "C2", "s", "RNN K^rec"),
            ("m_rnn", "C4", "D", "RNN overlaps m"),
        ):
            label = f"{name}: {slope_text(fits[p][key])}"
            errors_vs_n(a, rows, key, c + m, label, line=True, p=p)
        ref = rms_of(rows, "u_rnn", p=p, neurons=Ns[0])
        a.loglog(Ns, ref * np.sqrt(Ns[0] / Ns), "k:", lw=1, label="∝ 1/√N")
        a.set_xlabel("N")
        a.set_ylabel("relative L2 error against the field")
        a.set_title(f"p = {p}: networks → field limit (same B)", fontsize=9)
        a.legend(fontsize=7)
    fig.tight_layout()
    return fig
