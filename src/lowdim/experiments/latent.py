"""Lecture: the latent reduction κ — N neurons described by D equations, and how fast the
N-neuron network approaches them (1/√N).

Model (:func:`lowdim.models.latent.gaussian_rank2`): z_i ~ N(0, I₂), f(z) = z,
g(z) = (2/r_max) J z, φ(x) = r_max (1 + tanh x)/2 (r_max = 100 Hz), τ = 10 ms, so that
τ dκ/dt = −κ + J κ E[sech²(κ·z)] + I(t) (engine units; module docstring of
:mod:`lowdim.models.latent`). J = diag(2, 1.5): two stable fixed points, two saddles, an
unstable origin. A second model with J = 2 R(π/4) (a rotation) has a limit cycle.

Protocol: κ(0) = (0.5, 1.0), an input pulse along f₁ (I = (−3, 0) for 30 ms at t = 0.1 s)
switches the state between the two attractors. For N = 10³ … 10⁶ (several seeds: loadings from
the model's :class:`~lowdim.network.RowSampler`) the paired rate / Poisson network is projected
on F (least squares) and compared with the κ equations integrated on the same grid with the
engine's step. The error's first-order theory (``LatentModel.finite_n_theory``): quenched
sampling of z (both networks) plus spike noise (Poisson).

``run(scale, out)`` writes ``latent_phase.png/svg`` (flow fields, nullclines, fixed points,
trajectories), ``latent_traces.png/svg`` (κ(t) of the κ equations and of networks),
``latent_error.png/svg`` (error vs N with fits and theory), ``latent.nc``, ``report.md`` and
``summary.json`` (``errors_by_n``, ``error_slope`` with its CI, the Poisson's beside).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..analysis.stats import rms_by
from ..engine import run as run_net
from ..errors import ConfigError
from ..models.latent import Quadrature, gaussian_rank2, relative_error, sample_drive
from ..network import Poisson, Rate
from ..probes import Projection
from ..solve import Grid
from . import _lecture
from . import settings as st
from .harness import Result, Study

__all__ = ["run", "SCALES", "PARAMS"]

PARAMS = {
    "J": ((2.0, 0.0), (0.0, 1.5)),
    "J_cycle_gain": 2.0,
    "J_cycle_angle": math.pi / 4,
    "rmax": 100.0,
    "tau": 0.01,
    "kappa0": (0.5, 1.0),
    "pulse": (-3.0, 0.0),
    "pulse_start": 0.1,
    "pulse_stop": 0.13,
    "f": "identity",  # f(z) = z | "tanh": f(z) = tanh z
    "g": "linear",  # g(z) = (2/r_max) J z | "tanh": (2/r_max) J tanh z
    "density": "gaussian",  # z ~ N(0, I₂) | "uniform": uniform on [−√3, √3]² (unit variance)
}

#: one line per setting for `lowdim lecture latent --help`
SETTING_HELP = {
    "f": "identity (f(z) = z) | tanh (f(z) = tanh z)",
    "g": "linear (g(z) = (2/r_max) J z) | tanh ((2/r_max) J tanh z)",
    "density": "gaussian (N(0, I₂)) | uniform (on [−√3, √3]², unit variance)",
    "J": "the coupling matrix of the main model (rows)",
}
F_CHOICES = ("identity", "tanh")
G_CHOICES = ("linear", "tanh")
DENSITIES = ("gaussian", "uniform")

_COMMON = {"dt": 5e-4, "duration": 0.25, "record_dt": 2.5e-3, "loadings": "arrays"}
SCALES = {
    "small": {**_COMMON, "neurons": [1_000, 10_000, 100_000, 1_000_000], "seeds": 3},
    "large": {
        **_COMMON,
        "dt": 1e-4,
        "neurons": [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000],
        "seeds": 6,
    },
    "test": {**_COMMON, "duration": 0.2, "neurons": [500, 2_000, 8_000], "seeds": 2},
}

STUDY = Study(
    "latent",
    SCALES,
    phases=(
        "κ equations, fixed points, first-order finite-N theory",
        "networks (paired rate / Poisson) against the κ equations",
        "a limit-cycle network for the phase portrait",
        "figures, data, report",
    ),
    what="the latent demo",
)


class _Pulse:
    """t ↦ (pulse coefficients) on [start, stop) (boundaries within 1 µs of the grid)."""

    def __init__(self, amp, start, stop):
        self.amp, self.start, self.stop = tuple(amp), start, stop

    def __call__(self, t):
        on = ((t >= self.start - 1e-6) & (t < self.stop - 1e-6)) * 1.0
        return jnp.stack([a * on for a in self.amp])


def _cycle_model(P):
    g, th = P["J_cycle_gain"], P["J_cycle_angle"]
    J = ((g * math.cos(th), -g * math.sin(th)), (g * math.sin(th), g * math.cos(th)))
    return _model(J, P)


class _TanhOf:
    """z ↦ inner(tanh z) (a named choice of f or g)."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, z):
        return self.inner(jnp.tanh(z))


