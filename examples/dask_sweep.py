"""A sweep on a Dask cluster: the SNN–RNN distance Δ against the load α (paper Fig. 2).

Each point is one paired run (``lowdim.experiments.fig2.point``: a function of a JSON config, so
any Dask worker can run it). :func:`lowdim.sweep.run_sweep` sends the points to the scheduler,
stores each finished point at once under ``store/`` (keyed by a hash of its config) and skips
stored points when run again — an interrupted sweep resumes where it stopped.

Here the cluster is a ``distributed.LocalCluster`` on this machine. On a real cluster start
``dask scheduler`` and ``dask worker tcp://HOST:8786`` (with lowdim installed) and pass the
address instead, or let the command line do the whole figure:
``lowdim reproduce fig2 --scale medium --scheduler tcp://HOST:8786``.

The fitted slope of log Δ against log α approaches the paper's 1/2 (Eq. 13) as N grows; at the
small sizes of this example it is off (few points, small N, and a mean rate that changes with
α): ``lowdim reproduce fig2`` fits it over many seeds with confidence intervals.

Run: ``python examples/dask_sweep.py [--small] [--out DIR]`` (writes DIR/dask_sweep.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import lowdim
from lowdim.experiments.fig2 import point
from lowdim.models.feedforward import feedforward_line
from lowdim.plotting import plt, savefig
from lowdim.sweep import run_sweep


def main(small: bool = False, out: Path = Path("examples-out")) -> dict:
    from distributed import LocalCluster

    p = 5 if small else 20
    alphas = [0.1, 0.03] if small else [0.1, 0.03, 0.01, 0.003, 0.001]
    seeds = 1 if small else 2
    duration = 0.15 if small else 0.6
    configs = []
    for a in alphas:
        for s in range(seeds):
            cfg = lowdim.RunConfig(
                neurons=round(p / a), rank=p, duration=duration, burn_in=0.05, seed=s
            )
            configs.append({"kind": "recurrent", "run": cfg.to_dict()})

    # small: the scheduler and one worker in this process (threads); full: worker processes
    cluster = LocalCluster(
        n_workers=1 if small else 2,
        threads_per_worker=1,
        processes=not small,
        dashboard_address=None,
    )
    try:
        results = run_sweep(
            point, configs, out / "store", scheduler=cluster.scheduler_address, progress=not small
        )
    finally:
        cluster.close()

    alpha = np.array([c["run"]["rank"] / c["run"]["neurons"] for c in configs])
    delta = np.array([r["distance_rec"] for r in results])
    slope, _ = np.polyfit(np.log(alpha), np.log(delta), 1)
    print(f"{len(results)} points; slope of log Δ vs log α: {slope:.2f} (theory, large N: 0.5)")
    for a, d in zip(alpha, delta, strict=True):
        print(f"  α = {a:.3g}: Δ = {d:.4f}")
    cfg0 = lowdim.RunConfig()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog(alpha, delta, "o", label=f"p = {p}, paired runs")
    grid = np.geomspace(alpha.min(), alpha.max(), 50)
    ax.loglog(grid, feedforward_line(grid, cfg0.phi(), cfg0.tau), "k--", label="√(max φ/(2τc)) √α")
    ax.set(xlabel="load α = p/N", ylabel="Δ$_N^{rec}$", title=f"Dask sweep, slope {slope:.2f}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    savefig(fig, out / "dask_sweep.png")
    return {
        "slope": float(slope),
        "points": len(results),
        "finite": bool(np.all(np.isfinite(delta))),
    }


if __name__ == "__main__":  # the guard matters: Dask's worker processes import this file
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a small, fast version (for tests)")
    ap.add_argument("--out", type=Path, default=Path("examples-out"), help="output folder")
    args = ap.parse_args()
    main(args.small, args.out)
