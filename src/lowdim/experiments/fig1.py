"""Paper Fig. 1: limit correlation densities (A–C), setup (D) and paired SNN/RNN traces (E).

``run(scale, out)`` writes, into ``out``: ``fig1a``…``fig1e`` as PNG and SVG, the data behind each
panel as NetCDF, ``report.md`` (every measured number next to its theory value) and
``summary.json``. Scales:

- ``paper``: the paper's sizes (ring and p = 2, 4 at N = 10⁶; α = 10⁻⁴ with N = 2·10⁴, 10⁵, 10⁶,
  i.e. p = 2, 10, 100 — at N = 10⁴ the rank would be p = 1, where every |C| = 1; E at N = 10⁶,
  p = 100, 1 s);
- ``small``: a few minutes on 2 cores (ring N = 10⁴, p = 2, 4 at N = 2·10⁴; C at the larger load
  α = 2·10⁻³ with N = 10³, 5·10³, 2.5·10⁴, i.e. p = 2, 10, 50; E at N = 2·10⁴, p = 20);
- ``test``: seconds, for the test suite only.

Correlations are those of the RNN potentials x_i of 'rec' units (Eq. 4), estimated over a finite
duration T: each estimate carries a noise of std σ_T ≈ √(τ_c/T) that blurs the histogram; the
report gives σ_T (measured from the two halves of the run) next to every KS distance, and the
KS distance of the Eq. 10 values of the same pairs (the T → ∞ prediction; pure pair-sampling
noise) as the reference.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import xarray as xr

from .. import connectivity as conn_mod
from ..analysis import theory as th
from ..analysis.correlations import (
    correlations_of_run,
    histogram,
    ks_distance,
    sample_pairs,
    split_half_noise,
)
from ..analysis.stats import fraction_outside
from ..errors import ConfigError
from ..models.feedforward import feedforward_line
from ..models.ring import ring_angles, ring_correlations, ring_rnn_correlations
from ..paper import RunConfig, simulate
from ..results import lookup
from .harness import Result, Study

__all__ = ["run", "SCALES"]

_COMMON = {"dt": 1e-3, "record_dt": 5e-3, "burn_in": 0.2, "units": 1000, "pairs": 100_000}

SCALES = {
    "paper": {
        **_COMMON,
        "ring_direct_n": 1_000_000,
        "ring_direct_pairs": 1_000_000,
        "ring_n": 1_000_000,
        "gegen_n": 1_000_000,
        "conc_alpha": 1e-4,
        "conc_n": [20_000, 100_000, 1_000_000],
        "duration": 100.0,
        "traces_n": 1_000_000,
        "traces_p": 100,
        "traces_duration": 1.0,
    },
    "small": {
        **_COMMON,
        "ring_direct_n": 1_000_000,
        "ring_direct_pairs": 1_000_000,
        "ring_n": 10_000,
        "gegen_n": 20_000,
        "conc_alpha": 2e-3,
        "conc_n": [1_000, 5_000, 25_000],
        "duration": 40.0,
        "traces_n": 20_000,
        "traces_p": 20,
        "traces_duration": 1.0,
    },
    "test": {
        **_COMMON,
        "units": 120,
        "pairs": 3_000,
        "ring_direct_n": 20_000,
        "ring_direct_pairs": 20_000,
        "ring_n": 1_000,
        "gegen_n": 1_000,
        "conc_alpha": 1e-2,
        "conc_n": [200, 1_000],
        "duration": 2.0,
        "traces_n": 1_000,
        "traces_p": 10,
        "traces_duration": 0.05,
    },
}


PHASES = (
    "A  ring model",
    "B  fixed rank",
    "C  load α and weight norms",
    "D  setup",
    "E  paired traces",
    "Eq. 12 and report",
)
STUDY = Study(
    "fig1",
    SCALES,
    phases=PHASES,
    what="fig1",
    choices="use --scale small or --scale paper",
    staged=False,  # panels and their data land in ``out`` one by one, as each is finished
)


# ----------------------------------------------------------------------------- helpers
def _cfg(sc: dict, n: int, p: int, seed: int, duration=None) -> RunConfig:
    return RunConfig(
        neurons=n,
        rank=p,
        duration=duration or sc["duration"],
        dt=sc["dt"],
        record_dt=sc["record_dt"],
        burn_in=sc["burn_in"],
        seed=seed,
        record_neurons=0,
        noise_time_unit="s",
    )


def _stats(C, cdf, ref=None, est=None, p=None) -> dict:
    ks, pv = ks_distance(C, cdf)
    d = {"ks": ks, "ks_pvalue_iid": pv, "n_pairs": int(np.isfinite(C).sum())}
    d["var"] = float(np.nanvar(C))
    if p is not None:
        d["var_theory"] = 1.0 / p
    if ref is not None:
        d["ks_eq10"] = ks_distance(ref, cdf)[0]
        d["mean_abs_c_minus_eq10"] = float(np.nanmean(np.abs(C - ref)))
        d["frac_abs_c_le_abs_eq10"] = float(np.nanmean(np.abs(C) <= np.abs(ref)))
    if est is not None:
        d["sigma_T"] = split_half_noise(est)
        d["time_samples"] = est.samples
    return d


def _corr_dataset(name: str, C, ref, pairs, units, hist: dict, attrs: dict) -> xr.Dataset:
    return xr.Dataset(
        {
            f"C_{name}": (("pair",), C, {"long_name": "measured correlation C_ij (Eq. 4)"}),
            f"eq10_{name}": (("pair",), ref, {"long_name": "Eq. 10 value of the same pair"}),
            f"pair_i_{name}": (("pair",), units[pairs[:, 0]].astype(np.int64)),
            f"pair_j_{name}": (("pair",), units[pairs[:, 1]].astype(np.int64)),
            f"hist_{name}": (("bin",), hist["density"], {"long_name": "histogram density"}),
            f"theory_{name}": (("bin",), hist["theory"], {"long_name": "limit density"}),
        },
        coords={"bin": ("bin", hist["centres"], {"long_name": "correlation (bin centre)"})},
        attrs={k: (v if not isinstance(v, dict) else str(v)) for k, v in attrs.items()},
    )


def _gegen_run(sc, n, p, seed, s):
    cfg = _cfg(sc, n, p, seed)
    phi = cfg.phi()
    conn = conn_mod.paper(n, p, phi, seed, jnp.float32)
    t0 = time.perf_counter()
    est, units = correlations_of_run(cfg, conn, n_units=sc["units"], n_pairs=sc["pairs"])
    C = est.correlations()
    xi = np.asarray(conn.F, dtype=np.float64)[units]
    ref = th.cosine_bound(xi, est.pairs)
    wall = time.perf_counter() - t0
    s.log(f"N = {n:,}, p = {p}: {cfg.duration:g} s simulated in {wall:.1f} s")
    return cfg, conn, est, units, C, ref, wall


# ----------------------------------------------------------------------------- panels
# Each panel computes its numbers and writes its data (NetCDF) into the session's folder; it
# returns its part of the summary and what its figure (lowdim.figures.fig1) draws.
def _panel_a(sc, s, seed):
    # direct ring correlations cos(θ_i − θ_j) at N = ring_direct_n
    theta = ring_angles(sc["ring_direct_n"], seed)
    pairs = sample_pairs(len(theta), sc["ring_direct_pairs"], seed)
    cos_direct = ring_correlations(theta, pairs)
    ks_direct, pv_direct = ks_distance(cos_direct, th.arcsine_cdf)
    # ring RNN
    cfg = _cfg(sc, sc["ring_n"], 2, seed)
    t0 = time.perf_counter()
    r = ring_rnn_correlations(cfg, n_units=sc["units"], n_pairs=sc["pairs"])
    wall = time.perf_counter() - t0
    s.log(f"ring RNN N = {cfg.neurons:,}: {cfg.duration:g} s simulated in {wall:.1f} s")
    st = _stats(r["C"], th.arcsine_cdf, ref=r["cos"], est=r["est"])
    st.update(neurons=cfg.neurons, duration=cfg.duration, wall_seconds=wall)
    h_rnn = histogram(r["C"], th.arcsine_pdf)
    h_dir = histogram(cos_direct, th.arcsine_pdf)
    ds = _corr_dataset("ring_rnn", r["C"], r["cos"], r["est"].pairs, r["units"], h_rnn, st)
    ds["hist_ring_direct"] = (("bin",), h_dir["density"])
    ds.attrs.update(
        ks_direct=ks_direct,
        direct_neurons=len(theta),
        direct_pairs=len(pairs),
        config=cfg.to_json(),
    )
    s.dataset(ds, "fig1a.nc")
    picture = {"direct": h_dir, "rnn": h_rnn, "direct_neurons": len(theta)}
    picture["rnn_neurons"] = cfg.neurons
    return {"ks_direct": ks_direct, "ks_direct_pvalue": pv_direct, "rnn": st}, picture


def _panel_b(sc, s, seed):
    res, hists = {}, {}
    for p in (2, 4):
        cfg, conn, est, units, C, ref, wall = _gegen_run(sc, sc["gegen_n"], p, seed, s)
        pdf, cdf = th.density("gegenbauer", p)
        st = _stats(C, cdf, ref=ref, est=est, p=p)
        st.update(neurons=cfg.neurons, duration=cfg.duration, wall_seconds=wall)
        res[f"p{p}"] = st
        h = histogram(C, pdf)
        hists[p] = h
        ds = _corr_dataset(f"p{p}", C, ref, est.pairs, units, h, st)
        ds.attrs["config"] = cfg.to_json()
        s.dataset(ds, f"fig1b_p{p}.nc")
    return res, {"hists": hists, "neurons": sc["gegen_n"]}


def _panel_c(sc, s, seed):
    alpha = sc["conc_alpha"]
    res, curves, largest = {}, [], None
    data = {}
    for n in sc["conc_n"]:
        p = max(2, int(round(alpha * n)))
        cfg, conn, est, units, C, ref, wall = _gegen_run(sc, n, p, seed, s)
        st = _stats(C, lambda z, p=p: th.normal_cdf(z, p), ref=ref, est=est, p=p)
        st["ks_gegenbauer"] = ks_distance(C, lambda z, p=p: th.gegenbauer_cdf(z, p))[0]
        st.update(neurons=n, rank=p, duration=cfg.duration, wall_seconds=wall)
        res[f"N{n}"] = st
        h = histogram(C, lambda z, p=p: th.normal_pdf(z, p))
        curves.append((n, p, h))
        data[f"hist_N{n}"] = (("bin",), h["density"], {"rank": p})
        data[f"C_N{n}"] = ((f"pair_N{n}",), C)
        data[f"eq10_N{n}"] = ((f"pair_N{n}",), ref)
        largest = (n, p, cfg, conn, units)
    n, p, cfg, conn, units = largest
    data["theory_largest"] = (("bin",), curves[-1][2]["theory"], {"rank": p})
    ds = xr.Dataset(data, coords={"bin": curves[-1][2]["centres"]}, attrs={"alpha": alpha})
    # incoming-weight norms of the largest network (Eq. 14), from the factors (no N×N)
    phi = cfg.phi()
    norms = conn.row_norms()
    rec = norms[cfg.n_in :]
    mean_sq, var_sq = th.norm_sq_moments(n, p, phi)
    norm_res = {
        "neurons": n,
        "rank": p,
        "alpha": p / n,
        "norm_mean": float(rec.mean()),
        "norm_std": float(rec.std()),
        "norm_theory": th.norm_limit(p / n, phi.c),
        "norm_theory_finite_n": math.sqrt(mean_sq),
        "norm_sq_var": float(np.var(rec**2)),
        "norm_sq_var_theory": th.norm_sq_var_limit(p / n, phi.c, n),
        "norm_sq_var_exact": var_sq,
        "frac_outside_3sigma": fraction_outside(rec**2, mean_sq, math.sqrt(var_sq), k=3.0),
    }
    ds["norm"] = (("neuron",), norms, {"long_name": "‖J_i‖₂ (s)", "units": "s"})
    ds.attrs.update({k: v for k, v in norm_res.items()})
    s.dataset(ds, "fig1c.nc")
    return res, norm_res, {"curves": curves, "alpha": alpha}


def _panel_e(sc, s, seed, progress):
    cfg = RunConfig(
        neurons=sc["traces_n"],
        rank=sc["traces_p"],
        duration=sc["traces_duration"],
        dt=1e-4,
        seed=seed,
        record_neurons=11,
        record_dt=1e-3,
        burn_in=min(0.1, sc["traces_duration"] / 2),
        networks="both",
        noise_time_unit="s",
    )
    t0 = time.perf_counter()
    ds = simulate(cfg, progress=progress)
    wall = time.perf_counter() - t0
    s.log(f"paired run N = {cfg.neurons:,}, p = {cfg.p}: {wall:.1f} s")
    s.dataset(ds, "fig1e.nc")
    res = {
        "neurons": cfg.neurons,
        "rank": cfg.p,
        "alpha": cfg.alpha,
        "duration": cfg.duration,
        "dt": cfg.dt,
        "wall_seconds": wall,
        "distance_rec": float(ds.attrs["distance_rec"]),
        "ff_bound_sqrt_alpha": float(feedforward_line(cfg.alpha, cfg.phi(), cfg.tau)),
        "rate_snn_hz": float(ds.attrs["rate_snn_hz"]),
        "rate_rnn_hz": float(ds.attrs["rate_rnn_hz"]),
    }
    return res, ds


def _eq12_table() -> dict:
    p2 = {
        "exact_tail": float(th.pair_tail_exact(0.9, 2)),
        "hand_value": 1 - 2 / math.pi * math.asin(0.9),
        "printed_factor": float(th.printed_pair_factor(0.9, 2)),
        "corrected_bound": float(th.pair_tail_bound(0.9, 2)),
    }
    eps_star = {str(p): th.failure_eps_max(p) for p in (2, 3, 4, 5, 10, 20, 50, 100, 1000)}
    min_p = {
        f"N={n:.0e},eps={e},delta=0.05": th.min_rank_duplicate_free(n, e, 0.05)
        for n in (10**4, 10**6, 10**8)
        for e in (0.5, 0.2)
    }
    return {"p2_eps0.9": p2, "failure_eps_max": eps_star, "min_rank": min_p}


# ----------------------------------------------------------------------------- run
def run(scale: str = "small", out: Path | str = "fig1", progress: bool = True, seed: int = 0):
    """Reproduce Fig. 1 at ``scale`` ("small", "paper" or "test") into the folder ``out``."""
    sc = STUDY.settings(scale)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create output folder {str(out)!r} ({e.strerror})") from None
    with STUDY.session(scale, out, progress) as s:
        with s.phase(PHASES[0]):
            # deferred: the figures module imports matplotlib (start-up time), needed from here
            from ..figures import fig1 as figures

            a, picture = _panel_a(sc, s, seed)
            s.figure(figures.ring(**picture), "fig1a")
        with s.phase(PHASES[1]):
            b, picture = _panel_b(sc, s, seed)
            s.figure(figures.fixed_rank(**picture), "fig1b")
        with s.phase(PHASES[2]):
            c, norms, picture = _panel_c(sc, s, seed)
            s.figure(figures.load(**picture), "fig1c")
        with s.phase(PHASES[3]):
            s.figure(figures.setup(), "fig1d")
        with s.phase(PHASES[4]):
            e, traces = _panel_e(sc, s, seed, progress)
            s.figure(figures.traces(traces), "fig1e")
        with s.phase(PHASES[5]):
            largest = f"N{sc['conc_n'][-1]}"
            summary = {
                "scale": scale,
                "seed": seed,
                "noise_time_unit": "s",
                "ks_ring": a["rnn"]["ks"],
                "ks_ring_direct": a["ks_direct"],
                "ks_gegenbauer_p2": b["p2"]["ks"],
                "ks_gegenbauer_p4": b["p4"]["ks"],
                "ks_normal_largest_n": c[largest]["ks"],
                "norm_mean": norms["norm_mean"],
                "norm_theory": norms["norm_theory"],
                "norm_theory_finite_n": norms["norm_theory_finite_n"],
                "distance_rec_fig1e": e["distance_rec"],
                "wall_seconds": s.elapsed(),
                "panels": {"A": a, "B": b, "C": c, "norms": norms, "E": e},
                "eq12": _eq12_table(),
                "files": sorted(s.files),  # the panels and their data (not the text results)
            }
            written = s.finish(summary, _results(sc, summary), _report(sc, summary), files=False)
    return {k: v for k, v in written.items() if k not in ("panels", "eq12", "files")}


def _results(sc: dict, s: dict) -> list[Result]:
    """The key numbers: every KS distance, σ_T, Var C with its theory, the weight norms, Δ.

    One row per number: (quantity, its summary path, its theory — a number, or the summary path
    of one — the theory's reference, units)."""
    A, nm, E = (s["panels"][k] for k in ("A", "norms", "E"))
    ring = A["rnn"]
    rows = [
        (
            f"A: KS cos(θᵢ−θⱼ) vs arcsine, N = {sc['ring_direct_n']:,}, "
            f"{sc['ring_direct_pairs']:,} pairs",
            "ks_ring_direct",
            0.0,
            "(Eq. 5)",
            "",
        ),
        (
            f"A: KS ring RNN, N = {ring['neurons']:,}, T = {ring['duration']:g} s",
            "ks_ring",
            0.0,
            "(Eq. 5)",
            "",
        ),
        (
            "A: KS of cos(θᵢ−θⱼ) of the same pairs (T → ∞)",
            "panels.A.rnn.ks_eq10",
            0.0,
            "(Eq. 5)",
            "",
        ),
        (
            "A: mean abs(C − cos(θᵢ−θⱼ)) (theory σ_T·√(2/π))",
            "panels.A.rnn.mean_abs_c_minus_eq10",
            ring["sigma_T"] * math.sqrt(2 / math.pi),
            "",
            "",
        ),
        ("A: σ_T (finite-T noise)", "panels.A.rnn.sigma_T", None, "", ""),
        ("A: Var C", "panels.A.rnn.var", 0.5, "(Eq. 5)", ""),
    ]
    for p in (2, 4):
        at = f"panels.B.p{p}"
        r = lookup(s, at)
        where = f"B: p = {p}, N = {r['neurons']:,}, T = {r['duration']:g} s"
        rows += [
            (f"{where}: KS", f"ks_gegenbauer_p{p}", 0.0, "(Eq. 11)", ""),
            (f"{where}: KS(Eq. 10)", f"{at}.ks_eq10", 0.0, "", ""),
            (f"{where}: σ_T", f"{at}.sigma_T", None, "", ""),
            (f"{where}: mean abs(C − Eq. 10)", f"{at}.mean_abs_c_minus_eq10", None, "", ""),
            (f"{where}: Var C", f"{at}.var", f"{at}.var_theory", "(= 1/p)", ""),
        ]
    for n in sc["conc_n"]:
        at = f"panels.C.N{n}"
        where = f"C: N = {n:,}, p = {lookup(s, at)['rank']}"
        rows += [
            (f"{where}: KS vs N(0, 1/p)", f"{at}.ks", 0.0, "(normal limit)", ""),
            (f"{where}: KS vs Eq. 11", f"{at}.ks_gegenbauer", 0.0, "(Eq. 11)", ""),
            (f"{where}: KS(Eq. 10) vs normal", f"{at}.ks_eq10", None, "", ""),
            (f"{where}: σ_T", f"{at}.sigma_T", None, "", ""),
            (f"{where}: Var C", f"{at}.var", f"{at}.var_theory", "(= 1/p)", ""),
        ]
    where, var = f"N = {nm['neurons']:,}, p = {nm['rank']}", "Var ‖J_i‖² across neurons"
    norms = "panels.norms"
    rows += [
        (f"mean ‖J_i‖₂, {where}", "norm_mean", "norm_theory", "(√(α/c), Eq. 14)", "s"),
        (
            f"mean ‖J_i‖₂, {where} (finite N)",
            "norm_mean",
            "norm_theory_finite_n",
            "(√((N−1)p/(cN²)))",
            "s",
        ),
        (
            var,
            f"{norms}.norm_sq_var",
            f"{norms}.norm_sq_var_theory",
            "(2α(1+α)/(c²N))",
            "s⁴",
        ),
        (
            f"{var} (exact over ξ)",
            f"{norms}.norm_sq_var",
            f"{norms}.norm_sq_var_exact",
            "(exact over ξ)",
            "s⁴",
        ),
        (
            "fraction of ‖J_i‖² outside mean ± 3 sd",
            f"{norms}.frac_outside_3sigma",
            0.0027,
            "(normal: 2(1 − Φ(3)))",
            "",
        ),
        (
            f"E: Δ_N^rec, N = {E['neurons']:,}, p = {E['rank']} (bound for comparison only)",
            "distance_rec_fig1e",
            "panels.E.ff_bound_sqrt_alpha",
            "(√(max φ/(2τc))·√α, SM Sec. V)",
            "",
        ),
        ("E: mean rate SNN", "panels.E.rate_snn_hz", None, "", "Hz"),
        ("E: mean rate RNN", "panels.E.rate_rnn_hz", None, "", "Hz"),
        (
            "Eq. 12: exact tail P(abs(C) ≥ 0.9), p = 2",
            "eq12.p2_eps0.9.exact_tail",
            "eq12.p2_eps0.9.hand_value",
            "(1 − (2/π) arcsin 0.9)",
            "",
        ),
    ]
    return [
        Result.at(
            s,
            key,
            quantity,
            theory if isinstance(theory, str) else "",
            theory=None if isinstance(theory, str) else theory,
            reference=reference,
            units=units,
        )
        for quantity, key, theory, reference, units in rows
    ]


def _report(sc: dict, s: dict) -> str:
    A, C, E = (s["panels"][k] for k in ("A", "C", "E"))
    q = s["eq12"]
    L = [
        f"# Fig. 1 reproduction ({s['scale']} scale, seed {s['seed']})",
        "",
        "Units: SI (time in s, τ = 0.01 s, φ in Hz, c in Hz², J in s); Brownian motions B_μ in "
        'seconds, `noise_time_unit = "s"` (stationary std of the input-driven part of h^in '
        "σ/√(2τ) ≈ 3.5). Correlations are those of RNN potentials x_i (Eq. 4) of 'rec' units, "
        f"sampled every {sc['record_dt'] * 1e3:g} ms after {sc['burn_in']:g} s burn-in, "
        f"dt = {sc['dt'] * 1e3:g} ms, {sc['units']} recorded units, {sc['pairs']:,} random pairs.",
        "",
        "**Reading the KS distances.** Each correlation is estimated over a finite time T; its "
        "error has std σ_T (measured as std(C_first half − C_second half)/2). σ_T blurs the "
        "histogram and biases KS upward; `KS(Eq. 10)` is the KS distance of the "
        "cosine similarities of the same pairs (the T → ∞ value, pure pair-sampling noise). "
        "p-values assume independent pairs and ignore σ_T; they are given for orientation only.",
        "",
        f"Wall time: {s['wall_seconds']:.0f} s.",
        "",
        "## Key numbers",
        "",
        "A: ring model (Eq. 5, arcsine); B: fixed rank (Eq. 11, Gegenbauer); C: load "
        f"α = {sc['conc_alpha']:g} (normal, variance 1/p); the incoming-weight norms (Eq. 14) of "
        "the 'rec' neurons of the largest network of C; E: paired SNN/RNN traces.",
        "",
        "{results}",
        "",
        "## A — ring model",
        "",
        f"The direct KS distance of cos(θᵢ−θⱼ) has p = {A['ks_direct_pvalue']:.2f}; its "
        f"sampling scale is ~0.87/√pairs = {0.87 / math.sqrt(sc['ring_direct_pairs']):.4f}.",
        "",
        "## C — load α",
        "",
        (
            "At small scale the load is larger than the paper's α = 10⁻⁴ so that p grows to 50 at "
            "N = 2.5·10⁴; the paper scale uses α = 10⁻⁴ with N = 2·10⁴, 10⁵, 10⁶ (p = 2, 10, 100; "
            "N = 10⁴ would give p = 1)."
        )
        if s["scale"] != "paper"
        else "N = 10⁴ would give p = 1 (every abs(C) = 1); the smallest network is N = 2·10⁴ (p = 2).",
        "",
        "The finite-T noise adds σ_T² to Var C: 1/p + σ_T² = "
        + "; ".join(
            f"{1 / r['rank'] + r['sigma_T'] ** 2:.5f} (N = {r['neurons']:,})"
            for r in (C[f"N{n}"] for n in sc["conc_n"])
        )
        + ".",
        "",
        "## E — paired SNN/RNN traces",
        "",
        f"N = {E['neurons']:,}, p = {E['rank']} (α = {E['alpha']:.2g}), {E['duration']:g} s, "
        f"dt = {E['dt'] * 1e3:g} ms, simulated in {E['wall_seconds']:.0f} s. The feedforward "
        "bound √(max φ/(2τc))·√α (SM Sec. V) next to Δ_N^rec is for comparison only."
        + (
            ""
            if s["scale"] == "paper"
            else " (The paper's panel is N = 10⁶, p = 100: `--scale paper`.)"
        ),
        "",
        "Panel D is a schematic of the setup (in/rec halves, shared ξ and B(t)).",
        "",
        "## Eq. 12 — duplicate bound",
        "",
        "p = 2, ε = 0.9 (the exact tail P(abs(C) ≥ ε), and by hand, in Key numbers): printed "
        f"factor (1−ε²)^((p−1)/2)/√π = {q['p2_eps0.9']['printed_factor']:.4f} < exact, so the printed "
        f"Eq. 12 is not a bound there; the corrected closed form √2(1−ε²)^((p−1)/2)/(ε√(π(p−1))) "
        f"= {q['p2_eps0.9']['corrected_bound']:.4f} ≥ exact.",
        "",
        "The printed factor falls below the exact tail for ε < ε*(p) (p = 2: all ε):",
        "",
        "| p | " + " | ".join(q["failure_eps_max"]) + " |",
        "|---|" + "---|" * len(q["failure_eps_max"]),
        "| ε*(p) | " + " | ".join(f"{v:.4f}" for v in q["failure_eps_max"].values()) + " |",
        "",
        "Smallest p with N(N−1)/2 · P(abs(C) ≥ ε) ≤ δ = 0.05 (exact tail):",
        "",
    ]
    L += [f"- {k}: p = {v}" for k, v in q["min_rank"].items()]
    L += ["", "Files: " + ", ".join(s["files"]), ""]
    return "\n".join(L)
