"""The plan of a solve: :class:`Program` (validation, method, layout, input plan, signature,
prepared arrays) and the typed input plan.

``Program(net, grid, probes, method, layout, block)`` is the static part of a solve — hashable,
one compile for networks of equal shapes. Its kernels (:mod:`lowdim.kernels`) and its record
loop (:mod:`lowdim.loop`) are mixins; :mod:`lowdim.solve` is the public facade
(``from lowdim.solve import Program`` as before).

**The input plan.** Every input of the network becomes one frozen record, built once here:
:class:`DriveTerm` (U u(t)), :class:`NoiseTerm` (σ V dB) and :class:`MembraneTerm` (σ̃ dW_i).
Drive and noise terms say how their vectors enter (``vectors``: "along" the loadings — one
product with F —, "array" — explicit (N, q) vectors —, or "uniform" over a population) and their
width; noise terms their slice ``z`` of the step's normals (in the order of ``net.inputs``),
drives the form of u ("fn", or "array1"/"array2"/"array3" for (steps,), (steps, q),
(trials, steps, q)). Their coefficients are computed in one place,
:meth:`lowdim.kernels.Kernels.term_coefficients`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from . import event, integrators, sharding
from .errors import ConfigError
from .grid import Grid, Layout
from .kernels import FUSED_MAX_COLUMNS, Kernels
from .loop import Loop
from .network import MembraneNoise, Network, Noise
from .probes import Distance, NeuronDistance, Projection, check_probes
from .procedural import TILE_ROWS

__all__ = ["Program", "DriveTerm", "NoiseTerm", "MembraneTerm", "EVENT_MAX_CANDIDATES"]

#: ``method="auto"`` runs a Poisson network event-driven when its thinning candidates per step
#: (max φ · dt of the neurons) are at most this fraction: the event step's O(N max φ dt p) is
#: then well below the dense step's O(N p) (Program._event_pays)
EVENT_MAX_CANDIDATES = 0.1


# ----------------------------------------------------------------------------- the input plan
@dataclass(frozen=True, eq=False)
class DriveTerm:
    """Input ``index`` of the network, a :class:`~lowdim.network.Drive` U u(t)."""

    index: int
    input: object
    vectors: str  # "along", "array" or "uniform"
    width: int
    u: str  # "fn", "array1", "array2" or "array3"
    noise = False

    @property
    def population(self):
        return self.input.population

    @property
    def scalar(self) -> bool:
        """Along the loadings with a scalar c (V = c F): c multiplies the coefficient."""
        return self.vectors == "along" and self.input.vectors.scalar


@dataclass(frozen=True, eq=False)
class NoiseTerm:
    """Input ``index``, a :class:`~lowdim.network.Noise` σ V dB; ``z``: its columns (a, b) of
    the step's standard normals."""

    index: int
    input: object
    vectors: str  # "along" or "array"
    width: int
    z: tuple
    noise = True

    population = DriveTerm.population
    scalar = DriveTerm.scalar


@dataclass(frozen=True, eq=False)
class MembraneTerm:
    """Input ``index``, a :class:`~lowdim.network.MembraneNoise` σ̃ dW_i (per neuron)."""

    index: int
    input: object

    population = DriveTerm.population


def _input_plan(inputs, rank: int, steps: int) -> tuple:
    """The typed terms of ``net.inputs`` (in order); a drive's u must cover the grid."""
    out, r = [], 0
    for i, inp in enumerate(inputs):
        if isinstance(inp, MembraneNoise):
            out.append(MembraneTerm(i, inp))
            continue
        w = inp.width(rank)
        if isinstance(inp, Noise):
            out.append(NoiseTerm(i, inp, inp.kind, w, (r, r + w)))
            r += w
            continue
        if not callable(inp.u):
            T = jnp.shape(inp.u)[-2] if jnp.ndim(inp.u) >= 2 else jnp.shape(inp.u)[0]
            if T < steps:
                raise ConfigError(
                    f"input {i}: u has {T} time points but the grid has {steps} "
                    "steps; give u(k dt) for every step k"
                )
        u = "fn" if callable(inp.u) else f"array{jnp.ndim(inp.u)}"
        out.append(DriveTerm(i, inp, inp.kind, w, u))
    return tuple(out)


