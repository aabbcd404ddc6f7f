"""Style pieces the study figures share: reference lines, colours of ordered levels, shaded
epochs (so each figure module does not repeat them)."""

from __future__ import annotations

import numpy as np

from ..plotting import plt

__all__ = ["REFERENCE", "ZERO", "level_colour", "shade_epoch"]

#: a thin dotted black line: a theory value, a threshold, the diagonal m(t+1) = m(t)
REFERENCE = {"color": "k", "ls": ":", "lw": 0.8}
#: a thin grey line at zero (or at chance)
ZERO = {"color": "0.7", "lw": 0.8}


def level_colour(levels, value, cmap=plt.cm.coolwarm):
    """The colour of ``value`` among the sorted ``levels`` (blue: lowest … red: highest)."""
    return cmap((np.searchsorted(levels, value) + 0.5) / len(levels))


def shade_epoch(ax, bounds, dt: float) -> None:
    """Grey background over an epoch given in steps (start, end) of ``dt`` seconds."""
    a, b = bounds
    ax.axvspan(a * dt, b * dt, color="0.93", zorder=0)
