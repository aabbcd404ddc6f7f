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

from .. import checkpoint
from ..analysis import mixture as mx
from ..analysis.stats import endpoint_log_slope, interval, wilson
from ..engine import Progress
from ..errors import ConfigError
from ..io import atomic_write_json
from ..models import context_dm as cd
from ..models.tasks import INPUTS, ContextDM, decisions
from ..probes import Projection
from ..solve import Grid, solve
from .harness import Result, Study

__all__ = ["run", "SCALES"]

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


_PHASES = (
    "training",
    "held-out accuracy, psychometric curves, slow points",
    "mixture over the rows [F, G, U, W_out]",
    "spiking twins",
)
STUDY = Study("context-dm", SCALES, phases=_PHASES, what="the context-dm lecture")


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
    path = store / f"N{N}-d{d}.npz"
    if path.exists():
        meta, arrays = checkpoint.read(path)
        if meta.get("identity") == ident:
            return arrays, meta["seconds"], True
    t0 = time.perf_counter()
    res = cd.run_twin(
        mix, cfg, u, N, cd.twin_seed(seed, N, d), substeps=substeps, loadings=loadings
    )
    sec = time.perf_counter() - t0
    checkpoint.write(path, {"identity": ident, "seconds": sec}, res)
    return res, sec, False


