"""Saving and loading results, and the rule for output folders.

Results: xarray ↔ NetCDF (h5netcdf) or Zarr, every file written under a temporary name and
renamed into place (atomic on POSIX).

Output folders (every command that writes one: ``simulate``, ``demo``, ``rerun``, ``reproduce``,
``lecture``, ``bench``) follow one rule, implemented by :class:`staged_output`:

- a run writes into a *staging* folder beside its output folder
  (``.NAME.partial-HOST-PID-…``) and moves the files into place only once it has finished; on an
  error, Ctrl-C or SIGTERM the staging folder is removed (the staging folder of a process that
  was killed outright is removed by the next run into the same folder), so nothing half-written
  is ever left;
- the finished folder holds exactly the new run's files: files of an earlier run that the new run
  does not write are removed (no stale ``traces.png`` beside a new ``run.nc``);
- resumable state is kept across runs: a sweep store (``store/``) and a checkpoint file inside
  the folder;
- the command line refuses a folder that already holds results unless ``--overwrite`` is given;
  a folder holding files that lowdim did not write (neither ``provenance.json`` nor
  ``summary.json``) is never replaced, with or without ``--overwrite``;
- every finished folder has ``provenance.json`` (command line, UTC time, versions, git commit,
  device).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path

import numpy as np
import xarray as xr

from .errors import ConfigError
from .record import provenance

__all__ = [
    "save",
    "load",
    "atomic_write_text",
    "atomic_write_json",
    "json_safe",
    "staged_output",
    "check_output_folder",
    "check_writable_file",
    "check_disk_space",
    "RESUMABLE",
    "Terminated",
]

#: entries of an output folder that hold resumable state: kept when the folder is rewritten
RESUMABLE = ("store",)
#: files that mark a folder as written by lowdim (such a folder may be replaced)
MARKERS = ("provenance.json", "summary.json")
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM: raised in the main thread so that staged output is cleaned
    up on the way out (like Ctrl-C's KeyboardInterrupt)."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def raise_terminated(signum, frame):  # a signal handler
    raise Terminated(signum)


# ----------------------------------------------------------------------------- results
def _engine(path: Path) -> str:
    if path.suffix == ".nc":
        return "netcdf"
    if path.suffix == ".zarr":
        return "zarr"
    raise ConfigError(f"unknown result format {path.suffix!r} for {str(path)!r}; use .nc or .zarr")


def save(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to ``path`` (.nc or .zarr) via a temporary name and an atomic rename."""
    path = Path(path)
    kind = _engine(path)
    if not isinstance(ds, xr.Dataset):
        raise ConfigError(f"save needs an xarray.Dataset, got {type(ds).__name__}")
    if path.is_dir() and kind == "netcdf":
        raise ConfigError(f"{str(path)!r} is a folder; give a file name such as run.nc")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as e:
        raise ConfigError(
            f"cannot write {str(path)!r} ({e.strerror or e}); choose another path"
        ) from None
    try:
        target = tmp / path.name
        if kind == "netcdf":
            ds.to_netcdf(target, engine="h5netcdf")
        else:
            try:
                import zarr  # noqa: F401
            except ImportError:
                raise ConfigError("saving .zarr needs the zarr package: pip install zarr") from None
            ds.to_zarr(target, mode="w")
        if path.is_dir() and kind == "zarr":
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load(path: str | Path) -> xr.Dataset:
    """Read a dataset written by :func:`save` (into memory); ConfigError if it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"no result at {str(path)!r}")
    kind = _engine(path)
    if kind == "netcdf" and path.is_dir():
        raise ConfigError(f"{str(path)!r} is a folder, not a NetCDF file")
    try:
        if kind == "netcdf":
            return xr.load_dataset(path, engine="h5netcdf")
        return xr.open_zarr(path).load()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"cannot read {str(path)!r} as a {kind} result ({first[:200]}); lowdim.load reads "
            "files written by lowdim.save"
        ) from None


def atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_safe(obj):
    """``obj`` as plain JSON values, recursively: NaN and ±inf become None (JSON ``null``: the
    JSON standard has no NaN), NumPy scalars and arrays become Python numbers and lists, tuples
    become lists and dictionary keys strings. Other values are returned as they are."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def atomic_write_json(path: str | Path, obj) -> None:
    """Write ``obj`` as strict JSON (indented, sorted keys), atomically. NaN and ±inf are
    written as ``null`` and NumPy values as plain numbers and lists (:func:`json_safe`), so that
    every JSON file lowdim writes (``summary.json``, ``provenance.json``, …) parses with any
    strict JSON reader; a reader of such a file takes ``null`` for "no finite value"."""
    text = json.dumps(json_safe(obj), indent=2, sort_keys=True, allow_nan=False)
    atomic_write_text(path, text + "\n")


