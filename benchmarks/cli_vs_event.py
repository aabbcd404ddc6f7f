"""The SNN alone through the command line's code path against the direct event-driven run.

``lowdim simulate --networks snn`` (method auto) and ``simulate(cfg, method="event")``,
alternated, at N = 10⁶, p = 100 (``N=…`` in the environment to change it): seconds of loop per
simulated second, the method each ran and the mean rate (the same spikes give the same rate).

    PYTHONPATH=src python3 benchmarks/cli_vs_event.py
"""

import os

import jax

from lowdim import bench
from lowdim import connectivity as conn_mod

n, p = int(os.environ.get("N", "1000000")), 100
base = bench.base_config(p, neurons=n, duration=0.1)
conn = conn_mod.paper(n, p, base.phi(), base.seed, jax.numpy.float32)
bench._CompileTimer.install()
for rep in range(int(os.environ.get("REPEATS", "2"))):
    for kind in ("snn_event", "snn_cli"):
        r = bench._lowdim_run(kind, base, conn)
        print(
            rep,
            kind,
            r["method"],
            f"{r['seconds_per_sim_second']:.2f} s / sim s",
            f"rate {r['rate_hz']:.3f} Hz",
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
