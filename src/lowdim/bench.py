"""``lowdim bench``: throughput of lowdim's engines, measured side by side with peers in one run.

What is measured (paper's network, p = 100, dt = 0.1 ms, τ = 10 ms, input noise with B in units
of τ so that the mean rate is ≈ 2 Hz; float32):

- lowdim SNN-only dense per-step path (``simulate``, networks="snn"), SNN-only event-driven path
  (``simulate(cfg, method="event")``), RNN-only and paired runs, at N = 10⁴, 10⁵, 10⁶ (``large``: also 4·10⁶);
  short simulated durations (stated in the table) — every number is per simulated second of the
  *simulation loop*: JIT compilation (from ``jax.monitoring``) and connectivity construction are
  excluded; the whole-process time is reported beside it where a ratio is taken.
- a batch of B = 16 paired trials as the columns of one run against B = 1, at N = 10⁵
  (``batch_speedup_b16``: time per trial at B = 1 ÷ time per trial at B = 16, same run);
- copy bandwidth of a large array (NumPy ``copyto``; bytes read + written per second) and, for
  the RNN-only run, the achieved bandwidth of one read of F and G per step (2 N p · 4 bytes per
  step) and its fraction of the copy bandwidth; the paired run against the one-read floor
  (a measured fused read of F and G in the same run, :func:`read_floor`).
- peers: a plain NumPy implementation of the same factorized model
  (``lowdim/peers/numpy_factorized.py``) and Brian2 2.9 C++ standalone with a dense weight
  matrix and with the factorized "overlap" formulation (``lowdim/peers/brian2_snn.py``) at
  N = 10⁴, each in a subprocess (Brian2's loop time as Brian2 reports it).
- largest N each tool finishes within 10 minutes per simulated second: *projected* linearly in N
  from the per-step cost at the largest N it was measured at, capped by memory.

- the SNN alone through the command line's code path (row ``snn_cli``: the config
  ``lowdim simulate --networks snn`` builds, ``method="auto"``) against the direct event row.

Every variant, peer and floor is measured ``repeats`` times, alternated in one process; each
ratio is taken within a repetition and reported as the median (and ``*_best``, ``ratios``).
Brian2 installed but without a measurement is an error (``brian2_error``; :class:`PeerFailed`
from the command line). Timings on a shared machine are disturbed by other load: the 1-minute
load average is recorded.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from . import connectivity as conn_mod
from .engine import available_memory, run
from .errors import ConfigError
from .paper import RunConfig, paper_network, simulate
from .paper.preflight import config_from
from .record import provenance

__all__ = ["main", "copy_bandwidth", "base_config"]

PEERS = pathlib.Path(__file__).resolve().parent / "peers"  # shipped with the package
LIMIT_S = 600.0  # "finishes within 10 minutes" (per simulated second)


def base_config(p: int = 100, **changes) -> RunConfig:
    """The paper's network as every benchmark row runs it: rank ``p``, dt = 0.1 ms, noise in
    units of τ, float32, no burn-in, records every ms of 11 neurons (``changes``: other fields,
    e.g. ``neurons`` and ``duration``)."""
    return RunConfig(
        rank=p,
        dt=1e-4,
        noise_time_unit="tau",
        dtype="float32",
        burn_in=0.0,
        record_dt=1e-3,
        record_neurons=11,
        **changes,
    )


def copy_bandwidth(nbytes: int = 400 * 2**20, repeats: int = 5) -> float:
    """Bytes moved (read + written) per second by copying a large float32 array; best of repeats."""
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2 * src.nbytes / best


def read_floor(n: int, p: int, repeats: int = 5) -> float:
    """Seconds of one read of two (n, p) float32 arrays (a fused sum over each), best of repeats:
    the floor of any step that reads F and G once."""
    F = jnp.ones((n, p), jnp.float32)
    G = jnp.ones((n, p), jnp.float32)
    f = jax.jit(lambda F, G: (F.sum(0), G.sum(0)))
    jax.block_until_ready(f(F, G))
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(f(F, G))
        best = min(best, time.perf_counter() - t)
    return best


class _CompileTimer:
    """Sums JAX compilation durations (tracing, lowering, backend compile) while active."""

    _installed = False
    _total = 0.0

    @classmethod
    def install(cls):
        if not cls._installed:
            from jax import monitoring

            def listener(name, duration, **_):
                if name.startswith("/jax/core/compile/") or "compil" in name:
                    cls._total += duration

            monitoring.register_event_duration_secs_listener(listener)
            cls._installed = True

    @classmethod
    def total(cls) -> float:
        return cls._total


def _lowdim_run(kind: str, cfg, conn) -> dict:
    """One lowdim run; returns loop seconds (compile excluded) and whole-call seconds."""
    jax.block_until_ready(conn.F)
    c0 = _CompileTimer.total()
    t0 = time.perf_counter()
    if kind == "snn_event":
        ds = simulate(cfg.replace(networks="snn"), conn, method="event")
        loop = float(ds.attrs["loop_seconds"])
    elif kind == "snn_cli":  # what `lowdim simulate --networks snn` runs: its config, method auto
        ds = simulate(_cli_config(cfg.neurons, cfg.p, cfg.duration, "snn"))
        loop = float(ds.attrs["loop_seconds"])
    else:
        net = {"snn_dense": "snn", "rnn": "rnn", "paired": "both"}[kind]
        ds = simulate(cfg.replace(networks=net), conn, method="dense")
        wall = time.perf_counter() - t0
        loop = float(ds.attrs.get("loop_seconds", wall - (_CompileTimer.total() - c0)))
    call = time.perf_counter() - t0
    rate = ds.attrs.get("rate_snn_hz", ds.attrs.get("rate_rnn_hz"))
    steps = cfg.n_steps
    return {
        "kind": kind,
        "method": str(ds.attrs["method"]),
        "neurons": cfg.neurons,
        "rank": cfg.p,
        "duration": steps * cfg.dt,
        "steps": steps,
        "loop_seconds": loop,
        "call_seconds": call,
        "seconds_per_sim_second": loop / (steps * cfg.dt),
        "steps_per_second": steps / loop,
        "neuron_steps_per_second": steps * cfg.neurons / loop,
        "rate_hz": float(rate) if rate is not None else None,
    }


def _batch_run(cfg, trials: int) -> dict:
    """The paper's paired network with ``trials`` trials as columns (independent input and
    spike noise per trial), the paper's probes; loop seconds per simulated second per trial."""
    spec = paper_network(cfg)
    net = spec.net.replace(trials=trials if trials > 1 else None)
    ds = run(net, spec.grid, spec.probes, seed=cfg.seed, layout=spec.layout)
    loop = float(ds.attrs["loop_seconds"])
    steps = spec.grid.steps
    return {
        "kind": f"paired_b{trials}",
        "neurons": cfg.neurons,
        "rank": cfg.p,
        "trials": trials,
        "duration": steps * cfg.dt,
        "steps": steps,
        "loop_seconds": loop,
        "call_seconds": float(ds.attrs["wall_seconds"]),
        "seconds_per_sim_second": loop / (steps * cfg.dt),
        "seconds_per_sim_second_per_trial": loop / (steps * cfg.dt) / trials,
        "steps_per_second": steps / loop,
        "neuron_steps_per_second": steps * cfg.neurons * trials / loop,
        "rate_hz": None,
    }