# ----------------------------------------------------------------------------- checks
def _abs(path) -> Path:
    return Path(os.path.abspath(os.fspath(path)))


def _nearest_existing(path: Path) -> Path:
    p = path
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def _names(entries: list[str], k: int = 4) -> str:
    more = f", … ({len(entries)} in all)" if len(entries) > k else ""
    return ", ".join(entries[:k]) + more


def _probe(folder: Path, what: str, flag: str) -> None:
    """Create and remove a temporary folder in ``folder``: ConfigError if that fails."""
    try:
        d = tempfile.mkdtemp(prefix=".lowdim-probe-", dir=folder)
        os.rmdir(d)
    except OSError as e:
        raise ConfigError(
            f"cannot write to {what} ({e.strerror or e}); choose another {flag}"
        ) from None


def check_output_folder(
    out: str | Path, overwrite: bool = True, keep=RESUMABLE, flag: str = "--out"
) -> None:
    """Raise ConfigError now if a run could not write its results into the folder ``out``.

    ``overwrite=False`` (the command line without ``--overwrite``) refuses a folder that already
    holds anything besides resumable state (``keep``); ``overwrite=True`` accepts a folder
    written by lowdim (it holds ``provenance.json`` or ``summary.json``). A folder with other
    files is always refused. Creates nothing that stays."""
    try:
        shown, out = str(out), _abs(out)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{flag} must be a folder path: {e}") from None
    if out == out.parent:
        raise ConfigError(f"{flag} {shown!r} is the root folder; choose a folder for the results")
    if os.path.lexists(out) and not out.is_dir():
        raise ConfigError(f"output {shown!r} exists and is not a folder; choose another {flag}")
    anc = _nearest_existing(out)
    if not anc.is_dir():
        raise ConfigError(
            f"cannot create output folder {shown!r}: {str(anc)!r} is a file, not a folder; "
            f"choose another {flag}"
        )
    if out.is_dir():
        try:
            entries = sorted(e.name for e in out.iterdir() if e.name not in keep)
        except OSError as e:
            raise ConfigError(
                f"cannot read output folder {shown!r} ({e.strerror}); choose another {flag}"
            ) from None
        if entries and not overwrite:
            raise ConfigError(
                f"output folder {shown!r} already holds results ({_names(entries)}); add "
                f"--overwrite to replace them, or choose another {flag}"
            )
        if entries and not any(m in entries for m in MARKERS):
            raise ConfigError(
                f"output folder {shown!r} holds files that lowdim did not write "
                f"({_names(entries)}); choose another {flag} (a new or empty folder)"
            )
        _probe(out, f"output folder {shown!r}", flag)
    _probe(out.parent if out.parent.is_dir() else anc, f"the folder of output {shown!r}", flag)


def check_writable_file(path: str | Path, flag: str) -> Path:
    """Raise ConfigError now if the file ``path`` could not be written (a folder is in the way,
    a parent is a file, no permission); return it as an absolute path. Creates nothing."""
    try:
        shown, path = str(path), _abs(path)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{flag} must be a file path: {e}") from None
    if path.is_dir():
        raise ConfigError(
            f"{flag} {shown!r} is a folder; give a file path such as {str(Path(shown) / 'run.ckpt')!r}"
        )
    anc = _nearest_existing(path.parent)
    if not anc.is_dir():
        raise ConfigError(
            f"{flag} {shown!r} cannot be written: {str(anc)!r} is a file, not a folder; "
            f"choose another {flag}"
        )
    _probe(anc, f"{flag} {shown!r}", flag)
    return path


