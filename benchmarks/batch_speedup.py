"""Trials as columns: the paper's paired network (SNN + RNN, the paper's probes) with B = 1 and
B trials in one run, N = 10⁵, p = 100 by default; time per step and per trial, side by side.

The two are alternated ``--repeats`` times in one process (after one warm-up run each, which
compiles), so that a change in the machine's speed during the run affects both; the speedup is
time per trial at B = 1 ÷ time per trial at B, from the best and from the median repetition
(``lowdim bench`` reports the same ratio from one timed run as ``batch_speedup_b16``).

    python3 benchmarks/batch_speedup.py [--neurons 100000] [--trials 16] [--repeats 3]
"""

import argparse
import statistics

from lowdim.bench import _batch_run, base_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--rank", type=int, default=100)
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--steps", type=int, default=300, help="steps of 0.1 ms per timed run")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.trials < 2 or args.repeats < 1 or args.steps < 10 or args.steps % 10:
        ap.error("--trials must be ≥ 2, --repeats ≥ 1, --steps a multiple of 10 (≥ 10)")
    cfg = base_config(args.rank, neurons=args.neurons, duration=args.steps * 1e-4)
    sizes = (1, args.trials)
    for b in sizes:  # compile and warm up
        _batch_run(cfg, b)
    per_trial = {b: [] for b in sizes}
    for _ in range(args.repeats):
        for b in sizes:
            r = _batch_run(cfg, b)
            per_trial[b].append(r["loop_seconds"] / args.steps / b * 1e3)
    print(f"N = {args.neurons:,}, p = {args.rank}, {args.steps} steps per run, paired SNN + RNN")
    print(f"{'B':>4} {'ms/step':>9} {'ms/step/trial (each repetition)':>40}")
    for b in sizes:
        reps = " ".join(f"{x:.2f}" for x in per_trial[b])
        print(f"{b:>4} {min(per_trial[b]) * b:9.2f} {reps:>40}")
    best = min(per_trial[1]) / min(per_trial[args.trials])
    med = statistics.median(per_trial[1]) / statistics.median(per_trial[args.trials])
    print(f"speedup per trial, B = {args.trials} vs B = 1: {best:.2f} (best), {med:.2f} (median)")


if __name__ == "__main__":
    main()
