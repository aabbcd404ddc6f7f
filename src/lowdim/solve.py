"""The pure solve: one mechanism for every low-rank network (DESIGN.md, "One engine").

``solve(net, grid, key, probes)`` advances a :class:`~lowdim.network.Network` on a time
:class:`Grid` and returns the probed arrays. It is a pure function of its arguments, so
``jax.jit``, ``jax.vmap`` (over trials: inputs, keys, initial states) and ``jax.grad`` (rate
neurons) pass through it.

**Columns.** The state of all paired kinds and all trials is one (N, Q) array, Q = kinds × trials
(kind-major: column k·B + b is kind k of trial b). Per step the engine forms the activities A
(N, Q) and does one contraction over G and one over F for all of them,

    M = s Gᵀ A                   (p × Q: every overlap, one read of G)
    R = F [M, C]                 (N × (Q + c): every recurrent input and every input along the
                                  loadings (C: their coefficients), one read of F)

so F and G are read once per step whatever the number of networks and trials (matrix–matrix).
A single column is padded with a zero column, so that a network run alone computes bitwise what
it computes as one column of a paired run.

**Layouts** (:class:`Layout`, "where"): stored F (N, p) and Gᵀ (p, N) (untiled); or blocks of rows
(``tile_rows``; procedural loadings regenerate each block from the sampler's seed every step);
storage in bf16/fp16 with accumulation in the compute dtype; neurons sharded over devices.

**Methods** ("how"): ``"dense"`` updates every neuron every step (rate, Poisson, synchronous
binary); ``"event"`` (:mod:`lowdim.event`) evaluates only the candidates of the thinning sampler
(Poisson) or of the update clock (asynchronous binary).

**Random numbers.** Per trial, three streams from the trial's key: input ``fold_in(key, 2)``,
intrinsic (spikes, Glauber uniforms, update orders) ``fold_in(key, 3)``, membrane noise
``fold_in(key, 4)``; every draw of step k uses ``fold_in(stream, k)``, so a run does not depend on
how it is cut into chunks, and a reference implementation can reproduce the draws exactly:

- input: ``normal(fold_in(input, k), (r,), dtype)`` for all noise terms together (r = the sum of
  their widths, in the order of ``net.inputs``), scaled by σ √(dt · time_unit);
- Poisson spikes: :func:`lowdim.dynamics.poisson_counts_thinning` with ``fold_in(spikes, k)``;
- synchronous Glauber: ``uniform(fold_in(spikes, k), (N,), dtype)``;
- membrane noise: ``normal(fold_in(membrane, k), (N,), dtype)``.

A batch of trials given one key uses ``jax.random.split(key, trials)`` as the trials' keys.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import event, integrators, sharding
from .dynamics import poisson_counts_thinning, thinning_block
from .errors import ConfigError
from .grid import Grid, Layout
from .network import Drive, MembraneNoise, Network, Noise, Poisson, Rate
from .probes import Distance, NeuronDistance, Projection, check_probes
from .procedural import TILE_ROWS
from .views import DenseView

__all__ = ["Grid", "Layout", "Program", "solve", "stream_keys", "float64"]

#: widest [M, C] for which R = F·[M, C] is a fused multiply-and-reduce (faster than XLA:CPU's
#: dot for a few columns, docs/design_notes/engine.md); wider ones use the dot
FUSED_MAX_COLUMNS = 4
#: ``method="auto"`` runs a Poisson network event-driven when its thinning candidates per step
#: (max φ · dt of the neurons) are at most this fraction: the event step's O(N max φ dt p) is
#: then well below the dense step's O(N p) (Program._event_pays)
EVENT_MAX_CANDIDATES = 0.1


def float64():
    """A context in which float64 networks can be solved: ``with lowdim.float64(): ...``
    (JAX's 64-bit mode, scoped; importing lowdim never switches it on globally)."""
    return jax.enable_x64(True)


def stream_keys(key, trials: int | None, seeds: dict | None = None) -> dict:
    """Per-purpose keys, each of shape (trials or 1, 2): input, spikes, membrane.

    ``key``: a PRNG key (2,) — split into ``trials`` keys for a batch — or (trials, 2) keys.
    ``seeds`` may override a stream with its own key (same shapes), e.g. an independent spike
    noise for the same input realisation."""
    key = jnp.asarray(key)
    if key.dtype != jnp.uint32 or key.shape[-1:] != (2,) or key.ndim not in (1, 2):
        raise ConfigError(
            "key must be a PRNG key (jax.random.PRNGKey(seed)) or an array of trial keys"
        )
    B = trials or 1
    if key.ndim == 1:
        trial_keys = key[None] if trials is None else jax.random.split(key, trials)
    else:
        if key.shape[0] != B:
            raise ConfigError(f"{key.shape[0]} trial keys for {B} trial(s); give one per trial")
        trial_keys = key
    fold = jax.vmap(jax.random.fold_in, in_axes=(0, None))
    out = {
        "input": fold(trial_keys, 2),
        "spikes": fold(trial_keys, 3),
        "membrane": fold(trial_keys, 4),
    }
    for k, v in (seeds or {}).items():
        out[k] = jnp.broadcast_to(jnp.asarray(v), (B, 2))
    return out


# ----------------------------------------------------------------------------- the program
class Program:
    """The static plan of a solve: the network's structure (not its arrays), the grid, the
    probes, the method and the layout. Hashable, so it is a static argument of jitted code."""

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
        # inputs: along the loadings (one product with F), explicit arrays, uniform, membrane
        self.inputs = []
        r_total = 0
        for i, inp in enumerate(net.inputs):
            if isinstance(inp, MembraneNoise):
                self.inputs.append(("membrane", i, inp, None))
                continue
            entry = {"kind": inp.kind, "noise": isinstance(inp, Noise), "inp": inp}
            entry["width"] = inp.width(self.p)
            if entry["noise"]:
                entry["z"] = (r_total, r_total + entry["width"])
                r_total += entry["width"]
            else:
                entry["u_kind"] = "fn" if callable(inp.u) else f"array{jnp.ndim(inp.u)}"
                if not callable(inp.u):
                    T = jnp.shape(inp.u)[-2] if jnp.ndim(inp.u) >= 2 else jnp.shape(inp.u)[0]
                    if T < grid.steps:
                        raise ConfigError(
                            f"input {i}: u has {T} time points but the grid has {grid.steps} "
                            "steps; give u(k dt) for every step k"
                        )
            self.inputs.append(("term", i, inp, entry))
        self.noise_width = r_total
        self.membrane = [e[2] for e in self.inputs if e[0] == "membrane"]
        if len(self.membrane) > 1:
            raise ConfigError("give at most one MembraneNoise term")
        self.along = [e for e in self.inputs if e[0] == "term" and e[3]["kind"] == "along"]
        # method
        self.method = self._method(method)
        self.poisson_col = next(
            (k for k, kind in enumerate(self.kinds) if isinstance(kind, Poisson)), None
        )
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
        dense_cols = sum(self.B for k in self.kinds if not isinstance(k, Poisson))
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
        sequential = not self.leaky and kinds[0].schedule != "sync"
        if method == "auto":  # resolved by _event_pays once the layout is known
            return "event" if sequential else "auto"
        if method not in ("dense", "event"):
            raise ConfigError(f"unknown method {method!r}; choose 'auto', 'dense' or 'event'")
        if method == "dense" and sequential:
            raise ConfigError(
                f"binary '{kinds[0].schedule}' updates are sequential: they run with "
                "method='event' (or 'auto')"
            )
        if method == "event":
            if self.K != 1 or isinstance(kinds[0], Rate) or (not self.leaky and not sequential):
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
        if self.K != 1 or not isinstance(kind, Poisson) or self.membrane:
            return False
        if self.tiled or self.devices > 1:
            return False
        served = (Projection, Distance, NeuronDistance)
        if not isinstance(probes, dict) or any(isinstance(q, served) for q in probes.values()):
            return False
        if kind.phi.max * self.dt > EVENT_MAX_CANDIDATES:
            return False
        names = {self.sources, self.targets} | {e[2].population for e in self.inputs}
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
        for e in self.inputs:
            names.add(e[2].population)
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
        for e in self.inputs:
            # the arrays come from ``net``, not from the network this program was built from:
            # programs are equal (and share compiled code) across networks of equal shapes
            inp, d = net.inputs[e[1]], {}
            if e[0] == "term":
                kind = e[3]["kind"]
                if kind == "array":
                    d["vectors"] = rows(inp.vectors)
                elif kind == "along" and not inp.vectors.scalar:
                    d["coef"] = jnp.asarray(inp.vectors.coef, dt_)
                if isinstance(inp, Drive) and not callable(inp.u):
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

    # ------------------------------------------------------------------ loadings
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
    def u_at(self, entry, d, k):
        """u(k dt) of a drive as (B, q)."""
        inp, B = entry["inp"], self.B
        if entry["u_kind"] == "fn":
            t = k.astype(self.dtype) * self.dt
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

    def term_coefficients(self, k, d, z, u_rows=None):
        """Per input term (in the order of ``self.inputs``), its step-k coefficient (B', w) and
        whether it is divided by τ afterwards: drives (1 − e) u(k dt) (leaky neurons integrate
        over the step; binary ones add u to h), noise σ √(dt · time_unit) z (then / τ); a scalar
        ``Along(c)`` multiplies in c. ``d``: the prepared input arrays; ``z``: (B', r) normals;
        ``u_rows``: optional {input index: (B', q)} drive values (per-trial slices)."""
        e, dt = self.decay, self.dt
        out = []
        for kind_, i, inp, entry in self.inputs:
            if kind_ != "term":
                continue
            if entry["noise"]:
                a, b = entry["z"]
                scale = math.sqrt(dt * inp.time_unit)
                if entry["kind"] == "along" and inp.vectors.scalar:
                    c = z[:, a:b] * scale * (inp.sigma * inp.vectors.coef)
                else:
                    c = z[:, a:b] * scale * inp.sigma
                out.append((i, inp, entry, c, True))
                continue
            u = u_rows[i] if u_rows is not None and i in u_rows else self.u_at(entry, d[i], k)
            c = (1.0 - e) * u if self.leaky else u
            if entry["kind"] == "along" and inp.vectors.scalar:
                c = c * inp.vectors.coef
            out.append((i, inp, entry, c, False))
        return out

    def input_terms(self, k, P, keys):
        """Coefficients of the inputs along the loadings (list of (p, B)) with their post
        factors (mask, divide by τ), and the sum of all other input terms (N, B) (or None)."""
        tau = self.tau
        z = self.noise_draws(keys, k) if self.noise_width else None
        coefs, post, direct = [], [], None
        masks = P["masks"]
        for _i, inp, entry, c, by_tau in self.term_coefficients(k, P["inputs"], z):
            d = P["inputs"][_i]
            mask = masks[inp.population] if inp.population is not None else None
            if entry["kind"] == "along":
                col = c.T if inp.vectors.scalar else d["coef"] @ c.T  # (p, B)
                coefs.append(col)
                post.append((mask, by_tau))
                continue
            if entry["kind"] == "uniform":
                term = c[:, 0][None, :] * (mask[:, None] if mask is not None else 1.0)
            else:
                term = d["vectors"] @ c.T  # (N, B)
                if mask is not None:
                    term = term * mask[:, None]
            if by_tau:
                term = term / tau
            direct = term if direct is None else direct + term
        return coefs, post, direct

    def membrane_variance(self, inp, k):
        """Variance Σ_k of the membrane-noise part of h at the start of step k (exact on the grid)."""
        e2 = self.decay**2
        per_step = inp.sigma**2 * self.dt * inp.time_unit / self.tau**2
        return per_step * (1.0 - e2 ** k.astype(self.dtype)) / (1.0 - e2)

    # ------------------------------------------------------------------ initial state
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

    # ------------------------------------------------------------------ one dense step
    def dense_step(self, vs, k, P, keys):
        """Advance every kind's (N, B) state by one step from global step index k; returns
        (new states (tuple), view)."""
        if self.grid.scheme != "exp-euler":  # higher-order schemes of rate networks
            return integrators.rk4_step(self, vs, k, P, keys)
        dt, tau, e, B = self.dt, self.tau, self.decay, self.B
        gamma = P["gamma"]
        masks = P["masks"]
        membrane = self.membrane[0] if self.membrane else None
        m_mem = (
            masks[membrane.population]
            if membrane is not None and membrane.population is not None
            else None
        )
        acts, rates, selfs, counts, sparse = [], [], [], None, {}
        for ki, kind in enumerate(self.kinds):
            vk = vs[ki]
            if isinstance(kind, Rate):
                r = kind.phi(vk)
                if membrane is not None and membrane.sigma > 0:
                    sm = kind.phi.smoothed(vk, self.membrane_variance(membrane, k))
                    r = sm if m_mem is None else jnp.where(m_mem[:, None] > 0, sm, r)
                acts.append(r * dt)
                rates.append(r)
                selfs.append(gamma[:, None] * r * dt)
            elif isinstance(kind, Poisson):
                if self.sparse_spikes:
                    n, msum = self._spikes(kind, vk, k, keys, P)
                    sparse[ki] = P["scale"] * msum
                else:
                    n = self._spikes(kind, vk, k, keys)
                counts = n
                acts.append(n)
                rates.append(n / dt)
                selfs.append(gamma[:, None] * n)
            else:
                acts.append(vk)
                rates.append(vk)
                selfs.append(gamma[:, None] * vk)
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
            vk = vs[ki]
            rk = Rk[ki]
            Ms.append(Mk[ki])
            if tgt is not None:
                rk = rk * tgt
            if kind.leaky:
                vn = e * vk + (rk - selfs[ki]) / tau
                if I is not None:
                    vn = vn + I
                if isinstance(kind, Poisson) and membrane is not None and membrane.sigma > 0:
                    dW = self._per_trial(keys["membrane"], k, jax.random.normal)
                    scale_w = membrane.sigma * math.sqrt(dt * membrane.time_unit) / tau
                    noise = scale_w * dW
                    vn = vn + (noise * m_mem[:, None] if m_mem is not None else noise)
            else:
                h = rk - selfs[ki]
                if I is not None:
                    h = h + I
                u = (
                    self._per_trial(keys["spikes"], k, jax.random.uniform)
                    if kind.stochastic
                    else None
                )
                vn = kind.update(h, vk, u)
            new.append(sharding.constrain(vn, self.mesh))
        if self.leaky:
            Ms = [m / dt for m in Ms]
        view = DenseView(self, P, new, rates, counts, Ms)
        return tuple(new), view

    def _per_trial(self, stream, k, fn):
        """(N, B) draws ``fn(fold_in(stream_b, k), (N,), dtype)`` per trial."""
        draw = lambda key: fn(jax.random.fold_in(key, k), (self.n_pad,), self.dtype)  # noqa: E731
        if self.B == 1:
            return draw(stream[0])[:, None]
        return jax.vmap(draw)(stream).T

    def _spikes(self, kind, vk, k, keys, P=None):
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

    # ------------------------------------------------------------------ chunks of records
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


def _split_columns(R, widths):
    """R (N, Σ widths) → list of (N, w) blocks (a single block is R itself)."""
    if len(widths) == 1:
        return [R]
    out, a = [], 0
    for w in widths:
        out.append(R[:, a : a + w])
        a += w
    return out


def _abstract(x):
    """(shape, dtype) of an array-like leaf (Python scalars: their type)."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return (tuple(x.shape), str(x.dtype))
    return ((), type(x).__name__)


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


# ----------------------------------------------------------------------------- solve
def solve(
    net: Network,
    grid: Grid,
    key,
    probes: dict,
    *,
    method="auto",
    layout=None,
    seeds=None,
    block=None,
):
    """Run ``net`` on ``grid`` and return ``{name: array}`` for every probe (pure function).

    ``key``: ``jax.random.PRNGKey(seed)`` (split into per-trial keys for a batch) or (trials, 2)
    keys; ``seeds`` optionally overrides single streams ({"spikes": key, ...}). Shapes: see
    :mod:`lowdim.probes`. For long or large runs use :func:`lowdim.run` (chunks, progress,
    memory check, checkpoints, xarray output); it computes the same numbers.
    """
    if not isinstance(net, Network):
        raise ConfigError(f"solve needs a lowdim.Network, got {type(net).__name__}")
    if not isinstance(grid, Grid):
        raise ConfigError(f"solve needs a lowdim.Grid, got {type(grid).__name__}")
    if net.dtype == "float64" and not jax.config.jax_enable_x64:
        raise ConfigError(
            "a float64 network needs JAX's 64-bit mode: call solve inside "
            "`with lowdim.float64():`, or set jax.config.update('jax_enable_x64', True)"
        )
    prog = Program(net, grid, probes, method=method, layout=layout, block=block)
    keys = stream_keys(key, net.batch, seeds)
    P = prog.prepare(net)
    state = prog.init_state(P, keys)
    state, recs = prog.advance(state, P, probes, keys, jnp.int32(0), grid.records)
    out = {name: prog.arrange(name, v, trace=True) for name, v in recs.items()}
    out.update(
        {name: prog.arrange(name, v, trace=False) for name, v in prog.averages(state).items()}
    )
    return out
