"""Small pieces of the study harness (:mod:`lowdim.experiments.harness`) that the settings of a
lecture use too: the progress log and the scale check."""

from __future__ import annotations

import sys

from ..errors import ConfigError
from ..io import final_path

__all__ = ["Log", "check_scale"]


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
