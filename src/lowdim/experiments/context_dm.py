"""Lecture: context-dependent decision making — a trained low-rank RNN and its spiking twins.

``lowdim lecture context-dm [--train-steps K] [--out DIR]`` (``run``):

1. **Task** (:class:`lowdim.models.tasks.ContextDM`, Dubreuil et al.'s timing, dt = 20 ms).
2. **Training** of a rank-``rank`` rate network (N_t = 512, φ = the paper's φ with b = 0,
   τ = 100 ms) with Adam on the masked MSE of the readout, through :func:`lowdim.solve`
   (:mod:`lowdim.models.context_dm`); checkpoint ``store/train.ckpt`` (an interrupted run
   resumes), loss curve ``loss.png``, the model ``model.nc`` (NetCDF: F, G, U, W_out, config).
3. **Analysis**: held-out accuracy and psychometric curves per context (``psychometric.png``),
   latent trajectories κ(t) (``latent.png``), slow points of the latent dynamics (Eq. L) and
   the context-gated line attractor in the style of Mante et al. (``line_attractor.png``).
4. **Spiking twins**: a Gaussian mixture (1–3 components, chosen by held-out likelihood) fitted
   to the rows [F, G, U, W_out]; networks of N neurons drawn from it run the same held-out trials
   as paired RNN/Poisson SNN on the grid dt/``substeps`` (``twins.png``, ``twins.nc``); finished
   networks are kept in ``store/twins`` (a rerun skips them).

Scales: ``small`` (default; N = 10³, 10⁴, 10⁵; 144 twin trials; training ≈ 4–5 min and the
whole run ≈ 20 min on two shared CPU cores, most of it the Poisson twin at N = 10⁵),
``paper`` (2000 training steps, N up to 10⁶, 288 twin trials, more population draws: hours on
two CPU cores, meant for a GPU), ``test`` (a minute or two, for the test suite).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..analysis import mixture as mx
from ..analysis.stats import bootstrap_ci, interval, wilson
from ..errors import ConfigError
from ..io import atomic_write_json, save, staged_output
from ..models import context_dm as cd
from ..models.tasks import INPUTS, ContextDM, decisions
from ..plotting import plt, save_panel
from ..probes import Projection
from ..solve import Grid, solve
from ._common import Log, check_scale, write_results

__all__ = ["run", "SCALES", "wilson", "bootstrap_ci", "interval"]

#: anchors from the literature (issue 11)
ANCHORS = {
    "dubreuil_one_gaussian": 0.70,
    "dubreuil_two_populations": (0.92, 0.975),
    "kim_li_sejnowski_lif": 0.97,
}

#: coherences (× 0.1) of the psychometric curves: the task's ±{1, 2, 4} and weaker ones
PSYCH_LEVELS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0)

_TRAIN = {"neurons": 512, "rank": 1, "batch": 64, "lr": 1e-2, "train_steps": 1000}

SCALES = {
    "small": {
        "train": _TRAIN,
        "twin_n": (1_000, 10_000, 100_000),
        "draws": (3, 3, 1),
        "twin_repeats": 2,  # × 72 conditions = 144 held-out trials
        "psych_repeats": 8,  # 576 trials for the trained RNN
        "substeps": 5,  # SNN grid 4 ms: max φ · dt = 0.4
        "components_n": 10_000,
        "task": {},
    },
    "large": {
        "train": {**_TRAIN, "train_steps": 2000},
        "twin_n": (1_000, 10_000, 100_000, 1_000_000),
        "draws": (5, 5, 3, 1),
        "twin_repeats": 4,
        "psych_repeats": 16,
        "substeps": 5,
        "components_n": 100_000,
        "task": {},
    },
    "test": {
        "train": {"neurons": 64, "rank": 1, "batch": 16, "lr": 2e-2, "train_steps": 20},
        "twin_n": (100, 1_000),
        "draws": (2, 1),
        "twin_repeats": 1,
        "psych_repeats": 1,
        "substeps": 2,
        "components_n": 500,
        "task": {"context": 0.1, "stimulus": 0.2},
    },
}


_phase = Log("context-dm")


# ----------------------------------------------------------------------------- pieces
def _train_config(sc: dict, seed: int, **over) -> cd.TrainConfig:
    kw = dict(sc["train"])
    kw.update({k: v for k, v in over.items() if v is not None})
    return cd.TrainConfig(seed=seed, task=ContextDM(**sc["task"]), **kw)


def _accuracy_table(choice_net, trials) -> dict:
    """Accuracies overall, per |relevant coherence| and per context."""
    ch = np.asarray(trials["choice"])
    ok = np.asarray(choice_net) == ch
    ctx = np.asarray(trials["context"])
    rel = np.where(ctx == 1, np.asarray(trials["coh_b"]), np.asarray(trials["coh_a"]))
    levels = sorted(set(np.abs(rel).tolist()))
    return {
        "all": float(ok.mean()),
        "n": int(ok.size),
        "by_coherence": {f"{c:g}": float(ok[np.abs(rel) == c].mean()) for c in levels},
        "easy": float(ok[np.abs(rel) == levels[-1]].mean()),
        "by_context": {INPUTS[2 + c]: float(ok[ctx == c].mean()) for c in (0, 1)},
    }


def _psychometric(choice_net, trials, task) -> dict:
    """P(choice = +1) vs the coherence of each stream, per context: {ctx: {stream: [..]}}."""
    ch = np.asarray(choice_net)
    ctx = np.asarray(trials["context"])
    lv = task.signed_coherences
    out = {}
    for c in (0, 1):
        out[c] = {}
        for s, key in ((0, "coh_a"), (1, "coh_b")):
            coh = np.asarray(trials[key])
            out[c][s] = [float(np.mean(ch[(ctx == c) & (coh == v)] > 0)) for v in lv]
    return out


def _latent(params, cfg, key):
    """κ(t), v(t) of the trained RNN on noise-free trials of every condition (task grid)."""
    task0 = ContextDM(**{**cfg.task.to_dict(), "noise_sd": 0.0})
    tr = task0.conditions(key, 1)
    net = cd.network(params, cfg, tr["u"])
    basis = jnp.asarray(cd.latent_basis(params["F"], params["U"]), jnp.float32)
    grid = Grid(task0.dt, task0.steps, 1)
    kv = solve(net, grid, jax.random.PRNGKey(0), {"kv": Projection(basis)})["kv"]
    kv = np.asarray(kv, np.float64)  # (trials, T, p + 4)
    return tr, kv[..., : cfg.rank], kv[..., cfg.rank :]


def _choice_axis(kappa, tr, task) -> np.ndarray:
    """Unit vector in κ space separating the choices at the end of the stimulus epoch."""
    s1 = task.epochs()["stimulus"][1] - 1
    k_end = kappa[:, s1]
    d = k_end[np.asarray(tr["choice"]) > 0].mean(0) - k_end[np.asarray(tr["choice"]) < 0].mean(0)
    return d / (np.linalg.norm(d) or 1.0)


def _slow_points(params, cfg, axis, span, n_init=41):
    """Slow points of Eq. L per context (stimuli off), from initial points along the choice
    axis; also the velocity τ dκ/dt along the axis, the input sensitivities ∂(τ dκ/dt)/∂v there
    and the speed ``threshold`` below which a point counts as slow: half the drift that the
    weakest relevant evidence (smallest coherence) adds, i.e. the dynamics there are slower than
    the evidence it has to integrate."""
    rows = cd.rows_of(params)
    grid = np.linspace(-span, span, n_init)
    out = {}
    for c in (0, 1):
        v = np.zeros(len(INPUTS))
        v[2 + c] = 1.0
        k0 = grid[:, None] * axis[None, :]
        sp = cd.slow_points(rows, cfg, v, k0)
        fine = np.linspace(-span, span, 401)
        kk = jnp.asarray(fine[:, None] * axis[None, :], jnp.float32)
        vel = np.asarray(
            cd.latent_velocity(kk, jnp.asarray(v, jnp.float32), jnp.asarray(rows), cfg)
        )

        # sensitivity of τ dκ/dt (along the axis) to each evidence stream, at each grid point
        def along(vv, k):
            return jnp.dot(cd.latent_velocity(k, vv, jnp.asarray(rows), cfg), axis)

        dv = jax.vmap(jax.grad(along), in_axes=(None, 0))(jnp.asarray(v, jnp.float32), kk)
        sens = np.asarray(dv, np.float64)[:, :2]
        # slow: slower than half the drift that the weakest relevant evidence adds
        weakest = min(cfg.task.coherences) * cfg.task.coherence_scale
        thr = 0.5 * weakest * float(np.median(np.abs(sens[:, c])))
        out[c] = {
            "points": sp,
            "grid": fine,
            "velocity": vel @ axis,
            "sens": sens,
            "v": v,
            "threshold": thr,
        }
    return out


def _twin_job(store: Path, ident: str, mix, cfg, u, N, d, seed, substeps, loadings):
    """One population draw at N (cached in ``store``: a rerun skips finished networks)."""
    from ..checkpoint import read, write

    path = store / f"N{N}-d{d}.npz"
    if path.exists():
        meta, arrays = read(path)
        if meta.get("identity") == ident:
            return arrays, meta["seconds"], True
    t0 = time.perf_counter()
    res = cd.run_twin(
        mix, cfg, u, N, cd.twin_seed(seed, N, d), substeps=substeps, loadings=loadings
    )
    sec = time.perf_counter() - t0
    write(path, {"identity": ident, "seconds": sec}, res)
    return res, sec, False


# ----------------------------------------------------------------------------- figures
def _fig_loss(losses, accs):
    fig, ax = plt.subplots(1, 1, figsize=(5.5, 3.4))
    k = np.arange(1, len(losses) + 1)
    ax.semilogy(k, losses, lw=0.6, color="0.6", label="batch loss")
    w = max(1, len(losses) // 50)
    if len(losses) >= w:
        sm = np.convolve(losses, np.ones(w) / w, mode="valid")
        ax.semilogy(k[w - 1 :], sm, color="k", lw=1.4, label=f"mean of {w}")
    ax.set_xlabel("training step")
    ax.set_ylabel("masked MSE")
    ax2 = ax.twinx()
    ax2.plot(k, accs, color="tab:green", lw=0.5, alpha=0.6)
    ax2.set_ylabel("batch accuracy", color="tab:green")
    ax2.set_ylim(0.4, 1.02)
    ax.legend(loc="center right", fontsize=8)
    ax.set_title("training through lowdim.solve (Adam)", fontsize=10)
    fig.tight_layout()
    return fig


def _fig_psychometric(psy, task, twin_psy=None, twin_label="", twin_task=None):
    lv = task.signed_coherences * task.coherence_scale
    lv_t = (twin_task or task).signed_coherences * task.coherence_scale
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
    names = ("stream a (motion)", "stream b (colour)")
    for c, ax in enumerate(axes):
        for s, col in ((0, "tab:blue"), (1, "tab:orange")):
            rel = s == c
            ax.plot(
                lv,
                psy[c][s],
                "o-" if rel else "s--",
                color=col,
                ms=4,
                label=f"{names[s]}{' (relevant)' if rel else ' (irrelevant)'}",
            )
            if twin_psy is not None and rel:
                ax.plot(lv_t, twin_psy[c][s], "x", color="k", ms=6, label=twin_label)
        ax.axhline(0.5, color="0.8", lw=0.8)
        ax.set_title(f"context {'ab'[c]}: {names[c]} relevant", fontsize=9)
        ax.set_xscale("symlog", linthresh=0.01, linscale=0.25)
        ax.set_xlabel("coherence of the stream (input units; symlog axis)")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("P(choice = +1)")
    fig.tight_layout()
    return fig


def _fig_latent(tr, kappa, axis, task):
    t = (np.arange(kappa.shape[1]) + 1) * task.dt
    proj = kappa @ axis
    ctx = np.asarray(tr["context"])
    rel = np.where(ctx == 1, np.asarray(tr["coh_b"]), np.asarray(tr["coh_a"]))
    cmap = plt.cm.coolwarm
    lv = task.signed_coherences
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.4), sharey=True)
    ep = task.epochs()
    for c, ax in enumerate(axes):
        for i in np.flatnonzero(ctx == c):
            col = cmap((np.searchsorted(lv, rel[i]) + 0.5) / len(lv))
            ax.plot(t, proj[i], color=col, lw=0.7)
        for e in ("stimulus",):
            a, b = ep[e]
            ax.axvspan(a * task.dt, b * task.dt, color="0.93", zorder=0)
        ax.set_title(
            f"context {'ab'[c]} (colour: relevant coherence; all irrelevant ones)", fontsize=8
        )
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("κ along the choice axis")
    fig.tight_layout()
    return fig


def _fig_line_attractor(tr, kappa, v, axis, sp, task):
    """Mante et al.-style: trajectories in (stream input, choice) planes per context, slow
    points of the latent dynamics along the choice axis."""
    ctx = np.asarray(tr["context"])
    coh = {0: np.asarray(tr["coh_a"]), 1: np.asarray(tr["coh_b"])}
    proj = kappa @ axis
    lv = task.signed_coherences
    s0, s1 = task.epochs()["stimulus"]
    cmap = plt.cm.coolwarm
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.4))
    names = ("stream a (motion)", "stream b (colour)")
    for c in (0, 1):
        for s in (0, 1):
            ax = axes[c, s]
            for lvl in lv:  # condition averages: sorted by this stream's coherence
                sel = (ctx == c) & (coh[s] == lvl)
                col = cmap((np.searchsorted(lv, lvl) + 0.5) / len(lv))
                xs = v[sel, s0 - 1 : s1, s].mean(0)
                ys = proj[sel, s0 - 1 : s1].mean(0)
                ax.plot(xs, ys, "-", color=col, lw=1.2)
                ax.plot(xs[-1], ys[-1], "o", color=col, ms=3)
            pts = sp[c]["points"]
            kp = pts["kappa"] @ axis
            thr = sp[c]["threshold"]
            slow = pts["speed"] < thr
            line = np.where(np.abs(sp[c]["velocity"]) < thr, sp[c]["grid"], np.nan)
            ax.plot(
                np.zeros_like(line),
                line,
                color="0.55",
                lw=5,
                alpha=0.6,
                zorder=1,
                solid_capstyle="butt",
                label=f"|τκ̇| < {thr:.3f}: slow line",
            )
            ax.scatter(
                np.zeros(slow.sum()),
                kp[slow],
                s=16,
                c="k",
                marker="x",
                zorder=3,
                label="minima of ‖τκ̇‖² (optimised)",
            )
            ax.set_xlabel(f"input {names[s]} (filtered, v)")
            ax.set_ylabel("choice axis κ")
            rel = "relevant" if s == c else "irrelevant"
            ax.set_title(f"context {'ab'[c]}: sorted by {names[s][:8]} ({rel})", fontsize=8)
            if c == 0 and s == 0:
                ax.legend(fontsize=7, loc="lower right")
        ax = axes[c, 2]
        g, vel = sp[c]["grid"], sp[c]["velocity"]
        ax.plot(g, vel, "k", lw=1.2, label="τ dκ/dt (stimuli off)")
        ax.axhspan(-sp[c]["threshold"], sp[c]["threshold"], color="0.85", zorder=0)
        ax.plot(
            g,
            sp[c]["sens"][:, 0] * 0.1,
            color="tab:blue",
            lw=1,
            label="+ drift per 0.1 of stream a",
        )
        ax.plot(
            g,
            sp[c]["sens"][:, 1] * 0.1,
            color="tab:orange",
            lw=1,
            label="+ drift per 0.1 of stream b",
        )
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_xlabel("κ along the choice axis")
        ax.set_title(f"context {'ab'[c]}: latent velocity and input drive", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _fig_twins(table, trained_acc, anchors):
    Ns = np.array(sorted(table))
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    ax = axes[0]
    for key, col, lab, off in (
        ("rnn", "tab:blue", "RNN (resampled)", 0.97),
        ("snn", "tab:red", "Poisson SNN (paired)", 1.03),
    ):
        acc = np.array([table[n][f"{key}_accuracy"] for n in Ns])
        lo = np.array([table[n][f"{key}_ci"][0] for n in Ns])
        hi = np.array([table[n][f"{key}_ci"][1] for n in Ns])
        ax.errorbar(
            Ns * off, acc, yerr=[acc - lo, hi - acc], fmt="o-", color=col, label=lab, capsize=3
        )
    ax.axhline(trained_acc, color="k", lw=1, label="trained RNN (N = 512)")
    ax.axhline(
        anchors["dubreuil_one_gaussian"],
        color="0.5",
        ls=":",
        label="one Gaussian (Dubreuil et al.)",
    )
    lo2, hi2 = anchors["dubreuil_two_populations"]
    ax.axhspan(lo2, hi2, color="0.9", label="two populations (Dubreuil et al.)")
    ax.set_xscale("log")
    ax.set_xlabel("neurons N")
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(min(0.6, ax.get_ylim()[0]), 1.01)
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[1]
    for key, col, lab in (
        ("distance", "tab:purple", "Δ = ⟨|h − x|⟩"),
        ("distance_kappa", "tab:green", "⟨|κ_SNN − κ_RNN|⟩"),
    ):
        d = np.array([table[n][key] for n in Ns])
        ax.loglog(Ns, d, "o-", color=col, label=lab)
        ax.loglog(Ns, d[0] * np.sqrt(Ns[0] / Ns), ":", color=col, lw=0.8)
    ax.set_xlabel("neurons N")
    ax.set_ylabel("SNN–RNN distance (time and trial mean)")
    ax.set_title("dotted: ∝ 1/√N", fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _fig_mixture(rows, mix, rank):
    lab = mx_labels(rank)
    resp = mix.responsibilities(rows).argmax(1)
    pairs = [
        (0, rank),
        (2 * rank, 2 * rank + 2),
        (2 * rank + 1, 2 * rank + 3),
        (2 * rank + 4, rank),
    ]
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.0 * len(pairs), 3.0))
    for ax, (i, j) in zip(axes, pairs, strict=True):
        for k in range(mix.components):
            sel = resp == k
            ax.scatter(rows[sel, i], rows[sel, j], s=4, alpha=0.6, label=f"component {k + 1}")
        ax.set_xlabel(lab[i])
        ax.set_ylabel(lab[j])
    axes[0].legend(fontsize=7, markerscale=3)
    fig.suptitle(f"rows of the trained loadings, {mix.components}-component mixture", fontsize=9)
    fig.tight_layout()
    return fig


def mx_labels(rank):
    return (
        [f"F{m + 1}" for m in range(rank)]
        + [f"G{m + 1}" for m in range(rank)]
        + [f"U_{n}" for n in INPUTS]
        + ["W_out"]
    )


def _fig_traces(z_small, z_large, n_small, n_large, task, tr):
    """Readouts of paired RNN/SNN on trials of the weakest relevant evidence, both choices."""
    t = (np.arange(z_small.shape[1]) + 1) * task.dt
    ctx = np.asarray(tr["context"])
    rel = np.abs(np.where(ctx == 1, np.asarray(tr["coh_b"]), np.asarray(tr["coh_a"])))
    ch = np.asarray(tr["choice"])
    weak = rel == rel.min()
    pick = np.concatenate(
        [np.flatnonzero(weak & (ch > 0))[:3], np.flatnonzero(weak & (ch < 0))[:3]]
    )
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, z, n in ((axes[0], z_small, n_small), (axes[1], z_large, n_large)):
        for j, i in enumerate(pick):
            ax.plot(t, z[i, :, 0], color=f"C{j}", lw=1.2)
            ax.plot(t, z[i, :, 1], color=f"C{j}", lw=0.8, ls="--")
        a, b = task.epochs()["stimulus"]
        ax.axvspan(a * task.dt, b * task.dt, color="0.93", zorder=0)
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_title(f"N = {n:,}: RNN (solid), SNN (dashed)", fontsize=9)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("readout z (weakest evidence, both choices)")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- run
def run(
    scale: str = "small",
    out: Path | str = Path("lecture-context-dm"),
    progress: bool = True,
    seed: int = 0,
    train_steps: int | None = None,
    rank: int | None = None,
    neurons: int | None = None,
    batch: int | None = None,
    lr: float | None = None,
    latent_noise: float | None = None,
    substeps: int | None = None,
    components: int | None = None,
    loadings: str = "stored",
) -> dict:
    """Train, analyse and resample the context-dependent decision network (module docstring).

    Options: ``train_steps``, ``rank`` (1–3), ``neurons`` (of the trained network), ``batch``,
    ``lr``, ``latent_noise`` (training), ``substeps`` (twin grid = dt/substeps),
    ``components`` (force the mixture's number of components instead of choosing it by
    held-out likelihood), ``loadings`` ("stored" or "procedural" for the twins)."""
    check_scale(scale, SCALES)
    if loadings not in ("stored", "procedural"):
        raise ConfigError(f"loadings must be 'stored' or 'procedural', got {loadings!r}")
    if components is not None and components not in (1, 2, 3):
        raise ConfigError(f"components must be 1, 2 or 3, got {components!r}")
    sc = SCALES[scale]
    r = int(substeps or sc["substeps"])
    if r < 1:
        raise ConfigError(f"substeps must be ≥ 1, got {substeps}")
    cfg = _train_config(
        sc,
        seed,
        train_steps=train_steps,
        rank=rank,
        neurons=neurons,
        batch=batch,
        lr=lr,
        latent_noise=latent_noise,
    )
    task = cfg.task
    if cfg.rmax * task.dt / r > 1:
        raise ConfigError(
            f"max φ · dt = {cfg.rmax * task.dt / r:g} > 1 on the twin grid; raise --substeps"
        )
    out = Path(out)
    store = out / "store"
    t_all = time.perf_counter()
    with staged_output(out) as tmp:
        store.mkdir(parents=True, exist_ok=True)
        # 1–2: training
        _phase(progress, "phase 1/4: training")
        res = cd.train(cfg, store / "train.ckpt", progress=progress)
        params = {k: jnp.asarray(v) for k, v in res["params"].items()}
        losses, accs = res["losses"], res["accuracies"]
        save_panel(_fig_loss(losses, accs), tmp, "loss")
        base = jax.random.PRNGKey(seed)
        # 3: held-out accuracy, psychometric curves
        _phase(progress, "phase 2/4: held-out accuracy, psychometric curves, slow points")
        held = task.conditions(jax.random.fold_in(base, 12), sc["psych_repeats"])
        z_held = cd.readout_on_task_grid(params, cfg, held["u"], jax.random.PRNGKey(1))
        ch_held = np.asarray(decisions(z_held, task))
        acc_held = _accuracy_table(ch_held, held)
        ptask = ContextDM(**{**task.to_dict(), "coherences": PSYCH_LEVELS})
        ptr = ptask.conditions(jax.random.fold_in(base, 15), sc["psych_repeats"])
        z_p = cd.readout_on_task_grid(params, cfg, ptr["u"], jax.random.PRNGKey(2))
        psy = _psychometric(np.asarray(decisions(z_p, task)), ptr, ptask)
        n_point = sc["psych_repeats"] * 2 * len(PSYCH_LEVELS)  # trials per point
        psy_summary = {
            "levels": list(PSYCH_LEVELS),
            "trials": int(ptr["u"].shape[0]),
            "p_plus": {
                f"context_{'ab'[c]}": {f"stream_{'ab'[k]}": psy[c][k] for k in (0, 1)}
                for c in (0, 1)
            },
            "weakest_relevant": [
                float(np.mean([psy[c][c][len(PSYCH_LEVELS) - 1] for c in (0, 1)])),
                float(np.mean([psy[c][c][len(PSYCH_LEVELS)] for c in (0, 1)])),
            ],
            "irrelevant_range": float(max(np.ptp(np.asarray(psy[c][1 - c])) for c in (0, 1))),
            "relevant_range": float(min(np.ptp(np.asarray(psy[c][c])) for c in (0, 1))),
            "point_sd": 0.5 / math.sqrt(n_point),
        }
        # latent trajectories and slow points
        tr0, kappa, v = _latent(params, cfg, jax.random.fold_in(base, 14))
        axis = _choice_axis(kappa, tr0, task)
        span = 1.3 * float(np.max(np.abs(kappa @ axis)))
        sp = _slow_points(params, cfg, axis, span)
        save_panel(_fig_latent(tr0, kappa, axis, task), tmp, "latent")
        save_panel(_fig_line_attractor(tr0, kappa, v, axis, sp, task), tmp, "line_attractor")
        # 4: mixture over the rows
        _phase(progress, "phase 3/4: mixture over the rows [F, G, U, W_out]")
        rows = cd.rows_of(params)
        sel = mx.select(rows, (1, 2, 3), folds=5, seed=seed)
        K = int(components or sel["best"])
        mixes = {k: mx.fit(rows, k, seed=seed) for k in (1, 2, 3)}
        mix = mixes[K]
        save_panel(_fig_mixture(rows, mix, cfg.rank), tmp, "mixture")
        twin = task.conditions(jax.random.fold_in(base, 13), sc["twin_repeats"])
        z_tw = cd.readout_on_task_grid(params, cfg, twin["u"], jax.random.PRNGKey(1))
        trained_on_twin = float(np.mean(np.asarray(decisions(z_tw, task)) == twin["choice"]))
        z_fine = cd.readout_on_task_grid(params, cfg, twin["u"], substeps=r)
        trained_fine = float(np.mean(np.asarray(decisions(z_fine, task)) == twin["choice"]))
        choice = np.asarray(twin["choice"])
        # resampled RNNs from each mixture (rate only): one Gaussian is not enough
        by_components = {}
        for k, m in mixes.items():
            zz = cd.run_twin(
                m,
                cfg,
                twin["u"],
                sc["components_n"],
                cd.twin_seed(seed, 0, k),
                substeps=r,
                kinds=(cd.paired_kinds(cfg)[0],),
                loadings=loadings,
            )
            by_components[k] = float(
                np.mean(np.asarray(decisions(zz["z"][..., 0], task)) == choice)
            )
        # spiking twins of every N
        ident = json.dumps(
            {
                "cfg": cfg.to_dict(),
                "mix": mix.to_dict(),
                "r": r,
                "trials": sc["twin_repeats"],
                "seed": seed,
                "loadings": loadings,
            },
            sort_keys=True,
        )
        (store / "twins").mkdir(exist_ok=True)
        jobs = [(N, d) for N, D in zip(sc["twin_n"], sc["draws"], strict=True) for d in range(D)]
        from ..engine import Progress

        results, seconds = {}, {}
        _phase(progress, "phase 4/4: spiking twins")
        with Progress(len(jobs), progress, "spiking twins", "networks") as bar:
            for N, d in jobs:
                rj, sec, cached = _twin_job(
                    store / "twins", ident, mix, cfg, twin["u"], N, d, seed, r, loadings
                )
                results[(N, d)] = rj
                seconds[(N, d)] = sec
                bar.advance(1)
        table = {}
        for N, D in zip(sc["twin_n"], sc["draws"], strict=True):
            rr = [results[(N, d)] for d in range(D)]
            dec_r = np.stack([np.asarray(decisions(x["z"][..., 0], task)) for x in rr])
            dec_s = np.stack([np.asarray(decisions(x["z"][..., 1], task)) for x in rr])
            ok_r, ok_s, agree = dec_r == choice, dec_s == choice, dec_r == dec_s
            dist = np.stack([x["distance"] for x in rr])
            dk = np.stack([x["distance_kappa"] for x in rr])
            table[N] = {
                "draws": D,
                "trials": int(choice.size),
                "rnn_accuracy": float(ok_r.mean()),
                "rnn_ci": interval(ok_r, seed),
                "snn_accuracy": float(ok_s.mean()),
                "snn_ci": interval(ok_s, seed + 1),
                "agreement": float(agree.mean()),
                "agreement_ci": interval(agree, seed + 2),
                "rnn_accuracy_per_draw": ok_r.mean(1).tolist(),
                "snn_accuracy_per_draw": ok_s.mean(1).tolist(),
                "distance": float(dist.mean()),
                "distance_sem": float(dist.std(ddof=1) / math.sqrt(dist.size)),
                "distance_kappa": float(dk.mean()),
                "seconds": float(sum(seconds[(N, d)] for d in range(D))),
            }
        Nmax = max(sc["twin_n"])
        twin_psy = _psychometric(
            np.asarray(decisions(results[(Nmax, 0)]["z"][..., 1], task)), twin, task
        )
        save_panel(
            _fig_psychometric(psy, ptask, twin_psy, f"SNN, N = {Nmax:,}", task),
            tmp,
            "psychometric",
        )
        save_panel(_fig_twins(table, trained_on_twin, ANCHORS), tmp, "twins")
        Nmin = min(sc["twin_n"])
        save_panel(
            _fig_traces(results[(Nmin, 0)]["z"], results[(Nmax, 0)]["z"], Nmin, Nmax, task, twin),
            tmp,
            "traces",
        )
        # data
        cd.save_model(
            tmp / "model.nc",
            params,
            cfg,
            {
                "training_seconds": res["seconds"],
                "final_loss": float(np.mean(losses[-50:])),
                "heldout_accuracy": acc_held["all"],
            },
        )
        atomic_write_json(
            tmp / "mixture.json",
            {
                "components": K,
                "heldout_loglik": sel["heldout"],
                "heldout_se": sel["heldout_se"],
                "columns": mx_labels(cfg.rank),
                "mixture": mix.to_dict(),
            },
        )
        _save_data(tmp, table, twin, results, sc, losses, accs, tr0, kappa, v, sp, axis)
        slow_summary = _slow_summary(sp, axis)
        summary = {
            "scale": scale,
            "seed": seed,
            "rank": cfg.rank,
            "trained_neurons": cfg.neurons,
            "train_steps": cfg.train_steps,
            "training_seconds": round(res["seconds"], 1),
            "final_loss": float(np.mean(losses[-50:])),
            "rnn_accuracy": acc_held["all"],
            "rnn_accuracy_easy": acc_held["easy"],
            "rnn_accuracy_by_coherence": acc_held["by_coherence"],
            "rnn_accuracy_by_context": acc_held["by_context"],
            "heldout_trials": acc_held["n"],
            "psychometric": psy_summary,
            "rnn_accuracy_twin_trials": trained_on_twin,
            "rnn_accuracy_twin_grid": trained_fine,
            "twin_trials": int(choice.size),
            "twin_dt": task.dt / r,
            "mixture_components": K,
            "mixture_heldout_loglik": {str(k): v for k, v in sel["heldout"].items()},
            "rnn_accuracy_by_components": {str(k): v for k, v in by_components.items()},
            "components_n": sc["components_n"],
            "snn_accuracy_by_n": {str(n): table[n]["snn_accuracy"] for n in table},
            "rnn_accuracy_by_n": {str(n): table[n]["rnn_accuracy"] for n in table},
            "snn_ci_by_n": {str(n): table[n]["snn_ci"] for n in table},
            "rnn_ci_by_n": {str(n): table[n]["rnn_ci"] for n in table},
            "agreement_by_n": {str(n): table[n]["agreement"] for n in table},
            "distance_by_n": {str(n): table[n]["distance"] for n in table},
            "distance_kappa_by_n": {str(n): table[n]["distance_kappa"] for n in table},
            "twin_seconds_by_n": {str(n): round(table[n]["seconds"], 1) for n in table},
            **slow_summary,
            "seconds": round(time.perf_counter() - t_all, 1),
        }
        write_results(tmp, summary, _report(summary, table, sel, acc_held, cfg, r, sc))
    return summary


def _slow_summary(sp, axis) -> dict:
    out = {}
    for c in (0, 1):
        pts = sp[c]["points"]
        thr = sp[c]["threshold"]
        slow = pts["speed"] < thr
        kp = pts["kappa"] @ axis
        g, vel = sp[c]["grid"], sp[c]["velocity"]
        sens = sp[c]["sens"]
        near = np.abs(vel) < thr  # where the line attractor is
        where = near if near.any() else np.ones_like(near)
        name = "ab"[c]
        out[f"slow_threshold_{name}"] = thr
        out[f"fixed_points_{name}"] = sorted(
            {round(float(k), 3) for k, q in zip(kp, pts["speed"], strict=True) if q < 1e-4}
        )
        out[f"slow_points_{name}"] = int(slow.sum())
        out[f"slow_extent_{name}"] = (
            [float(kp[slow].min()), float(kp[slow].max())] if slow.any() else None
        )
        out[f"line_extent_{name}"] = [float(g[where].min()), float(g[where].max())]
        out[f"drive_relevant_{name}"] = float(np.mean(sens[where, c]))
        out[f"drive_irrelevant_{name}"] = float(np.mean(sens[where, 1 - c]))
    return out


def _save_data(tmp, table, twin, results, sc, losses, accs, tr0, kappa, v, sp, axis):
    Ns = sorted(table)
    ds = xr.Dataset(
        {
            "rnn_accuracy": ("N", [table[n]["rnn_accuracy"] for n in Ns]),
            "snn_accuracy": ("N", [table[n]["snn_accuracy"] for n in Ns]),
            "rnn_ci": (("N", "bound"), [table[n]["rnn_ci"] for n in Ns]),
            "snn_ci": (("N", "bound"), [table[n]["snn_ci"] for n in Ns]),
            "agreement": ("N", [table[n]["agreement"] for n in Ns]),
            "distance": ("N", [table[n]["distance"] for n in Ns]),
            "distance_kappa": ("N", [table[n]["distance_kappa"] for n in Ns]),
            "draws": ("N", [table[n]["draws"] for n in Ns]),
            "context": ("trial", np.asarray(twin["context"])),
            "coh_a": ("trial", np.asarray(twin["coh_a"])),
            "coh_b": ("trial", np.asarray(twin["coh_b"])),
            "z_first_draw": (
                ("N", "trial", "step", "network"),
                np.stack([results[(n, 0)]["z"] for n in Ns]),
            ),
        },
        coords={"N": Ns, "bound": ["low", "high"], "network": ["rnn", "snn"]},
        attrs={
            "description": "paired RNN/Poisson SNN networks drawn from the mixture; "
            "CIs: 95 %, union of a two-level bootstrap (draws, trials) and the pooled "
            "Wilson interval"
        },
    )
    save(ds, tmp / "twins.nc")
    lat = xr.Dataset(
        {
            "kappa": (("trial", "step", "rank"), kappa),
            "v": (("trial", "step", "input"), v),
            "context": ("trial", np.asarray(tr0["context"])),
            "coh_a": ("trial", np.asarray(tr0["coh_a"])),
            "coh_b": ("trial", np.asarray(tr0["coh_b"])),
            "choice_axis": ("rank", axis),
            "loss": ("train_step", np.asarray(losses)),
            "train_accuracy": ("train_step", np.asarray(accs)),
            **{f"velocity_{'ab'[c]}": ("kappa_grid", sp[c]["velocity"]) for c in (0, 1)},
            **{
                f"slow_kappa_{'ab'[c]}": (("init", "rank"), sp[c]["points"]["kappa"])
                for c in (0, 1)
            },
            **{f"slow_speed_{'ab'[c]}": ("init", sp[c]["points"]["speed"]) for c in (0, 1)},
        },
        coords={"input": list(INPUTS), "kappa_grid": sp[0]["grid"]},
        attrs={"description": "latent trajectories (noise-free trials), loss curve, slow points"},
    )
    save(lat, tmp / "latent.nc")


def _fmt_ci(ci):
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _report(s, table, sel, acc_held, cfg, r, sc) -> str:
    L = []
    a = L.append
    a("# Context-dependent decision making: a trained low-rank RNN and its spiking twins\n")
    a(
        f"Scale `{s['scale']}`, seed {s['seed']}. Rank {cfg.rank}, N_t = {cfg.neurons} trained "
        f"neurons, τ = {cfg.tau * 1e3:g} ms, φ(x) = {cfg.rmax:g} Hz · (1 + tanh(x − {cfg.b:g}))/2, "
        f"task dt = {cfg.task.dt * 1e3:g} ms ({cfg.task.steps} steps per trial).\n"
    )
    a("## Training\n")
    a(
        f"{cfg.train_steps} Adam steps (lr {cfg.lr:g}, {cfg.batch} trials per step) through "
        f"`lowdim.solve`: {s['training_seconds']:.0f} s of wall time on this machine "
        f"(final loss, mean of the last 50 batches: {s['final_loss']:.4f}). `loss.png`.\n"
    )
    a("## Held-out accuracy of the trained RNN\n")
    a("| quantity | measured | target / anchor |\n|---|---|---|")
    lo, hi = wilson(round(acc_held["all"] * acc_held["n"]), acc_held["n"])
    a(
        f"| accuracy, all coherences ({acc_held['n']} trials) | {acc_held['all']:.4f} "
        f"(95 % Wilson {_fmt_ci((lo, hi))}) | ≥ 0.97 (Dubreuil et al.: 1.0) |"
    )
    for c, v in acc_held["by_coherence"].items():
        a(
            f"| accuracy at relevant coherence ±{float(c) * cfg.task.coherence_scale:g} | {v:.4f} | |"
        )
    for c, v in acc_held["by_context"].items():
        a(f"| accuracy in context {c} | {v:.4f} | |")
    a(
        f"| same network on the {s['twin_trials']} twin trials (task grid) | "
        f"{s['rnn_accuracy_twin_trials']:.4f} | |"
    )
    a(
        f"| same network on the twin grid dt = {s['twin_dt'] * 1e3:g} ms (scale × "
        f"{cd.grid_factor(cfg.task.dt, cfg.task.dt / r, cfg.tau):.4f}) | "
        f"{s['rnn_accuracy_twin_grid']:.4f} | equal to the line above if the grid does not matter |"
    )
    a("")
    ps = s["psychometric"]
    a(
        f"Psychometric curves (`psychometric.png`, {ps['trials']} trials with the coherences "
        f"±{{{', '.join(f'{c:g}' for c in ps['levels'])}}}·{cfg.task.coherence_scale:g}): "
        f"P(choice = +1) at the weakest relevant level ±{ps['levels'][0]:g} is "
        f"{ps['weakest_relevant'][0]:.3f} / {ps['weakest_relevant'][1]:.3f} (mean over the two "
        f"contexts); the relevant curve spans at least {ps['relevant_range']:.3f} from its lowest "
        f"to its highest point, the irrelevant one at most {ps['irrelevant_range']:.3f} (binomial "
        f"sd of one point ≤ {ps['point_sd']:.3f}: a flat curve spans ≈ 3–4 sd by chance).\n"
    )
    a("## Latent dynamics and the line attractor\n")
    for c in "ab":
        ext = s[f"slow_extent_{c}"]
        ext = "none" if ext is None else f"[{ext[0]:.3f}, {ext[1]:.3f}]"
        a(
            f"- context {c}: τ dκ/dt with the stimuli off is below {s[f'slow_threshold_{c}']:.3f} "
            "(half the drift of the weakest relevant evidence) on κ ∈ "
            f"[{s[f'line_extent_{c}'][0]:.2f}, {s[f'line_extent_{c}'][1]:.2f}] (the slow line); "
            f"fixed points (‖τ dκ/dt‖ < 10⁻⁴) at κ = {s[f'fixed_points_{c}']}; "
            f"{s[f'slow_points_{c}']} of 41 optimised starts end below the threshold, at κ ∈ "
            f"{ext}. Drift of τ dκ/dt per unit of input on the slow line: relevant stream "
            f"{s[f'drive_relevant_{c}']:.3f}, irrelevant stream {s[f'drive_irrelevant_{c}']:.3f} "
            f"(ratio {abs(s[f'drive_relevant_{c}'] / s[f'drive_irrelevant_{c}']):.1f})."
        )
    a("\n`latent.png`, `line_attractor.png`.\n")
    a("## Gaussian mixture over the rows [F, G, U, W_out]\n")
    a(
        "| components | held-out log-likelihood per row (5-fold) | resampled RNN accuracy "
        f"(N = {s['components_n']:,}) |\n|---|---|---|"
    )
    for k in (1, 2, 3):
        a(
            f"| {k} | {sel['heldout'][k]:.3f} ± {sel['heldout_se'][k]:.3f} | "
            f"{s['rnn_accuracy_by_components'][str(k)]:.4f} |"
        )
    a(
        f"\nChosen: **{s['mixture_components']}** components"
        f"{' (forced by --components)' if s['mixture_components'] != sel['best'] else ' (highest held-out likelihood)'}. "
        f"Anchors: one Gaussian ≈ {ANCHORS['dubreuil_one_gaussian']}, two populations "
        f"{ANCHORS['dubreuil_two_populations'][0]}–{ANCHORS['dubreuil_two_populations'][1]} "
        "(Dubreuil et al. 2022). `mixture.png`, `mixture.json`.\n"
    )
    a("## Spiking twins (paired RNN / Poisson SNN drawn from the mixture)\n")
    a(
        f"Same {s['twin_trials']} held-out trials for every N; grid dt = {s['twin_dt'] * 1e3:g} ms "
        f"(max φ · dt = {cfg.rmax * s['twin_dt']:g}), the task's input held over {r} substeps; "
        "scale 1/(N r_max) (see `lowdim.models.context_dm`). CIs: 95 %, the union of a "
        "two-level bootstrap over population draws and trials and the Wilson interval of the "
        "pooled outcomes.\n"
    )
    a(
        "| N | draws | RNN accuracy | SNN accuracy | SNN–RNN agreement | Δ = ⟨\\|h − x\\|⟩ | "
        "⟨\\|κ_SNN − κ_RNN\\|⟩ | seconds |\n|---|---|---|---|---|---|---|---|"
    )
    for n in sorted(table):
        t = table[n]
        a(
            f"| {n:,} | {t['draws']} | {t['rnn_accuracy']:.4f} {_fmt_ci(t['rnn_ci'])} | "
            f"{t['snn_accuracy']:.4f} {_fmt_ci(t['snn_ci'])} | {t['agreement']:.4f} | "
            f"{t['distance']:.4g} ± {t['distance_sem']:.2g} | {t['distance_kappa']:.4g} | "
            f"{t['seconds']:.0f} |"
        )
    Ns = sorted(table)
    if len(Ns) > 1:
        d0, d1 = table[Ns[0]]["distance"], table[Ns[-1]]["distance"]
        slope = math.log(d1 / d0) / math.log(Ns[-1] / Ns[0])
        a(
            f"\nΔ falls with N with slope {slope:.3f} on log-log axes (theory for independent "
            "spike noise: −0.5)."
        )
    top = table[Ns[-1]]
    a(
        f"\nTarget: the resampled networks at N = {Ns[-1]:,} within 2 points of the trained RNN "
        f"({s['rnn_accuracy_twin_trials']:.4f} on the same trials): RNN "
        f"{top['rnn_accuracy'] - s['rnn_accuracy_twin_trials']:+.4f}, SNN "
        f"{top['snn_accuracy'] - s['rnn_accuracy_twin_trials']:+.4f}. Anchors: Dubreuil et al. "
        "0.92–0.975 (two populations), Kim, Li & Sejnowski 0.97 ± 0.07 (LIF conversion, N ≈ 250).\n"
    )
    a(f"`twins.png`, `traces.png`, `twins.nc`. Total wall time {s['seconds']:.0f} s.")
    return "\n".join(L) + "\n"