def mx_labels(rank):
    """The names of the columns of the rows [F, G, U, W_out] (mixture.json, mixture.png)."""
    return (
        [f"F{m + 1}" for m in range(rank)]
        + [f"G{m + 1}" for m in range(rank)]
        + [f"U_{n}" for n in INPUTS]
        + ["W_out"]
    )


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
    sc = STUDY.settings(scale)
    if loadings not in ("stored", "procedural"):
        raise ConfigError(f"loadings must be 'stored' or 'procedural', got {loadings!r}")
    if components is not None and components not in (1, 2, 3):
        raise ConfigError(f"components must be 1, 2 or 3, got {components!r}")
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
    store = Path(out) / "store"  # resumable: in the final folder, not the staging one
    with STUDY.session(scale, out, progress) as s:
        store.mkdir(parents=True, exist_ok=True)
        with s.phase(_PHASES[0]):
            # deferred: the figures module imports matplotlib (start-up time)
            from ..figures import context_dm as figures

            res = cd.train(cfg, store / "train.ckpt", progress=progress)
            params = {k: jnp.asarray(v) for k, v in res["params"].items()}
            losses, accs = res["losses"], res["accuracies"]
            s.figure(figures.loss(losses, accs), "loss")
        base = jax.random.PRNGKey(seed)
        with s.phase(_PHASES[1]):
            held = task.conditions(jax.random.fold_in(base, 12), sc["psych_repeats"])
            z_held = cd.readout_on_task_grid(params, cfg, held["u"], jax.random.PRNGKey(1))
            acc_held = _accuracy_table(np.asarray(decisions(z_held, task)), held)
            ptask = ContextDM(**{**task.to_dict(), "coherences": PSYCH_LEVELS})
            ptr = ptask.conditions(jax.random.fold_in(base, 15), sc["psych_repeats"])
            z_p = cd.readout_on_task_grid(params, cfg, ptr["u"], jax.random.PRNGKey(2))
            psy = _psychometric(np.asarray(decisions(z_p, task)), ptr, ptask)
            psy_summary = _psychometric_summary(psy, ptr, sc)
            # latent trajectories and slow points
            tr0, kappa, v = _latent(params, cfg, jax.random.fold_in(base, 14))
            axis = _choice_axis(kappa, tr0, task)
            span = 1.3 * float(np.max(np.abs(kappa @ axis)))
            sp = _slow_points(params, cfg, axis, span)
            s.figure(figures.latent(tr0, kappa, axis, task), "latent")
            s.figure(figures.line_attractor(tr0, kappa, v, axis, sp, task), "line_attractor")
        with s.phase(_PHASES[2]):
            rows = cd.rows_of(params)
            sel = mx.select(rows, (1, 2, 3), folds=5, seed=seed)
            K = int(components or sel["best"])
            mixes = {k: mx.fit(rows, k, seed=seed) for k in (1, 2, 3)}
            mix = mixes[K]
            s.figure(figures.mixture(rows, mix, cfg.rank, mx_labels(cfg.rank)), "mixture")
            twin = task.conditions(jax.random.fold_in(base, 13), sc["twin_repeats"])
            # (compared with the JAX array of choices: a float32 mean, as in earlier versions)
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
        results, seconds = {}, {}
        with s.phase(_PHASES[3]):
            with Progress(len(jobs), progress, "spiking twins", "networks") as bar:
                for N, d in jobs:
                    rj, sec, _ = _twin_job(
                        store / "twins", ident, mix, cfg, twin["u"], N, d, seed, r, loadings
                    )
                    results[(N, d)] = rj
                    seconds[(N, d)] = sec
                    bar.advance(1)
            table = _twin_table(results, seconds, sc, choice, task, seed)
            Nmin, Nmax = min(sc["twin_n"]), max(sc["twin_n"])
            twin_psy = _psychometric(
                np.asarray(decisions(results[(Nmax, 0)]["z"][..., 1], task)), twin, task
            )
            s.figure(
                figures.psychometric(psy, ptask, twin_psy, f"SNN, N = {Nmax:,}", task),
                "psychometric",
            )
            s.figure(figures.twins(table, trained_on_twin, ANCHORS), "twins")
            s.figure(
                figures.traces(
                    results[(Nmin, 0)]["z"], results[(Nmax, 0)]["z"], Nmin, Nmax, task, twin
                ),
                "traces",
            )
        # data
        cd.save_model(
            s.path("model.nc"),
            params,
            cfg,
            {
                "training_seconds": res["seconds"],
                "final_loss": float(np.mean(losses[-50:])),
                "heldout_accuracy": acc_held["all"],
            },
        )
        atomic_write_json(
            s.path("mixture.json"),
            {
                "components": K,
                "heldout_loglik": sel["heldout"],
                "heldout_se": sel["heldout_se"],
                "columns": mx_labels(cfg.rank),
                "mixture": mix.to_dict(),
            },
        )
        twins_ds, latent_ds = _datasets(table, twin, results, losses, accs, tr0, kappa, v, sp, axis)
        s.dataset(twins_ds, "twins.nc")
        s.dataset(latent_ds, "latent.nc")
        summary = {
            "scale": scale,
            "seed": seed,
            "rank": cfg.rank,
            "trained_neurons": cfg.neurons,
            "train_steps": cfg.train_steps,
            "training_seconds": round(res["seconds"], 1),
            "final_loss": float(np.mean(losses[-50:])),
            "rnn_accuracy": acc_held["all"],
            "rnn_accuracy_ci": wilson(round(acc_held["all"] * acc_held["n"]), acc_held["n"]),
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
            "agreement_ci_by_n": {str(n): table[n]["agreement_ci"] for n in table},
            "agreement_by_n": {str(n): table[n]["agreement"] for n in table},
            "distance_by_n": {str(n): table[n]["distance"] for n in table},
            "distance_kappa_by_n": {str(n): table[n]["distance_kappa"] for n in table},
            "twin_seconds_by_n": {str(n): round(table[n]["seconds"], 1) for n in table},
            **_slow_summary(sp, axis),
            "seconds": round(s.elapsed(), 1),
        }
        return s.finish(
            summary,
            _results(summary, table, acc_held, cfg, r),
            _report(summary, table, sel, cfg, r),
        )


