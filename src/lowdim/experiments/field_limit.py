"""Lecture / SM Sec. II: the neural-field limit of the paper's network for p = 1 and p = 2,
against large-N RNN and SNN runs driven by the same input realisation B(t).

For fixed p the paper's network (Eqs. 1, 2, 7, 9) has two fields u^in(t, y), u^rec(t, y) on
R^p with the Gaussian measure as its N → ∞ limit (:mod:`lowdim.models.field_limit`); from
x(0) = 0 they are u^P(t, y) = y · K^P(t) with 2p stochastic equations for K^in, K^rec driven by
the same Brownian motions B as the network (the engine's own draws). Predictions compared with
each network (RNN x, SNN h, both from one paired run of ``lowdim.paper.paper_network``):

- K^in(t), K^rec(t): the least-squares projection of each population's potentials on its rows
  of ξ;
- the overlaps m_μ(t) (engine's Overlaps probe, averaged over each record interval);
- the potentials of 200 recorded neurons (100 in, 100 rec): x_i(t) vs u^P(t, ξ_i) = ξ_i·K^P(t).

The loadings seed varies over runs, B is held fixed (``input_seed``), so every run of a given p
is compared with one field solution. ``summary.json``: ``field_vs_rnn_error`` = relative L2
error of the recorded potentials against the field at the largest N (RMS over seeds; the larger
of p = 1, 2; per p in ``field_vs_rnn_error_by_p``), ``field_vs_snn_error`` beside it, errors by N,
slopes. Figures ``field_limit_traces``, ``field_limit_neurons``, ``field_limit_error`` (PNG + SVG),
data ``field_limit.nc``, ``report.md``.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import jax
import numpy as np
import xarray as xr

from ..analysis.stats import rms_by, rms_of
from ..connectivity import from_arrays
from ..engine import run as run_net
from ..errors import ConfigError
from ..models.field_limit import PaperField, brownian_increments, population_basis
from ..models.latent import relative_error
from ..paper import RunConfig, paper_network
from ..probes import Overlaps, Potentials, Projection
from ..procedural import paper_loadings
from . import _lecture
from . import settings as st
from .harness import Result, Study

__all__ = ["run", "SCALES", "PARAMS"]

#: the model: σ of the input (the paper's Eq. 2; the rank p is the scale setting ``ranks``)
PARAMS = {"sigma": 0.5}

#: one line per setting for `lowdim lecture field-limit --help`
SETTING_HELP = {
    "sigma": "σ: amplitude of the input B(t) (RunConfig.sigma)",
    "ranks": "the ranks p compared with the field (list, e.g. 1,2)",
    "neurons": "N of the network runs (list)",
}

_COMMON = {"dt": 1e-4, "record_dt": 1e-3, "record_each": 100, "ranks": [1, 2]}
SCALES = {
    "small": {**_COMMON, "neurons": [2_000, 20_000, 200_000], "seeds": 2, "duration": 0.15},
    "large": {
        **_COMMON,
        "neurons": [1_000, 10_000, 100_000, 1_000_000],
        "seeds": 3,
        "duration": 0.5,
    },
    "test": {**_COMMON, "neurons": [1_000, 4_000], "seeds": 1, "duration": 0.05, "record_each": 20},
}

STUDY = Study("field-limit", SCALES, what="the field-limit demo")

#: the errors of each run against the field (relative L2 over time)
KEYS = ("u_rnn", "u_snn", "K_rec_rnn", "K_rec_snn", "K_in_rnn", "K_in_snn", "m_rnn", "m_snn")
#: the errors the report and the key numbers show
SHOWN = ("u_rnn", "u_snn", "K_in_rnn", "K_rec_rnn", "K_rec_snn", "m_rnn", "m_snn")


def _cfg(sc, n, p, seed, input_seed):
    return RunConfig(
        neurons=n,
        rank=p,
        duration=sc["duration"],
        dt=sc["dt"],
        record_dt=sc["record_dt"],
        burn_in=0.0,
        seed=seed,
        input_seed=input_seed,
        record_neurons=0,
        noise_time_unit="s",
        sigma=PARAMS["sigma"],
    )


def _recorded(cfg, each: int, seed: int) -> np.ndarray:
    """``each`` neurons of "in" and ``each`` of "rec", sorted."""
    rng = np.random.default_rng([seed, 77])
    n_in = cfg.n_in
    a = rng.choice(n_in, size=min(each, n_in), replace=False)
    b = n_in + rng.choice(cfg.neurons - n_in, size=min(each, cfg.neurons - n_in), replace=False)
    return np.sort(np.concatenate([a, b]))


def _network(cfg, idx):
    """One paired RNN/SNN run of the paper's network with the probes of the comparison."""
    # the paper's loadings for cfg.seed (Eq. 7), passed as arrays: runs of equal N and p then
    # share one compiled program (a sampler's seed is part of the program)
    phi = cfg.phi()
    F, G = paper_loadings(cfg.neurons, cfg.p, phi, cfg.seed)
    conn = from_arrays(F, G, scale=1.0 / (phi.c * cfg.neurons))
    spec = paper_network(cfg, connectivity=conn, record_indices=idx)
    xi = np.asarray(F, np.float64)
    pops = spec.net.populations
    probes = {
        "x": Potentials(idx, network=0),
        "h": Potentials(idx, network=1),
        "m": Overlaps(),
        "K_in": Projection(population_basis(xi, pops["in"])),
        "K_rec": Projection(population_basis(xi, pops["rec"])),
    }
    ds = run_net(
        spec.net,
        spec.grid,
        probes,
        key=jax.random.PRNGKey(cfg.seed),
        seeds=spec.seeds(),
        layout=spec.layout,
    )
    return ds, xi[idx], np.asarray(idx) < cfg.n_in