def _peer(script: str, args: list[str], timeout: float) -> dict:
    path = PEERS / script
    if not path.exists():
        return {"error": f"{path} not found (incomplete installation)"}
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            [sys.executable, str(path), *args], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {r.returncode}: {' | '.join(tail)}"}
    out = json.loads(lines[-1])
    out["subprocess_seconds"] = wall
    out["seconds_per_sim_second"] = out["loop_seconds"] / out["duration"]
    return out


class PeerFailed(Exception):
    """A peer that must run (its package is installed) gave no measurement: ``lowdim bench``
    writes its results with the reason (``brian2_error``) and exits with code 1."""


def _brian2_installed() -> str | None:
    """Brian2's installed version (the ``bench`` extra), None if it is not installed. From the
    package metadata: no import (importing Brian2 under load took longer than the former 120 s
    check allowed, which left its ratio silently missing)."""
    from importlib import metadata

    try:
        return metadata.version("brian2")
    except metadata.PackageNotFoundError:
        return None


def _brian2_rows(p: int) -> list[dict]:
    """Both Brian2 formulations at N = 10⁴ (subprocesses; their errors as rows)."""
    rows = []
    for form in ("dense", "overlap"):
        args = ["--formulation", form, "--neurons", "10000", "--rank", str(p), "--duration", "0.1"]
        r = _peer("brian2_snn.py", args, timeout=1800)
        rows.append({**r, "tool": f"brian2-{form}", "kind": "snn", "neurons": 10_000, "rank": p})
    return rows


