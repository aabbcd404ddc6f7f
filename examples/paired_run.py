"""A paired run: the paper's spiking network (SNN) and its rate network (RNN) side by side.

Both networks share the loadings ξ (Eq. 7), the initial state, the input Brownian motions B(t)
(Eq. 9, to the "in" half of the neurons) and the time grid; they differ only in what neurons
send: spikes (Eq. 1) or rates φ(x) (Eq. 2). The run records potentials h_i (SNN) and x_i (RNN) of
a few "rec" neurons, the overlaps m_μ of both networks and the distance
Δ_N^rec = mean over rec neurons of the time average of |h_i − x_i| (after a burn-in).

The paper's result (Eq. 13, Fig. 2): Δ shrinks like √α with the load α = p/N. Here the two
networks' traces lie on top of each other, and Δ sits below the feedforward line √(max φ/(2τc))
√α of Fig. 2.

Run: ``python examples/paired_run.py [--small] [--out DIR]`` (writes DIR/paired_run.png).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

import lowdim
from lowdim.plotting import paired_traces, plt, savefig


def main(small: bool = False, out: Path = Path("examples-out")) -> dict:
    if small:
        cfg = lowdim.RunConfig(neurons=2000, rank=5, duration=0.2, burn_in=0.05, seed=0)
    else:
        cfg = lowdim.RunConfig(neurons=20_000, rank=20, duration=1.0, seed=0)
    ds = lowdim.simulate(cfg, progress=not small)  # an xarray.Dataset, SI units

    a = ds.attrs
    line = math.sqrt(a["max_phi"] / (2 * cfg.tau * a["c"])) * math.sqrt(a["load"])
    print(f"N = {a['neurons']:,}, p = {a['rank']}, α = {a['load']:.2g}")
    print(f"Δ_N^rec = {a['distance_rec']:.4f}  (feedforward line of Fig. 2: {line:.4f})")
    print(f"mean rates: SNN {a['rate_snn_hz']:.2f} Hz, RNN {a['rate_rnn_hz']:.2f} Hz")
    # the overlaps m_μ (Eq. 8) carry the low-dimensional dynamics: compare SNN and RNN
    m_snn, m_rnn = ds.m_snn.values, ds.m_rnn.values  # (time, mode)
    r = np.corrcoef(m_snn[:, :3].ravel(), m_rnn[:, :3].ravel())[0, 1]
    print(f"correlation of the first three overlaps, SNN vs RNN: {r:.3f}")

    out.mkdir(parents=True, exist_ok=True)
    savefig(paired_traces(ds), out / "paired_run.png")  # the paper's Fig. 1E
    fig, ax = plt.subplots(figsize=(8, 3))
    t = ds.time.values
    for mu in range(3):
        ax.plot(t, m_rnn[:, mu], color=f"C{mu}", lw=1.5, label=f"m_{mu + 1} RNN")
        ax.plot(t, m_snn[:, mu], color=f"C{mu}", lw=0.6, alpha=0.7, label=f"m_{mu + 1} SNN")
    ax.set(xlabel="time (s)", ylabel="overlap m_μ(t)", title="overlaps of both networks")
    ax.legend(ncol=3, fontsize=8)
    fig.tight_layout()
    savefig(fig, out / "paired_overlaps.png")
    return {
        "distance_rec": float(a["distance_rec"]),
        "feedforward_line": line,
        "overlap_correlation": float(r),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a small, fast version (for tests)")
    ap.add_argument("--out", type=Path, default=Path("examples-out"), help="output folder")
    args = ap.parse_args()
    main(args.small, args.out)
