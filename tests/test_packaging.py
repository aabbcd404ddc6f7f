"""Runtime dependencies are compatible ranges, and the lock file's exact pins satisfy them."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def test_lock_pins_satisfy_the_declared_ranges():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in ("test", "docs", "nwb"):
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    for req in reqs:
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in requirements.lock"
        assert req.specifier.contains(pins[name]), (name, str(req.specifier), pins[name])
        # a range, not a pin: a library must install beside other packages
        assert not any(s.operator == "==" for s in req.specifier), str(req)
