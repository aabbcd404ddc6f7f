"""A paired run's folder: what ``lowdim simulate`` (and ``demo``) write, and what
``lowdim rerun`` reads back to make the same run again.

A run folder holds:

- ``run.nc``: every record, with the full configuration (``config``, JSON), the loadings'
  fingerprint, the method and the provenance (lowdim version, git commit, UTC time, command
  line, versions of Python, JAX, jaxlib, NumPy and xarray, backend and device) as attributes;
- ``summary.json``: the summary numbers and the same provenance;
- ``traces.png`` (unless ``--no-figure``);
- ``loadings.npz`` (F, G, scale) when the run used custom loadings (a connectivity passed to
  :func:`lowdim.simulate`); the paper's loadings are regenerated from the seed instead;
- ``provenance.json``.

:func:`rerun` runs the saved configuration again with the same loadings (checked against the
saved SHA-256 fingerprint), method, candidate buffer and recorded neurons: on the same device
kind and library versions the records are bitwise the same (:func:`compare` says which are not).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np

from . import checkpoint
from .connectivity import from_arrays
from .errors import ConfigError
from .io import atomic_write_json, load, save, staged_output
from .paper import config_of, simulate
from .results import Result, to_json

__all__ = ["summary_of", "write_run", "save_run", "read_run", "rerun", "compare", "SUMMARY_KEYS"]

SUMMARY_KEYS = (
    "neurons",
    "rank",
    "load",
    "duration",
    "dt",
    "seed",
    "sigma",
    "noise_time_unit",
    "a",
    "c",
    "distance_rec",
    "distance_in",
    "rate_snn_hz",
    "rate_rnn_hz",
    "wall_seconds",
    "session_wall_seconds",
    "compile_seconds",
    "loop_seconds",
    "method",
    "loadings_fingerprint",
    # provenance (lowdim.record.provenance)
    "lowdim_version",
    "git_commit",
    "created_utc",
    "command",
    "python",
    "jax_version",
    "jaxlib_version",
    "numpy_version",
    "xarray_version",
    "backend",
    "device",
    "device_count",
)
#: the attributes that are the run's results (compared by :func:`compare`)
RESULT_ATTRS = ("distance_rec", "distance_in", "rate_snn_hz", "rate_rnn_hz")


def summary_of(ds) -> dict:
    """The summary.json content of a paired run (SI units), with its provenance."""
    cfg = config_of(ds)
    out = {k: ds.attrs[k] for k in SUMMARY_KEYS if k in ds.attrs}
    out["sigma"] = cfg["sigma"]
    out["networks"] = cfg["networks"]
    for k, v in list(out.items()):
        if hasattr(v, "item"):
            out[k] = v.item()
    out["results"] = to_json(results_of(out, ds.attrs, cfg))
    return out


#: (summary key, quantity, units) of a paired run's key numbers, in this order
_KEY_NUMBERS = (
    ("neurons", "N, neurons", ""),
    ("rank", "p, rank (patterns)", ""),
    ("load", "α = p/N, load", ""),
    ("duration", "duration", "s"),
    ("dt", "time step dt", "s"),
    ("a", "a = E[φ(z)], mean of the transfer φ over z ~ N(0, 1)", "Hz"),
    ("c", "c = Var[φ(z)], its variance", "Hz²"),
    ("distance_in", "Δ_N^in, time-averaged |h − x| of the in neurons", ""),
    ("rate_snn_hz", "SNN mean rate", "Hz"),
    ("rate_rnn_hz", "RNN mean rate", "Hz"),
    ("wall_seconds", "wall time", "s"),
)


def results_of(summary: dict, attrs, cfg: dict) -> list[Result]:
    """The key numbers of a run of the paper's network: Δ_N^rec next to the feedforward line
    √(max φ/(2τc)) √α of Fig. 2 (an O(√α) reference, not an equality), then N, p, α, a, c,
    Δ_N^in, the rates and the wall time with their units."""
    out = []
    if "distance_rec" in summary and "max_phi" in attrs:
        tau, c, load = float(cfg.get("tau", 0.01)), float(summary["c"]), float(summary["load"])
        line = math.sqrt(float(attrs["max_phi"]) / (2 * tau * c)) * math.sqrt(load)
        out.append(
            Result(
                "Δ_N^rec, time-averaged |h − x| of the rec neurons",
                summary["distance_rec"],
                theory=line,
                key="distance_rec",
                reference="(feedforward line √(max φ/(2τc)) √α, Fig. 2)",
            )
        )
    session = summary.get("session_wall_seconds")
    resumed = session is not None and session < summary.get("wall_seconds", session)
    for key, quantity, units in _KEY_NUMBERS:
        if summary.get(key) is not None:
            quantity += " in total" if key == "wall_seconds" and resumed else ""
            out.append(Result(quantity, summary[key], units=units, key=key))
    if resumed:  # a run resumed from its checkpoint
        out.append(
            Result("wall time of this session", session, units="s", key="session_wall_seconds")
        )
    return out


def _save_loadings(path: Path, connectivity) -> None:
    F, G = np.asarray(connectivity.F), np.asarray(connectivity.G)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(
                f,
                F=F.astype(np.float64) if F.dtype.kind == "V" or F.dtype.itemsize < 4 else F,
                G=G.astype(np.float64) if G.dtype.kind == "V" or G.dtype.itemsize < 4 else G,
                scale=np.float64(connectivity.scale),
                dtype=np.asarray(str(F.dtype)),
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_loadings(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            F, G, scale, dtype = z["F"], z["G"], float(z["scale"]), str(z["dtype"])
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise ConfigError(f"cannot read the run's loadings {str(path)!r} ({e})") from None
    return from_arrays(F, G, scale, dtype=dtype)  # in the run's dtype (float64 stays float64)


def write_run(folder: str | Path, ds, connectivity=None, figure: bool = True) -> dict:
    """Write ``run.nc``, ``summary.json``, ``traces.png`` (``figure``) and, for custom
    loadings, ``loadings.npz`` into the existing folder ``folder`` (each file atomically);
    return the summary. Use :func:`save_run` to write a whole folder atomically."""
    folder = Path(folder)
    summary = summary_of(ds)
    fp = ds.attrs.get("loadings_fingerprint", "paper")
    if fp != "paper":
        if connectivity is None:
            raise ConfigError(
                "this run used custom loadings: pass them (connectivity=…) so that its folder "
                "holds them (loadings.npz) and can be rerun"
            )
        if checkpoint.fingerprint(connectivity) != fp:
            raise ConfigError(
                "the connectivity passed is not the one this run used (fingerprints differ)"
            )
        _save_loadings(folder / "loadings.npz", connectivity)
    save(ds, folder / "run.nc")
    if figure:
        # deferred: matplotlib costs start-up time (import lowdim loads this module)
        from .plotting import paired_traces, savefig

        savefig(paired_traces(ds), folder / "traces.png")
    atomic_write_json(folder / "summary.json", summary)
    return summary


def save_run(
    ds, folder: str | Path, connectivity=None, *, figure: bool = True, overwrite: bool = True
) -> dict:
    """Write a run's folder (see the module docstring) atomically: the folder holds exactly
    this run's files afterwards, or is unchanged on error. ``connectivity``: the custom loadings
    the run used (required then, so that :func:`rerun` can use them again)."""
    with staged_output(folder, overwrite=overwrite, flag="folder") as tmp:
        summary = write_run(tmp, ds, connectivity, figure)
    return summary


def read_run(folder: str | Path) -> tuple:
    """(dataset, config dict, connectivity or None, simulate options) of a run folder; the
    loadings are checked against the run's fingerprint. Raises ConfigError, saying what is
    missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"no run folder at {str(folder)!r}; give the --out folder of a run")
    path = folder / "run.nc"
    if not path.is_file():
        raise ConfigError(
            f"{str(folder)!r} has no run.nc; rerun reads the folders written by `lowdim "
            "simulate`, `lowdim demo` or lowdim.save_run"
        )
    ds = load(path)
    cfg = config_of(ds)
    fp = ds.attrs.get("loadings_fingerprint", "paper")
    conn = None
    if fp != "paper":
        lpath = folder / "loadings.npz"
        if not lpath.is_file():
            raise ConfigError(
                f"this run used custom loadings (fingerprint {fp[:12]}…) but {str(lpath)!r} is "
                "missing; save the run with lowdim.save_run(ds, folder, connectivity) to keep them"
            )
        conn = _load_loadings(lpath)
        if checkpoint.fingerprint(conn) != fp:
            raise ConfigError(
                f"{str(lpath)!r} does not hold the loadings this run used (fingerprint "
                f"{checkpoint.fingerprint(conn)[:12]}… instead of {fp[:12]}…)"
            )
    options = {"method": str(ds.attrs.get("method", "dense"))}
    if "block" in ds.attrs:
        options["block"] = int(ds.attrs["block"])
    if "neuron" in ds.coords:
        options["record_indices"] = np.asarray(ds["neuron"].values, dtype=np.int64)
    return ds, cfg, conn, options


