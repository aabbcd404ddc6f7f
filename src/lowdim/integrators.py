"""Time-stepping schemes of rate networks other than the engine's exponential-Euler step.

The grid chooses the scheme (``Grid(dt, steps, record_every, scheme=...)``):

- ``"exp-euler"`` (default): the engine's step (:mod:`lowdim.solve`, MODEL.md §3), shared by
  every neuron kind, so that the expected SNN step equals the RNN step. For rate neurons it is
  first order in dt, and its fixed points solve x = g W φ(x) + U u with the gain
  g = (dt/τ)/(1 − e^{−dt/τ}) (+2.5 % at dt = 0.05 τ) instead of x = W φ(x) + U u.
- ``"rk4"``: the classical fourth-order Runge–Kutta method for the rate network's ODE

      τ dx/dt = −x + tgt ⊙ F (s Gᵀ (src ⊙ φ(x))) − γ ⊙ φ(x) + Σ_drives U u(t),

  each of its four stages evaluated through the overlap path (one read of G and one of F,
  :meth:`lowdim.solve.Program.products`; never an N × N matrix). Its fixed points are those of
  the ODE, and its error at a fixed time falls as dt⁴. A step costs four evaluations.

Drives under ``"rk4"``: a JAX function ``u(t)`` is evaluated at t, t + dt/2 and t + dt; an array
on the grid (row k = u(k dt)) is read as the piecewise-constant input the exponential-Euler step
integrates exactly (u = u_k on [k dt, (k+1) dt)), so all four stages of step k use row k and the
scheme stays fourth order for that input (its jumps fall on step boundaries). Stochastic inputs
(:class:`~lowdim.network.Noise`, :class:`~lowdim.network.MembraneNoise`) and spiking or binary
neurons are refused: they are stochastic or discrete, and the exponential-Euler step is their
scheme (for Poisson twins it is the one whose expected step equals the rate step).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import sharding
from .errors import ConfigError
from .grid import SCHEMES
from .network import MembraneNoise, Noise
from .views import DenseView

__all__ = ["SCHEMES", "check_scheme", "rk4_step"]

#: the time-stepping schemes a :class:`~lowdim.solve.Grid` may choose


def check_scheme(prog, net) -> None:
    """Refuse a scheme the network cannot run on (ConfigError saying what to use instead)."""
    scheme = prog.grid.scheme
    if scheme == "exp-euler":
        return
    kinds = [k.name for k in net.kinds]
    if not all(k.ode for k in net.kinds):
        raise ConfigError(
            f"scheme {scheme!r} integrates the ODE of rate neurons; this network has kinds "
            f"{kinds} (spiking/binary neurons are stochastic or discrete): use "
            "Grid(..., scheme='exp-euler') (the default), whose expected spiking step equals the "
            "rate step, or run the rate kind alone"
        )
    for i, inp in enumerate(net.inputs):
        if isinstance(inp, Noise | MembraneNoise):
            raise ConfigError(
                f"scheme {scheme!r} integrates deterministic inputs; input {i} "
                f"({type(inp).__name__}) is white noise (an SDE, for which Runge–Kutta is not "
                "of higher order): use Grid(..., scheme='exp-euler') (the default), or a drive "
                "u(t) instead of the noise"
            )
    if prog.method != "dense":
        raise ConfigError(f"scheme {scheme!r} runs with method='dense' (or 'auto')")


def _field(prog, xs, t, k, P):
    """dx/dt of every kind at time t: (list of (N, B), their rates φ(x), overlaps s Gᵀ φ(x))."""
    B, K = prog.B, prog.K
    if P["F"] is not None:
        # each stage's own handle on the loadings: otherwise XLA:CPU shares one broadcast of F
        # (N, p, columns) between the four stages' fused multiply-and-reduce and materialises
        # it (measured: ~15× slower steps at N = 5·10⁴, p = 10)
        F, G = jax.lax.optimization_barrier((P["F"], P["G"]))
        P = {**P, "F": F, "G": G}
    masks, gamma = P["masks"], P["gamma"]
    rates = [kind.phi(x) for kind, x in zip(prog.kinds, xs, strict=True)]
    A = jnp.concatenate(rates, axis=1) if K > 1 else rates[0]
    if prog.sources is not None:
        A = A * masks[prog.sources][:, None]
    if A.shape[1] == 1:  # a lone column is computed as one of two (as in the dense step)
        A = jnp.concatenate([A, jnp.zeros_like(A)], axis=1)
    # U u(t) of every drive (grid arrays: row k, piecewise constant), computed as in the
    # exponential-Euler step but not integrated over it (the one place: Program.input_terms)
    Cs, post, direct = prog.input_terms(k, P, None, t=t, integrate=False)
    M, blocks = prog.products(A, [], Cs, P)  # an input on a row range: masked below
    I = direct
    for j, (mask, _) in enumerate(post):
        term = blocks[1 + j] if mask is None else blocks[1 + j] * mask[:, None]
        I = term if I is None else I + term
    tgt = masks[prog.targets][:, None] if prog.targets is not None else None
    out, Ms = [], []
    for ki in range(K):
        rk = blocks[0][:, ki * B : (ki + 1) * B]
        if tgt is not None:
            rk = rk * tgt
        dx = rk - gamma[:, None] * rates[ki] - xs[ki]
        if I is not None:
            dx = dx + I
        out.append(dx / prog.tau)
        Ms.append(M[:, ki * B : (ki + 1) * B])
    return out, rates, Ms


def rk4_step(prog, vs, k, P, keys):
    """One classical Runge–Kutta step of every (rate) kind from step k: (new states, view).

    The view (what probes see) is the exponential-Euler step's: the new states, and the rates
    and overlaps (per unit time) of the state the step started from."""
    dt = prog.dt
    t = k.astype(prog.dtype) * dt
    xs = list(vs)

    def at(d, h):  # the stage state x + h·d of every kind
        return [x + h * dk for x, dk in zip(xs, d, strict=True)]

    k1, rates, Ms = _field(prog, xs, t, k, P)
    k2, _, _ = _field(prog, at(k1, 0.5 * dt), t + 0.5 * dt, k, P)
    k3, _, _ = _field(prog, at(k2, 0.5 * dt), t + 0.5 * dt, k, P)
    k4, _, _ = _field(prog, at(k3, dt), t + dt, k, P)
    new = [
        sharding.constrain(x + (dt / 6.0) * (a + 2.0 * b + 2.0 * c + d), prog.mesh)
        for x, a, b, c, d in zip(xs, k1, k2, k3, k4, strict=True)
    ]
    return tuple(new), DenseView(prog, P, new, rates, None, Ms)
