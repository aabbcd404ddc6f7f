"""The paper run's dataset: the engine's dataset (:func:`lowdim.record.dataset_of_run`) with the
paper's attributes, and its configuration read back.

The probes of :func:`~lowdim.paper.paper_network` are named as the variables, so the engine's
builder gives the paper's names directly:

- ``x`` (time, neuron), ``h`` (time, neuron): RNN and SNN potentials of the recorded neurons,
  sampled at the end of each record interval (dimensionless).
- ``m_rnn`` (time, mode), ``m_snn`` (time, mode): overlaps s Gᵀ φ(x) and s Gᵀ S (Eq. 8), averaged
  over each record interval.
- ``rate_rnn`` (time, population), ``rate_snn`` (time, population): population rates (Hz).
- ``distance`` (time, population): mean over the population of |h − x|, interval average.
- ``distance_neuron`` (neuron): per recorded neuron, time average of |h_i − x_i| after burn-in.
- ``spike_time``, ``spike_neuron`` (spike): spikes of the recorded neurons (start of their step).
- attrs: ``distance_rec`` (Δ_N^rec after burn-in), ``distance_in``, mean rates ``rate_*_hz``,
  a, c, the full config (JSON), seed, the loadings' fingerprint, and the engine's attributes
  (grid, method, layout, timings, provenance).

The time averages after burn-in (probes ``*_avg``) become attributes; the spike list's dimension
is ``spike`` (the engine's ``spike_event``), as in the run.nc files of every lowdim version.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..errors import ConfigError

__all__ = ["paper_dataset", "config_of"]


def paper_dataset(spec, ds: xr.Dataset, block: int | None = None) -> xr.Dataset:
    """The paper run's dataset from the engine's dataset ``ds`` of ``spec`` (a
    :class:`~lowdim.paper.PaperSpec`); ``block``: the event method's candidate buffer, kept for
    a rerun."""
    cfg, phi = spec.cfg, spec.phi
    averages = [v for v in ("rate_rnn_avg", "rate_snn_avg", "distance_avg") if v in ds]
    attrs = {
        "title": "lowdim paired SNN/RNN run"
        if ds.attrs.get("method", spec.method) == "dense"
        else "lowdim event-driven SNN run",
        "config": cfg.to_json(),
        "seed": cfg.seed,
        "load": cfg.alpha,
        "burn_in": cfg.burn_steps * cfg.dt,
        "a": phi.a,
        "c": phi.c,
        "max_phi": phi.max,
        "scale": float(spec.scale),
        "noise_time_unit": cfg.noise_time_unit,
        "loadings_fingerprint": cfg.loadings_fingerprint,
    }
    if "distance_avg" in ds:
        dist = np.asarray(ds["distance_avg"].values, np.float64)
        attrs["distance_in"], attrs["distance_rec"] = float(dist[0]), float(dist[1])
    for net in ("rnn", "snn"):
        if f"rate_{net}_avg" in ds:
            attrs[f"rate_{net}_hz"] = _mean_rate(ds[f"rate_{net}_avg"].values, cfg)
    if block is not None:
        attrs["block"] = block
    ds = ds.drop_vars(averages)
    if "network" in ds.coords and not any("network" in v.dims for v in ds.data_vars.values()):
        ds = ds.drop_vars("network")  # each variable is one network's (x: RNN, h: SNN)
    if "spike_event" in ds.dims:
        ds = ds.rename_dims(spike_event="spike")
    if "distance_neuron" in ds:
        ds["distance_neuron"] = ds["distance_neuron"].astype(np.float64)
    ds = ds.assign_coords(
        neuron=("neuron", np.asarray(spec.rec_idx, np.int64), {"long_name": "neuron index"})
    )
    ds.attrs.update(attrs)
    return ds


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
