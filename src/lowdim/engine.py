"""The driver around the pure solve: chunks, memory check, progress, checkpoints, records.

:func:`run` advances a :class:`~lowdim.network.Network` with the same program as
:func:`lowdim.solve` (bitwise the same numbers), but in jitted chunks of record intervals:

- the memory a run needs (loadings, state, temporaries, the records it keeps) is estimated and
  checked *before* anything is allocated, with a message that says what to change;
- a progress bar (rich; a line every ~10 % in logs) with steps/s and ETA;
- a chunk is compiled once ahead of the loop (its compile time is reported apart from the loop
  time) and reused across runs that differ only in arrays (seeds, loadings, inputs, indices);
- optional checkpoints: the state and the records so far, written atomically every
  ``checkpoint_every`` seconds; the same call after an interruption resumes and ends bitwise
  equal to an uninterrupted run (every draw is keyed by the global step index);
- records are streamed to ``on_chunk`` and/or kept, and returned as an ``xarray.Dataset`` with
  named dimensions, units and provenance.

The paper's network has its own front end, :func:`simulate`, which builds its description from a
:class:`~lowdim.config.RunConfig` (:mod:`lowdim.models.paper`) and returns the dataset the paper's
figures use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from .errors import ConfigError, MemoryBudgetError
from .network import Network
from .solve import Grid, Program, float64, stream_keys

__all__ = [
    "run",
    "simulate",
    "simulate_events",
    "estimate_memory",
    "memory_parts",
    "available_memory",
    "check_memory",
    "Progress",
]


# ----------------------------------------------------------------------------- memory
def available_memory() -> int:
    """Bytes available on the default device (GPU: free device memory; CPU: MemAvailable)."""
    dev = jax.devices()[0]
    if dev.platform != "cpu":
        stats = dev.memory_stats() or {}
        if "bytes_limit" in stats:
            return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))  # pragma: no cover


def _record_bytes(prog: Program) -> tuple[int, int]:
    """(bytes per record interval of all trace probes, bytes of the averages), as float64."""
    per, avg = 0, 0
    for pr in prog.probes.values():
        size = int(np.prod(_probe_shape(prog, pr)))
        if pr.mode == "average":
            avg += 8 * size
        elif pr.mode == "steps":
            per += size * prog.grid.record_every * 9  # int8 counts and their sparse list
        else:
            per += 8 * size
    return per, avg


def _probe_shape(prog, pr) -> tuple:
    """Per-record shape of a probe's value (K, B, *dims) or (B, *dims), without running it."""
    dims = []
    for d in pr.dims(prog):
        c = pr.coords(prog).get(d)
        dims.append(len(c) if c is not None else 1)
    lead = (prog.K, prog.B) if pr.has_kind_axis() else (prog.B,)
    return lead + tuple(dims)


def _program_of(target) -> tuple[Program, dict | None]:
    """A Program from a Program or a paper RunConfig (with the paper's CLI hints)."""
    if isinstance(target, Program):
        return target, None
    from .config import RunConfig

    if isinstance(target, RunConfig):
        from .models import paper as paper_mod

        spec = paper_mod.paper_network(target.validated())
        prog = Program(spec.net, spec.grid, spec.probes, layout=spec.layout)
        return prog, paper_mod.MEMORY_HINTS
    raise ConfigError(
        f"expected a lowdim.RunConfig or a solve Program, got {type(target).__name__}"
    )


def estimate_memory(target, keep_records: bool = True, per_device: bool = False) -> int:
    """Peak bytes of a run (a :class:`RunConfig` of the paper's network, or a Program); see
    :func:`memory_parts`."""
    return memory_parts(_program_of(target)[0], keep_records, per_device)["total"]


