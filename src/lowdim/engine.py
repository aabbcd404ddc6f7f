"""The time loop: jitted chunks of steps, RNG streams per purpose, recording, progress.

A *paired run* advances the Poisson SNN (Eq. 1) and the RNN (Eq. 2) on one grid with the same
loadings, initial state and Brownian increments (MODEL.md §3; see :mod:`lowdim.dynamics`). Per
step, the two networks' activities are stacked as the columns of one (N, q) array so that G is
read once for all overlaps and F once for all recurrent inputs and the input noise.

RNG streams (independent, each keyed by the global step index, so results do not depend on how
the run is cut into chunks): loadings ``fold_in(seed, 1)``, input ``fold_in(seed, 2)``, spikes
``fold_in(seed, 3)``, membrane noise ``fold_in(seed, 4)``; recorded neurons from NumPy with
``(seed, 5)``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from . import connectivity as conn_mod
from .config import RunConfig
from .dynamics import poisson_counts_thinning, thinning_block
from .errors import ConfigError, MemoryBudgetError
from .nonlinearity import Transfer

__all__ = ["Model", "simulate", "estimate_memory", "available_memory"]


# ----------------------------------------------------------------------------- memory
def available_memory() -> int:
    """Bytes available on the default device (GPU: free device memory; CPU: MemAvailable)."""
    dev = jax.devices()[0]
    if dev.platform != "cpu":
        stats = dev.memory_stats() or {}
        if "bytes_limit" in stats:
            return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))  # pragma: no cover


def estimate_memory(cfg: RunConfig) -> int:
    """Peak bytes of a run: loadings, their construction, state, per-step temporaries, records."""
    item = 8 if cfg.dtype == "float64" else 4
    n, p = cfg.neurons, cfg.p
    loadings = 3 * n * p * item  # F, G and one construction temporary
    state = 24 * n * item  # x, h, rates, counts, (N, 3) products, masks, temporaries
    k = min(cfg.record_overlaps, p)
    records = cfg.n_records * (2 * cfg.record_neurons + 4 * k + 8) * 8 + cfg.n_steps * max(
        cfg.record_neurons, 1
    )
    return loadings + state + records


def check_memory(cfg: RunConfig) -> None:
    need, have = estimate_memory(cfg), available_memory()
    if need > 0.9 * have:
        raise MemoryBudgetError(
            f"this run needs about {need / 2**30:.1f} GiB but {have / 2**30:.1f} GiB is available; "
            f"reduce --neurons or --rank (N·p = {cfg.neurons * cfg.p:.3g}), or use float32"
        )


# ----------------------------------------------------------------------------- model
@dataclass(frozen=True)
class Model:
    """Static description of one paired run: everything the jitted step closes over."""

    cfg: RunConfig
    phi: Transfer
    dtype: object
    neurons: int
    rank: int
    n_in: int
    rec_idx: np.ndarray  # recorded neuron indices

    @property
    def snn(self) -> bool:
        return self.cfg.networks in ("both", "snn")

    @property
    def rnn(self) -> bool:
        return self.cfg.networks in ("both", "rnn")

    @property
    def decay(self) -> float:
        return math.exp(-self.cfg.dt / self.cfg.tau)

    @property
    def n_overlaps(self) -> int:
        return min(self.cfg.record_overlaps, self.rank)

    def keys(self):
        root = jax.random.PRNGKey(self.cfg.seed)
        return {
            name: jax.random.fold_in(root, i)
            for i, name in ((2, "input"), (3, "spikes"), (4, "membrane"))
        }

    def masks(self):
        """(in, source, target) masks as float arrays; feedforward keeps in → rec weights only."""
        idx = jnp.arange(self.neurons)
        m_in = (idx < self.n_in).astype(self.dtype)
        if self.cfg.topology == "feedforward":
            return m_in, m_in, 1.0 - m_in
        one = jnp.ones(self.neurons, self.dtype)
        return m_in, one, one

    def effective_gamma(self, conn: conn_mod.LowRank):
        """Self-couplings to remove: none in the feedforward model (no neuron is its own source)."""
        if self.cfg.topology == "feedforward":
            return jnp.zeros(self.neurons, self.dtype)
        return conn.gamma.astype(self.dtype)

    def membrane_variance(self, k):
        """Variance of the membrane-noise part of h at the start of step k (exact for the grid)."""
        cfg = self.cfg
        e2 = self.decay**2
        per_step = cfg.membrane_noise**2 * cfg.dt * cfg.time_unit_seconds / cfg.tau**2
        return per_step * (1.0 - e2 ** k.astype(self.dtype)) / (1.0 - e2)

    def drive(self, t):
        """Deterministic input I(t) to the 'in' neurons (constant or step protocol)."""
        cfg = self.cfg
        if cfg.input == "constant":
            return jnp.asarray(cfg.input_level, self.dtype)
        if cfg.input == "step":
            on = (t >= cfg.step_start) & (t < cfg.step_stop)
            return jnp.where(on, cfg.input_level, 0.0).astype(self.dtype)
        return None

    # ------------------------------------------------------------------ one step
    def step(self, x, h, k, arrays, keys):
        """Advance (x, h) by one step from global step index k (MODEL.md §3).

        Returns (x_new, h_new, r, n, M) with r = rates used by the RNN (Hz), n = spike counts,
        M = (p, q) overlaps of the stacked activities (rnn column: s Gᵀ φ(x) dt; snn: s Gᵀ n).
        """
        cfg, phi, dt, tau, e = self.cfg, self.phi, self.cfg.dt, self.cfg.tau, self.decay
        F, G, scale, gamma, m_in, src, tgt = arrays
        cols, r, n = [], None, None
        if self.rnn:
            r = phi(x)
            if cfg.membrane_noise > 0:
                r = jnp.where(m_in > 0, phi.smoothed(x, self.membrane_variance(k)), r)
            cols.append(r * dt)
        if self.snn:
            block = thinning_block(self.neurons, phi.max * dt)
            n = poisson_counts_thinning(
                jax.random.fold_in(keys["spikes"], k), phi, h, phi.max, dt, block, self.dtype
            )
            cols.append(n)
        A = jnp.stack(cols, axis=1)
        if cfg.topology == "feedforward":
            A = A * src[:, None]
        M = scale * (G.T @ A)  # one read of G for all overlaps
        noise = cfg.input == "white_noise" and cfg.sigma > 0
        if noise:
            dB = jax.random.normal(jax.random.fold_in(keys["input"], k), (self.rank,), self.dtype)
            dB = dB * math.sqrt(dt * cfg.time_unit_seconds) * (cfg.sigma / math.sqrt(self.rank))
            R = F @ jnp.concatenate([M, dB[:, None]], axis=1)  # one read of F
            common = R[:, -1] * m_in / tau
        else:
            R = F @ M
            common = jnp.zeros_like(x)
        drive = self.drive(k * dt)
        if drive is not None:
            common = common + (1.0 - e) * drive * m_in
        if cfg.topology == "feedforward":
            R = R * tgt[:, None]
        col = 0
        x_new = h_new = None
        if self.rnn:
            x_new = e * x + (R[:, col] - gamma * r * dt) / tau + common
            col += 1
        if self.snn:
            h_new = e * h + (R[:, col] - gamma * n) / tau + common
            if cfg.membrane_noise > 0:
                dW = jax.random.normal(jax.random.fold_in(keys["membrane"], k), x.shape, self.dtype)
                scale_w = cfg.membrane_noise * math.sqrt(dt * cfg.time_unit_seconds) / tau
                h_new = h_new + scale_w * dW * m_in
        return x_new, h_new, r, n, M

    # ------------------------------------------------------------------ chunks
    def make_chunk(self, records_per_chunk: int):
        """Jitted function advancing ``records_per_chunk`` record intervals from step ``start``."""
        cfg = self.cfg
        spr = cfg.steps_per_record
        n_in, n_rec_pop = self.n_in, self.neurons - self.n_in
        rec_idx = jnp.asarray(self.rec_idx, dtype=jnp.int32)
        K = self.n_overlaps
        keys = self.keys()
        burn = cfg.burn_steps
        dtype = self.dtype

        def inner(carry, k, arrays):
            x, h, post, win = carry
            m_in = arrays[4]
            x_new, h_new, r, n, M = self.step(x, h, k, arrays, keys)
            after = (k >= burn).astype(dtype)
            # window sums (all steps) and post-burn-in sums; rates in Hz
            w = {}
            col = 0
            if self.rnn:
                w["rate_rnn"] = jnp.stack(
                    [jnp.sum(r * m_in) / n_in, jnp.sum(r * (1 - m_in)) / n_rec_pop]
                )
                w["m_rnn"] = M[:K, col] / cfg.dt
                col += 1
            if self.snn:
                c_in = jnp.sum(n * m_in)
                w["rate_snn"] = jnp.stack([c_in / n_in, (jnp.sum(n) - c_in) / n_rec_pop]) / cfg.dt
                w["m_snn"] = M[:K, col] / cfg.dt
            if self.rnn and self.snn:
                d = jnp.abs(h_new - x_new)
                d_in = jnp.sum(d * m_in)
                w["dist"] = jnp.stack([d_in / n_in, (jnp.sum(d) - d_in) / n_rec_pop])
            win = {key: win[key] + val for key, val in w.items()}
            if self.rnn and self.snn:
                w["dist_neuron"] = d[rec_idx]  # every step, for per-neuron time averages
            post = {key: post[key] + after * val for key, val in w.items()}
            spikes = n[rec_idx].astype(jnp.int8) if self.snn else jnp.zeros((0,), jnp.int8)
            return (x_new, h_new, post, win), spikes

        def outer(carry, rec_start, arrays):
            x, h, post = carry
            zero = {k: jnp.zeros_like(v) for k, v in post.items() if k != "dist_neuron"}
            ks = rec_start + jnp.arange(spr)
            (x, h, post, win), spikes = jax.lax.scan(
                lambda c, k: inner(c, k, arrays), (x, h, post, zero), ks
            )
            rec = {key: val / spr for key, val in win.items()}
            if self.rnn:
                rec["x"] = x[rec_idx]
            if self.snn:
                rec["h"] = h[rec_idx]
            rec["spikes"] = spikes
            return (x, h, post), rec

        @jax.jit
        def chunk(state, arrays, start):
            starts = start + spr * jnp.arange(records_per_chunk)
            return jax.lax.scan(lambda c, s: outer(c, s, arrays), state, starts)

        return chunk

    def initial_state(self):
        z = jnp.zeros(self.neurons, self.dtype)
        K = self.n_overlaps
        post = {}
        if self.rnn:
            post["rate_rnn"] = jnp.zeros(2, self.dtype)
            post["m_rnn"] = jnp.zeros(K, self.dtype)
        if self.snn:
            post["rate_snn"] = jnp.zeros(2, self.dtype)
            post["m_snn"] = jnp.zeros(K, self.dtype)
        if self.rnn and self.snn:
            post["dist"] = jnp.zeros(2, self.dtype)
            post["dist_neuron"] = jnp.zeros(len(self.rec_idx), self.dtype)
        return (z, z, post)


def make_model(cfg: RunConfig, neurons: int | None = None, rank: int | None = None) -> Model:
    cfg = cfg.validated()
    n = neurons or cfg.neurons
    pop = {"rec": (cfg.n_in, n), "in": (0, cfg.n_in), "all": (0, n)}[cfg.record_population]
    rng = np.random.default_rng([cfg.seed, 5])
    size = min(cfg.record_neurons, pop[1] - pop[0])
    rec_idx = np.sort(rng.choice(np.arange(pop[0], pop[1]), size=size, replace=False))
    return Model(
        cfg=cfg,
        phi=cfg.phi(),
        dtype=jnp.float64 if cfg.dtype == "float64" else jnp.float32,
        neurons=n,
        rank=rank or cfg.p,
        n_in=cfg.n_in,
        rec_idx=rec_idx,
    )


def _records_per_chunk(cfg: RunConfig) -> int:
    """A divisor of n_records giving chunks of roughly 2·10⁸ neuron-steps (few compilations)."""
    target_steps = max(cfg.steps_per_record, min(2000, int(2e8 / (cfg.neurons * (cfg.p + 4)))))
    target = max(1, target_steps // cfg.steps_per_record)
    n = cfg.n_records
    best = 1
    for d in range(1, min(n, target) + 1):
        if n % d == 0:
            best = d
    return best


def simulate(
    cfg: RunConfig, connectivity: conn_mod.LowRank | None = None, *, progress: bool = False
):
    """Run the paired (or single) network described by ``cfg``; return an ``xarray.Dataset``.

    ``connectivity`` defaults to the paper's (Eq. 7) built from ``cfg.seed``; pass a
    :class:`~lowdim.connectivity.LowRank` for custom loadings (its N must equal ``cfg.neurons``).
    """
    from .record import build_dataset

    cfg = cfg.validated()
    t0 = time.perf_counter()
    check_memory(cfg)
    model = make_model(cfg)
    if connectivity is None:
        connectivity = conn_mod.paper(cfg.neurons, cfg.p, model.phi, cfg.seed, model.dtype)
    elif connectivity.neurons != cfg.neurons or connectivity.rank != cfg.p:
        raise ConfigError(
            f"connectivity is N = {connectivity.neurons}, p = {connectivity.rank} but the config "
            f"says N = {cfg.neurons}, p = {cfg.p}; make them agree"
        )
    m_in, src, tgt = model.masks()
    arrays = (
        connectivity.F.astype(model.dtype),
        connectivity.G.astype(model.dtype),
        jnp.asarray(connectivity.scale, model.dtype),
        model.effective_gamma(connectivity),
        m_in,
        src,
        tgt,
    )
    rpc = _records_per_chunk(cfg)
    chunk = model.make_chunk(rpc)
    n_chunks = cfg.n_records // rpc
    state = model.initial_state()
    pieces = []
    bar = _Progress(cfg.n_steps, enabled=progress)
    with bar:
        for c in range(n_chunks):
            start = c * rpc * cfg.steps_per_record
            state, rec = chunk(state, arrays, jnp.asarray(start, jnp.int64))
            pieces.append(jax.tree_util.tree_map(np.asarray, rec))
            bar.advance(rpc * cfg.steps_per_record)
    records = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    post = jax.tree_util.tree_map(np.asarray, state[2])
    wall = time.perf_counter() - t0
    return build_dataset(model, connectivity, records, post, wall)


class _Progress:
    """A rich progress bar with steps/s and ETA (no-op when disabled)."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self._p = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self._p = Progress(
                TextColumn("[bold]simulating"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.completed}/{task.total} steps"),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._p.__enter__()
            self._task = self._p.add_task("sim", total=self.total, rate="")
            self._t0 = time.perf_counter()
        return self

    def advance(self, n):
        if self._p is not None:
            done = self._p.tasks[0].completed + n
            rate = done / max(time.perf_counter() - self._t0, 1e-9)
            self._p.update(self._task, advance=n, rate=f"{rate:,.0f} steps/s")

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)
        return False