class _UniformDensity:
    """z uniform on [−√3, √3]^2 (mean 0, unit variance); Gauss–Legendre quadrature."""

    dim = 2
    name = "uniform"

    def __call__(self, key, rows, dtype):
        a = math.sqrt(3.0)
        return jax.random.uniform(key, (rows, self.dim), dtype, -a, a)

    def quadrature(self, order=None):
        x, w = np.polynomial.legendre.leggauss(int(order or 64))
        x, w = x * math.sqrt(3.0), w / w.sum()
        g = np.meshgrid(x, x, indexing="ij")
        wg = np.meshgrid(w, w, indexing="ij")
        nodes = np.stack([v.reshape(-1) for v in g], axis=1)
        return Quadrature(nodes, wg[0].reshape(-1) * wg[1].reshape(-1), f"Gauss–Legendre {len(x)}²")


def _model(J, P):
    """The latent model of P's named f, g and density with coupling J (the default choices
    give :func:`lowdim.models.latent.gaussian_rank2`)."""
    for key, value, ok in (
        ("f", P["f"], F_CHOICES),
        ("g", P["g"], G_CHOICES),
        ("density", P["density"], DENSITIES),
    ):
        if value not in ok:
            raise ConfigError(f"unknown latent {key} {value!r}; choose one of {list(ok)}")
    model = gaussian_rank2(J, rmax=P["rmax"], tau=P["tau"])
    if (P["f"], P["g"], P["density"]) == ("identity", "linear", "gaussian"):
        return model
    f = model.f if P["f"] == "identity" else _TanhOf(model.f)
    g = model.g if P["g"] == "linear" else _TanhOf(model.g)
    density = model.density if P["density"] == "gaussian" else _UniformDensity()
    name = f"f={P['f']}, g={P['g']}, density={P['density']}"
    return replace(model, f=f, g=g, density=density, name=name)


def _runs(model, sc, u, ref, seed, log):
    grid = Grid.of(sc["duration"], sc["dt"], sc["record_dt"])
    rows, examples = [], {}
    for n in sc["neurons"]:
        for s in range(sc["seeds"]):
            t0 = time.perf_counter()
            net, F = model.network(
                n,
                (Rate(model.phi), Poisson(model.phi)),
                seed=seed * 1000 + s,
                kappa0=PARAMS["kappa0"],
                drive=u,
                loadings=sc["loadings"],
            )
            ds = run_net(net, grid, {"kappa": Projection.least_squares(F)}, seed=seed * 1000 + s)
            k = ds.kappa.values  # (T, 2 networks, D)
            row = {
                "neurons": n,
                "seed": s,
                "err_rate": relative_error(k[:, 0], ref.kappa),
                "err_poisson": relative_error(k[:, 1], ref.kappa),
                "rate_vs_poisson": relative_error(k[:, 1], k[:, 0], ref.kappa),
                "seconds": time.perf_counter() - t0,
            }
            rows.append(row)
            if s == 0:
                examples[n] = k
            log(
                f"N = {n:,} seed {s}: error rate {row['err_rate']:.4g}, Poisson "
                f"{row['err_poisson']:.4g} ({row['seconds']:.1f} s)",
            )
    return rows, examples


