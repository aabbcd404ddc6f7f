"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[tuple[int, str]]:
    """(line number, code) of every ```python block of the README."""
    text = README.read_text()
    return [
        (text[: m.start()].count("\n") + 2, m.group(1))
        for m in re.finditer(r"```python\n(.*?)```", text, flags=re.S)
    ]


def test_readme_has_its_python_blocks():
    assert len(_blocks()) >= 4


@pytest.mark.parametrize("line, code", _blocks(), ids=[f"line{ln}" for ln, _ in _blocks()])
def test_readme_python_block_runs_alone(line, code, tmp_path, monkeypatch):
    """Each block runs on its own, in a fresh namespace, as a reader pastes it alone into a new
    session (its imports and random generator are its own)."""
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})
    if "lowdim.save(" in code:
        assert (tmp_path / "run.nc").exists()


def test_readme_quick_start_matches_ci():
    ci = (README.parent / ".ci" / "run").read_text()
    test_cmd = [
        line
        for line in README.read_text().splitlines()
        if "pytest" in line and "pip install" in line
    ]
    assert test_cmd and test_cmd[0].strip() in ci