def _cli_config(n: int, p: int, duration: float, networks: str):
    """The RunConfig ``lowdim simulate -N n -p p --networks … --method auto`` builds (through
    :func:`~lowdim.paper.preflight.config_from`, as the command does), at the bench's settings."""
    table = {
        "neurons": n,
        "rank": p,
        "duration": duration,
        "dt": 1e-4,
        "noise_time_unit": "tau",
        "dtype": "float32",
        "burn_in": 0.0,
        "record_dt": 1e-3,
        "record_neurons": 11,
        "networks": networks,
        "method": "auto",
    }
    return config_from(table)


def _stats(values: list, higher_is_better: bool = True) -> tuple:
    """(median, best, all) of per-repetition values (None where a repetition gave none)."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None, None, list(values)
    best = max(vals) if higher_is_better else min(vals)
    return float(np.median(vals)), best, [None if v is None else float(v) for v in values]


def _projected_max_n(n: int, sec_per_sim_s: float, bytes_per_neuron: float, mem: int) -> dict:
    """Largest N finishing one simulated second in LIMIT_S, linear in N from one measurement."""
    by_time = n * LIMIT_S / sec_per_sim_s
    by_mem = 0.8 * mem / bytes_per_neuron
    return {
        "neurons": int(min(by_time, by_mem)),
        "limited_by": "time" if by_time < by_mem else "memory",
        "projected_from_n": n,
    }


def main(
    large: bool = False,
    out: pathlib.Path | None = None,
    quick: bool = False,
    repeats: int = 3,
    brian2: bool | None = None,
) -> dict:
    """Run the benchmark, print the table, return the results (and write ``out/bench.json``).

    Every lowdim variant, peer and floor is measured ``repeats`` times, alternated (one
    repetition runs each of them in turn), in this process; each ratio is taken within a
    repetition and reported as the median (the key itself), the best (``*_best``) and all
    (``ratios``). ``brian2``: run the Brian2 peer (None: when it is installed and not
    ``quick``); installed but without a measurement, ``brian2_error`` says why and
    :class:`PeerFailed` is raised after the results are written."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"repeats must be a whole number ≥ 1, got {repeats!r}")
    _CompileTimer.install()
    load = os.getloadavg()[0]
    if quick:
        sizes, p, dur = [2000], 10, {2000: 0.01}
        ev_dur = dict(dur)
    else:
        sizes = [10_000, 100_000, 1_000_000] + ([4_000_000] if large else [])
        p = 100
        dur = {10_000: 0.1, 100_000: 0.05, 1_000_000: 0.02, 4_000_000: 0.01}
        ev_dur = {10_000: 0.1, 100_000: 0.1, 1_000_000: 0.1, 4_000_000: 0.05}
    mem = available_memory()
    n_top = max(sizes)
    n_bw = 1_000_000 if 1_000_000 in sizes else n_top
    n_b = 10_000 if 10_000 in sizes else min(sizes)
    n_batch = 2000 if quick else 100_000
    version = _brian2_installed()
    run_brian2 = (not quick) if brian2 is None else bool(brian2)
    if not run_brian2:
        brian2_note = "skipped in quick mode (C++ compilation takes ~30 s per variant)"
    elif version is None:
        brian2_note = (
            "brian2 is not installed (pip install '.[bench]'; Brian2 2.9 needs NumPy < 2.4)"
        )
        run_brian2 = False
    else:
        brian2_note = None
    rows: list[dict] = []
    floors: list[dict] = []
    base = base_config(p)
    bcfg = base.replace(neurons=n_batch, duration=0.01 if quick else 0.03)
    for trials in (1, 16):
        _batch_run(bcfg, trials)  # compile and warm up outside the timed runs
    for rep in range(repeats):  # alternated: each repetition runs every variant in turn
        floor = {
            "repeat": rep,
            "copy_bandwidth_bytes_per_s": copy_bandwidth(8 * 2**20 if quick else 400 * 2**20),
        }
        for n in sizes:
            cfg = base.replace(neurons=n, duration=dur[n])
            conn = conn_mod.paper(n, p, cfg.phi(), cfg.seed, jax.numpy.float32)
            for kind in ("snn_event", "snn_cli", "snn_dense", "rnn", "paired"):
                c = cfg.replace(duration=ev_dur[n]) if kind in ("snn_event", "snn_cli") else cfg
                rows.append({"tool": "lowdim", "repeat": rep, **_lowdim_run(kind, c, conn)})
            del conn
            if n == n_bw:  # one measured read of F and G (fused sums), next to the paired run
                floor["one_read_floor_seconds"] = read_floor(n_bw, p)
        for trials in (1, 16):
            rows.append({"tool": "lowdim", "repeat": rep, **_batch_run(bcfg, trials)})
        for n in sizes:  # NumPy at every size (same durations as lowdim's dense runs)
            for net in ("snn", "both"):
                args = ["--neurons", str(n), "--rank", str(p), "--duration", str(dur[n])]
                r = _peer("numpy_factorized.py", [*args, "--networks", net], timeout=1800)
                kind = "snn_dense" if net == "snn" else "paired"
                rows.append(
                    {**r, "tool": "numpy", "repeat": rep, "kind": kind, "neurons": n, "rank": p}
                )
        if run_brian2:
            rows.extend({**r, "repeat": rep} for r in _brian2_rows(p))
        floors.append(floor)

    def find(tool, kind, n, rep):
        for r in rows:
            if (
                r["tool"] == tool
                and r.get("kind") == kind
                and r["neurons"] == n
                and r.get("repeat") == rep
                and "error" not in r
            ):
                return r
        return None

    per = {k: [] for k in RATIOS}
    for rep, fl in enumerate(floors):
        lw = lambda kind, n, rep=rep: find("lowdim", kind, n, rep)  # noqa: E731
        ev, de = lw("snn_event", n_top), lw("snn_dense", n_top)
        per["thinning_speedup"].append(
            de["seconds_per_sim_second"] / ev["seconds_per_sim_second"] if ev and de else None
        )
        cli = lw("snn_cli", n_top)
        per["cli_over_event"].append(
            cli["seconds_per_sim_second"] / ev["seconds_per_sim_second"] if ev and cli else None
        )
        rnn, paired = lw("rnn", n_bw), lw("paired", n_bw)
        read_bytes = 2 * n_bw * p * 4  # F and G, float32, once per step
        per["bandwidth_fraction"].append(
            read_bytes * rnn["steps_per_second"] / fl["copy_bandwidth_bytes_per_s"] if rnn else None
        )
        per["paired_over_one_read_floor"].append(
            (1 / paired["steps_per_second"]) / fl["one_read_floor_seconds"] if paired else None
        )
        b1, b16 = lw("paired_b1", n_batch), lw("paired_b16", n_batch)
        per["batch_speedup_b16"].append(
            b1["seconds_per_sim_second_per_trial"] / b16["seconds_per_sim_second_per_trial"]
            if b1 and b16
            else None
        )
        ld = lw("snn_event", n_b)
        b2 = [
            r
            for r in rows
            if r["tool"].startswith("brian2") and r.get("repeat") == rep and "error" not in r
        ]
        ratio = proc = None
        if b2 and ld:
            best = min(b2, key=lambda r: r["seconds_per_sim_second"])
            ratio = best["seconds_per_sim_second"] / ld["seconds_per_sim_second"]
            # whole process per simulated second: Brian2's script vs lowdim's call incl. compilation
            proc = (best["process_seconds"] / best["duration"]) / (
                ld["call_seconds"] / ld["duration"]
            )
        per["brian2_ratio_n1e4"].append(ratio)
        per["brian2_process_ratio_n1e4"].append(proc)
    summary = {}
    for key, higher in RATIOS.items():
        med, best, vals = _stats(per[key], higher)
        summary[key], summary[key + "_best"], per[key] = med, best, vals
    brian2_error = None
    if run_brian2 and summary["brian2_ratio_n1e4"] is None:
        errs = [
            f"{r['tool']}: {r['error']}"
            for r in rows
            if r["tool"].startswith("brian2") and "error" in r
        ]
        brian2_error = (
            f"brian2 {version} is installed (the bench extra) but gave no measurement: "
            + ("; ".join(dict.fromkeys(errs)) or "lowdim's event row at N = 10⁴ is missing")
        )
    # largest N within 10 minutes per simulated second (projected, from the fastest repetition)
    largest = {}
    for tool, kind, bpn in [
        ("lowdim", "snn_event", 2 * p * 4 + 16),
        ("lowdim", "snn_dense", 2 * p * 4 + 64),
        ("lowdim", "paired", 2 * p * 4 + 96),
        ("numpy", "snn_dense", 2 * p * 4 + 64),
        ("numpy", "paired", 2 * p * 4 + 96),
    ]:
        meas = [r for r in rows if r["tool"] == tool and r.get("kind") == kind and "error" not in r]
        if meas:
            n_max = max(r["neurons"] for r in meas)
            top = min(
                (r for r in meas if r["neurons"] == n_max),
                key=lambda r: r["seconds_per_sim_second"],
            )
            largest[f"{tool}:{kind}"] = _projected_max_n(
                top["neurons"], top["seconds_per_sim_second"], bpn, mem
            )
    b2_all = [r for r in rows if r["tool"].startswith("brian2") and "error" not in r]
    for tool in sorted({r["tool"] for r in b2_all}):
        r = min((r for r in b2_all if r["tool"] == tool), key=lambda r: r["seconds_per_sim_second"])
        # dense: ~N² synapses × (2 int32 + float64 + bookkeeping) ≈ 24 bytes each
        per_n = 24 * r["neurons"] if r["formulation"] == "dense" else 2 * p * 24
        n_time = r["neurons"] * LIMIT_S / r["seconds_per_sim_second"]
        if r["formulation"] == "dense":  # cost per step grows like N² (N·rate·N synapses)
            n_time = r["neurons"] * math.sqrt(LIMIT_S / r["seconds_per_sim_second"])
            n_mem = math.sqrt(0.8 * mem / 24)
        else:
            n_mem = 0.8 * mem / per_n
        largest[tool] = {
            "neurons": int(min(n_time, n_mem)),
            "limited_by": "time" if n_time < n_mem else "memory",
            "projected_from_n": r["neurons"],
        }
    bws = [f["copy_bandwidth_bytes_per_s"] for f in floors]
    reads = [f["one_read_floor_seconds"] for f in floors]
    rnn_best = min(
        (r for r in rows if r["tool"] == "lowdim" and r["kind"] == "rnn" and r["neurons"] == n_bw),
        key=lambda r: r["loop_seconds"],
    )
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1min_start": load,
            "load_average_1min_end": os.getloadavg()[0],
            "memory_available_bytes": mem,
            **provenance(),
        },
        "settings": {
            "rank": p,
            "dt": 1e-4,
            "noise_time_unit": "tau",
            "dtype": "float32",
            "durations_dense_s": {str(k): v for k, v in dur.items() if k in sizes},
            "durations_event_s": {str(k): v for k, v in ev_dur.items() if k in sizes},
            "quick": quick,
            "repeats": repeats,
        },
        "copy_bandwidth_bytes_per_s": max(bws),
        "one_read_floor_seconds": min(reads),
        "floors": floors,
        "rows": rows,
        **summary,
        "ratios": per,
        "thinning_speedup_neurons": n_top,
        "cli_event_neurons": n_top,
        "bandwidth_fraction_neurons": n_bw,
        "achieved_bandwidth_bytes_per_s": 2 * n_bw * p * 4 * rnn_best["steps_per_second"],
        "batch_neurons": n_batch,
        "brian2_note": brian2_note,
        "brian2_error": brian2_error,
        "largest_n_within_10_min_projected": largest,
    }
    _print(result)
    if out is not None:
        out = pathlib.Path(out)
        out.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=".bench.", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(result, f, indent=2, default=float)
        os.replace(tmp, out / "bench.json")
    return result


