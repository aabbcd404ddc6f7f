"""The paper's SNN (Eqs. 1, 7, 9) in Brian2, in two formulations, for side-by-side timing.

- ``dense``: an explicit N×N weight matrix J_ij = (1/(cN)) Σ_μ ξ_iμ (φ(ξ_jμ) − a) (i ≠ j) as
  Brian2 synapses; a spike of j makes h_i jump by J_ij/τ. The input (Eq. 9) is F κ_in with the
  p-dimensional Ornstein–Uhlenbeck κ_in of a small "modes" group, summed into the 'in' neurons.
- ``overlap``: the factorized model (Eq. 8) — spikes of j add s G_j/τ to the p mode variables
  κ_in, κ_rec (N·p event-driven synapses) and every neuron reads h_i = F_i·κ_pop − γ_i r_i through
  a summed variable (N·p synapses evaluated every step); r_i is the neuron's own filtered spikes.

Spikes: ``rand() < φ(h) dt`` (Bernoulli per step; with max φ dt = 0.01 the probability of two
spikes in a step, which lowdim counts, is < 5·10⁻⁵). Input noise with B in units of τ.
cpp_standalone (C++ code generated, compiled with g++ and run); ``loop_seconds`` is the
simulation loop as Brian2 measures it (``device._last_run_time``), ``process_seconds`` the whole
script (building the network, code generation, compilation, loading synapses, running).

    python3 -m lowdim.peers.brian2_snn --formulation dense --neurons 10000 --duration 0.1
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time

import numpy as np


def main(argv=None):
    t_start = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--formulation", choices=["dense", "overlap"], default="dense")
    ap.add_argument("--neurons", type=int, default=10_000)
    ap.add_argument("--rank", type=int, default=100)
    ap.add_argument("--duration", type=float, default=0.1)
    ap.add_argument("--dt", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: Brian2 default)")
    args = ap.parse_args(argv)

    import brian2 as b2

    workdir = tempfile.mkdtemp(prefix="lowdim_brian2_")
    b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
    if args.threads:
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    b2.prefs.logging.file_log = False
    b2.defaultclock.dt = args.dt * b2.second
    b2.seed(args.seed)

    n, p = args.neurons, args.rank
    n_in = n // 2
    tau_s, b, sigma = 0.01, 2.0, 0.5
    rng = np.random.default_rng(args.seed)
    F = rng.standard_normal((n, p))
    phi_np = lambda x: (np.tanh(x - b) + 1.0) / (2 * tau_s)  # noqa: E731
    z, wq = np.polynomial.hermite_e.hermegauss(201)
    wq = wq / math.sqrt(2 * math.pi)
    a = float(np.sum(wq * phi_np(z)))
    c = float(np.sum(wq * (phi_np(z) - a) ** 2))
    G = phi_np(F) - a
    s = 1.0 / (c * n)

    ns = {
        "tau": tau_s * b2.second,
        "bb": b,
        "sig": sigma,
        "u": tau_s * b2.second,  # B in units of τ
        "sqp": math.sqrt(p),
    }
    modes_eqs = "dkin/dt = -kin/tau + sig/(tau*sqp)*sqrt(u)*xi : 1\n"
    if args.formulation == "overlap":
        modes_eqs += "dkrec/dt = -krec/tau : 1\n"
    modes = b2.NeuronGroup(p, modes_eqs, method="euler", namespace=ns, name="modes")

    if args.formulation == "dense":
        neurons = b2.NeuronGroup(
            n,
            """dv/dt = -v/tau : 1
               hin : 1
               h = v + hin : 1""",
            threshold="rand() < (tanh(h - bb) + 1)/(2*tau)*dt",
            method="exact",
            namespace=ns,
            name="neurons",
        )
        inp = b2.Synapses(
            modes, neurons, "f : 1\nhin_post = f*kin_pre : 1 (summed)", name="input", namespace=ns
        )
        ii, jj = np.meshgrid(np.arange(p), np.arange(n_in), indexing="ij")
        inp.connect(i=ii.ravel(), j=jj.ravel())
        inp.f = F[jj.ravel(), ii.ravel()]
        W = s * (F @ G.T)  # W[i, j]: from j to i
        np.fill_diagonal(W, 0.0)
        pre, post = np.nonzero(~np.eye(n, dtype=bool).T)  # all pairs j → i, j ≠ i
        rec = b2.Synapses(neurons, neurons, "w : second", on_pre="v_post += w/tau", namespace=ns)
        rec.connect(i=pre.astype(np.int32), j=post.astype(np.int32))
        rec.w = W[post, pre] * b2.second
        del W, pre, post
    else:
        gamma = s * np.sum(F * G, axis=1)
        neurons = b2.NeuronGroup(
            n,
            """dtr/dt = -tr/tau : Hz
               hk : 1
               isin : 1 (constant)
               gamma : second (constant)
               h = hk - gamma*tr : 1""",
            threshold="rand() < (tanh(h - bb) + 1)/(2*tau)*dt",
            reset="tr += 1/tau",
            method="exact",
            namespace=ns,
            name="neurons",
        )
        neurons.isin = (np.arange(n) < n_in).astype(float)
        neurons.gamma = gamma * b2.second
        jj, ii = np.meshgrid(np.arange(n), np.arange(p), indexing="ij")
        out = b2.Synapses(
            neurons,
            modes,
            "g : second",
            on_pre="kin_post += g/tau\nkrec_post += g/tau",
            namespace=ns,
            name="overlaps",
        )
        out.connect(i=jj.ravel(), j=ii.ravel())
        out.g = s * G[jj.ravel(), ii.ravel()] * b2.second
        back = b2.Synapses(
            modes,
            neurons,
            "f : 1\nhk_post = f*(kin_pre*isin_post + krec_pre*(1 - isin_post)) : 1 (summed)",
            name="readout",
        )
        back.connect(i=ii.ravel(), j=jj.ravel())
        back.f = F[jj.ravel(), ii.ravel()]
    mon = b2.SpikeMonitor(neurons, record=False)
    b2.run(args.duration * b2.second)
    t_build = time.perf_counter()
    b2.device.build(directory=workdir, compile=True, run=True, debug=False)
    t_end = time.perf_counter()
    out = {
        "tool": "brian2",
        "formulation": args.formulation,
        "neurons": n,
        "rank": p,
        "duration": args.duration,
        "steps": int(round(args.duration / args.dt)),
        "loop_seconds": float(b2.device._last_run_time),
        "build_run_seconds": t_end - t_build,
        "process_seconds": t_end - t_start,
        "snn_rate_hz": float(mon.num_spikes) / (n * args.duration),
        "brian2_version": b2.__version__,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
