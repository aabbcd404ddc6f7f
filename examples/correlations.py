"""Correlation densities: how alike two neurons of a low-rank network are (paper Fig. 1B).

Pairwise correlations C_ij of the RNN potentials x_i(t) (Eq. 4) of "rec" neurons follow a limit
law that depends only on the rank p (Eq. 11, the Gegenbauer density
ρ_p(z) ∝ (1 − z²)^((p−3)/2)): for p = 2 the arcsine law (most pairs nearly identical or
opposite), for p = 4 a broad hump; for large p the correlations concentrate like N(0, 1/p)
(Fig. 1C): no two neurons are duplicates.

The correlations are streamed over the run for a random sample of pairs (memory O(pairs), never
N²); a finite duration T blurs them by a noise σ_T estimated from the two halves of the run.

Run: ``python examples/correlations.py [--small] [--out DIR]`` (writes DIR/correlations.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import lowdim
from lowdim.analysis import theory
from lowdim.analysis.correlations import (
    correlations_of_run,
    histogram,
    ks_distance,
    split_half_noise,
)
from lowdim.plotting import plt, savefig


def main(small: bool = False, out: Path = Path("examples-out")) -> dict:
    n = 1000 if small else 20_000
    duration = 1.0 if small else 4.0
    units, pairs = (200, 5000) if small else (1000, 100_000)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=False)
    result = {}
    for ax, p in zip(axes, (2, 4), strict=True):
        cfg = lowdim.RunConfig(
            neurons=n, rank=p, duration=duration, dt=1e-3, record_dt=5e-3, burn_in=0.2, seed=p
        )
        est, _ = correlations_of_run(cfg, n_units=units, n_pairs=pairs)
        C = est.correlations()
        ks, _ = ks_distance(C, lambda z, p=p: theory.gegenbauer_cdf(z, p))
        sigma_t = split_half_noise(est)
        hist = histogram(C, lambda z, p=p: theory.gegenbauer_pdf(z, p), bins=50)
        result[p] = {"ks": ks, "sigma_T": sigma_t, "var": float(C.var()), "var_theory": 1 / p}
        print(
            f"p = {p}: KS distance to Eq. 11 = {ks:.3f}; Var C = {C.var():.3f} (theory 1/p = "
            f"{1 / p:.3f}); finite-T noise σ_T = {sigma_t:.3f}"
        )
        ax.bar(hist["centres"], hist["density"], width=2 / 50, color="0.75", label="simulation")
        z = np.linspace(-0.995, 0.995, 400)
        ax.plot(z, theory.gegenbauer_pdf(z, p), "k", lw=1.5, label="Eq. 11")
        ax.set(xlabel="correlation C_ij", ylabel="density", title=f"p = {p}, N = {n:,}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    savefig(fig, out / "correlations.png")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a small, fast version (for tests)")
    ap.add_argument("--out", type=Path, default=Path("examples-out"), help="output folder")
    args = ap.parse_args()
    main(args.small, args.out)
