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

import json
import math
import os
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from . import connectivity as conn_mod
from . import sharding
from .config import RunConfig
from .dynamics import poisson_counts_thinning, thinning_block
from .errors import ConfigError, MemoryBudgetError
from .nonlinearity import Transfer

__all__ = ["Model", "simulate", "estimate_memory", "available_memory", "check_memory"]


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


def estimate_memory(cfg: RunConfig, per_device: bool = False) -> int:
    """Peak bytes of a run: loadings, their construction, state, per-step temporaries, records.

    Stored loadings: F and G in ``cfg.storage_dtype`` plus one placement copy (O(N p)); procedural:
    none, only one block of regenerated rows per device (O(N) overall). ``per_device`` divides the
    sharded parts by ``cfg.devices`` (what one GPU must hold when the run is sharded).
    """
    item = 8 if cfg.dtype == "float64" else 4
    n, p, d = cfg.padded_neurons, cfg.p, cfg.devices
    if cfg.loadings == "procedural":
        loadings = 0
        # ξ, G (compute dtype), their storage casts, threefry bits: per device, per block
        block = 6 * cfg.block_rows * p * item * d
    else:
        loadings = 3 * n * p * cfg.loadings_bytes  # F, G and one placement copy
        block = 4 * 16 * 1024 * p * item  # one group of tiles while building
        if cfg.tiled:
            block += 2 * cfg.block_rows * p * cfg.loadings_bytes * d
    state = 24 * n * item  # x, h, rates, counts, (N, 3) products, masks, temporaries
    k = min(cfg.record_overlaps, p)
    records = cfg.n_records * (2 * cfg.record_neurons + 4 * k + 8) * 8 + cfg.n_steps * max(
        cfg.record_neurons, 1
    )
    sharded = loadings + block + state
    if per_device and d > 1:
        sharded = -(-sharded // d)
    return sharded + records


def check_memory(cfg: RunConfig) -> None:
    """Raise MemoryBudgetError (with what to change) if the run cannot fit."""
    cfg = cfg.validated()
    cpu = jax.devices()[0].platform == "cpu"  # host devices share one memory
    need, have = estimate_memory(cfg, per_device=not cpu), available_memory()
    if need > 0.9 * have:
        hint = f"reduce --neurons or --rank (N·p = {cfg.neurons * cfg.p:.3g})"
        if cfg.loadings == "stored":
            hint += ", use loadings = 'procedural' (O(N) memory) or loadings_dtype = 'bfloat16'"
        if not cpu:
            hint += ", or shard over more devices (devices)"
        raise MemoryBudgetError(
            f"this run needs about {need / 2**30:.1f} GiB but {have / 2**30:.1f} GiB is available"
            f"{' per device' if not cpu and cfg.devices > 1 else ''}; {hint}"
        )


# ----------------------------------------------------------------------------- products
def _split(b, low, dtype):
    """b ≈ hi + lo with hi, lo in the low storage precision: the small operand keeps ~2× the
    mantissa bits while the product runs natively in ``low`` with accumulation in ``dtype``."""
    hi = b.astype(low)
    lo = (b - hi.astype(dtype)).astype(low)
    return jnp.concatenate([hi, lo], axis=-1)


def _contract(eq: str, big, small, dtype):
    """einsum(eq, big, small) accumulated in ``dtype``; ``big`` may be stored in lower precision
    (bf16/fp16: the small operand is split into hi + lo parts, its last axis doubled, which costs
    nothing in the memory-bound read of ``big``)."""
    if big.dtype == small.dtype:
        return jnp.einsum(eq, big, small)
    q = small.shape[-1]
    out = jnp.einsum(eq, big, _split(small, big.dtype, dtype), preferred_element_type=dtype)
    return out[..., :q] + out[..., q:]


# ----------------------------------------------------------------------------- model
@dataclass(frozen=True)
class Model:
    """Static description of one paired run: everything the jitted step closes over.

    Layouts. Untiled (default, stored loadings): F is (N, p), G is kept as Gᵀ (p, N), and one
    step does one ``Gᵀ @ A`` and one ``F @ [M, ΔB]``. Tiled (procedural loadings, or ``tile_rows``): neurons are
    padded to ``n_pad = devices · blocks · block_rows`` (padding rows have zero loadings, zero
    counts and are excluded from every mean); per step a scan over ``blocks`` reads (stored: slices;
    procedural: regenerates) one block of rows per device for the overlaps, the p×q partial sums
    are added over devices once, and a second scan forms F·[M, ΔB]. With ``mesh`` (devices > 1)
    every per-neuron array is sharded in contiguous blocks over the devices.
    """

    cfg: RunConfig
    phi: Transfer
    dtype: object
    neurons: int
    rank: int
    n_in: int
    rec_idx: np.ndarray  # recorded neuron indices
    mesh: object = None
    procedural: object = None  # lowdim.procedural.Procedural in procedural mode

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

    @property
    def tiled(self) -> bool:
        return self.cfg.tiled

    @property
    def n_pad(self) -> int:
        return self.cfg.padded_neurons if self.tiled else self.neurons

    @property
    def n_devices(self) -> int:
        return self.cfg.devices

    @property
    def block_rows(self) -> int:
        return self.cfg.block_rows

    @property
    def blocks(self) -> int:
        return self.n_pad // (self.n_devices * self.block_rows)

    @property
    def storage_dtype(self):
        return jnp.dtype(self.cfg.storage_dtype)

    def keys(self):
        """Per-purpose RNG streams; input and spikes may have their own seeds."""
        cfg = self.cfg

        def stream(seed, i):
            return jax.random.fold_in(jax.random.PRNGKey(cfg.seed if seed is None else seed), i)

        return {
            "input": stream(cfg.input_seed, 2),
            "spikes": stream(cfg.spike_seed, 3),
            "membrane": stream(cfg.spike_seed, 4),
        }

    def masks(self):
        """(in, source, target) masks as float arrays over the (padded) neurons; feedforward
        keeps in → rec weights only."""
        idx = jnp.arange(self.n_pad)
        m_in = (idx < self.n_in).astype(self.dtype)
        if self.cfg.topology == "feedforward":
            return m_in, m_in, 1.0 - m_in
        one = jnp.ones(self.n_pad, self.dtype)
        return m_in, one, one

    def rec_mask(self):
        """The 'rec' population as a float mask; padding rows are in neither population."""
        idx = jnp.arange(self.n_pad)
        return ((idx >= self.n_in) & (idx < self.neurons)).astype(self.dtype)

    def effective_gamma(self, conn):
        """Self-couplings to remove, γ_i = s Σ_μ F_iμ G_iμ from the *stored* (possibly rounded)
        loadings; none in the feedforward model (no neuron is its own source)."""
        if self.cfg.topology == "feedforward":
            return jnp.zeros(self.n_pad, self.dtype)
        F, G = conn.F.astype(self.dtype), conn.G.astype(self.dtype)
        return (conn.scale * jnp.sum(F * G, axis=1)).astype(self.dtype)

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

    # ------------------------------------------------------------------ loadings
    def load_block(self, F, G, j):
        """(F_b, G_b), each (devices, block_rows, p) in storage precision: block j of every device.

        Stored: a slice of the (devices, blocks, block_rows, p) arrays. Procedural: the definition
        tiles of those rows regenerated from the seed — the same numbers the stored arrays hold."""
        if self.procedural is None:
            return F[:, j], G[:, j]
        from .procedural import TILE_ROWS

        per = self.block_rows // TILE_ROWS
        dev = jnp.arange(self.n_devices, dtype=jnp.int32)[:, None]
        tiles = (dev * self.blocks + j) * per + jnp.arange(per, dtype=jnp.int32)[None, :]
        tiles = sharding.constrain(tiles, self.mesh)
        Fb, Gb = self.procedural.block(tiles)  # (devices, per, TILE_ROWS, p)
        shape = (self.n_devices, self.block_rows, self.rank)
        return Fb.reshape(shape), Gb.reshape(shape)

    def tiled_gamma(self, F, G, scale):
        """γ over the padded neurons in the tiled layout (one pass over the blocks)."""

        def body(_, j):
            # materialise the block first: fused with the generator, XLA would order the sum
            # over μ differently from the stored mode, and the modes must agree bitwise
            Fb, Gb = jax.lax.optimization_barrier(self.load_block(F, G, j))
            g = scale * jnp.sum(Fb.astype(self.dtype) * Gb.astype(self.dtype), axis=-1)
            return None, sharding.constrain(g.astype(self.dtype), self.mesh)

        _, g = jax.lax.scan(body, None, jnp.arange(self.blocks))  # (blocks, devices, rows)
        return jnp.transpose(g, (1, 0, 2)).reshape(self.n_pad)

    def products(self, A, dB, arrays):
        """M = s Gᵀ A (p, q) and R = F·[M, ΔB] (N, q [+1]): one read of G and one of F per step.

        Untiled, ``arrays[1]`` holds Gᵀ (p, N); tiled, G's blocks (devices, blocks, rows, p).

        Low-precision loadings multiply natively with accumulation in ``dtype`` (see _contract)."""
        F, G, scale = arrays[0], arrays[1], arrays[2]
        dt_ = self.dtype
        if not self.tiled:  # G is stored transposed here, (p, N): see build_arrays
            if G.dtype == A.dtype:
                M = scale * (G @ A)  # one read of G for all overlaps
            else:
                M = scale * _contract("pn,nq->pq", G, A, dt_)
            B = M if dB is None else jnp.concatenate([M, dB[:, None]], axis=1)
            if F.dtype == B.dtype:
                # a fused multiply-and-reduce over p: XLA:CPU streams F at close to its read
                # rate this way, ~15 % faster than its dot for (N, p) × (p, ≤ 3)
                R = jnp.sum(F[:, :, None] * B[None, :, :], axis=1)
            else:
                R = _contract("np,pq->nq", F, B, dt_)
            return M, R
        d, nb, rows, q = self.n_devices, self.blocks, self.block_rows, A.shape[1]
        A4 = sharding.constrain(A.reshape(d, nb, rows, q), self.mesh)

        def overlaps(acc, j):
            _, Gb = self.load_block(F, G, j)
            Aj = jax.lax.dynamic_index_in_dim(A4, j, axis=1, keepdims=False)
            part = _contract("drp,drq->dpq", Gb, Aj, dt_)
            return sharding.constrain(acc + part, self.mesh), None

        acc0 = sharding.constrain(jnp.zeros((d, self.rank, q), dt_), self.mesh)
        acc, _ = jax.lax.scan(overlaps, acc0, jnp.arange(nb))
        M = scale * jnp.sum(acc, axis=0)  # the all-reduce over devices (p·q numbers)
        B = M if dB is None else jnp.concatenate([M, dB[:, None]], axis=1)

        def recurrent(_, j):
            Fb, _ = self.load_block(F, G, j)
            return None, sharding.constrain(_contract("drp,pq->drq", Fb, B, dt_), self.mesh)

        _, R4 = jax.lax.scan(recurrent, None, jnp.arange(nb))  # (blocks, devices, rows, q')
        R = jnp.transpose(R4, (1, 0, 2, 3)).reshape(self.n_pad, B.shape[1])
        return M, sharding.constrain(R, self.mesh)

    # ------------------------------------------------------------------ one step
    def step(self, x, h, k, arrays, keys):
        """Advance (x, h) by one step from global step index k (MODEL.md §3).

        ``arrays`` = (F, G, scale, γ, m_in, src, tgt[, m_rec]) as built by :func:`build_arrays`.
        Returns (x_new, h_new, r, n, M) with r = rates used by the RNN (Hz), n = spike counts,
        M = (p, 2) overlaps of the stacked activities (column 0: s Gᵀ φ(x) dt; 1: s Gᵀ n).
        """
        cfg, phi, dt, tau, e = self.cfg, self.phi, self.cfg.dt, self.cfg.tau, self.decay
        gamma, m_in, src, tgt = arrays[3:7]
        # always two activity columns (rnn, snn), zero for a network that is not run: the
        # products then have the same shapes in every mode, so a single network computes
        # bitwise what it computes in the paired run (the extra column is free in a
        # memory-bound read of F and G)
        zero = jnp.zeros_like(x)
        cols, r, n = [zero, zero], None, None
        if self.rnn:
            r = phi(x)
            if cfg.membrane_noise > 0:
                r = jnp.where(m_in > 0, phi.smoothed(x, self.membrane_variance(k)), r)
            cols[0] = r * dt
        if self.snn:
            block = thinning_block(self.neurons, phi.max * dt)
            n = poisson_counts_thinning(
                jax.random.fold_in(keys["spikes"], k),
                phi,
                h,
                phi.max,
                dt,
                block,
                self.dtype,
                n_valid=self.neurons if self.n_pad != self.neurons else None,
            )
            cols[1] = n
        A = jnp.stack(cols, axis=1)
        if cfg.topology == "feedforward":
            A = A * src[:, None]
        noise = cfg.input == "white_noise" and cfg.sigma > 0
        dB = None
        if noise:
            dB = jax.random.normal(jax.random.fold_in(keys["input"], k), (self.rank,), self.dtype)
            dB = dB * math.sqrt(dt * cfg.time_unit_seconds) * (cfg.sigma / math.sqrt(self.rank))
        M, R = self.products(A, dB, arrays)
        if noise:
            common = R[:, -1] * m_in / tau
        else:
            common = jnp.zeros_like(x)
        drive = self.drive(k * dt)
        if drive is not None:
            common = common + (1.0 - e) * drive * m_in
        if cfg.topology == "feedforward":
            R = R * tgt[:, None]
        x_new = h_new = None
        if self.rnn:
            x_new = e * x + (R[:, 0] - gamma * r * dt) / tau + common
        if self.snn:
            h_new = e * h + (R[:, 1] - gamma * n) / tau + common
            if cfg.membrane_noise > 0:
                dW = jax.random.normal(jax.random.fold_in(keys["membrane"], k), x.shape, self.dtype)
                scale_w = cfg.membrane_noise * math.sqrt(dt * cfg.time_unit_seconds) / tau
                h_new = h_new + scale_w * dW * m_in
        return x_new, h_new, r, n, M

    # ------------------------------------------------------------------ chunks
    def make_chunk(self, records_per_chunk: int):
        """Jitted ``chunk(state, arrays, start, keys, rec_idx)`` advancing ``records_per_chunk``
        record intervals from step ``start``. The RNG keys and recorded indices are arguments,
        so one compilation serves every seed (see :func:`compiled_chunk`)."""
        cfg = self.cfg
        spr = cfg.steps_per_record
        n_in, n_rec_pop = self.n_in, self.neurons - self.n_in
        K = self.n_overlaps
        burn = cfg.burn_steps
        dtype = self.dtype

        def inner(carry, k, arrays, keys, rec_idx):
            x, h, post, win = carry
            m_in = arrays[4]
            m_rec = arrays[7] if len(arrays) > 7 else self.rec_mask()
            x_new, h_new, r, n, M = self.step(x, h, k, arrays, keys)
            x_new = x if x_new is None else x_new  # a network that is not run stays at rest
            h_new = h if h_new is None else h_new
            after = (k >= burn).astype(dtype)
            # window sums (all steps) and post-burn-in sums; rates in Hz
            w = {}
            if self.rnn:
                w["rate_rnn"] = jnp.stack(
                    [jnp.sum(r * m_in) / n_in, jnp.sum(r * m_rec) / n_rec_pop]
                )
                w["m_rnn"] = M[:K, 0] / cfg.dt
            if self.snn:
                w["rate_snn"] = (
                    jnp.stack([jnp.sum(n * m_in) / n_in, jnp.sum(n * m_rec) / n_rec_pop]) / cfg.dt
                )
                w["m_snn"] = M[:K, 1] / cfg.dt
            if self.rnn and self.snn:
                d = jnp.abs(h_new - x_new)
                w["dist"] = jnp.stack([jnp.sum(d * m_in) / n_in, jnp.sum(d * m_rec) / n_rec_pop])
            win = {key: win[key] + val for key, val in w.items()}
            if self.rnn and self.snn:
                w["dist_neuron"] = d[rec_idx]  # every step, for per-neuron time averages
            post = {key: post[key] + after * val for key, val in w.items()}
            spikes = n[rec_idx].astype(jnp.int8) if self.snn else jnp.zeros((0,), jnp.int8)
            return (x_new, h_new, post, win), spikes

        def outer(carry, rec_start, arrays, keys, rec_idx):
            x, h, post = carry
            zero = {k: jnp.zeros_like(v) for k, v in post.items() if k != "dist_neuron"}
            ks = rec_start + jnp.arange(spr)
            (x, h, post, win), spikes = jax.lax.scan(
                lambda c, k: inner(c, k, arrays, keys, rec_idx), (x, h, post, zero), ks
            )
            rec = {key: val / spr for key, val in win.items()}
            if self.rnn:
                rec["x"] = x[rec_idx]
            if self.snn:
                rec["h"] = h[rec_idx]
            rec["spikes"] = spikes
            return (x, h, post), sharding.replicate(rec, self.mesh)

        @jax.jit
        def chunk(state, arrays, start, keys, rec_idx):
            starts = start + spr * jnp.arange(records_per_chunk)
            (x, h, post), rec = jax.lax.scan(
                lambda c, s: outer(c, s, arrays, keys, rec_idx), state, starts
            )
            x, h = sharding.constrain(x, self.mesh), sharding.constrain(h, self.mesh)
            return (x, h, sharding.replicate(post, self.mesh)), rec

        return chunk

    def initial_state(self):
        z = jnp.zeros(self.n_pad, self.dtype)
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

    def place_state(self, state):
        """Put a (x, h, post) state (NumPy or JAX) on the devices of this run."""
        x, h, post = state
        put = sharding.put
        return (
            put(x, self.mesh),
            put(h, self.mesh),
            {k: put(v, self.mesh, None) for k, v in post.items()},
        )


def make_model(
    cfg: RunConfig, neurons: int | None = None, rank: int | None = None, record_indices=None
) -> Model:
    """The static model of a run; ``record_indices`` (unique neuron indices, kept in the given
    order) overrides the random choice of ``cfg.record_neurons`` in ``cfg.record_population``."""
    cfg = cfg.validated()
    n = neurons or cfg.neurons
    if record_indices is not None:
        rec_idx = np.asarray(record_indices, dtype=np.int64).reshape(-1)
        if len(np.unique(rec_idx)) != len(rec_idx) or (rec_idx < 0).any() or (rec_idx >= n).any():
            raise ConfigError(f"record_indices must be distinct neuron indices in [0, {n})")
    else:
        pop = {"rec": (cfg.n_in, n), "in": (0, cfg.n_in), "all": (0, n)}[cfg.record_population]
        rng = np.random.default_rng([cfg.seed, 5])
        size = min(cfg.record_neurons, pop[1] - pop[0])
        rec_idx = np.sort(rng.choice(np.arange(pop[0], pop[1]), size=size, replace=False))
    dtype = jnp.float64 if cfg.dtype == "float64" else jnp.float32
    phi = cfg.phi()
    proc = None
    if cfg.loadings == "procedural":
        from .procedural import Procedural

        proc = Procedural(
            neurons=n,
            rank=rank or cfg.p,
            phi=phi,
            seed=cfg.seed,
            dtype=dtype,
            storage_dtype=jnp.dtype(cfg.storage_dtype),
        )
    return Model(
        cfg=cfg,
        phi=phi,
        dtype=dtype,
        neurons=n,
        rank=rank or cfg.p,
        n_in=cfg.n_in,
        rec_idx=rec_idx,
        mesh=sharding.make_mesh(cfg.devices),
        procedural=proc,
    )


def build_arrays(model: Model, connectivity=None):
    """The step's arrays (F, G, scale, γ, m_in, src, tgt, m_rec), placed on the run's devices.

    Returns (arrays, connectivity) where connectivity is what the records describe (a LowRank,
    or a Procedural that holds no matrices)."""
    cfg, mesh, sd = model.cfg, model.mesh, model.storage_dtype
    m_in, src, tgt, m_rec = (sharding.put(v, mesh) for v in (*model.masks(), model.rec_mask()))
    if model.procedural is not None:
        if connectivity is not None:
            raise ConfigError(
                "procedural loadings regenerate the paper's connectivity from the seed; pass no "
                "connectivity, or use loadings = 'stored' for custom loadings"
            )
        connectivity = model.procedural
        F = G = None
    elif connectivity is None and model.tiled:
        F, G = conn_mod.paper_loadings(
            model.n_pad, cfg.p, model.phi, cfg.seed, model.dtype, sd, valid_rows=cfg.neurons
        )
        connectivity = _Scale(1.0 / (model.phi.c * cfg.neurons))
    else:
        if connectivity is None:
            connectivity = conn_mod.paper(cfg.neurons, cfg.p, model.phi, cfg.seed, model.dtype, sd)
        elif connectivity.neurons != cfg.neurons or connectivity.rank != cfg.p:
            raise ConfigError(
                f"connectivity is N = {connectivity.neurons}, p = {connectivity.rank} but the "
                f"config says N = {cfg.neurons}, p = {cfg.p}; make them agree"
            )
        F, G = connectivity.F.astype(sd), connectivity.G.astype(sd)
        if model.tiled:
            pad = ((0, model.n_pad - cfg.neurons), (0, 0))
            F, G = jnp.pad(F, pad), jnp.pad(G, pad)
    scale = jnp.asarray(connectivity.scale, model.dtype)
    if model.tiled:
        if F is not None:
            shape = (model.n_devices, model.blocks, model.block_rows, cfg.p)
            F = sharding.put(F.reshape(shape), mesh)
            G = sharding.put(G.reshape(shape), mesh)
        if cfg.topology == "feedforward":
            gamma = jnp.zeros(model.n_pad, model.dtype)
        else:
            gamma = jax.jit(model.tiled_gamma)(F, G, scale)
        gamma = sharding.put(gamma, mesh)
    else:
        gamma = sharding.put(
            model.effective_gamma(_Loadings(F, G, connectivity.scale)).astype(model.dtype), mesh
        )
        # G is kept transposed, (p, N) row-major: Gᵀ A then streams along N in both operands,
        # which XLA:CPU runs about 2× faster inside the time loop than A ᵀ G on an (N, p) G
        # (docs/design_notes/engine.md, "Layout of G")
        F, G = sharding.put(F, mesh), sharding.put(jnp.transpose(jnp.asarray(G)), mesh, axis=1)
    return (F, G, scale, gamma, m_in, src, tgt, m_rec), connectivity


@dataclass(frozen=True)
class _Scale:
    """What the records need of a connectivity that is not kept as a LowRank."""

    scale: float


@dataclass(frozen=True)
class _Loadings:
    F: object
    G: object
    scale: float


_CHUNKS: dict = {}
_EXECUTABLES: dict = {}
_SEEDS = ("seed", "input_seed", "spike_seed")


def compiled_chunk(model: Model, records_per_chunk: int, example_args=None):
    """``model.make_chunk``, reused across runs that differ only in seeds (sweeps, tests).

    The jitted chunk closes over the config (static shapes, constants) but takes the RNG keys and
    the recorded indices as arguments; procedural loadings depend on the seed, so it stays in the
    key then. At most 16 compiled chunks are kept. With ``example_args`` the chunk is compiled
    ahead of time for arguments like those, and the executable is returned (so that a run can
    time its simulation loop apart from compilation).
    """
    cfg = model.cfg.to_dict()
    if model.procedural is None:
        for k in _SEEDS:
            cfg.pop(k, None)
    key = (json.dumps(cfg, sort_keys=True), len(model.rec_idx), records_per_chunk)
    if key not in _CHUNKS:
        if len(_CHUNKS) >= 16:
            _CHUNKS.pop(next(iter(_CHUNKS)))
        _CHUNKS[key] = model.make_chunk(records_per_chunk)
    if example_args is None:
        return _CHUNKS[key]
    shapes = jax.tree_util.tree_map(lambda a: (a.shape, str(a.dtype)), example_args)
    akey = (key, json.dumps(shapes, default=str))
    if akey not in _EXECUTABLES:
        if len(_EXECUTABLES) >= 16:
            _EXECUTABLES.pop(next(iter(_EXECUTABLES)))
        _EXECUTABLES[akey] = _CHUNKS[key].lower(*example_args).compile()
    return _EXECUTABLES[akey]


def _records_per_chunk(cfg: RunConfig, max_steps: int | None = None) -> int:
    """A divisor of n_records giving chunks of roughly 2·10⁸ neuron-steps (few compilations),
    and at most ``max_steps`` steps (checkpoint interval) when given."""
    target_steps = max(cfg.steps_per_record, min(2000, int(2e8 / (cfg.neurons * (cfg.p + 4)))))
    if max_steps is not None:
        target_steps = min(target_steps, max_steps)
    target = max(1, target_steps // cfg.steps_per_record)
    n = cfg.n_records
    best = 1
    for d in range(1, min(n, target) + 1):
        if n % d == 0:
            best = d
    return best


def simulate(
    cfg: RunConfig,
    connectivity: conn_mod.LowRank | None = None,
    *,
    progress: bool = False,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: float | None = 300.0,
    checkpoint_steps: int | None = None,
    record_indices=None,
    on_chunk=None,
    keep_records: bool = True,
):
    """Run the paired (or single) network described by ``cfg``; return an ``xarray.Dataset``.

    ``connectivity`` defaults to the paper's (Eq. 7) built from ``cfg.seed``; pass a
    :class:`~lowdim.connectivity.LowRank` for custom loadings (its N must equal ``cfg.neurons``).

    Streaming: ``record_indices`` chooses the recorded neurons; ``on_chunk(records, first)`` is
    called after every chunk with that chunk's records (NumPy arrays keyed as in the dataset's
    raw records: ``x``, ``h`` (records, neurons), ``m_rnn``, ``rate_rnn``, …) and the index of
    its first record interval; with ``keep_records=False`` the records are not kept (memory
    independent of the duration) and the returned dataset holds only the run's summary
    attributes and the per-neuron distances.

    Checkpoint and resume: with ``checkpoint=PATH`` the state (x, h, post-burn-in sums), the next
    step index and the records so far are written atomically to PATH (temp file + rename) at the
    end of a chunk whenever ``checkpoint_every`` wall-clock seconds have passed since the last
    write (0: after every chunk) and/or every ``checkpoint_steps`` simulation steps (the chunks
    are then at most that long), and once more when the run completes. If PATH exists, the run
    resumes from it (the config must be identical); every random draw is keyed by the global step
    index, so a resumed run ends bitwise equal to an uninterrupted one. A completed checkpoint
    returns its result without simulating again.
    """
    from . import checkpoint as ckpt
    from .record import build_dataset

    cfg = cfg.validated()
    t0 = time.perf_counter()
    check_memory(cfg)
    if checkpoint_steps is not None and (
        isinstance(checkpoint_steps, bool)
        or not isinstance(checkpoint_steps, int)
        or checkpoint_steps < 1
    ):
        raise ConfigError(f"checkpoint_steps must be a positive integer, got {checkpoint_steps!r}")
    if checkpoint_every is not None and not (
        isinstance(checkpoint_every, int | float) and checkpoint_every >= 0
    ):
        raise ConfigError(f"checkpoint_every must be seconds ≥ 0 or None, got {checkpoint_every!r}")
    if not keep_records and checkpoint is not None:
        raise ConfigError("checkpoints keep the records; use keep_records=True with checkpoint")
    model = make_model(cfg, record_indices=record_indices)
    rpc = _records_per_chunk(cfg, checkpoint_steps)
    n_chunks = cfg.n_records // rpc
    fingerprint = ckpt.fingerprint(connectivity)
    saver = None
    state, pieces, first, wall_before = None, [], 0, 0.0
    if checkpoint is not None:
        saver = ckpt.Checkpointer(checkpoint, cfg, fingerprint, rpc, n_chunks)
        resumed = saver.load()
        if resumed is not None:
            state, pieces, first, wall_before = resumed
    if state is not None and first >= n_chunks:  # completed run: nothing to simulate
        conn = (
            connectivity if connectivity is not None else _Scale(1.0 / (model.phi.c * cfg.neurons))
        )
        records = ckpt.concat(pieces)
        post = state[2]
        return build_dataset(model, conn, records, post, wall_before)
    arrays, connectivity = build_arrays(model, connectivity)
    keys, rec_idx = model.keys(), jnp.asarray(model.rec_idx, dtype=jnp.int32)
    state = model.place_state(state if state is not None else model.initial_state())
    t_compile = time.perf_counter()
    start0 = jnp.asarray(0, jnp.int64)
    chunk = compiled_chunk(model, rpc, (state, arrays, start0, keys, rec_idx))
    compile_seconds = time.perf_counter() - t_compile
    t_loop = time.perf_counter()
    bar = _Progress(cfg.n_steps, enabled=progress)
    last_save = time.perf_counter()
    with bar:
        bar.advance(first * rpc * cfg.steps_per_record)
        for c in range(first, n_chunks):
            start = c * rpc * cfg.steps_per_record
            state, rec = chunk(state, arrays, jnp.asarray(start, jnp.int64), keys, rec_idx)
            rec = jax.tree_util.tree_map(np.asarray, rec)
            if on_chunk is not None:
                on_chunk(rec, c * rpc)
            if keep_records:
                pieces.append(rec)
            bar.advance(rpc * cfg.steps_per_record)
            now = time.perf_counter()
            due = checkpoint_steps is not None or (
                checkpoint_every is not None and now - last_save >= checkpoint_every
            )
            if saver is not None and c + 1 < n_chunks and due:
                saver.save(state, pieces, c + 1, wall_before + now - t0)
                last_save = time.perf_counter()
    jax.block_until_ready(state)
    loop_seconds = time.perf_counter() - t_loop
    records = ckpt.concat(pieces) if keep_records else None
    post = jax.tree_util.tree_map(np.asarray, state[2])
    wall = wall_before + time.perf_counter() - t0
    if saver is not None:
        saver.save(state, pieces, n_chunks, wall)
    ds = build_dataset(model, connectivity, records, post, wall)
    ds.attrs["compile_seconds"] = compile_seconds
    ds.attrs["loop_seconds"] = loop_seconds  # simulation loop of this call, compilation excluded
    return ds


class _Progress:
    """A rich progress bar with steps/s and ETA (no-op when disabled)."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self._p = None

    def __enter__(self):
        import sys

        self._t0 = time.perf_counter()
        self._lines = self.enabled and not sys.stderr.isatty()  # logs: a line every ~10 %
        self._done, self._next = 0, self.total / 10
        if self.enabled and not self._lines:
            from rich.console import Console
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
                console=Console(stderr=True),
            )
            self._p.__enter__()
            self._task = self._p.add_task("sim", total=self.total, rate="")
            self._t0 = time.perf_counter()
        return self

    def advance(self, n):
        self._done += n
        if self._lines and n and (self._done >= self._next or self._done == self.total):
            import sys

            el = time.perf_counter() - self._t0
            rate = self._done / max(el, 1e-9)
            eta = (self.total - self._done) / max(rate, 1e-9)
            print(
                f"simulating: {self._done}/{self.total} steps, {rate:,.0f} steps/s, "
                f"ETA {eta:,.0f} s",
                file=sys.stderr,
                flush=True,
            )
            self._next = self._done + self.total / 10
        if self._p is not None:
            done = self._p.tasks[0].completed + n
            rate = done / max(time.perf_counter() - self._t0, 1e-9)
            self._p.update(self._task, advance=n, rate=f"{rate:,.0f} steps/s")

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)
        return False