def check_disk_space(folder: str | Path, nbytes: int, what: str, advice: str) -> None:
    """Raise ConfigError if ``nbytes`` clearly exceed the free space where ``folder`` will be."""
    anc = _nearest_existing(_abs(folder))
    try:
        free = shutil.disk_usage(anc).free
    except OSError:
        return
    if nbytes > free:
        raise ConfigError(
            f"{what} need about {human_bytes(nbytes)} on disk but {human_bytes(free)} is free "
            f"at {str(anc)!r}; {advice}"
        )


def human_bytes(n: float) -> str:
    """1536 → '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


# ----------------------------------------------------------------------------- staging
_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:40] or "host"


def _stage_prefix(out: Path, pid: int | None = None) -> str:
    return f".{out.name}.partial-{_HOST}-{os.getpid() if pid is None else pid}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def clean_stale_stages(out: str | Path, keep=RESUMABLE) -> list[Path]:
    """Remove the staging folders of ``out`` left by processes of this host that no longer run
    (killed outright); their resumable state (``keep``) is moved back into ``out`` first."""
    out = _abs(out)
    removed = []
    if not out.parent.is_dir():
        return removed
    pattern = re.compile(re.escape(f".{out.name}.partial-{_HOST}-") + r"(\d+)-")
    try:
        siblings = list(out.parent.iterdir())
    except OSError:
        return removed
    for d in siblings:
        m = pattern.match(d.name)
        if not m or not d.is_dir() or _alive(int(m.group(1))):
            continue
        for name in keep:
            src = d / name
            if os.path.lexists(src) and not os.path.lexists(out / name):
                with contextlib.suppress(OSError):
                    out.mkdir(parents=True, exist_ok=True)
                    os.replace(src, out / name)
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


@contextlib.contextmanager
def deferred_signals():
    """SIGINT and SIGTERM wait until the block has run (main thread only): a folder is never
    left half moved into place."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    old = {s: h for s, h in old.items() if h is not None}  # None: set outside Python, left
    for s in old:
        signal.signal(s, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        for s in pending:
            signal.raise_signal(s)  # delivered now to the restored handler


def _disk_error(exc: BaseException | None) -> OSError | None:
    """The OSError behind ``exc`` that says the disk is full or read-only, if any."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and (
            exc.errno in _DISK_ERRNOS or "No space left on device" in str(exc)
        ):
            return exc
        if "No space left on device" in str(exc) or "errno = 28" in str(exc):
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


#: staging folder → the output folder it will become (while a stage is open)
_STAGES: dict[Path, Path] = {}


def final_path(path: str | Path) -> Path:
    """Where ``path``, inside an open staging folder, will be once the run has finished (for
    messages: "live figure: OUT/store/live.png"); other paths are returned as they are."""
    path = Path(path)
    p = _abs(path)
    for tmp, out in list(_STAGES.items()):
        if p == tmp or tmp in p.parents:
            return out / p.relative_to(tmp)
    return path


class staged_output:
    """Write a folder's files under a temporary name; put them in place only on success.

    ``with staged_output(out) as tmp: ...`` — files written into ``tmp`` replace the contents of
    ``out`` when the block ends without error (files of an earlier run that are not rewritten
    are removed; resumable entries ``keep`` stay); on an error, Ctrl-C or SIGTERM nothing is
    left behind: the staging folder and any parent folder it created are removed. The checks of
    :func:`check_output_folder` run at once (``overwrite=False`` refuses a folder that holds
    results). ``carry=True`` moves the resumable entries of ``out`` into ``tmp`` for the run
    (for code that keeps its resumable state inside the folder it is given) and back on failure.
    A full disk ends in a ConfigError that says so; the previous contents of ``out`` are then
    unchanged. ``provenance.json`` is added to the folder unless the block wrote one. Staging
    an open staging folder again (``out`` is the ``tmp`` of an enclosing block) stages nothing:
    the block writes into ``out`` and the enclosing block moves it into place.
    """

    def __init__(
        self,
        out: str | Path,
        *,
        keep=RESUMABLE,
        carry: bool = False,
        overwrite: bool = True,
        flag: str = "--out",
    ):
        self.out = Path(out)
        self.keep = tuple(keep)
        self.carry, self.overwrite, self.flag = carry, overwrite, flag

    def __enter__(self) -> Path:
        out = self._abs = _abs(self.out)
        self._nested = out in _STAGES
        if self._nested:  # ``out`` is an open staging folder already (the command line stages
            return self.out  # an experiment that stages itself): one level, the outer one moves
        clean_stale_stages(out, self.keep)
        check_output_folder(self.out, overwrite=self.overwrite, keep=self.keep, flag=self.flag)
        self._created: list[Path] = []
        missing, p = [], out.parent
        while not os.path.lexists(p):
            missing.append(p)
            p = p.parent
        try:
            for d in reversed(missing):
                d.mkdir()
                self._created.append(d)
            self.tmp = Path(tempfile.mkdtemp(prefix=_stage_prefix(out), dir=out.parent))
        except OSError as e:
            self._remove_created()
            raise ConfigError(
                f"cannot write to output folder {str(self.out)!r} ({e.strerror}); choose another "
                f"{self.flag}"
            ) from None
        self._old_term = None
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        ):
            self._old_term = signal.signal(signal.SIGTERM, raise_terminated)
        if self.carry and out.is_dir():
            for name in self.keep:
                if os.path.lexists(out / name):
                    os.replace(out / name, self.tmp / name)
        _STAGES[_abs(self.tmp)] = final_path(self.out)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if self._nested:
            return False
        try:
            if exc_type is None:
                try:
                    self._commit()
                except BaseException as e:
                    self._abort()
                    if _disk_error(e) is None:
                        raise
                    exc = e
            else:
                self._abort()
        finally:
            _STAGES.pop(_abs(self.tmp), None)
            if self._old_term is not None:
                signal.signal(signal.SIGTERM, self._old_term)
        disk = _disk_error(exc)
        if disk is not None:
            where = f" ({disk.filename})" if getattr(disk, "filename", None) else ""
            raise ConfigError(
                f"writing the results of {str(self.out)!r} failed: {disk.strerror or disk}{where};"
                f" free some space or choose another {self.flag}, then run again (nothing in "
                f"{str(self.out)!r} was changed)"
            ) from None
        if isinstance(exc, Terminated) and self._old_term is not None:
            # SIGTERM arrived while this block had installed the handler: cleaned up, now die
            signal.raise_signal(exc.signum)
        return False

    def _commit(self) -> None:
        out, tmp = self._abs, self.tmp
        if not os.path.lexists(tmp / "provenance.json"):
            atomic_write_json(tmp / "provenance.json", provenance())
        with deferred_signals():
            out.mkdir(parents=True, exist_ok=True)
            new = {e.name for e in tmp.iterdir()}
            for e in list(out.iterdir()):
                if e.name not in new and e.name not in self.keep:
                    _remove(e)
            for e in tmp.iterdir():
                dest = out / e.name
                if os.path.lexists(dest):
                    _remove(dest)
                os.replace(e, dest)
            tmp.rmdir()

    def _abort(self) -> None:
        out, tmp = self._abs, self.tmp
        with deferred_signals():
            if self.carry:
                for name in self.keep:
                    if os.path.lexists(tmp / name) and not os.path.lexists(out / name):
                        with contextlib.suppress(OSError):
                            out.mkdir(parents=True, exist_ok=True)
                            os.replace(tmp / name, out / name)
            shutil.rmtree(tmp, ignore_errors=True)
            self._remove_created()

    def _remove_created(self) -> None:
        for d in reversed(self._created):
            with contextlib.suppress(OSError):
                d.rmdir()  # only if still empty