def _psychometric_summary(psy, ptr, sc) -> dict:
    """The psychometric curves in summary.json: P(choice = +1) per context and stream, at the
    weakest relevant level, the ranges of the relevant and irrelevant curves and the binomial
    sd of one point."""
    n_point = sc["psych_repeats"] * 2 * len(PSYCH_LEVELS)  # trials per point
    weak = len(PSYCH_LEVELS)  # index of the weakest positive level (signed levels)
    return {
        "levels": list(PSYCH_LEVELS),
        "trials": int(ptr["u"].shape[0]),
        "p_plus": {
            f"context_{'ab'[c]}": {f"stream_{'ab'[k]}": psy[c][k] for k in (0, 1)} for c in (0, 1)
        },
        "weakest_relevant": [
            float(np.mean([psy[c][c][weak - 1] for c in (0, 1)])),
            float(np.mean([psy[c][c][weak] for c in (0, 1)])),
        ],
        "irrelevant_range": float(max(np.ptp(np.asarray(psy[c][1 - c])) for c in (0, 1))),
        "relevant_range": float(min(np.ptp(np.asarray(psy[c][c])) for c in (0, 1))),
        "point_sd": 0.5 / math.sqrt(n_point),
    }


def _twin_table(results, seconds, sc, choice, task, seed) -> dict:
    """Per N: accuracies of the resampled RNN and its paired SNN with 95 % intervals (draws ×
    trials), their agreement and distances, over the population draws."""
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
    return table


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


def _datasets(table, twin, results, losses, accs, tr0, kappa, v, sp, axis):
    """The data of twins.nc (per N and trial) and latent.nc (trajectories, loss, slow points)."""
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
    return ds, lat


def _results(s, table, acc_held, cfg, r) -> list[Result]:
    n, coh = acc_held["n"], cfg.task.coherence_scale
    grid = cd.grid_factor(cfg.task.dt, cfg.task.dt / r, cfg.tau)
    trained, same = "rnn_accuracy_twin_trials", "trained RNN, same trials"
    one = ANCHORS["dubreuil_one_gaussian"]
    # (summary key, quantity, theory: a summary key or a number, interval key, reference)
    rows = [
        ("final_loss", "final training loss (masked MSE, mean of the last 50 batches)", None),
        (
            "rnn_accuracy",
            f"held-out accuracy of the trained RNN ({n} trials; 95 % Wilson interval)",
            1.0,
            "rnn_accuracy_ci",
            "Dubreuil et al. 2022 (target ≥ 0.97)",
        ),
    ]
    rows += [
        (
            f"rnn_accuracy_by_coherence.{c}",
            f"held-out accuracy at relevant coherence ±{float(c) * coh:g}",
            None,
        )
        for c in s["rnn_accuracy_by_coherence"]
    ]
    rows += [
        (f"rnn_accuracy_by_context.{c}", f"held-out accuracy in context {c}", None)
        for c in s["rnn_accuracy_by_context"]
    ]
    rows += [
        (trained, f"trained RNN on the {s['twin_trials']} twin trials (task grid)", None),
        (
            "rnn_accuracy_twin_grid",
            f"trained RNN on the twin grid dt = {s['twin_dt'] * 1e3:g} ms (scale × {grid:.4f})",
            trained,
            "",
            "(the grid does not matter)",
        ),
        ("psychometric.relevant_range", "psychometric: smallest range of a relevant curve", None),
        (
            "psychometric.irrelevant_range",
            "psychometric: largest range of an irrelevant curve (flat: ≈ 3–4 point sd)",
            None,
        ),
        ("mixture_components", "mixture components chosen", None),
    ]
    rows += [
        (
            f"rnn_accuracy_by_components.{k}",
            f"resampled RNN accuracy, {k}-component mixture (N = {s['components_n']:,})",
            *((one, "", "Dubreuil et al. 2022 (one Gaussian)") if k == "1" else (None,)),
        )
        for k in s["rnn_accuracy_by_components"]
    ]
    for N in table:
        rows += [
            (
                f"rnn_accuracy_by_n.{N}",
                f"resampled RNN accuracy, N = {N:,} (95 % CI)",
                trained,
                f"rnn_ci_by_n.{N}",
                same,
            ),
            (
                f"snn_accuracy_by_n.{N}",
                f"Poisson SNN accuracy, N = {N:,} (95 % CI)",
                trained,
                f"snn_ci_by_n.{N}",
                same,
            ),
            (
                f"agreement_by_n.{N}",
                f"SNN–RNN agreement of the decisions, N = {N:,} (95 % CI)",
                None,
                f"agreement_ci_by_n.{N}",
            ),
        ]
    out = [_at(s, *row) for row in rows]
    Ns = sorted(table)
    if len(Ns) > 1:
        out.append(
            Result(
                f"slope of log Δ vs log N ({Ns[0]:,} … {Ns[-1]:,})",
                endpoint_log_slope(Ns, [table[N]["distance"] for N in Ns]),
                theory=-0.5,
                reference="independent spike noise",
            )
        )
    return out


