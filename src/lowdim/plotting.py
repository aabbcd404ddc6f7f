"""Figures of runs.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot, so lowdim never selects a
backend nor touches pyplot's global state (it works headless and inside notebooks alike);
:data:`plt` offers the few pyplot calls lowdim uses on top of that.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

__all__ = ["paired_traces", "savefig", "save_panel", "plt"]


class _Figures:
    """``subplots``, ``figure``, ``close`` and ``cm`` like pyplot's, on backend-free Figures."""

    cm = matplotlib.cm

    @staticmethod
    def figure(figsize=None, **kw) -> Figure:
        return Figure(figsize=figsize, **kw)

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, figsize=None, **kw):
        fig = Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols, **kw)

    @staticmethod
    def close(fig) -> None:
        """Nothing to release: these figures are not registered with pyplot."""


plt = _Figures()


def paired_traces(
    ds: xr.Dataset, n: int = 11, spikes_of: int | None = None, title: str | None = None
):
    """SNN potentials h_i(t) above RNN potentials x_i(t), same colours (paper Fig. 1E).

    Spike times of one neuron (``spikes_of``, default: the recorded neuron with most spikes; its
    traces are bold and black) are drawn as ticks above the SNN panel. A legend below the panels
    says so (and that a colour is the same neuron in both panels).
    """
    from matplotlib.lines import Line2D

    neurons = ds.neuron.values[:n]
    colors = matplotlib.colormaps["tab10"](np.linspace(0, 1, 10))
    fig, axes = plt.subplots(2, 1, figsize=(8, 5.8), sharex=True, sharey=True)
    chosen = spikes_of is not None
    t = ds.time.values
    if spikes_of is None and "spike_neuron" in ds and ds.sizes.get("spike", 0):
        ids, counts = np.unique(ds.spike_neuron.values, return_counts=True)
        spikes_of = int(ids[np.argmax(counts)]) if ids[np.argmax(counts)] in neurons else None
    black = neurons[0] if spikes_of is None else spikes_of
    for k, i in enumerate(neurons):
        col = "k" if i == black else colors[k % 10]
        lw = 1.2 if i == black else 0.8
        if "h" in ds:
            axes[0].plot(t, ds.h.sel(neuron=i), color=col, lw=lw)
        if "x" in ds:
            axes[1].plot(t, ds.x.sel(neuron=i), color=col, lw=lw)
    why = "" if chosen or spikes_of is None else ", most spikes"
    handles = [
        Line2D([], [], color="k", lw=1.2, label=f"neuron {black} (bold{why})"),
        Line2D(
            [],
            [],
            color=colors[1],
            lw=0.8,
            label="other recorded neurons: same colour in both panels",
        ),
    ]
    if "spike_time" in ds:
        st = ds.spike_time.values[ds.spike_neuron.values == black]
        top = float(ds.h.max()) if "h" in ds else 1.0
        axes[0].vlines(st, top + 0.3, top + 0.9, color="k", lw=0.8)
        tick = Line2D([], [], color="k", marker="|", ms=9, ls="none")
        tick.set_label(f"its SNN spike times ({len(st)} ticks)")
        handles.insert(1, tick)
    axes[0].set_ylabel("SNN  $h_i^{rec}(t)$")
    axes[1].set_ylabel("RNN  $x_i^{rec}(t)$")
    axes[1].set_xlabel("time (s)")
    if title is None:
        a = ds.attrs
        title = f"N = {a['neurons']:,}, p = {a['rank']}, α = {a['load']:.2g}"
        if "distance_rec" in a:
            title += f", $\\Delta_N^{{rec}}$ = {a['distance_rec']:.3f}"
    axes[0].set_title(title)
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def savefig(fig, path, close: bool = True) -> None:
    """Save ``fig`` to ``path`` (format from its suffix) via a temporary name; close it."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=150)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        if close:
            plt.close(fig)


def save_panel(fig, out, stem: str, formats=("png", "svg")) -> list[str]:
    """Save ``fig`` as ``out/stem.png`` and ``out/stem.svg`` (each atomically); close it."""
    from pathlib import Path

    names = []
    for ext in formats:
        savefig(fig, Path(out) / f"{stem}.{ext}", close=False)
        names.append(f"{stem}.{ext}")
    plt.close(fig)
    return names
