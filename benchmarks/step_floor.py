"""Paired step vs its floor: the paper's paired network (SNN + RNN) at B = 1 and B trials as
columns, N = 10⁵, p = 100 by default; time per step against the floor of the bytes it must move
and the flops its products must do, both rates measured in the same run.

Per step and per B:

- bytes: one read of F and G (2 N p · 4) plus one read and one write of every kind's (N, B)
  state (2 · K N B · 4);
- flops: the products as the step does them, 2 N p × (columns of Gᵀ A + columns of F·[M, C])
  (the spiking kind's overlaps come from the spikes' rows of G when the run has many columns,
  ``Program.sparse_spikes``: no G columns for it then);
- the machine: copy bandwidth (bytes read + written per second) of an array as large as F and G
  together (NumPy ``copyto``, best of 5), and the GEMM rate: XLA's dot and NumPy's matmul
  (OpenBLAS) at the step's product shapes, alternated, best of the repetitions; the faster one
  is the machine's rate;
- floor = max(bytes / bandwidth, flops / GEMM rate) (a roofline: the reads could overlap the
  arithmetic), the sum of the two beside it; ratio = measured ÷ floor.

The step times come from ``lowdim.run`` of the paper's network (its probes, records every 1 ms,
as in ``lowdim bench``), B = 1 and B alternated ``--repeats`` times after one warm-up each. The
1-minute load average is printed with each measurement: on a shared machine, rerun when it is
high.

    python3 benchmarks/step_floor.py [--neurons 100000] [--rank 100] [--trials 16] [--repeats 3]
"""

import argparse
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from lowdim.bench import _batch_run, base_config, copy_bandwidth
from lowdim.paper import paper_network
from lowdim.solve import Program


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def columns(cfg, trials: int) -> tuple[int, int, int]:
    """(kinds, columns of Gᵀ A, columns of F·[M, C]) of the paired step with ``trials``."""
    spec = paper_network(cfg)
    net = spec.net.replace(trials=trials if trials > 1 else None)
    prog = Program(net, spec.grid, spec.probes, layout=spec.layout)
    B = prog.B
    sparse = prog.sparse_spikes
    g_cols = sum(B for k in prog.kinds if not (sparse and k.spiking))
    g_cols = max(g_cols, 2) if g_cols else 0  # a lone column is padded with a zero column
    f_cols = g_cols + (B if sparse else 0) + B * len(prog.along)
    return prog.K, g_cols, f_cols


