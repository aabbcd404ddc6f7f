"""Figures that fill in while a long run works: a PNG file redrawn atomically.

A viewer that reloads the file (an image viewer, a browser tab, a notebook cell, VS Code) shows the
run's progress as a picture: each redraw writes a temporary file and renames it over the old one,
so a reader never sees half a PNG. Redraws are throttled (at most one every ``every`` seconds, plus
a final one), so the figure costs nothing measurable next to the run.

- :class:`LivePoints`: points (x, y) grouped in series, e.g. Δ(α) per curve as a Fig. 2 sweep
  finishes its points (``lowdim reproduce fig2`` writes ``OUT/live.png``);
- :class:`LiveTraces`: the ``on_chunk`` callback of :func:`lowdim.simulate`: SNN and RNN
  potentials of a few recorded neurons and the population distance |h − x| so far
  (``lowdim simulate`` writes ``OUT-live.png`` while a run longer than a few seconds works);
- :class:`LiveFigure`: any figure, drawn by a function of the caller.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["LiveFigure", "LivePoints", "LiveTraces"]


class LiveFigure:
    """Redraw ``path`` from ``draw(*args) -> matplotlib Figure`` at most every ``every`` seconds.

    ``update(*args)`` redraws when the last redraw is older than ``every`` (or ``force=True``);
    errors while drawing are reported once on stderr and never stop the run.
    """

    def __init__(
        self, path: str | Path, draw: Callable, every: float = 2.0, start_after: float = 0.0
    ):
        self.path, self.draw, self.every = Path(path), draw, float(every)
        self._last = -math.inf
        self._failed = False
        self._t0 = time.monotonic()
        self.start_after = float(start_after)
        self.redraws = 0

    def update(self, *args, force: bool = False) -> bool:
        """Redraw if due (and, unless forced, not before ``start_after`` seconds since the
        figure was made: short runs leave no file); return whether the file was written."""
        now = time.monotonic()
        if self._failed or (not force and now - self._last < self.every):
            return False
        if not force and now - self._t0 < self.start_after:
            return False
        from .plotting import savefig  # deferred: matplotlib costs start-up time

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            savefig(self.draw(*args), self.path)
        except Exception as e:  # noqa: BLE001 — a picture must never end a long run
            import sys

            print(f"warning: live figure {self.path} not updated: {e}", file=sys.stderr)
            self._failed = True
            return False
        self._last = time.monotonic()
        self.redraws += 1
        return True

    def remove(self) -> None:
        """Delete the file (e.g. when the final figure is written)."""
        self.path.unlink(missing_ok=True)


class LivePoints:
    """Series of (x, y) points redrawn while they arrive: markers for the points, a line through
    each series' mean at every x (e.g. the mean over seeds).

    Args:
        path: the PNG file.
        xlabel: label of the x axis.
        ylabel: label of the y axis.
        title: title (followed by "n of total points so far").
        log: log-log axes.
        reference: optional ``(fn, label)``: a line y = fn(x) drawn over the points' x range
            (e.g. the feedforward line √(max φ/(2τc)) √α of Fig. 2).
        total: number of points expected (shown in the title).
        every: seconds between redraws.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        xlabel: str = "x",
        ylabel: str = "y",
        title: str = "",
        log: bool = False,
        reference: tuple[Callable, str] | None = None,
        total: int | None = None,
        every: float = 2.0,
    ):
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.xlabel, self.ylabel, self.title, self.log = xlabel, ylabel, title, log
        self.reference, self.total = reference, total
        self.figure = LiveFigure(path, self._draw, every)

    @property
    def path(self) -> Path:
        return self.figure.path

    def add(self, label: str, x: float, y: float, *, redraw: bool = True) -> None:
        """Add one point to series ``label``; redraw if due."""
        self.series.setdefault(label, []).append((float(x), float(y)))
        if redraw:
            self.figure.update()

    def flush(self) -> bool:
        """Redraw now (e.g. after adding resumed points, or at the end)."""
        return self.figure.update(force=True)

    def __len__(self) -> int:
        return sum(len(v) for v in self.series.values())

    def _draw(self):
        import numpy as np

        from .plotting import plt  # deferred: matplotlib costs start-up time

        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        xs_all = []
        for k, (label, pts) in enumerate(sorted(self.series.items())):
            x, y = np.array(sorted(pts)).T
            xs_all.append(x)
            col = f"C{k % 10}"
            ax.plot(x, y, "o", ms=4, alpha=0.6, color=col, label=f"{label} ({len(pts)})")
            ux = np.unique(x)
            if len(ux) > 1:  # the mean over points at the same x (seeds), as a line
                ax.plot(ux, [y[x == u].mean() for u in ux], "-", lw=1, color=col)
        if self.reference is not None and xs_all:
            fn, label = self.reference
            xs = np.concatenate(xs_all)
            lo, hi = xs.min(), xs.max()
            grid = np.geomspace(lo, hi, 50) if self.log and lo > 0 else np.linspace(lo, hi, 50)
            ax.plot(grid, fn(grid), "k--", lw=1, label=label)
        if self.log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        n = len(self)
        done = f"{n} of {self.total} points" if self.total else f"{n} points"
        ax.set_title(f"{self.title} — {done} so far" if self.title else f"{done} so far")
        if self.series:
            ax.legend(fontsize=7)
        fig.tight_layout()
        return fig


