"""Small pieces every study uses: the progress log, the scale check, writing the text results
(``summary.json``, ``report.md``, ``settings.toml``)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ConfigError
from ..io import atomic_write_json, atomic_write_text, final_path

__all__ = ["Log", "check_scale", "write_results"]


class Log:
    """``log(progress, msg)`` prints ``[study] msg`` to stderr when ``progress`` is true."""

    def __init__(self, study: str):
        self.study = study

    def __call__(self, progress: bool, msg: str) -> None:
        if progress:
            print(f"[{self.study}] {msg}", file=sys.stderr, flush=True)

    def done(self, progress: bool, wall: float, out) -> None:
        """The last line of a run: its wall time and the folder its results end up in (not a
        staging folder)."""
        self(progress, f"done in {wall:.0f} s → {final_path(out)}")


def check_scale(scale, scales: dict, study: str | None = None, choices: str | None = None) -> None:
    """ConfigError unless ``scale`` is a key of ``scales``: "unknown scale 'x' for STUDY;
    CHOICES" (default: "choose one of [the scales]")."""
    if scale not in scales:
        where = f" for {study}" if study else ""
        raise ConfigError(
            f"unknown scale {scale!r}{where}; {choices or f'choose one of {sorted(scales)}'}"
        )


def write_results(folder, summary: dict, report: str, settings: str | None = None) -> None:
    """A study's text results in ``folder``: ``summary.json`` (strict JSON, NaN and ±inf as null:
    :func:`lowdim.io.atomic_write_json`), ``report.md`` and, for a lecture, its ``settings.toml``
    (``settings``: the text of :func:`lowdim.experiments.settings.to_toml`)."""
    folder = Path(folder)
    if settings is not None:
        atomic_write_text(folder / "settings.toml", settings)
    atomic_write_text(folder / "report.md", report)
    atomic_write_json(folder / "summary.json", summary)
