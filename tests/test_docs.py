"""The documentation site builds (`mkdocs build --strict`) and holds what it promises: the CLI
reference of every command, every tutorial with its script, output and figure, the lecture pages
that exist, and the API reference."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py"))
_DOCS_PACKAGES = (
    "mkdocs",
    "material",
    "mkdocstrings",
    "mkdocstrings_handlers",
    "mkdocs_awesome_nav",
)


def test_every_example_has_a_tutorial_page_with_its_figure_and_output():
    tutorials = (DOCS / "tutorials").glob("*.md")
    text = "\n".join(p.read_text() for p in tutorials)
    for name in EXAMPLES:
        assert f'--8<-- "examples/{name}.py"' in text, name
        assert f'--8<-- "docs/tutorials/output/{name}.txt"' in text, name
        assert (DOCS / "tutorials" / "img" / f"{name}.png").stat().st_size > 10_000, name
        assert (DOCS / "tutorials" / "output" / f"{name}.txt").read_text().strip(), name
    assert not (DOCS / "tutorials" / "img" / "store").exists()


def test_cli_reference_covers_every_command():
    import typer.main

    from lowdim.cli import app, cli_reference_markdown

    md = cli_reference_markdown()
    paths = []

    def walk(cmd, path):
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    assert len(paths) > 8
    for path in paths:
        title = " ".join(["lowdim", *path])
        assert f"## `{title}`" in md and f"Usage: {title}" in md, title


def test_mkdocs_has_no_explicit_nav_for_the_lecture_pages():
    """Lecture pages written later appear by themselves: no nav: in mkdocs.yml, and the lecture
    folder is listed as a folder (all its pages) in docs/.nav.yml."""
    cfg = (ROOT / "mkdocs.yml").read_text()
    assert not re.search(r"^nav:", cfg, flags=re.M)
    assert re.search(r"^\s*- Lecture: lecture\s*$", (DOCS / ".nav.yml").read_text(), flags=re.M)
    assert not (DOCS / "lecture" / ".nav.yml").exists()


def _text_of(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in _DOCS_PACKAGES),
    reason='the docs extra is not installed: pip install -c requirements.lock ".[docs]"',
)
def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml")]
        + ["-d", str(site)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # the build must not depend on the working directory
        timeout=600,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert r.returncode == 0, r.stderr[-5000:]
    cli = (site / "cli" / "index.html").read_text()
    for cmd in ("lowdim simulate", "lowdim reproduce", "lowdim export nwb", "lowdim doctor"):
        assert f"Usage: {cmd}" in cli, cmd
    lecture = (site / "lecture" / "index.html").read_text()
    for page in (DOCS / "lecture").glob("*.md"):
        if page.name != "index.md":
            assert f'href="{page.stem}/"' in lecture, page.name  # every lecture page is linked
    for name in EXAMPLES:
        page = name.replace("_", "-")
        html = (site / "tutorials" / page / "index.html").read_text()
        text = _text_of(html)  # code is highlighted: tokens sit in <span>s
        assert "def main(" in text and f"img/{name}.png" in html, name
        assert (site / "tutorials" / "img" / f"{name}.png").exists(), name
    api = (site / "reference" / "network" / "index.html").read_text()
    assert "lowdim.network.Network" in api and ":class:" not in api
    assert (site / "paper" / "index.html").exists() and "Eq. 12" in (
        site / "paper" / "index.html"
    ).read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    "page",
    ["getting-started.md", *sorted(p.name for p in (DOCS / "concepts").glob("*.md"))],
)
def test_python_blocks_of_the_pages_run(page, tmp_path, monkeypatch):
    """Every ```python block of the page runs, in order, in one namespace (as a reader pastes
    them into one session)."""
    path = DOCS / page if (DOCS / page).exists() else DOCS / "concepts" / page
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{path.name}, block {i + 1}", "exec"), namespace)