def memory_parts(prog: Program, keep_records: bool = True, per_device: bool = False) -> dict:
    """Peak bytes of a run, by part: loadings, state and temporaries, records, total.

    Stored loadings: F and G in the storage dtype plus one placement copy (O(N p)); procedural:
    one block of regenerated rows per device (O(N) overall). The state and per-step
    temporaries grow with the number of columns (kinds × trials). ``per_device`` divides the
    sharded parts by the device count (what one GPU must hold).
    """
    item = jnp.dtype(prog.dtype).itemsize
    sb = prog.storage.itemsize
    n, p, d = prog.n_pad, prog.p, prog.devices
    if prog.procedural:
        loadings = 6 * prog.block_rows * p * item * d
    else:
        loadings = 3 * n * p * sb + 4 * 16 * 1024 * p * item
        if prog.tiled:
            loadings += 2 * prog.block_rows * p * sb * d
    explicit = sum(
        n * e[3]["width"] * item for e in prog.inputs if e[0] == "term" and e[3]["kind"] == "array"
    )
    if prog.method == "event":
        from .event import memory_bytes

        state = prog.B * memory_bytes(prog) + explicit
    else:
        c = len(prog.along) * prog.B
        state = n * item * (6 + 9 * prog.Qp + 2 * c) + explicit
        if prog.grid.scheme == "rk4":  # four stage derivatives and a stage state per column
            state += 5 * n * item * prog.Qp
    per, avg = _record_bytes(prog)
    records = (2 * per * prog.grid.records if keep_records else 2 * per) + avg
    sharded = loadings + state
    if per_device and d > 1:
        sharded = -(-sharded // d)
    return {"loadings": loadings, "state": state, "records": records, "total": sharded + records}


def check_memory(target, keep_records: bool = True, hints: dict | None = None) -> None:
    """Raise MemoryBudgetError, saying what to change, if the run (a Program, or a RunConfig of
    the paper's network) cannot fit."""
    prog, paper_hints = _program_of(target)
    hints = hints or paper_hints
    cpu = jax.devices()[0].platform == "cpu"  # host devices share one memory
    est = memory_parts(prog, keep_records, per_device=not cpu)
    have = available_memory()
    if est["total"] <= 0.9 * have:
        return
    hints = {
        "neurons": "the number of neurons or the rank",
        "records": "record fewer neurons, record less often, or shorten the run",
        "procedural": "procedural loadings (O(N) memory)",
        "storage": "bfloat16 storage of the loadings",
        "devices": "more devices",
        **(hints or {}),
    }
    parts = {"records": est["records"], "loadings": est["loadings"], "state": est["state"]}
    big = max(parts, key=parts.get)
    gib = 2**30
    where = f"{' per device' if not cpu and prog.devices > 1 else ''}"
    detail = ", ".join(f"{k} {v / gib:.1f}" for k, v in parts.items())
    if big == "records":
        advice = f"the records are what is large: {hints['records']}"
    else:
        advice = f"reduce {hints['neurons']}"
        if not prog.procedural and prog.sampler is not None:
            advice += f", use {hints['procedural']}"
        if prog.storage.itemsize > 2:
            advice += f", use {hints['storage']}"
        if not cpu:
            advice += f", or shard over {hints['devices']}"
    raise MemoryBudgetError(
        f"this run needs about {est['total'] / gib:.1f} GiB ({detail} GiB) but "
        f"{have / gib:.1f} GiB is available{where}; {advice}"
    )


# ----------------------------------------------------------------------------- compile cache
_EXECUTABLES: dict = {}
_CACHE_SIZE = 16


def _advance(prog, n_records, state, P, probes, keys, start):
    return prog.advance(state, P, probes, keys, start, n_records)


_advance_jit = jax.jit(_advance, static_argnums=(0, 1))
_prepare_jit = jax.jit(lambda prog, net: prog.prepare(net), static_argnums=(0,))
_init_jit = jax.jit(lambda prog, P, keys: prog.init_state(P, keys), static_argnums=(0,))


def compiled_chunk(prog: Program, n_records: int, state, P, probes, keys):
    """The chunk executable of ``prog`` for ``n_records`` record intervals, compiled ahead of
    time and kept (at most 16) for runs that differ only in array values."""
    shapes = jax.tree_util.tree_map(
        lambda a: (jnp.shape(a), str(jnp.result_type(a)), str(getattr(a, "sharding", ""))),
        (state, P, probes, keys),
    )
    key = (
        prog,
        n_records,
        json.dumps(jax.tree_util.tree_leaves(shapes), default=str),
        jax.config.jax_enable_x64,
    )
    if key not in _EXECUTABLES:
        if len(_EXECUTABLES) >= _CACHE_SIZE:
            _EXECUTABLES.pop(next(iter(_EXECUTABLES)))
        start = jnp.int32(0)
        _EXECUTABLES[key] = _advance_jit.lower(
            prog, n_records, state, P, probes, keys, start
        ).compile()
    return _EXECUTABLES[key]


def records_per_chunk(prog: Program, max_steps: int | None = None) -> int:
    """A divisor of the number of records giving chunks of roughly 2·10⁸ neuron-steps (few
    compilations, a progress update every few seconds), at most ``max_steps`` steps."""
    g = prog.grid
    work = prog.n * (prog.p + 4) * max(1, prog.Q // 2)
    if prog.method == "event":
        work = max(1, work // 50)
    target_steps = max(g.record_every, min(2000, int(2e8 / work)))
    if max_steps is not None:
        target_steps = min(target_steps, max_steps)
    target = max(1, target_steps // g.record_every)
    best = 1
    for d in range(1, min(g.records, target) + 1):
        if g.records % d == 0:
            best = d
    return best


# ----------------------------------------------------------------------------- the run
def _describe(obj) -> str:
    """A stable text of a description's static parts (callables by qualified name)."""
    if callable(obj) and not hasattr(obj, "__dataclass_fields__"):
        return (
            f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', type(obj).__name__)}"
        )
    if hasattr(obj, "__dataclass_fields__"):
        inner = ",".join(f"{k}={_describe(getattr(obj, k))}" for k in obj.__dataclass_fields__)
        return f"{type(obj).__name__}({inner})"
    if isinstance(obj, tuple | list):
        return "(" + ",".join(_describe(x) for x in obj) + ")"
    if isinstance(obj, dict):
        return "{" + ",".join(f"{k}:{_describe(v)}" for k, v in sorted(obj.items())) + "}"
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        a = np.asarray(obj)
        return (
            f"array{a.shape}{a.dtype}:"
            + hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]
        )
    return repr(obj)


def identity_of(net, grid, probes, method, layout, seed_text) -> str:
    """SHA-256 of everything that defines a run's numbers (for checkpoints and reruns)."""
    parts = [
        _describe(net),
        _describe(grid),
        _describe(probes),
        str(method),
        _describe(layout),
        seed_text,
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _run_raw(
    net: Network,
    grid: Grid,
    probes: dict,
    *,
    key=None,
    seeds=None,
    method="auto",
    layout=None,
    block=None,
    progress=False,
    checkpoint=None,
    checkpoint_every=300.0,
    checkpoint_steps=None,
    on_chunk=None,
    keep_records=True,
    identity=None,
    memory_hints=None,
    prog=None,
):
    """The chunk loop; returns (prog, traces (NumPy, or None), averages (NumPy), timing)."""
    from . import checkpoint as ckpt

    t0 = time.perf_counter()
    if checkpoint_steps is not None and (
        isinstance(checkpoint_steps, bool)
        or not isinstance(checkpoint_steps, int)
        or checkpoint_steps < 1
    ):
        raise ConfigError(f"checkpoint_steps must be a positive integer, got {checkpoint_steps!r}")
    if checkpoint_every is not None and (
        isinstance(checkpoint_every, bool)
        or not isinstance(checkpoint_every, int | float)
        or not checkpoint_every >= 0
    ):
        raise ConfigError(f"checkpoint_every must be seconds ≥ 0 or None, got {checkpoint_every!r}")
    if not keep_records and checkpoint is not None:
        raise ConfigError("checkpoints keep the records; use keep_records=True with checkpoint")
    prog = prog or Program(net, grid, probes, method=method, layout=layout, block=block)
    check_memory(prog, keep_records, memory_hints)
    rpc = records_per_chunk(prog, checkpoint_steps)
    n_chunks = grid.records // rpc
    keys = stream_keys(jax.random.PRNGKey(0) if key is None else key, net.batch, seeds)
    saver, pieces, first, wall_before, resumed = None, [], 0, 0.0, None
    if checkpoint is not None:
        if identity is None:
            identity = identity_of(net, grid, probes, prog.method, prog.layout, _describe(keys))
        saver = ckpt.Checkpointer(checkpoint, identity, rpc, n_chunks)
        resumed = saver.load()
    P = prog.placement(_prepare_jit(prog, net))
    state = _init_jit(prog, P, keys)
    if resumed is not None:
        leaves, pieces, first, wall_before = resumed
        state = ckpt.restore(state, leaves, checkpoint)
        state = jax.tree_util.tree_map(
            lambda new, old: jax.device_put(new, old.sharding), state, _init_jit(prog, P, keys)
        )
    compile_seconds = loop_seconds = 0.0
    if first < n_chunks:
        with Progress(grid.steps, enabled=progress) as bar:
            bar.phase("compiling")  # the bar says so while XLA compiles the chunk
            tc = time.perf_counter()
            chunk = compiled_chunk(prog, rpc, state, P, probes, keys)
            compile_seconds = time.perf_counter() - tc
            bar.phase("simulating")
            t_loop = time.perf_counter()
            last_save = time.perf_counter()
            bar.advance(first * rpc * grid.record_every)
            for c in range(first, n_chunks):
                start = jnp.int32(c * rpc * grid.record_every)
                state, rec = chunk(state, P, probes, keys, start)
                rec = jax.tree_util.tree_map(np.asarray, rec)
                if on_chunk is not None:
                    on_chunk(rec, c * rpc)
                if keep_records:
                    pieces.append(rec)
                bar.advance(rpc * grid.record_every)
                now = time.perf_counter()
                due = checkpoint_steps is not None or (
                    checkpoint_every is not None and now - last_save >= checkpoint_every
                )
                if saver is not None and c + 1 < n_chunks and due:
                    saver.save(state, pieces, c + 1, wall_before + now - t0)
                    last_save = time.perf_counter()
        jax.block_until_ready(state)
        loop_seconds = time.perf_counter() - t_loop
    traces = ckpt.concat(pieces) if keep_records and pieces else ({} if keep_records else None)
    averages = jax.tree_util.tree_map(np.asarray, prog.averages(state))
    wall = wall_before + time.perf_counter() - t0
    if saver is not None:
        saver.save(state, pieces, n_chunks, wall)
    timing = {
        "wall_seconds": wall,
        "compile_seconds": compile_seconds,
        "loop_seconds": loop_seconds,
    }
    return prog, traces, averages, timing


def run(
    net: Network,
    grid: Grid,
    probes: dict,
    *,
    key=None,
    seed: int | None = None,
    seeds=None,
    method="auto",
    layout=None,
    block=None,
    progress: bool = False,
    checkpoint=None,
    checkpoint_every: float | None = 300.0,
    checkpoint_steps: int | None = None,
    on_chunk=None,
    keep_records: bool = True,
):
    """Run ``net`` on ``grid`` with the driver; return an ``xarray.Dataset`` of the probes.

    Same numbers as :func:`lowdim.solve` with the same arguments. ``key`` (or ``seed``) as in
    ``solve``; ``method``, ``layout``, ``block`` as in :class:`lowdim.solve.Program`.
    ``on_chunk(records, first_record)`` receives each chunk's records (NumPy, raw axis order
    (T, networks, trials, ...)); with ``keep_records=False`` only averages are returned.
    ``checkpoint=PATH`` writes the state atomically every ``checkpoint_every`` seconds (and/or
    every ``checkpoint_steps`` steps); the same call after an interruption resumes from it.

    Dataset: one variable per probe with dims ``(trial?, time, network?, *dims)`` (averages:
    without ``time``), units in ``attrs["units"]``; spikes as lists ``<name>_time``,
    ``<name>_neuron`` (and ``<name>_trial``); attributes: grid, kinds, method, layout, timings,
    versions, backend and the identity hash of the run.
    """
    if not isinstance(net, Network):
        raise ConfigError(f"run needs a lowdim.Network, got {type(net).__name__}")
    if not isinstance(grid, Grid):
        raise ConfigError(f"run needs a lowdim.Grid, got {type(grid).__name__}")
    if checkpoint is not None:  # a path that cannot be written fails now, not after the run
        from .preflight import check_checkpoint_path

        checkpoint = check_checkpoint_path(checkpoint, "checkpoint")
    if key is None:
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32
        ):
            raise ConfigError(f"seed must be an integer in [0, 2³²), got {seed!r}")
        key = jax.random.PRNGKey(seed or 0)
    ctx = float64() if net.dtype == "float64" else contextlib.nullcontext()
    with ctx:
        prog, traces, averages, timing = _run_raw(
            net,
            grid,
            probes,
            key=key,
            seeds=seeds,
            method=method,
            layout=layout,
            block=block,
            progress=progress,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            checkpoint_steps=checkpoint_steps,
            on_chunk=on_chunk,
            keep_records=keep_records,
        )
        from .record import dataset_of_run

        return dataset_of_run(prog, traces, averages, timing)


class Progress:
    """A rich progress bar with steps/s and ETA; a line every ~10 % when stderr is not a terminal
    (logs); a no-op when disabled. :meth:`phase` relabels it (e.g. "compiling" while XLA
    compiles, then "simulating"); rate and ETA count from the last phase change."""

    def __init__(self, total: int, enabled: bool, label: str = "simulating", unit: str = "steps"):
        self.total, self.enabled, self.label, self.unit = total, enabled, label, unit
        self._p = None

    def __enter__(self):
        import sys

        self._t0 = time.perf_counter()
        self._lines = self.enabled and not sys.stderr.isatty()
        self._done, self._next = 0, self.total / 10
        if self.enabled and not self._lines:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self._p = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.completed}/{task.total} " + self.unit),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                transient=False,
                console=Console(stderr=True),
            )
            self._p.__enter__()
            self._task = self._p.add_task(self.label, total=self.total, rate="")
            self._t0 = time.perf_counter()
        return self

    def phase(self, label: str) -> None:
        """Show ``label`` (e.g. "compiling"); rate and ETA restart from now."""
        self.label = label
        self._t0 = time.perf_counter()
        if self._lines:
            import sys

            print(f"{label} …", file=sys.stderr, flush=True)
        if self._p is not None:
            self._p.update(self._task, description=label, rate="")

    def advance(self, n):
        self._done += n
        if self._lines and n and (self._done >= self._next or self._done == self.total):
            import sys

            el = time.perf_counter() - self._t0
            rate = self._done / max(el, 1e-9)
            eta = (self.total - self._done) / max(rate, 1e-9)
            print(
                f"{self.label}: {self._done}/{self.total} {self.unit}, {rate:,.0f} {self.unit}/s, "
                f"ETA {eta:,.0f} s",
                file=sys.stderr,
                flush=True,
            )
            self._next = self._done + self.total / 10
        if self._p is not None:
            done = self._p.tasks[0].completed + n
            rate = done / max(time.perf_counter() - self._t0, 1e-9)
            self._p.update(self._task, advance=n, rate=f"{rate:,.0f} {self.unit}/s")

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)
        return False


