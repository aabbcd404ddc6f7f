"""Task generators on the JAX backend: context-dependent decision making (Mante et al. 2013).

The task, with the timing and coherences of Dubreuil, Valente et al. (2022), is a sequence of
epochs on a grid of step ``dt`` (s):

    fixation (100 ms) → context only (350 ms) → stimulus (800 ms) → delay (100 ms) → decision (20 ms)

Inputs u (trials, steps, 4), channels ``INPUTS``:

- ``stim_a``, ``stim_b`` (the two evidence streams, e.g. motion and colour): white noise of
  standard deviation ``noise_sd`` on every step of the trial, plus ``coherence_scale · c`` during
  the stimulus epoch, with c drawn uniformly from ``coherences`` (±{1, 2, 4}) independently for
  the two streams;
- ``ctx_a``, ``ctx_b``: one of them is 1 from the end of fixation to the end of the trial (the
  context: which stream is relevant), the other 0.

Target: sign of the relevant stream's coherence (±1) during the decision epoch; the loss mask is
1 there (and ``fixation_weight`` on the fixation epoch, where the target is 0).

Epoch lengths are whole numbers of steps, ``floor(duration/dt)`` (the reference code's integer
division: 350 ms at dt = 20 ms is 17 steps); :meth:`ContextDM.epochs` lists them.
Trials are seeded: the same key gives the same batch; :meth:`ContextDM.conditions` gives every
(context, c_a, c_b) combination for held-out tests and psychometric curves.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError

__all__ = ["ContextDM", "INPUTS", "EPOCHS", "accuracy", "decisions"]

#: input channels of the context-dependent task
INPUTS = ("stim_a", "stim_b", "ctx_a", "ctx_b")
#: epochs in their order
EPOCHS = ("fixation", "context", "stimulus", "delay", "decision")


@dataclass(frozen=True)
class ContextDM:
    """Context-dependent decision making (module docstring). Durations in seconds.

    Attributes:
        dt: time step of the task grid (s); 20 ms as in Dubreuil et al.
        fixation, context, stimulus, delay, decision: epoch durations (s).
        coherences: the coherence levels c (both signs are used), in units of
            ``coherence_scale``.
        coherence_scale: input per unit coherence (0.1).
        noise_sd: standard deviation of the input noise per step on the stimulus channels (0.1).
        fixation_weight: loss weight of the fixation epoch (target 0); 0 = decision only.
    """

    dt: float = 0.02
    fixation: float = 0.1
    context: float = 0.35
    stimulus: float = 0.8
    delay: float = 0.1
    decision: float = 0.02
    coherences: tuple = (1.0, 2.0, 4.0)
    coherence_scale: float = 0.1
    noise_sd: float = 0.1
    fixation_weight: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "coherences", tuple(float(c) for c in self.coherences))
        self.validate()

    def validate(self) -> ContextDM:
        for name in ("dt", "stimulus", "decision"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ConfigError(f"task {name} must be a duration > 0 s, got {v!r}")
        for name in ("fixation", "context", "delay", "noise_sd", "fixation_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0:
                raise ConfigError(f"task {name} must be ≥ 0, got {v!r}")
        if self.steps_of("stimulus") < 1 or self.steps_of("decision") < 1:
            raise ConfigError(
                f"the stimulus and decision epochs must last at least one step of dt = {self.dt} s"
            )
        if not self.coherences or any(not (math.isfinite(c) and c > 0) for c in self.coherences):
            raise ConfigError(
                f"coherences must be positive levels (both signs are used), got {self.coherences}"
            )
        return self

    # ------------------------------------------------------------------ timing
    def steps_of(self, epoch: str) -> int:
        """Number of grid steps of ``epoch`` (floor(duration/dt))."""
        return int(math.floor(getattr(self, epoch) / self.dt + 1e-9))

    def epochs(self) -> dict:
        """epoch → (first step, stop step) on the task grid."""
        out, k = {}, 0
        for e in EPOCHS:
            n = self.steps_of(e)
            out[e] = (k, k + n)
            k += n
        return out

    @property
    def steps(self) -> int:
        """Steps per trial."""
        return sum(self.steps_of(e) for e in EPOCHS)

    @property
    def signed_coherences(self) -> np.ndarray:
        """The 2·len(coherences) signed levels, ascending (e.g. −4 … 4)."""
        c = np.asarray(self.coherences)
        return np.sort(np.concatenate([-c, c]))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["coherences"] = list(self.coherences)
        return d

    # ------------------------------------------------------------------ trials
    def build(self, context, coh_a, coh_b, noise):
        """Inputs, targets and masks of given trials (JAX arrays).

        ``context`` (B,) ints (0: stream a relevant, 1: stream b), ``coh_a``, ``coh_b`` (B,)
        signed coherences in units of ``coherence_scale``, ``noise`` (B, steps, 2) standard
        normals. Returns dict with ``u`` (B, steps, 4), ``target`` (B, steps), ``mask``
        (B, steps), ``context``, ``coh_a``, ``coh_b``, ``choice`` (B,) = the correct sign.
        """
        ep = self.epochs()
        T = self.steps
        k = jnp.arange(T)
        s0, s1 = ep["stimulus"]
        stim_on = ((k >= s0) & (k < s1)).astype(jnp.float32)
        ctx_on = (k >= ep["fixation"][1]).astype(jnp.float32)
        d0, d1 = ep["decision"]
        dec = ((k >= d0) & (k < d1)).astype(jnp.float32)
        fix = (k < ep["fixation"][1]).astype(jnp.float32)
        context = jnp.asarray(context, jnp.int32)
        coh_a = jnp.asarray(coh_a, jnp.float32)
        coh_b = jnp.asarray(coh_b, jnp.float32)
        cs = self.coherence_scale
        stim_a = self.noise_sd * noise[..., 0] + cs * coh_a[:, None] * stim_on
        stim_b = self.noise_sd * noise[..., 1] + cs * coh_b[:, None] * stim_on
        is_b = (context == 1).astype(jnp.float32)[:, None]
        ctx_a = (1.0 - is_b) * ctx_on
        ctx_b = is_b * ctx_on
        u = jnp.stack([stim_a, stim_b, ctx_a, ctx_b], axis=-1)
        choice = jnp.where(context == 1, jnp.sign(coh_b), jnp.sign(coh_a))
        target = choice[:, None] * dec
        mask = dec + self.fixation_weight * fix
        return {
            "u": u,
            "target": target,
            "mask": jnp.broadcast_to(mask, target.shape),
            "context": context,
            "coh_a": coh_a,
            "coh_b": coh_b,
            "choice": choice,
        }

    def sample(self, key, batch: int) -> dict:
        """``batch`` random trials: context and both coherences uniform, seeded by ``key``."""
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ConfigError(f"batch must be a positive number of trials, got {batch!r}")
        kc, ka, kb, kn = jax.random.split(key, 4)
        levels = jnp.asarray(self.signed_coherences, jnp.float32)
        context = jax.random.bernoulli(kc, 0.5, (batch,)).astype(jnp.int32)
        coh_a = levels[jax.random.randint(ka, (batch,), 0, levels.size)]
        coh_b = levels[jax.random.randint(kb, (batch,), 0, levels.size)]
        noise = jax.random.normal(kn, (batch, self.steps, 2), jnp.float32)
        return self.build(context, coh_a, coh_b, noise)

    def conditions(self, key, repeats: int = 1) -> dict:
        """Every (context, c_a, c_b) combination ``repeats`` times (2·L²·repeats trials for L
        signed levels), each with its own input noise drawn from ``key``."""
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ConfigError(f"repeats must be a positive integer, got {repeats!r}")
        lv = self.signed_coherences
        ctx, ca, cb = np.meshgrid([0, 1], lv, lv, indexing="ij")
        ctx, ca, cb = (np.tile(a.ravel(), repeats) for a in (ctx, ca, cb))
        noise = jax.random.normal(key, (ctx.size, self.steps, 2), jnp.float32)
        return self.build(ctx, ca, cb, noise)


def decisions(z, task: ContextDM):
    """The network's choice per trial: sign of the readout averaged over the decision epoch.

    ``z``: (trials, steps) or (trials, steps, 1) readout on the task grid. Returns (trials,) ±1
    (0 where the mean is exactly 0)."""
    z = jnp.asarray(z)
    if z.ndim == 3:
        z = z[..., 0]
    d0, d1 = task.epochs()["decision"]
    return jnp.sign(jnp.mean(z[:, d0:d1], axis=1))


def accuracy(z, trials: dict, task: ContextDM) -> float:
    """Fraction of trials whose choice (:func:`decisions`) is the correct sign."""
    return float(jnp.mean(decisions(z, task) == trials["choice"]))
