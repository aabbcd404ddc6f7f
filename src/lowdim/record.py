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

import json
import platform

import jax
import numpy as np
import xarray as xr

__all__ = ["build_dataset", "provenance"]


def provenance() -> dict:
    from . import __version__

    dev = jax.devices()[0]
    return {
        "lowdim_version": __version__,
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "device": f"{dev.platform}:{getattr(dev, 'device_kind', '')}",
        "device_count": jax.device_count(),
        "python": platform.python_version(),
    }


def build_dataset(model, connectivity, records: dict | None, post: dict, wall: float) -> xr.Dataset:
    """The run's dataset; ``records=None`` (streamed run) gives summary attributes only."""
    cfg = model.cfg
    spr, dt = cfg.steps_per_record, cfg.dt
    coords = {
        "neuron": ("neuron", model.rec_idx.astype(np.int64), {"long_name": "neuron index"}),
        "population": ("population", ["in", "rec"]),
    }
    if records is not None:
        n_rec_times = records["spikes"].shape[0]
        time = (np.arange(n_rec_times) + 1) * spr * dt
        coords["time"] = ("time", time, {"units": "s", "long_name": "end of record interval"})
        coords["mode"] = ("mode", np.arange(model.n_overlaps), {"long_name": "overlap index μ"})
    data = {}
    if records is None:
        pass
    elif model.rnn:
        data["x"] = (
            ("time", "neuron"),
            records["x"],
            {"long_name": "RNN potential x_i", "units": "1"},
        )
        data["rate_rnn"] = (("time", "population"), records["rate_rnn"], {"units": "Hz"})
        data["m_rnn"] = (("time", "mode"), records["m_rnn"], {"long_name": "RNN overlaps m_μ"})
    if records is not None and model.snn:
        data["h"] = (
            ("time", "neuron"),
            records["h"],
            {"long_name": "SNN potential h_i", "units": "1"},
        )
        data["rate_snn"] = (("time", "population"), records["rate_snn"], {"units": "Hz"})
        data["m_snn"] = (("time", "mode"), records["m_snn"], {"long_name": "SNN overlaps m_μ"})
        counts = records["spikes"].reshape(-1, len(model.rec_idx)).astype(np.int64)  # (steps, rec)
        step, col = np.nonzero(counts)
        reps = counts[step, col]
        data["spike_time"] = (("spike",), np.repeat(step * dt, reps), {"units": "s"})
        data["spike_neuron"] = (("spike",), np.repeat(model.rec_idx[col], reps).astype(np.int64))
    if records is not None and model.rnn and model.snn:
        data["distance"] = (
            ("time", "population"),
            records["dist"],
            {"long_name": "population mean of |h − x|", "units": "1"},
        )
    n_post = cfg.n_steps - cfg.burn_steps
    phi = model.phi
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
        "scale": float(connectivity.scale),
        "noise_time_unit": cfg.noise_time_unit,
        "wall_seconds": wall,
        **provenance(),
    }
    if model.rnn and model.snn:  # per-neuron sums are kept also when records are streamed
        data["distance_neuron"] = (
            ("neuron",),
            np.asarray(post["dist_neuron"], np.float64) / n_post,
            {"long_name": "time average of |h_i − x_i| after burn-in (every step)", "units": "1"},
        )
    if model.rnn and model.snn:
        attrs["distance_in"] = float(post["dist"][0] / n_post)
        attrs["distance_rec"] = float(post["dist"][1] / n_post)
    if model.rnn:
        attrs["rate_rnn_hz"] = _mean_rate(post["rate_rnn"], cfg, n_post)
    if model.snn:
        attrs["rate_snn_hz"] = _mean_rate(post["rate_snn"], cfg, n_post)
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _mean_rate(pop_sums, cfg, n_post) -> float:
    """Whole-network mean rate after burn-in from the per-population sums."""
    frac = cfg.n_in / cfg.neurons
    pop = np.asarray(pop_sums, dtype=np.float64) / n_post
    return float(frac * pop[0] + (1 - frac) * pop[1])


def config_of(ds: xr.Dataset) -> dict:
    """The run's configuration, parsed back from the dataset's attributes."""
    return json.loads(ds.attrs["config"])
