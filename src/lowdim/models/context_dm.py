"""A low-rank rate network trained on context-dependent decisions, and its spiking twins.

**The network** (rank p, N_t neurons, φ bounded and non-negative, e.g. the paper's φ with b = 0:
φ(x) = r_max (1 + tanh x)/2, ψ = φ/r_max ∈ [0, 1]) is a :class:`lowdim.Network` run by
:func:`lowdim.solve` (paper Eq. 2 with a drive):

    τ dx_i/dt = −x_i + Σ_μ F_iμ m_μ + Σ_c U_ic u_c(t),   m_μ = (1/N) Σ_j G_jμ ψ(x_j),
    z(t) = (1/N) Σ_j W_out,j ψ(x_j)

i.e. W = s F Gᵀ with s = 1/(N r_max) (seconds: φ is in Hz) and readout vectors W_out/(N r_max).
The trainable parameters are the rows of F, G (N × p), U (N × 4: the two evidence streams and
the two context inputs) and W_out (N × 1).

**Latent dynamics.** With x(0) = 0, x(t) = F κ(t) + U v(t) exactly, where τ v̇ = −v + u is the
low-pass filtered input and

    τ dκ/dt = −κ + (1/N) Σ_j G_j ψ(F_j κ + U_j v)                                    (L)

(up to the self-coupling W_ii = 0, a 1/N correction). κ is what :class:`lowdim.Projection`
recovers from the potentials with the basis [F, U] (:func:`latent_basis`).

**Resampling** (the spiking twin of any N). Each neuron is one row r_i = [F_i, G_i, U_i, W_out,i]
of the trained network. If the rows of a network of N neurons are drawn from a density ρ, the
overlaps (1/N) Σ_j G_j ψ(x_j) → E_ρ[g ψ(f κ + U v)] as N → ∞ (law of large numbers), so with
the *same* scale s = 1/(N r_max) (and readout W_out/(N r_max)) every N has the latent dynamics
(L) with the empirical mean over the trained rows replaced by the expectation under ρ: the
trained network is the case ρ = the empirical distribution of its rows, and a Gaussian mixture
fitted to those rows (:mod:`lowdim.analysis.mixture`) gives networks of any N with the same κ
dynamics up to the fit's error and O(1/√N) fluctuations.

**Time grids.** The network is trained on the task grid (dt = 20 ms, τ = 100 ms). A Poisson twin
needs max φ · dt ≪ 1, so twins run on a finer grid dt_f = dt/r with the *same* input
realisation held constant over the r substeps. The engine's step x ← e x + (dt/τ) W φ(x) +
(1 − e) U u (e = exp(−dt/τ)) has fixed points x* = ((dt/τ)/(1 − e)) W φ(x*) + U u; so that
every grid has the trained network's fixed points (and so its line attractor), the scale on a
grid of step dt_f is multiplied by ``grid_factor(dt, dt_f, τ)`` = [(dt/τ)/(1 − e)]/[(dt_f/τ)/
(1 − e_f)] (1.103 from 20 ms to the continuum limit).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import checkpoint as ckpt
from ..errors import ConfigError
from ..grid import Grid, Layout
from ..io import load, save
from ..network import Drive, Network, Noise, Poisson, Rate, RowSampler
from ..nonlinearity import Tanh
from ..probes import Distance, Projection, Readout
from ..procedural import TILE_ROWS, loadings_key
from ..solve import solve
from ..training import KIND
from ..training import train as train_driver
from .tasks import INPUTS, ContextDM, decisions

__all__ = [
    "TrainConfig",
    "init_params",
    "network",
    "readout_on_task_grid",
    "loss_fn",
    "train",
    "save_model",
    "load_model",
    "rows_of",
    "split_rows",
    "grid_factor",
    "latent_basis",
    "latent_velocity",
    "slow_points",
    "mixture_sampler",
    "sampled_rows",
    "paired_kinds",
    "twin_seed",
    "run_twin",
    "PARAMS",
]

#: trainable parameters, in the order of a row [F, G, U, W_out]
PARAMS = ("F", "G", "U", "W_out")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the trained network and of its training (all saved with the model).

    Attributes:
        neurons: N_t, neurons of the trained network.
        rank: p (1–3).
        tau: membrane time constant (s).
        rmax: max φ (Hz); φ(x) = rmax (1 + tanh(x − b))/2 (``lowdim.Tanh(b, 1/rmax)``).
        b: threshold of φ.
        train_steps: optimisation steps (Adam).
        batch: trials per step.
        lr: learning rate of Adam.
        init_sd: standard deviation of the initial F, G, U, W_out entries.
        latent_noise: σ of a white noise along the loadings F during training,
            τ dκ = … + σ dB (B in seconds; 0: none); it makes the solution robust to
            fluctuations of κ such as a spiking twin's.
        seed: seed of the initial parameters and of the training trials.
        task: the task's settings (:class:`lowdim.models.tasks.ContextDM`).
    """

    neurons: int = 512
    rank: int = 1
    tau: float = 0.1
    rmax: float = 100.0
    b: float = 0.0
    train_steps: int = 1500
    batch: int = 64
    lr: float = 1e-2
    init_sd: float = 1.0
    latent_noise: float = 0.0
    seed: int = 0
    task: ContextDM = field(default_factory=ContextDM)

    def __post_init__(self):
        if isinstance(self.task, dict):
            object.__setattr__(self, "task", ContextDM(**self.task))
        self.validate()

    def validate(self) -> TrainConfig:
        for name in ("neurons", "train_steps", "batch"):
            v = getattr(self, name)
            if (
                isinstance(v, bool)
                or not isinstance(v, int)
                or v < (0 if name == "train_steps" else 1)
            ):
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if isinstance(self.rank, bool) or self.rank not in (1, 2, 3):
            raise ConfigError(f"rank must be 1, 2 or 3, got {self.rank!r}")
        for name in ("tau", "rmax", "lr", "init_sd"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ConfigError(f"{name} must be a number > 0, got {v!r}")
        if not (isinstance(self.latent_noise, int | float) and self.latent_noise >= 0):
            raise ConfigError(f"latent_noise must be ≥ 0, got {self.latent_noise!r}")
        return self

    @property
    def phi(self) -> Tanh:
        return Tanh(b=float(self.b), tau=1.0 / float(self.rmax))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["task"] = self.task.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        d["task"] = ContextDM(**d["task"])
        return cls(**d)


# ----------------------------------------------------------------------------- parameters
def init_params(cfg: TrainConfig, key=None) -> dict:
    """Initial parameters: i.i.d. normal entries of sd ``init_sd`` (float32 JAX arrays)."""
    key = jax.random.PRNGKey(cfg.seed) if key is None else key
    kf, kg, ku, kw = jax.random.split(jax.random.fold_in(key, 7), 4)
    n, p, sd = cfg.neurons, cfg.rank, cfg.init_sd
    return {
        "F": sd * jax.random.normal(kf, (n, p)),
        "G": sd * jax.random.normal(kg, (n, p)),
        "U": sd * jax.random.normal(ku, (n, len(INPUTS))),
        "W_out": sd * jax.random.normal(kw, (n, 1)),
    }


def rows_of(params: dict) -> np.ndarray:
    """The neurons' rows [F, G, U, W_out] (N, 2p + 5), float64."""
    return np.concatenate([np.asarray(params[k], np.float64) for k in PARAMS], axis=1)


def split_rows(rows, rank: int) -> dict:
    """Inverse of :func:`rows_of`."""
    rows = jnp.asarray(rows) if isinstance(rows, jax.Array) else np.asarray(rows)
    p, q = rank, len(INPUTS)
    return {
        "F": rows[:, :p],
        "G": rows[:, p : 2 * p],
        "U": rows[:, 2 * p : 2 * p + q],
        "W_out": rows[:, 2 * p + q : 2 * p + q + 1],
    }


def grid_factor(dt_train: float, dt_run: float, tau: float) -> float:
    """Scale factor that gives a network trained on step ``dt_train`` the same fixed points on
    step ``dt_run`` (module docstring): [(dt/τ)/(1 − e^{−dt/τ})] / [(dt_f/τ)/(1 − e^{−dt_f/τ})]."""

    def g(dt):
        a = dt / tau
        return a / -math.expm1(-a)

    return g(dt_train) / g(dt_run)


def network(
    params: dict,
    cfg: TrainConfig,
    u,
    *,
    substeps: int = 1,
    kinds=None,
    sampler: RowSampler | None = None,
    neurons: int | None = None,
    dtype: str = "float32",
    latent_noise: float | None = None,
) -> Network:
    """The task network as a :class:`lowdim.Network` on a grid of ``task.dt / substeps``.

    ``params``: F, G (N, p), U (N, 4), W_out (N, 1) — with a ``sampler``, F and G come from
    it and ``params`` holds only U and W_out of the same rows. ``u``: task inputs (trials,
    steps, 4) on the task grid; each step is held for ``substeps`` engine steps. ``kinds``:
    default ``(Rate(φ),)``; ``(Rate(φ), Poisson(φ))`` is the paired RNN/SNN run.
    Scale s = grid_factor · 1/(N r_max) and readout W_out/(N r_max) (module docstring).
    """
    phi = cfg.phi
    kinds = (Rate(phi),) if kinds is None else tuple(kinds)
    n = int(neurons or jnp.shape(params["U"])[0])
    u = jnp.asarray(u)
    if substeps > 1:
        u = jnp.repeat(u, substeps, axis=1)
    dt_run = cfg.task.dt / substeps
    s = grid_factor(cfg.task.dt, dt_run, cfg.tau) / (n * cfg.rmax)
    inputs = [Drive(u, params["U"])]
    sigma = cfg.latent_noise if latent_noise is None else latent_noise
    if sigma > 0:
        if sampler is not None:
            raise ConfigError("latent noise is a training device: run sampled networks without it")
        inputs.append(Noise(sigma, params["F"]))
    loads = {} if sampler is not None else {"F": params["F"], "G": params["G"]}
    return Network(
        neurons=n,
        **loads,
        sampler=sampler,
        scale=s,
        kinds=kinds,
        tau=cfg.tau,
        inputs=tuple(inputs),
        readout=params["W_out"] / (n * cfg.rmax),
        dtype=dtype,
        trials=int(u.shape[0]),
    )


def readout_on_task_grid(
    params, cfg: TrainConfig, u, key=None, *, substeps=1, kinds=None, dtype="float32", **kw
):
    """z on the task grid: (trials, steps) for one kind, (trials, steps, kinds) for several
    (the value at the end of each task step, a = φ(x) or φ(h): ``Readout(mode="sample")``)."""
    net = network(params, cfg, u, substeps=substeps, kinds=kinds, dtype=dtype, **kw)
    grid = Grid(cfg.task.dt / substeps, cfg.task.steps * substeps, substeps)
    key = jax.random.PRNGKey(0) if key is None else key
    z = solve(net, grid, key, {"z": Readout(mode="sample")})["z"]
    return z[..., 0]


def loss_fn(params, cfg: TrainConfig, trials: dict, key=None):
    """Masked mean squared error of the readout against the target (task grid)."""
    z = readout_on_task_grid(params, cfg, trials["u"], key)
    err = (z - trials["target"]) ** 2 * trials["mask"]
    return jnp.sum(err) / jnp.sum(trials["mask"])


# ----------------------------------------------------------------------------- training
def _optimizer(cfg: TrainConfig):
    import optax

    return optax.adam(cfg.lr)


def train(
    cfg: TrainConfig,
    checkpoint: str | Path | None = None,
    *,
    progress: bool = False,
    checkpoint_every: float = 30.0,
    log_every: int = 10,
) -> dict:
    """Train the network with Adam on masked MSE; returns ``params``, ``losses`` (one per step),
    ``accuracies`` (training batches), ``seconds`` (training wall time, summed over resumes).

    The driver is :func:`lowdim.train`: step k draws its trials from ``fold_in(k_k, 0)`` and the
    latent noise from ``fold_in(k_k, 1)``, k_k = ``fold_in(fold_in(PRNGKey(seed), 11), k)``.
    ``checkpoint``: an .npz file written atomically every ``checkpoint_every`` seconds and at the
    end; if it exists and belongs to the same ``cfg`` (``train_steps`` aside), training resumes
    from it — after an interruption, or to train longer — with the same numbers as an
    uninterrupted run (trial batches and noise are keyed by the step index).
    """

    cfg.validate()
    step_cfg = dataclasses.replace(cfg, train_steps=0)  # one compiled step for every length
    loss, optimizer, batches = _training_functions(step_cfg)
    ident = json.dumps(step_cfg.to_dict() | {"train_steps": None}, sort_keys=True)
    identity = {"kind": "context-dm-training", "config": ident}
    if checkpoint is not None:
        _upgrade_checkpoint(checkpoint, cfg, identity)
    params, history = train_driver(
        init_params(cfg),
        loss,
        optimizer,
        cfg.train_steps,
        key=jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 11),
        batches=batches,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        progress=progress,
        identity=identity,
    )
    return {
        "params": jax.tree.map(np.asarray, params),
        "losses": history["loss"],
        "accuracies": np.asarray(history.get("accuracy", np.zeros(0)), np.float64),
        "seconds": float(history["seconds"][-1]) if len(history["seconds"]) else 0.0,
    }


