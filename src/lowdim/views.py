"""What probes see of a step: the view protocol, and the dense method's view.

A probe (:mod:`lowdim.probes`) reads a step only through a view: ``potentials(idx)``,
``rates(idx)``, ``spikes(idx)``, ``overlaps(k)``, ``pop_rates(names)``, ``readout()``,
``project(basis)``, ``distance(names, pair)``, ``neuron_distance(idx, pair)``. The dense method
(:mod:`lowdim.solve`) hands probes a :class:`DenseView`; the event method (:mod:`lowdim.event`)
an ``EventView`` with the same methods (and a :class:`DenseView` for binary networks).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .errors import ConfigError

__all__ = ["DenseView"]


class DenseView:
    """What probes see of one step (or, with ``rates=None``, of a state at a record time).

    ``vs``: every kind's (N, B) state; ``rates``: their activity per unit time; ``counts``: the
    Poisson kind's spike counts (N, B); ``Ms``: every kind's overlaps (p, B) per unit time."""

    def __init__(self, prog, P, vs, rates, counts, Ms):
        self.prog, self.P, self.vs, self._rates, self.counts, self.Ms = (
            prog,
            P,
            vs,
            rates,
            counts,
            Ms,
        )
        self.n = prog.n

    @staticmethod
    def _kb(parts):
        """K arrays (m, B) → (K, B, m)."""
        return jnp.stack([jnp.moveaxis(x, 0, -1) for x in parts])

    def _act(self):
        """Activity per unit time of every kind: this step's, or φ of the state (sample)."""
        if self._rates is not None:
            return self._rates
        return [kind.activity(v) for kind, v in zip(self.prog.kinds, self.vs, strict=True)]

    def potentials(self, idx):
        return self._kb([v[idx] for v in self.vs])

    def rates(self, idx):
        return self._kb([a[idx] for a in self._act()])

    def spikes(self, idx):
        if self.counts is None:
            raise ConfigError("spikes exist only per step (mode 'steps')")
        return self.counts[idx].T

    def overlaps(self, k):
        if self.Ms is None:
            raise ConfigError("overlaps are averaged over steps; use mode 'mean' or 'average'")
        return self._kb([m[:k] for m in self.Ms])

    def _pop_sums(self, x, names):
        """Σ over each population of x (N, B) → (B, n_pops): one fused reduction per population
        (a slice of rows for a contiguous population)."""
        prog = self.prog
        masks = [self.P["masks"][n] for n in names]
        cols = []
        for n, m in zip(names, masks, strict=True):
            rr = prog.populations.range_of(n)
            if rr is not None:
                cols.append(jnp.sum(jax.lax.slice_in_dim(x, rr[0], rr[1], axis=0), axis=0))
            else:
                cols.append(jnp.sum(x * m[:, None], axis=0))
        return jnp.stack(cols, axis=1)

    def pop_rates(self, names):
        prog, dt = self.prog, self.prog.dt
        sizes = jnp.asarray([prog.size(n) for n in names], prog.dtype)
        out = []
        for ki, kind in enumerate(prog.kinds):
            spikes = kind.spiking and self.counts is not None
            x = self.counts if spikes else self._rates[ki]
            tot = self._pop_sums(x, names) / sizes
            out.append(tot / dt if spikes else tot)
        return jnp.stack(out)

    def readout(self):
        W = self.P["readout"]
        return self._kb([W.T @ a for a in self._act()])

    def project(self, basis):
        basis = jnp.asarray(basis, self.prog.dtype)
        if self.prog.n_pad > self.prog.n:
            basis = jnp.pad(basis, ((0, self.prog.n_pad - self.prog.n), (0, 0)))
        return self._kb([basis.T @ v for v in self.vs])

    def _pair(self, pair):
        a, b = pair
        return jnp.abs(self.vs[b] - self.vs[a])

    def distance(self, names, pair):
        sizes = jnp.asarray([self.prog.size(n) for n in names], self.prog.dtype)
        return self._pop_sums(self._pair(pair), names) / sizes

    def neuron_distance(self, idx, pair):
        return self._pair(pair)[idx].T
