"""Shared drawing of the N-neuron networks' error against their N → ∞ limit (ring, latent and
field-limit figures): each run's error, the RMS over seeds per N and the 1/√N theory, log-log."""

from __future__ import annotations

import math

import numpy as np

from ..analysis.stats import rms_of

__all__ = ["slope_text", "errors_vs_n", "sqrt_n_theory"]


def slope_text(fit: dict) -> str:
    """A fitted log-log slope with its 95 % interval: "slope −0.50 [−0.55, −0.45]"."""
    return f"slope {fit['slope']:.2f} [{fit['ci'][0]:.2f}, {fit['ci'][1]:.2f}]"


def errors_vs_n(ax, rows, key, style, label, line=False, **where):
    """``row[key]`` of each run (open, faint) and its RMS over seeds per N (filled, labelled;
    joined by a line with ``line``) against ``row["neurons"]``, for the rows matching ``where``."""
    sel = [r for r in rows if all(r[k] == v for k, v in where.items())]
    ax.loglog([r["neurons"] for r in sel], [r[key] for r in sel], style, mfc="none", alpha=0.5)
    Ns = np.array(sorted({r["neurons"] for r in sel}))
    rms = [rms_of(rows, key, neurons=n, **where) for n in Ns]
    if line:
        ax.loglog(Ns, rms, style + "-", ms=7, lw=0.8, label=label)
    else:
        ax.loglog(Ns, rms, style, ms=8, label=label)
    return Ns


def sqrt_n_theory(ax, Ns, quenched, spike, rate_label, poisson_label):
    """First-order theory lines: quenched/√N (rate networks, solid) and
    hypot(quenched, spike)/√N (Poisson networks, dashed)."""
    ax.loglog(Ns, quenched / np.sqrt(Ns), "C0-", lw=1, label=rate_label)
    ax.loglog(Ns, math.hypot(quenched, spike) / np.sqrt(Ns), "C3--", lw=1, label=poisson_label)
