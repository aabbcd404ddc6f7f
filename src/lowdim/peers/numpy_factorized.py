"""Plain NumPy reference of the paper's factorized SNN / RNN step (MODEL.md §3), float32.

Every step updates all N potentials (dense per-step scheme, as lowdim's dense engine):

    m   = s Gᵀ a                       (a = spike counts n, or rates φ(x) dt)
    h  ← e h + (F m − γ a)/τ + (σ/(τ√p)) F ΔB [in-neurons],   ΔB ~ N(0, dt·u I_p)
    n_j ~ Poisson(φ(h_j) dt) by thinning at rate max φ (exact; as lowdim.dynamics)

Independent of lowdim (NumPy only), so it doubles as a slow second implementation. Run as a
script it prints one JSON line with the timing of the simulation loop (setup excluded):

    python3 -m lowdim.peers.numpy_factorized --neurons 10000 --rank 100 --duration 0.1 \
        --networks snn
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np


def phi(x, tau=0.01, b=2.0):
    return (np.tanh(x - b) + 1.0) / (2.0 * tau)


def gauss_moments(tau=0.01, b=2.0, n=201):
    """a = E φ(z), c = Var φ(z), z ~ N(0, 1), by Gauss–Hermite quadrature."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / math.sqrt(2.0 * math.pi)
    f = phi(z, tau, b)
    a = float(np.sum(w * f))
    return a, float(np.sum(w * (f - a) ** 2))


def simulate(
    neurons=10_000,
    rank=100,
    duration=0.1,
    dt=1e-4,
    tau=0.01,
    sigma=0.5,
    noise_unit=None,
    networks="snn",
    seed=0,
):
    """Run the factorized network; return dict(loop_seconds, steps, mean rates, ...)."""
    noise_unit = tau if noise_unit is None else noise_unit
    rng = np.random.default_rng(seed)
    n, p = neurons, rank
    a, c = gauss_moments(tau)
    F = rng.standard_normal((n, p), dtype=np.float32)
    G = (phi(F, tau) - a).astype(np.float32)
    s = np.float32(1.0 / (c * n))
    gamma = (s * np.einsum("ip,ip->i", F, G)).astype(np.float32)
    n_in = n // 2
    e = np.float32(math.exp(-dt / tau))
    rmax = 1.0 / tau
    steps = int(round(duration / dt))
    noise_scale = sigma * math.sqrt(dt * noise_unit) / math.sqrt(p)
    snn, rnn = networks in ("snn", "both"), networks in ("rnn", "both")
    h = np.zeros(n, np.float32)
    x = np.zeros(n, np.float32)
    spikes = 0
    rate_sum = 0.0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(steps):
        cols = []
        if snn:
            K = rng.poisson(n * rmax * dt)
            idx = rng.integers(0, n, K)
            keep = rng.random(K) * rmax < phi(h[idx], tau)
            counts = np.bincount(idx[keep], minlength=n).astype(np.float32)
            spikes += int(keep.sum())
            cols.append(counts)
        if rnn:
            r = phi(x, tau).astype(np.float32)
            rate_sum += float(r.mean())
            cols.append(r * np.float32(dt))
        A = np.stack(cols, axis=1)
        M = s * (G.T @ A)  # one read of G
        dB = (rng.standard_normal(p) * noise_scale).astype(np.float32)
        R = F @ np.concatenate([M, dB[:, None]], axis=1)  # one read of F
        noise = R[:, -1] / tau
        col = 0
        if snn:
            h *= e
            h += (R[:, col] - gamma * counts) / tau
            h[:n_in] += noise[:n_in]
            col += 1
        if rnn:
            x *= e
            x += (R[:, col] - gamma * r * dt) / tau
            x[:n_in] += noise[:n_in]
    loop = time.perf_counter() - t0
    return {
        "tool": "numpy",
        "neurons": n,
        "rank": p,
        "networks": networks,
        "duration": steps * dt,
        "steps": steps,
        "loop_seconds": loop,
        "loop_cpu_seconds": time.process_time() - c0,
        "snn_rate_hz": spikes / (n * steps * dt) if snn else None,
        "rnn_rate_hz": rate_sum / steps if rnn else None,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=10_000)
    ap.add_argument("--rank", type=int, default=100)
    ap.add_argument("--duration", type=float, default=0.1)
    ap.add_argument("--dt", type=float, default=1e-4)
    ap.add_argument("--networks", choices=["snn", "rnn", "both"], default="snn")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    out = simulate(
        args.neurons, args.rank, args.duration, args.dt, networks=args.networks, seed=args.seed
    )
    out["process_seconds"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
