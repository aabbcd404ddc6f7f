"""Checkpoint and resume of a long run (``lowdim.run``/``lowdim.simulate`` with ``checkpoint``).

A checkpoint is one ``.npz`` file holding

- ``meta`` (JSON): format version, the run's identity (a hash of each part of the run: network,
  grid, probes, method, layout, random keys; :func:`lowdim.engine.identity_of`), the chunk
  length in records, the number of chunks done and in all, wall seconds so far;
- ``state/<path>``: every leaf of the solve's state (potentials or event state, probe sums),
  named by its path in the state pytree;
- ``rec/<name>``: the records of all completed chunks, concatenated along time.

The RNG needs no state: every draw is keyed by ``fold_in(stream, global step index)``, so the
step index is the RNG state. Files are written to a temporary file in the same folder, flushed
and fsync'ed, then renamed over PATH (``os.replace`` is atomic on POSIX), so a run killed at any
moment leaves either the previous checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import jax
import numpy as np

from .errors import ConfigError
from .io import check_writable_file

__all__ = [
    "check_args",
    "check_path",
    "Checkpointer",
    "fingerprint",
    "concat",
    "leaves",
    "read",
    "write",
    "restore",
    "FORMAT",
]

FORMAT = 3


def check_path(path, flag: str = "--checkpoint") -> Path:
    """The checkpoint path, absolute: writable, and if it exists, a checkpoint file (an .npz
    archive); ConfigError otherwise."""
    import zipfile

    path = check_writable_file(path, flag)
    if path.exists() and not zipfile.is_zipfile(path):
        raise ConfigError(
            f"{flag} {str(path)!r} exists and is not a lowdim checkpoint; give a new file path "
            "(a checkpoint is written there and read back to resume)"
        )
    return path


def check_args(checkpoint, every, steps, keep_records) -> Path | None:
    """The checkpoint arguments of a run (path, seconds between saves, steps between saves,
    whether records are kept), checked before any work; returns the absolute path or None."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ConfigError(f"checkpoint_steps must be a positive integer, got {steps!r}")
    if every is not None and (
        isinstance(every, bool)
        or not isinstance(every, int | float)
        or not every >= 0
        or not math.isfinite(every)
    ):
        raise ConfigError(f"checkpoint_every must be seconds ≥ 0 or None, got {every!r}")
    if not isinstance(keep_records, bool):
        raise ConfigError(f"keep_records must be True or False, got {keep_records!r}")
    if checkpoint is None:
        return None
    if not isinstance(checkpoint, str | os.PathLike):
        raise ConfigError(f"checkpoint must be a file path, got {type(checkpoint).__name__}")
    path = check_path(checkpoint, "checkpoint")
    if not keep_records:
        raise ConfigError("checkpoints keep the records; use keep_records=True with checkpoint")
    return path


def fingerprint(connectivity) -> str:
    """'paper' for the seed-defined connectivity, else a SHA-256 of F, G and the scale."""
    if connectivity is None:
        return "paper"
    h = hashlib.sha256()
    for arr in (connectivity.F, connectivity.G):
        a = np.asarray(arr)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr(float(connectivity.scale)).encode())
    return h.hexdigest()


def concat(pieces: list[dict]) -> dict:
    """Records of consecutive chunks joined along time."""
    return {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}


def write(path: str | os.PathLike, meta: dict, arrays: dict) -> None:
    """Atomically replace ``path`` by an npz of ``arrays`` plus ``meta`` (JSON)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, meta=np.asarray(json.dumps(meta, sort_keys=True)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass


def read(path: str | os.PathLike) -> tuple[dict, dict]:
    """(meta, arrays) of a checkpoint file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise ConfigError(
            f"cannot read checkpoint {str(path)!r} ({e}); delete it to start the run afresh"
        ) from None
    return meta, arrays


def leaves(state) -> dict:
    """The leaves of a pytree as NumPy arrays, named by their path (``jax.tree_util.keystr``)."""
    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in flat}


def restore(state, leaves: dict, path):
    """``state`` (a fresh initial state: the structure) with the saved leaves put in."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(state)
    out = []
    for p, v in flat:
        name = jax.tree_util.keystr(p)
        if name not in leaves or leaves[name].shape != np.shape(v):
            raise ConfigError(
                f"checkpoint {str(path)!r} does not fit this run's state ({name}); delete it to "
                "start afresh, or use another checkpoint path"
            )
        out.append(leaves[name].astype(np.asarray(v).dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


class Checkpointer:
    """Writes and reads the checkpoint of one run (see the module docstring).

    ``identity``: a dict of strings that must match to resume (one hash per part of the run:
    network, grid, probes, method, layout, random keys) or one string."""

    def __init__(self, path, identity, records_per_chunk: int, n_chunks: int):
        if jax.process_count() > 1:
            raise ConfigError(
                "checkpoints are written by a single process; run without --checkpoint when "
                "using several processes (jax.distributed)"
            )
        self.path = Path(path)
        if not isinstance(identity, dict):
            identity = {"identity": str(identity)}
        self.meta = {
            "format": FORMAT,
            **identity,
            "records_per_chunk": records_per_chunk,
            "n_chunks": n_chunks,
        }
        self.identity = identity

    def save(self, state, pieces: list[dict], chunks_done: int, wall: float) -> None:
        arrays = {f"state/{k}": v for k, v in leaves(state).items()}
        if pieces:
            arrays.update({f"rec/{k}": v for k, v in concat(pieces).items()})
        meta = dict(self.meta, chunks_done=chunks_done, wall_seconds=wall)
        write(self.path, meta, arrays)

    def load(self):
        """(state leaves, pieces, chunks_done, wall) from an existing checkpoint, or None."""
        if not self.path.exists():
            return None
        meta, arrays = read(self.path)
        if meta.get("format") != FORMAT:
            raise ConfigError(
                f"checkpoint {str(self.path)!r} has format {meta.get('format')}, this lowdim "
                f"writes {FORMAT}; delete it to start afresh"
            )
        differ = [k for k, want in self.identity.items() if meta.get(k) != want]
        if differ:
            raise ConfigError(
                f"checkpoint {str(self.path)!r} belongs to a different run (its "
                f"{', '.join(differ)} differ); use the same network, grid, probes, method, "
                "layout and seed to resume, or another checkpoint path"
            )
        for key in ("records_per_chunk", "n_chunks"):
            if meta[key] != self.meta[key]:
                raise ConfigError(
                    f"checkpoint {str(self.path)!r} was cut into chunks of "
                    f"{meta['records_per_chunk']} records; resume with the same checkpoint_steps"
                )
        leaves = {k[6:]: v for k, v in arrays.items() if k.startswith("state/")}
        rec = {k[4:]: v for k, v in arrays.items() if k.startswith("rec/")}
        pieces = [rec] if meta["chunks_done"] > 0 and rec else []
        return leaves, pieces, meta["chunks_done"], meta["wall_seconds"]