# ----------------------------------------------------------------------------- run
def run(
    scale: str | None = "small",
    out: str | Path = "lowdim-out/lecture-latent",
    progress: bool = True,
    seed: int | None = None,
    config=None,
    settings: dict | None = None,
) -> dict:
    """Run the latent-κ lecture demo at ``scale`` ("small", "large", "test") into ``out``.

    ``config`` (a TOML file or dict) and ``settings`` (key → value) change the model
    (:data:`PARAMS`: f, g, density, J, …) and the scale's settings; the settings used are saved
    in ``settings.toml`` and ``summary.json["settings"]``."""
    cfg = st.resolve(sys.modules[__name__], "latent", scale, seed, config, settings)
    with st.use_params(sys.modules[__name__], cfg["model"]):
        return _run(cfg, out, progress)


def _run(cfg, out, progress):
    scale, seed, sc = cfg["scale"], cfg["seed"], cfg["run"]
    P = PARAMS
    labels = STUDY.phases
    with STUDY.session(scale, out, progress) as s:
        with s.phase(labels[0]):
            model = _model(P["J"], P)
            cyc = _cycle_model(P)
            grid = Grid.of(sc["duration"], sc["dt"], sc["record_dt"])
            u = sample_drive(
                _Pulse(P["pulse"], P["pulse_start"], P["pulse_stop"]), sc["dt"], grid.steps
            )
            k0, every = P["kappa0"], grid.record_every
            ref = model.integrate(k0, sc["dt"], grid.steps, every, drive=u)
            rk4 = model.integrate(k0, sc["dt"], grid.steps, every, drive=u, scheme="rk4", refine=8)
            theory = model.finite_n_theory(k0, sc["dt"], grid.steps, every, drive=u)
            starts = np.array(
                [[a, b] for a in np.linspace(-2, 2, 5) for b in np.linspace(-2, 2, 5)]
            )
            fps = model.fixed_points(starts)
            fps_c = cyc.fixed_points(starts)
            cyc_steps = int(round(0.3 / sc["dt"]))
            ref_c = cyc.integrate((0.05, 0.0), sc["dt"], cyc_steps, 1)
        with s.phase(labels[1]):
            rows, examples = _runs(model, sc, u, ref, seed, s.log)
            fits = _lecture.fits(rows, ("err_rate", "err_poisson"))
        with s.phase(labels[2]):
            n_c = min(sc["neurons"][-1], 100_000)
            net_c, F_c = cyc.network(
                n_c,
                (Rate(cyc.phi), Poisson(cyc.phi)),
                seed=seed,
                kappa0=(0.05, 0.0),
                loadings=sc["loadings"],
            )
            cyc_net = run_net(
                net_c,
                Grid(sc["dt"], cyc_steps, 1),
                {"kappa": Projection.least_squares(F_c)},
                seed=seed,
            ).kappa.values
        with s.phase(labels[3]):
            from ..figures import latent as figures  # deferred: matplotlib start-up time

            portraits = figures.phase_portraits(
                model, cyc, fps, fps_c, ref, ref_c, examples, cyc_net
            )
            s.figure(portraits, "latent_phase")
            s.figure(
                figures.traces(ref, examples, (P["pulse_start"], P["pulse_stop"])), "latent_traces"
            )
            s.figure(figures.errors(rows, fits, theory), "latent_error")
            s.dataset(_dataset(ref, rk4, rows, theory, examples, scale, seed), "latent.nc")
            summary = _summary(sc, scale, seed, rows, fits, theory, ref, rk4, fps, fps_c)
            return _lecture.finish(
                s,
                cfg,
                summary,
                {"rows": rows, "fits": fits},
                _results(sc, summary),
                lambda full: _report(sc, full),
            )


