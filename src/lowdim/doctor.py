"""``lowdim doctor``: is this installation ready, and what to install for the rest.

Each check returns a :class:`Check` (name, status "ok" | "warn" | "missing" | "fail", what was
found, and what to do). :func:`run_checks` runs them all; the command prints them as a table and
exits with 1 when a check *fails* (lowdim itself cannot run), 0 otherwise — missing optional
extras are reported with the command that installs them, not as failures.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ._version import __version__

__all__ = ["Check", "run_checks", "EXTRAS"]


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "missing" | "fail"
    found: str
    advice: str = ""


#: optional package → (extra that installs it, what lowdim uses it for)
EXTRAS = {
    "dask": ("cluster", "sweeps on a Dask cluster (reproduce fig2 --scheduler)"),
    "distributed": ("cluster", "sweeps on a Dask cluster (reproduce fig2 --scheduler)"),
    "brian2": ("bench", "the Brian2 peer of `lowdim bench`"),
    "pynwb": ("nwb", "`lowdim export nwb`"),
    "nwbinspector": ("nwb", "checking exported NWB files"),
    "neo": ("nwb", "lowdim.to_neo (spike trains for Elephant)"),
    "elephant": ("nwb", "spike-train statistics on lowdim.to_neo output"),
    "mkdocs": ("docs", "building the documentation (mkdocs build)"),
    "material": ("docs", "the documentation theme (mkdocs-material)"),
    "mkdocstrings": ("docs", "the API reference of the documentation"),
    "optax": (None, "training task networks"),
}


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> Check:
    v = sys.version_info
    ok = v >= (3, 11)
    return Check(
        "python",
        "ok" if ok else "fail",
        f"{sys.version.split()[0]} ({sys.executable})",
        "" if ok else "lowdim needs Python ≥ 3.11",
    )


def check_jax() -> list[Check]:
    try:
        import jax
    except Exception as e:  # noqa: BLE001 — report any import failure
        return [
            Check(
                "jax",
                "fail",
                f"cannot import jax: {e}",
                'python3 -m pip install -c requirements.lock "jax>=0.10.2,<0.11"',
            )
        ]
    out = []
    backend = jax.default_backend()
    devs = jax.devices()
    kinds = ", ".join(f"{d.platform}:{getattr(d, 'device_kind', '?')}" for d in devs)
    out.append(Check("jax", "ok", f"jax {jax.__version__}, backend {backend}"))
    gpu_advice = ""
    if backend == "cpu":
        gpu_advice = 'CPU only (fine for everything; on a machine with an NVIDIA GPU: pip install "lowdim[gpu]")'
    out.append(Check("devices", "ok", f"{len(devs)}: {kinds}", gpu_advice))
    mem = []
    for d in devs:
        try:
            stats = d.memory_stats() or {}
        except Exception:  # noqa: BLE001 — not every backend reports memory
            stats = {}
        if "bytes_limit" in stats:
            mem.append(f"{d.platform}:{d.id} {stats['bytes_limit'] / 2**30:.1f} GiB")
    if mem:
        out.append(Check("device memory", "ok", ", ".join(mem)))
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags:
        out.append(Check("XLA_FLAGS", "ok", flags, "host CPU split into several devices"))
    return out


def check_memory() -> Check:
    try:
        import psutil

        vm = psutil.virtual_memory()
        total, avail = vm.total, vm.available
    except ImportError:
        try:
            pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
            avail_pages = os.sysconf("SC_AVPHYS_PAGES")
            total, avail = pages * size, avail_pages * size
        except (ValueError, OSError, AttributeError):
            return Check("memory", "warn", "unknown", "could not read the machine's memory")
    gib = 2**30
    # one paired run at N neurons, rank p: loadings F, G (2·N·p·4 bytes in float32) dominate
    n_max = avail * 0.5 / (2 * 100 * 4)
    status = "ok" if avail > 1 * gib else "warn"
    return Check(
        "memory",
        status,
        f"{avail / gib:.1f} GiB available of {total / gib:.1f} GiB",
        f"room for N ≈ {n_max:.2g} neurons at p = 100 with stored float32 loadings "
        "(--loadings procedural needs O(N) memory)"
        if status == "ok"
        else "less than 1 GiB free: close other programs or use --loadings procedural",
    )


def check_cpus() -> Check:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        n = os.cpu_count() or 1
    return Check("CPUs", "ok", f"{n} usable", "sweeps use one process per CPU (--workers K)")


def check_write(folder: str | Path = ".") -> Check:
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".lowdim-doctor-"):
            pass
        free = shutil.disk_usage(folder).free
    except OSError as e:
        return Check(
            "write access",
            "fail",
            f"cannot write in {str(folder.resolve())!r}: {e.strerror}",
            "run lowdim from a writable folder or pass --out DIR",
        )
    status = "ok" if free > 2**30 else "warn"
    return Check(
        "write access",
        status,
        f"{folder.resolve()} ({free / 2**30:.1f} GiB free)",
        "" if status == "ok" else "less than 1 GiB free on this disk: results may not fit",
    )


def check_extras() -> list[Check]:
    out = []
    for mod, (extra, use) in EXTRAS.items():
        dist = {"material": "mkdocs-material"}.get(mod, mod)
        found = importlib.util.find_spec(mod) is not None
        if found:
            out.append(Check(mod, "ok", f"{dist} {_version(dist) or ''}".strip(), use))
        else:
            how = (
                f'python3 -m pip install -c requirements.lock "lowdim[{extra}]"'
                if extra
                else f"python3 -m pip install -c requirements.lock {dist}"
            )
            out.append(Check(mod, "missing", "not installed", f"for {use}: {how}"))
    return out


def check_chromium() -> Check:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return Check("chromium", "ok", path, "views and tests the HTML report of each run")
    return Check(
        "chromium",
        "missing",
        "not found",
        "only the test of the HTML reports needs it (the reports open in any browser): "
        "apt-get install chromium",
    )


def run_checks(folder: str | Path = ".") -> list[Check]:
    """Every check, in the order the command prints them."""
    checks = [Check("lowdim", "ok", f"{__version__} ({Path(__file__).resolve().parent})")]
    checks.append(check_python())
    checks += check_jax()
    checks.append(check_cpus())
    checks.append(check_memory())
    checks.append(check_write(folder))
    checks += check_extras()
    checks.append(check_chromium())
    return checks
