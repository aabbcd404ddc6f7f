"""Training any network: one resumable driver (optax step, progress bar, checkpoints).

:func:`train` minimises ``loss(params, batch, key)`` over ``params`` (any pytree of float
arrays: a network's loadings, input and readout vectors, …) with an optax optimizer, one
compiled step at a time::

    k_s     = fold_in(key, s)                          # s = 0, 1, …, steps − 1
    batch_s = batches(s, fold_in(k_s, 0))              # the step's data (None without batches)
    loss_s, grads = value_and_grad(loss)(params, batch_s, fold_in(k_s, 1))
    params, state = optax.apply_updates(params, optimizer.update(grads, state, params))

Every draw is keyed by the step index, so the step index is the whole random state: a run
stopped after K steps and resumed from its checkpoint gives bitwise the numbers of an
uninterrupted run, and asking for more steps continues a finished run as if it had been asked
for them at once.

A checkpoint is one ``.npz`` file (written atomically by :func:`lowdim.checkpoint.write`) with
``params/<path>``, ``opt/<path>`` (the optimizer state), ``history/<name>`` and a JSON ``meta``:
the run's identity, the number of steps done and the wall seconds so far. It is written every
``checkpoint_every`` seconds and at the end; an existing checkpoint of the same run is resumed,
one of another run (other identity or parameter shapes) is refused with a
:class:`~lowdim.errors.ConfigError`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import checkpoint as ckpt
from .engine import Progress
from .errors import ConfigError

__all__ = ["train", "KIND"]

#: ``meta["kind"]`` of a training checkpoint
KIND = "lowdim.train"


def train(
    params,
    loss,
    optimizer,
    steps: int,
    *,
    key=None,
    batches=None,
    checkpoint: str | Path | None = None,
    checkpoint_every: float | None = 30.0,
    progress: bool = True,
    identity: str | dict | None = None,
    callback=None,
):
    """Train ``params`` for ``steps`` optimizer steps; returns ``(params, history)``.

    Args:
        params: the initial parameters, a pytree (dict, list, …) of float arrays; on resume
            they give the structure and are replaced by the checkpoint's.
        loss: ``loss(params, batch, key)`` → a scalar, or ``(scalar, aux)`` with ``aux`` a dict
            of arrays recorded in the history (e.g. an accuracy). It is traced once by
            ``jax.jit``: write it with ``jax.numpy`` (``lowdim.solve`` passes through).
        optimizer: an optax ``GradientTransformation`` (e.g. ``optax.adam(1e-2)``).
        steps: the total number of steps (≥ 0), those of a resumed checkpoint included.
        key: a JAX PRNG key (default ``jax.random.PRNGKey(0)``); step s uses
            ``fold_in(key, s)`` (module docstring).
        batches: ``None`` (the loss gets ``batch=None``) or ``batches(step, key)`` → the step's
            data (a pytree of arrays), traced inside the compiled step with ``step`` an int32
            scalar: draw it from ``key`` or index a dataset with ``step``.
        checkpoint: an ``.npz`` path, written every ``checkpoint_every`` seconds and at the
            end; if it exists, training resumes from it (see the module docstring).
        checkpoint_every: seconds between checkpoints (``None``: only at the end).
        progress: show a progress bar (steps/s, ETA; a line every 10 % in logs).
        identity: what makes a checkpoint this run's: a string or a JSON-able dict (e.g. the
            settings: learning rate, data, loss); a checkpoint with another identity is refused.
            Default: a hash of the initial ``params`` (values, shapes, dtypes) and of ``key``.
        callback: ``callback(step, params, record)`` after every step, ``record`` the step's
            ``{"loss": float, **aux}``; its return value is ignored.

    Returns:
        ``(params, history)``: the trained parameters (the structure of ``params``, JAX
        arrays) and a dict of NumPy arrays with one row per step, resumed steps included:
        ``loss`` (steps,) float64, the loss of the batch *before* that step's update (in the
        loss's units); each ``aux`` name (steps, …) in its dtype; ``seconds`` (steps,)
        float64, training wall seconds at the end of each step, summed over resumes
        (compilation included).

    Raises:
        ConfigError: bad arguments, a checkpoint of another run or one beyond ``steps``, or a
            non-finite loss (training diverged; the last checkpoint is kept).
    """
    _check(
        params, loss, optimizer, steps, batches, checkpoint, checkpoint_every, identity, callback
    )
    key = jax.random.PRNGKey(0) if key is None else key
    try:
        key_data = np.asarray(
            jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
        )
    except (AttributeError, TypeError):
        raise ConfigError(f"key must be a JAX PRNG key, got {key!r}") from None
    params = jax.tree.map(jnp.asarray, params)
    if identity is None:
        identity = {"params": _hash(params), "key": _hash(key_data)}
    elif not isinstance(identity, dict):
        identity = {"identity": str(identity)}
    identity = json.loads(json.dumps(identity, sort_keys=True))
    state = optimizer.init(params)
    history: dict[str, list] = {"loss": [], "seconds": []}
    start, seconds = 0, 0.0
    if checkpoint is not None and Path(checkpoint).exists():
        params, state, history, start, seconds = _resume(checkpoint, identity, steps, params, state)
    fns = tuple(_by_identity(f) for f in (loss, optimizer, batches))

    def save(done):
        arrays = {f"params/{n}": v for n, v in ckpt.leaves(params).items()}
        arrays.update({f"opt/{n}": v for n, v in ckpt.leaves(state).items()})
        arrays.update({f"history/{n}": _stack(v) for n, v in history.items()})
        meta = {"kind": KIND, "identity": identity, "step": done, "seconds": seconds}
        ckpt.write(checkpoint, meta, arrays)

    saved = start
    with Progress(steps, progress and steps > start, "training", "steps") as bar:
        bar.advance(start)
        t0 = t_last = time.perf_counter()
        for s in range(start, steps):
            if s == start:
                bar.phase("compiling")  # the first step compiles (once per shapes and functions)
            params, state, value, aux = _step(*fns, params, state, jnp.int32(s), key)
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(
                    f"training diverged at step {s} (loss = {value}); lower the learning rate "
                    "or check the loss (the last checkpoint is kept)"
                )
            now = time.perf_counter()
            seconds += now - t0
            t0 = now
            record = {"loss": value, **{n: np.asarray(v) for n, v in aux.items()}}
            for n, v in record.items():
                history.setdefault(n, []).append(v)
            history["seconds"].append(seconds)
            if s == start:
                bar.phase("training")
            bar.advance(1)
            if callback is not None:
                callback(s, params, record)
            if checkpoint is not None and checkpoint_every is not None:
                if now - t_last >= checkpoint_every:
                    save(s + 1)
                    saved, t_last = s + 1, now
    if checkpoint is not None and steps > saved:
        save(steps)
    return params, {n: _stack(v) for n, v in history.items()}


def _stack(values) -> np.ndarray:
    if not values:
        return np.zeros(0, np.float64)
    if isinstance(values, np.ndarray):
        return values
    return np.asarray(values, np.float64) if isinstance(values[0], float) else np.stack(values)


def _compiled_step(loss, optimizer, batches, params, state, step, key):
    k = jax.random.fold_in(key, step)
    batch = None if batches is None else batches(step, jax.random.fold_in(k, 0))
    loss_key = jax.random.fold_in(k, 1)

    def f(p):
        out = loss(p, batch, loss_key)
        value, aux = out if isinstance(out, tuple) else (out, {})
        if jnp.shape(value) != () or not isinstance(aux, dict):
            raise ConfigError(
                "loss must return a scalar or (scalar, dict of arrays); got a value of shape "
                f"{jnp.shape(value)} and aux {type(aux).__name__}"
            )
        if {"loss", "seconds"} & set(aux):
            raise ConfigError("the loss's aux names 'loss' and 'seconds' are the history's own")
        return value, aux

    (value, aux), grads = jax.value_and_grad(f, has_aux=True)(params)
    updates, state = optimizer.update(grads, state, params)
    params = optax.apply_updates(params, updates)
    return params, state, value, aux


#: one executable per (loss, optimizer, batches) and argument shapes, reused by later calls
#: with the same function objects (a resumed or longer run compiles nothing new)
_step = jax.jit(_compiled_step, static_argnums=(0, 1, 2))


def _by_identity(fn):
    """``fn`` itself if hashable (a static argument of the compiled step), else a wrapper."""
    try:
        hash(fn)
        return fn
    except TypeError:
        return lambda *a: fn(*a)


def _hash(tree) -> str:
    h = hashlib.sha256()
    for name, v in ckpt.leaves(tree).items():
        h.update(repr((name, v.dtype.str, v.shape)).encode())
        h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


def _sub(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _resume(path, identity: dict, steps: int, params, state):
    meta, arrays = ckpt.read(path)
    name = str(path)
    if meta.get("kind") != KIND:
        raise ConfigError(
            f"{name!r} is not a checkpoint of lowdim.train; use another checkpoint path"
        )
    have = meta.get("identity")
    if have != identity:
        differ = ""
        if isinstance(have, dict):
            keys = sorted(k for k in set(have) | set(identity) if have.get(k) != identity.get(k))
            differ = f" ({', '.join(keys)} differ)"
        raise ConfigError(
            f"checkpoint {name!r} belongs to another training run{differ}; use the same "
            "settings to resume, or delete it or choose another checkpoint path"
        )
    done = int(meta["step"])
    if done > steps:
        raise ConfigError(
            f"checkpoint {name!r} is at step {done}, beyond steps = {steps}; ask for at least "
            f"{done} steps or delete it"
        )
    params = jax.tree.map(jnp.asarray, ckpt.restore(params, _sub(arrays, "params/"), path))
    state = jax.tree.map(jnp.asarray, ckpt.restore(state, _sub(arrays, "opt/"), path))
    history = {n: list(v) for n, v in _sub(arrays, "history/").items()}
    history["loss"] = [float(v) for v in history.get("loss", [])]
    history["seconds"] = [float(v) for v in history.get("seconds", [])]
    if any(len(v) != done for v in history.values()):
        raise ConfigError(f"checkpoint {name!r} is torn (history shorter than its steps)")
    return params, state, history, done, float(meta["seconds"])


def _check(
    params, loss, optimizer, steps, batches, checkpoint, checkpoint_every, identity, callback
):
    if checkpoint is not None:
        if not isinstance(checkpoint, str | os.PathLike):
            raise ConfigError(f"checkpoint must be a file path, got {checkpoint!r}")
        if jax.process_count() > 1:
            raise ConfigError(
                "training checkpoints are written by a single process; train without a "
                "checkpoint when using several processes (jax.distributed)"
            )
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ConfigError(f"steps must be an integer ≥ 0, got {steps!r}")
    if steps >= 2**31 - 1:
        raise ConfigError(f"steps must be below 2³¹ − 1 (an int32 step index), got {steps}")
    for name, fn, optional in (
        ("loss", loss, False),
        ("batches", batches, True),
        ("callback", callback, True),
    ):
        if not callable(fn) and not (optional and fn is None):
            raise ConfigError(f"{name} must be a function, got {fn!r}")
    if not (
        callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))
    ):
        raise ConfigError(
            f"optimizer must be an optax GradientTransformation (e.g. optax.adam(1e-2)), got "
            f"{optimizer!r}"
        )
    if checkpoint_every is not None and (
        isinstance(checkpoint_every, bool)
        or not isinstance(checkpoint_every, int | float)
        or not checkpoint_every >= 0
    ):
        raise ConfigError(
            f"checkpoint_every must be a number of seconds ≥ 0 or None, got {checkpoint_every!r}"
        )
    leaves = jax.tree.leaves(params)
    if not leaves:
        raise ConfigError("params must hold at least one array to train")
    for leaf in leaves:
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            raise ConfigError(
                f"params must be float arrays (a pytree of them); got one of dtype "
                f"{jnp.result_type(leaf)}"
            )
    if identity is not None and not isinstance(identity, str):
        try:
            if not isinstance(identity, dict):
                raise TypeError
            json.dumps(identity)
        except (TypeError, ValueError):
            raise ConfigError(
                f"identity must be a string or a JSON-able dict, got {identity!r}"
            ) from None
