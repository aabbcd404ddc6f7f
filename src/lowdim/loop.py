"""The loop of a solve: the state at step 0, advancing over records, the outputs' axes.

A mixin of :class:`lowdim.solve.Program` (:mod:`lowdim.plan`). The dense method's step is
:meth:`lowdim.kernels.Kernels.dense_step`; the event method's loop is :mod:`lowdim.event`.
Records are written in place in one loop over the steps (:meth:`Loop.advance`), so a run cut
into chunks of records computes bitwise what one call computes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import event, sharding
from .views import DenseView

__all__ = ["Loop"]


class Loop:
    """Initial state, record loop, time averages and axis order of a Program."""

    def initial_columns(self, P):
        """The initial (N, B) state of every kind: x0 (paired kinds share it) or zeros."""
        B = self.B
        if "x0" in P:
            x0 = P["x0"]
            base = x0.T if x0.ndim == 2 else jnp.broadcast_to(x0[:, None], (self.n_pad, B))
        else:
            base = jnp.zeros((self.n_pad, B), self.dtype)
        base = sharding.constrain(base.astype(self.dtype), self.mesh)
        return tuple(base for _ in range(self.K))

    def init_state(self, P, keys):
        """The state at step 0: columns (or the event method's state) and probe sums."""
        if self.method == "event":
            core = event.init_state(self, P, keys)
        else:
            core = {"v": self.initial_columns(P)}
        shapes = self.value_shapes(P, keys, core)
        sums = {
            name: jnp.zeros(shapes[name].shape, shapes[name].dtype)
            for name, pr in self.probes.items()
            if pr.mode == "average"
        }
        return {"core": core, "sums": sharding.replicate(sums, self.mesh)}

    def value_shapes(self, P, keys, core):
        """Shapes of every probe's per-step (or sample) value, by abstract evaluation."""
        probes = self.probes

        def f(core, P, keys, probes):
            out = {}
            k = jnp.int32(0)
            if self.method == "event":
                step_view, sample_view = event.step_views(self, core, k, P, keys)
            else:
                _, step_view = self.dense_step(core["v"], k, P, keys)
                sample_view = DenseView(self, P, list(core["v"]), None, None, None)
            for name, pr in probes.items():
                out[name] = pr.output(sample_view if pr.mode == "sample" else step_view)
            return out

        return jax.eval_shape(f, core, P, keys, probes)

    def advance(self, state, P, probes, keys, start, n_records: int):
        """Advance ``n_records`` record intervals from global step ``start``; returns the new
        state and the records (each probe: (n_records, ...), "steps" probes (n_records · every,
        ...)). Pure; ``n_records`` is static.

        One loop over the steps carries the states, the running sums and the records: a record
        is written in place (``dynamic_update_slice`` into a preallocated buffer) at the end of
        its interval, so the (N, B) states never cross a per-record loop boundary."""
        if self.method == "event":
            return event.advance(self, state, P, probes, keys, start, n_records)
        spr = self.grid.record_every
        mean = [k for k, p in probes.items() if p.mode == "mean"]
        avg = [k for k, p in probes.items() if p.mode == "average"]
        steps = [k for k, p in probes.items() if p.mode == "steps"]
        sample = [k for k, p in probes.items() if p.mode == "sample"]
        v0 = state["core"]["v"]
        shapes = self._record_shapes(P, keys, v0, probes)
        n_steps = n_records * spr

        def buffer(name, length, dtype=None):
            s = shapes[name]
            return jnp.zeros((length,) + s.shape, dtype or s.dtype)

        win0 = {name: jnp.zeros(shapes[name].shape, shapes[name].dtype) for name in mean}
        recs0 = {name: buffer(name, n_records) for name in mean + sample}
        recs0.update({name: buffer(name, n_steps, probes[name].dtype(self)) for name in steps})

        def write(recs, win, v, j):
            out = dict(recs)
            for name in mean:
                out[name] = jax.lax.dynamic_update_index_in_dim(out[name], win[name] / spr, j, 0)
            sview = DenseView(self, P, list(v), None, None, None)
            for name in sample:
                val = probes[name].output(sview)
                out[name] = jax.lax.dynamic_update_index_in_dim(out[name], val, j, 0)
            return out

        def body(carry, i):
            v, sums, win, recs = carry
            k = start + i
            v, view = self.dense_step(v, k, P, keys)
            vals = {name: probes[name].output(view) for name in mean + avg + steps}
            win = {name: win[name] + vals[name] for name in mean}
            sums = {
                name: sums[name] + (k >= probes[name].start).astype(self.dtype) * vals[name]
                for name in avg
            }
            recs = dict(recs)
            for name in steps:
                val = vals[name].astype(probes[name].dtype(self))
                recs[name] = jax.lax.dynamic_update_index_in_dim(recs[name], val, i, 0)
            if mean or sample:
                j = i // spr
                if spr == 1:
                    recs = write(recs, win, v, j)
                    win = {name: jnp.zeros_like(w) for name, w in win.items()}
                else:
                    last = i % spr == spr - 1
                    recs = jax.lax.cond(
                        last, lambda r, w, v: write(r, w, v, j), lambda r, w, v: r, recs, win, v
                    )
                    win = {name: jnp.where(last, jnp.zeros_like(w), w) for name, w in win.items()}
            return (v, sums, win, recs), None

        carry = (v0, state["sums"], win0, recs0)
        ks = jnp.arange(n_steps, dtype=jnp.int32)
        (v, sums, _, recs), _ = jax.lax.scan(body, carry, ks)
        recs = sharding.replicate(recs, self.mesh)
        return {"core": {"v": v}, "sums": sums}, recs

    def _record_shapes(self, P, keys, v, probes):
        """Shapes of every recorded probe's value: per step ("mean", "steps") or per sample."""
        names = [k for k, p in probes.items() if p.mode in ("mean", "steps", "sample")]
        if not names:
            return {}

        def f(v):
            step_view = self.dense_step(v, jnp.int32(0), P, keys)[1]
            sample_view = DenseView(self, P, list(v), None, None, None)
            return {
                n: probes[n].output(sample_view if probes[n].mode == "sample" else step_view)
                for n in names
            }

        return jax.eval_shape(f, v)

    # ------------------------------------------------------------------ outputs
    def averages(self, state) -> dict:
        """Time averages of the "average" probes: sums / (steps − start)."""
        out = {}
        for name, pr in self.probes.items():
            if pr.mode == "average":
                out[name] = state["sums"][name] / (self.grid.steps - pr.start)
        return out

    def arrange(self, name, value, trace: bool):
        """Move a probe's value to the public axis order: (trials?, T?, networks?, *dims)."""
        pr = self.probes[name]
        t = 1 if trace else 0
        if pr.has_kind_axis():  # (T?, K, B, ...) → (B, T?, K, ...)
            value = jnp.moveaxis(value, t + 1, 0)
            if self.K == 1:
                value = jnp.squeeze(value, axis=t + 1)
        else:  # (T?, B, ...) → (B, T?, ...)
            value = jnp.moveaxis(value, t, 0)
        if not self.batched:
            value = value[0]
        return value
