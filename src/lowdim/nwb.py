"""Runs in the formats of the neurophysiology tools: NWB (pynwb) and Neo (Elephant).

``lowdim export nwb RUN_DIR`` (:func:`export_nwb`) writes ``RUN_DIR/run.nwb`` from
``RUN_DIR/run.nc``; :func:`to_nwb` does the same for a dataset in memory. The file holds

- the **Units** table: one unit per recorded neuron, the SNN's spike times (s, start of the step in
  which the spike was counted; ``resolution`` = dt), the columns ``neuron`` (index in the network),
  ``population`` ("in"/"rec" for the paper's network) and, for a paired run, ``distance`` (time
  average of |h_i − x_i| after burn-in);
- a processing module ``lowdim`` with one ``TimeSeries`` per recorded trace, time first:
  ``h`` (SNN potentials), ``x`` (RNN potentials), ``m_snn`` / ``m_rnn`` (overlaps, Eq. 8),
  ``rate_snn`` / ``rate_rnn`` (population rates, Hz), ``distance`` (population mean of |h − x|) —
  or, for a run of :func:`lowdim.run`, one per probe — each with its units and a description that
  names its columns;
- a table ``parameters`` in that module with every attribute of the run (name, value as JSON),
  dictionaries (the configuration) unpacked as ``config.<name>``, the configuration JSON in the file's ``notes``
  and the lowdim version in ``was_generated_by`` and ``source_script``;
- a placeholder ``Subject`` (``subject_id`` "lowdim-simulation", species NCBITaxon 32630
  "synthetic construct", sex "U", age "P0D") so that the file passes the checks of the DANDI
  archive; the subject's description says it is a simulated network.

:func:`to_neo` gives a ``neo.Segment`` whose ``spiketrains`` (one per recorded neuron, in s, with
``t_stop`` = the run's duration) Elephant's statistics accept, and whose ``analogsignals`` are the
recorded traces.

Needs the ``nwb`` extra: ``pip install "lowdim[nwb]"`` (pynwb, nwbinspector, neo, elephant).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from ._version import __version__
from .errors import ConfigError
from .io import load

__all__ = ["to_nwb", "export_nwb", "to_neo", "spike_trains", "read_parameters"]

#: NCBI taxonomy term for an artificial (synthetic) construct: the honest species of a simulation.
SYNTHETIC_SPECIES = "http://purl.obolibrary.org/obo/NCBITaxon_32630"

_UNITS = {"1": "dimensionless", "": "dimensionless", "Hz": "Hz", "s": "s"}

_DESCRIPTIONS = {
    "h": "SNN membrane potentials h_i(t) of the recorded neurons (Eq. 1), sampled at the end of "
    "each record interval; columns: the units' neurons in order",
    "x": "RNN potentials x_i(t) of the recorded neurons (Eq. 2), sampled at the end of each "
    "record interval; columns: the units' neurons in order",
    "m_snn": "SNN overlaps m_mu = s sum_j G_jmu S_j (Eq. 8), averaged over each record interval",
    "m_rnn": "RNN overlaps m_mu = s sum_j G_jmu phi(x_j) (Eq. 8), averaged over each record interval",
    "rate_snn": "SNN population rates (columns: populations), averaged over each record interval",
    "rate_rnn": "RNN population rates (columns: populations), averaged over each record interval",
    "distance": "population mean of |h_i - x_i| (columns: populations), averaged over each "
    "record interval",
}


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f'this needs {module.split(".")[0]}: pip install "lowdim[nwb]"') from None


def spike_trains(ds: xr.Dataset) -> tuple[np.ndarray, list[np.ndarray]]:
    """(neuron indices, spike times per neuron in s) of a run's recorded neurons.

    Every recorded neuron gets a (possibly empty) array; times are sorted. Reads ``spike_time`` /
    ``spike_neuron`` (runs of :func:`lowdim.simulate`) or ``<probe>_time`` / ``<probe>_neuron``
    (a :class:`lowdim.Spikes` probe of :func:`lowdim.run`, single trial)."""
    pairs = [
        (t, t[: -len("_time")] + "_neuron")
        for t in ds.data_vars
        if t.endswith("_time") and t[: -len("_time")] + "_neuron" in ds.data_vars
    ]
    if not pairs:
        raise ConfigError(
            "this dataset has no spike times (spike_time / spike_neuron); record the SNN "
            "(networks = both or snn) or add a lowdim.Spikes probe"
        )
    tname, nname = pairs[0]
    if tname.replace("_time", "_trial") in ds.data_vars:
        raise ConfigError("export of runs with several trials is not supported; select one trial")
    times = np.asarray(ds[tname].values, np.float64)
    neurons = np.asarray(ds[nname].values, np.int64)
    recorded = np.asarray(ds["neuron"].values, np.int64) if "neuron" in ds.coords else None
    ids = np.unique(neurons) if recorded is None else np.union1d(recorded, neurons)
    order = np.lexsort((times, neurons))
    times, neurons = times[order], neurons[order]
    bounds = np.searchsorted(neurons, ids), np.searchsorted(neurons, ids, side="right")
    return ids, [times[a:b] for a, b in zip(*bounds, strict=True)]


def _populations(ds: xr.Dataset, ids: np.ndarray) -> list[str]:
    cfg = _config(ds)
    if cfg and "neurons" in cfg and "input_fraction" in cfg:
        n_in = int(round(cfg["input_fraction"] * cfg["neurons"]))
        return ["in" if i < n_in else "rec" for i in ids]
    return ["all"] * len(ids)


def _config(ds: xr.Dataset) -> dict:
    try:
        return json.loads(ds.attrs["config"])
    except (KeyError, TypeError, ValueError):
        return {}


def _duration(ds: xr.Dataset) -> float:
    if "duration" in ds.attrs:
        return float(ds.attrs["duration"])
    if "n_steps" in ds.attrs and "dt" in ds.attrs:
        return float(ds.attrs["n_steps"]) * float(ds.attrs["dt"])
    raise ConfigError("the dataset has no 'duration' (or 'n_steps' and 'dt') attribute")


def _plain(v):
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str) and v[:1] in "{[":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _rows(name: str, v) -> list[tuple[str, str]]:
    """(name, JSON value) rows; dictionaries are unpacked into ``name.key`` rows."""
    v = _plain(v)
    if isinstance(v, dict):
        out = []
        for k, w in v.items():
            out += _rows(f"{name}.{k}", w)
        return out
    return [(name, json.dumps(v))]


def _parameters(ds: xr.Dataset) -> list[tuple[str, str]]:
    """(name, JSON value) of every attribute of the run, dictionaries (the configuration
    included) unpacked into ``name.key`` rows."""
    rows = []
    for k, v in ds.attrs.items():
        rows += _rows(k, v)
    return rows


def read_parameters(nwbfile) -> dict:
    """The parameters table of a file written by :func:`to_nwb` as {name: value}; dictionaries
    of the run's attributes (e.g. ``config``) appear unpacked as ``config.<field>``."""
    table = nwbfile.processing["lowdim"]["parameters"]
    return {
        n: json.loads(v)
        for n, v in zip(table["parameter"].data[:], table["value"].data[:], strict=True)
    }