def _errors(ds, xi_rec, is_in, sol) -> dict:
    pred = np.where(is_in[None, :], sol["K_in"] @ xi_rec.T, sol["K_rec"] @ xi_rec.T)  # (T, n)
    out = {}
    for j, name in enumerate(("rnn", "snn")):
        out[f"K_in_{name}"] = relative_error(ds.K_in.values[:, j], sol["K_in"])
        out[f"K_rec_{name}"] = relative_error(ds.K_rec.values[:, j], sol["K_rec"])
        out[f"m_{name}"] = relative_error(ds.m.values[:, j], sol["m"])
    out["u_rnn"] = relative_error(ds.x.values, pred)
    out["u_snn"] = relative_error(ds.h.values, pred)
    out["snn_vs_rnn"] = relative_error(ds.h.values, ds.x.values, pred)
    return out


# ----------------------------------------------------------------------------- run
def run(
    scale: str | None = "small",
    out: str | Path = "lowdim-out/lecture-field-limit",
    progress: bool = True,
    seed: int | None = None,
    config=None,
    settings: dict | None = None,
) -> dict:
    """Run the field-limit demo at ``scale`` ("small", "large", "test") into ``out``.

    ``config`` (a TOML file or dict) and ``settings`` (key → value) change σ (:data:`PARAMS`)
    and the scale's settings (``ranks``: the p compared, ``neurons``, ``seeds``, …); the
    settings used are saved in ``settings.toml`` and ``summary.json["settings"]``."""
    cfg = st.resolve(sys.modules[__name__], "field-limit", scale, seed, config, settings)
    if not cfg["run"]["ranks"] or any(p < 1 for p in cfg["run"]["ranks"]):
        raise ConfigError(f"ranks must be a list of integers ≥ 1, got {cfg['run']['ranks']}")
    with st.use_params(sys.modules[__name__], cfg["model"]):
        return _run(cfg, out, progress)


