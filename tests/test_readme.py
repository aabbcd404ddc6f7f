"""The README's Python examples run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    """The blocks run in order in one namespace, as a reader pastes them into one session."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "run.nc").exists()


def test_readme_quick_start_matches_ci():
    ci = (README.parent / ".ci" / "run").read_text()
    test_cmd = [
        line
        for line in README.read_text().splitlines()
        if "pytest" in line and "pip install" in line
    ]
    assert test_cmd and test_cmd[0].strip() in ci
