"""The paper's network as one description (Eqs. 1, 2, 7, 9; SM Secs. V, VI).

:func:`paper_network` turns a flat :class:`~lowdim.paper.RunConfig` (the TOML/CLI front end)
into a :class:`~lowdim.network.Network`, a grid, probes and a layout:

- loadings: the seeded :func:`~lowdim.procedural.paper_sampler` (F = ξ, G = φ(ξ) − a,
  s = 1/(cN)), stored or procedural, or the arrays of a given connectivity;
- kinds: ``networks`` = "both" → (Rate(φ), Poisson(φ)), "rnn" → (Rate(φ),), "snn" → (Poisson(φ),);
- populations "in" (the first ``input_fraction`` of the neurons) and "rec";
- input (Eq. 9): ``Noise(σ, Along(1/√p), "in")``, or a constant/step drive to "in";
  membrane noise (SM VI) on "in"; feedforward topology (SM V): sources "in", targets "rec";
- probes, named as the dataset's variables (:mod:`lowdim.paper.dataset`): potentials ``x``
  (RNN) and ``h`` (SNN) of the recorded neurons, overlaps ``m_rnn``/``m_snn``, population rates
  ``rate_rnn``/``rate_snn`` (and their averages after burn-in, ``*_avg``), spikes ``spike``, the
  distance Δ per record interval ``distance`` and after burn-in ``distance_avg``, and the
  per-neuron distance ``distance_neuron``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

from .. import probes as pr
from ..grid import Grid, Layout
from ..network import Along, Drive, MembraneNoise, Network, Noise, Poisson, Rate
from ..procedural import paper_sampler
from ..solve import Program
from .preflight import paper_inputs

__all__ = ["paper_network", "PaperSpec", "Step", "Constant", "record_indices_of", "MEMORY_HINTS"]

#: what to change, in CLI words, when a paper run does not fit in memory
MEMORY_HINTS = {
    "neurons": "--neurons or --rank",
    "records": "shorten --duration, record fewer neurons (--record-neurons) or record less "
    "often (--record-dt)",
    "procedural": "--loadings procedural (O(N) memory)",
    "storage": "--loadings-dtype bfloat16",
    "devices": "more --devices",
}


@dataclass(frozen=True)
class Constant:
    """u(t) = level."""

    level: float

    def __call__(self, t):
        return self.level + 0.0 * t


@dataclass(frozen=True)
class Step:
    """u(t) = level for start ≤ t < stop, else 0; the boundaries are taken on the grid (half a
    step of tolerance, so that t = k dt rounded in float32 does not move them)."""

    level: float
    start: float
    stop: float
    dt: float

    def __call__(self, t):
        half = 0.5 * self.dt
        on = (t >= self.start - half) & (t < self.stop - half)
        return (on * self.level).astype(t.dtype)


def record_indices_of(cfg, neurons: int | None = None) -> np.ndarray:
    """The recorded neurons: ``cfg.record_neurons`` drawn without replacement from
    ``cfg.record_population``, sorted (NumPy generator seeded with (seed, 5))."""
    n = neurons or cfg.neurons
    pop = {"rec": (cfg.n_in, n), "in": (0, cfg.n_in), "all": (0, n)}[cfg.record_population]
    rng = np.random.default_rng([cfg.seed, 5])
    size = min(cfg.record_neurons, pop[1] - pop[0])
    return np.sort(pop[0] + rng.choice(pop[1] - pop[0], size=size, replace=False))


@dataclass
class PaperSpec:
    """A paper run as description + grid + probes + layout (and what its records need)."""

    cfg: object
    net: Network
    grid: Grid
    probes: dict
    layout: Layout
    method: str
    rec_idx: np.ndarray
    phi: object
    connectivity: object
    scale: float

    @property
    def rnn(self) -> bool:
        return self.cfg.networks in ("both", "rnn")

    @property
    def snn(self) -> bool:
        return self.cfg.networks in ("both", "snn")

    def seeds(self) -> dict:
        """Stream keys: the input from ``input_seed`` (default ``seed``), spikes and membrane
        noise from ``spike_seed`` (default ``seed``); loadings always from ``seed``."""
        cfg = self.cfg

        def stream(seed, i):
            s = cfg.seed if seed is None else seed
            return jax.random.fold_in(jax.random.PRNGKey(s), i)[None]

        return {
            "input": stream(cfg.input_seed, 2),
            "spikes": stream(cfg.spike_seed, 3),
            "membrane": stream(cfg.spike_seed, 4),
        }


def paper_network(
    cfg, connectivity=None, record_indices=None, method: str | None = None
) -> PaperSpec:
    """The description of the paper's run ``cfg`` (a RunConfig or the dict
    :func:`lowdim.config_of` returns; see the module docstring). Every input is checked here,
    once (:func:`~lowdim.paper.preflight.paper_inputs`)."""
    cfg, connectivity, record_indices = paper_inputs(cfg, connectivity, record_indices, method)
    n, p = cfg.neurons, cfg.p
    phi = cfg.phi()
    scale = 1.0 / (phi.c * n)
    rec_idx = record_indices if record_indices is not None else record_indices_of(cfg)
    kinds = {
        "both": (Rate(phi), Poisson(phi)),
        "rnn": (Rate(phi),),
        "snn": (Poisson(phi),),
    }[cfg.networks]
    inputs = []
    if cfg.input == "white_noise" and cfg.sigma > 0:
        inputs.append(Noise(cfg.sigma, Along(1.0 / math.sqrt(p)), "in", cfg.time_unit_seconds))
    elif cfg.input == "constant":
        inputs.append(Drive(Constant(float(cfg.input_level)), "uniform", "in"))
    elif cfg.input == "step":
        inputs.append(
            Drive(
                Step(float(cfg.input_level), cfg.step_start, cfg.step_stop, cfg.dt), "uniform", "in"
            )
        )
    if cfg.membrane_noise > 0:
        inputs.append(MembraneNoise(cfg.membrane_noise, "in", cfg.time_unit_seconds))
    ff = cfg.topology == "feedforward"
    common = dict(
        neurons=n,
        kinds=kinds,
        tau=cfg.tau,
        inputs=tuple(inputs),
        populations={"in": range(0, cfg.n_in), "rec": range(cfg.n_in, n)},
        sources="in" if ff else None,
        targets="rec" if ff else None,
        dtype=cfg.dtype,
    )
    if connectivity is None:
        net = Network(sampler=paper_sampler(p, phi, cfg.seed), scale=scale, **common)
    else:
        scale = float(connectivity.scale)
        net = Network(F=connectivity.F, G=connectivity.G, scale=scale, **common)
    grid = Grid(dt=cfg.dt, steps=cfg.n_steps, record_every=cfg.steps_per_record)
    burn = cfg.burn_steps
    k_ov = min(cfg.record_overlaps, p)
    idx = np.asarray(rec_idx, np.int32)
    probes = {}
    col = {k.name: i for i, k in enumerate(kinds)}
    pops = ("in", "rec")
    for kind, net_name in (("rate", "rnn"), ("poisson", "snn")):
        if kind in col:
            i = col[kind]
            probes["x" if kind == "rate" else "h"] = pr.Potentials(idx, network=i)
            probes[f"m_{net_name}"] = pr.Overlaps(k_ov, network=i)
            probes[f"rate_{net_name}"] = pr.PopulationRates(pops, network=i)
            probes[f"rate_{net_name}_avg"] = pr.PopulationRates(
                pops, network=i, mode="average", start=burn
            )
    if "poisson" in col:
        probes["spike"] = pr.Spikes(idx)
    if len(kinds) == 2:
        probes["distance"] = pr.Distance(pops)
        probes["distance_avg"] = pr.Distance(pops, mode="average", start=burn)
        probes["distance_neuron"] = pr.NeuronDistance(idx, start=burn)
    layout = Layout(
        loadings=cfg.loadings,
        storage=cfg.loadings_dtype,
        tile_rows=cfg.tile_rows,
        devices=cfg.devices,
    )
    return PaperSpec(
        cfg=cfg,
        net=net,
        grid=grid,
        probes=probes,
        layout=layout,
        method=cfg.method,
        rec_idx=np.asarray(rec_idx),
        phi=phi,
        connectivity=connectivity,
        scale=scale,
    )


def prepared(cfg, connectivity=None, method: str | None = None):
    """(spec, program, prepared arrays placed on the run's devices) of a paper run: what one
    step reads (F, Gᵀ or blocks, γ, masks), for inspection and tests."""
    spec = paper_network(cfg, connectivity, method=method)
    prog = Program(spec.net, spec.grid, spec.probes, method=spec.method, layout=spec.layout)
    P = prog.placement(jax.jit(prog.prepare)(spec.net))
    return spec, prog, P
