"""mkdocs hooks: parts of pages made from the project itself, so they cannot drift.

- ``<!-- lowdim:quickstart -->``: the README's quick-start commands (its first ``bash`` block);
- ``<!-- lowdim:cli-reference -->``: the ``--help`` of every command (lowdim.cli);
- ``<!-- lowdim:lecture-pages -->``: a link to every page in ``docs/lecture/`` (title = its first
  heading) and the ``lowdim lecture`` systems of the registry.

Docstrings written with Sphinx roles (``:class:`Network```) are shown as plain code.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    if not blocks:
        raise RuntimeError("README.md has no ```bash block for the quick start")
    return f"```bash\n{blocks[0]}```"


def _title(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("-", " ").capitalize()


def _lecture_pages(page_src: str) -> str:
    from lowdim import experiments

    folder = ROOT / "docs" / "lecture"
    pages = sorted(p for p in folder.glob("*.md") if p.name != "index.md")
    lines = []
    if pages:
        lines.append("| page | command |")
        lines.append("|---|---|")
        names = {v.rsplit(".", 1)[-1]: k for k, v in experiments.LECTURES.items()}
        for p in pages:
            cmd = p.stem if p.stem in experiments.LECTURES else names.get(p.stem.replace("-", "_"))
            cell = f"`lowdim lecture {cmd}`" if cmd else "—"
            lines.append(f"| [{_title(p)}]({p.name}) | {cell} |")
    else:
        lines.append("No lecture page yet.")
    have = experiments.available(experiments.LECTURES)
    lines.append("")
    lines.append(
        "Systems of `lowdim lecture` in this version: "
        + (", ".join(f"`{n}`" for n in have) if have else "none yet")
        + " (`lowdim lecture list` prints those of your installation)."
    )
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if "<!-- lowdim:quickstart -->" in markdown:
        markdown = markdown.replace("<!-- lowdim:quickstart -->", _quickstart())
    if "<!-- lowdim:cli-reference -->" in markdown:
        from lowdim.cli import cli_reference_markdown

        markdown = markdown.replace("<!-- lowdim:cli-reference -->", cli_reference_markdown())
    if "<!-- lowdim:lecture-pages -->" in markdown:
        markdown = markdown.replace(
            "<!-- lowdim:lecture-pages -->", _lecture_pages(page.file.src_uri)
        )
    return markdown


_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|obj|exc):<code>~?([^<]*)</code>")


def on_page_content(html: str, page, config, files) -> str:
    return _ROLE.sub(r"<code>\1</code>", html)