_Progress = Progress  # the name used by earlier code


# ----------------------------------------------------------------------------- the paper
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
    method: str = "dense",
    block: int | None = None,
):
    """Run the paper's paired (or single) network described by ``cfg``; return its dataset.

    ``cfg`` is a :class:`~lowdim.config.RunConfig` (or what :func:`lowdim.config_of` returns);
    ``connectivity`` defaults to the paper's (Eq. 7) from ``cfg.seed``; pass a
    :class:`~lowdim.connectivity.LowRank` for custom loadings (N, p as in ``cfg``). The network
    is built by :func:`lowdim.models.paper.paper_network` and run by :func:`run`'s loop.

    Streaming: ``record_indices`` chooses the recorded neurons; ``on_chunk(records, first)`` is
    called after every chunk with its records (NumPy, keyed as the dataset's raw records: ``x``,
    ``h`` (records, neurons), ``m_rnn``, ``rate_rnn``, …) and the index of its first record
    interval; with ``keep_records=False`` the records are not kept and the dataset holds only
    the summary attributes and the per-neuron distances. Checkpoints: see :func:`run`.
    ``method="event"`` runs an SNN-only config event-driven (:mod:`lowdim.event`).
    """
    from .models import paper as paper_mod
    from .preflight import simulate_inputs
    from .record import paper_dataset

    # every argument and the checkpoint path are checked before any work (lowdim.preflight)
    cfg, connectivity, record_indices, checkpoint = simulate_inputs(
        cfg,
        connectivity,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        checkpoint_steps=checkpoint_steps,
        record_indices=record_indices,
        on_chunk=on_chunk,
        keep_records=keep_records,
        method=method,
        block=block,
    )
    spec = paper_mod.paper_network(cfg, connectivity, record_indices=record_indices, method=method)
    ctx = float64() if cfg.dtype == "float64" else contextlib.nullcontext()
    with ctx:
        raw_cb = None
        if on_chunk is not None:
            raw_cb = lambda rec, first: on_chunk(paper_mod.legacy_records(spec, rec), first)  # noqa: E731
        prog, traces, averages, timing = _run_raw(
            spec.net,
            spec.grid,
            spec.probes,
            key=jax.random.PRNGKey(cfg.seed),
            seeds=spec.seeds(),
            method=spec.method,
            layout=spec.layout,
            block=block,
            progress=progress,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            checkpoint_steps=checkpoint_steps,
            on_chunk=raw_cb,
            keep_records=keep_records,
            identity=spec.identity(),
            memory_hints=paper_mod.MEMORY_HINTS,
        )
        records = paper_mod.legacy_records(spec, traces) if keep_records else None
        ds = paper_dataset(spec, prog, records, averages, timing["wall_seconds"])
    ds.attrs["compile_seconds"] = timing["compile_seconds"]
    ds.attrs["loop_seconds"] = timing["loop_seconds"]
    if block is not None:
        ds.attrs["block"] = block  # the event method's candidate buffer (a rerun uses it again)
    return ds


def simulate_events(cfg, connectivity=None, *, progress: bool = False, block: int | None = None):
    """The SNN of ``cfg`` (``networks="snn"``) with the event-driven method (:mod:`lowdim.event`).

    Same variables, units and random numbers as :func:`simulate` with ``networks="snn"``
    (so the same spike trains up to floating-point ties between the two summation orders).
    ``block`` is the candidate buffer size (any size samples the same law)."""
    from .config import RunConfig

    if isinstance(cfg, RunConfig) and cfg.networks != "snn":
        raise ConfigError(
            f"the event-driven path runs the SNN only (networks = 'snn'), got {cfg.networks!r}; "
            "the paired run and the distance Δ need the RNN's dense pass: use lowdim.simulate"
        )
    ds = simulate(cfg, connectivity, progress=progress, method="event", block=block)
    ds.attrs.update(title="lowdim event-driven SNN run", method="event")
    return ds
