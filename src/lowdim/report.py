"""One HTML page per output folder: ``index.html`` with the figures, the key numbers next to their
theory values, the configuration and the provenance of the run.

:func:`render_report` works on any folder that lowdim commands write (``lowdim simulate``,
``lowdim demo``, ``lowdim reproduce NAME``, ``lowdim lecture NAME``) and reads it generically:

- figures: every ``*.png`` of the folder (and of its sub-folders, except the sweep ``store``),
  with a link to the ``.svg`` beside it when there is one;
- ``report.md`` (the numbers of a figure or a lecture demo next to their theory values) rendered
  as HTML, tables included;
- ``summary.json``: its ``results`` list (:mod:`lowdim.results`: quantity, measured value,
  theory with its reference, interval, units) is the "key numbers" table — every study and
  ``lowdim simulate`` write one; nothing is inferred from key names. Every top-level number of
  the summary follows, folded away below the table (``<details>``) when there is one;
- the configuration: the ``config`` attribute of ``run.nc`` (JSON), or the ``config`` /
  ``parameters`` entry of ``summary.json``, or a ``config.toml`` / ``config.json`` file;
- the provenance: lowdim version, git commit, JAX backend and devices, wall time, from
  ``summary.json``, ``provenance.json``, the attributes of ``run.nc`` and what the caller passes
  (the command line passes what it knows of the run it has just made).

The page is self-contained (inline CSS, no network access) and relative links only, so the folder
can be moved or archived as a whole. A small script marks every figure that failed to load (its
``naturalWidth`` is 0) with a visible warning and writes the widths into ``data-`` attributes,
which the test suite reads back from a headless browser.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from pathlib import Path

from . import record
from ._version import __version__
from .errors import ConfigError
from .io import atomic_write_text
from .results import from_json

__all__ = ["render_report", "git_commit"]

_SKIP_DIRS = {"store", "__pycache__"}
_MAX_ROWS = 60


def git_commit() -> str | None:
    """The git commit of the lowdim checkout this code runs from, ``-dirty`` appended when its
    tracked sources differ (``None`` when lowdim is an installed package; lowdim.record)."""
    sha = record.git_commit()
    return None if sha == "none" else sha


# ----------------------------------------------------------------------------- reading a folder
def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _run_attrs(folder: Path) -> dict:
    """Attributes of ``run.nc`` (read without loading the data), or {}."""
    path = folder / "run.nc"
    if not path.exists():
        return {}
    try:
        import h5py

        with h5py.File(path, "r") as f:
            out = {}
            for k, v in f.attrs.items():
                if isinstance(v, bytes):
                    v = v.decode()
                elif hasattr(v, "item") and getattr(v, "size", 1) == 1:
                    v = v.item()
                elif hasattr(v, "tolist"):
                    v = v.tolist()
                out[k] = v
            return out
    except (OSError, ImportError):
        return {}


def _figures(folder: Path) -> list[Path]:
    found = []
    for p in sorted(folder.rglob("*.png")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") or part in _SKIP_DIRS for part in rel.parts):
            continue
        if len(rel.parts) > 3:
            continue
        found.append(rel)
    return found


def _fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.6g}"
    if isinstance(v, list) and all(isinstance(x, int | float) for x in v) and len(v) <= 6:
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    s = str(v)
    return s if len(s) <= 200 else s[:197] + "…"


def _flatten(obj, prefix: str = "", depth: int = 0) -> list[tuple[str, object]]:
    """(dotted key, scalar) pairs of a nested summary; long lists are summarised."""
    rows: list[tuple[str, object]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and depth < 3:
                rows += _flatten(v, key, depth + 1)
            elif isinstance(v, list) and v and isinstance(v[0], dict | list):
                rows.append((key, f"({len(v)} entries, see summary.json)"))
            else:
                rows.append((key, v))
    return rows


# notation of result labels written as inline MathML (rendered natively by browsers; no script,
# works offline): text → MathML, replaced in the escaped label
_PHI_Z = (
    '<mo stretchy="false">[</mo><mi>φ</mi><mo stretchy="false">(</mo><mi>z</mi>'
    '<mo stretchy="false">)</mo><mo stretchy="false">]</mo>'
)
_MATH = {
    "Δ_N^rec": '<math><msubsup><mi mathvariant="normal">Δ</mi><mi>N</mi><mtext>rec</mtext>'
    "</msubsup></math>",
    "Δ_N^in": '<math><msubsup><mi mathvariant="normal">Δ</mi><mi>N</mi><mtext>in</mtext>'
    "</msubsup></math>",
    "√(max φ/(2τc)) √α": '<math><msqrt><mo>max</mo><mi>φ</mi><mo>/</mo><mo stretchy="false">(</mo>'
    '<mn>2</mn><mi>τ</mi><mi>c</mi><mo stretchy="false">)</mo></msqrt><mo>⁢</mo><msqrt><mi>α</mi>'
    "</msqrt></math>",
    "a = E[φ(z)]": f'<math><mi>a</mi><mo>=</mo><mi mathvariant="double-struck">E</mi>{_PHI_Z}</math>',
    "c = Var[φ(z)]": f"<math><mi>c</mi><mo>=</mo><mi>Var</mi>{_PHI_Z}</math>",
    "z ~ N(0, 1)": '<math><mi>z</mi><mo>∼</mo><mi mathvariant="script">N</mi><mo stretchy="false">'
    '(</mo><mn>0</mn><mo>,</mo><mn>1</mn><mo stretchy="false">)</mo></math>',
    "α = p/N": "<math><mi>α</mi><mo>=</mo><mi>p</mi><mo>/</mo><mi>N</mi></math>",
}


class _Html(str):
    """A table cell that is HTML already (math), written as it is."""


def _with_math(text: str) -> _Html:
    """``text`` escaped, with the notation of :data:`_MATH` as MathML."""
    out = _esc(text)
    for plain, math_ in _MATH.items():
        out = out.replace(_esc(plain), math_)
    return _Html(out)


def _result_row(r) -> list:
    """quantity | measured | theory (with its reference) | interval | units of one result."""
    theory = _fmt(r.theory) if r.theory is not None else "–"
    if r.reference and r.theory is not None:
        theory += f" {r.reference}"
    ci = "–" if r.interval is None else f"[{_fmt(r.interval[0])}, {_fmt(r.interval[1])}]"
    value = _fmt(r.value) if r.value is not None else "–"
    return [_with_math(r.quantity), value, _with_math(theory), ci, r.units]


def _provenance(folder: Path, summary: dict, attrs: dict, given: dict | None) -> dict:
    keys = (
        "lowdim_version",
        "version",
        "git_commit",
        "commit",
        "jax_version",
        "backend",
        "device",
        "devices",
        "device_count",
        "python",
        "numpy_version",
        "xarray_version",
        "wall_seconds",
        "compile_seconds",
        "loop_seconds",
        "created",
        "timestamp",
        "command",
        "hostname",
    )
    prov: dict = {}
    sources = [attrs, summary, summary.get("provenance") or {}]
    extra = _read_json(folder / "provenance.json")
    if isinstance(extra, dict):
        sources.append(extra)
    for src in sources:
        if isinstance(src, dict):
            for k in keys:
                if k in src and src[k] not in (None, ""):
                    prov[k] = src[k]
    if isinstance(extra, dict):
        for k, v in extra.items():
            if isinstance(v, str | int | float | bool):
                prov.setdefault(k, v)
    for k, v in (given or {}).items():
        if v not in (None, ""):
            prov.setdefault(k, v)
    return prov


def _config(folder: Path, summary: dict, attrs: dict):
    if "config" in attrs:
        try:
            return json.loads(attrs["config"])
        except (TypeError, ValueError):
            return attrs["config"]
    for k in ("config", "parameters", "params", "settings"):
        if isinstance(summary.get(k), dict):
            return summary[k]
    for name in ("config.json", "params.json", "parameters.json"):
        obj = _read_json(folder / name)
        if obj is not None:
            return obj
    for name in ("config.toml", "run.toml", "settings.toml"):
        p = folder / name
        if p.exists():
            return p.read_text()
    return None


# ----------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;
background:#fafafa;line-height:1.45}
header{background:#283593;color:#fff;padding:1.2em 2em}
header h1{margin:0;font-size:1.5em} header p{margin:.3em 0 0;opacity:.85}
main{max-width:1200px;margin:0 auto;padding:1em 2em 3em}
section{background:#fff;border:1px solid #e2e4e8;border-radius:6px;padding:.6em 1.2em;margin:1.2em 0}
h2{font-size:1.2em;border-bottom:1px solid #e2e4e8;padding-bottom:.3em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #d6d9de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f2f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0;text-align:center} figure img{max-width:100%;height:auto;border:1px solid #eee}
nav{margin:.8em 0;font-size:.9em} details.all{margin:.6em 0} math{font-size:1.05em}
figcaption{font-size:.85em;color:#555} .warn{color:#b00020;font-weight:bold}
pre{background:#f4f5f7;padding:.8em;overflow-x:auto;font-size:.85em}
.files li{font-family:ui-monospace,monospace;font-size:.9em}
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("img[data-figure]"), bad = 0;
  imgs.forEach(function (img) {
    img.setAttribute("data-natural-width", String(img.naturalWidth));
    if (!(img.complete && img.naturalWidth > 0)) {
      bad += 1;
      var note = document.createElement("p");
      note.className = "warn";
      note.textContent = "figure " + img.getAttribute("src") + " did not load";
      img.parentNode.insertBefore(note, img);
    }
  });
  document.body.setAttribute("data-figures", String(imgs.length));
  document.body.setAttribute("data-figures-failed", String(bad));
});
"""


