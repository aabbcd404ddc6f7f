"""Probes: what a solve keeps (DESIGN.md, "what to keep"), each with its units.

Probes with a ``networks`` axis take ``network=k`` to keep only kind k (e.g. the SNN of a pair).

A probe names a quantity and how it is reduced on the record grid (``Grid.record_every``):

- ``"sample"``: its value at the end of each record interval;
- ``"mean"``: its average over the steps of each record interval;
- ``"steps"``: its value at every step (spikes);
- ``"average"``: one time average over the steps k ≥ ``start`` (e.g. after a burn-in).

Shapes returned by :func:`lowdim.solve` (T = number of records, or of steps for ``"steps"``):
``(trials?, T, networks?, *dims)`` for traces and ``(trials?, networks?, *dims)`` for averages,
where the ``trials`` axis is present for a batch of trials and the ``networks`` axis when the
network has more than one neuron kind (paired runs); probes of a pair (the distance) have no
``networks`` axis. ``dims`` are listed per probe below.

Probes hold their own arrays (neuron indices, a basis) as pytree leaves, so a solve can be
jitted once and reused with other indices of the same size.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import jax
import jax.numpy as jnp
import numpy as np

from .errors import ConfigError

__all__ = [
    "Probe",
    "Potentials",
    "Activity",
    "Spikes",
    "Overlaps",
    "PopulationRates",
    "Readout",
    "Projection",
    "Distance",
    "NeuronDistance",
    "MODES",
]

MODES = ("sample", "mean", "steps", "average")


def _pytree(leaves: tuple[str, ...]):
    """Register a frozen dataclass as a pytree whose ``leaves`` fields are children."""

    def wrap(cls):
        def flatten(obj):
            aux = tuple((f.name, getattr(obj, f.name)) for f in fields(obj) if f.name not in leaves)
            return tuple(getattr(obj, k) for k in leaves), aux

        def unflatten(aux, children):
            obj = object.__new__(cls)
            for k, v in zip(leaves, children, strict=True):
                object.__setattr__(obj, k, v)
            for k, v in aux:
                object.__setattr__(obj, k, v)
            return obj

        jax.tree_util.register_pytree_node(cls, flatten, unflatten)
        return cls

    return wrap


class Probe:
    """Base class. Subclasses set ``default_mode``, ``allowed``, ``kind_axis``, ``units`` and
    implement :meth:`value` (on a step view or a sample view, see ``lowdim.solve``)."""

    default_mode = "mean"
    allowed = MODES
    kind_axis = True  # value has leading (kinds, trials) axes; False: (trials,) only
    units = "1"
    long_name = ""

    def has_kind_axis(self) -> bool:
        """Whether the output has a ``networks`` axis (a kind-axis probe with no ``network``)."""
        return self.kind_axis and getattr(self, "network", None) is None

    def output(self, view):
        """The value on a view, restricted to the chosen ``network`` (kind index) if any."""
        v = self.value(view)
        net = getattr(self, "network", None)
        return v[net] if (self.kind_axis and net is not None) else v

    def check(self, prog) -> None:
        net = getattr(self, "network", None)
        if net is not None and (
            isinstance(net, bool) or not isinstance(net, int) or not 0 <= net < len(prog.kinds)
        ):
            raise ConfigError(
                f"{type(self).__name__}: network must be a kind index in [0, {len(prog.kinds)}) "
                f"(kinds {[k.name for k in prog.kinds]}), got {net!r}"
            )
        mode = self.mode
        if mode not in self.allowed:
            raise ConfigError(
                f"{type(self).__name__} cannot be recorded with mode {mode!r}; "
                f"choose one of {list(self.allowed)}"
            )
        if mode == "average":
            s = self.start
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise ConfigError(f"{type(self).__name__}: start must be a step index ≥ 0")
            if s >= prog.grid.steps:
                raise ConfigError(
                    f"{type(self).__name__}: start = {s} leaves no step to average over "
                    f"({prog.grid.steps} steps); lower start or lengthen the run"
                )

    def dims(self, prog) -> tuple[str, ...]:
        return ()

    def coords(self, prog) -> dict:
        return {}

    def value(self, view):
        raise NotImplementedError

    def dtype(self, prog):
        return prog.dtype


class _NeuronProbe(Probe):
    """A probe of single neurons (``neurons``: indices, default all); dims ``(neuron,)``."""

    def _idx(self, n):
        return _indices(self.neurons, n, type(self).__name__)

    def dims(self, prog):
        return ("neuron",)

    def coords(self, prog):
        return {"neuron": np.asarray(self._idx(prog.n))}


def _indices(neurons, n: int, what: str):
    if neurons is None:
        return jnp.arange(n, dtype=jnp.int32)
    if isinstance(neurons, jax.core.Tracer):
        return neurons
    a = np.asarray(neurons)
    if a.ndim != 1 or not (np.issubdtype(a.dtype, np.integer)):
        raise ConfigError(f"{what}: neurons must be a 1-D array of neuron indices")
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ConfigError(f"{what}: neuron indices must lie in [0, {n})")
    return jnp.asarray(a, jnp.int32)


@_pytree(("neurons",))
@dataclass(frozen=True)
class Potentials(_NeuronProbe):
    """Potentials x_i or h_i (leaky kinds; dimensionless) or states S_i (binary) of ``neurons``
    (default: all). dims: ``(neuron,)``. Default mode: sample."""

    neurons: object = None
    network: int | None = None
    mode: str = "sample"
    start: int = 0
    default_mode = "sample"
    long_name = "potential"

    def value(self, view):
        return view.potentials(self._idx(view.n))


@_pytree(("neurons",))
@dataclass(frozen=True)
class Activity(_NeuronProbe):
    """What neurons send per unit time: φ(x) (rate, Hz), n/dt (Poisson, Hz) or S (binary), of
    ``neurons`` (default: all). dims ``(neuron,)``. In sample mode: φ of the potential."""

    neurons: object = None
    network: int | None = None
    mode: str = "mean"
    start: int = 0
    long_name = "activity"

    @property
    def units(self):
        return "Hz"

    def value(self, view):
        return view.rates(self._idx(view.n))


@_pytree(("neurons",))
@dataclass(frozen=True)
class Spikes(_NeuronProbe):
    """Spike counts of ``neurons`` (default: all) at every step (Poisson kind only), int8.
    dims ``(neuron,)``; no networks axis."""

    neurons: object = None
    mode: str = "steps"
    start: int = 0
    default_mode = "steps"
    allowed = ("steps",)
    kind_axis = False
    units = "count"
    long_name = "spike count per step"

    def check(self, prog):
        super().check(prog)
        if prog.poisson_col is None:
            raise ConfigError("Spikes needs Poisson neurons in the network")

    def value(self, view):
        return view.spikes(self._idx(view.n))

    def dtype(self, prog):
        return jnp.int8


@_pytree(())
@dataclass(frozen=True)
class Overlaps(Probe):
    """Overlaps m_μ = s Σ_j G_jμ a_j of the activity per unit time (Eq. 8): rates φ(x) (Hz),
    spikes n/dt (Hz) or states S; the first ``modes`` of them (default all). dims ``(mode,)``."""

    modes: int | None = None
    network: int | None = None
    mode: str = "mean"
    start: int = 0
    long_name = "overlap m_μ"

    def _k(self, prog):
        return prog.p if self.modes is None else min(int(self.modes), prog.p)

    def check(self, prog):
        super().check(prog)
        if self.modes is not None and (
            isinstance(self.modes, bool) or not isinstance(self.modes, int) or self.modes < 0
        ):
            raise ConfigError(f"Overlaps: modes must be an integer ≥ 0, got {self.modes!r}")
        if self.mode == "sample":
            raise ConfigError("Overlaps are averaged over steps: use mode 'mean' or 'average'")

    def dims(self, prog):
        return ("mode",)

    def coords(self, prog):
        return {"mode": np.arange(self._k(prog))}

    def value(self, view):
        return view.overlaps(self._k(view.prog))


@_pytree(())
@dataclass(frozen=True)
class PopulationRates(Probe):
    """Mean activity per unit time of each population (Hz for leaky kinds, mean S for
    binary). dims ``(population,)``."""

    populations: tuple = ("all",)
    network: int | None = None
    mode: str = "mean"
    start: int = 0
    long_name = "population rate"

    @property
    def units(self):
        return "Hz"

    def check(self, prog):
        super().check(prog)
        if self.mode == "sample":
            raise ConfigError("PopulationRates are averaged over steps: use 'mean' or 'average'")
        for p in self.populations:
            prog.populations.check(p)

    def dims(self, prog):
        return ("population",)

    def coords(self, prog):
        return {"population": list(self.populations)}

    def value(self, view):
        return view.pop_rates(tuple(self.populations))


@_pytree(())
@dataclass(frozen=True)
class Readout(Probe):
    """z = W_outᵀ a with the network's readout vectors: a = φ(x) (rate), n/dt (Poisson: the
    spike-count analogue), S (binary). dims ``(output,)``. In sample mode a = φ(x) or φ(h)."""

    network: int | None = None
    mode: str = "mean"
    start: int = 0
    long_name = "readout z"

    def check(self, prog):
        super().check(prog)
        if not prog.has_readout:
            raise ConfigError("Readout needs readout vectors: give Network(readout=W_out)")

    def dims(self, prog):
        return ("output",)

    def coords(self, prog):
        return {"output": np.arange(prog.n_outputs)}

    def value(self, view):
        return view.readout()


@_pytree(("basis",))
@dataclass(frozen=True)
class Projection(Probe):
    """κ̂ = Bᵀ v: the potentials projected on the columns of ``basis`` B (N × D), e.g. the
    latent variables κ of a low-rank network with h_i = Σ_μ f_μ(z_i) κ_μ (use
    :meth:`least_squares` for B = F (FᵀF)⁻¹). dims ``(component,)``. Default mode: sample."""

    basis: object = None
    network: int | None = None
    mode: str = "sample"
    start: int = 0
    default_mode = "sample"
    long_name = "projection on a basis"

    @staticmethod
    def least_squares(F, **kw) -> Projection:
        """The projection whose κ̂ solves min ‖v − F κ‖ (B = F (FᵀF)⁻¹)."""
        F = np.asarray(F, np.float64)
        return Projection(basis=F @ np.linalg.inv(F.T @ F), **kw)

    def check(self, prog):
        super().check(prog)
        s = jnp.shape(self.basis)
        if len(s) != 2 or s[0] != prog.n:
            raise ConfigError(f"Projection: basis must be an (N, D) = ({prog.n}, D) array, got {s}")

    def dims(self, prog):
        return ("component",)

    def coords(self, prog):
        return {"component": np.arange(jnp.shape(self.basis)[1])}

    def value(self, view):
        return view.project(self.basis)


@_pytree(())
@dataclass(frozen=True)
class Distance(Probe):
    """Population mean of |v_a − v_b| between two paired columns (default the first two kinds:
    the RNN's x and the SNN's h; the paper's Δ, after Eq. 12). dims ``(population,)``."""

    populations: tuple = ("all",)
    pair: tuple = (0, 1)
    mode: str = "mean"
    start: int = 0
    kind_axis = False
    long_name = "population mean of |h − x|"

    def check(self, prog):
        super().check(prog)
        _check_pair(self.pair, prog, "Distance")
        if self.mode == "sample":
            raise ConfigError("Distance is averaged over steps: use 'mean' or 'average'")
        for p in self.populations:
            prog.populations.check(p)

    def dims(self, prog):
        return ("population",)

    def coords(self, prog):
        return {"population": list(self.populations)}

    def value(self, view):
        return view.distance(tuple(self.populations), tuple(self.pair))


@_pytree(("neurons",))
@dataclass(frozen=True)
class NeuronDistance(_NeuronProbe):
    """|v_a − v_b| of single ``neurons`` between two paired columns; default mode ``average``
    (time average after ``start``: the per-neuron distance of SM Sec. V). dims ``(neuron,)``."""

    neurons: object = None
    pair: tuple = (0, 1)
    mode: str = "average"
    start: int = 0
    default_mode = "average"
    kind_axis = False
    long_name = "|h_i − x_i|"

    def check(self, prog):
        super().check(prog)
        _check_pair(self.pair, prog, "NeuronDistance")

    def value(self, view):
        return view.neuron_distance(self._idx(view.n), tuple(self.pair))


def _check_pair(pair, prog, what):
    K = len(prog.kinds)
    if (
        len(pair) != 2
        or any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < K for i in pair)
        or pair[0] == pair[1]
    ):
        raise ConfigError(
            f"{what} compares two paired columns: pair must be two distinct kind indices in "
            f"[0, {K}); this network has kinds {[k.name for k in prog.kinds]}"
        )
    if not all(prog.kinds[i].leaky for i in pair):
        raise ConfigError(f"{what} needs two leaky (rate/Poisson) columns")


def check_probes(probes, prog) -> dict:
    """Validate a dict name → Probe against a program; returns it as a plain dict."""
    if not isinstance(probes, dict):
        raise ConfigError("probes must be a dict name → Probe (e.g. {'m': lowdim.Overlaps()})")
    for name, pr in probes.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"probe names must be non-empty strings, got {name!r}")
        if not isinstance(pr, Probe):
            raise ConfigError(f"probe {name!r} is not a lowdim probe: {pr!r}")
        try:
            pr.check(prog)
        except ConfigError as e:
            raise ConfigError(f"probe {name!r}: {e}") from None
    return dict(probes)
