"""Resumable parameter sweeps: one task per point, keyed by the hash of its full config.

``run_sweep(fn, configs, store_dir)`` evaluates ``fn(config)`` for every config (a JSON-able
dict) and returns the results in the order of ``configs``. Each point is identified by

    key = sha256(canonical JSON of {"fn": "module:qualname", "config": config, "salt": salt})

and, once finished, written at once to ``store_dir/<key[:2]>/<key>.json`` through a temporary
file and an atomic rename, by the driving process (so workers need no shared file system). On a
rerun, points whose file exists are read back and not recomputed: an interrupted sweep (Ctrl-C,
killed process, lost node) resumes without losing or recomputing a finished point.

Where points run:

- ``scheduler=None`` (default): a local process pool with the *spawn* start method (JAX is not
  safe in forked processes); ``workers`` processes (default: the CPUs this process may use, at
  most the number of pending points). Each worker is pinned to one XLA/BLAS thread so that
  ``workers`` processes share the cores without oversubscription. ``workers=0`` runs the points
  in this process, one after another.
- ``scheduler="tcp://host:8786"``: a running Dask distributed scheduler (``dask[distributed]``);
  ``fn`` and its module must be importable on the workers.

``fn`` must be an importable top-level function (it is sent to other processes by reference) and
must return a JSON-able dict. Progress shows points done / total, the number resumed from the
store and the ETA (rich).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError
from .io import atomic_write_text

__all__ = ["run_sweep", "point_key", "SweepError", "SweepStore"]

_SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_XLA_SINGLE = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


class SweepError(RuntimeError):
    """Some points failed; the finished ones are in the store and a rerun retries the rest."""

    def __init__(self, failures: dict[str, str]):
        self.failures = failures
        lines = "\n".join(f"  {k[:12]}: {v}" for k, v in list(failures.items())[:10])
        super().__init__(
            f"{len(failures)} sweep point(s) failed (finished points are stored; rerun to retry "
            f"only the failed ones):\n{lines}"
        )


def _canonical(obj) -> str:
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"a sweep config must be a JSON-able dict of finite numbers, strings, lists: {e}"
        ) from None


def fn_name(fn: Callable) -> str:
    """'module:qualname' of an importable top-level function (raises ConfigError otherwise)."""
    mod, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if mod is None or "<" in qual or "." in qual or mod == "__main__":
        raise ConfigError(
            f"sweep function {fn!r} must be a top-level function of an importable module "
            "(not a lambda, a nested function or one defined in __main__)"
        )
    return f"{mod}:{qual}"


def point_key(fn: Callable | str, config: dict, salt: str = "") -> str:
    """sha256 hex digest of the point's full description (function, config, salt)."""
    name = fn if isinstance(fn, str) else fn_name(fn)
    return hashlib.sha256(
        _canonical({"fn": name, "config": config, "salt": salt}).encode()
    ).hexdigest()


class SweepStore:
    """A folder of finished points, one JSON file per key, written atomically. The folder is
    created with the first finished point (a sweep that fails before leaves nothing); a path
    that cannot hold it is refused at once."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        p = self.root
        while not os.path.lexists(p) and p != p.parent:
            p = p.parent
        if not p.is_dir():
            raise ConfigError(
                f"cannot create the sweep store {str(self.root)!r}: {str(p)!r} is not a folder; "
                "choose another output folder"
            )

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored record of ``key`` or None (a missing or unreadable file counts as absent)."""
        p = self.path(key)
        try:
            rec = json.loads(p.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(rec, dict) or rec.get("key") != key or "result" not in rec:
            return None
        return rec

    def put(self, key: str, record: dict) -> None:
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(p, json.dumps(record, sort_keys=True, allow_nan=True) + "\n")

    def keys(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(q.stem for q in self.root.glob("*/*.json"))


#: a Dask scheduler address: [protocol://]host:port (host a name, IPv4 or [IPv6])
_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r":(\d{1,5})/?$"
)


def check_scheduler(address, flag: str = "scheduler") -> None:
    """ConfigError unless ``address`` looks like a Dask scheduler address (tcp://host:8786)."""
    ok = isinstance(address, str) and (
        address.startswith("inproc://")
        or ((m := _ADDRESS.match(address.strip())) is not None and 0 < int(m.group(1)) < 65536)
    )
    if not ok:
        raise ConfigError(
            f"{flag} {address!r} is not a Dask scheduler address; give one like "
            "tcp://host:8786 (the address `dask scheduler` prints)"
        )


def _call(fn: Callable, config: dict) -> tuple[dict, float]:
    """Run one point (in a worker); return (result, seconds)."""
    t0 = time.perf_counter()
    res = fn(config)
    if not isinstance(res, dict):
        raise TypeError(f"sweep function must return a dict, got {type(res).__name__}")
    return res, time.perf_counter() - t0


@contextmanager
def _worker_env(single_thread: bool):
    """Environment inherited by spawned workers: one XLA / BLAS thread each."""
    if not single_thread:
        yield
        return
    saved = {k: os.environ.get(k) for k in (*_SINGLE_THREAD_ENV, "XLA_FLAGS")}
    os.environ.update(_SINGLE_THREAD_ENV)
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " " + _XLA_SINGLE).strip()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