def _run(chosen, out, progress):
    scale, seed, sc = chosen["scale"], chosen["seed"], chosen["run"]
    input_seed = 1000 + seed
    labels = [f"p = {p}: field, then networks" for p in sc["ranks"]] + ["figures, data, report"]
    with STUDY.session(scale, out, progress, phases=labels) as s:
        sols, checks, rows, example = {}, {}, [], {}
        for p, label in zip(sc["ranks"], labels, strict=False):
            with s.phase(label):
                sols[p], checks[p] = _field(sc, p, seed, input_seed)
                for n in sc["neurons"]:
                    for k in range(sc["seeds"]):
                        t0 = time.perf_counter()
                        cfg = _cfg(sc, n, p, seed * 1000 + k, input_seed)
                        idx = _recorded(cfg, sc["record_each"], k)
                        ds, xi, is_in = _network(cfg, idx)
                        row = {"p": p, "neurons": n, "seed": k, **_errors(ds, xi, is_in, sols[p])}
                        row["seconds"] = time.perf_counter() - t0
                        rows.append(row)
                        if n == sc["neurons"][-1] and k == 0:
                            example[p] = {"ds": ds, "xi": xi, "is_in": is_in, "neurons": n}
                        s.log(
                            f"p = {p}, N = {n:,}, seed {k}: potentials vs field RNN "
                            f"{row['u_rnn']:.4f}, SNN {row['u_snn']:.4f} ({row['seconds']:.1f} s)"
                        )
        fits = {p: _lecture.fits(rows, KEYS, p=p) for p in sc["ranks"]}
        with s.phase(labels[-1]):
            from ..figures import field_limit as figures  # deferred: matplotlib start-up time

            s.figure(figures.traces(example, sols), "field_limit_traces")
            s.figure(figures.neurons(example, sols), "field_limit_neurons")
            s.figure(figures.errors(rows, fits), "field_limit_error")
            s.dataset(_dataset(sols, example, rows, scale, seed, input_seed), "field_limit.nc")
            big = sc["neurons"][-1]
            by_p_rnn = {f"p={p}": rms_of(rows, "u_rnn", p=p, neurons=big) for p in sc["ranks"]}
            by_p_snn = {f"p={p}": rms_of(rows, "u_snn", p=p, neurons=big) for p in sc["ranks"]}
            summary = {
                "scale": scale,
                "seed": seed,
                "input_seed": input_seed,
                "noise_time_unit": "s",
                "largest_n": big,
                "field_vs_rnn_error": max(by_p_rnn.values()),
                "field_vs_snn_error": max(by_p_snn.values()),
                "field_vs_rnn_error_by_p": by_p_rnn,
                "field_vs_snn_error_by_p": by_p_snn,
                "errors_by_n": {
                    f"p={p}": {k: rms_by(rows, k, "neurons", sc["neurons"], p=p) for k in KEYS}
                    for p in sc["ranks"]
                },
                "error_slopes": {
                    f"p={p}": {
                        k: {"slope": fits[p][k]["slope"], "ci": fits[p][k]["ci"]} for k in KEYS
                    }
                    for p in sc["ranks"]
                },
                "field_checks": {f"p={p}": c for p, c in checks.items()},
            }
            return _lecture.finish(
                s,
                chosen,
                summary,
                {"rows": rows},
                _results(summary),
                lambda full: _report(sc, full),
            )


def _field(sc, p, seed, input_seed):
    """The K equations of rank ``p`` on the largest network's grid and increments, and the
    checks of the fields themselves (Nyström on a Gauss–Hermite grid in y) against them."""
    base = _cfg(sc, sc["neurons"][-1], p, seed, input_seed)
    fld = PaperField.of(base)
    inc = brownian_increments(base)
    every = base.steps_per_record
    sol = fld.integrate(inc, base.dt, every)
    ny = fld.nystrom(inc, base.dt, every, points=401 if p == 1 else 161)
    lin = ny["u_rec"] - ny["K_rec"] @ ny["y"].T
    checks = {
        "nystrom_K_rec_vs_K": relative_error(ny["K_rec"], sol["K_rec"]),
        "nystrom_K_in_vs_K": relative_error(ny["K_in"], sol["K_in"]),
        "field_nonlinear_part": float(np.linalg.norm(lin) / np.linalg.norm(ny["u_rec"])),
        "K_in_sd": sol["K_in"].std(axis=0).tolist(),
        "K_rec_sd": sol["K_rec"].std(axis=0).tolist(),
        "K_in_sd_input_only": sc_sd_input(fld),
    }
    return sol, checks


