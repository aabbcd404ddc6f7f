"""Live figures: atomic, throttled redraws; the Fig. 2 sweep's Δ(α) picture fills in point by point."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from lowdim.live import LiveFigure, LivePoints


def test_live_points_redraw_atomically_and_throttled(tmp_path):
    live = LivePoints(tmp_path / "live.png", log=True, reference=(np.sqrt, "√x"), every=3600)
    live.add("a", 1e-3, 0.03)  # first point: drawn at once
    assert (tmp_path / "live.png").exists() and live.figure.redraws == 1
    first = (tmp_path / "live.png").read_bytes()
    live.add("a", 1e-2, 0.1)
    live.add("b", 1e-2, 0.2)
    assert live.figure.redraws == 1 and (tmp_path / "live.png").read_bytes() == first
    assert live.flush() and live.figure.redraws == 2 and len(live) == 3
    img = imread(tmp_path / "live.png")
    assert img.ndim == 3 and img.shape[0] > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.png"]  # no temporary left


def test_a_failing_drawing_never_stops_the_run(tmp_path, capsys):
    def draw():
        raise ValueError("boom")

    live = LiveFigure(tmp_path / "x.png", draw)
    assert live.update() is False and live.update(force=True) is False
    assert "not updated: boom" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_fig2_live_figure_starts_from_the_store_and_adds_each_point(tmp_path):
    """Points already in the sweep store are drawn at the start; each finished point adds one
    point per curve it belongs to (a config shared by two curves counts for both)."""
    from lowdim.experiments import fig2
    from lowdim.sweep import SweepStore, point_key

    prm = fig2._params(
        "small",
        {
            "p_values": [4],
            "alphas": [0.1, 0.04],
            "cube_neurons": [64],
            "seeds": 1,
            "membrane_seeds": 1,
            "ff_seeds": 1,
            "ff_p": 4,
            "membrane_p": 4,
        },
    )
    pts = fig2.build_points(prm)
    keys = [point_key(fig2.point, p["config"], fig2.STORE_SALT) for p in pts]
    store = SweepStore(tmp_path / "store")
    done = keys[0]
    store.put(done, {"key": done, "result": {"distance_rec": 0.1}})
    live, on_point = fig2._live_figure(pts, tmp_path, enabled=True)
    assert live.path == tmp_path.parent / f"{tmp_path.name}-live.png"
    assert live.path.exists() and len(live) == keys.count(done)
    other = next(k for k in keys if k != done)
    on_point(0, {"key": other, "result": {"distance_rec": 0.2}})
    assert len(live) == keys.count(done) + keys.count(other)
    assert fig2._live_figure(pts, tmp_path, enabled=False) == (None, None)
    with pytest.raises(KeyError):
        on_point(1, {"key": other, "result": {}})


def test_live_traces_follow_a_simulation_chunk_by_chunk(tmp_path):
    """simulate's on_chunk feeds LiveTraces: every chunk is kept in order (the records it holds
    equal the run's), a file appears only after start_after seconds."""
    import lowdim
    from lowdim.live import LiveTraces

    cfg = lowdim.RunConfig(neurons=1000, rank=4, duration=0.2, burn_in=0.05, seed=3)
    rec_dt = cfg.steps_per_record * cfg.dt
    live = LiveTraces(tmp_path / "a.png", rec_dt, cfg.duration, n=3, every=0, start_after=0)
    late = LiveTraces(tmp_path / "b.png", rec_dt, cfg.duration, start_after=3600)

    def both(rec, first):
        live(rec, first)
        late(rec, first)

    ds = lowdim.simulate(cfg, on_chunk=both, checkpoint_steps=500)  # 4 chunks of 500 steps
    assert live.records == ds.sizes["time"] and live.figure.redraws == 4
    np.testing.assert_array_equal(np.concatenate(live.chunks["h"]), ds.h.values[:, :3])
    np.testing.assert_array_equal(np.concatenate(live.chunks["distance"]), ds.distance.values)
    assert (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()


def test_live_traces_file_is_removed_however_the_block_ends(tmp_path):
    """``with LiveTraces(...)``: the file goes on success, on an error and on Ctrl-C (lowdim
    simulate's OUT-live.png; the signal paths are run for real in test_faults)."""
    from lowdim.live import LiveTraces

    rec = {"h": np.zeros((4, 3)), "x": np.ones((4, 3)), "dist": np.zeros((4, 2))}
    for exc in (None, RuntimeError, KeyboardInterrupt):
        live = LiveTraces(tmp_path / "live.png", 1e-3, 0.01, every=0, start_after=0)
        try:
            with live:
                live(rec, 0)
                assert live.path.exists()
                if exc is not None:
                    raise exc
        except (RuntimeError, KeyboardInterrupt):
            pass
        assert not live.path.exists(), exc
