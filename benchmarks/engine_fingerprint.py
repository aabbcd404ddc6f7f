"""Bitwise fingerprint of the engine: a small set of solves covering every path, saved or checked.

    python benchmarks/engine_fingerprint.py --save ref.npz    # on the code before a change
    python benchmarks/engine_fingerprint.py --check ref.npz   # after it: every output bitwise equal

Paths covered: rate; Poisson dense (fused products and sparse spike overlaps) and event; paired
rate + Poisson (with a distance probe); binary sync (sign and Glauber), async, continuous; one
trial and a batch of three; every input form (Drive along F with a scalar and a matrix, Drive
with explicit vectors, uniform Drive, Noise along F and explicit, MembraneNoise; u as a function
and as arrays (steps, q) and (trials, steps, q)), population masks, sources/targets;
self_coupling=True; tiled and procedural loadings, bf16 storage; the rk4 scheme; float32 and
float64. N ≤ 2048 and a few dozen steps: the whole set runs in well under a minute on a CPU.
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import lowdim
from lowdim import Along, Binary, Drive, Grid, Layout, MembraneNoise, Network, Noise, Poisson, Rate
from lowdim import probes as pr
from lowdim.procedural import Centered, Identity, NormalRows, RowSampler
from lowdim.solve import solve

N, P, T = 400, 3, 40
DT, TAU = 1e-3, 0.02
PHI = lowdim.Sigmoid() if hasattr(lowdim, "Sigmoid") else lowdim.Tanh()


def _net(kinds, inputs=(), n=N, batch=None, dtype="float32", seed=0, **kw):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, P))
    G = F + 0.5 * rng.standard_normal((n, P))
    x0 = rng.normal(0.3, 1.0, (batch, n) if batch else n)
    arrays = {} if "sampler" in kw else {"F": F, "G": G}
    pops = {"A": np.arange(n // 2), "B": np.arange(n // 3, n), "odd": np.arange(1, n, 2)}
    return Network(
        neurons=n,
        scale=3.0 / n,
        kinds=tuple(kinds),
        tau=TAU,
        inputs=tuple(inputs),
        x0=x0,
        populations=pops,
        dtype=dtype,
        trials=batch,
        readout=rng.standard_normal((n, 2)),
        **arrays,
        **kw,
    )


def _inputs(n=N, batch=None, seed=1):
    """Every input form at once."""
    rng = np.random.default_rng(seed)
    steps = (batch, T, 2) if batch else (T, 2)
    return (
        Drive(
            jnp.asarray(rng.standard_normal(steps)),
            Along(jnp.asarray(rng.standard_normal((P, 2)))),
            "A",
        ),
        Drive(lambda t: jnp.sin(50 * t) * jnp.ones(P), Along(0.7)),
        Drive(
            jnp.asarray(rng.standard_normal((T, 1))), jnp.asarray(rng.standard_normal((n, 1))), "B"
        ),
        Drive(lambda t: jnp.cos(30 * t)[None], "uniform", "odd"),
        Noise(0.4, Along(0.5), "B", time_unit=1e-3),
        Noise(0.3, jnp.asarray(rng.standard_normal((n, 2))), None),
    )


def _probes(kinds, n=N, dense=True):
    out = {
        "pot": pr.Potentials(neurons=np.arange(0, n, 7)),
        "act": pr.Activity(neurons=np.arange(0, n, 5)),
        "ov": pr.Overlaps(),
        "pops": pr.PopulationRates(populations=("all", "A", "odd")),
        "pops_avg": pr.PopulationRates(populations=("all", "B"), mode="average", start=5),
        "ro": pr.Readout(),
    }
    if any(isinstance(k, Poisson) for k in kinds):
        out["spk"] = pr.Spikes(neurons=np.arange(0, n, 3))
    if dense:
        out["proj"] = pr.Projection(basis=np.ones((n, 2)) / n)
    if len(kinds) == 2:
        out["dist"] = pr.Distance(populations=("all", "A"))
        out["ndist"] = pr.NeuronDistance(neurons=np.arange(0, n, 11))
    return out


def _sampler(seed=4):
    return RowSampler(rank=P, draw=NormalRows(P), f=Identity(), g=Centered(PHI), seed=seed)


def cases():
    """(name, thunk) for every solve of the fingerprint."""
    key = jax.random.PRNGKey(7)
    grid = Grid(DT, T)
    grid2 = Grid(DT, T, record_every=4)
    rate, poi = Rate(PHI), Poisson(PHI)
    out = []

    def add(name, net, probes, dtype="float32", **kw):
        def run():
            if dtype == "float64":
                with lowdim.float64():
                    return solve(net(), kw.pop("grid", grid), key, probes, **kw)
            return solve(net(), kw.pop("grid", grid), key, probes, **kw)

        out.append((name, run))

    for dt_, B in (("float32", None), ("float32", 3), ("float64", None)):
        ins = lambda B=B, dt_=dt_: _inputs(batch=B)  # noqa: E731
        add(
            f"rate-{dt_}-B{B}",
            lambda B=B, dt_=dt_, ins=ins: _net([rate], ins(), batch=B, dtype=dt_),
            _probes([rate]),
            dt_,
            method="dense",
        )
        add(
            f"poisson-dense-{dt_}-B{B}",
            lambda B=B, dt_=dt_, ins=ins: _net([poi], ins(), batch=B, dtype=dt_),
            _probes([poi]),
            dt_,
            method="dense",
        )
        add(
            f"paired-{dt_}-B{B}",
            lambda B=B, dt_=dt_, ins=ins: _net([rate, poi], ins(), batch=B, dtype=dt_),
            _probes([rate, poi]),
            dt_,
            method="dense",
            grid=grid2,
        )
        add(
            f"poisson-event-{dt_}-B{B}",
            lambda B=B, dt_=dt_, ins=ins: _net([poi], ins(), batch=B, dtype=dt_),
            _probes([poi], dense=False),
            dt_,
            method="event",
        )
    # membrane noise (rate: smoothed φ; Poisson: noise on h), on a population, paired
    mem = (MembraneNoise(0.5, "A", time_unit=1e-3), Drive(lambda t: jnp.ones(1), "uniform"))
    add("membrane-paired", lambda: _net([rate, poi], mem), _probes([rate, poi]), method="dense")
    add("membrane-paired-B3", lambda: _net([rate, poi], mem, batch=3), _probes([rate, poi]))
    # feedforward sources/targets, self coupling, auto method
    add(
        "ff-paired",
        lambda: _net([rate, poi], _inputs(), sources="A", targets="B"),
        _probes([rate, poi]),
    )
    add(
        "ff-event",
        lambda: _net([poi], _inputs(), sources="A", targets="B"),
        _probes([poi], dense=False),
        method="event",
    )
    add(
        "self-coupling-rate",
        lambda: _net([rate], _inputs(), self_coupling=True),
        _probes([rate]),
    )
    add(
        "self-coupling-poisson-event",
        lambda: _net([poi], _inputs(), self_coupling=True),
        _probes([poi], dense=False),
        method="event",
    )
    add("auto-poisson", lambda: _net([poi], _inputs()), _probes([poi], dense=False))
    # Poisson alone at a larger N: sparse spike overlaps (dense method), bf16 storage
    add(
        "poisson-sparse-2048",
        lambda: _net([poi], _inputs(n=2048), n=2048),
        _probes([poi], n=2048),
        method="dense",
    )
    add(
        "poisson-sparse-2048-B3",
        lambda: _net([poi], _inputs(n=2048, batch=3), n=2048, batch=3),
        _probes([poi], n=2048),
        method="dense",
    )
    add(
        "rate-bf16",
        lambda: _net([rate], _inputs()),
        _probes([rate]),
        method="dense",
        layout=Layout(storage="bfloat16"),
    )
    # tiled and procedural loadings
    add(
        "paired-tiled",
        lambda: _net([rate, poi], _inputs(n=2048), n=2048),
        _probes([rate, poi], n=2048),
        method="dense",
        layout=Layout(tile_rows=1024),
    )
    add(
        "paired-procedural",
        lambda: _net([rate, poi], _inputs(n=1000), n=1000, sampler=_sampler()),
        _probes([rate, poi], n=1000),
        method="dense",
        layout=Layout(loadings="procedural"),
    )
    add(
        "rate-stored-sampler-B3",
        lambda: _net([rate], _inputs(n=1000, batch=3), n=1000, batch=3, sampler=_sampler()),
        _probes([rate], n=1000),
        method="dense",
    )
    # rk4 (deterministic drives only)
    drives = lambda B=None: tuple(i for i in _inputs(batch=B) if isinstance(i, Drive))  # noqa: E731
    add("rate-rk4", lambda: _net([rate], drives()), _probes([rate]), grid=Grid(DT, T, scheme="rk4"))
    add(
        "rate-rk4-f64-B3",
        lambda: _net([rate], drives(3), batch=3, dtype="float64"),
        _probes([rate]),
        "float64",
        grid=Grid(DT, T, scheme="rk4"),
    )

    # binary: drives only (sync deterministic and Glauber, async, continuous)
    def bnet(kind, B=None, dtype="float32"):
        rng = np.random.default_rng(3)
        x0 = np.sign(rng.standard_normal((B, N) if B else N))
        return _net([kind], drives(B), batch=B, dtype=dtype).replace(x0=x0)

    bpro = {k: v for k, v in _probes([Binary()]).items() if k != "proj"}
    for name, kind in (
        ("sync", Binary("sync")),
        ("sync-plus", Binary("sync", zero="plus")),
        ("glauber", Binary("sync", beta=2.0)),
        ("async", Binary("async")),
        ("async-glauber", Binary("async", beta=1.5)),
        ("continuous", Binary("continuous", beta=3.0)),
    ):
        for B in (None, 3):
            add(f"binary-{name}-B{B}", lambda kind=kind, B=B: bnet(kind, B), bpro)
    add(
        "binary-glauber-f64",
        lambda: bnet(Binary("sync", beta=2.0), None, "float64"),
        bpro,
        "float64",
    )
    return out


def run_all():
    res = {}
    for name, thunk in cases():
        t0 = time.perf_counter()
        out = thunk()
        for k, v in out.items():
            res[f"{name}/{k}"] = np.asarray(v)
        print(f"{name}: {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", metavar="FILE")
    g.add_argument("--check", metavar="FILE")
    a = ap.parse_args(argv)
    res = run_all()
    if a.save:
        np.savez(a.save, **res)
        print(f"saved {len(res)} arrays to {a.save}")
        return 0
    ref = np.load(a.check)
    bad = []
    for k in sorted(set(ref.files) | set(res)):
        if k not in ref.files or k not in res:
            bad.append(f"{k}: missing on one side")
        elif ref[k].dtype != res[k].dtype or not np.array_equal(ref[k], res[k], equal_nan=True):
            d = np.abs(ref[k].astype(np.float64) - res[k].astype(np.float64)).max()
            bad.append(f"{k}: differs (max |Δ| = {d:.3g})")
    for b in bad:
        print("DIFF", b)
    print(f"{len(res)} arrays: {'all bitwise equal' if not bad else f'{len(bad)} differ'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
