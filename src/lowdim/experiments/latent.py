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
from pathlib import Path

import numpy as np
import xarray as xr

from ..analysis.stats import rms_of
from ..errors import ConfigError
from ..io import json_safe, save, staged_output
from ..models.latent import (
    gaussian_rank2,
    power_law_fit,
    relative_error,
    sample_drive,
)
from ..network import Poisson, Rate
from ..plotting import plt, save_panel
from ..probes import Projection
from ..solve import Grid
from ._common import Log, write_results

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


_log = Log("latent")


class _Pulse:
    """t ↦ (pulse coefficients) on [start, stop) (boundaries within 1 µs of the grid)."""

    def __init__(self, amp, start, stop):
        self.amp, self.start, self.stop = tuple(amp), start, stop

    def __call__(self, t):
        import jax.numpy as jnp

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
        import jax.numpy as jnp

        return self.inner(jnp.tanh(z))


class _UniformDensity:
    """z uniform on [−√3, √3]^2 (mean 0, unit variance); Gauss–Legendre quadrature."""

    dim = 2
    name = "uniform"

    def __call__(self, key, rows, dtype):
        import jax

        a = math.sqrt(3.0)
        return jax.random.uniform(key, (rows, self.dim), dtype, -a, a)

    def quadrature(self, order=None):
        from ..models.latent import Quadrature

        x, w = np.polynomial.legendre.leggauss(int(order or 64))
        x, w = x * math.sqrt(3.0), w / w.sum()
        g = np.meshgrid(x, x, indexing="ij")
        wg = np.meshgrid(w, w, indexing="ij")
        nodes = np.stack([v.reshape(-1) for v in g], axis=1)
        return Quadrature(nodes, wg[0].reshape(-1) * wg[1].reshape(-1), f"Gauss–Legendre {len(x)}²")


def _model(J, P):
    """The latent model of P's named f, g and density with coupling J (the default choices
    give :func:`lowdim.models.latent.gaussian_rank2`)."""
    from dataclasses import replace

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


def _runs(model, sc, u, ref, seed, progress):
    from ..engine import run as run_net

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
            _log(
                progress,
                f"N = {n:,} seed {s}: error rate {row['err_rate']:.4g}, Poisson "
                f"{row['err_poisson']:.4g} ({row['seconds']:.1f} s)",
            )
    return rows, examples


# ----------------------------------------------------------------------------- figures
def _phase_panel(ax, model, lim, fps, trajs, title):
    K1, K2, V1, V2 = model.flow(lim, lim, 25)
    speed = np.hypot(V1, V2)
    ax.streamplot(
        K1,
        K2,
        V1,
        V2,
        color=np.log10(speed + 1e-9),
        cmap="Greys",
        density=1.1,
        linewidth=0.6,
        arrowsize=0.7,
    )
    F1, F2, W1, W2 = model.flow(lim, lim, 201)
    ax.contour(F1, F2, W1, levels=[0], colors="C0", linewidths=1.2)
    ax.contour(F1, F2, W2, levels=[0], colors="C1", linewidths=1.2)
    ax.plot([], [], "C0", label="κ₁-nullcline")
    ax.plot([], [], "C1", label="κ₂-nullcline")
    marks = {
        "stable": ("o", "k"),
        "saddle": ("X", "C3"),
        "unstable": ("o", "w"),
        "neutral": ("s", "C2"),
    }
    for kind, (mk, fc) in marks.items():
        pts = [f["kappa"] for f in fps if f["stability"] == kind]
        if pts:
            pts = np.array(pts)
            ax.plot(
                pts[:, 0],
                pts[:, 1],
                mk,
                mfc=fc,
                mec="k",
                ms=8,
                ls="none",
                label=f"{kind} fixed point",
            )
    for k, style, label in trajs:
        ax.plot(k[:, 0], k[:, 1], style, lw=1.3, label=label)
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel("κ₁")
    ax.set_ylabel("κ₂")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, loc="lower left")


def _fig_phase(model, cyc, fps, fps_c, ref, ref_c, examples, cyc_net, out):
    fig, ax = plt.subplots(1, 2, figsize=(11, 5))
    n_small = min(examples)
    trajs = [
        (ref.kappa, "k-", "κ equations (pulse at 0.1 s)"),
        (examples[n_small][:, 0], "C0--", f"rate network, N = {n_small:,}"),
        (examples[n_small][:, 1], "C3:", f"Poisson network, N = {n_small:,}"),
    ]
    _phase_panel(
        ax[0], model, (-2.2, 2.2), fps, trajs, "J = diag(2, 1.5): two attractors (no input)"
    )
    trajs_c = [
        (ref_c.kappa, "k-", "κ equations"),
        (cyc_net[:, 0], "C0--", "rate network"),
        (cyc_net[:, 1], "C3:", "Poisson network"),
    ]
    _phase_panel(ax[1], cyc, (-2.2, 2.2), fps_c, trajs_c, "J = 2 R(45°): a limit cycle")
    fig.tight_layout()
    return save_panel(fig, out, "latent_phase")