def _at(s, key, quantity, theory, interval_key="", reference="") -> Result:
    """A row of the results table: ``theory`` a summary key (str), a number or None."""
    if isinstance(theory, str):
        return Result.at(s, key, quantity, theory, interval_key=interval_key, reference=reference)
    return Result.at(
        s, key, quantity, theory=theory, interval_key=interval_key, reference=reference
    )


def _report(s, table, sel, cfg, r) -> str:
    L = []
    a = L.append
    a("# Context-dependent decision making: a trained low-rank RNN and its spiking twins\n")
    a(
        f"Scale `{s['scale']}`, seed {s['seed']}. Rank {cfg.rank}, N_t = {cfg.neurons} trained "
        f"neurons, τ = {cfg.tau * 1e3:g} ms, φ(x) = {cfg.rmax:g} Hz · (1 + tanh(x − {cfg.b:g}))/2, "
        f"task dt = {cfg.task.dt * 1e3:g} ms ({cfg.task.steps} steps per trial). Training: "
        f"{cfg.train_steps} Adam steps (lr {cfg.lr:g}, {cfg.batch} trials per step) through "
        f"`lowdim.solve`, {s['training_seconds']:.0f} s of wall time on this machine "
        "(`loss.png`).\n"
    )
    a("## Key numbers\n\n{results}\n")
    ps = s["psychometric"]
    a(
        f"Psychometric curves (`psychometric.png`, {ps['trials']} trials with the coherences "
        f"±{{{', '.join(f'{c:g}' for c in ps['levels'])}}}·{cfg.task.coherence_scale:g}): "
        f"P(choice = +1) at the weakest relevant level ±{ps['levels'][0]:g} is "
        f"{ps['weakest_relevant'][0]:.3f} / {ps['weakest_relevant'][1]:.3f} (mean over the two "
        f"contexts); binomial sd of one point ≤ {ps['point_sd']:.3f}.\n"
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
    a("| components | held-out log-likelihood per row (5-fold) |\n|---|---|")
    for k in (1, 2, 3):
        a(f"| {k} | {sel['heldout'][k]:.3f} ± {sel['heldout_se'][k]:.3f} |")
    forced = s["mixture_components"] != sel["best"]
    a(
        f"\nChosen: **{s['mixture_components']}** components"
        f"{' (forced by --components)' if forced else ' (highest held-out likelihood)'}. "
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
        "pooled outcomes. Target: the resampled networks at the largest N within 2 points of "
        "the trained RNN on the same trials. Anchors: Dubreuil et al. 0.92–0.975 (two "
        "populations), Kim, Li & Sejnowski 0.97 ± 0.07 (LIF conversion, N ≈ 250).\n"
    )
    a("| N | draws | Δ = ⟨\\|h − x\\|⟩ | ⟨\\|κ_SNN − κ_RNN\\|⟩ | seconds |\n|---|---|---|---|---|")
    for n in sorted(table):
        t = table[n]
        a(
            f"| {n:,} | {t['draws']} | {t['distance']:.4g} ± {t['distance_sem']:.2g} | "
            f"{t['distance_kappa']:.4g} | {t['seconds']:.0f} |"
        )
    a(f"\n`twins.png`, `traces.png`, `twins.nc`. Total wall time {s['seconds']:.0f} s.")
    return "\n".join(L) + "\n"