@functools.lru_cache(maxsize=8)
def _training_functions(cfg: TrainConfig):
    """(loss, optimizer, batches) of ``cfg`` for :func:`lowdim.train`, the same objects for
    equal configs (so the compiled step is reused by resumed and longer runs)."""
    task = cfg.task

    def batches(step, key):
        return task.sample(key, cfg.batch)

    def loss(params, trials, key):
        z = readout_on_task_grid(params, cfg, trials["u"], key)
        err = (z - trials["target"]) ** 2 * trials["mask"]
        acc = jnp.mean(decisions(z, task) == trials["choice"])
        return jnp.sum(err) / jnp.sum(trials["mask"]), {"accuracy": acc}

    return loss, _optimizer(cfg), batches


def _upgrade_checkpoint(path, cfg: TrainConfig, identity: dict) -> None:
    """Rewrite a checkpoint of this model's former training loop (kind "context-dm-training":
    params/, opt/, losses, accuracies) in :func:`lowdim.train`'s format, same numbers."""
    if not Path(path).exists():
        return
    meta, arrays = ckpt.read(path)
    if meta.get("kind") != "context-dm-training":
        return
    if meta.get("config") != identity["config"]:
        raise ConfigError(
            f"checkpoint {str(path)!r} belongs to another training run; delete it or choose "
            "another output folder"
        )
    n = int(meta["step"])
    new = {k: v for k, v in arrays.items() if k.startswith(("params/", "opt/"))}
    new["history/loss"] = np.asarray(arrays["losses"], np.float64)
    new["history/accuracy"] = np.asarray(arrays["accuracies"], np.float32)
    new["history/seconds"] = np.full(n, float(meta["seconds"]))
    meta = {"kind": KIND, "identity": identity, "step": n, "seconds": float(meta["seconds"])}
    ckpt.write(path, meta, new)