def _fig_traces(ref, examples, out):
    fig, ax = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    t = ref.t
    for d in range(2):
        ax[d].plot(t, ref.kappa[:, d], "k", lw=2, label="κ equations")
        for n, c in zip(sorted(examples), ("C0", "C1", "C2", "C4", "C5", "C6", "C7"), strict=False):
            ax[d].plot(t, examples[n][:, 0, d], c, lw=0.9, label=f"rate, N = {n:,}")
            ax[d].plot(t, examples[n][:, 1, d], c, lw=0.6, ls=":", label=f"Poisson, N = {n:,}")
        ax[d].axvspan(PARAMS["pulse_start"], PARAMS["pulse_stop"], color="0.9")
        ax[d].set_ylabel(f"κ{d + 1}")
    ax[1].set_xlabel("time (s)")
    ax[0].legend(fontsize=6, ncol=2)
    ax[0].set_title(
        "networks projected on F (least squares) vs the κ equations; grey: input pulse", fontsize=9
    )
    fig.tight_layout()
    return save_panel(fig, out, "latent_traces")


def _fig_error(rows, fits, theory, out):
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    Ns = np.array(sorted({r["neurons"] for r in rows}))
    for key, c, m, name in (("err_rate", "C0", "o", "rate"), ("err_poisson", "C3", "^", "Poisson")):
        ax.loglog(
            [r["neurons"] for r in rows], [r[key] for r in rows], c + m, mfc="none", alpha=0.5
        )
        f = fits[key]
        ax.loglog(
            Ns,
            [rms_of(rows, key, neurons=n) for n in Ns],
            c + m,
            ms=8,
            label=f"{name}: RMS over seeds; slope {f['slope']:.2f} "
            f"[{f['ci'][0]:.2f}, {f['ci'][1]:.2f}]",
        )
    q, s = theory["rel_quenched"], theory["rel_spike"]
    ax.loglog(Ns, q / np.sqrt(Ns), "C0-", lw=1, label=f"theory, rate: {q:.2f}/√N (quenched z)")
    ax.loglog(
        Ns,
        math.hypot(q, s) / np.sqrt(Ns),
        "C3--",
        lw=1,
        label=f"theory, Poisson: {math.hypot(q, s):.2f}/√N (+ spike noise)",
    )
    ax.set_xlabel("N")
    ax.set_ylabel("‖κ_N − κ‖ / ‖κ‖ over time")
    ax.set_title("N-neuron networks → κ equations", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_panel(fig, out, "latent_error")


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
    from . import settings as st

    cfg = st.resolve(sys.modules[__name__], "latent", scale, seed, config, settings)
    with st.use_params(sys.modules[__name__], cfg["model"]):
        return _run(cfg, out, progress)


def _run(cfg, out, progress):
    from . import settings as st

    scale, seed, sc = cfg["scale"], cfg["seed"], cfg["run"]
    P = PARAMS
    t_start = time.perf_counter()
    with staged_output(out) as tmp:
        tmp = Path(tmp)
        model = _model(P["J"], P)
        cyc = _cycle_model(P)
        grid = Grid.of(sc["duration"], sc["dt"], sc["record_dt"])
        u = sample_drive(
            _Pulse(P["pulse"], P["pulse_start"], P["pulse_stop"]), sc["dt"], grid.steps
        )
        _log(progress, "phase 1/3: κ equations, fixed points, first-order finite-N theory")
        ref = model.integrate(P["kappa0"], sc["dt"], grid.steps, grid.record_every, drive=u)
        rk4 = model.integrate(
            P["kappa0"], sc["dt"], grid.steps, grid.record_every, drive=u, scheme="rk4", refine=8
        )
        theory = model.finite_n_theory(
            P["kappa0"], sc["dt"], grid.steps, grid.record_every, drive=u
        )
        starts = np.array([[a, b] for a in np.linspace(-2, 2, 5) for b in np.linspace(-2, 2, 5)])
        fps = model.fixed_points(starts)
        fps_c = cyc.fixed_points(starts)
        cyc_steps = int(round(0.3 / sc["dt"]))
        ref_c = cyc.integrate((0.05, 0.0), sc["dt"], cyc_steps, 1)
        _log(progress, "phase 2/3: networks (paired rate / Poisson) against the κ equations")
        rows, examples = _runs(model, sc, u, ref, seed, progress)
        fits = {
            k: power_law_fit([r["neurons"] for r in rows], [r[k] for r in rows])
            for k in ("err_rate", "err_poisson")
        }
        _log(progress, "phase 3/3: a limit-cycle network for the phase portrait")
        # a limit-cycle network for the phase portrait
        from ..engine import run as run_net

        n_c = min(sc["neurons"][-1], 100_000)
        net_c, F_c = cyc.network(
            n_c,
            (Rate(cyc.phi), Poisson(cyc.phi)),
            seed=seed,
            kappa0=(0.05, 0.0),
            loadings=sc["loadings"],
        )
        cyc_net = run_net(
            net_c, Grid(sc["dt"], cyc_steps, 1), {"kappa": Projection.least_squares(F_c)}, seed=seed
        ).kappa.values

        files = []
        files += _fig_phase(model, cyc, fps, fps_c, ref, ref_c, examples, cyc_net, tmp)
        files += _fig_traces(ref, examples, tmp)
        files += _fig_error(rows, fits, theory, tmp)
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
            attrs={"scale": scale, "seed": seed, "model": str(P)},
        )
        for n, k in examples.items():
            ds[f"kappa_rate_N{n}"] = (("time", "component"), k[:, 0])
            ds[f"kappa_poisson_N{n}"] = (("time", "component"), k[:, 1])
        save(ds, tmp / "latent.nc")
        files.append("latent.nc")
        wall = time.perf_counter() - t_start
        q, s = theory["rel_quenched"], theory["rel_spike"]
        summary = {
            "scale": scale,
            "seed": seed,
            "errors_by_n": {str(n): rms_of(rows, "err_rate", neurons=n) for n in sc["neurons"]},
            "errors_by_n_poisson": {
                str(n): rms_of(rows, "err_poisson", neurons=n) for n in sc["neurons"]
            },
            "spike_term_by_n": {
                str(n): rms_of(rows, "rate_vs_poisson", neurons=n) for n in sc["neurons"]
            },
            "error_slope": fits["err_rate"]["slope"],
            "error_slope_ci": fits["err_rate"]["ci"],
            "error_slope_poisson": fits["err_poisson"]["slope"],
            "error_slope_poisson_ci": fits["err_poisson"]["ci"],
            "error_theory_rate_sqrtN": q,
            "error_theory_poisson_sqrtN": math.hypot(q, s),
            "error_theory_spike_sqrtN": s,
            "engine_step_vs_rk4": relative_error(ref.kappa, rk4.kappa),
            "fixed_points": [
                {
                    "kappa": f["kappa"].tolist(),
                    "stability": f["stability"],
                    "eigenvalues": [float(v.real) for v in f["eigenvalues"]],
                }
                for f in fps
            ],
            "fixed_points_cycle": [
                {
                    "kappa": f["kappa"].tolist(),
                    "stability": f["stability"],
                    "eigenvalues": [complex(v).real for v in f["eigenvalues"]],
                }
                for f in fps_c
            ],
            "wall_seconds": wall,
        }
        full = {
            **summary,
            "rows": rows,
            "fits": fits,
            "files": sorted(files + ["report.md", "summary.json", "settings.toml"]),
            "settings": st.jsonable(cfg),
        }
        summary["settings"] = full["settings"]
        write_results(tmp, full, _report(sc, full), settings=st.to_toml(cfg))
    _log.done(progress, wall, out)
    return json_safe(summary)


