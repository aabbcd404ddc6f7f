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

The driver knows networks, grids and probes only: the paper's front end (:mod:`lowdim.paper`,
:func:`lowdim.simulate`) builds its network from a ``RunConfig`` and runs it here.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from . import checkpoint as ckpt
from . import threefry
from .errors import ConfigError, MemoryBudgetError
from .event import memory_bytes as event_memory_bytes
from .event import step_work as event_step_work
from .grid import Grid
from .network import Network
from .procedural import TILE_ROWS
from .record import dataset_of_run
from .solve import Program, float64, stream_keys

__all__ = [
    "run",
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


def estimate_memory(prog: Program, keep_records: bool = True, per_device: bool = False) -> int:
    """Peak bytes of a run of ``prog`` (a :class:`~lowdim.solve.Program`); see
    :func:`memory_parts`. (:func:`lowdim.estimate_memory` also takes a paper ``RunConfig``.)"""
    return memory_parts(prog, keep_records, per_device)["total"]


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
    explicit = sum(n * t.width * item for t in prog.terms if t.vectors == "array")
    if prog.method == "event":
        state = prog.B * event_memory_bytes(prog) + explicit
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


def check_memory(prog: Program, keep_records: bool = True) -> None:
    """Raise MemoryBudgetError, saying what to change, if a run of ``prog`` cannot fit. The
    error's :meth:`~lowdim.errors.MemoryBudgetError.advice` rephrases it in a front end's words
    (e.g. the command line's options)."""
    cpu = jax.devices()[0].platform == "cpu"  # host devices share one memory
    est = memory_parts(prog, keep_records, per_device=not cpu)
    have = available_memory()
    if est["total"] <= 0.9 * have:
        return

    def message(words: dict | None = None) -> str:
        return memory_advice(prog, have, keep_records, not cpu, words)

    raise MemoryBudgetError(message(), advice=message)


def memory_advice(prog: Program, have: int, keep_records=True, per_device=False, hints=None):
    """Why the run ``prog`` does not fit in ``have`` bytes and what would: each remedy
    (procedural loadings, bfloat16 storage, more devices when ``per_device``, fewer neurons) is
    applied to the estimate of :func:`memory_parts`, and only those whose run fits (in 90 % of
    ``have``) are suggested, with the device count or N that fits."""
    hints = {
        "neurons": "the number of neurons or the rank",
        "records": "record fewer neurons, record less often, or shorten the run",
        "procedural": "procedural loadings (O(N) memory)",
        "storage": "bfloat16 storage of the loadings",
        "devices": "more devices",
        **(hints or {}),
    }
    budget = 0.9 * have
    est = memory_parts(prog, keep_records, per_device)

    def fits(q) -> bool:
        if q.n != prog.n:  # the records (of the same neurons) stay as they are
            q.probes = {}
            return memory_parts(q, keep_records, per_device)["total"] + est["records"] <= budget
        return memory_parts(q, keep_records, per_device)["total"] <= budget

    gib = 2**30
    parts = {"records": est["records"], "loadings": est["loadings"], "state": est["state"]}
    big = max(parts, key=parts.get)
    short, advice = [], []  # remedies that would not be enough; those that fit
    if big == "records":
        advice.append(f"the records are what is large: {hints['records']}")
    if not prog.procedural and prog.sampler is not None:
        if fits(_variant(prog, procedural=True)):
            advice.append(f"use {hints['procedural']}")
        else:
            short.append("procedural loadings")
    if not prog.procedural and prog.storage.itemsize > 2:
        if fits(_variant(prog, storage=jnp.dtype("bfloat16"))):
            advice.append(f"use {hints['storage']}")
        else:
            short.append("bfloat16 storage")
    if per_device:
        k = _smallest(lambda k: fits(_variant(prog, devices=k)), prog.devices + 1, 2**16)
        if k is not None:
            flag = f" (--devices {k})" if "--devices" in hints["devices"] else ""
            advice.append(f"shard over {k} devices{flag}")
        else:
            short.append("more devices")
    if big != "records":
        n = _largest(lambda n: fits(_variant(prog, neurons=n)), 2, prog.n - 1)
        if n is not None:
            flag = f": --neurons {n} or fewer" if "--neurons" in hints["neurons"] else ""
            advice.append(f"use N ≤ {n:,} neurons at p = {prog.p}{flag}")
    where = " per device" if per_device and prog.devices > 1 else ""
    detail = ", ".join(f"{k} {v / gib:.1f}" for k, v in parts.items())
    why = ""
    if est["state"] > budget:  # why the loadings' remedies are not suggested
        why = f"the state alone ({est['state'] / gib:.1f} GiB) exceeds the memory; "
    if not advice:
        advice = ["free memory or use a machine with more"]
    if short:
        why += f"{' and '.join(short)} would not be enough; "
    return (
        f"this run needs about {est['total'] / gib:.1f} GiB ({detail} GiB) but "
        f"{have / gib:.1f} GiB is available{where}; {why}{'; or '.join(advice)}"
    )


def _variant(prog: Program, procedural=False, storage=None, devices=None, neurons=None):
    """A shallow copy of ``prog`` with a remedy applied, for :func:`memory_parts` only (its
    sizes: layout, block rows, padded N)."""
    q = copy.copy(prog)
    if procedural:
        q.procedural = q.tiled = True
    if storage is not None:
        q.storage = storage
    if devices is not None:
        q.devices = devices
    if neurons is not None:
        q.n = neurons
    if q.tiled:
        per_device = -(-q.n // q.devices)
        q.block_rows = prog.layout.tile_rows or min(65536, -(-per_device // TILE_ROWS) * TILE_ROWS)
        unit = q.block_rows * q.devices
        q.n_pad = -(-q.n // unit) * unit
    else:
        q.n_pad = q.n
    return q


def _smallest(ok, lo: int, hi: int) -> int | None:
    """The smallest k in [lo, hi] with ok(k) (ok monotone: false, then true), or None."""
    if lo > hi or not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _largest(ok, lo: int, hi: int) -> int | None:
    """The largest k in [lo, hi] with ok(k) (ok monotone: true, then false), or None."""
    if lo > hi or not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


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
        # the event method: the hash of every draw without its loop (its bits are identical;
        # the dense method keeps JAX's rule, under which its stored runs rerun bitwise)
        unrolled = threefry.unrolled() if prog.method == "event" else contextlib.nullcontext()
        with unrolled:
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
        work = max(1, event_step_work(prog))
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


def identity_of(net, grid, probes, method, layout, seed_text) -> dict:
    """SHA-256 of each part of what defines a run's numbers (for checkpoints): network, grid,
    probes, method, layout and random keys."""
    parts = {
        "network": _describe(net),
        "grid": _describe(grid),
        "probes": _describe(probes),
        "method": str(method),
        "layout": _describe(layout),
        "random keys": seed_text,
    }
    return {k: hashlib.sha256(v.encode()).hexdigest() for k, v in parts.items()}


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
    on_plan=None,
):
    """Run ``net`` on ``grid`` with the driver; return an ``xarray.Dataset`` of the probes.

    Same numbers as :func:`lowdim.solve` with the same arguments. ``key`` (or ``seed``) as in
    ``solve``; ``method``, ``layout``, ``block`` as in :class:`lowdim.solve.Program`.
    ``on_chunk(records, first_record)`` receives each chunk's records (NumPy, keyed by probe, in
    the dataset's axis order (trial?, time, network?, *dims); a "steps" probe per step); with
    ``keep_records=False`` only averages are returned. ``on_plan(program)`` is called once the
    :class:`~lowdim.solve.Program` is planned and its memory checked, before anything is
    allocated or compiled (e.g. to print an estimate from :func:`memory_parts`).
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
    # a path that cannot be written fails now, not after the run
    checkpoint = ckpt.check_args(checkpoint, checkpoint_every, checkpoint_steps, keep_records)
    if on_chunk is not None and not callable(on_chunk):
        raise ConfigError(f"on_chunk must be a function (records, first), got {on_chunk!r}")
    if key is None:
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32
        ):
            raise ConfigError(f"seed must be an integer in [0, 2³²), got {seed!r}")
        key = jax.random.PRNGKey(seed or 0)
    ctx = float64() if net.dtype == "float64" else contextlib.nullcontext()
    with ctx:
        t0 = time.perf_counter()
        prog = Program(net, grid, probes, method=method, layout=layout, block=block)
        check_memory(prog, keep_records)
        if on_plan is not None:
            on_plan(prog)
        rpc = records_per_chunk(prog, checkpoint_steps)
        n_chunks = grid.records // rpc
        keys = stream_keys(key, net.batch, seeds)
        saver, pieces, first, wall_before, resumed = None, [], 0, 0.0, None
        if checkpoint is not None:
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
            if progress:  # said before the bar starts again
                k = first * rpc * grid.record_every
                print(
                    f"resuming from the checkpoint at t = {k * grid.dt:.6g} s (step {k} of "
                    f"{grid.steps}); {wall_before:.1f} s of wall time before this session",
                    file=sys.stderr,
                    flush=True,
                )
        compile_seconds = loop_seconds = 0.0
        if first < n_chunks:
            with Progress(grid.steps, enabled=progress) as bar:
                bar.phase("compiling")  # the bar says so while XLA compiles the chunk
                tc = time.perf_counter()
                chunk = compiled_chunk(prog, rpc, state, P, probes, keys)
                compile_seconds = time.perf_counter() - tc
                bar.phase("simulating")
                # the loop's clock starts when the prepared arrays and the initial state exist:
                # their computation runs asynchronously and would otherwise be timed as the
                # first chunk's
                jax.block_until_ready((state, P))
                t_loop = time.perf_counter()
                last_save = time.perf_counter()
                bar.advance(first * rpc * grid.record_every)
                for c in range(first, n_chunks):
                    start = jnp.int32(c * rpc * grid.record_every)
                    state, rec = chunk(state, P, probes, keys, start)
                    rec = jax.tree_util.tree_map(np.asarray, rec)
                    if on_chunk is not None:
                        on_chunk(
                            {k: np.asarray(prog.arrange(k, v, trace=True)) for k, v in rec.items()},
                            c * rpc,
                        )
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
            # this call alone (< wall_seconds when the run resumed from a checkpoint)
            "session_wall_seconds": wall - wall_before,
            "compile_seconds": compile_seconds,
            "loop_seconds": loop_seconds,
        }
        return dataset_of_run(prog, traces, averages, timing)


class Progress:
    """A rich progress bar with steps/s and ETA; a line every ~10 % when stderr is not a terminal
    (logs); a no-op when disabled. :meth:`phase` relabels it (e.g. "compiling" while XLA
    compiles, then "simulating"); rate and ETA count from the last phase change."""

    def __init__(self, total: int, enabled: bool, label: str = "simulating", unit: str = "steps"):
        self.total, self.enabled, self.label, self.unit = total, enabled, label, unit
        self._p = None

    def __enter__(self):
        self._t0 = time.perf_counter()
        self._lines = self.enabled and not sys.stderr.isatty()
        self._done, self._next = 0, self.total / 10
        if self.enabled and not self._lines:
            # deferred: rich costs start-up time, and only an interactive bar needs it
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
            print(f"{label} …", file=sys.stderr, flush=True)
        if self._p is not None:
            self._p.update(self._task, description=label, rate="")

    def advance(self, n):
        self._done += n
        if self._lines and n and (self._done >= self._next or self._done == self.total):
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
