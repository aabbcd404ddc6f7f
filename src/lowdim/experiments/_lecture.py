"""Finishing a lecture run that takes settings (ring, latent, field limit) on the harness: one
path from its numbers to ``summary.json``, ``report.md`` and ``settings.toml``."""

from __future__ import annotations

from ..io import json_safe
from ..models.latent import power_law_fit
from ..results import Result
from . import settings as st

__all__ = ["finish", "fits", "declared"]

#: the text files every lecture run writes besides its figures and data
TEXT_FILES = ("report.md", "settings.toml", "summary.json")


def fits(rows, keys, **where) -> dict:
    """key → :func:`lowdim.models.latent.power_law_fit` of ``row[key]`` against
    ``row["neurons"]`` over the rows whose fields equal ``where`` (all seeds)."""
    sel = [r for r in rows if all(r[k] == v for k, v in where.items())]
    return {k: power_law_fit([r["neurons"] for r in sel], [r[k] for r in sel]) for k in keys}


def declared(summary: dict, rows) -> list[Result]:
    """The results a study declares as a table: each row is ``(key, quantity[, theory[, units[,
    reference[, interval_key]]]])`` read by :meth:`lowdim.results.Result.at` from ``summary``;
    ``theory`` is the summary key of the theory (a string), its number, or None."""
    out = []
    for row in rows:
        key, quantity, theory, units, reference, ci = (*row, *(None, "", "", "")[len(row) - 2 :])
        by_key = isinstance(theory, str)
        out.append(
            Result.at(
                summary,
                key,
                quantity,
                theory if by_key else "",
                theory=None if by_key else theory,
                interval_key=ci,
                units=units,
                reference=reference,
            )
        )
    return out


def finish(s, cfg: dict, summary: dict, extra: dict, results, report) -> dict:
    """Write a lecture run through its session ``s``: ``summary.json`` holds ``summary`` with
    ``settings`` (``cfg`` as JSON) and ``wall_seconds`` (now, unless given), then ``extra`` (per
    run rows, fits, … for the report and a reader), the ``files`` and the ``results``;
    ``report.md`` is ``report(full)`` (``full``: that whole summary, files included);
    ``settings.toml`` reruns the run. Returns ``summary`` with its settings and results, as
    JSON values (what the command line prints)."""
    summary = {**summary, "settings": st.jsonable(cfg)}
    summary.setdefault("wall_seconds", s.elapsed())
    full = {**summary, **extra, "files": sorted(set(s.files) | set(TEXT_FILES))}
    written = s.finish(full, results, report(full), settings=st.to_toml(cfg))
    return json_safe({**summary, "results": written.get("results", [])})