def _uniform_time(ds: xr.Dataset) -> tuple[float, float] | None:
    if "time" not in ds.coords or ds.sizes["time"] == 0:
        return None
    t = np.asarray(ds.time.values, np.float64)
    if len(t) == 1:
        return float(t[0]), 1.0 / float(ds.attrs.get("dt", t[0]) or 1.0)
    step = np.diff(t)
    if np.allclose(step, step[0], rtol=1e-6, atol=0):
        return float(t[0]), 1.0 / float(step[0])
    return None


def to_nwb(
    ds: xr.Dataset,
    path: str | Path,
    *,
    session_description: str | None = None,
    session_start_time: _dt.datetime | None = None,
    identifier: str | None = None,
) -> Path:
    """Write a run (``xarray.Dataset`` of :func:`lowdim.simulate` or :func:`lowdim.run`) as NWB.

    Args:
        ds: the run; spike times need ``spike_time``/``spike_neuron`` (or a ``Spikes`` probe).
        path: the ``.nwb`` file to write (atomically: a temporary name, then a rename).
        session_description: default: the run's title, N, p and duration.
        session_start_time: default: the run's ``created`` attribute, else now (UTC).
        identifier: default: a random UUID.

    Returns:
        The path written.
    """
    pynwb = _need("pynwb")
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb.file import Subject
    from pynwb.misc import Units

    path = Path(path)
    if path.suffix != ".nwb":
        raise ConfigError(f"NWB files end in .nwb; got {str(path)!r}")
    if "dt" not in ds.attrs:
        raise ConfigError("the dataset has no 'dt' attribute; is it a lowdim run?")
    dt = float(ds.attrs["dt"])
    duration = _duration(ds)
    attrs = ds.attrs
    if session_start_time is None:
        created = attrs.get("created") or attrs.get("timestamp")
        try:
            session_start_time = _dt.datetime.fromisoformat(str(created)) if created else None
        except ValueError:
            session_start_time = None
        if session_start_time is None or session_start_time.tzinfo is None:
            session_start_time = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    n = attrs.get("neurons", "?")
    size = f"N = {n}" + (f", p = {attrs['rank']}" if "rank" in attrs else "")
    title = attrs.get("title", "lowdim run")
    desc = (
        session_description or f"{title}: simulated network, {size}, {duration:g} s, dt = {dt:g} s"
    )
    nwbfile = pynwb.NWBFile(
        session_description=desc,
        identifier=identifier or str(uuid.uuid4()),
        session_start_time=session_start_time,
        experiment_description=(
            "Simulation of a low-rank recurrent network with lowdim (rate and/or Poisson spiking "
            "neurons); all times in s. Parameters: processing/lowdim/parameters."
        ),
        keywords=["low-rank network", "spiking neural network", "rate network", "simulation"],
        notes=attrs.get("config", json.dumps(dict(attrs), default=str)),
        source_script=f"lowdim {attrs.get('lowdim_version', __version__)}",
        source_script_file_name="lowdim",
        was_generated_by=[("lowdim", str(attrs.get("lowdim_version", __version__)))],
        related_publications=["doi:10.1103/PhysRevLett.134.018401"],
        subject=Subject(
            subject_id="lowdim-simulation",
            description=(
                f"Placeholder subject: this file holds a simulated network, not an animal ({size})."
            ),
            species=SYNTHETIC_SPECIES,
            sex="U",
            age="P0D",
        ),
    )

    # --- spikes
    has_spikes = any(
        v.endswith("_time") and v[:-5] + "_neuron" in ds.data_vars for v in ds.data_vars
    )
    if has_spikes:
        ids, trains = spike_trains(ds)
        units = Units(
            name="units",
            description=(
                "Recorded neurons of the spiking network; spike times in s (start of the time "
                "step of each spike), resolution = dt"
            ),
            resolution=dt,
        )
        units.add_column("neuron", "index of the neuron in the network")
        units.add_column("population", "population of the neuron ('in' receives the input)")
        dist = None
        if "distance_neuron" in ds and "neuron" in ds.coords:
            dist = dict(
                zip(
                    np.asarray(ds.neuron.values).tolist(),
                    np.asarray(ds.distance_neuron.values, np.float64).tolist(),
                    strict=True,
                )
            )
            units.add_column("distance", "time average of |h_i - x_i| after burn-in")
        pops = _populations(ds, ids)
        for i, times, pop in zip(ids.tolist(), trains, pops, strict=True):
            row = {"spike_times": times, "neuron": i, "population": pop}
            row["obs_intervals"] = [[0.0, duration]]
            if dist is not None:
                row["distance"] = float(dist.get(i, math.nan))
            units.add_unit(**row)
        nwbfile.units = units

    # --- traces
    module = nwbfile.create_processing_module(
        name="lowdim", description="Recorded traces and parameters of a lowdim run"
    )
    timing = _uniform_time(ds)
    for name, var in ds.data_vars.items():
        if not var.dims or var.dims[0] != "time" or var.size == 0:
            continue
        data = np.asarray(var.values)
        data = data.reshape(data.shape[0], -1) if data.ndim > 2 else data
        cols = ", ".join(f"{d} ({ds.sizes[d]})" for d in var.dims[1:])
        description = _DESCRIPTIONS.get(name, var.attrs.get("long_name", name))
        if cols:
            description += f"; dims after time: {cols}"
        if var.dims[1:2] == ("neuron",) and "neuron" in ds.coords:
            description += "; neurons " + json.dumps(np.asarray(ds.neuron.values).tolist()[:50])
            if ds.sizes["neuron"] > 50:
                description += " …"
        if var.dims[1:2] == ("population",) and "population" in ds.coords:
            description += "; populations " + json.dumps(
                [str(p) for p in np.asarray(ds.population.values)]
            )
        unit = _UNITS.get(str(var.attrs.get("units", "1")), str(var.attrs.get("units")))
        kw = {}
        if timing is not None:
            kw = {"starting_time": timing[0], "rate": timing[1]}
        else:
            kw = {"timestamps": np.asarray(ds.time.values, np.float64)}
        module.add(
            pynwb.TimeSeries(
                name=name,
                data=H5DataIO(data, compression="gzip", compression_opts=4),
                unit=unit,
                description=description,
                **kw,
            )
        )

    # --- parameters
    table = pynwb.core.DynamicTable(
        name="parameters",
        description="every attribute of the run and every field of its configuration "
        "(values as JSON)",
    )
    table.add_column("parameter", "parameter name (config.<field> for the configuration)")
    table.add_column("value", "parameter value as JSON")
    for k, v in _parameters(ds):
        table.add_row(parameter=k, value=v)
    module.add(table)

    def write(tmp: Path) -> None:
        with pynwb.NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)

    _atomic(path, write)
    return path


