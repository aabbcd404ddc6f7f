"""Event-driven SNN-only simulation: per step, only the thinning candidates are evaluated.

The dense path (:func:`lowdim.engine.simulate`) updates all N potentials every step,

    h ← e h + (1/τ)(F m − γ ⊙ n) + (σ/(τ√p)) ξ ΔB [in] + (1 − e) I(t) [in],
    m = s Gᵀ n,  n_j ~ Poisson(φ(h_j) dt),  e = exp(−dt/τ),

which reads F and G (2 N p numbers) every step. With h(0) = 0 the same recursion is solved in
closed form by a p-vector per population and one scalar trace per neuron:

    h_i(k) = F_i · κ_pop(i)(k) − γ_i r_i(k) + d(k) [i ∈ in],
    κ_in(k+1)  = e κ_in(k)  + m(k)/τ + (σ/(τ√p)) ΔB(k)     (feedforward: no m(k) term),
    κ_rec(k+1) = e κ_rec(k) + m(k)/τ,
    r_i(k+1)   = e r_i(k) + n_i(k)/τ,
    d(k+1)     = e d(k) + (1 − e) I(k dt).

*Proof*: substitute into the dense update; every term is linear in the state and the pieces of h
that multiply F_i, γ_i and [i ∈ in] obey the recursions above term by term (induction on k from
h(0) = κ(0) = r(0) = d(0) = 0). The feedforward topology (SM Sec. V) masks sources (only 'in'
spikes enter m) and targets ('in' neurons get no F m), and has γ = 0.

The trace r_i changes deterministically (decay) except at the neuron's own spikes, so it is stored
lazily: the step ``ls_i`` of its last spike, the count ``q_i`` of spikes at that step and the
pre-spike value ``c_i = r_i(ls_i)``. Then r_i(k) = c_i for k = ls_i and
r_i(k) = (e c_i + q_i/τ) e^{k − ls_i − 1} for k > ls_i — exact, O(1) per read.

Spikes are drawn by the exact thinning sampler of :func:`lowdim.dynamics.poisson_counts_thinning`
with the *same random numbers*: K ~ Poisson(N max φ dt) candidates on uniform neurons, each kept
with probability φ(h_j(k))/max φ, so per-neuron counts are independent Poisson(φ(h_j) dt) given the
state — exactly the dense path's law. Only the ≈ N max φ dt candidates need h_j (a gather of their
rows of F and a p-vector product, and one gather of their 4-number trace-table row
(c, ls, q, γ), one cache line), only the accepted spikes update m (a gather of their rows of G)
and their traces. Per-step cost O(N max φ dt · p + p) instead of O(N p); memory still holds F, G
(read sparsely) and an (N, 4) trace table.

Because the candidates, marks and ΔB come from the same RNG streams as the dense path
(``fold_in(seed, 3)`` per step for spikes, ``fold_in(seed, 2)`` per step for the input), the two
paths produce the same spike trains as long as no mark u·max φ falls between the two floating-point
evaluations of φ(h_j) (h computed by two different summation orders): in float64 that essentially
never happens over short runs; in float32 rare flips make the paths diverge after a while, but
each remains an exact sample of the same process (statistical identity, tested).

What is recorded (same names and units as :func:`lowdim.engine.simulate` with ``networks="snn"``):
potentials ``h`` of the declared recorded neurons (evaluated from κ and their traces at the record
times, exact), overlaps ``m_snn``, population rates ``rate_snn``, spikes of recorded neurons. The
distance Δ needs the RNN (a dense O(N p) pass) and is out of scope here; use the paired engine.
Membrane noise (SM Sec. VI) adds an independent per-neuron process that this closed form does not
carry and is refused (use the dense engine).
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from . import connectivity as conn_mod
from .config import RunConfig
from .dynamics import thinning_block
from .engine import _Progress, available_memory, make_model
from .errors import ConfigError, MemoryBudgetError

__all__ = ["simulate_events", "estimate_memory_events"]


def estimate_memory_events(cfg: RunConfig) -> int:
    """Peak bytes: F, G (+ one construction temporary), traces, candidate buffers, records."""
    item = 8 if cfg.dtype == "float64" else 4
    n, p = cfg.neurons, cfg.p
    block = thinning_block(n, cfg.phi().max * cfg.dt)
    k = min(cfg.record_overlaps, p)
    records = cfg.n_records * (cfg.record_neurons + 2 * k + 4) * 8 + cfg.n_steps * max(
        cfg.record_neurons, 1
    )
    return 3 * n * p * item + n * (item + 8 + 4) + 4 * block * (p + 4) * item + records


def _check(cfg: RunConfig) -> None:
    if cfg.networks != "snn":
        raise ConfigError(
            f"the event-driven path runs the SNN only (networks = 'snn'), got {cfg.networks!r}; "
            "the paired run and the distance Δ need the RNN's dense pass: use lowdim.simulate"
        )
    if cfg.membrane_noise > 0:
        raise ConfigError(
            "membrane noise (SM Sec. VI) is not supported by the event-driven path; set "
            "membrane_noise = 0 or use lowdim.simulate"
        )
    need, have = estimate_memory_events(cfg), available_memory()
    if need > 0.9 * have:
        raise MemoryBudgetError(
            f"this event-driven run needs about {need / 2**30:.1f} GiB but "
            f"{have / 2**30:.1f} GiB is available; reduce --neurons or --rank, or use float32"
        )


def _steps_per_chunk(cfg: RunConfig) -> int:
    """A divisor of n_records giving chunks of at most ~4000 steps (progress granularity)."""
    target = max(1, 4000 // cfg.steps_per_record)
    best = 1
    for d in range(1, min(cfg.n_records, target) + 1):
        if cfg.n_records % d == 0:
            best = d
    return best


def _pool(model, block: int | None) -> int:
    """Candidate buffer size: mean + 8 sd + 16 of the per-step candidate count (as the dense
    path's), or ``block``."""
    return block or thinning_block(model.neurons, model.phi.max * model.cfg.dt)


def _int_like(dtype):
    """The signed integer type of the same width as ``dtype`` (the trace table's storage)."""
    return jnp.int64 if jnp.dtype(dtype).itemsize == 8 else jnp.int32


def _make_chunk(model, records_per_chunk: int, block: int, dense_draws: bool, acc_frac: int = 16):
    cfg, dtype = model.cfg, model.dtype
    phi = model.phi
    n, n_in, p = model.neurons, model.n_in, model.rank
    n_rec_pop = n - n_in
    dt, tau = cfg.dt, cfg.tau
    e = model.decay
    log_e = -dt / tau
    rmax = phi.max
    spr = cfg.steps_per_record
    K_ov = model.n_overlaps
    burn = cfg.burn_steps
    ff = cfg.topology == "feedforward"
    noise = cfg.input == "white_noise" and cfg.sigma > 0
    noise_scale = math.sqrt(dt * cfg.time_unit_seconds) * (cfg.sigma / math.sqrt(p))
    itype = _int_like(dtype)
    acc_block = max(64, block // acc_frac)
    n_acc_pad = acc_block * (-(-block // acc_block))

    def trace_at(c, ls, q, k):
        """r(k) from the lazy trace (c = pre-spike value at step ls, q spikes at ls)."""
        gap = (k - ls - 1).astype(dtype)
        later = (e * c + q.astype(dtype) / tau) * jnp.exp(log_e * jnp.maximum(gap, 0.0))
        return jnp.where(ls == k, c, later)

    def unpack(rows):
        """Trace-table rows (…, 4) → c, ls, q, γ (c and γ stored as the bits of ``dtype``)."""
        c = jax.lax.bitcast_convert_type(rows[..., 0], dtype)
        g = jax.lax.bitcast_convert_type(rows[..., 3], dtype)
        return c, rows[..., 1], rows[..., 2], g

    def pack(c, ls, q, g):
        bits = jax.lax.bitcast_convert_type
        return jnp.stack([bits(c, itype), ls.astype(itype), q.astype(itype), bits(g, itype)], -1)

    def candidates(K, kb, k, kappa, d, carry, F, G):
        """All K candidates of this step, in blocks; returns updated (M, counts, trace table)."""

        def block_body(bs):
            M, cnt_in, cnt_all, tr, done, i = bs
            k1, k2 = jax.random.split(jax.random.fold_in(kb, i))
            if dense_draws:  # the dense path's draws, bit for bit
                idx = jax.random.randint(k1, (block,), 0, n).astype(jnp.int32)
            else:
                idx = jax.random.randint(k1, (block,), 0, n, dtype=jnp.int32)
            u = jax.random.uniform(k2, (block,), dtype=dtype)
            valid = jnp.arange(block) < (K - done)
            is_in = idx < n_in
            rows_f = jnp.take(F, idx, axis=0, mode="clip").astype(dtype)  # the only read of F
            # h with each candidate's population κ as one multiply-and-reduce over p: measured
            # ≈ 10 % faster per step than (rows @ κᵀ) and a select (docs/design_notes/engine.md)
            k_sel = jnp.where(is_in[:, None], kappa[0], kappa[1])
            h = jnp.sum(rows_f * k_sel, axis=1) + jnp.where(is_in, d, 0.0)
            if not ff:  # one gather of the candidates' trace-table rows (one cache line each)
                c, ls, q, g = unpack(tr[idx])
                h = h - g * trace_at(c, ls, q, k)
            keep = valid & (u * rmax < phi(h))
            n_keep = jnp.sum(keep, dtype=jnp.int32)
            cnt_all = cnt_all + n_keep
            cnt_in = cnt_in + jnp.sum(keep & is_in, dtype=jnp.int32)
            # compact accepted candidates; process them in sub-blocks (never truncated)
            pos = jnp.cumsum(keep.astype(jnp.int32)) - 1
            comp = jnp.full((n_acc_pad,), n, jnp.int32)
            comp = comp.at[jnp.where(keep, pos, n_acc_pad)].set(idx, mode="drop")

            def acc_body(a):
                M, tr, j = a
                rows = jax.lax.dynamic_slice(comp, (j * acc_block,), (acc_block,))
                src = rows < n_in if ff else rows < n  # feedforward: only 'in' spikes enter m
                g = G.at[rows].get(mode="fill", fill_value=0).astype(dtype)
                M = M + jnp.sum(jnp.where(src[:, None], g, 0.0), axis=0)
                # traces: first spike of a neuron in this step sets (c, ls), later ones add to q
                cr, lr, qr, gr = unpack(tr.at[rows].get(mode="fill", fill_value=0))  # pads: dropped
                same = lr == k
                c_new = jnp.where(same, cr, trace_at(cr, lr, qr, k))
                q_new = jnp.where(same, qr, 0)
                # a neuron accepted twice in this sub-block: its rows get the same (c, ls) and
                # the count is added once per acceptance below
                tr = tr.at[rows].set(pack(c_new, jnp.full_like(lr, k), q_new, gr), mode="drop")
                ones = jnp.zeros((acc_block, 4), itype).at[:, 2].set(1)
                tr = tr.at[rows].add(ones, mode="drop")
                return M, tr, j + 1

            M, tr, _ = jax.lax.while_loop(
                lambda a: a[2] * acc_block < n_keep, acc_body, (M, tr, jnp.int32(0))
            )
            return M, cnt_in, cnt_all, tr, done + block, i + 1

        z = jnp.int32(0)
        out = jax.lax.while_loop(lambda bs: bs[4] < K, block_body, (*carry, z, z))
        return out[:4]

    def step(state, k, arrays):
        F, G, scale, keys = arrays
        kappa, d, tr = state
        key_spikes, key_input = keys
        kK, kb = jax.random.split(jax.random.fold_in(key_spikes, k))
        z = jnp.int32(0)
        K = jax.random.poisson(kK, n * rmax * dt, dtype=jnp.int32)
        M, cnt_in, cnt_all, tr = candidates(
            K, kb, k, kappa, d, (jnp.zeros(p, dtype), z, z, tr), F, G
        )
        M = scale * M
        k_in = e * kappa[0] + (0.0 if ff else M / tau)
        if noise:
            dB = jax.random.normal(jax.random.fold_in(key_input, k), (p,), dtype)
            k_in = k_in + (noise_scale / tau) * dB
        kappa = jnp.stack([k_in, e * kappa[1] + M / tau])
        drive = model.drive(k * dt)
        if drive is not None:
            d = e * d + (1.0 - e) * drive
        c_in, c_all = cnt_in.astype(dtype), cnt_all.astype(dtype)
        rates = jnp.stack([c_in / n_in, (c_all - c_in) / n_rec_pop]) / dt
        return (kappa, d, tr), rates, M

    def potentials(state, k, F_rec, rec_idx):
        kappa, d, tr = state
        rec_in = (rec_idx < n_in).astype(dtype)
        hk = F_rec @ kappa.T
        h = jnp.where(rec_in > 0, hk[:, 0], hk[:, 1]) + rec_in * d
        if not ff:
            c, ls, q, g = unpack(tr[rec_idx])
            h = h - g * trace_at(c, ls, q, k)
        return h

    def inner(carry, k, arrays, rec_idx):
        state, post, win = carry
        state, rates, M = step(state, k, arrays)
        w = {"rate_snn": rates, "m_snn": M[:K_ov] / dt}
        win = {key: win[key] + val for key, val in w.items()}
        after = (k >= burn).astype(dtype)
        post = {key: post[key] + after * val for key, val in w.items()}
        rows = state[2][rec_idx]
        spikes = jnp.where(rows[:, 1] == k, rows[:, 2], 0).astype(jnp.int8)
        return (state, post, win), spikes

    def outer(carry, rec_start, arrays, F_rec, rec_idx):
        state, post = carry
        zero = {key: jnp.zeros_like(v) for key, v in post.items()}
        ks = rec_start + jnp.arange(spr, dtype=jnp.int64)
        (state, post, win), spikes = jax.lax.scan(
            lambda cr, k: inner(cr, k, arrays, rec_idx), (state, post, zero), ks
        )
        rec = {key: val / spr for key, val in win.items()}
        rec["h"] = potentials(state, rec_start + spr, F_rec, rec_idx)
        rec["spikes"] = spikes
        return (state, post), rec

    def chunk(carry, arrays, F_rec, rec_idx, start):
        starts = start + spr * jnp.arange(records_per_chunk, dtype=jnp.int64)
        return jax.lax.scan(lambda cr, s: outer(cr, s, arrays, F_rec, rec_idx), carry, starts)

    return jax.jit(chunk, donate_argnums=(0,))


def _initial(model, gamma):
    """Initial state: κ = 0, d = 0 and the trace table, one row per neuron of
    (c, ls, q, γ) = (0, −1, 0, γ_i) with c and γ held as the bits of ``dtype`` (one gather per
    candidate reads all four)."""
    n, p, dtype = model.neurons, model.rank, model.dtype
    K = model.n_overlaps
    itype = _int_like(dtype)
    tr = jnp.zeros((n, 4), itype)
    tr = tr.at[:, 1].set(-1).at[:, 3].set(jax.lax.bitcast_convert_type(gamma.astype(dtype), itype))
    state = (
        jnp.zeros((2, p), dtype),  # κ_in, κ_rec
        jnp.zeros((), dtype),  # filtered deterministic drive d
        tr,  # c: trace before the last spike step's spikes, ls: that step, q: its spikes, γ
    )
    post = {"rate_snn": jnp.zeros(2, dtype), "m_snn": jnp.zeros(K, dtype)}
    return state, post


def _stored(a, dtype):
    """Loadings as stored: lower-precision storage (bf16/fp16) is kept and upcast per gathered row."""
    if jnp.dtype(a.dtype).itemsize < jnp.dtype(dtype).itemsize and jnp.issubdtype(
        a.dtype, jnp.floating
    ):
        return a
    return a.astype(dtype)


#: compiled chunk functions, keyed by everything except the seed (keys are arguments)
_COMPILED: dict = {}


def simulate_events(
    cfg: RunConfig,
    connectivity: conn_mod.LowRank | None = None,
    *,
    progress: bool = False,
    block: int | None = None,
    draws: str = "fast",
):
    """Run the SNN of ``cfg`` (``networks="snn"``) event-driven; return an ``xarray.Dataset``.

    Same variables, units and RNG streams as :func:`lowdim.simulate` for an SNN-only run
    (``h``, ``m_snn``, ``rate_snn``, ``spike_time``, ``spike_neuron``); statistically identical
    output (module docstring). Extra attributes: ``method = "event"``, ``compile_seconds``,
    ``loop_seconds`` (simulation loop only, wall), ``loop_cpu_seconds`` (its process CPU time) and ``candidates_per_step`` (N max φ dt).

    ``draws="fast"`` (default) draws the candidates' neuron indices as int32 (the same law);
    ``draws="dense"`` uses the dense path's random numbers one for one (int64 indices), so that both
    paths give the same spike trains up to floating-point ties (a validation mode). ``block`` is
    the candidate buffer of the thinning loop (default mean + 8 sd + 16, as the dense path's); any
    size samples the same law, since further candidates go to further blocks (never truncated).
    """
    from .record import build_dataset

    cfg = cfg.validated()
    t0 = time.perf_counter()
    _check(cfg)
    model = make_model(cfg)
    if connectivity is None:
        connectivity = conn_mod.paper(cfg.neurons, cfg.p, model.phi, cfg.seed, model.dtype)
    elif connectivity.neurons != cfg.neurons or connectivity.rank != cfg.p:
        raise ConfigError(
            f"connectivity is N = {connectivity.neurons}, p = {connectivity.rank} but the config "
            f"says N = {cfg.neurons}, p = {cfg.p}; make them agree"
        )
    F, G = _stored(connectivity.F, model.dtype), _stored(connectivity.G, model.dtype)
    keys = model.keys()
    arrays = (F, G, jnp.asarray(connectivity.scale, model.dtype), (keys["spikes"], keys["input"]))
    rec = jnp.asarray(model.rec_idx, jnp.int32)
    F_rec = F[rec].astype(model.dtype)
    if block is not None and (isinstance(block, bool) or not isinstance(block, int) or block < 1):
        raise ConfigError(f"block must be a positive integer, got {block!r}")
    if draws not in ("fast", "dense"):
        raise ConfigError(f"unknown draws {draws!r}; choose 'fast' or 'dense'")
    block = _pool(model, block)
    rpc = _steps_per_chunk(cfg)
    state = _initial(model, model.effective_gamma(connectivity))
    tc = time.perf_counter()
    cache_key = (
        cfg.replace(seed=0).to_json(),
        len(model.rec_idx),
        block,
        draws,
        str(F.dtype),
        str(G.dtype),
    )
    compiled = _COMPILED.get(cache_key)
    if compiled is None:
        chunk_fn = _make_chunk(model, rpc, block, draws == "dense")
        compiled = chunk_fn.lower(state, arrays, F_rec, rec, jnp.int64(0)).compile()
        if len(_COMPILED) >= 8:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[cache_key] = compiled
    compile_s = time.perf_counter() - tc
    pieces = []
    loop_s = loop_cpu = 0.0
    with _Progress(cfg.n_steps, enabled=progress) as bar:
        for ci in range(cfg.n_records // rpc):
            start = ci * rpc * cfg.steps_per_record
            tl, tcpu = time.perf_counter(), time.process_time()
            state, recs = compiled(state, arrays, F_rec, rec, jnp.int64(start))
            recs = jax.tree_util.tree_map(np.asarray, recs)  # blocks until done
            loop_s += time.perf_counter() - tl
            loop_cpu += time.process_time() - tcpu
            pieces.append(recs)
            bar.advance(rpc * cfg.steps_per_record)
    records = {k: np.concatenate([pc[k] for pc in pieces]) for k in pieces[0]}
    post = jax.tree_util.tree_map(np.asarray, state[1])
    ds = build_dataset(model, connectivity, records, post, time.perf_counter() - t0)
    ds.attrs.update(
        title="lowdim event-driven SNN run",
        method="event",
        compile_seconds=compile_s,
        loop_seconds=loop_s,
        loop_cpu_seconds=loop_cpu,
        candidates_per_step=model.neurons * model.phi.max * cfg.dt,
        draws=draws,
    )
    return ds