def _dataset(sols, example, rows, scale, seed, input_seed) -> xr.Dataset:
    ds = xr.Dataset(
        attrs={"scale": scale, "seed": seed, "input_seed": input_seed, "noise_time_unit": "s"}
    )
    for p, sol in sols.items():
        ds[f"K_in_p{p}"] = ((f"time_p{p}", f"mu_p{p}"), sol["K_in"])
        ds[f"K_rec_p{p}"] = ((f"time_p{p}", f"mu_p{p}"), sol["K_rec"])
        ds[f"m_p{p}"] = ((f"time_p{p}", f"mu_p{p}"), sol["m"])
        ds = ds.assign_coords({f"time_p{p}": sol["t"]})
        ds[f"K_rec_network_p{p}"] = (
            (f"time_p{p}", "network", f"mu_p{p}"),
            example[p]["ds"].K_rec.values,
        )
    ds["network"] = ["rnn", "snn"]
    for k in ("neurons", "seed", "p", *KEYS):
        ds[f"run_{k}"] = (("run",), [r[k] for r in rows])
    return ds


#: the checks of the field solution (key in ``field_checks``, what; theory 0: u = y·K)
CHECKS = (
    ("nystrom_K_rec_vs_K", "K^rec of the Nyström field vs the K equations"),
    ("nystrom_K_in_vs_K", "K^in of the Nyström field vs the K equations"),
    ("field_nonlinear_part", "part of u^rec(t, y) not linear in y"),
)


def _results(s) -> list[Result]:
    """The key numbers: errors against the field at the largest N, the fitted slopes, and the
    checks of the field solution."""
    n, lim, vs = f"N = {s['largest_n']:,}", "(SM Sec. II: N → ∞)", "potentials vs the field"
    rows = [
        (f"field_vs_{x}_error", f"{x.upper()} {vs}, {n} (largest over p)", 0.0, "", lim)
        for x in ("rnn", "snn")
    ]
    for pk in s["errors_by_n"]:
        p, sl = pk[2:], f"error_slopes.{pk}"
        rows += [
            (f"field_vs_{x}_error_by_p.{pk}", f"p = {p}: {x.upper()} {vs}, {n}", 0.0, "", lim)
            for x in ("rnn", "snn")
        ]
        slope = f"p = {p}: slope of log error vs log N"
        rows += [
            (f"{sl}.{k}.slope", f"{slope}, {k}", -0.5, "", "(1/√N)", f"{sl}.{k}.ci") for k in SHOWN
        ]
        rows += [
            (f"field_checks.{pk}.{k}", f"p = {p}: {what}", 0.0, "", "(u = y·K)")
            for k, what in CHECKS
        ]
    return _lecture.declared(s, rows)


def sc_sd_input(fld: PaperField) -> float:
    """Stationary sd of K^in_μ without recurrence: σ/√(2 τ p) (in the time unit of B)."""
    return fld.sigma * math.sqrt(fld.time_unit / (2 * fld.tau * fld.p))