def rerun(folder: str | Path, *, progress: bool = False, **simulate_options):
    """Run the saved run in ``folder`` again (same configuration, loadings, method and recorded
    neurons); return the new dataset. ``simulate_options`` (e.g. ``checkpoint``) are passed on."""
    _, cfg, conn, options = read_run(folder)
    return simulate(cfg, conn, progress=progress, **options, **simulate_options)


def compare(old, new) -> list[str]:
    """The records and result attributes in which two runs differ (empty: bitwise equal)."""
    diffs = []
    for name in sorted(set(old.data_vars) | set(new.data_vars)):
        if name not in old.data_vars or name not in new.data_vars:
            diffs.append(f"{name} (only in {'the rerun' if name in new.data_vars else 'the run'})")
            continue
        a, b = np.asarray(old[name].values), np.asarray(new[name].values)
        if a.shape != b.shape:
            diffs.append(f"{name} (shape {a.shape} vs {b.shape})")
            continue
        try:
            same = np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        except TypeError:
            same = np.array_equal(a, b)
        if not same:
            if a.dtype.kind in "fc" and a.size:
                d = float(np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))))
                diffs.append(f"{name} (max |Δ| = {d:.3g})")
            else:
                diffs.append(name)
    for k in RESULT_ATTRS:
        va, vb = old.attrs.get(k), new.attrs.get(k)
        if va is None and vb is None:
            continue
        if va is None or vb is None or not np.array_equal(va, vb, equal_nan=True):
            diffs.append(f"{k} ({va} vs {vb})")
    return diffs