# ----------------------------------------------------------------------------- saving
def save_model(path: str | Path, params: dict, cfg: TrainConfig, attrs: dict | None = None):
    """The trained network as NetCDF: variables F, G (neuron, rank), U (neuron, input),
    W_out (neuron, output); attributes: the training config (JSON) and ``attrs``."""
    import xarray as xr

    ds = xr.Dataset(
        {
            "F": (("neuron", "rank"), np.asarray(params["F"], np.float64)),
            "G": (("neuron", "rank"), np.asarray(params["G"], np.float64)),
            "U": (("neuron", "input"), np.asarray(params["U"], np.float64)),
            "W_out": (("neuron", "output"), np.asarray(params["W_out"], np.float64)),
        },
        coords={"input": list(INPUTS)},
        attrs={
            "config": json.dumps(cfg.to_dict(), sort_keys=True),
            "equations": "tau dx/dt = -x + F (1/N) G^T psi(x) + U u; z = (1/N) W_out^T psi(x); "
            "psi = (1 + tanh(x - b))/2; engine scale 1/(N rmax)",
            **{
                k: (json.dumps(v) if isinstance(v, dict | list) else v)
                for k, v in (attrs or {}).items()
            },
        },
    )
    ds.F.attrs["long_name"] = "left loadings (W = F G^T / N in units of psi)"
    ds.G.attrs["long_name"] = "right loadings"
    ds.U.attrs["long_name"] = "input vectors"
    ds.W_out.attrs["long_name"] = "readout vector (z = W_out . psi / N)"
    save(ds, path)
    return ds