def gemm_rates(n: int, p: int, shapes: list[tuple[str, int]], repeats: int) -> list[dict]:
    """XLA's dot and NumPy's matmul at each (kind, columns), alternated; best and median
    seconds. kind "GtA": (p, n)·(n, q) (G stored transposed); "FB": (n, p)·(p, q)."""
    rng = np.random.default_rng(0)
    F = rng.standard_normal((n, p), dtype=np.float32)
    G = np.ascontiguousarray(rng.standard_normal((n, p), dtype=np.float32).T)
    Fj, Gj = jnp.asarray(F), jnp.asarray(G)
    dot = jax.jit(lambda a, b: a @ b)
    rows = []
    for kind, q in shapes:
        big, bigj = (G, Gj) if kind == "GtA" else (F, Fj)
        small = rng.standard_normal((n, q) if kind == "GtA" else (p, q), dtype=np.float32)
        smallj = jnp.asarray(small)
        out = np.empty((big.shape[0], q), np.float32)
        fns = {
            "xla": lambda a=bigj, b=smallj: dot(a, b).block_until_ready(),
            "numpy": lambda a=big, b=small, o=out: np.matmul(a, b, out=o),
        }
        times = {k: [] for k in fns}
        for f in fns.values():
            f()
        for _ in range(repeats):
            for k, f in fns.items():
                t = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t)
        flops = 2 * n * p * q
        for k, ts in times.items():
            rows.append(
                {
                    "kind": kind,
                    "q": q,
                    "impl": k,
                    "best": min(ts),
                    "median": statistics.median(ts),
                    "gflops": flops / min(ts) / 1e9,
                }
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--rank", type=int, default=100)
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--steps", type=int, default=200, help="steps of 0.1 ms per timed run")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.trials < 2 or args.repeats < 1 or args.steps < 10 or args.steps % 10:
        ap.error("--trials must be ≥ 2, --repeats ≥ 1, --steps a multiple of 10 (≥ 10)")
    n, p, bt = args.neurons, args.rank, args.trials
    cfg = base_config(p, neurons=n, duration=args.steps * 1e-4)  # as in lowdim bench
    sizes = (1, bt)
    shape = {b: columns(cfg, b) for b in sizes}

    # the step, B = 1 and B = trials alternated
    for b in sizes:
        _batch_run(cfg, b)  # compile and warm up
    ms = {b: [] for b in sizes}
    loads = []
    for _ in range(args.repeats):
        for b in sizes:
            r = _batch_run(cfg, b)
            ms[b].append(r["loop_seconds"] / args.steps * 1e3)
            loads.append(load())

    # the machine, same run
    fg_bytes = 2 * n * p * 4
    bw = copy_bandwidth(nbytes=fg_bytes)
    bw_dram = copy_bandwidth()
    gshapes = sorted(
        {("GtA", shape[b][1]) for b in sizes if shape[b][1]}
        | {("FB", shape[b][2]) for b in sizes}
        | {("GtA", 2 * bt), ("FB", 2 * bt)}
    )
    gemm = gemm_rates(n, p, gshapes, max(5, args.repeats))
    compute_bound = [g for g in gemm if g["q"] >= 16]
    rate = max(g["gflops"] for g in compute_bound) * 1e9

    print(f"N = {n:,}, p = {p}, paired SNN + RNN, {args.steps} steps per run, load {loads}")
    print(
        f"copy bandwidth: {bw / 1e9:.1f} GB/s (array of {fg_bytes / 1e6:.0f} MB, as F and G), "
        f"{bw_dram / 1e9:.1f} GB/s (400 MiB); GEMM rate: {rate / 1e9:.0f} GFlop/s (best below)"
    )
    print(f"{'product':>8} {'cols':>5} {'impl':>6} {'best ms':>8} {'median ms':>10} {'GFlop/s':>8}")
    for g in gemm:
        print(
            f"{g['kind']:>8} {g['q']:>5} {g['impl']:>6} {g['best'] * 1e3:8.2f} "
            f"{g['median'] * 1e3:10.2f} {g['gflops']:8.1f}"
        )
    print(
        f"{'B':>3} {'ms/step best':>12} {'median':>7} {'MB/step':>8} {'GFlop/step':>10} "
        f"{'t_mem ms':>8} {'t_flop ms':>9} {'floor ms':>8} {'sum ms':>7} {'best/floor':>10}"
    )
    for b in sizes:
        kinds, gc, fc = shape[b]
        nbytes = fg_bytes + 2 * kinds * n * b * 4
        flops = 2 * n * p * (gc + fc)
        t_mem, t_flop = nbytes / bw, flops / rate
        floor = max(t_mem, t_flop)
        best = min(ms[b])
        print(
            f"{b:>3} {best:12.2f} {statistics.median(ms[b]):7.2f} {nbytes / 1e6:8.1f} "
            f"{flops / 1e9:10.3f} {t_mem * 1e3:8.2f} {t_flop * 1e3:9.2f} {floor * 1e3:8.2f} "
            f"{(t_mem + t_flop) * 1e3:7.2f} {best / (floor * 1e3):10.2f}"
        )
    best = min(ms[1]) / (min(ms[bt]) / bt)
    med = statistics.median(ms[1]) / (statistics.median(ms[bt]) / bt)
    print(f"speedup per trial, B = {bt} vs B = 1: {best:.2f} (best), {med:.2f} (median)")


if __name__ == "__main__":
    main()
