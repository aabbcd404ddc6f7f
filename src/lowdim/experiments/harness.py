"""The harness every study runs on: scales, phases, staging, timing, progress and saving.

A study (a figure of the paper or a lecture demo) declares itself once as a :class:`Study` — its
name, its scales and its phases — and runs inside :meth:`Study.session`::

    STUDY = Study("manifold", SCALES, phases=("rank D = 1", ..., "figures and report"),
                  what="the manifold demo", choices="use --scale small or --scale large")

    def run(scale="small", out="lecture-manifold", progress=True, seed=0):
        with STUDY.session(scale, out, progress) as s:
            with s.phase("rank D = 1"):
                ...
            s.figure(fig, "manifold_pr")          # png + svg, listed in summary["files"]
            s.dataset(ds, "manifold.nc")          # NetCDF, listed
            return s.finish(summary, results, report)

The session checks the scale (a :class:`lowdim.errors.ConfigError` naming the choices), writes
into a staging folder that becomes ``out`` only when the study has finished (nothing
half-written is left: :class:`lowdim.io.staged_output`), prints ``[study] phase k/n: label`` and
the final ``done in … s → out`` on stderr when ``progress`` is true, times each phase, and
:meth:`Session.finish` writes ``summary.json`` (with ``wall_seconds``, the sorted ``files`` and the
structured ``results``), ``report.md`` and ``settings.toml`` through one renderer
(:func:`lowdim.results.write`). ``index.html`` is rendered from the same folder by the command
line (:func:`lowdim.report.render_report`).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..io import save, staged_output
from ..results import Result, write
from ._common import Log, check_scale

__all__ = ["Study", "Session", "Result"]


@dataclass(frozen=True)
class Study:
    """A study's declaration.

    Args:
        name: the name in progress lines (``[name] …``).
        scales: scale name → settings dict (``test`` for the test suite, ``small``, …).
        phases: the labels of the phases in order (progress says ``phase k/n``); a phase not
            listed is counted on top.
        what: the study in words, for the unknown-scale error ("the manifold demo").
        choices: what to tell a user who gave an unknown scale (default: the scale names).
        staged: write into a staging folder (False: write into ``out`` directly, for studies
            whose figures appear one by one).
    """

    name: str
    scales: dict
    phases: tuple = ()
    what: str | None = None
    choices: str | None = None
    staged: bool = True

    def settings(self, scale: str) -> dict:
        """The settings of ``scale`` (a ConfigError for an unknown one)."""
        check_scale(scale, self.scales, self.what or self.name, self.choices)
        return self.scales[scale]

    @contextlib.contextmanager
    def session(self, scale: str, out, progress: bool = True, phases=None):
        """Run the study at ``scale`` into ``out``: yields a :class:`Session` whose ``folder`` is
        where files go (a staging folder that becomes ``out`` when the block ends without an
        error). ``phases`` overrides the declared labels (e.g. one per rank of a scale)."""
        sc = self.settings(scale)
        labels = tuple(self.phases if phases is None else phases)
        log = Log(self.name)
        t0 = time.perf_counter()
        if self.staged:
            with staged_output(out) as tmp:
                s = Session(self, scale, sc, Path(tmp), progress, labels, log, t0)
                yield s
        else:
            folder = Path(out)
            folder.mkdir(parents=True, exist_ok=True)
            s = Session(self, scale, sc, folder, progress, labels, log, t0)
            yield s
        log.done(progress, s.wall if s.wall is not None else time.perf_counter() - t0, out)


@dataclass
class Session:
    """One run of a study: its folder, progress, phase timings and files (see the module doc)."""

    study: Study
    scale: str
    sc: dict
    folder: Path
    progress: bool
    labels: tuple
    log_: Log
    t0: float
    timings: dict = field(default_factory=dict)
    files: list = field(default_factory=list)
    wall: float | None = None
    _done: int = 0

    def log(self, msg: str) -> None:
        """One progress line (``[study] msg``) when progress is on."""
        self.log_(self.progress, msg)

    @contextlib.contextmanager
    def phase(self, label: str):
        """A timed phase: ``[study] phase k/n: label`` when it starts; its seconds end up in
        :attr:`timings` under ``label``."""
        self._done += 1
        n = max(len(self.labels), self._done)
        self.log(f"phase {self._done}/{n}: {label}")
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[label] = time.perf_counter() - t

    def elapsed(self) -> float:
        """Seconds since the session started."""
        return time.perf_counter() - self.t0

    def path(self, name: str, listed: bool = True) -> Path:
        """The path of the file ``name`` in the session's folder (listed in ``files``)."""
        if listed and name not in self.files:
            self.files.append(name)
        return self.folder / name

    def figure(self, fig, stem: str, formats=("png", "svg")) -> list[str]:
        """Save ``fig`` as ``stem.png`` and ``stem.svg`` (atomically) and close it."""
        from ..plotting import save_panel  # deferred: matplotlib costs start-up time

        names = save_panel(fig, self.folder, stem, formats)
        self.files += [n for n in names if n not in self.files]
        return names

    def dataset(self, ds, name: str) -> None:
        """Save an xarray Dataset as ``name`` (NetCDF, atomically)."""
        save(ds, self.path(name))

    def finish(
        self,
        summary: dict,
        results=(),
        report: str | None = None,
        settings: str | None = None,
        files: bool = True,
    ) -> dict:
        """Write the text results and return the summary as written: ``summary.json`` gains
        ``wall_seconds`` (when the study has not set it) and, with ``files``, the sorted list of
        every file of the folder the session wrote (``report.md``, ``summary.json`` and
        ``settings.toml`` included)."""
        summary = dict(summary)
        self.wall = summary.setdefault("wall_seconds", self.elapsed())
        names = list(self.files)
        if report is not None:
            names.append("report.md")
        if settings is not None:
            names.append("settings.toml")
        if files:
            summary["files"] = sorted(set(names + ["summary.json"]))
        return write(self.folder, summary, results, report, settings)