def _atomic(path: Path, write) -> None:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it to ``path``."""
    import os
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".nwb", dir=path.parent)
    except OSError as e:
        raise ConfigError(
            f"cannot write {str(path)!r} ({e.strerror}); choose another --out"
        ) from None
    os.close(fd)
    try:
        os.unlink(tmp)  # pynwb creates the file itself
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_nwb(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """``RUN_DIR/run.nc`` (or a ``.nc`` file) → NWB at ``out`` (default ``RUN_DIR/run.nwb``)."""
    src = Path(run_dir)
    if src.is_dir():
        nc = src / "run.nc"
        if not nc.exists():
            raise ConfigError(
                f"no run.nc in {str(src)!r}; export a folder written by `lowdim simulate` or "
                "`lowdim demo`, or give the path of a .nc file"
            )
        default = src / "run.nwb"
    elif src.suffix == ".nc" and src.exists():
        nc, default = src, src.with_suffix(".nwb")
    else:
        raise ConfigError(f"{str(src)!r} is neither a run folder nor a .nc file")
    ds = load(nc)
    return to_nwb(ds, Path(out) if out is not None else default)


def to_neo(ds: xr.Dataset):
    """A ``neo.Segment``: one ``SpikeTrain`` per recorded neuron, the traces as AnalogSignals.

    Spike trains are in s with ``t_start`` = 0, ``t_stop`` = the run's duration and
    ``sampling_rate`` = 1/dt; each carries the annotations ``neuron`` and ``population``.
    Analog signals (h, x, overlaps, rates: every variable whose first dimension is time) start at
    the first record time with ``sampling_period`` = the record interval.

    Example::

        import elephant.statistics as es
        seg = lowdim.to_neo(lowdim.load("run.nc"))
        rates = [es.mean_firing_rate(st) for st in seg.spiketrains]
    """
    neo = _need("neo")
    pq = _need("quantities")

    dt = float(ds.attrs["dt"])
    duration = _duration(ds)
    seg = neo.Segment(name=str(ds.attrs.get("title", "lowdim run")))
    seg.annotate(**{k: v for k, v in ds.attrs.items() if isinstance(v, str | int | float)})
    ids, trains = spike_trains(ds)
    for i, times, pop in zip(ids.tolist(), trains, _populations(ds, ids), strict=True):
        st = neo.SpikeTrain(
            times * pq.s,
            t_start=0.0 * pq.s,
            t_stop=duration * pq.s,
            sampling_rate=(1.0 / dt) * pq.Hz,
            name=f"neuron {i}",
        )
        st.annotate(neuron=i, population=pop)
        seg.spiketrains.append(st)
    timing = _uniform_time(ds)
    if timing is not None and ds.sizes.get("time", 0) > 1:
        for name, var in ds.data_vars.items():
            if not var.dims or var.dims[0] != "time":
                continue
            data = np.asarray(var.values, np.float64).reshape(ds.sizes["time"], -1)
            units = var.attrs.get("units", "1")
            unit = pq.Hz if units == "Hz" else pq.dimensionless
            sig = neo.AnalogSignal(
                data * unit,
                t_start=timing[0] * pq.s,
                sampling_period=(1.0 / timing[1]) * pq.s,
                name=name,
            )
            seg.analogsignals.append(sig)
    return seg
