"""NWB export (pynwb) read back and checked by nwbinspector; Neo spike trains used by Elephant."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lowdim
from lowdim.errors import ConfigError

pynwb = pytest.importorskip("pynwb", reason='NWB export needs pip install "lowdim[nwb]"')


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A paired run of the paper's network saved as `lowdim simulate` saves it."""
    out = tmp_path_factory.mktemp("nwb") / "run"
    cfg = lowdim.RunConfig(neurons=1000, rank=4, duration=0.2, burn_in=0.05, seed=1)
    cfg = cfg.replace(record_neurons=12)
    ds = lowdim.simulate(cfg)
    out.mkdir()
    lowdim.save(ds, out / "run.nc")
    return out


def _flat(d, prefix=""):
    """{"config": {"a": {"b": 1}}} → {"config.a.b": 1}; NumPy scalars as Python numbers."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v.item() if hasattr(v, "item") else v
    return out


def _counts(ds):
    ids, n = np.unique(ds.spike_neuron.values, return_counts=True)
    return dict(zip(ids.tolist(), n.tolist(), strict=True))


def test_export_reads_back_and_passes_nwbinspector(run_dir):
    """Spike times per unit, traces and parameters equal the run's; the inspector finds no
    CRITICAL or BEST_PRACTICE_VIOLATION message."""
    from nwbinspector import Importance, inspect_nwbfile

    from lowdim.cli import main
    from lowdim.nwb import read_parameters

    with pytest.raises(SystemExit) as e:
        main(["export", "nwb", str(run_dir)])
    assert e.value.code == 0
    path = run_dir / "run.nwb"
    ds = lowdim.load(run_dir / "run.nc")
    assert ds.sizes["spike"] > 0  # the check below compares something
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        units = f.units.to_dataframe()
        assert f.units.resolution == ds.attrs["dt"]
        assert units["neuron"].tolist() == ds.neuron.values.tolist()  # one unit per neuron
        counts = _counts(ds)
        for _, row in units.iterrows():
            times = np.asarray(row["spike_times"])
            want = np.sort(ds.spike_time.values[ds.spike_neuron.values == row["neuron"]])
            assert len(times) == counts.get(row["neuron"], 0)
            np.testing.assert_array_equal(times, want)
        n_in = round(0.5 * ds.attrs["neurons"])
        assert units["population"].tolist() == [
            "in" if i < n_in else "rec" for i in units["neuron"]
        ]
        np.testing.assert_allclose(units["distance"], ds.distance_neuron.values)
        mod = f.processing["lowdim"]
        for name in ("h", "x", "m_snn", "m_rnn", "rate_snn", "rate_rnn"):
            ts = mod[name]
            np.testing.assert_array_equal(ts.data[:], ds[name].values)
            assert ts.starting_time == pytest.approx(ds.time.values[0])
            assert ts.rate == pytest.approx(1 / (ds.time.values[1] - ds.time.values[0]))
        assert mod["rate_snn"].unit == "Hz"
        params = read_parameters(f)
        # attributes holding JSON (config, layout, kinds) are stored parsed, dicts unpacked
        parsed = {
            k: json.loads(v) if isinstance(v, str) and v[:1] in "{[" else v
            for k, v in ds.attrs.items()
        }
        want = _flat(parsed)
        assert params == want
        assert params["lowdim_version"] == lowdim.__version__
        assert json.loads(f.notes) == json.loads(ds.attrs["config"])
        assert f.subject.subject_id and f.subject.species
    bad = [
        m
        for m in inspect_nwbfile(nwbfile_path=str(path))
        if m.importance in (Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION)
    ]
    assert not bad, [(m.check_function_name, m.message) for m in bad]


def test_neo_spike_trains_feed_elephant(run_dir):
    es = pytest.importorskip("elephant.statistics", reason='needs pip install "lowdim[nwb]"')
    pq = pytest.importorskip("quantities")
    ds = lowdim.load(run_dir / "run.nc")
    seg = lowdim.to_neo(ds)
    counts = _counts(ds)
    duration = ds.attrs["duration"]
    assert [st.annotations["neuron"] for st in seg.spiketrains] == ds.neuron.values.tolist()
    for st in seg.spiketrains:
        rate = es.mean_firing_rate(st).rescale(pq.Hz).magnitude
        assert rate == pytest.approx(counts.get(st.annotations["neuron"], 0) / duration)
    # the population rate of the recorded neurons, Elephant's way and lowdim's spike list
    total = es.time_histogram(seg.spiketrains, bin_size=duration * pq.s).magnitude.sum()
    assert total == ds.sizes["spike"]
    names = [a.name for a in seg.analogsignals]
    assert "h" in names and "x" in names


def test_export_errors_say_what_to_do(tmp_path):
    from lowdim.nwb import export_nwb

    with pytest.raises(ConfigError, match="no run.nc"):
        export_nwb(tmp_path)
    with pytest.raises(ConfigError, match="neither a run folder nor a .nc file"):
        export_nwb(tmp_path / "missing.nc")


def test_export_of_any_network_run(tmp_path):
    """A lowdim.run dataset (a Spikes probe, traces with a networks axis) exports too: units =
    the probe's neurons with their spike times; (time, network, neuron) traces as (time, 2·n)."""
    import jax
    from nwbinspector import Importance, inspect_nwbfile

    n = 400
    F = np.random.default_rng(0).standard_normal((n, 1))
    phi = lowdim.transfer(lambda x: 100 * jax.nn.sigmoid(4 * x), max=100.0)
    net = lowdim.Network(
        neurons=n,
        F=F,
        G=F,
        scale=2 / (n * 100),
        tau=0.02,
        x0=0.3 * F[:, 0],
        kinds=(lowdim.Rate(phi), lowdim.Poisson(phi)),
    )
    probes = {"v": lowdim.Potentials(np.arange(8)), "spikes": lowdim.Spikes(np.arange(8))}
    ds = lowdim.run(net, lowdim.Grid.of(duration=0.2, dt=1e-3, record_dt=2e-3), probes, seed=0)
    path = lowdim.to_nwb(ds, tmp_path / "any.nwb")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        units = f.units.to_dataframe()
        assert units["neuron"].tolist() == list(range(8))
        got = sum(len(t) for t in units["spike_times"])
        assert got == ds.sizes["spikes_event"] > 0
        v = f.processing["lowdim"]["v"]
        assert v.data.shape == (ds.sizes["time"], 2 * 8)
        assert "network (2)" in v.description
    bad = [
        m
        for m in inspect_nwbfile(nwbfile_path=str(path))
        if m.importance in (Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION)
    ]
    assert not bad, [(m.check_function_name, m.message) for m in bad]
