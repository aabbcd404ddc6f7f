"""What a run keeps, as an ``xarray.Dataset`` with named dimensions, units and provenance.

:func:`dataset_of_run` is the one dataset builder: one variable per probe, named as the probe,
with dims ``(trial?, time, network?, *dims)`` (averages without ``time``), units and long names
as attributes; a spike probe ``NAME`` as lists ``NAME_time``, ``NAME_neuron`` (``NAME_trial``)
along ``NAME_event``. Attributes: grid, kinds, method, layout, timings and :func:`provenance`.
A front end adds its own attributes (the paper's: :mod:`lowdim.paper.dataset`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import platform
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import jax
import numpy as np
import xarray as xr

from ._version import __version__

__all__ = ["dataset_of_run", "provenance", "git_commit"]

#: the command line of this process, set by ``lowdim.cli.main`` (None: taken from sys.argv)
COMMAND: str | None = None


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the lowdim checkout this code runs from (``-dirty`` appended when tracked
    files under ``src/`` differ from it), or "none" when lowdim is an installed package."""
    here = Path(__file__).resolve().parent
    try:
        top = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        lines = top.stdout.split()
        if top.returncode != 0 or len(lines) != 2 or Path(lines[0]) / "src" / "lowdim" != here:
            return "none"
        dirty = subprocess.run(
            ["git", "-C", lines[0], "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "none"
    return lines[1] + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def command_line() -> str:
    """The command that made this run: ``lowdim …`` from the command line, else the Python
    invocation (``python script.py …``)."""
    if COMMAND:
        return COMMAND
    return shlex.join(["python", *sys.argv]) if sys.argv and sys.argv[0] else "python"


def provenance() -> dict:
    """What a result records about the code, machine and command that made it (strings and
    integers, so that they fit NetCDF attributes): lowdim version and git commit (when run from
    a checkout), UTC time, the command line, versions of Python, JAX, jaxlib, NumPy and
    xarray, the backend and the first device."""
    dev = jax.devices()[0]
    try:
        import jaxlib

        jaxlib_version = jaxlib.__version__
    except (ImportError, AttributeError):  # pragma: no cover
        jaxlib_version = "unknown"
    return {
        "lowdim_version": __version__,
        "git_commit": git_commit(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command_line(),
        "python": platform.python_version(),
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib_version,
        "numpy_version": np.__version__,
        "xarray_version": xr.__version__,
        "backend": jax.default_backend(),
        "device": f"{dev.platform}:{getattr(dev, 'device_kind', '')}",
        "device_count": jax.device_count(),
        "os": platform.platform(),
    }


def dataset_of_run(prog, traces: dict | None, averages: dict, timing: dict) -> xr.Dataset:
    """A generic run's dataset: one variable per probe with named dims and units."""
    g = prog.grid
    data, coords = {}, {}
    lead_t = ["trial"] if prog.batched else []
    kinds = [k.name for k in prog.kinds]
    if prog.batched:
        coords["trial"] = ("trial", np.arange(prog.B))
    if prog.K > 1:
        coords["network"] = ("network", kinds)
    if traces:
        coords["time"] = (
            "time",
            (np.arange(g.records) + 1) * g.record_every * g.dt,
            {"units": "s", "long_name": "end of record interval"},
        )
    for name, probe in prog.probes.items():
        dims = probe.dims(prog)
        for d, c in ({} if probe.mode == "steps" else probe.coords(prog)).items():
            if d in coords and len(coords[d][1]) != len(c):
                d2 = f"{name}_{d}"
                dims = tuple(d2 if x == d else x for x in dims)
                coords[d2] = (d2, np.asarray(c))
            else:
                coords.setdefault(d, (d, np.asarray(c)))
        attrs = {"units": probe.units, "long_name": probe.long_name, "mode": probe.mode}
        kind = ["network"] if probe.has_kind_axis() and prog.K > 1 else []
        if probe.mode == "average":
            attrs["start_step"] = probe.start
            value = np.asarray(prog.arrange(name, averages[name], trace=False))
            data[name] = (tuple(lead_t + kind) + tuple(dims), value, attrs)
        elif traces is None:
            continue
        elif probe.mode == "steps":
            value = np.asarray(prog.arrange(name, traces[name], trace=True))  # (trial?, steps, n)
            idx = np.asarray(probe.coords(prog)["neuron"])
            value = value if prog.batched else value[None]
            trial, step, col = np.nonzero(value)
            reps = value[trial, step, col].astype(np.int64)
            data[f"{name}_time"] = (
                (f"{name}_event",),
                np.repeat(step * g.dt, reps),
                {"units": "s", "long_name": "spike time (start of its step)"},
            )
            data[f"{name}_neuron"] = (
                (f"{name}_event",),
                np.repeat(idx[col], reps).astype(np.int64),
            )
            if prog.batched:
                data[f"{name}_trial"] = (
                    (f"{name}_event",),
                    np.repeat(trial, reps).astype(np.int64),
                )
        else:
            value = np.asarray(prog.arrange(name, traces[name], trace=True))
            data[name] = (tuple(lead_t + ["time"] + kind) + tuple(dims), value, attrs)
    attrs = {
        "title": "lowdim run",
        "neurons": prog.n,
        "rank": prog.p,
        "kinds": json.dumps(kinds),
        "dt": g.dt,
        "n_steps": g.steps,
        "record_every": g.record_every,
        "scheme": g.scheme,
        "duration": g.duration,
        "tau": prog.tau,
        "dtype": np.dtype(prog.dtype).name,
        "method": prog.method,
        "layout": json.dumps(dataclasses.asdict(prog.layout)),
        "trials": prog.B if prog.batched else 0,
        **{k: float(v) for k, v in timing.items()},
        **provenance(),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