#: the ratios of the bench, each per repetition: True where higher is better (best = max)
RATIOS = {
    "thinning_speedup": True,
    "cli_over_event": False,
    "bandwidth_fraction": True,
    "paired_over_one_read_floor": False,
    "batch_speedup_b16": True,
    "brian2_ratio_n1e4": True,
    "brian2_process_ratio_n1e4": True,
}


def _fmt(x, spec="{:.3g}"):
    return "—" if x is None else spec.format(x)


def _print(res: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    if not con.is_terminal:  # logs and pipes: wide enough that no column is cut
        con = Console(width=140)
    t = Table(title="lowdim bench (simulation loop; s per simulated second)")
    for col in ("tool", "run", "N", "sim s", "s / sim s", "steps/s", "neuron-steps/s", "rate Hz"):
        t.add_column(col, justify="right")
    for r in res["rows"]:
        if "error" in r:
            t.add_row(
                r["tool"], r.get("kind", ""), f"{r['neurons']:,}", "", r["error"][:60], "", "", ""
            )
            continue
        sps = r["steps"] / r["loop_seconds"] * r.get("trials", 1)
        rate = r.get("rate_hz", r.get("snn_rate_hz", r.get("rnn_rate_hz")))
        t.add_row(
            r["tool"],
            r.get("kind", ""),
            f"{r['neurons']:,}",
            _fmt(r["duration"]),
            _fmt(r["seconds_per_sim_second"]),
            _fmt(sps),
            _fmt(sps * r["neurons"]),
            _fmt(rate),
        )
    con.print(t)
    m = res["machine"]

    def mb(key):  # median (best) over the repetitions
        return f"{_fmt(res[key])} ({_fmt(res[key + '_best'])})"

    con.print(
        f"ratios: median (best) of {res['settings']['repeats']} alternated repetitions. Copy "
        f"bandwidth {res['copy_bandwidth_bytes_per_s'] / 1e9:.2f} GB/s (read + write; best); "
        f"RNN one read of F, G at N = {res['bandwidth_fraction_neurons']:,}: "
        f"{_fmt(res['achieved_bandwidth_bytes_per_s'] / 1e9)} GB/s (best) = "
        f"{mb('bandwidth_fraction')} of copy; paired / one-read floor "
        f"{mb('paired_over_one_read_floor')}"
    )
    con.print(
        f"batch of 16 paired trials as columns (N = {res['batch_neurons']:,}): time per trial "
        f"at B = 1 ÷ at B = 16 = {mb('batch_speedup_b16')}"
    )
    con.print(
        f"thinning speedup (event / dense SNN, N = {res['thinning_speedup_neurons']:,}): "
        f"{mb('thinning_speedup')}; the CLI's SNN path (`lowdim simulate --networks snn`, "
        f"method auto) ÷ the direct event run: {mb('cli_over_event')}"
    )
    con.print(
        f"Brian2 best / lowdim SNN at N = 10⁴: loop {mb('brian2_ratio_n1e4')}, whole process "
        f"{mb('brian2_process_ratio_n1e4')}"
        + (f" ({res['brian2_note']})" if res["brian2_note"] else "")
    )
    if res["brian2_error"]:
        con.print(f"[red]error: {res['brian2_error']}[/red]")
    for k, v in res["largest_n_within_10_min_projected"].items():
        con.print(
            f"largest N in 10 min per simulated second (projected from N = {v['projected_from_n']:,},"
            f" {v['limited_by']}-limited): {k} {v['neurons']:,}"
        )
    con.print(
        f"load average {m['load_average_1min_start']:.2f} → {m['load_average_1min_end']:.2f} on "
        f"{m['cpus']} CPUs; durations {res['settings']['durations_dense_s']} (dense), "
        f"{res['settings']['durations_event_s']} (event)"
    )