def _esc(s) -> str:
    return html.escape(str(s), quote=True)


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    out = ["<table><thead><tr>", *(f"<th>{_esc(h)}</th>" for h in headers), "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>")
        for i, cell in enumerate(r):
            cls = ' class="num"' if i in numeric else ""
            out.append(f"<td{cls}>{cell if isinstance(cell, _Html) else _esc(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def _title(folder: Path, report_md: str | None, summary: dict, attrs: dict) -> str:
    if report_md:
        for line in report_md.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    if isinstance(summary.get("title"), str):
        return summary["title"]
    if isinstance(attrs.get("title"), str) and "neurons" in attrs:
        size = f"N = {attrs['neurons']:,}" + (f", p = {attrs['rank']}" if "rank" in attrs else "")
        return f"{attrs['title']}: {size} ({folder.resolve().name})"
    return f"lowdim run: {folder.resolve().name}"


def render_report(
    folder: str | Path, *, provenance: dict | None = None, title: str | None = None
) -> Path:
    """Write ``folder/index.html`` (atomically) from what the folder holds; return its path.

    Args:
        folder: an output folder of ``lowdim simulate``, ``demo``, ``reproduce`` or ``lecture``
            (any folder with figures, ``summary.json`` and/or ``report.md``).
        provenance: facts about the run known to the caller (e.g. ``wall_seconds``,
            ``command``); values saved with the run take precedence.
        title: page title (default: the first heading of ``report.md``, else the folder name).

    Raises:
        ConfigError: when ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{str(folder)!r} is not an output folder")
    summary = _read_json(folder / "summary.json")
    summary = summary if isinstance(summary, dict) else {}
    report_md = (folder / "report.md").read_text() if (folder / "report.md").exists() else None
    attrs = _run_attrs(folder)
    prov = _provenance(folder, summary, attrs, provenance)
    cfg = _config(folder, summary, attrs)
    figures = _figures(folder)
    title = title or _title(folder, report_md, summary, attrs)
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_esc(title)}</h1><p>{_esc(folder.resolve())} · page written {now}</p>"
        "</header><main>",
    ]

    # key numbers: the study's structured results (lowdim.results), then the top-level scalars
    rows = [(k, v) for k, v in _flatten(summary) if k not in ("files", "results")]
    results = from_json(summary.get("results"))
    top = [(k, v) for k, v in rows if "." not in k]
    parts.append(
        '<nav><a href="#numbers">key numbers</a> · <a href="#figures">figures</a> · '
        + ('<a href="#report">report</a> · ' if report_md else "")
        + '<a href="#summary">summary.json</a> · <a href="#configuration">configuration</a> · '
        '<a href="#provenance">provenance</a> · <a href="#files">files</a></nav>'
    )
    parts.append('<section id="numbers"><h2>Key numbers</h2>')
    if results:
        parts.append(
            _table(
                ["quantity", "measured", "theory", "interval", "units"],
                [_result_row(r) for r in results],
                numeric={1, 2},
            )
        )
    if top:  # every top-level number, folded away when the table above says what matters
        shown = " open" if not results else ""
        parts.append(f'<details class="all"{shown}><summary>all {len(top[:_MAX_ROWS])} ')
        parts.append("top-level numbers of summary.json</summary>")
        parts.append(_table(["quantity", "value"], [[k, _fmt(v)] for k, v in top[:_MAX_ROWS]], {1}))
        parts.append("</details>")
    if not results and not top:
        parts.append("<p>No summary.json in this folder.</p>")
    if report_md:
        parts.append(
            '<p>Every number of the run next to its theory: <a href="#report">report</a>.</p>'
        )
    parts.append("</section>")

    # figures
    parts.append('<section id="figures"><h2>Figures</h2>')
    if not figures:
        parts.append("<p>No figures in this folder.</p>")
    for rel in figures:
        src = rel.as_posix()
        svg = rel.with_suffix(".svg")
        link = f' · <a href="{_esc(svg.as_posix())}">SVG</a>' if (folder / svg).exists() else ""
        parts.append(
            f'<figure><img data-figure="1" src="{_esc(src)}" alt="{_esc(rel.stem)}" '
            f'loading="eager"><figcaption>{_esc(src)}{link}</figcaption></figure>'
        )
    parts.append("</section>")

    # report.md
    if report_md:
        parts.append('<section id="report"><h2>report.md</h2>')
        parts.append(_markdown(report_md))
        parts.append("</section>")

    # the whole summary
    if rows:
        parts.append('<section id="summary"><h2>summary.json</h2><details><summary>')
        parts.append(f"{len(rows)} entries</summary>")
        parts.append(_table(["quantity", "value"], [[k, _fmt(v)] for k, v in rows], {1}))
        parts.append("</details></section>")

    # configuration
    parts.append('<section id="configuration"><h2>Configuration</h2>')
    if isinstance(cfg, dict):
        parts.append(_table(["setting", "value"], [[k, _fmt(v)] for k, v in _flatten(cfg)], {1}))
    elif cfg is not None:
        parts.append(f"<pre>{_esc(cfg)}</pre>")
    else:
        parts.append("<p>No configuration saved in this folder.</p>")
    parts.append("</section>")

    # provenance
    parts.append('<section id="provenance"><h2>Provenance</h2>')
    if prov:
        parts.append(_table(["item", "value"], [[k, _fmt(v)] for k, v in prov.items()]))
    else:
        parts.append("<p>No provenance saved in this folder.</p>")
    parts.append("</section>")

    # files
    files = sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and p.name != "index.html" and p.is_file()
    )
    if files:
        parts.append('<section id="files"><h2>Files</h2><ul class="files">')
        for p in files:
            parts.append(
                f'<li><a href="{_esc(p.name)}">{_esc(p.name)}</a> ({_size(p.stat().st_size)})</li>'
            )
        parts.append("</ul></section>")

    parts.append(f"</main><script>{_SCRIPT}</script></body></html>\n")
    path = folder / "index.html"
    atomic_write_text(path, "\n".join(parts))
    return path


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def report_after_run(out: str | Path, *, wall_seconds: float | None = None, command=None):
    """Render ``out/index.html`` after a successful command; a failure here is reported as a
    warning on stderr and never discards the run's results. Returns the path or None."""
    import sys

    prov = {
        "lowdim_version": __version__,
        "git_commit": git_commit(),
        "wall_seconds": wall_seconds,
        "command": " ".join(command) if command else None,
    }
    try:
        import jax

        prov["backend"] = jax.default_backend()
        prov["devices"] = ", ".join(
            f"{d.platform}:{getattr(d, 'device_kind', '')}" for d in jax.devices()
        )
    except Exception:  # noqa: BLE001 — provenance is best effort, the run is already saved
        pass
    try:
        return render_report(out, provenance=prov)
    except Exception as e:  # noqa: BLE001
        print(f"warning: could not write {Path(out) / 'index.html'}: {e}", file=sys.stderr)
        return None
