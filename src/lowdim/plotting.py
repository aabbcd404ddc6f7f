"""Figures of runs (matplotlib, Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

__all__ = ["paired_traces", "savefig", "save_panel"]


def paired_traces(
    ds: xr.Dataset, n: int = 11, spikes_of: int | None = None, title: str | None = None
):
    """SNN potentials h_i(t) above RNN potentials x_i(t), same colours (paper Fig. 1E).

    Spike times of one neuron (``spikes_of``, default: the recorded neuron with most spikes; its
    traces are black) are drawn as ticks above the SNN panel.
    """
    neurons = ds.neuron.values[:n]
    colors = plt.cm.tab10(np.linspace(0, 1, 10))
    fig, axes = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, sharey=True)
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
    if "spike_time" in ds:
        st = ds.spike_time.values[ds.spike_neuron.values == black]
        top = float(ds.h.max()) if "h" in ds else 1.0
        axes[0].vlines(st, top + 0.3, top + 0.9, color="k", lw=0.8)
    axes[0].set_ylabel("SNN  $h_i^{rec}(t)$")
    axes[1].set_ylabel("RNN  $x_i^{rec}(t)$")
    axes[1].set_xlabel("time (s)")
    if title is None:
        a = ds.attrs
        title = f"N = {a['neurons']:,}, p = {a['rank']}, α = {a['load']:.2g}"
        if "distance_rec" in a:
            title += f", Δ_rec = {a['distance_rec']:.3f}"
    axes[0].set_title(title)
    fig.tight_layout()
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