def load_model(path: str | Path) -> tuple[dict, TrainConfig]:
    """(params, cfg) of a model written by :func:`save_model`."""
    ds = load(path)
    try:
        cfg = TrainConfig.from_dict(json.loads(ds.attrs["config"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{str(path)!r} is not a saved context-dm model ({e})") from None
    params = {k: jnp.asarray(ds[k].values, jnp.float32) for k in PARAMS}
    return params, cfg


# ----------------------------------------------------------------------------- latent dynamics
def latent_basis(F, U) -> np.ndarray:
    """The basis B = A (AᵀA)⁻¹ with A = [F, U] (N, p + 4): ``Projection(B)`` gives (κ, v)."""
    A = np.concatenate([np.asarray(F, np.float64), np.asarray(U, np.float64)], axis=1)
    return A @ np.linalg.inv(A.T @ A)


def latent_velocity(kappa, v, rows, cfg: TrainConfig):
    """τ dκ/dt = −κ + mean_j G_j ψ(F_j κ + U_j v) (Eq. L) for κ (..., p) and v (..., 4), with
    ``rows`` (N, 2p + 5) the neurons' rows (the trained ones or a sample)."""
    r = split_rows(jnp.asarray(rows), cfg.rank)
    x = jnp.einsum("...p,np->...n", kappa, r["F"]) + jnp.einsum("...q,nq->...n", v, r["U"])
    psi = cfg.phi(x) / cfg.rmax
    return -kappa + jnp.einsum("...n,np->...p", psi, r["G"]) / r["F"].shape[0]


def slow_points(rows, cfg: TrainConfig, v, kappa0, steps: int = 400, lr: float = 0.05):
    """Fixed and slow points of Eq. L by minimising q(κ) = ½‖τ dκ/dt‖² with Adam from each
    initial point ``kappa0`` (K, p), at the constant filtered input ``v`` (4,).

    Returns dict ``kappa`` (K, p), ``speed`` (K,) = ‖τ dκ/dt‖ at the end, ``eig`` (K, p) the
    eigenvalues of the Jacobian of τ dκ/dt there (≈ 0 along a line attractor, < 0 stable)."""
    import optax

    rows = jnp.asarray(rows, jnp.float32)
    v = jnp.asarray(v, jnp.float32)

    def q(k):
        return 0.5 * jnp.sum(latent_velocity(k, v, rows, cfg) ** 2)

    opt = optax.adam(lr)

    @jax.jit
    def descend(k0):
        def body(carry, _):
            k, s = carry
            g = jax.grad(q)(k)
            upd, s = opt.update(g, s, k)
            return (optax.apply_updates(k, upd), s), None

        (k, _), _ = jax.lax.scan(body, (k0, opt.init(k0)), None, length=steps)
        return k

    kappa = jax.vmap(descend)(jnp.asarray(kappa0, jnp.float32))
    vel = jax.vmap(lambda k: latent_velocity(k, v, rows, cfg))(kappa)
    jac = jax.vmap(jax.jacfwd(lambda k: latent_velocity(k, v, rows, cfg)))(kappa)
    eig = np.linalg.eigvals(np.asarray(jac, np.float64))
    return {
        "kappa": np.asarray(kappa, np.float64),
        "speed": np.linalg.norm(np.asarray(vel, np.float64), axis=-1),
        "eig": eig,
    }


# ----------------------------------------------------------------------------- mixture twins
def mixture_sampler(mixture, rank: int, seed: int) -> RowSampler:
    """A :class:`lowdim.RowSampler` whose rows z ~ the Gaussian ``mixture`` (a
    :class:`lowdim.analysis.mixture.GaussianMixture` over rows [F, G, U, W_out]); f(z) = F,
    g(z) = G. The same rows' U and W_out come from :func:`sampled_rows`."""
    p = rank
    return RowSampler(
        rank=p,
        draw=mixture.jax_draw(),
        f=lambda z: z[..., :p],
        g=lambda z: z[..., p : 2 * p],
        seed=seed,
        name=f"gmm{mixture.components}",
    )


def sampled_rows(sampler: RowSampler, neurons: int, dtype=jnp.float32) -> jnp.ndarray:
    """The first ``neurons`` full rows z (N, d) of a mixture sampler (the same numbers its F and
    G are made of: tile t is ``draw(fold_in(loadings_key(seed), t), TILE_ROWS)``)."""
    tiles = -(-neurons // TILE_ROWS)
    key = loadings_key(sampler.seed)

    @jax.jit
    def build():
        z = jax.lax.map(
            lambda t: sampler.draw(jax.random.fold_in(key, t), TILE_ROWS, dtype),
            jnp.arange(tiles, dtype=jnp.int32),
        )
        return z.reshape(tiles * TILE_ROWS, -1)[:neurons]

    return build()


def paired_kinds(cfg: TrainConfig) -> tuple:
    """(Rate(φ), Poisson(φ)): the paired RNN and SNN of one network."""
    return (Rate(cfg.phi), Poisson(cfg.phi))


def twin_seed(seed: int, neurons: int, draw: int) -> int:
    """The seed of population draw ``draw`` of N = ``neurons`` (independent streams)."""
    return int(
        np.random.SeedSequence([int(seed), int(neurons), int(draw), 77]).generate_state(1)[0] >> 1
    )


def run_twin(
    mixture,
    cfg: TrainConfig,
    u,
    neurons: int,
    seed: int,
    *,
    substeps: int = 5,
    kinds=None,
    loadings: str = "stored",
    chunk: int | None = None,
) -> dict:
    """Networks of N = ``neurons`` neurons drawn from ``mixture`` (population seed ``seed``)
    run on the trials ``u`` (B, steps, 4) on the grid dt/``substeps``, paired by default: one
    :class:`lowdim.Network` with kinds (Rate(φ), Poisson(φ)), same rows, same input.

    ``loadings``: "stored" (F, G materialised) or "procedural" (regenerated every step from the
    sampler, O(N) memory). Trials run in chunks of ``chunk`` (default: ≈ 1 GB of state).
    Returns ``z`` (B, steps, kinds) on the task grid (``Readout(mode="sample")``: the readout
    of φ(x) and of φ(h)), and for a pair ``distance`` (B,), the trial's time average of the
    population mean |h − x| (the paper's Δ), and ``distance_kappa`` (B,), the time average of
    |κ_SNN − κ_RNN| (κ from ``Projection`` on [F, U]).
    """
    kinds = paired_kinds(cfg) if kinds is None else tuple(kinds)
    sampler = mixture_sampler(mixture, cfg.rank, seed)
    rows = split_rows(sampled_rows(sampler, neurons), cfg.rank)
    extra = {"U": rows["U"], "W_out": rows["W_out"]}
    u = jnp.asarray(u)
    B = int(u.shape[0])
    chunk = chunk or max(1, min(B, int(1e9 // (neurons * 4 * 8 * len(kinds)))))
    grid = Grid(cfg.task.dt / substeps, cfg.task.steps * substeps, substeps)
    probes = {"z": Readout(mode="sample")}
    if len(kinds) == 2:
        basis = jnp.asarray(latent_basis(rows["F"], rows["U"])[:, : cfg.rank], jnp.float32)
        probes["d"] = Distance(mode="average")
        probes["kappa"] = Projection(basis, mode="mean")
    layout = Layout(loadings=loadings)
    key = jax.random.PRNGKey(seed)
    outs = []
    fn = jax.jit(lambda net, k: solve(net, grid, k, probes, layout=layout))
    for a in range(0, B, chunk):
        part = u[a : a + chunk]
        net = network(
            extra, cfg, part, substeps=substeps, kinds=kinds, sampler=sampler, neurons=neurons
        )
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(a, a + part.shape[0]))
        o = fn(net, keys)
        outs.append({k: np.asarray(v) for k, v in o.items()})
    z = np.concatenate([o["z"][..., 0] for o in outs])
    res = {"z": z if z.ndim == 3 else z[..., None]}
    if len(kinds) == 2:
        res["distance"] = np.concatenate([o["d"][..., 0] for o in outs])
        k = np.concatenate([o["kappa"] for o in outs])  # (B, T, 2, p)
        res["distance_kappa"] = np.mean(np.abs(k[:, :, 1] - k[:, :, 0]).sum(-1), axis=1)
    return res
