"""Checks of concrete values shared by the descriptions (network, connectivity): no NaN or ±inf,
named with the first bad index."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .errors import ConfigError

__all__ = ["concrete", "finite"]


def concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def finite(x, name):
    """ConfigError naming the first NaN or ±inf of a concrete array (tracers are not checked:
    their values are not known). One reduction on the array's device; the index only when one
    is bad."""
    if not concrete(x):
        return
    if isinstance(x, jax.Array):
        with jax.ensure_compile_time_eval():  # a constant inside jit: computed now
            ok = bool(jnp.all(jnp.isfinite(x)))
    else:
        a = np.asarray(x)
        if a.dtype.kind not in "biufc":
            raise ConfigError(f"{name} must be an array of numbers, got dtype {a.dtype}")
        ok = bool(np.all(np.isfinite(a)))
    if ok:
        return
    a = np.asarray(x)
    first = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
    value = a[first] if first else a.item()
    if len(first) == 2:
        where = f" at row {first[0]}, column {first[1]}"
    elif len(first) == 1:
        where = f" at index {first[0]}"
    else:
        where = f" at index {first}" if first else ""
    raise ConfigError(
        f"{name} has a non-finite value ({float(np.real(value))!r}){where}; give finite numbers"
    )