def _report(sc, s) -> str:
    L = [
        f"# Field limit of the paper's network ({s['scale']} scale, seed {s['seed']})",
        "",
        "Paper network (Eqs. 1, 2, 7, 9): φ(x) = (tanh(x − 2) + 1)/(2τ), τ = 10 ms, F = ξ, "
        "G = φ(ξ) − a, s = 1/(cN), σ = 0.5, input to the first half ('in'); units SI, Brownian "
        'motions in seconds (`noise_time_unit = "s"`). Field limit (SM Sec. II): '
        "τ ∂u^P/∂t = −u^P + Σ_Q f_Q ∫Dz w(y, z) φ(u^Q(t, z)) (+ (σ/√p) y·η for P = in), "
        "w(y, z) = (1/c) Σ_μ y_μ (φ(z_μ) − a), f_in = f_rec = 1/2. Two misprints of the SM are "
        "corrected: its rec equation has −u^in where the leak is −u^rec, and its Gaussian measure "
        "lacks the 1/2 in e^{−‖z‖²/2}.",
        "",
        "From u(0) = 0 the fields are u^P(t, y) = y·K^P(t) with τ dK^in = (−K^in + m) dt + "
        "(σ/√p) dB, τ dK^rec = (−K^rec + m) dt, m_μ = (1/c) Σ_Q f_Q E[(φ(z_μ) − a) φ(z·K^Q)] "
        "(a 2-D rule: trapezoid in z·K/‖K‖ × Gauss–Hermite, 481 × 64 nodes), integrated with the engine's step on the engine's "
        f"grid (dt = {sc['dt'] * 1e3:g} ms) with the engine's own increments of B "
        f"(input seed {s['input_seed']}, the same for every run below). Duration "
        f"{sc['duration']:g} s, records every {sc['record_dt'] * 1e3:g} ms. Wall time "
        f"{s['wall_seconds']:.0f} s (2 shared cores; timings vary with the machine's load).",
        "",
        "## The fields themselves (Nyström on a grid in y)",
        "",
        "u^in, u^rec solved on a tensor trapezoid grid in y ∈ [−8, 8]^p with Gaussian weights "
        "(401 points for p = 1, 161² for p = 2), the integral as the quadrature sum, same step "
        "and increments; their projections ∫Dy y u(y) against the K equations, and the part of "
        "u^rec not linear in y, are in the key numbers. The size of the fields:",
        "",
        "| p | sd of K^in (field) | σ/√(2τp) (input alone) | sd of K^rec |",
        "|---|---|---|---|",
    ]
    for key, c in s["field_checks"].items():
        L.append(
            f"| {key[2:]} | {', '.join(f'{v:.3f}' for v in c['K_in_sd'])} | "
            f"{c['K_in_sd_input_only']:.3f} | {', '.join(f'{v:.3f}' for v in c['K_rec_sd'])} |"
        )
    L += [
        "",
        "The Nyström fields keep u = y·K to rounding (the recurrent term is y·m: the field never "
        "leaves the span of y when it starts there), and their projections agree with the K "
        "equations to the accuracy of the quadratures.",
        "",
        "## What the field predicts, against the networks",
        "",
        "For each run (paired RNN/SNN, loadings seed varied, B fixed): relative L2 errors over "
        "time of (i) K^in, K^rec (least-squares projection of each population's potentials on "
        "its rows of ξ), (ii) the overlaps m_μ(t) (Overlaps probe: RNN rates, SNN spike counts "
        "per record interval — the latter carry the spike noise of one 1-ms bin), (iii) the "
        f"potentials of {2 * sc['record_each']} recorded neurons ({sc['record_each']} in, "
        f"{sc['record_each']} rec) against u^P(t, ξ_i). RMS over {sc['seeds']} seed(s). "
        "Theory: all → 0 as N → ∞ (quenched sampling of ξ and spike noise, both O(1/√N)); the "
        "recurrent dynamics amplify finite-N differences over time, so the prefactor of 1/√N "
        "grows with the duration.",
        "",
        f"## Key numbers (largest N = {s['largest_n']:,}; slopes: log error vs log N, 95 % CI)",
        "",
        "{results}",
        "",
    ]
    for key, per in s["errors_by_n"].items():
        L += [
            f"## Errors by N, p = {key[2:]}",
            "",
            "| N | " + " | ".join(SHOWN) + " |",
            "|---|" + "---|" * len(SHOWN),
        ]
        for n in sc["neurons"]:
            L.append(f"| {n:,} | " + " | ".join(f"{per[k][str(n)]:.4g}" for k in SHOWN) + " |")
        L.append("")
    L += ["Files: " + ", ".join(s["files"]), ""]
    return "\n".join(L)
