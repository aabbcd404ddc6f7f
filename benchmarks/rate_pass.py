"""Rate pass (RNN-only step) speed and achieved memory bandwidth, next to this machine's copy
bandwidth, at N = 10⁴ … 10⁶, p = 100 (float32 loadings).

Each RNN step reads F and G once (2·N·p·4 bytes); achieved bandwidth = those bytes per step ÷
time per step (simulation loop only, compilation excluded). The copy bandwidth counts bytes read
plus bytes written by ``numpy.copyto`` of a 400 MiB array (best of 5); the read floor is the time
of one summed read of F and G (best of 5), i.e. what one pass over the loadings costs at best.

    python3 benchmarks/rate_pass.py [--sizes 10000 100000 1000000] [--duration 0.05]
"""

import argparse

import lowdim
from lowdim.bench import copy_bandwidth, read_floor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--rank", type=int, default=100)
    ap.add_argument("--duration", type=float, default=0.05, help="simulated seconds per size")
    args = ap.parse_args()
    copy = copy_bandwidth()
    print(f"copy bandwidth (read + write, numpy.copyto of 400 MiB): {copy / 1e9:.1f} GB/s")
    print(
        f"{'N':>10} {'steps/s':>9} {'ms/step':>9} {'GB/s':>7} {'÷ copy':>7} {'floor ms':>9} {'÷ floor':>8}"
    )
    for n in args.sizes:
        cfg = lowdim.RunConfig(
            neurons=n,
            rank=args.rank,
            duration=args.duration,
            networks="rnn",
            burn_in=0.0,
            record_dt=1e-3,
            noise_time_unit="tau",
        )
        ds = lowdim.simulate(cfg)
        per_step = ds.attrs["loop_seconds"] / cfg.n_steps
        nbytes = 2 * n * args.rank * 4
        floor = read_floor(n, args.rank)
        print(
            f"{n:>10} {1 / per_step:>9.1f} {per_step * 1e3:>9.2f} {nbytes / per_step / 1e9:>7.2f} "
            f"{nbytes / per_step / copy:>7.2f} {floor * 1e3:>9.2f} {per_step / floor:>8.2f}"
        )


if __name__ == "__main__":
    main()