def _report(sc, s) -> str:
    P = PARAMS
    q, qs = s["error_theory_rate_sqrtN"], s["error_theory_poisson_sqrtN"]
    fr, fp = s["fits"]["err_rate"], s["fits"]["err_poisson"]
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
        "use the engine's exponential step on the same grid; against RK4 (8 substeps) they "
        f"differ by {s['engine_step_vs_rk4']:.3g} (relative L2: the step's O(dt) error, the "
        "same for network and reduction, so it does not enter the comparison below). Wall time "
        f"{s['wall_seconds']:.0f} s (2 shared cores; timings vary with the machine's load).",
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
        "differ).",
        "",
        "| N | rate: RMS error | theory | Poisson: RMS error | theory | Poisson − rate "
        "(spike term) | theory | seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in sc["neurons"]:
        L.append(
            f"| {n:,} | {s['errors_by_n'][str(n)]:.4g} | {q / math.sqrt(n):.4g} | "
            f"{s['errors_by_n_poisson'][str(n)]:.4g} | {qs / math.sqrt(n):.4g} | "
            f"{s['spike_term_by_n'][str(n)]:.4g} | "
            f"{s['error_theory_spike_sqrtN'] / math.sqrt(n):.4g} | {sc['seeds']} |"
        )
    L += [
        "",
        f"Fitted slope of log error vs log N (OLS over all {fr['n']} runs, 95 % t-interval): "
        f"rate {fr['slope']:.3f} [{fr['ci'][0]:.3f}, {fr['ci'][1]:.3f}], Poisson "
        f"{fp['slope']:.3f} [{fp['ci'][0]:.3f}, {fp['ci'][1]:.3f}]; theory −0.5.",
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