def _dataset(ref, rk4, rows, theory, examples, scale, seed) -> xr.Dataset:
    ds = xr.Dataset(
        {
            "kappa": (("time", "component"), ref.kappa, {"long_name": "κ equations"}),
            "kappa_rk4": (("time", "component"), rk4.kappa),
            "err_rate": (("run",), [r["err_rate"] for r in rows]),
            "err_poisson": (("run",), [r["err_poisson"] for r in rows]),
            "run_neurons": (("run",), [r["neurons"] for r in rows]),
            "run_seed": (("run",), [r["seed"] for r in rows]),
            "theory_quenched": (("time", "component", "component2"), theory["quenched"]),
            "theory_spike": (("time", "component", "component2"), theory["spike"]),
        },
        coords={
            "time": ("time", ref.t, {"units": "s"}),
            "component": [1, 2],
            "component2": [1, 2],
        },
        attrs={"scale": scale, "seed": seed, "model": str(PARAMS)},
    )
    for n, k in examples.items():
        ds[f"kappa_rate_N{n}"] = (("time", "component"), k[:, 0])
        ds[f"kappa_poisson_N{n}"] = (("time", "component"), k[:, 1])
    return ds


def _fixed_points(fps) -> list[dict]:
    return [
        {
            "kappa": f["kappa"].tolist(),
            "stability": f["stability"],
            "eigenvalues": [complex(v).real for v in f["eigenvalues"]],
        }
        for f in fps
    ]


def _summary(sc, scale, seed, rows, fits, theory, ref, rk4, fps, fps_c) -> dict:
    q, s = theory["rel_quenched"], theory["rel_spike"]
    ns = sc["neurons"]
    return {
        "scale": scale,
        "seed": seed,
        "errors_by_n": rms_by(rows, "err_rate", "neurons", ns),
        "errors_by_n_poisson": rms_by(rows, "err_poisson", "neurons", ns),
        "spike_term_by_n": rms_by(rows, "rate_vs_poisson", "neurons", ns),
        "error_slope": fits["err_rate"]["slope"],
        "error_slope_ci": fits["err_rate"]["ci"],
        "error_slope_poisson": fits["err_poisson"]["slope"],
        "error_slope_poisson_ci": fits["err_poisson"]["ci"],
        "error_theory_rate_sqrtN": q,
        "error_theory_poisson_sqrtN": math.hypot(q, s),
        "error_theory_spike_sqrtN": s,
        "engine_step_vs_rk4": relative_error(ref.kappa, rk4.kappa),
        "fixed_points": _fixed_points(fps),
        "fixed_points_cycle": _fixed_points(fps_c),
    }


#: the errors by N: (summary key, quantity, key of the theory's 1/√N prefactor, the terms of
#: the first-order theory)
_BY_N = (
    ("errors_by_n", "rate network: error", "error_theory_rate_sqrtN", "quenched z"),
    (
        "errors_by_n_poisson",
        "Poisson network: error",
        "error_theory_poisson_sqrtN",
        "quenched z + spikes",
    ),
    ("spike_term_by_n", "Poisson − rate (spike term)", "error_theory_spike_sqrtN", "spikes"),
)


def _results(sc, s) -> list[Result]:
    by_n = [
        (f"{key}.{n}", f"{what}, N = {n:,}", s[q] * (1 / math.sqrt(n)), "", f"(1st order: {src})")
        for n in sc["neurons"]
        for key, what, q, src in _BY_N
    ]
    slopes = [
        (key, f"{net} network: slope of log error vs log N", -0.5, "", "(1/√N)", f"{key}_ci")
        for key, net in (("error_slope", "rate"), ("error_slope_poisson", "Poisson"))
    ]
    step = ("engine_step_vs_rk4", "κ equations: engine step vs RK4, relative L2")
    return _lecture.declared(s, [*by_n, *slopes, step])


