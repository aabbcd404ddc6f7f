"""The event-driven method of the solve: only candidates are evaluated (``method="event"``).

**Poisson neurons.** The dense method updates all N potentials every step and reads F and G
(2 N p numbers). With leaky neurons the same recursion is solved in closed form by a p-vector
per *group* of neurons and one scalar trace per neuron. Neurons are grouped by the populations
the description uses (targets and sources of the recurrence, input populations, probed
populations); within a group every neuron receives the same combination of terms. Then

    h_i(k) = e^k x0_i + F_i · κ_g(k) + d_g(k) + X_i · d_x(k) − γ_i r_i(k),     g = group of i
    κ_g(k+1) = e κ_g(k) + tgt_g m(k)/τ + Σ_{inputs along F reaching g} c(k)
    d_g(k+1) = e d_g(k) + (1 − e) Σ_{uniform drives reaching g} u(k dt)
    d_x(k+1) = e d_x(k) + (explicit input vectors' coefficients at step k)
    r_i(k+1) = e r_i(k) + n_i(k)/τ

(X: the explicit input vectors side by side; c(k): (1 − e) C u(k dt) for drives along F,
(σ/τ) C ΔB(k) for noise along F). *Proof*: substitute into the dense update
(:mod:`lowdim.network`); every term is linear in the state, and the parts of h that multiply
x0_i, F_i, [i ∈ population], X_i and γ_i obey the recursions above term by term (induction on k).

The trace r_i changes deterministically (decay) except at the neuron's own spikes, so it is stored
lazily: the step ``ls_i`` of its last spike, the count ``q_i`` of spikes at that step and the
pre-spike value ``c_i = r_i(ls_i)``. Then r_i(k) = c_i for k = ls_i and
r_i(k) = (e c_i + q_i/τ) e^{k − ls_i − 1} for k > ls_i — exact, O(1) per read. One (N, 4) table
holds (c, ls, q + 2²⁰·group, γ) per neuron (c and γ as the bits of the compute dtype): one cache
line per candidate.

Spikes are drawn by the exact thinning sampler of :func:`lowdim.dynamics.poisson_counts_thinning`
with the *same random numbers*: K ~ Poisson(N max φ dt) candidates on uniform neurons (int32
indices), each kept with probability φ(h_j(k))/max φ. Only the ≈ N max φ dt candidates need h_j (a
gather of their rows of F), only the accepted spikes update m (a gather of their rows of G) and
their traces: per step O(N max φ dt · p + p) instead of O(N p). The dense and event methods give
the same spike trains as long as no mark u·max φ falls between the two floating-point
evaluations of φ(h_j) (two summation orders): in float64 that essentially never happens over
short runs; in float32 rare flips make the paths diverge after a while, but each remains an exact
sample of the same process.

**Binary neurons, asynchronous.** Each step is a sequence of single-neuron updates seeing the ones
before it: a sweep over all neurons in the order ``permutation(fold_in(spikes, k), N)``
("async"), or K ~ Poisson(N dt/τ) updates on neurons ``randint`` from the same stream
("continuous", continuous-time Glauber on the grid). The overlaps m are kept up to date after every
update (m += s G_i (S_i' − S_i)), so a sweep costs O(N p), and computed afresh from the states
at the end of each step (one read of G), so that rounding does not accumulate over sweeps.
Glauber updates draw one uniform per update from the same stream.

Random numbers: the streams of :mod:`lowdim.solve`. Probes: everything but Projection, Distance
and NeuronDistance for Poisson neurons (they need all potentials or the rate network).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .dynamics import thinning_block
from .errors import ConfigError
from .views import DenseView

__all__ = ["init_state", "advance", "step_views", "groups", "memory_bytes", "step_work"]

Q_BITS = 20  # q (spikes of a neuron at its last spike step) lives in the low 20 bits of column 2
MAX_GROUPS = 2**10
FEW_GROUPS = 8  # up to this many groups, the candidates' fields are one product with all κ_g
_HIGH = jax.lax.Precision.HIGHEST  # float32 products in float32 (no TF32 on GPUs)


def _int_like(dtype):
    """The signed integer type of the same width as ``dtype`` (the trace table's storage)."""
    return jnp.int64 if jnp.dtype(dtype).itemsize == 8 else jnp.int32


def groups(prog, names=None):
    """Group id per neuron (NumPy int32, N), membership (G, masks) and the mask names: neurons
    that belong to the same populations (of those the description uses, or ``names``) form one
    group."""
    names = prog.used_masks() if names is None else names
    if not names:
        return np.zeros(prog.n, np.int32), np.zeros((1, 0)), names
    mat = np.stack([prog.populations[n] for n in names], axis=1)
    rows, gid = np.unique(mat, axis=0, return_inverse=True)
    if len(rows) > MAX_GROUPS:
        raise ConfigError(
            f"the populations of this network split it into {len(rows)} groups; the event method "
            f"handles at most {MAX_GROUPS}: use fewer overlapping populations or method='dense'"
        )
    return gid.reshape(-1).astype(np.int32), rows.astype(np.float64), names


def _block(prog) -> int:
    if prog.block is not None:
        return prog.block
    return thinning_block(prog.n, prog.kinds[0].candidate_rate(prog.dt, prog.tau))


def step_work(prog) -> int:
    """Numbers touched per step (the engine sizes its chunks by it): the candidates' rows of F
    and the table (thinning, continuous updates), or a sweep over every neuron (async)."""
    width = prog.p + 4
    if not prog.kinds[0].spiking and getattr(prog.kinds[0], "schedule", None) == "async":
        return prog.n * width
    return _block(prog) * width


def memory_bytes(prog) -> int:
    """Peak bytes of the event state and temporaries beyond the loadings (per trial)."""
    item = jnp.dtype(prog.dtype).itemsize
    block = _block(prog)
    if prog.kinds[0].spiking:
        return prog.n * 4 * item + 4 * block * (prog.p + 4) * item
    return 2 * prog.n * item + 4 * block * item


def _map(prog, f, *args):
    """f over trials: vmap for a batch, a direct call (no batching overhead) for one trial."""
    if prog.B == 1:
        out = f(*[jax.tree_util.tree_map(lambda a: a[0], x) for x in args])
        return jax.tree_util.tree_map(lambda a: a[None], out)
    return jax.vmap(f)(*args)


# ----------------------------------------------------------------------------- shared pieces
class _Plan:
    """Static pieces of the event method for one program."""

    def __init__(self, prog):
        self.prog = prog
        self.poisson = prog.kinds[0].spiking  # thinning (Poisson), else binary updates
        gid, member, names = groups(prog)
        self.gid_np, self.member_np, self.names = gid, member, names
        self.n_groups = member.shape[0]
        col = {n: i for i, n in enumerate(names)}

        def of(name):  # (G,) membership of a population (None: every group)
            return None if name is None else member[:, col[name]]

        self.of = of
        self.tgt = of(prog.targets)
        src = of(prog.sources)
        self.src = src
        # γ is zero when no neuron is both source and target (feedforward)
        both = np.ones(self.n_groups) if self.tgt is None else self.tgt.copy()
        if src is not None:
            both = both * src
        self.self_term = bool(both.any()) and not prog.self_coupling  # W_ii kept: no γ
        self.explicit = [t for t in prog.terms if t.vectors == "array"]
        self.uniform = [t for t in prog.terms if t.vectors == "uniform"]
        self.x_width = sum(t.width for t in self.explicit)
        self.block = _block(prog)

    def X(self, P):
        """Explicit input vectors side by side (N, w), each masked by its population."""
        cols = []
        for t in self.explicit:
            v = P["inputs"][t.index]["vectors"]
            pop = t.population
            cols.append(v * P["masks"][pop][:, None] if pop is not None else v)
        return jnp.concatenate(cols, axis=1) if cols else None

    def input_increments(self, k, P, z, u_rows=None):
        """Per-step increments of the filters of one trial: along F (G, p), uniform (G,),
        explicit (w,) — the dense method's input terms (``Program.term_coefficients``), divided
        by τ where the dense method divides, and routed to the groups they reach."""
        prog = self.prog
        dtype = prog.dtype
        kap = jnp.zeros((self.n_groups, prog.p), dtype)
        dd = jnp.zeros((self.n_groups,), dtype)
        dx = []
        z = None if z is None else z[None]
        for term, c in prog.term_coefficients(k, P["inputs"], z, u_rows):
            c = c[0] / prog.tau if term.noise else c[0]
            if term.vectors == "along":
                col = c if term.scalar else P["inputs"][term.index]["coef"] @ c
                m = self.of(term.population)
                kap = kap + (col[None, :] if m is None else jnp.asarray(m, dtype)[:, None] * col)
            elif term.vectors == "uniform":
                m = self.of(term.population)
                dd = dd + (c[0] if m is None else jnp.asarray(m, dtype) * c[0])
            else:
                dx.append(c)
        return kap, dd, (jnp.concatenate(dx) if dx else None)


# ----------------------------------------------------------------------------- Poisson
def _poisson_fns(plan):
    prog = plan.prog
    dtype, phi = prog.dtype, prog.kinds[0].phi
    n, p = prog.n, prog.p
    dt, tau, e = prog.dt, prog.tau, prog.decay
    log_e = -dt / tau
    rmax = phi.max
    itype = _int_like(dtype)
    block = plan.block
    acc_block = max(64, block // 16)
    n_acc_pad = acc_block * (-(-block // acc_block))
    G_ = plan.n_groups
    qmask = (1 << Q_BITS) - 1
    src_g = None if plan.src is None else jnp.asarray(plan.src, dtype)

    def trace_at(c, ls, q, k):
        gap = (k - ls - 1).astype(dtype)
        later = (e * c + q.astype(dtype) / tau) * jnp.exp(log_e * jnp.maximum(gap, 0.0))
        return jnp.where(ls == k, c, later)

    def unpack(rows):
        c = jax.lax.bitcast_convert_type(rows[..., 0], dtype)
        g = jax.lax.bitcast_convert_type(rows[..., 3], dtype)
        return c, rows[..., 1], rows[..., 2] & qmask, rows[..., 2] >> Q_BITS, g

    def pack(c, ls, q, gid, g):
        bits = jax.lax.bitcast_convert_type
        col2 = q.astype(itype) + (gid.astype(itype) << Q_BITS)
        return jnp.stack([bits(c, itype), ls.astype(itype), col2, bits(g, itype)], -1)

    def field(idx, rows_t, k, core, arr):
        """h of neurons ``idx`` at step k from the closed form (rows_t: their table rows)."""
        c, ls, q, gid, g = unpack(rows_t)
        rows_f = jnp.take(arr["F"], idx, axis=0, mode="clip").astype(dtype)
        if G_ <= FEW_GROUPS:
            # F_i · κ_g for every group as one product (block, p) × (p, G), then each
            # candidate's own column: no (block, p) copy of the groups' κ
            hg = jnp.matmul(rows_f, core["kappa"].T, precision=_HIGH)
            h = jnp.take_along_axis(hg, gid[:, None], axis=1)[:, 0]
        else:
            h = jnp.sum(rows_f * core["kappa"][gid], axis=1)
        h = h + core["d"][gid]
        if arr.get("X") is not None:
            h = h + jnp.take(arr["X"], idx, axis=0, mode="clip") @ core["dx"]
        if arr.get("x0") is not None:
            h = h + jnp.exp(log_e * k.astype(dtype)) * jnp.take(arr["x0"], idx, mode="clip")
        if plan.self_term:
            h = h - g * trace_at(c, ls, q, k)
        return h, gid

    def candidates(K, kb, k, core, arr):
        W = arr.get("W")

        def block_body(bs):
            M, cnt, z, tr, done, i = bs
            k1, k2 = jax.random.split(jax.random.fold_in(kb, i))
            idx = jax.random.randint(k1, (block,), 0, n, dtype=jnp.int32)
            u = jax.random.uniform(k2, (block,), dtype=dtype)
            valid = jnp.arange(block, dtype=jnp.int32) < (K - done)
            h, gid = field(idx, tr[idx], k, {**core, "table": tr}, arr)
            keep = valid & (u * rmax < phi(h))
            n_keep = jnp.sum(keep, dtype=jnp.int32)
            if G_ <= FEW_GROUPS:  # a compare per group instead of a scatter-add
                one_hot = gid[:, None] == jnp.arange(G_, dtype=gid.dtype)
                cnt = cnt + jnp.sum(keep[:, None] & one_hot, axis=0, dtype=jnp.int32)
            else:
                cnt = cnt + jax.ops.segment_sum(keep.astype(jnp.int32), gid, num_segments=G_)
            # compact accepted candidates; process them in sub-blocks (never truncated)
            pos = jnp.cumsum(keep.astype(jnp.int32)) - 1
            comp = jnp.full((n_acc_pad,), n, jnp.int32)
            comp = comp.at[jnp.where(keep, pos, n_acc_pad)].set(idx, mode="drop")

            def acc_body(a):
                M, z, tr, j = a
                rows = jax.lax.dynamic_slice(comp, (j * acc_block,), (acc_block,))
                cr, lr, qr, gr_id, gr = unpack(tr.at[rows].get(mode="fill", fill_value=0))
                real = rows < n
                src = real if src_g is None else real & (src_g[gr_id] > 0)
                gm = arr["G"].at[rows].get(mode="fill", fill_value=0).astype(dtype)
                M = M + jnp.matmul(src.astype(dtype), gm, precision=_HIGH)
                if W is not None:
                    wr = W.at[rows].get(mode="fill", fill_value=0).astype(dtype)
                    z = z + jnp.matmul(real.astype(dtype), wr, precision=_HIGH)
                # traces: first spike of a neuron in this step sets (c, ls), later ones add to q
                same = lr == k
                c_new = jnp.where(same, cr, trace_at(cr, lr, qr, k))
                q_new = jnp.where(same, qr, 0)
                # a neuron accepted twice in this sub-block: its rows get the same (c, ls) and
                # the count is added once per acceptance below
                tr = tr.at[rows].set(
                    pack(c_new, jnp.full_like(lr, k), q_new, gr_id, gr), mode="drop"
                )
                ones = jnp.zeros((acc_block, 4), itype).at[:, 2].set(1)
                tr = tr.at[rows].add(ones, mode="drop")
                return M, z, tr, j + 1

            M, z, tr, _ = jax.lax.while_loop(
                lambda a: a[3] * acc_block < n_keep, acc_body, (M, z, tr, jnp.int32(0))
            )
            return M, cnt, z, tr, done + block, i + 1

        zi = jnp.int32(0)
        z0 = jnp.zeros((W.shape[1] if W is not None else 0,), dtype)
        init = (jnp.zeros(p, dtype), jnp.zeros(G_, jnp.int32), z0, core["table"], zi, zi)
        out = jax.lax.while_loop(lambda bs: bs[4] < K, block_body, init)
        return out[:4]

    def step(core, k, arr, key_spikes, key_input):
        kK, kb = jax.random.split(jax.random.fold_in(key_spikes, k))
        K = jax.random.poisson(kK, n * rmax * dt, dtype=jnp.int32)
        M, cnt, z, tr = candidates(K, kb, k, core, arr)
        M = arr["scale"] * M
        rec = M / tau
        if plan.tgt is not None:
            kappa = e * core["kappa"] + jnp.asarray(plan.tgt, dtype)[:, None] * rec[None, :]
        else:
            kappa = e * core["kappa"] + rec[None, :]
        zn = (
            jax.random.normal(jax.random.fold_in(key_input, k), (prog.noise_width,), dtype)
            if prog.noise_width
            else None
        )
        dk, dd, dxx = plan.input_increments(k, arr["P"], zn, _u_rows(prog, arr, k))
        new = {"kappa": kappa + dk, "d": e * core["d"] + dd, "table": tr}
        new["dx"] = e * core["dx"] + dxx if dxx is not None else core["dx"]
        obs = {"M": M, "cnt": cnt, "z": arr["scale_w"] * z}
        return new, obs

    return {"step": step, "field": field, "unpack": unpack, "pack": pack}


def _arrays(plan, P):
    prog = plan.prog
    arr = {"F": P["F"], "G": P["G"], "scale": P["scale"], "P": P}
    arr["X"] = plan.X(P)
    if "x0" in P:
        arr["x0"] = P["x0"]  # (N,) or (B, N): sliced per trial below
    arr["W"] = P.get("readout")
    arr["scale_w"] = jnp.asarray(1.0, prog.dtype)
    return arr


def _trial_arrays(prog, arr):
    """Per-trial leaves, mapped over trials: x0 of a batch and drives given per trial."""
    x0 = arr.get("x0")
    us = {}
    for t in prog.terms:
        if not t.noise and t.u == "array3":
            us[t.index] = arr["P"]["inputs"][t.index]["u"]  # (trials, steps, q)
    return {"x0": x0 if (x0 is not None and x0.ndim == 2) else None, "u": us}


def _u_rows(prog, arr, k):
    """{input index: (1, q)} this trial's drive values at step k (per-trial drives only)."""
    us = arr.get("u_trial") or {}
    return {
        i: jax.lax.dynamic_index_in_dim(u, k, axis=0, keepdims=False)[None] for i, u in us.items()
    }


def init_state(prog, P, keys):
    plan = _Plan(prog)
    B, dtype = prog.B, prog.dtype
    if plan.poisson:
        itype = _int_like(dtype)
        gid = jnp.asarray(plan.gid_np, itype)
        gamma = jax.lax.bitcast_convert_type(P["gamma"].astype(dtype), itype)
        tr = jnp.stack(
            [jnp.zeros(prog.n, itype), jnp.full(prog.n, -1, itype), gid << Q_BITS, gamma], -1
        )
        core = {
            "kappa": jnp.zeros((B, plan.n_groups, prog.p), dtype),
            "d": jnp.zeros((B, plan.n_groups), dtype),
            "dx": jnp.zeros((B, plan.x_width), dtype),
            "table": jnp.broadcast_to(tr, (B,) + tr.shape),
        }
        return core
    # binary: states and overlaps
    S = prog.initial_columns(P)[0].T  # (B, N)
    mask = None if prog.sources is None else P["masks"][prog.sources]
    m = jax.vmap(lambda s: _overlaps_of(s, P["G"], P["scale"], mask, dtype))(S)  # (B, p)
    return {"S": S, "m": m}


# ----------------------------------------------------------------------------- binary
def _binary_step(plan):
    prog = plan.prog
    kind = prog.kinds[0]
    dtype, n = prog.dtype, prog.n
    tgt_g = None if plan.tgt is None else jnp.asarray(plan.tgt, dtype)
    src_g = None if plan.src is None else jnp.asarray(plan.src, dtype)
    gid = jnp.asarray(plan.gid_np, jnp.int32)
    block = plan.block

    def update_one(carry, i, u, a_g, d_g, ux, arr):
        S, m = carry
        g = gid[i]
        f = arr["F"][i].astype(dtype)
        mm = m if tgt_g is None else m * tgt_g[g]
        h = jnp.dot(f, mm + a_g[g]) + d_g[g] - arr["gamma"][i] * S[i]
        if ux is not None:
            h = h + jnp.dot(arr["X"][i], ux)
        s_new = kind.update(h, S[i], u)
        dS = s_new - S[i]
        w = arr["scale"] * dS if src_g is None else arr["scale"] * dS * src_g[g]
        m = m + w * arr["G"][i].astype(dtype)
        return S.at[i].set(s_new), m

    def step(core, k, arr, key, _key_input):
        ks = jax.random.fold_in(key, k)
        # inputs of this step (binary neurons: drives only, added to the field)
        a_g, d_g, ux = plan.input_increments(k, arr["P"], None, _u_rows(prog, arr, k))
        carry = (core["S"], core["m"])
        if kind.schedule == "async":
            k1, k2 = jax.random.split(ks)
            order = jax.random.permutation(k1, jnp.arange(n, dtype=jnp.int32))
            us = jax.random.uniform(k2, (n,), dtype)

            def body(j, c):
                return update_one(c, order[j], us[j], a_g, d_g, ux, arr)

            carry = jax.lax.fori_loop(0, n, body, carry)
        else:  # continuous: K ~ Poisson(N dt/τ) updates, in blocks of fixed size
            kK, kb = jax.random.split(ks)
            K = jax.random.poisson(kK, n * prog.dt / prog.tau, dtype=jnp.int32)

            def blk(bs):
                c, done, i = bs
                k1, k2 = jax.random.split(jax.random.fold_in(kb, i))
                idx = jax.random.randint(k1, (block,), 0, n, dtype=jnp.int32)
                us = jax.random.uniform(k2, (block,), dtype)
                todo = jnp.minimum(K - done, block)
                c = jax.lax.fori_loop(
                    0, todo, lambda j, c: update_one(c, idx[j], us[j], a_g, d_g, ux, arr), c
                )
                return c, done + block, i + 1

            carry, _, _ = jax.lax.while_loop(
                lambda bs: bs[1] < K, blk, (carry, jnp.int32(0), jnp.int32(0))
            )
        S, _ = carry
        # the overlaps afresh from the states: the running sums m += s G_i dS_i drift by
        # rounding (≈ 10⁻⁴ after a few sweeps of 10⁵ neurons); this read of G costs less than
        # the sweep and bounds the drift to one step's updates
        mask = None if src_g is None else src_g[gid]
        return {"S": S, "m": _overlaps_of(S, arr["G"], arr["scale"], mask, dtype)}, {}

    return step


def _overlaps_of(S, G, scale, mask, dtype):
    """m = s Gᵀ (S · mask) for one trial's states S (N,) (``mask``: the sources, or None),
    accumulated in ``dtype``: a fused multiply-and-reduce, so G stored in 16 bits is converted
    on the fly, not copied. The initial overlaps and those after every step use it."""
    w = (S if mask is None else S * mask).astype(dtype)
    return scale * jnp.sum(G.astype(dtype) * w[:, None], axis=0)


# ----------------------------------------------------------------------------- views
class EventView:
    """What probes see on the event method (Poisson: from κ, d and the trace table)."""

    def __init__(self, prog, plan, fns, core, obs, k, arr):
        self.prog, self.plan, self.fns, self.core, self.obs, self.k, self.arr = (
            prog,
            plan,
            fns,
            core,
            obs,
            k,
            arr,
        )
        self.n = prog.n

    def _per_trial(self, f):
        """Evaluate f(core_b, x0_b) per trial → (1, B, ...)."""
        x0 = self.arr.get("x0")
        if x0 is not None and x0.ndim == 2:
            out = jax.vmap(lambda c, x: f(c, x))(self.core, x0)
        else:
            out = jax.vmap(lambda c: f(c, x0))(self.core)
        return out[None]

    def potentials(self, idx):
        k = self.k
        fns, arr = self.fns, self.arr

        def f(c, x0):
            a = {**arr, "x0": x0}
            return fns["field"](idx, c["table"][idx], k, c, a)[0]

        return self._per_trial(f)

    def spikes(self, idx):
        k = self.k - 1  # the step just taken

        def f(c, _x0):
            rows = c["table"][idx]
            q = rows[:, 2] & ((1 << Q_BITS) - 1)
            return jnp.where(rows[:, 1] == k, q, 0).astype(jnp.int8)

        return self._per_trial(f)[0]

    def rates(self, idx):
        return self.spikes(idx)[None].astype(self.prog.dtype) / self.prog.dt

    def overlaps(self, kk):
        return (self.obs["M"][:, :kk] / self.prog.dt)[None]

    def pop_rates(self, names):
        prog, plan = self.prog, self.plan
        cnt = self.obs["cnt"].astype(prog.dtype)  # (B, G)
        cols = []
        for name in names:
            m = plan.of(name)
            c = cnt.sum(axis=1) if m is None else cnt @ jnp.asarray(m, prog.dtype)
            cols.append(c / prog.size(name) / prog.dt)
        return jnp.stack(cols, axis=-1)[None]

    def readout(self):
        return (self.obs["z"] / self.prog.dt)[None]

    def project(self, basis):
        raise ConfigError(
            "Projection needs every neuron's potential; the event method keeps only the "
            "candidates': use method='dense'"
        )

    def distance(self, names, pair):
        raise ConfigError("the distance needs the paired rate network: use method='dense'")

    neuron_distance = distance


def _binary_view(prog, P, core):
    S = core["S"].T  # (N, B)
    return DenseView(prog, P, [S], [S], None, [core["m"].T])


def step_views(prog, core, k, P, keys):
    """(step view, sample view) for abstract evaluation of probe shapes."""
    plan = _Plan(prog)
    if not plan.poisson:
        v = _binary_view(prog, P, core)
        return v, v
    fns = _poisson_fns(plan)
    arr = _arrays(plan, P)
    B = prog.B
    obs = {
        "M": jnp.zeros((B, prog.p), prog.dtype),
        "cnt": jnp.zeros((B, plan.n_groups), jnp.int32),
        "z": jnp.zeros((B, prog.n_outputs), prog.dtype),
    }
    v = EventView(prog, plan, fns, core, obs, k + 1, arr)
    return v, v


# ----------------------------------------------------------------------------- advance
def advance(prog, state, P, probes, keys, start, n_records: int):
    """The event method's counterpart of :meth:`lowdim.solve.Program.advance`."""
    plan = _Plan(prog)
    spr = prog.grid.record_every
    dtype = prog.dtype
    arr = _arrays(plan, P)
    if plan.poisson:
        fns = _poisson_fns(plan)
        step_fn = fns["step"]
    else:
        fns = None
        step_fn = _binary_step(plan)
        arr = {**arr, "gamma": P["gamma"]}
    per_trial = _trial_arrays(prog, arr)
    mean = [k for k, p in probes.items() if p.mode == "mean"]
    avg = [k for k, p in probes.items() if p.mode == "average"]
    steps = [k for k, p in probes.items() if p.mode == "steps"]
    sample = [k for k, p in probes.items() if p.mode == "sample"]

    def one_step(core, k):
        def f(c, ks, ki, pt):
            a = arr if pt["x0"] is None else {**arr, "x0": pt["x0"]}
            a = {**a, "u_trial": pt["u"]}
            return step_fn(c, k, a, ks, ki)

        return _map(prog, f, core, keys["spikes"], keys["input"], per_trial)

    def view(core, obs, k_next):
        if plan.poisson:
            return EventView(prog, plan, fns, core, obs, k_next, arr)
        return _binary_view(prog, P, core)

    shapes = jax.eval_shape(
        lambda c: {
            n: probes[n].output(view(*one_step(c, jnp.int32(0)), jnp.int32(1))) for n in mean
        },
        state["core"],
    )

    def inner(carry, k):
        core, sums, win = carry
        core, obs = one_step(core, k)
        v = view(core, obs, k + 1)
        vals = {name: probes[name].output(v) for name in mean + avg + steps}
        win = {name: win[name] + vals[name] for name in mean}
        sums = {
            name: sums[name] + (k >= probes[name].start).astype(dtype) * vals[name] for name in avg
        }
        return (core, sums, win), {
            name: vals[name].astype(probes[name].dtype(prog)) for name in steps
        }

    def outer(carry, rstart):
        core, sums = carry
        zero = {n: jnp.zeros(s.shape, s.dtype) for n, s in shapes.items()}
        ks = rstart + jnp.arange(spr, dtype=jnp.int32)
        (core, sums, win), per_step = jax.lax.scan(inner, (core, sums, zero), ks)
        rec = {name: win[name] / spr for name in mean}
        sv = view(core, None, rstart + spr)
        for name in sample:
            rec[name] = probes[name].output(sv)
        rec.update(per_step)
        return (core, sums), rec

    starts = start + spr * jnp.arange(n_records, dtype=jnp.int32)
    (core, sums), recs = jax.lax.scan(outer, (state["core"], state["sums"]), starts)
    for name in steps:
        r = recs[name]
        recs[name] = r.reshape((r.shape[0] * r.shape[1],) + r.shape[2:])
    return {"core": core, "sums": sums}, recs