class _Progress:
    def __init__(self, total: int, resumed: int, enabled: bool, label: str):
        self.enabled, self.total, self.resumed, self.label = enabled, total, resumed, label
        self._p = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._p = Progress(
                TextColumn(f"[bold]{self.label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("points"),
                TextColumn(f"({self.resumed} resumed)"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            )
            self._p.__enter__()
            # resumed points count as done; the ETA's pace comes from this session's points only
            self._task = self._p.add_task("sweep", total=self.total, completed=self.resumed)
        return self

    def advance(self):
        if self._p is not None:
            self._p.advance(self._task)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)
        return False


def run_sweep(
    fn: Callable[[dict], dict],
    configs: Sequence[dict],
    store_dir: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    salt: str = "",
    label: str = "sweep",
    on_point: Callable[[int, dict], None] | None = None,
    connect_timeout: float = 30.0,
    batch: Callable[[list[dict]], list[dict]] | None = None,
    group: Callable[[dict], str] | None = None,
) -> list[dict]:
    """Evaluate ``fn(config)`` for each config, resuming from ``store_dir``; return the results.

    Args:
        fn: importable top-level function, config dict → JSON-able result dict.
        configs: the points (JSON-able dicts). Identical configs are computed once.
        store_dir: folder of finished points (created if needed; kept between runs).
        scheduler: address of a Dask distributed scheduler; None for the local process pool.
        workers: local processes (default: available CPUs, at most the pending points);
            0 runs in this process.
        progress: show a rich progress bar (points done / total, ETA).
        salt: extra text in every key (bump it to invalidate stored points on a code change).
        label: progress-bar label.
        on_point: called as ``on_point(index, record)`` in this process after each newly
            finished point is stored (index into the unique pending points).
        connect_timeout: seconds to wait for the Dask scheduler.
        batch: importable top-level function ``batch(configs)`` returning the results of
            ``fn`` for those configs, in order: the pending points with equal
            ``group(config)`` run as one task (e.g. seeds of one network shape sharing one
            compiled program). Each point keeps the key of ``fn`` and is stored when its task
            finishes; an interrupted task reruns its unfinished points. Give both ``batch``
            and ``group``, or neither.
        group: the label of a config's task (see ``batch``).

    Returns:
        The results, ``results[i]`` for ``configs[i]``.

    Raises:
        SweepError: when some points failed; all others are stored, and a rerun only retries
            the failed ones.
    """
    name = fn_name(fn)
    if scheduler is not None:
        check_scheduler(scheduler)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 0
    ):
        raise ConfigError(f"workers must be an integer ≥ 0 (0: in this process), got {workers!r}")
    if (batch is None) != (group is None):
        raise ConfigError("run_sweep needs both batch and group, or neither")
    store = SweepStore(store_dir)
    keys = [point_key(name, c, salt) for c in configs]
    results: dict[str, dict] = {}
    pending: dict[str, dict] = {}
    for k, c in zip(keys, configs, strict=True):
        if k in results or k in pending:
            continue
        rec = store.get(k)
        if rec is not None:
            results[k] = rec["result"]
        else:
            pending[k] = c
    n_unique = len(results) + len(pending)
    failures: dict[str, str] = {}

    def finish(i: int, k: str, res: dict, seconds: float):
        rec = {"key": k, "fn": name, "salt": salt, "config": pending[k], "result": res}
        rec["seconds"] = seconds
        rec["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        store.put(k, rec)
        results[k] = res
        if on_point is not None:
            on_point(i, rec)

    with _Progress(n_unique, len(results), progress and bool(pending), label) as bar:
        index = {k: i for i, k in enumerate(pending)}
        tasks = _tasks(list(pending.items()), group)

        def done(task_keys, out):
            for k, (res, sec) in zip(task_keys, out, strict=True):
                finish(index[k], k, res, sec)
                bar.advance()

        if not tasks:
            pass
        elif scheduler is not None:
            _run_dask(fn, batch, tasks, scheduler, done, failures, connect_timeout)
        elif workers == 0:
            for task_keys, cs in tasks:
                try:
                    out = _call_task(fn, batch, cs)
                except Exception as e:  # noqa: BLE001 — reported in SweepError
                    failures.update({k: f"{type(e).__name__}: {e}" for k in task_keys})
                    continue
                done(task_keys, out)
        else:
            n = max(1, min(workers or _cpus(), len(tasks)))
            _run_local(fn, batch, tasks, n, done, failures)
    if failures:
        raise SweepError(failures)
    return [results[k] for k in keys]


def _tasks(items, group) -> list[tuple[list[str], list[dict]]]:
    """(keys, configs) of each task: one point each, or the points of one group (in the order
    of their first point)."""
    if group is None:
        return [([k], [c]) for k, c in items]
    tasks: dict[str, tuple[list[str], list[dict]]] = {}
    for k, c in items:
        ks, cs = tasks.setdefault(group(c), ([], []))
        ks.append(k)
        cs.append(c)
    return list(tasks.values())


def _call_task(fn, batch, configs) -> list[tuple[dict, float]]:
    """Run one task (in a worker): [(result, seconds)] per config; a batch's seconds are its
    wall time shared evenly by its points."""
    if batch is None or len(configs) == 1:
        return [_call(fn, c) for c in configs]
    t0 = time.perf_counter()
    out = batch(list(configs))
    if not isinstance(out, list | tuple) or len(out) != len(configs):
        raise TypeError(f"sweep batch function must return a list of {len(configs)} results")
    for res in out:
        if not isinstance(res, dict):
            raise TypeError(f"sweep batch function must return dicts, got {type(res).__name__}")
    sec = (time.perf_counter() - t0) / len(configs)
    return [(res, sec) for res in out]


def _run_local(fn, batch, tasks, n_workers, done, failures):
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with _worker_env(single_thread=True):
        pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx)
    try:
        futs = {pool.submit(_call_task, fn, batch, cs): ks for ks, cs in tasks}
        todo = set(futs)
        while todo:
            finished, todo = wait(todo, return_when=FIRST_COMPLETED)
            for f in finished:
                ks = futs[f]
                try:
                    out = f.result()
                except BrokenProcessPool:
                    raise SweepError(
                        {
                            ks[0]: "a worker process died (out of memory, killed, or the main "
                            "script lacks an `if __name__ == '__main__':` guard, which the "
                            "spawn start method needs); finished points are stored"
                        }
                    ) from None
                except Exception as e:  # noqa: BLE001
                    failures.update({k: f"{type(e).__name__}: {e}" for k in ks})
                    continue
                done(ks, out)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for p in list((getattr(pool, "_processes", None) or {}).values()):
            p.terminate()
        raise
    else:
        pool.shutdown(wait=True)


def _run_dask(fn, batch, tasks, scheduler, done, failures, connect_timeout):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError(
            "running a sweep on a Dask scheduler needs dask.distributed: "
            "pip install 'lowdim[cluster]'"
        ) from None
    try:
        client = Client(scheduler, timeout=f"{connect_timeout}s")
    except Exception as e:  # noqa: BLE001 — OSError, TimeoutError, ValueError (bad address), …
        raise ConfigError(
            f"cannot reach the Dask scheduler at {scheduler!r} ({e}); check --scheduler "
            "(e.g. tcp://host:8786) and that the scheduler is running"
        ) from None
    try:
        futs = [
            client.submit(_call_task, fn, batch, cs, key=f"lowdim-point-{ks[0]}", pure=False)
            for ks, cs in tasks
        ]
        keys = {f.key: ks for f, (ks, _) in zip(futs, tasks, strict=True)}
        for f in as_completed(futs):
            ks = keys[f.key]
            try:
                out = f.result()
            except Exception as e:  # noqa: BLE001
                failures.update({k: f"{type(e).__name__}: {e}" for k in ks})
                continue
            done(ks, out)
            f.release()
    finally:
        client.close()