def _report(sc, s) -> str:
    P = PARAMS
    q, qs = s["error_theory_rate_sqrtN"], s["error_theory_poisson_sqrtN"]
    fr = s["fits"]["err_rate"]
    L = [
        f"# Latent reduction κ ({s['scale']} scale, seed {s['seed']})",
        "",
        "W_ij = (1/N) Σ_μ f_μ(z_i) g_μ(z_j), z_i ~ N(0, I₂), f(z) = z, g(z) = (2/r_max) J z, "
        f"φ(x) = r_max (1 + tanh x)/2, r_max = {P['rmax']:g} Hz, τ = {P['tau'] * 1e3:g} ms, "
        f"J = {P['J']}. In the engine's units (τ dx/dt = −x + W φ(x) + I) the κ equations are "
        "τ dκ_μ/dt = −κ_μ + ∫ ρ g_μ φ(f·κ) dz + I_μ(t) = −κ + J κ E[sech²(κ·z)] + I (Stein's "
        "lemma; the lecture's dκ/dt = −κ/τ + ∫… has W/τ for our W). Quadrature: the "
        "Gaussian-weighted trapezoid rule, 121 × 121 points on [−8, 8]².",
        "",
        f"Protocol: κ(0) = {P['kappa0']}, input I = {P['pulse']} (in the basis f) for "
        f"{P['pulse_start']:g} ≤ t < {P['pulse_stop']:g} s; {sc['duration']:g} s, "
        f"dt = {sc['dt'] * 1e3:g} ms, records every {sc['record_dt'] * 1e3:g} ms. The κ equations "
        "use the engine's exponential step on the same grid; their relative L2 distance to RK4 (8 "
        "substeps, key numbers) is the step's O(dt) error, the same for network and reduction, "
        f"so it does not enter the comparison below. Wall time {s['wall_seconds']:.0f} s (2 shared cores; timings vary with the machine's load).",
        "",
        "## Fixed points (no input)",
        "",
        "| κ | stability | eigenvalues (1/s) |",
        "|---|---|---|",
    ]
    for f in s["fixed_points"]:
        L.append(
            f"| ({f['kappa'][0]:.4f}, {f['kappa'][1]:.4f}) | {f['stability']} | "
            + ", ".join(f"{v:.2f}" for v in f["eigenvalues"])
            + " |"
        )
    L += [
        "",
        "Theory: stable points on the κ₁ axis where E[sech²(r ζ)] = 1/2, saddles on the κ₂ axis "
        "where it is 1/1.5, the origin unstable (eigenvalues (j − 1)/τ = 100, 50 1/s).",
        "",
        "Limit-cycle model J = 2 R(45°): "
        + "; ".join(
            f"({f['kappa'][0]:.3f}, {f['kappa'][1]:.3f}) {f['stability']}"
            for f in s["fixed_points_cycle"]
        )
        + " (theory: only the origin, unstable, with eigenvalues (2 cos 45° − 1)/τ ± i·2 sin 45°/τ "
        "= 41.4 ± 141.4i 1/s; the cycle at E[sech²] = 1/(2 cos 45°)).",
        "",
        "## N-neuron networks against the κ equations",
        "",
        "Paired rate / Poisson networks (same z_i from the model's RowSampler, same input, same "
        "initial state x0 = F κ(0)), κ_N = least-squares projection of the potentials on F. "
        "Error = ‖κ_N − κ‖/‖κ‖ over the record times. Theory (first order in 1/√N, "
        "`LatentModel.finite_n_theory`): κ_N − κ = (1/N) Σ_i S(z_i) for the quenched sampling of "
        f"z (RMS relative error {q:.3f}/√N, rate and Poisson alike) plus, for the Poisson "
        "twins, the spike noise (1/N) Σ_j g(z_j)(dZ_j − φ_j dt), a martingale with covariance "
        "(1/N) ∫ρ g gᵀ φ per unit time, filtered by the linearised κ dynamics "
        f"({s['error_theory_spike_sqrtN']:.3f}/√N): together {qs:.3f}/√N. Both terms fall like "
        "1/√N; the spike term is the extra noise of the spiking network — it averages over the N "
        "neurons exactly like the quenched term, because every neuron has weight 1/N. The paired "
        "run measures it alone: ‖κ_Poisson − κ_rate‖/‖κ‖ (same z, same input: only the spikes "
        "differ). Errors: RMS over "
        f"{sc['seeds']} seeds; slopes: OLS of log error vs log N over all {fr['n']} runs, 95 % "
        "t-interval (theory −0.5).",
        "",
        "{results}",
        "",
        "Per run:",
        "",
        "| N | seed | rate | Poisson | Poisson vs rate | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for r in s["rows"]:
        L.append(
            f"| {r['neurons']:,} | {r['seed']} | {r['err_rate']:.4g} | {r['err_poisson']:.4g}"
            f" | {r['rate_vs_poisson']:.4g} | {r['seconds']:.1f} |"
        )
    L += ["", "Files: " + ", ".join(s["files"]), ""]
    return "\n".join(L)
