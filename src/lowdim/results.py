"""Structured results: a measured quantity with its theory, interval and units.

Every study (a figure of the paper, a lecture demo, a paired run of ``lowdim simulate``) states
its key numbers as :class:`Result` records. One renderer turns them into the three forms a reader
meets: the ``results`` list of ``summary.json`` (:func:`to_json`), the table of ``report.md``
(:func:`markdown_table`) and the "key numbers" table of ``index.html``
(:func:`lowdim.report.render_report` reads the list back with :func:`from_json`). The summary keys
of a study stay where they were: a result names the key of its value (``key``) and of its theory
(``theory_key``) in ``summary.json``; nothing is inferred from key names.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ConfigError
from .io import atomic_write_json, atomic_write_text

__all__ = ["Result", "lookup", "to_json", "from_json", "markdown_table", "write"]


def _number(v, name: str):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        try:
            v = float(v)  # NumPy and JAX scalars
        except (TypeError, ValueError):
            raise ConfigError(f"result {name}: a number or None, got {v!r}") from None
    return v


def lookup(summary: dict, path: str):
    """The value at a dotted path of a summary: ``"a.b"`` is ``summary["a"]["b"]``, a number
    indexes a list (``"rows.0"``), and a key that holds a dot itself (``"p2_eps0.9"``) is found
    (the longest key that matches comes first). KeyError names the path when there is none."""
    try:
        return _lookup(summary, path)
    except (KeyError, IndexError, TypeError):
        raise KeyError(f"no {path!r} in the summary") from None


def _lookup(tree, path: str):
    if isinstance(tree, list):
        head, _, rest = path.partition(".")
        item = tree[int(head)] if head.isdigit() else tree[head]  # TypeError: not an index
        return _lookup(item, rest) if rest else item
    if path in tree:
        return tree[path]
    parts = path.split(".")
    for k in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:k])
        if head in tree:
            return _lookup(tree[head], ".".join(parts[k:]))
    raise KeyError(path)


@dataclass(frozen=True)
class Result:
    """One key number of a study.

    Args:
        quantity: what was measured, in words (``"participation ratio PR(x), D = 1"``).
        value: the measured value (None: not measured, e.g. a run too short).
        theory: the value theory predicts (None when there is no prediction).
        interval: a confidence interval (lo, hi) of the measured value, or None.
        units: SI units of value and theory ("" for dimensionless numbers).
        key: dotted path of the value in ``summary.json`` (e.g. ``"norm_mean"``), "" if none.
        theory_key: dotted path of the theory value in ``summary.json``, "" if none.
        reference: where the theory comes from (``"Eq. (12)"``, ``"(M2)"``), "" if none.
    """

    quantity: str
    value: float | int | None
    theory: float | None = None
    interval: tuple[float, float] | None = None
    units: str = ""
    key: str = ""
    theory_key: str = ""
    reference: str = ""

    def __post_init__(self):
        if not isinstance(self.quantity, str) or not self.quantity:
            raise ConfigError(
                f"a result needs a quantity (a non-empty string), got {self.quantity!r}"
            )
        object.__setattr__(self, "value", _number(self.value, self.quantity))
        object.__setattr__(self, "theory", _number(self.theory, self.quantity))
        if self.interval is not None:
            lo, hi = self.interval
            object.__setattr__(
                self, "interval", (_number(lo, self.quantity), _number(hi, self.quantity))
            )

    @classmethod
    def at(
        cls,
        summary: dict,
        key: str,
        quantity: str,
        theory_key: str = "",
        *,
        theory: float | None = None,
        interval_key: str = "",
        units: str = "",
        reference: str = "",
    ) -> Result:
        """The result whose value is the summary's number at ``key`` (a dotted path, see
        :func:`lookup`), its theory the number at ``theory_key`` (or ``theory`` given), its
        interval the pair at ``interval_key`` — so a result cannot disagree with its keys."""
        if theory_key:
            theory = lookup(summary, theory_key)
        interval = None
        if interval_key:
            lo, hi = lookup(summary, interval_key)
            ok = all(isinstance(v, int | float) and math.isfinite(v) for v in (lo, hi))
            interval = (lo, hi) if ok else None
        return cls(
            quantity,
            lookup(summary, key),
            theory=theory,
            interval=interval,
            units=units,
            key=key,
            theory_key=theory_key,
            reference=reference,
        )

    def deviation(self) -> float | None:
        """value − theory, or None when either is missing or not finite."""
        if self.value is None or self.theory is None:
            return None
        d = self.value - self.theory
        return d if math.isfinite(d) else None


def to_json(results) -> list[dict]:
    """The ``results`` list of ``summary.json`` (interval as a two-element list)."""
    out = []
    for r in results:
        d = asdict(r)
        if d["interval"] is not None:
            d["interval"] = list(d["interval"])
        out.append(d)
    return out


def from_json(items) -> list[Result]:
    """The records of a ``summary.json`` ``results`` list; entries that are not results (an
    older or foreign file) are skipped."""
    out = []
    if not isinstance(items, list):
        return out
    fields = set(Result.__dataclass_fields__)
    for d in items:
        if not isinstance(d, dict) or "quantity" not in d or "value" not in d:
            continue
        d = {k: v for k, v in d.items() if k in fields}
        if isinstance(d.get("interval"), list) and len(d["interval"]) == 2:
            d["interval"] = tuple(d["interval"])
        elif d.get("interval") is not None:
            d["interval"] = None
        try:
            out.append(Result(**d))
        except (ConfigError, TypeError, ValueError):
            continue
    return out


def fmt(v, digits: int = 4) -> str:
    """A number as the tables show it: ``digits`` significant digits, "–" for None."""
    if v is None:
        return "–"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def markdown_table(results, digits: int = 4) -> str:
    """The results as a Markdown table: quantity | measured | theory | interval | units."""
    rows = [
        "| quantity | measured | theory | interval | units |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        theory = fmt(r.theory, digits)
        if r.reference and r.theory is not None:
            theory += f" {r.reference}"
        ci = (
            "–"
            if r.interval is None
            else f"[{fmt(r.interval[0], digits)}, {fmt(r.interval[1], digits)}]"
        )
        rows.append(f"| {r.quantity} | {fmt(r.value, digits)} | {theory} | {ci} | {r.units} |")
    return "\n".join(rows)


def write(folder, summary: dict, results=(), report: str | None = None, settings=None) -> dict:
    """A study's text results in ``folder`` (each file atomically): ``summary.json`` with the
    ``results`` list added (strict JSON: NaN and ±inf as null), ``report.md`` when ``report`` is
    given (with ``{results}`` replaced by :func:`markdown_table`, or the table appended under
    "Key numbers" when the text has no such mark) and ``settings.toml`` (``settings``: its text).
    Returns the summary as written."""
    folder = Path(folder)
    results = list(results)
    summary = dict(summary)
    if results:
        summary["results"] = to_json(results)
    if settings is not None:
        atomic_write_text(folder / "settings.toml", settings)
    if report is not None:
        table = markdown_table(results) if results else ""
        if "{results}" in report:
            report = report.replace("{results}", table)
        elif table:
            report = report.rstrip("\n") + "\n\n## Key numbers\n\n" + table + "\n"
        atomic_write_text(folder / "report.md", report)
    atomic_write_json(folder / "summary.json", summary)
    return summary
