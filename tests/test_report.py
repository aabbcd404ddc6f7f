"""The HTML report of an output folder: content, the CLI hook, and a real browser (Chromium).

The browser test renders ``index.html`` headless, reads back the DOM after the page's load
handler ran, and checks that every figure decoded (``naturalWidth`` > 0) and that the run's numbers
are on the page. A folder with a corrupt PNG is rendered too: the same check must see it fail, so
the test can tell a broken page from a good one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lowdim.plotting import plt, savefig
from lowdim.report import _fmt, git_commit, render_report
from lowdim.results import Result, to_json

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it",
)


def _figure(path, width=4.0):
    fig, ax = plt.subplots(figsize=(width, 3))
    ax.plot(np.arange(10), np.arange(10) ** 2)
    savefig(fig, path)


def _folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    _figure(out / "panel_a.png")
    _figure(out / "panel_b.png", width=6.0)
    (out / "summary.json").write_text(
        json.dumps(
            {
                "norm_mean": 0.0077573,
                "norm_theory": 0.0079269,
                "ks_ring": 0.0089865,
                "nested": {"var": 0.52217, "var_theory": 0.5},
                "points": [{"a": 1}, {"a": 2}],
                "config": {"neurons": 1000, "rank": 10},
                "lowdim_version": "9.9.9",
                "wall_seconds": 12.5,
                "results": to_json(
                    [
                        Result("mean norm", 0.0077573, theory=0.0079269, key="norm_mean"),
                        Result(
                            "Var C",
                            0.52217,
                            theory=0.5,
                            interval=(0.51, 0.53),
                            units="s²",
                            reference="(Eq. 12)",
                        ),
                    ]
                ),
            }
        )
    )
    (out / "report.md").write_text(
        "# Test figure report\n\n| quantity | measured | theory |\n|---|---|---|\n"
        "| Var C | 0.5022 | 1/2 |\n\n<script>alert(1)</script>\n"
    )
    return out


def test_report_holds_numbers_theory_figures_config_and_provenance(tmp_path):
    out = _folder(tmp_path)
    page = render_report(out, provenance={"git_commit": "abc123", "wall_seconds": 99.0}).read_text()
    assert "<title>Test figure report</title>" in page
    # the structured results: measured next to theory, interval and units (no key-name guessing:
    # nested.var and nested.var_theory stay apart in the folded list of numbers)
    numbers = page[page.index('<section id="numbers">') : page.index('<section id="figures">')]
    row = re.search(r"<tr><td>mean norm</td><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>", numbers)
    assert row and row.groups() == (_fmt(0.0077573), _fmt(0.0079269))
    assert re.search(
        r"<td>Var C</td><td[^>]*>0.52217</td><td[^>]*>0.5 \(Eq. 12\)</td>"
        r"<td>\[0.51, 0.53\]</td><td>s²</td>",
        numbers,
    )
    assert '<details class="all">' in numbers  # the other numbers folded away
    # report.md tables become HTML tables; raw HTML in it is escaped, not executed
    assert "<td>Var C</td>" in page and "<script>alert(1)</script>" not in page
    for name in ("panel_a.png", "panel_b.png"):
        assert f'src="{name}"' in page
    assert "<td>neurons</td>" in page and "(2 entries, see summary.json)" in page
    # provenance: values saved with the run win over the caller's
    assert "abc123" in page and "9.9.9" in page
    assert re.search(r"<td>wall_seconds</td><td[^>]*>12.5</td>", page)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # written atomically


def test_paired_run_page_shows_math_units_and_key_numbers_first(tmp_path):
    """A paired run's page: Δ_N^rec as math (MathML) next to the feedforward line, then the key
    numbers with units (a in Hz, c in Hz²), and only then every number, folded away."""
    import math

    import lowdim
    from lowdim.runs import save_run

    ds = lowdim.simulate(lowdim.RunConfig(neurons=1000, rank=4, duration=0.15, seed=2))
    out = tmp_path / "run"
    save_run(ds, out, figure=False)
    summary = json.loads((out / "summary.json").read_text())
    # the feedforward line of Fig. 2, computed here from the run's own numbers
    line = math.sqrt(ds.attrs["max_phi"] / (2 * 0.01 * summary["c"])) * math.sqrt(summary["load"])
    first = summary["results"][0]
    assert first["key"] == "distance_rec" and first["value"] == summary["distance_rec"]
    assert first["theory"] == pytest.approx(line, rel=1e-12)
    page = render_report(out).read_text()
    numbers = page[page.index('<section id="numbers">') : page.index('<section id="figures">')]
    delta = '<msubsup><mi mathvariant="normal">Δ</mi><mi>N</mi><mtext>rec</mtext></msubsup>'
    theory = numbers.index(delta)
    assert "Δ_N^rec" not in page and "feedforward line <math>" in numbers
    row = re.compile(
        r"<tr><td>(.*?)</td><td class=\"num\">([^<]*)</td><td class=\"num\">(.*?)</td>"
        r"<td>([^<]*)</td><td>([^<]*)</td></tr>"
    )
    keys = {m.group(2): (m.group(1), m.group(5)) for m in row.finditer(numbers)}
    a_label, a_unit = keys[_fmt(summary["a"])]
    c_label, c_unit = keys[_fmt(summary["c"])]
    assert a_unit == "Hz" and '<mi mathvariant="double-struck">E</mi>' in a_label
    assert c_unit == "Hz²" and "<mi>Var</mi>" in c_label
    assert keys[_fmt(summary["rate_snn_hz"])][1] == "Hz"
    assert keys[_fmt(summary["neurons"])][1] == "" and keys[_fmt(summary["dt"])][1] == "s"
    # theory first, then the key numbers, then the full dump folded away (closed)
    dump = numbers.index('<details class="all">')
    assert theory < numbers.index(a_label) < dump
    assert numbers.index("<td>jax_version</td>") > dump
    assert numbers.index("</details>") > numbers.index("<td>jax_version</td>")


def test_page_without_theory_shows_its_numbers_unfolded(tmp_path):
    out = tmp_path / "lec"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"capacity": 0.138, "seeds": 4}))
    page = render_report(out).read_text()
    assert '<details class="all" open>' in page and "<td>capacity</td>" in page
    assert '<details class="all" open>' not in render_report(_folder(tmp_path)).read_text()


def test_page_reads_null_values_of_a_summary(tmp_path):
    """A summary.json written with NaN or inf (null on disk, strict JSON) renders: the null
    values are listed."""
    from lowdim.io import atomic_write_json

    out = tmp_path / "nulls"
    out.mkdir()
    atomic_write_json(
        out / "summary.json",
        {
            "slope": float("nan"),
            "slope_theory": 0.5,
            "limit": float("inf"),
            "ci": [float("nan"), 1.0],
            "nested": {"var": 0.52, "var_theory": 0.5, "gap": float("-inf")},
        },
    )
    assert json.loads((out / "summary.json").read_text())["slope"] is None
    page = render_report(out).read_text()
    for key in ("slope", "slope_theory", "limit", "ci", "nested.var", "nested.gap"):
        assert f"<td>{key}</td>" in page, key
    assert ">None</td>" in page and "NaN" not in page


def _dom(page, tmp_path):
    """The DOM of ``page`` after its load handlers ran, from headless Chromium."""
    profile = tmp_path / "chromium-profile"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def _checked(dom):
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom)]
    figures = int(re.search(r'data-figures="(\d+)"', dom).group(1))
    failed = int(re.search(r'data-figures-failed="(\d+)"', dom).group(1))
    return widths, figures, failed


@needs_chromium
def test_simulate_report_renders_in_chromium(tmp_path):
    """`lowdim simulate` writes index.html; in Chromium every figure decodes (its naturalWidth is
    the PNG's pixel width) and the summary's numbers are on the page."""
    out = tmp_path / "sim"
    r = subprocess.run(
        [sys.executable, "-m", "lowdim", "simulate", "-N", "1000", "-p", "4"]
        + ["--duration", "0.15", "--seed", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert (out / "index.html").exists()
    dom = _dom(out / "index.html", tmp_path)
    widths, figures, failed = _checked(dom)
    from matplotlib.image import imread

    assert figures == 1 and failed == 0
    assert widths == [imread(out / "traces.png").shape[1]]
    summary = json.loads((out / "summary.json").read_text())
    for key in ("distance_rec", "rate_snn_hz", "rate_rnn_hz", "a", "c"):
        assert f">{_fmt(summary[key])}<" in dom, key
    # the configuration and the provenance of the run
    assert ">input_fraction<" in dom and ">lowdim_version<" in dom and ">command<" in dom
    if git_commit() is not None:  # lowdim runs from a git checkout
        assert ">git_commit<" in dom
    assert "feedforward line" in dom  # Δ next to the Fig. 2 reference line


@needs_chromium
def test_browser_check_sees_a_broken_figure(tmp_path):
    out = _folder(tmp_path)
    (out / "panel_b.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    dom = _dom(render_report(out), tmp_path)
    widths, figures, failed = _checked(dom)
    assert figures == 2 and failed == 1 and sorted(widths)[0] == 0 and sorted(widths)[1] > 0
    assert "panel_b.png did not load" in dom
