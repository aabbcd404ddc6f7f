"""The pure solve: one mechanism for every low-rank network (DESIGN.md, "One engine").

``solve(net, grid, key, probes)`` advances a :class:`~lowdim.network.Network` on a time
:class:`Grid` and returns the probed arrays. It is a pure function of its arguments, so
``jax.jit``, ``jax.vmap`` (over trials: inputs, keys, initial states) and ``jax.grad`` (rate
neurons) pass through it.

**Columns.** The state of all paired kinds and all trials is one (N, Q) array, Q = kinds × trials
(kind-major: column k·B + b is kind k of trial b). Per step the engine forms the activities A
(N, Q) and does one contraction over G and one over F for all of them,

    M = s Gᵀ A                   (p × Q: every overlap, one read of G)
    R = F [M, C]                 (N × (Q + c): every recurrent input and every input along the
                                  loadings (C: their coefficients), one read of F)

so F and G are read once per step whatever the number of networks and trials (matrix–matrix).
A single column is padded with a zero column, so that a network run alone computes bitwise what
it computes as one column of a paired run.

**Layouts** (:class:`Layout`, "where"): stored F (N, p) and Gᵀ (p, N) (untiled); or blocks of rows
(``tile_rows``; procedural loadings regenerate each block from the sampler's seed every step);
storage in bf16/fp16 with accumulation in the compute dtype; neurons sharded over devices.

**Methods** ("how"): ``"dense"`` updates every neuron every step (rate, Poisson, synchronous
binary); ``"event"`` (:mod:`lowdim.event`) evaluates only the candidates of the thinning sampler
(Poisson) or of the update clock (asynchronous binary).

**Random numbers.** Per trial, three streams from the trial's key: input ``fold_in(key, 2)``,
intrinsic (spikes, Glauber uniforms, update orders) ``fold_in(key, 3)``, membrane noise
``fold_in(key, 4)``; every draw of step k uses ``fold_in(stream, k)``, so a run does not depend on
how it is cut into chunks, and a reference implementation can reproduce the draws exactly:

- input: ``normal(fold_in(input, k), (r,), dtype)`` for all noise terms together (r = the sum of
  their widths, in the order of ``net.inputs``), scaled by σ √(dt · time_unit);
- Poisson spikes: :func:`lowdim.dynamics.poisson_counts_thinning` with ``fold_in(spikes, k)``;
- synchronous Glauber: ``uniform(fold_in(spikes, k), (N,), dtype)``;
- membrane noise: ``normal(fold_in(membrane, k), (N,), dtype)``.

A batch of trials given one key uses ``jax.random.split(key, trials)`` as the trials' keys.

**Modules.** This module is the public facade (``solve``, ``Program``, ``stream_keys``,
``float64``); the engine behind it is split by job: :mod:`lowdim.plan` (the :class:`Program`:
validation, method, layout, input plan, prepared arrays), :mod:`lowdim.kernels` (products,
inputs, the dense step), :mod:`lowdim.loop` (state, records, outputs), :mod:`lowdim.event` (the
event method) and :mod:`lowdim.integrators` (other schemes); the neuron kinds own their part of
the step (:mod:`lowdim.kinds`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .errors import ConfigError
from .grid import Grid, Layout
from .kernels import FUSED_MAX_COLUMNS, _contract, _split_columns  # noqa: F401  (as before)
from .network import Network
from .plan import EVENT_MAX_CANDIDATES, DriveTerm, MembraneTerm, NoiseTerm, Program  # noqa: F401

__all__ = ["Grid", "Layout", "Program", "solve", "stream_keys", "float64"]


def float64():
    """A context in which float64 networks can be solved: ``with lowdim.float64(): ...``
    (JAX's 64-bit mode, scoped; importing lowdim never switches it on globally)."""
    return jax.enable_x64(True)


def stream_keys(key, trials: int | None, seeds: dict | None = None) -> dict:
    """Per-purpose keys, each of shape (trials or 1, 2): input, spikes, membrane.

    ``key``: a PRNG key (2,) — split into ``trials`` keys for a batch — or (trials, 2) keys.
    ``seeds`` may override a stream with its own key (same shapes), e.g. an independent spike
    noise for the same input realisation."""
    key = jnp.asarray(key)
    if key.dtype != jnp.uint32 or key.shape[-1:] != (2,) or key.ndim not in (1, 2):
        raise ConfigError(
            "key must be a PRNG key (jax.random.PRNGKey(seed)) or an array of trial keys"
        )
    B = trials or 1
    if key.ndim == 1:
        trial_keys = key[None] if trials is None else jax.random.split(key, trials)
    else:
        if key.shape[0] != B:
            raise ConfigError(f"{key.shape[0]} trial keys for {B} trial(s); give one per trial")
        trial_keys = key
    fold = jax.vmap(jax.random.fold_in, in_axes=(0, None))
    out = {
        "input": fold(trial_keys, 2),
        "spikes": fold(trial_keys, 3),
        "membrane": fold(trial_keys, 4),
    }
    for k, v in (seeds or {}).items():
        out[k] = jnp.broadcast_to(jnp.asarray(v), (B, 2))
    return out


# ----------------------------------------------------------------------------- solve
def solve(
    net: Network,
    grid: Grid,
    key,
    probes: dict,
    *,
    method="auto",
    layout=None,
    seeds=None,
    block=None,
):
    """Run ``net`` on ``grid`` and return ``{name: array}`` for every probe (pure function).

    ``key``: ``jax.random.PRNGKey(seed)`` (split into per-trial keys for a batch) or (trials, 2)
    keys; ``seeds`` optionally overrides single streams ({"spikes": key, ...}). Shapes: see
    :mod:`lowdim.probes`. For long or large runs use :func:`lowdim.run` (chunks, progress,
    memory check, checkpoints, xarray output); it computes the same numbers.
    """
    if not isinstance(net, Network):
        raise ConfigError(f"solve needs a lowdim.Network, got {type(net).__name__}")
    if not isinstance(grid, Grid):
        raise ConfigError(f"solve needs a lowdim.Grid, got {type(grid).__name__}")
    if net.dtype == "float64" and not jax.config.jax_enable_x64:
        raise ConfigError(
            "a float64 network needs JAX's 64-bit mode: call solve inside "
            "`with lowdim.float64():`, or set jax.config.update('jax_enable_x64', True)"
        )
    prog = Program(net, grid, probes, method=method, layout=layout, block=block)
    keys = stream_keys(key, net.batch, seeds)
    P = prog.prepare(net)
    state = prog.init_state(P, keys)
    state, recs = prog.advance(state, P, probes, keys, jnp.int32(0), grid.records)
    out = {name: prog.arrange(name, v, trace=True) for name, v in recs.items()}
    out.update(
        {name: prog.arrange(name, v, trace=False) for name, v in prog.averages(state).items()}
    )
    return out
