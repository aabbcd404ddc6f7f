"""What a run keeps, as an ``xarray.Dataset`` with named dimensions, units and provenance.

Variables (present when the network(s) they describe were run):

- ``x`` (time, neuron), ``h`` (time, neuron): RNN and SNN potentials of the recorded neurons,
  sampled at the end of each record interval (dimensionless).
- ``m_rnn`` (time, mode), ``m_snn`` (time, mode): overlaps s Gᵀ φ(x) and s Gᵀ S (Eq. 8), averaged
  over each record interval (Hz·s = dimensionless with the paper's s = 1/(cN), units of 1/s·s).
- ``rate_rnn`` (time, population), ``rate_snn`` (time, population): population rates (Hz).
- ``distance`` (time, population): mean over the population of |h − x|, interval average.
- ``distance_neuron`` (neuron): per recorded neuron, time average of |h_i − x_i| after burn-in.
- ``spike_time``, ``spike_neuron`` (spike): spikes of the recorded neurons (start of their step).
- attrs: ``distance_rec`` (Δ_N^rec after burn-in), ``distance_in``, mean rates, a, c, the full
  config (JSON), seed, version, backend, wall time.
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

from .errors import ConfigError

__all__ = ["paper_dataset", "dataset_of_run", "provenance", "config_of", "git_commit"]

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
    from . import __version__

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


def paper_dataset(spec, prog, records: dict | None, averages: dict, wall: float) -> xr.Dataset:
    """The paper run's dataset; ``records=None`` (streamed run) gives summary attributes only.

    ``averages`` holds the time averages after burn-in (``rate_*_avg``, ``dist_avg``,
    ``dist_neuron``), one trial."""
    cfg = spec.cfg
    spr, dt = cfg.steps_per_record, cfg.dt
    rec_idx = spec.rec_idx
    coords = {
        "neuron": ("neuron", rec_idx.astype(np.int64), {"long_name": "neuron index"}),
        "population": ("population", ["in", "rec"]),
    }
    k_ov = min(cfg.record_overlaps, cfg.p)
    if records is not None:
        n_rec_times = cfg.n_records
        time = (np.arange(n_rec_times) + 1) * spr * dt
        coords["time"] = ("time", time, {"units": "s", "long_name": "end of record interval"})
        coords["mode"] = ("mode", np.arange(k_ov), {"long_name": "overlap index μ"})
    data = {}
    if records is not None and spec.rnn:
        data["x"] = (
            ("time", "neuron"),
            records["x"],
            {"long_name": "RNN potential x_i", "units": "1"},
        )
        data["rate_rnn"] = (("time", "population"), records["rate_rnn"], {"units": "Hz"})
        data["m_rnn"] = (("time", "mode"), records["m_rnn"], {"long_name": "RNN overlaps m_μ"})
    if records is not None and spec.snn:
        data["h"] = (
            ("time", "neuron"),
            records["h"],
            {"long_name": "SNN potential h_i", "units": "1"},
        )
        data["rate_snn"] = (("time", "population"), records["rate_snn"], {"units": "Hz"})
        data["m_snn"] = (("time", "mode"), records["m_snn"], {"long_name": "SNN overlaps m_μ"})
        counts = records["spikes"].reshape(-1, len(rec_idx)).astype(np.int64)  # (steps, rec)
        step, col = np.nonzero(counts)
        reps = counts[step, col]
        data["spike_time"] = (("spike",), np.repeat(step * dt, reps), {"units": "s"})
        data["spike_neuron"] = (("spike",), np.repeat(rec_idx[col], reps).astype(np.int64))
    if records is not None and spec.rnn and spec.snn:
        data["distance"] = (
            ("time", "population"),
            records["dist"],
            {"long_name": "population mean of |h − x|", "units": "1"},
        )
    phi = spec.phi
    attrs = {
        "title": "lowdim paired SNN/RNN run",
        "config": cfg.to_json(),
        "seed": cfg.seed,
        "neurons": cfg.neurons,
        "rank": cfg.p,
        "load": cfg.alpha,
        "duration": cfg.n_steps * dt,
        "dt": dt,
        "n_steps": cfg.n_steps,
        "burn_in": cfg.burn_steps * dt,
        "a": phi.a,
        "c": phi.c,
        "max_phi": phi.max,
        "scale": float(spec.scale),
        "noise_time_unit": cfg.noise_time_unit,
        "method": prog.method,
        "loadings_fingerprint": _fingerprint(spec),
        "wall_seconds": wall,
        **provenance(),
    }
    if spec.rnn and spec.snn:  # per-neuron averages are kept also when records are streamed
        data["distance_neuron"] = (
            ("neuron",),
            np.asarray(averages["dist_neuron"][0], np.float64),
            {"long_name": "time average of |h_i − x_i| after burn-in (every step)", "units": "1"},
        )
        dist = np.asarray(averages["dist_avg"][0], np.float64)
        attrs["distance_in"] = float(dist[0])
        attrs["distance_rec"] = float(dist[1])
    if spec.rnn:
        attrs["rate_rnn_hz"] = _mean_rate(averages["rate_rnn_avg"][0], cfg)
    if spec.snn:
        attrs["rate_snn_hz"] = _mean_rate(averages["rate_snn_avg"][0], cfg)
    return xr.Dataset(data, coords=coords, attrs=attrs)


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


def _fingerprint(spec) -> str:
    """The loadings' fingerprint: the config's (set by simulate), else hashed here."""
    fp = spec.cfg.loadings_fingerprint
    if spec.connectivity is not None and fp == "paper":
        from .checkpoint import fingerprint

        fp = fingerprint(spec.connectivity)
    return fp


def _mean_rate(pop_avg, cfg) -> float:
    """Whole-network mean rate after burn-in from the per-population averages."""
    frac = cfg.n_in / cfg.neurons
    pop = np.asarray(pop_avg, dtype=np.float64)
    return float(frac * pop[0] + (1 - frac) * pop[1])


def config_of(ds: xr.Dataset) -> dict:
    """The run's configuration, parsed back from the dataset's attributes: a dict that
    :func:`lowdim.simulate` and :meth:`lowdim.RunConfig.from_dict` accept. A run made with
    custom loadings carries their fingerprint (``loadings_fingerprint``), so that its config
    runs again only with the same loadings."""
    if not isinstance(ds, xr.Dataset):
        raise ConfigError(f"config_of needs an xarray.Dataset, got {type(ds).__name__}")
    text = ds.attrs.get("config")
    if not isinstance(text, str):
        raise ConfigError(
            "this dataset holds no lowdim run configuration (no 'config' attribute); config_of "
            "reads datasets made by lowdim.simulate (or lowdim.load of their run.nc)"
        )
    try:
        cfg = json.loads(text)
    except ValueError:
        cfg = None
    if not isinstance(cfg, dict):
        raise ConfigError("the dataset's 'config' attribute is not a JSON table of settings")
    fp = ds.attrs.get("loadings_fingerprint", "paper")
    if isinstance(fp, str) and fp != "paper":
        cfg.setdefault("loadings_fingerprint", fp)
    return cfg
