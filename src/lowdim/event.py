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
rows of F and a p-vector product), only the accepted spikes update m (a gather of their rows of G)
and their traces. Per-step cost O(N max φ dt · p + p) instead of O(N p); memory still holds F, G
(read sparsely) and three O(N) trace arrays.

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


def _pools(model, draws: str, block: int | None):
    """Candidate pools (offset, size, population or None for mixed, block size).

    ``draws="dense"``: one pool over all N neurons with the dense path's draws (int64 indices);
    ``draws="fast"``: one pool per population (Poisson splitting: K_in ~ Poisson(N_in max φ dt)
    and K_rec ~ Poisson(N_rec max φ dt) are independent, candidates uniform within each), int32
    indices, and a single p-vector product per candidate.
    """
    lam = model.phi.max * model.cfg.dt
    n, n_in = model.neurons, model.n_in
    if draws == "dense":
        return [(0, n, None, block or thinning_block(n, lam))]
    return [
        (0, n_in, 0, block or thinning_block(n_in, lam)),
        (n_in, n - n_in, 1, block or thinning_block(n - n_in, lam)),
    ]


def _make_chunk(model, records_per_chunk: int, pools, acc_frac: int = 16):
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
    mixed = len(pools) == 1

    def trace_at(c, ls, q, k):
        """r(k) from the lazy trace (c = pre-spike value at step ls, q spikes at ls)."""
        gap = (k - ls - 1).astype(dtype)
        later = (e * c + q.astype(dtype) / tau) * jnp.exp(log_e * jnp.maximum(gap, 0.0))
        return jnp.where(ls == k, c, later)

    def pool_pass(pool, K, kb, k, kappa, d, carry, F, G, gamma):
        """All K candidates of one pool, in blocks; returns updated (M, counts, traces)."""
        offset, size, pop, block = pool
        acc_block = max(64, block // acc_frac)
        n_acc_pad = acc_block * (-(-block // acc_block))

        def block_body(bs):
            M, cnt_in, cnt_all, c, ls, q, done, i = bs
            k1, k2 = jax.random.split(jax.random.fold_in(kb, i))
            if mixed:  # the dense path's draws, bit for bit
                idx = jax.random.randint(k1, (block,), 0, n).astype(jnp.int32)
            else:
                idx = offset + jax.random.randint(k1, (block,), 0, size, dtype=jnp.int32)
            u = jax.random.uniform(k2, (block,), dtype=dtype)
            valid = jnp.arange(block) < (K - done)
            rows_f = F[idx].astype(dtype)  # the only read of F: the candidates' rows
            if mixed:
                is_in = idx < n_in
                hk = rows_f @ kappa.T  # (block, 2): columns in, rec
                h = jnp.where(is_in, hk[:, 0] + d, hk[:, 1])
            else:
                h = rows_f @ kappa[pop] + (d if pop == 0 else 0.0)
            if not ff:
                h = h - gamma[idx] * trace_at(c[idx], ls[idx], q[idx], k)
            keep = valid & (u * rmax < phi(h))
            n_keep = jnp.sum(keep, dtype=jnp.int32)
            cnt_all = cnt_all + n_keep
            if mixed:
                cnt_in = cnt_in + jnp.sum(keep & is_in, dtype=jnp.int32)
            elif pop == 0:
                cnt_in = cnt_in + n_keep
            # compact accepted candidates; process them in sub-blocks (never truncated)
            pos = jnp.cumsum(keep.astype(jnp.int32)) - 1
            comp = jnp.full((n_acc_pad,), n, jnp.int32)
            comp = comp.at[jnp.where(keep, pos, n_acc_pad)].set(idx, mode="drop")

            def acc_body(a):
                M, c, ls, q, j = a
                rows = jax.lax.dynamic_slice(comp, (j * acc_block,), (acc_block,))
                if not (ff and pop == 1):  # feedforward: only 'in' spikes enter m
                    src = rows < n_in if ff else rows < n
                    g = G.at[rows].get(mode="fill", fill_value=0).astype(dtype)
                    M = M + jnp.sum(jnp.where(src[:, None], g, 0.0), axis=0)
                # traces: first spike of a neuron in this step sets (c, ls), later ones add to q
                cr = c.at[rows].get(mode="fill", fill_value=0)
                lr = ls.at[rows].get(mode="fill", fill_value=-1)
                qr = q.at[rows].get(mode="fill", fill_value=0)
                same = lr == k
                c = c.at[rows].set(jnp.where(same, cr, trace_at(cr, lr, qr, k)), mode="drop")
                ls = ls.at[rows].set(k.astype(jnp.int32), mode="drop")
                q = q.at[rows].set(jnp.where(same, qr, 0), mode="drop")
                q = q.at[rows].add(1, mode="drop")
                return M, c, ls, q, j + 1

            M, c, ls, q, _ = jax.lax.while_loop(
                lambda a: a[4] * acc_block < n_keep, acc_body, (M, c, ls, q, jnp.int32(0))
            )
            return M, cnt_in, cnt_all, c, ls, q, done + block, i + 1

        z = jnp.int32(0)
        out = jax.lax.while_loop(lambda bs: bs[6] < K, block_body, (*carry, z, z))
        return out[:6]

    def step(state, k, arrays):
        F, G, scale, gamma, keys = arrays
        kappa, d, c, ls, q = state
        key_spikes, key_input = keys
        kK, kb = jax.random.split(jax.random.fold_in(key_spikes, k))
        z = jnp.int32(0)
        carry = (jnp.zeros(p, dtype), z, z, c, ls, q)
        for j, pool in enumerate(pools):
            lam = pool[1] * rmax * dt
            if mixed:
                K, kbj = jax.random.poisson(kK, lam, dtype=jnp.int32), kb
            else:
                K = jax.random.poisson(jax.random.fold_in(kK, j), lam, dtype=jnp.int32)
                kbj = jax.random.fold_in(kb, j)
            carry = pool_pass(pool, K, kbj, k, kappa, d, carry, F, G, gamma)
        M, cnt_in, cnt_all, c, ls, q = carry
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
        return (kappa, d, c, ls, q), rates, M

    def potentials(state, k, F_rec, gamma_rec, rec_idx):
        kappa, d, c, ls, q = state
        rec_in = (rec_idx < n_in).astype(dtype)
        hk = F_rec @ kappa.T
        h = jnp.where(rec_in > 0, hk[:, 0], hk[:, 1]) + rec_in * d
        if not ff:
            h = h - gamma_rec * trace_at(c[rec_idx], ls[rec_idx], q[rec_idx], k)
        return h

    def inner(carry, k, arrays, rec_idx):
        state, post, win = carry
        state, rates, M = step(state, k, arrays)
        w = {"rate_snn": rates, "m_snn": M[:K_ov] / dt}
        win = {key: win[key] + val for key, val in w.items()}
        after = (k >= burn).astype(dtype)
        post = {key: post[key] + after * val for key, val in w.items()}
        _, _, _, ls, q = state
        spikes = jnp.where(ls[rec_idx] == k, q[rec_idx], 0).astype(jnp.int8)
        return (state, post, win), spikes

    def outer(carry, rec_start, arrays, F_rec, gamma_rec, rec_idx):
        state, post = carry
        zero = {key: jnp.zeros_like(v) for key, v in post.items()}
        ks = rec_start + jnp.arange(spr, dtype=jnp.int64)
        (state, post, win), spikes = jax.lax.scan(
            lambda cr, k: inner(cr, k, arrays, rec_idx), (state, post, zero), ks
        )
        rec = {key: val / spr for key, val in win.items()}
        rec["h"] = potentials(state, rec_start + spr, F_rec, gamma_rec, rec_idx)
        rec["spikes"] = spikes
        return (state, post), rec

    def chunk(carry, arrays, F_rec, gamma_rec, rec_idx, start):
        starts = start + spr * jnp.arange(records_per_chunk, dtype=jnp.int64)
        return jax.lax.scan(
            lambda cr, s: outer(cr, s, arrays, F_rec, gamma_rec, rec_idx), carry, starts
        )

    return jax.jit(chunk, donate_argnums=(0,))


def _initial(model):
    n, p, dtype = model.neurons, model.rank, model.dtype
    K = model.n_overlaps
    state = (
        jnp.zeros((2, p), dtype),  # κ_in, κ_rec
        jnp.zeros((), dtype),  # filtered deterministic drive d
        jnp.zeros(n, dtype),  # c: trace value at the last spike step (before its spikes)
        jnp.full(n, -1, jnp.int32),  # ls: step of the last spike
        jnp.zeros(n, jnp.int32),  # q: spikes at that step
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

    ``draws="fast"`` (default) draws candidates per population (exact by Poisson splitting);
    ``draws="dense"`` uses the dense path's random numbers one for one, so that both paths give the
    same spike trains up to floating-point ties (a validation mode, ≈ 1.5× slower). ``block`` is
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
    arrays = (
        F,
        G,
        jnp.asarray(connectivity.scale, model.dtype),
        model.effective_gamma(connectivity),
        (keys["spikes"], keys["input"]),
    )
    rec = jnp.asarray(model.rec_idx, jnp.int32)
    F_rec, gamma_rec = F[rec].astype(model.dtype), arrays[3][rec]
    if block is not None and (not isinstance(block, int) or block < 1):
        raise ConfigError(f"block must be a positive integer, got {block!r}")
    if draws not in ("fast", "dense"):
        raise ConfigError(f"unknown draws {draws!r}; choose 'fast' or 'dense'")
    pools = _pools(model, draws, block)
    rpc = _steps_per_chunk(cfg)
    state = _initial(model)
    tc = time.perf_counter()
    cache_key = (
        cfg.replace(seed=0).to_json(),
        len(model.rec_idx),
        tuple(pools),
        str(F.dtype),
        str(arrays[1].dtype),
    )
    compiled = _COMPILED.get(cache_key)
    if compiled is None:
        chunk_fn = _make_chunk(model, rpc, pools)
        compiled = chunk_fn.lower(state, arrays, F_rec, gamma_rec, rec, jnp.int64(0)).compile()
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
            state, recs = compiled(state, arrays, F_rec, gamma_rec, rec, jnp.int64(start))
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