# ----------------------------------------------------------------------------- the program
class Program(Kernels, Loop):
    """The static plan of a solve: the network's structure (not its arrays), the grid, the
    probes, the method and the layout. Hashable, so it is a static argument of jitted code.

    Planned here: validation, the method, the layout (tiles, padding, devices), the input plan
    (:class:`DriveTerm`, :class:`NoiseTerm`, :class:`MembraneTerm`), the signature, the masks and
    the prepared arrays; the kernels of a step come from :class:`~lowdim.kernels.Kernels`, the
    record loop from :class:`~lowdim.loop.Loop`."""

    def __init__(
        self, net: Network, grid: Grid, probes: dict, method="auto", layout=None, block=None
    ):
        net.validate()
        if block is not None and (
            isinstance(block, bool) or not isinstance(block, int) or block < 1
        ):
            raise ConfigError(f"block must be a positive integer, got {block!r}")
        self.block = block
        self.grid = grid.validate()
        self.layout = (layout or Layout()).validate(net)
        self.kinds = net.kinds
        self.K = len(net.kinds)
        self.batched = net.batch is not None
        self.B = net.batch or 1
        self.Q = self.K * self.B
        self.Qp = max(self.Q, 2)
        self.leaky = net.leaky
        self.n = net.neurons
        self.p = net.rank
        self.dtype = jnp.float64 if net.dtype == "float64" else jnp.float32
        self.tau = float(net.tau)
        self.dt = float(grid.dt)
        self.decay = math.exp(-self.dt / self.tau)
        self.populations = net.populations
        self.sources, self.targets = net.sources, net.targets
        self.sampler = net.sampler
        self.self_coupling = net.self_coupling  # W_ii kept: no self-term γ removed
        self.has_x0 = net.x0 is not None
        self.x0_batched = self.has_x0 and jnp.ndim(net.x0) == 2
        self.has_readout = net.readout is not None
        self.n_outputs = int(jnp.shape(net.readout)[1]) if self.has_readout else 0
        if not self.leaky and self.kinds[0].schedule == "continuous" and self.dt >= self.tau:
            raise ConfigError("continuous binary updates need dt < τ (mean time between updates)")
        # the input plan: typed terms in the order of net.inputs (the noise draws' order)
        self.inputs = _input_plan(net.inputs, self.p, grid.steps)
        self.terms = [t for t in self.inputs if not isinstance(t, MembraneTerm)]
        self.noise_width = sum(t.width for t in self.terms if t.noise)
        membrane = [t for t in self.inputs if isinstance(t, MembraneTerm)]
        if len(membrane) > 1:
            raise ConfigError("give at most one MembraneNoise term")
        self.membrane = membrane[0] if membrane else None
        self.along = [t for t in self.terms if t.vectors == "along"]
        # method
        self.method = self._method(method)
        self.poisson_col = next((k for k, kind in enumerate(self.kinds) if kind.spiking), None)
        # layout
        lay = self.layout
        self.procedural = lay.loadings == "procedural"
        self.tiled = self.procedural or lay.tile_rows is not None
        self.devices = lay.devices
        if self.tiled:
            per_device = -(-self.n // self.devices)
            self.block_rows = lay.tile_rows or min(65536, -(-per_device // TILE_ROWS) * TILE_ROWS)
            unit = self.block_rows * self.devices
            self.n_pad = -(-self.n // unit) * unit
            self.blocks = self.n_pad // unit
        else:
            self.block_rows, self.blocks, self.n_pad = None, 1, self.n
        self.storage = jnp.dtype(lay.storage or net.dtype)
        self.mesh = sharding.make_mesh(self.devices)
        if self.method == "auto":
            self.method = "event" if self._event_pays(probes) else "dense"
        if self.method == "event" and (self.tiled or self.devices > 1):
            raise ConfigError(
                "the event-driven method reads single rows of F and G: it needs stored, untiled "
                "loadings on one device (loadings='stored', no tile_rows, devices=1)"
            )
        # spike overlaps from the spikes' own rows of G when the G product would be
        # compute-bound (many columns) or would serve only spikes (SNN alone): O(spikes · p)
        dense_cols = sum(self.B for k in self.kinds if not k.spiking)
        self.sparse_spikes = (
            self.method == "dense"
            and self.poisson_col is not None
            and not self.tiled
            and self.devices == 1
            and (dense_cols == 0 or dense_cols + self.B > FUSED_MAX_COLUMNS)
        )
        integrators.check_scheme(self, net)
        self.probes = check_probes(probes, self)
        self.signature = self._signature(net, probes)

    def _method(self, method):
        kinds = self.kinds
        sequential = any(k.sequential for k in kinds)
        if method == "auto":  # resolved by _event_pays once the layout is known
            return "event" if sequential else "auto"
        if method not in ("dense", "event"):
            raise ConfigError(f"unknown method {method!r}; choose 'auto', 'dense' or 'event'")
        if method == "dense" and sequential:
            raise ConfigError(
                f"{kinds[0].name} '{kinds[0].schedule}' updates are sequential: they run with "
                "method='event' (or 'auto')"
            )
        if method == "event":
            if self.K != 1 or not kinds[0].event_method:
                raise ConfigError(
                    "the event-driven method runs one kind of Poisson or asynchronous binary "
                    f"neurons (got {[k.name for k in kinds]}); paired runs, rate neurons and "
                    "synchronous binary updates use method='dense'"
                )
            if self.membrane:
                raise ConfigError(
                    "membrane noise (SM Sec. VI) is per neuron and step: it needs method='dense'"
                )
        return method

    def _event_pays(self, probes) -> bool:
        """The rule of ``method="auto"`` for networks that are not asynchronous binary (those
        run event-driven only), defined here once (:func:`lowdim.run`, :func:`lowdim.simulate`
        and ``lowdim simulate --method auto`` resolve through it): the event method where it is
        exact and cheaper — one kind of Poisson neurons (an SNN alone, not a paired run), no
        membrane noise, stored untiled loadings on one device, probes it serves (no projection
        or distance), populations in at most ``event.MAX_GROUPS`` groups, and thinning
        candidates of at most ``EVENT_MAX_CANDIDATES`` of the neurons per step (max φ · dt); the
        dense method otherwise."""
        kind = self.kinds[0]
        if self.K != 1 or not kind.spiking or self.membrane:
            return False
        if self.tiled or self.devices > 1:
            return False
        served = (Projection, Distance, NeuronDistance)
        if not isinstance(probes, dict) or any(isinstance(q, served) for q in probes.values()):
            return False
        if kind.candidate_rate(self.dt, self.tau) > EVENT_MAX_CANDIDATES:
            return False
        names = {self.sources, self.targets} | {t.population for t in self.inputs}
        for q in probes.values():
            names.update(getattr(q, "populations", ()))
        try:
            event.groups(self, sorted(n for n in names if n is not None))
        except ConfigError:
            return False
        return True

    def _signature(self, net, probes):
        leaves, treedef = jax.tree_util.tree_flatten(net)
        pleaves, ptree = jax.tree_util.tree_flatten(probes)
        shapes = tuple(_abstract(x) for x in leaves)
        pshapes = tuple(_abstract(x) for x in pleaves)
        sig = (treedef, shapes, ptree, pshapes, self.grid, self.method, self.layout, self.block)
        return sig + (self.self_coupling,)  # in the hash too (a treedef's hash omits it)

    def __hash__(self):
        return hash(self.signature)

    def __eq__(self, other):
        return isinstance(other, Program) and self.signature == other.signature

    # ------------------------------------------------------------------ masks, sizes
    def mask_np(self, name) -> np.ndarray:
        m = self.populations[name].astype(np.float64)
        return np.pad(m, (0, self.n_pad - self.n)) if self.n_pad > self.n else m

    def size(self, name) -> float:
        return float(self.populations.size(name))

    def used_masks(self) -> list[str]:
        names = {self.sources, self.targets}
        for t in self.inputs:
            names.add(t.population)
        for pr in self.probes.values():
            names.update(getattr(pr, "populations", ()))
        return sorted(n for n in names if n is not None)

    # ------------------------------------------------------------------ prepare
    def prepare(self, net: Network) -> dict:
        """The arrays of a step in this program's layout: loadings (stored: F (N, p) and Gᵀ
        (p, N), or blocks), scale, γ, masks, inputs, initial state, readout — padded."""
        dt_, sd, n, n_pad = self.dtype, self.storage, self.n, self.n_pad
        P = {"scale": jnp.asarray(net.scale, dt_)}
        P["masks"] = {name: jnp.asarray(self.mask_np(name), dt_) for name in self.used_masks()}
        pad = n_pad - n

        def rows(a, axis=0):
            a = jnp.asarray(a, dt_)
            if pad:
                widths = [(0, 0)] * a.ndim
                widths[axis] = (0, pad)
                a = jnp.pad(a, widths)
            return a

        # loadings
        if self.procedural:
            F = G = None
        elif net.sampler is not None:
            F, G = net.sampler.materialize(n, dt_, sd)
        else:
            F, G = jnp.asarray(net.F).astype(sd), jnp.asarray(net.G).astype(sd)
        if F is not None and pad:
            F, G = jnp.pad(F, ((0, pad), (0, 0))), jnp.pad(G, ((0, pad), (0, 0)))
        if self.tiled:
            if F is not None:
                shape = (self.devices, self.blocks, self.block_rows, self.p)
                F, G = F.reshape(shape), G.reshape(shape)
            gamma = self._tiled_gamma(F, G, P["scale"])
        else:
            Fc, Gc = F.astype(dt_), G.astype(dt_)
            gamma = (P["scale"] * jnp.sum(Fc * Gc, axis=1)).astype(dt_)
            if self.method == "dense":  # (p, N): Gᵀ A streams along N (design note "Layout of G")
                G = jnp.transpose(G)
        if self.targets is not None:
            gamma = gamma * P["masks"][self.targets]
        if self.sources is not None:
            gamma = gamma * P["masks"][self.sources]
        if self.self_coupling:  # W_ii = s F_i·G_i kept: nothing to remove
            gamma = jnp.zeros_like(gamma)
        P["F"], P["G"], P["gamma"] = F, G, gamma
        # inputs
        ins = []
        for t in self.inputs:
            # the arrays come from ``net``, not from the network this program was built from:
            # programs are equal (and share compiled code) across networks of equal shapes
            inp, d = net.inputs[t.index], {}
            if not isinstance(t, MembraneTerm):
                if t.vectors == "array":
                    d["vectors"] = rows(inp.vectors)
                elif t.vectors == "along" and not inp.vectors.scalar:
                    d["coef"] = jnp.asarray(inp.vectors.coef, dt_)
                if not t.noise and t.u != "fn":
                    u = jnp.asarray(inp.u, dt_)
                    d["u"] = u[..., None] if u.ndim == 1 else u
            ins.append(d)
        P["inputs"] = tuple(ins)
        if net.x0 is not None:
            P["x0"] = rows(net.x0, axis=jnp.ndim(net.x0) - 1)
        if net.readout is not None:
            P["readout"] = rows(net.readout)
        return P

    def _tiled_gamma(self, F, G, scale):
        """γ over the padded neurons in the tiled layout (one pass over the blocks)."""

        def body(_, j):
            # materialise the block first: fused with the generator, XLA would order the sum
            # over μ differently from the stored mode, and the modes must agree bitwise
            Fb, Gb = jax.lax.optimization_barrier(self.load_block(F, G, j))
            g = scale * jnp.sum(Fb.astype(self.dtype) * Gb.astype(self.dtype), axis=-1)
            return None, sharding.constrain(g.astype(self.dtype), self.mesh)

        _, g = jax.lax.scan(body, None, jnp.arange(self.blocks, dtype=jnp.int32))
        return jnp.transpose(g, (1, 0, 2)).reshape(self.n_pad)

    def placement(self, P: dict) -> dict:
        """Put the prepared arrays on this program's devices (per-neuron arrays sharded)."""
        if self.mesh is None:
            return P
        put, mesh = sharding.put, self.mesh
        out = dict(P)
        if P["F"] is not None:
            out["F"] = put(P["F"], mesh)
            out["G"] = put(P["G"], mesh, axis=0 if self.tiled else 1)
        out["gamma"] = put(P["gamma"], mesh)
        out["scale"] = put(P["scale"], mesh, None)
        out["masks"] = {k: put(v, mesh) for k, v in P["masks"].items()}
        ins = []
        for d in P["inputs"]:
            d = dict(d)
            if "vectors" in d:
                d["vectors"] = put(d["vectors"], mesh)
            for k in ("coef", "u"):
                if k in d:
                    d[k] = put(d[k], mesh, None)
            ins.append(d)
        out["inputs"] = tuple(ins)
        for k, axis in (("x0", 1 if self.x0_batched else 0), ("readout", 0)):
            if k in P:
                out[k] = put(P[k], mesh, axis)
        return out


def _abstract(x):
    """(shape, dtype) of an array-like leaf (Python scalars: their type)."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return (tuple(x.shape), str(x.dtype))
    return ((), type(x).__name__)