class LiveTraces:
    """``on_chunk`` callback of :func:`lowdim.simulate` that redraws ``path`` while the run works:
    SNN potentials h_i(t) above RNN potentials x_i(t) of up to ``n`` recorded neurons (same
    colours, as the final traces.png) and the population distance |h − x| (in, rec) so far.

    Args:
        path: the PNG file.
        record_dt: seconds per record interval (``RunConfig.steps_per_record · dt``).
        duration: the run's simulated time (s), for the title.
        n: number of recorded neurons drawn.
        every: seconds between redraws.
        start_after: no file before this many seconds of wall time (a short run leaves none).
    """

    def __init__(
        self,
        path: str | Path,
        record_dt: float,
        duration: float,
        n: int = 5,
        every: float = 5.0,
        start_after: float = 10.0,
    ):
        self.record_dt, self.duration, self.n = float(record_dt), float(duration), int(n)
        self.chunks: dict[str, list] = {}
        self.records = 0
        self.figure = LiveFigure(path, self._draw, every, start_after)

    @property
    def path(self) -> Path:
        return self.figure.path

    def __enter__(self) -> LiveTraces:
        return self

    def __exit__(self, *exc) -> bool:
        """The file is removed however the run ends: finished (its final figure replaces it),
        an error, Ctrl-C or SIGTERM (a stale file of an earlier, killed run goes too)."""
        self.figure.remove()
        return False

    def __call__(self, rec: dict, first: int) -> None:
        import numpy as np

        for key in ("h", "x", "distance"):
            if key in rec:
                v = np.asarray(rec[key], dtype=np.float32)
                self.chunks.setdefault(key, []).append(v[:, : self.n] if key != "distance" else v)
        self.records = first + next((len(rec[k]) for k in ("h", "x", "distance") if k in rec), 0)
        if self.figure.update() and self.figure.redraws == 1:
            import sys

            print(f"live figure: {self.path} (redrawn while the run works)", file=sys.stderr)

    def _draw(self):
        import numpy as np

        from .plotting import plt  # deferred: matplotlib costs start-up time

        data = {k: np.concatenate(v) for k, v in self.chunks.items()}
        rows = 3 if "distance" in data else 2
        fig, axes = plt.subplots(rows, 1, figsize=(8, 2.2 * rows + 0.6), sharex=True)
        m = len(next(iter(data.values())))  # records drawn (a resumed run starts later)
        t = (np.arange(m) + 1 + self.records - m) * self.record_dt  # end of each interval
        for ax, key, label in ((axes[0], "h", "SNN  h_i(t)"), (axes[1], "x", "RNN  x_i(t)")):
            if key in data:
                for i in range(data[key].shape[1]):
                    ax.plot(t, data[key][:, i], lw=0.8, color=f"C{i % 10}")
            ax.set_ylabel(label)
        if "distance" in data:
            for j, pop in enumerate(("in", "rec")[: data["distance"].shape[1]]):
                axes[2].plot(t, data["distance"][:, j], lw=1, label=pop)
            axes[2].set_ylabel("mean |h − x|")
            axes[2].legend(fontsize=8)
        axes[-1].set_xlabel("time (s)")
        axes[0].set_title(f"{t[-1]:.3g} s of {self.duration:.3g} s simulated so far")
        fig.tight_layout()
        return fig
