"""The kernels of the dense method: the products with the loadings, the input terms, one step.

A mixin of :class:`lowdim.solve.Program` (its static plan: :mod:`lowdim.plan`): every method is
a pure function of the program and the step's arrays (``P``: :meth:`Program.prepare`; ``keys``:
the random streams of :mod:`lowdim.solve`). The neuron kinds own their part of the step
(:mod:`lowdim.kinds`: ``emit`` and ``advance``); here are the parts every kind shares — one read
of G and one of F per step for all columns (:meth:`Kernels.products`), the inputs
(:meth:`Kernels.input_terms`, the one place an input's coefficient is computed, for the
exponential-Euler step, the event method and the ODE schemes alike), spikes by thinning.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from . import integrators, sharding
from .dynamics import poisson_counts_thinning, thinning_block
from .procedural import TILE_ROWS
from .views import DenseView

__all__ = ["Kernels", "FUSED_MAX_COLUMNS"]

#: widest [M, C] for which R = F·[M, C] is a fused multiply-and-reduce (faster than XLA:CPU's
#: dot for a few columns, docs/design_notes/engine.md); wider ones use the dot
FUSED_MAX_COLUMNS = 4


class Kernels:
    """Products, input terms, the dense step and spikes of a :class:`~lowdim.solve.Program`."""

    def load_block(self, F, G, j):
        """(F_b, G_b), each (devices, block_rows, p) in storage precision: block j of every
        device (stored: a slice; procedural: the definition tiles regenerated from the seed)."""
        if not self.procedural:
            return F[:, j], G[:, j]
        per = self.block_rows // TILE_ROWS
        dev = jnp.arange(self.devices, dtype=jnp.int32)[:, None]
        tiles = (dev * self.blocks + j) * per + jnp.arange(per, dtype=jnp.int32)[None, :]
        tiles = sharding.constrain(tiles, self.mesh)
        Fb, Gb = self.sampler.tiles(tiles, self.dtype, self.storage, valid_rows=self.n)
        shape = (self.devices, self.block_rows, self.p)
        return Fb.reshape(shape), Gb.reshape(shape)

    def products(self, A, extra, Cs, P):
        """M = s Gᵀ A and R_b = F·b for every coefficient block b of [M, *extra, *Cs]: one read
        of G (none when A is None) and one of F (a fused multiply-and-reduce for a few columns;
        for many columns, where the products are compute-bound, one dot of F with all blocks as
        columns).

        ``extra``: overlaps computed elsewhere (sparse spike sums). Returns (M, list of R_b).
        Low-precision loadings multiply natively with accumulation in the compute dtype."""
        F, G, scale, dt_ = P["F"], P["G"], P["scale"], self.dtype
        if not self.tiled:  # G is stored transposed, (p, N)
            if A is None:
                M = None
            elif G.dtype == A.dtype:
                M = scale * (G @ A)
            else:
                M = scale * _contract("pn,nq->pq", G, A, dt_)
            coefs = ([] if M is None else [M]) + list(extra) + list(Cs)
            width = sum(c.shape[1] for c in coefs)
            if width <= FUSED_MAX_COLUMNS or F.dtype != dt_:
                Bm = jnp.concatenate(coefs, axis=1) if len(coefs) > 1 else coefs[0]
                if F.dtype == Bm.dtype:
                    # a fused multiply-and-reduce over p: XLA:CPU streams F at close to its read
                    # rate this way, ~15 % faster than its dot for (N, p) × (p, ≤ 3)
                    R = jnp.sum(F[:, :, None] * Bm[None, :, :], axis=1)
                else:
                    R = _contract("np,pq->nq", F, Bm, dt_)
                return M, _split_columns(R, [c.shape[1] for c in coefs])
            # compute-bound: one dot with every block as columns (one read of F; the GEMM runs
            # at a higher rate for more columns: 32 + 16 columns in one dot take less time than
            # 16 + 16 + 16 on half the rows in three, benchmarks/README.md); an input restricted
            # to a row range is masked afterwards
            Bm = jnp.concatenate(coefs, axis=1)
            return M, _split_columns(F @ Bm, [c.shape[1] for c in coefs])
        d, nb, rows_, q = self.devices, self.blocks, self.block_rows, A.shape[1]
        A4 = sharding.constrain(A.reshape(d, nb, rows_, q), self.mesh)

        def overlaps(acc, j):
            _, Gb = self.load_block(F, G, j)
            Aj = jax.lax.dynamic_index_in_dim(A4, j, axis=1, keepdims=False)
            part = _contract("drp,drq->dpq", Gb, Aj, dt_)
            return sharding.constrain(acc + part, self.mesh), None

        acc0 = sharding.constrain(jnp.zeros((d, self.p, q), dt_), self.mesh)
        acc, _ = jax.lax.scan(overlaps, acc0, jnp.arange(nb, dtype=jnp.int32))
        M = scale * jnp.sum(acc, axis=0)  # the all-reduce over devices (p·q numbers)
        coefs = [M] + list(Cs)  # no sparse spike sums in the tiled layout
        Bm = jnp.concatenate(coefs, axis=1) if len(coefs) > 1 else M

        def recurrent(_, j):
            Fb, _ = self.load_block(F, G, j)
            return None, sharding.constrain(_contract("drp,pq->drq", Fb, Bm, dt_), self.mesh)

        _, R4 = jax.lax.scan(recurrent, None, jnp.arange(nb, dtype=jnp.int32))
        R = jnp.transpose(R4, (1, 0, 2, 3)).reshape(self.n_pad, Bm.shape[1])
        R = sharding.constrain(R, self.mesh)
        return M, _split_columns(R, [c.shape[1] for c in coefs])

    # ------------------------------------------------------------------ inputs
    def u_at(self, term, d, k, t=None):
        """u(k dt) of a drive term as (B, q) (a function of time: at ``t`` when given)."""
        inp, B = term.input, self.B
        if term.u == "fn":
            t = k.astype(self.dtype) * self.dt if t is None else t
            u = jnp.asarray(inp.u(t), self.dtype)
            u = jnp.reshape(u, (1, -1)) if u.ndim <= 1 else u
            return jnp.broadcast_to(u, (B, u.shape[-1]))
        u = d["u"]
        if u.ndim == 3:  # (trials, steps, q)
            return jax.lax.dynamic_index_in_dim(u, k, axis=1, keepdims=False)
        return jnp.broadcast_to(
            jax.lax.dynamic_index_in_dim(u, k, axis=0, keepdims=False), (B, u.shape[-1])
        )

    def noise_draws(self, keys, k):
        """(B, r) standard normals of step k for all noise terms of every trial."""
        r = self.noise_width
        draw = lambda key: jax.random.normal(jax.random.fold_in(key, k), (r,), self.dtype)  # noqa: E731
        if self.B == 1:
            return draw(keys["input"][0])[None]
        return jax.vmap(draw)(keys["input"])

    def term_coefficients(self, k, d, z, u_rows=None, t=None, integrate=True):
        """Per input term (in the order of ``self.terms``), (term, its step-k coefficient
        (B', w)): drives (1 − e) u(k dt) (leaky neurons integrate over the step; binary ones add
        u to h; ``integrate=False``: u itself, the ODE's input at time ``t``), noise
        σ √(dt · time_unit) z (divided by τ afterwards: ``term.noise``); a scalar ``Along(c)``
        multiplies in c. ``d``: the prepared input arrays; ``z``: (B', r) normals; ``u_rows``:
        optional {input index: (B', q)} drive values (per-trial slices)."""
        e, dt = self.decay, self.dt
        out = []
        for term in self.terms:
            inp = term.input
            if term.noise:
                a, b = term.z
                scale = math.sqrt(dt * inp.time_unit)
                if term.scalar:
                    c = z[:, a:b] * scale * (inp.sigma * inp.vectors.coef)
                else:
                    c = z[:, a:b] * scale * inp.sigma
                out.append((term, c))
                continue
            i = term.index
            u = u_rows[i] if u_rows is not None and i in u_rows else self.u_at(term, d[i], k, t)
            c = (1.0 - e) * u if self.leaky and integrate else u
            if term.scalar:
                c = c * inp.vectors.coef
            out.append((term, c))
        return out

    def input_terms(self, k, P, keys, t=None, integrate=True):
        """Coefficients of the inputs along the loadings (list of (p, B)) with their post
        factors (mask, divide by τ), and the sum of all other input terms (N, B) (or None).
        ``t``, ``integrate``: as in :meth:`term_coefficients` (the ODE schemes' drives)."""
        tau = self.tau
        z = self.noise_draws(keys, k) if self.noise_width else None
        coefs, post, direct = [], [], None
        masks = P["masks"]
        for term, c in self.term_coefficients(k, P["inputs"], z, t=t, integrate=integrate):
            d = P["inputs"][term.index]
            mask = masks[term.population] if term.population is not None else None
            if term.vectors == "along":
                col = c.T if term.scalar else d["coef"] @ c.T  # (p, B)
                coefs.append(col)
                post.append((mask, term.noise))
                continue
            if term.vectors == "uniform":
                x = c[:, 0][None, :] * (mask[:, None] if mask is not None else 1.0)
            else:
                x = d["vectors"] @ c.T  # (N, B)
                if mask is not None:
                    x = x * mask[:, None]
            if term.noise:
                x = x / tau
            direct = x if direct is None else direct + x
        return coefs, post, direct

    def membrane_variance(self, inp, k):
        """Variance Σ_k of the membrane-noise part of h at the start of step k (exact on the grid)."""
        e2 = self.decay**2
        per_step = inp.sigma**2 * self.dt * inp.time_unit / self.tau**2
        return per_step * (1.0 - e2 ** k.astype(self.dtype)) / (1.0 - e2)

    # ------------------------------------------------------------------ one dense step
    def dense_step(self, vs, k, P, keys):
        """Advance every kind's (N, B) state by one step from global step index k; returns
        (new states (tuple), view)."""
        if self.grid.scheme != "exp-euler":  # higher-order schemes of rate networks
            return integrators.rk4_step(self, vs, k, P, keys)
        dt, tau, B = self.dt, self.tau, self.B
        masks = P["masks"]
        # every kind emits its step (activity, rate, self-term, spikes; kinds.py)
        ems = [kind.emit(self, vs[ki], k, P, keys) for ki, kind in enumerate(self.kinds)]
        acts = [em.act for em in ems]
        counts = next((em.counts for em in ems if em.counts is not None), None)
        sparse = {ki: em.overlaps for ki, em in enumerate(ems) if em.overlaps is not None}
        dense = [ki for ki in range(self.K) if ki not in sparse]
        A = None
        if dense:
            A = (
                jnp.concatenate([acts[ki] for ki in dense], axis=1)
                if len(dense) > 1
                else acts[dense[0]]
            )
            if self.sources is not None:
                A = A * masks[self.sources][:, None]
            if A.shape[1] == 1:  # a lone column is computed as one of two (module docstring)
                A = jnp.concatenate([A, jnp.zeros_like(A)], axis=1)
        Cs, post, direct = self.input_terms(k, P, keys)
        extra = [sparse[ki] for ki in range(self.K) if ki in sparse]
        M, blocks = self.products(A, extra, Cs, P)
        # blocks: [F·M (dense kinds, padded)] + [F·m (sparse kinds)] + [F·C (inputs)]
        nd = 0 if A is None else 1
        Rk, Mk = {}, {}
        for j, ki in enumerate(dense):
            Rk[ki] = (
                blocks[0][:, j * B : (j + 1) * B]
                if (len(dense) > 1 or A.shape[1] > B)
                else blocks[0]
            )
            Mk[ki] = M[:, j * B : (j + 1) * B]
        for j, ki in enumerate(ki for ki in range(self.K) if ki in sparse):
            Rk[ki] = blocks[nd + j]
            Mk[ki] = sparse[ki]
        c0 = nd + len(sparse)
        I = None
        for j, (mask, by_tau) in enumerate(post):
            col = blocks[c0 + j]
            term = col * mask[:, None] if mask is not None else col
            term = term / tau if by_tau else term
            I = term if I is None else I + term
        if direct is not None:
            I = direct if I is None else I + direct
        tgt = masks[self.targets][:, None] if self.targets is not None else None
        new, Ms = [], []
        for ki, kind in enumerate(self.kinds):
            rk = Rk[ki]
            Ms.append(Mk[ki])
            if tgt is not None:
                rk = rk * tgt
            vn = kind.advance(self, vs[ki], rk - ems[ki].self_term, I, k, P, keys)
            new.append(sharding.constrain(vn, self.mesh))
        if self.leaky:
            Ms = [m / dt for m in Ms]
        view = DenseView(self, P, new, [em.rate for em in ems], counts, Ms)
        return tuple(new), view

    def per_trial(self, stream, k, fn):
        """(N, B) draws ``fn(fold_in(stream_b, k), (N,), dtype)`` per trial."""
        draw = lambda key: fn(jax.random.fold_in(key, k), (self.n_pad,), self.dtype)  # noqa: E731
        if self.B == 1:
            return draw(stream[0])[:, None]
        return jax.vmap(draw)(stream).T

    def spikes(self, kind, vk, k, keys, P=None):
        """Counts (N, B); with ``P`` (sparse spike overlaps) also Σ_spikes src_j G_j (p, B)."""
        phi, dt = kind.phi, self.dt
        block = self.block or thinning_block(self.n, phi.max * dt)
        n_valid = self.n if self.n_pad != self.n else None
        cols = None if P is None else P["G"]
        w = None if P is None or self.sources is None else P["masks"][self.sources]

        def one(key, h):
            return poisson_counts_thinning(
                jax.random.fold_in(key, k),
                phi,
                h,
                phi.max,
                dt,
                block,
                self.dtype,
                n_valid=n_valid,
                columns=cols,
                weights=w,
            )

        if self.B == 1:
            out = one(keys["spikes"][0], vk[:, 0])
            return jax.tree_util.tree_map(lambda a: a[:, None], out)
        return jax.vmap(one, in_axes=(0, 1), out_axes=1)(keys["spikes"], vk)


def _split_columns(R, widths):
    """R (N, Σ widths) → list of (N, w) blocks (a single block is R itself)."""
    if len(widths) == 1:
        return [R]
    out, a = [], 0
    for w in widths:
        out.append(R[:, a : a + w])
        a += w
    return out


def _contract(eq: str, big, small, dtype):
    """einsum(eq, big, small) accumulated in ``dtype``; ``big`` may be stored in lower precision
    (bf16/fp16: the small operand is split into hi + lo parts, its last axis doubled, which costs
    nothing in the memory-bound read of ``big``)."""
    if big.dtype == small.dtype:
        return jnp.einsum(eq, big, small)
    q = small.shape[-1]
    hi = small.astype(big.dtype)
    lo = (small - hi.astype(dtype)).astype(big.dtype)
    out = jnp.einsum(eq, big, jnp.concatenate([hi, lo], axis=-1), preferred_element_type=dtype)
    return out[..., :q] + out[..., q:]
