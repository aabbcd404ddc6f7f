"""The paper's run: :func:`simulate` = :func:`lowdim.run` of :func:`~lowdim.paper.paper_network`
plus the paper's attributes (:mod:`lowdim.paper.dataset`); memory estimates of a RunConfig."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import engine
from ..errors import MemoryBudgetError
from ..io import human_bytes
from ..solve import Program
from .config import RunConfig
from .dataset import paper_dataset
from .network import MEMORY_HINTS, paper_network

__all__ = [
    "simulate",
    "estimate_memory",
    "check_memory",
    "program_of",
    "cost",
    "describe_cost",
    "is_large",
    "LARGE",
]

#: a run is "large" (its estimate is printed before it starts) from this much memory or work
#: (element-steps: N · p · steps, about a minute or more of CPU time)
LARGE = {"bytes": 2**30, "steps": 10**6, "element_steps": 10**11}


def simulate(
    cfg,
    connectivity=None,
    *,
    progress: bool = False,
    checkpoint=None,
    checkpoint_every: float | None = 300.0,
    checkpoint_steps: int | None = None,
    record_indices=None,
    on_chunk=None,
    keep_records: bool = True,
    method: str | None = None,
    block: int | None = None,
    on_plan=None,
):
    """Run the paper's paired (or single) network described by ``cfg``; return its dataset.

    ``cfg`` is a :class:`~lowdim.paper.RunConfig` (or what :func:`lowdim.config_of` returns);
    ``connectivity`` defaults to the paper's (Eq. 7) from ``cfg.seed``; pass a
    :class:`~lowdim.connectivity.LowRank` for custom loadings (N, p as in ``cfg``). The network
    is built by :func:`~lowdim.paper.paper_network` and run by :func:`lowdim.run`.

    Streaming: ``record_indices`` chooses the recorded neurons; ``on_chunk(records, first)`` is
    called after every chunk with its records (NumPy, keyed as the dataset's variables: ``x``,
    ``h`` (records, neurons), ``m_rnn``, ``rate_rnn``, ``distance``, …; spike counts per step
    under ``spike``) and the index of its first record interval; with ``keep_records=False``
    the records are not kept and the dataset holds only the summary attributes and the
    per-neuron distances. Checkpoints and ``on_plan``: see :func:`lowdim.run`.
    ``method`` (default: the config's, ``"auto"``): ``"event"`` runs an SNN-only config
    (``networks="snn"``) event-driven (:mod:`lowdim.event`; the same random numbers, so the same
    spike trains up to floating-point ties), ``"dense"`` every neuron every step, ``"auto"``
    the event method where it is exact and cheaper (the SNN alone; the rule of
    :func:`lowdim.run`, ``Program._event_pays``), dense otherwise; ``attrs["method"]`` says
    which ran. ``block`` is the event method's candidate buffer (any size samples the same law).
    """
    spec = paper_network(cfg, connectivity, record_indices=record_indices, method=method)
    try:
        ds = engine.run(
            spec.net,
            spec.grid,
            spec.probes,
            key=jax.random.PRNGKey(spec.cfg.seed),
            seeds=spec.seeds(),
            method=spec.method,
            layout=spec.layout,
            block=block,
            progress=progress,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            checkpoint_steps=checkpoint_steps,
            on_chunk=on_chunk,
            keep_records=keep_records,
            on_plan=on_plan,
        )
    except MemoryBudgetError as e:  # what to change, in the command line's words
        raise MemoryBudgetError(e.advice(MEMORY_HINTS)) from None
    return paper_dataset(spec, ds, block)


def program_of(cfg) -> Program:
    """The planned Program of the paper run ``cfg`` (for estimates; a run plans its own)."""
    spec = paper_network(cfg)
    return Program(spec.net, spec.grid, spec.probes, method=spec.method, layout=spec.layout)


def _program(target) -> Program:
    return target if isinstance(target, Program) else program_of(target)


def estimate_memory(target, keep_records: bool = True, per_device: bool = False) -> int:
    """Peak bytes of a run: ``target`` a paper :class:`RunConfig` or a planned Program
    (:func:`lowdim.engine.memory_parts`)."""
    return engine.estimate_memory(_program(target), keep_records, per_device)


def check_memory(target, keep_records: bool = True) -> None:
    """MemoryBudgetError, saying what to change in the command line's words, if the paper run
    ``target`` (a :class:`RunConfig`, or its Program) cannot fit."""
    try:
        engine.check_memory(_program(target), keep_records)
    except MemoryBudgetError as e:
        raise MemoryBudgetError(e.advice(MEMORY_HINTS)) from None


def cost(target, per_device: bool | None = None) -> dict:
    """What a run needs (``target``: the paper run's RunConfig, or the planned Program of any
    run), estimated without allocating: steps, N·p·steps, memory in bytes by part (loadings,
    state, records, total; :func:`lowdim.engine.memory_parts`), the bytes its records take on
    disk (run.nc, upper estimate: float64) and the memory available."""
    prog = _program(target)
    cpu = jax.devices()[0].platform == "cpu"
    per = (not cpu) if per_device is None else per_device
    parts = engine.memory_parts(prog, True, per_device=per)
    return {
        "steps": prog.grid.steps,
        "records": prog.grid.records,
        "element_steps": prog.grid.steps * prog.n * prog.p,
        "memory": parts,
        # the records once, in the run's dtype (memory_parts counts two float64 copies)
        "disk": parts["records"] * jnp.dtype(prog.dtype).itemsize // 16 + 16 * 1024,
        "available": engine.available_memory(),
    }


def describe_cost(cfg: RunConfig, c: dict) -> str:
    """One line: steps, memory by part, results on disk (printed before a large run)."""
    b = human_bytes
    m = c["memory"]
    return (
        f"estimate: {c['steps']:,} steps of dt = {cfg.dt:g} s ({c['steps'] * cfg.dt:g} s "
        f"simulated), N = {cfg.neurons:,}, p = {cfg.p}; memory ≈ {b(m['total'])} (loadings "
        f"{b(m['loadings'])}, state {b(m['state'])}, records {b(m['records'])}) of "
        f"{b(c['available'])} available; results on disk ≈ {b(c['disk'])}"
    )


def is_large(c: dict) -> bool:
    return (
        c["memory"]["total"] >= LARGE["bytes"]
        or c["disk"] >= LARGE["bytes"]
        or c["steps"] >= LARGE["steps"]
        or c["element_steps"] >= LARGE["element_steps"]
    )
