"""The Hopfield model of associative memory as a low-rank network (lecture, "Hopfield model").

Patterns p^μ ∈ {−1, +1}^N (μ = 1 … P) are stored in the Hebbian connectivity

    w_ij = (1/N) Σ_μ p_i^μ p_j^μ   (i ≠ j),                                       (H1)

a rank-P matrix: loadings F = G = patterns, scale 1/N (:class:`lowdim.Network`; the engine
removes the self-term, w_ii = 0, unless ``self_coupling=True`` keeps w_ii = P/N as in much of the
literature). The field of neuron i is h_i = Σ_μ p_i^μ m^μ − (P/N) S_i (self_coupling: without the
last term) with the overlaps

    m^μ(t) = (1/N) Σ_j p_j^μ S_j(t),                                               (H2)

and the neurons are ±1 units (:class:`lowdim.Binary`): S_i ← sgn h_i (synchronous: all at once;
asynchronous: one at a time, in a random order per sweep) or Glauber updates
P(S_i = +1 | h_i) = g(β h_i), g(u) = (1 + tanh u)/2 (inverse temperature β). No second simulator:
everything here builds a description and runs :func:`lowdim.solve`.

**Mean-field map** (the lecture's m(t+1) = F̃(m(t))). Start from a state S with overlap m with
pattern 1 and no macroscopic overlap with the others. With w_ii = 0,

    p_i^1 h_i = (1/N) Σ_{j≠i} p_j^1 S_j + Σ_{μ≠1} p_i^1 p_i^μ (1/N) Σ_{j≠i} p_j^μ S_j
              = m + z_i √α + O(1/N),                                               (H3)

where the crosstalk z_i √α sums P − 1 terms ±m^μ (μ ≠ 1), each of variance 1/N for a state that is
random with respect to pattern μ: by the central limit theorem z_i ~ N(0, 1) and α = P/N is the
load. Synchronous Glauber updates then give E[p_i^1 S_i(t+1)] = E[tanh(β(m + √α z))] (odd g), so

    m(t+1) = F(m(t)),   F(m) = ∫ Dz tanh(β (m + √α z)),   Dz = e^{−z²/2} dz/√(2π),       (H4)

with F(m) = erf(m/√(2α)) for β = ∞ (sign updates) and F(m) = tanh(β m) for α → 0 (a general gain
g gives 2g − 1 in place of tanh). *Which approximation this is*: (H4) is exact for the first
synchronous step in the limit N → ∞ at fixed α, starting from a state whose errors are independent
of the patterns (a cue made by flipping random bits); at α → 0 it is exact at every step. Iterated
at finite α it is the naive signal-to-noise approximation: it ignores the correlations that
build up between the state and the crosstalk after the first step (Gardner, Derrida & Mottishaw
1987; Amari & Maginu 1988), so it overestimates the capacity (its retrieval fixed point of
m = erf(m/√(2α)) exists up to α = 2/π, far beyond the true α_c ≈ 0.138 of Amit, Gutfreund &
Sompolinsky 1985).

Fixed points m* = F(m*) are stable when |F'(m*)| < 1. For α → 0, F'(0) = β: m = 0 is stable for
β < 1 and loses stability at β = 1, where the retrieval states ±m*(β) > 0 branch off (pitchfork);
for α > 0 the bifurcation moves to β_c(α) > 1 (:func:`critical_beta`).

**Capacity** (equilibrium theory, :func:`ags_overlap`): the zero-temperature replica-symmetric
solution of Amit, Gutfreund & Sompolinsky (1987), y(√(2α) + (2/√π) e^{−y²}) = erf(y), m = erf(y),
has a retrieval solution for α < α_c = 0.1379, where m = 0.967.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq
from scipy.special import erf

from ..errors import ConfigError
from ..network import Binary, Network
from ..probes import Overlaps, Potentials
from ..solve import Grid, Layout, solve

__all__ = [
    "ALPHA_C",
    "M_AT_ALPHA_C",
    "random_patterns",
    "correlated_patterns",
    "corrupt",
    "correlated_first_step",
    "hopfield_network",
    "retrieve",
    "mean_field_map",
    "mean_field_slope",
    "iterate_map",
    "fixed_points",
    "critical_beta",
    "ags_overlap",
    "ags_state",
    "ags_retrieval_beta",
    "final_overlaps",
    "critical_load",
    "overlap_crossing",
]

#: Amit, Gutfreund & Sompolinsky (1985, 1987): critical load and retrieval overlap there (β = ∞).
ALPHA_C = 0.1379
M_AT_ALPHA_C = 0.9674

_ROWS_PER_CHUNK = 8192


# ----------------------------------------------------------------------------- patterns
def _check_size(neurons, count):
    for name, v in (("neurons", neurons), ("count", count)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")


def _dtype(dtype):
    try:
        dt = jnp.dtype(dtype)
    except TypeError:
        raise ConfigError(
            f"unknown dtype {dtype!r}; use 'float32', 'float64' or 'bfloat16'"
        ) from None
    if dt not in (jnp.dtype("float32"), jnp.dtype("float64"), jnp.dtype("bfloat16")):
        raise ConfigError(f"patterns are stored as float32, float64 or bfloat16, not {dt}")
    return dt


def random_patterns(neurons: int, count: int, seed: int = 0, dtype="float32") -> np.ndarray:
    """``count`` independent random patterns of ``neurons`` ±1 entries: an (N, P) array.

    Every entry is +1 or −1 with probability 1/2, independently (random bits of NumPy's PCG64
    generator seeded with ``seed``, drawn in blocks of rows, so the memory beyond the result is
    O(P)). ``dtype="bfloat16"`` (±1 is exact in it) halves the memory of float32 — at N = 10⁵,
    P = 2·10⁴ the array takes 4 GB instead of 8.
    """
    _check_size(neurons, count)
    dt = _dtype(dtype)
    rng = np.random.default_rng(seed)
    out = np.empty((neurons, count), dt)
    nbytes = -(-count // 8)
    for a in range(0, neurons, _ROWS_PER_CHUNK):
        b = min(neurons, a + _ROWS_PER_CHUNK)
        bits = np.unpackbits(rng.integers(0, 256, (b - a, nbytes), np.uint8), axis=1)
        out[a:b] = (2 * bits[:, :count].astype(np.int8) - 1).astype(dt)
    return out


def correlated_patterns(
    neurons: int, count: int, correlation: float, seed: int = 0, dtype="float32"
) -> tuple[np.ndarray, np.ndarray]:
    """Patterns that share a common component: (patterns (N, P), prototype (N,)).

    A random prototype ξ ∈ {±1}^N; pattern μ keeps each ξ_i with probability (1 + b)/2 and flips
    it otherwise, independently, with b = √correlation. Then E[p_i^μ] = 0, E[p_i^μ ξ_i] = b and
    E[p_i^μ p_i^ν] = b² = ``correlation`` for μ ≠ ν: the patterns' pairwise overlaps are
    ``correlation`` ± O(1/√N). The crosstalk of (H1) is then no longer zero-mean: in the state
    S = p^1, m^μ ≈ b² for μ ≠ 1, so h_i = p_i^1 + b² Σ_{μ≠1} p_i^μ, and on the neurons where the
    pattern disagrees with the prototype (p_i^1 = −ξ_i, a fraction (1 − b)/2)

        p_i^1 h_i ≈ 1 − (P − 1) b³ + b² √((P − 1)(1 − b²)) z,   z ~ N(0, 1):

    once (P − 1) b³ approaches 1 these neurons flip towards the prototype, which raises every
    m^μ and pulls the state on to the prototype (overlap b with each pattern) — the failure of
    the Hebbian rule for correlated patterns.
    """
    _check_size(neurons, count)
    if isinstance(correlation, bool) or not 0 <= correlation <= 1:
        raise ConfigError(f"correlation must be a number in [0, 1], got {correlation!r}")
    dt = _dtype(dtype)
    rng = np.random.default_rng(seed)
    xi = rng.choice(np.array([-1.0, 1.0]), size=neurons)
    b = math.sqrt(correlation)
    keep = rng.random((neurons, count)) < (1 + b) / 2
    pat = np.where(keep, xi[:, None], -xi[:, None]).astype(dt)
    return pat, xi.astype(dt)


def correlated_first_step(count: int, correlation: float) -> float:
    """Overlap with pattern 1 after one synchronous sign update *from* pattern 1, for
    :func:`correlated_patterns` (N → ∞ at fixed P): 1 − 2 f with f the fraction of flips,

        f = ((1 − b)/2) Φ(((P − 1) b³ − 1) / (b² √((P − 1)(1 − b²))))
          + ((1 + b)/2) Φ((−(P − 1) b³ − 1) / (b² √((P − 1)(1 − b²)))),

    from p_i^1 h_i = 1 ∓ (P − 1) b³ + b² √((P − 1)(1 − b²)) z on the neurons that disagree (−)
    or agree (+) with the prototype (Φ: standard normal CDF; Σ_{μ≠1} p_i^μ treated as Gaussian).
    """
    from scipy.special import ndtr

    if count < 2 or correlation <= 0:
        return 1.0
    b = math.sqrt(correlation)
    k = count - 1
    sd = b * b * math.sqrt(k * max(1 - b * b, 0.0))
    if sd == 0:
        flips = (1 - b) / 2 * float(k * b**3 > 1)
    else:
        flips = (1 - b) / 2 * ndtr((k * b**3 - 1) / sd) + (1 + b) / 2 * ndtr((-k * b**3 - 1) / sd)
    return float(1 - 2 * flips)


def corrupt(pattern, fraction: float, seed: int = 0) -> np.ndarray:
    """A cue: ``pattern`` (N,) with exactly round(fraction · N) entries flipped (chosen at random).

    The cue's overlap with the pattern is then exactly 1 − 2·round(fraction N)/N (e.g. 0.6 for 20 %
    flipped). Returns float32 (N,).
    """
    x = np.asarray(pattern, np.float32).copy()
    if x.ndim != 1 or not np.all(np.abs(x) == 1):
        raise ConfigError("corrupt needs one pattern: a 1-D array of ±1 values")
    if isinstance(fraction, bool) or not 0 <= fraction <= 1:
        raise ConfigError(f"fraction of flipped bits must be in [0, 1], got {fraction!r}")
    k = round(fraction * x.size)
    idx = np.random.default_rng(seed).choice(x.size, size=k, replace=False)
    x[idx] *= -1
    return x


# ----------------------------------------------------------------------------- network, runs
def hopfield_network(
    patterns,
    cue,
    schedule: str = "sync",
    beta: float = math.inf,
    gain: Callable | None = None,
    tau: float = 1.0,
    dtype: str = "float32",
    fold_beta: bool = False,
    zero: str = "keep",
    self_coupling: bool = False,
) -> Network:
    """The Hopfield network (H1) as a :class:`lowdim.Network`: F = G = patterns, scale 1/N.

    ``patterns``: (N, P) ±1 (NumPy or JAX, any float dtype; bfloat16 is exact). ``cue``: the
    initial state, (N,) or (trials, N) ±1 — trials are run side by side as columns of one run
    (they share the patterns, so F and G are read once per step for all of them).
    ``schedule``/``beta``/``gain``/``zero`` (sgn 0: ``"keep"`` the state or ``"plus"``): see
    :class:`lowdim.Binary`. ``tau`` only matters for the "continuous" schedule (mean time between
    the updates of a neuron, s). ``dtype="float64"`` computes the fields in float64 (inside
    ``with lowdim.float64():``).

    ``fold_beta=True`` (finite β only) builds the same Markov chain as ``Binary(beta=β)`` with
    ``Binary(beta=1)`` and scale β/N: the Glauber probability g(β h) depends on β and h only
    through β h, and the scale is an array of the description (not a compile-time constant), so
    one compiled program then serves every β (used by :func:`retrieve`; same random numbers, and
    the same states up to the rounding of β·h).

    ``self_coupling``: False (default) w_ii = 0; True keeps w_ii = (1/N) Σ_μ (p_i^μ)² = P/N.
    """
    shape = jnp.shape(patterns)
    if len(shape) != 2:
        raise ConfigError(f"patterns must be an (N, P) array, got shape {shape}")
    n = int(shape[0])
    c = jnp.shape(cue)
    if c not in ((n,), (c[0] if len(c) == 2 else -1, n)):
        raise ConfigError(f"the cue must have shape ({n},) or (trials, {n}); got {c}")
    fold = fold_beta and math.isfinite(beta)
    return Network(
        neurons=n,
        F=patterns,
        G=patterns,
        scale=(beta if fold else 1.0) / n,
        kinds=(Binary(schedule, beta=1.0 if fold else beta, gain=gain, zero=zero),),
        x0=cue,
        tau=tau,
        dtype=dtype,
        self_coupling=self_coupling,
    )


def retrieve(
    patterns,
    cue,
    steps: int,
    schedule: str = "sync",
    beta: float = math.inf,
    gain: Callable | None = None,
    modes: int | None = None,
    seed: int = 0,
    storage: str | None = None,
    states: bool = False,
    tau: float = 1.0,
    dt: float = 1.0,
    zero: str = "keep",
    dtype: str = "float32",
    stop_when_stable: bool = False,
    chunk: int = 10,
    self_coupling: bool = False,
) -> dict:
    """Run the Hopfield network from ``cue`` for ``steps`` steps; overlaps m^μ(t), t = 0 … steps.

    One step is one synchronous update of all neurons ("sync"), one asynchronous sweep ("async")
    or a time dt of continuous-time updates ("continuous"). Returns a dict with

    - ``"m"``: overlaps (H2) with the first ``modes`` patterns (default all), shape
      ``(trials?, steps + 1, modes)``; row 0 is the cue's own overlap, row t the overlap after t
      steps (the probe :class:`lowdim.Overlaps` records the state each synchronous step starts
      from, and the state after each sweep of the event method; both are aligned here);
    - ``"S"`` (if ``states``): the states after each step, ``(trials?, steps, N)``.

    ``storage="bfloat16"`` keeps F = G in bfloat16 (exact for ±1; half the memory and bytes read
    per step). Random numbers: the engine's streams of ``jax.random.PRNGKey(seed)``. Glauber
    runs use ``fold_beta`` (see :func:`hopfield_network`), so a sweep over β compiles once.
    ``zero``: sgn 0 keeps the state (``"keep"``) or gives +1 (``"plus"``); ``dtype="float64"``:
    fields in float64 (inside ``with lowdim.float64():``). ``self_coupling=True`` keeps
    w_ii = P/N (default: w_ii = 0).

    ``stop_when_stable=True`` (asynchronous sign dynamics, β = ∞): run in chunks of ``chunk``
    sweeps and stop after the chunk in which every trial has had a sweep without a flip (a fixed
    point: every neuron was updated and none changed; the states no longer change). ``"m"`` then
    ends there (``steps`` is the most sweeps run), and ``"sweeps"`` gives, per trial, the number
    of the first sweep without a flip (−1: none within the sweeps run). The first chunk uses the
    random orders of an uninterrupted run; chunk c ≥ 1 a seed drawn with
    ``fold_in(PRNGKey(seed), c)``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    if stop_when_stable:
        if schedule != "async" or math.isfinite(beta):
            raise ConfigError(
                "stop_when_stable needs asynchronous sign dynamics (schedule='async', beta=inf): "
                "a sweep without a flip is then a fixed point"
            )
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ConfigError(f"chunk must be a positive integer (sweeps), got {chunk!r}")
        return _retrieve_until_stable(
            patterns, cue, steps, modes, seed, storage, states, zero, dtype, chunk, self_coupling
        )
    net = hopfield_network(
        patterns,
        cue,
        schedule,
        beta,
        gain,
        tau=tau,
        fold_beta=True,
        zero=zero,
        dtype=dtype,
        self_coupling=self_coupling,
    )
    p = net.rank
    k = p if modes is None else min(int(modes), p)
    sync = schedule == "sync"
    probes = {"m": Overlaps(modes=k)}
    if states:
        probes["S"] = Potentials()
    grid = Grid(dt=dt, steps=steps + 1 if sync else steps)
    layout = Layout(storage=storage)
    out = _solve_jit(net, grid, jax.random.PRNGKey(seed), probes, layout)
    m = np.asarray(out["m"], np.float64)
    if math.isfinite(beta):  # the probe reports s Gᵀ S with s = β/N (fold_beta)
        m = m / beta
    batched = m.ndim == 3
    if not batched:
        m = m[None]
    if not sync:  # records after each sweep: prepend the cue's overlap
        P0 = np.asarray(jnp.asarray(patterns)[:, :k], np.float32)
        x0 = np.asarray(cue, np.float32).reshape(m.shape[0], -1)
        m0 = (x0 @ P0) / net.neurons
        m = np.concatenate([m0[:, None, :], m], axis=1)
    res = {"m": m if batched else m[0]}
    if states:
        S = np.asarray(out["S"], np.float32)
        res["S"] = S[..., :steps, :] if sync else S
    return res


def _retrieve_until_stable(
    patterns, cue, steps, modes, seed, storage, states, zero, dtype, chunk, self_coupling=False
):
    """Asynchronous sign sweeps in chunks until every trial has had a sweep without a flip."""
    x = np.asarray(cue, np.float32)
    batched = x.ndim == 2
    S = x if batched else x[None]
    B = S.shape[0]
    ms, Ss = [], []
    first = np.full(B, -1)
    done, c = 0, 0
    while done < steps:
        k = min(chunk, steps - done)
        key = (
            None
            if c == 0
            else int(
                jax.random.randint(
                    jax.random.fold_in(jax.random.PRNGKey(seed), c), (), 0, 2**31 - 1
                )
            )
        )
        r = retrieve(
            patterns,
            S,
            k,
            "async",
            modes=modes,
            seed=seed if key is None else key,
            storage=storage,
            states=True,
            zero=zero,
            dtype=dtype,
            self_coupling=self_coupling,
        )
        m, St = r["m"], r["S"]  # (B, k + 1, modes), (B, k, N)
        ms.append(m if c == 0 else m[:, 1:])
        if states:
            Ss.append(St)
        prev = np.concatenate([S[:, None], St[:, :-1]], axis=1)
        still = np.all(St == prev, axis=-1)  # (B, k): sweep without a flip
        for b in range(B):
            if first[b] < 0 and still[b].any():
                first[b] = done + 1 + int(np.argmax(still[b]))
        S = St[:, -1]
        done += k
        c += 1
        if np.all(first >= 0):
            break
    m = np.concatenate(ms, axis=1)
    res = {"m": m if batched else m[0], "sweeps": first if batched else int(first[0])}
    res["steps"] = done
    if states:
        Sall = np.concatenate(Ss, axis=1)
        res["S"] = Sall if batched else Sall[0]
    return res


def _solve_impl(net, grid, key, probes, layout):
    return solve(net, grid, key, probes, layout=layout)


_solve_jit = jax.jit(_solve_impl, static_argnums=(1, 4))


def final_overlaps(
    neurons: int,
    load: float,
    trials: int = 8,
    max_steps: int = 200,
    chunk: int = 10,
    seed: int = 0,
    storage: str | None = "bfloat16",
    retrieved_above: float = 0.9,
    failed_below: float = 0.5,
    pad_to: int | None = None,
    progress: Callable | None = None,
    schedule: str = "sync",
    beta: float = math.inf,
    zero: str = "keep",
    self_coupling: bool = False,
) -> dict:
    """Capacity probe: start *from* each of the first ``trials`` stored patterns and run
    synchronous sign updates until every trial is decided; return the overlaps over time.

    ``schedule="async"`` runs asynchronous sweeps instead (converged: a sweep without a flip);
    a finite ``beta`` runs Glauber dynamics of either schedule (never converged: it runs until
    the trial has failed or ``max_steps``). ``zero``: sgn 0 keeps the state or gives +1.

    P = round(load · N) random patterns (seed ``seed``); trial b starts at pattern b and is scored
    by its overlap m^b(t) (H2). The trials are columns of one run (F = G = patterns are read once
    per step for all of them); the run goes on in chunks of ``chunk`` steps until each trial has
    either converged (its state equals the state two steps before: a fixed point or a 2-cycle of
    synchronous dynamics) or fallen below ``failed_below`` (it has left the pattern and will not
    come back), or ``max_steps`` is reached. Returns

    - ``"m"``: (trials, T + 1) overlaps m^b(t), t = 0 … T (T: steps run);
    - ``"final"``: (trials,) the last overlap, ``"retrieved"``: final > ``retrieved_above``
      (0.9 lies below every retrieval state of the theory, m ≥ 0.967 for α ≤ α_c);
    - ``"converged"``: (trials,) bool, ``"patterns"``: P, ``"load"``: P/N, ``"steps"``: T.

    ``storage="bfloat16"``: F and G in bfloat16 (±1 exact), 2 N P bytes each. ``pad_to``: append
    zero columns up to this many (they add nothing to w) so that runs at several loads share one
    compiled program. ``self_coupling=True`` keeps w_ii = P/N (default: w_ii = 0).
    """
    _check_size(neurons, trials)
    if not 0 < load:
        raise ConfigError(f"load must be > 0, got {load!r}")
    p = max(1, round(load * neurons))
    if trials > p:
        raise ConfigError(f"trials = {trials} > P = {p} patterns; lower trials or raise the load")
    if chunk < 2 or max_steps < chunk:
        raise ConfigError("chunk must be ≥ 2 steps and max_steps ≥ chunk")
    pat = random_patterns(neurons, p, seed, dtype=storage or "float32")
    if pad_to is not None and pad_to > p:
        pat = np.pad(pat, ((0, 0), (0, pad_to - p)))
    pat = jnp.asarray(pat)
    own = np.arange(trials)
    S = pat[:, :trials].T.astype(jnp.float32)
    hist = [np.ones(trials)]
    converged = np.zeros(trials, bool)
    failed = np.zeros(trials, bool)
    if schedule not in ("sync", "async"):
        raise ConfigError(f"capacity runs use schedule 'sync' or 'async', got {schedule!r}")
    sync, glauber = schedule == "sync", math.isfinite(beta)
    grid = Grid(dt=1.0, steps=chunk)
    probes = {"m": Overlaps(modes=trials), "S": Potentials()}
    steps = 0
    while steps < max_steps:
        net = hopfield_network(
            pat, S, schedule, beta, zero=zero, fold_beta=glauber, self_coupling=self_coupling
        )
        key = jax.random.PRNGKey(seed)
        if glauber or not sync:  # fresh random numbers per chunk (sign sync: deterministic)
            key = jax.random.fold_in(key, steps)
        out = _solve_jit(net, grid, key, probes, Layout(storage=storage))
        m = np.asarray(out["m"], np.float64)[own, :, own]  # sync: t = steps … steps + chunk − 1
        if glauber:
            m = m / beta  # fold_beta: the probe reports (β/N) Gᵀ S
        states = out["S"]  # states after each step of the chunk, (trials, chunk, N)
        prev = S
        S = states[:, -1]
        steps += chunk
        if sync:
            hist.extend(m[:, 1:].T)
            m_end = np.asarray(S @ pat[:, :trials].astype(jnp.float32), np.float64)[own, own]
            hist.append(m_end / neurons)
        else:  # async: the probe records after each sweep
            hist.extend(m.T)
        if glauber:
            converged = np.zeros(trials, bool)
        elif sync:
            converged = np.asarray(jnp.all(states[:, -1] == states[:, -3], axis=-1))
        else:
            before = states[:, -2] if chunk > 1 else prev
            converged = np.asarray(jnp.all(states[:, -1] == before, axis=-1))
        failed |= np.min(np.stack(hist[-chunk:]), axis=0) < failed_below
        if progress is not None:
            progress(steps, converged, failed)
        if np.all(converged | failed):
            break
    m = np.stack(hist, axis=1)
    final = m[:, -1]
    del pat, S, out, states
    return {
        "m": m,
        "final": final,
        "retrieved": final > retrieved_above,
        "converged": converged,
        "patterns": p,
        "load": p / neurons,
        "steps": steps,
    }


# ----------------------------------------------------------------------------- mean field
def _gauss_hermite(n=121):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / w.sum()


_Z, _W = _gauss_hermite()


def _check_load_beta(load, beta):
    if isinstance(load, bool) or not isinstance(load, int | float) or load < 0:
        raise ConfigError(f"load α = P/N must be a number ≥ 0, got {load!r}")
    if isinstance(beta, bool) or not isinstance(beta, int | float) or not beta > 0:
        raise ConfigError(f"beta must be > 0 (math.inf for sign updates), got {beta!r}")


def _gain_np(gain):
    if gain is None:
        return lambda u: np.tanh(u)

    def odd(u):
        with jax.enable_x64(True):
            return 2.0 * np.asarray(gain(jnp.asarray(u, jnp.float64)), np.float64) - 1.0

    return odd


def mean_field_map(m, load: float = 0.0, beta: float = math.inf, gain=None) -> np.ndarray:
    """F(m) of (H4): the overlap after one synchronous update from overlap m (any shape).

    ``load`` α = P/N (crosstalk variance), ``beta`` the inverse temperature (math.inf: sign),
    ``gain`` the Glauber gain g (default (1 + tanh u)/2, i.e. F = ∫Dz tanh(β(m + √α z))).
    Gaussian average by 121-point Gauss–Hermite quadrature (exact erf for β = ∞).
    """
    _check_load_beta(load, beta)
    m = np.asarray(m, np.float64)
    if math.isinf(beta):
        if load == 0:
            return np.sign(m)
        return erf(m / math.sqrt(2 * load))
    g = _gain_np(gain)
    u = beta * (m[..., None] + math.sqrt(load) * _Z)
    return np.sum(_W * g(u), axis=-1)


def mean_field_slope(m, load: float = 0.0, beta: float = math.inf, gain=None) -> np.ndarray:
    """F'(m) of (H4): β ∫Dz (1 − tanh²(β(m + √α z))) for the default gain; √(2/(πα))
    e^{−m²/(2α)} for β = ∞; central differences (step 1e-6, float64) for a custom gain."""
    _check_load_beta(load, beta)
    m = np.asarray(m, np.float64)
    if math.isinf(beta):
        if load == 0:
            return np.zeros_like(m)
        return math.sqrt(2 / (math.pi * load)) * np.exp(-(m**2) / (2 * load))
    if gain is None:
        u = beta * (m[..., None] + math.sqrt(load) * _Z)
        return beta * np.sum(_W * (1 - np.tanh(u) ** 2), axis=-1)
    h = 1e-6
    return (mean_field_map(m + h, load, beta, gain) - mean_field_map(m - h, load, beta, gain)) / (
        2 * h
    )


def iterate_map(m0, steps: int, load: float = 0.0, beta: float = math.inf, gain=None):
    """m(0 … steps) of m(t+1) = F(m(t)) from m(0) = ``m0`` (array of shape (steps + 1, *m0))."""
    m = [np.asarray(m0, np.float64)]
    for _ in range(steps):
        m.append(mean_field_map(m[-1], load, beta, gain))
    return np.stack(m)


def fixed_points(load: float = 0.0, beta: float = math.inf, gain=None) -> list[dict]:
    """The fixed points m* ≥ 0 of (H4) with their slope F'(m*) and stability (|F'| < 1).

    m* = 0 is always one (F is odd); the others are bracketed on a grid of 4001 points in (0, 1]
    and refined by Brent's method. Negative ones are the mirror images −m*.
    """
    _check_load_beta(load, beta)

    def f(x):
        return float(mean_field_map(x, load, beta, gain)) - x

    grid = np.linspace(1e-9, 1.0, 4001)
    vals = mean_field_map(grid, load, beta, gain) - grid
    roots = [0.0]
    for a, b, fa, fb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:], strict=True):
        if fa == 0:
            roots.append(float(a))
        elif fa * fb < 0:
            roots.append(brentq(f, a, b, xtol=1e-13))
    out = []
    for r in roots:
        s = float(mean_field_slope(r, load, beta, gain))
        out.append({"m": float(r), "slope": s, "stable": abs(s) < 1})
    return out


def critical_beta(load: float = 0.0, gain=None) -> float:
    """β_c(α): the inverse temperature at which m = 0 loses stability, F'(0; α, β_c) = 1.

    1 for α = 0 (F'(0) = β); larger for α > 0; ∞ when α ≥ 2/π (then F'(0) < 1 for every β in the
    naive map (H4)).
    """
    _check_load_beta(load, 1.0)
    if load == 0 and gain is None:
        return 1.0
    if load >= 2 / math.pi:
        return math.inf

    def f(b):
        return float(mean_field_slope(0.0, load, b, gain)) - 1.0

    hi = 2.0
    while f(hi) < 0:
        hi *= 2
        if hi > 1e6:
            return math.inf
    return brentq(f, 1e-6, hi, xtol=1e-12)


def ags_overlap(load) -> np.ndarray:
    """Retrieval overlap m(α) of the zero-temperature replica-symmetric theory (Amit, Gutfreund
    & Sompolinsky 1987): the largest solution of y(√(2α) + (2/√π) e^{−y²}) = erf(y), m = erf(y);
    NaN for α > α_c = 0.1379 (no retrieval state)."""
    a = np.atleast_1d(np.asarray(load, np.float64))
    y = np.linspace(0.3, 8.0, 400_001)
    alpha_of_y = (erf(y) / y - 2 / math.sqrt(math.pi) * np.exp(-(y**2))) ** 2 / 2
    i_max = int(np.argmax(alpha_of_y))
    ys, als = y[i_max:], alpha_of_y[i_max:]  # the retrieval branch: α decreases as y grows
    out = np.full(a.shape, np.nan)
    ok = (a <= als[0]) & (a > 0)
    out[ok] = erf(np.interp(a[ok], als[::-1], ys[::-1]))
    out[a == 0] = 1.0
    return out if np.ndim(load) else out[0]


def ags_state(load: float, beta: float, iterations: int = 5000) -> dict:
    """Retrieval state of the replica-symmetric theory at inverse temperature β (Amit, Gutfreund
    & Sompolinsky 1987): the solution reached from m = q = 1 of

        m = ∫Dz tanh(β(m + √(α r) z)),  q = ∫Dz tanh²(β(m + √(α r) z)),
        r = q / (1 − β(1 − q))²,

    by damped iteration (factor 1/2, until the change is below 1e-13 or ``iterations`` steps;
    the Gaussian average on a grid of 6401 points in [−8, 8], which resolves 1 − tanh² up to
    β √(α r) ~ 300; close to the disappearance of the retrieval state the iteration is slow and
    5000 steps may leave a decaying state counted as retrieval). Unlike the map (H4), the crosstalk variance α r includes the response of the
    state to the other patterns. Returns {"m", "q", "r", "retrieval"}; ``retrieval`` is False
    (and m ≈ 0) where no retrieval state exists. Limits: :func:`ags_overlap` (β → ∞), m =
    tanh(β m) (α → 0).
    """
    _check_load_beta(load, beta)
    z = np.linspace(-8.0, 8.0, 6401)
    w = np.exp(-(z**2) / 2)
    w /= w.sum()
    m, q = 1.0, 1.0
    for _ in range(iterations):
        r = q / (1 - beta * (1 - q)) ** 2
        t = np.tanh(beta * (m + math.sqrt(load * r) * z))
        m_new, q_new = float(w @ t), float(w @ (t * t))
        done = abs(m_new - m) < 1e-13 and abs(q_new - q) < 1e-13
        m, q = 0.5 * (m + m_new), 0.5 * (q + q_new)
        if done:
            break
    r = q / (1 - beta * (1 - q)) ** 2
    return {"m": m, "q": q, "r": r, "retrieval": bool(m > 1e-3)}


def ags_retrieval_beta(load: float) -> float:
    """β_M(α): the smallest β at which :func:`ags_state` has a retrieval state (bisection on
    [1, 200], to 0.01); 1 for α = 0, ∞ if there is none below β = 200 (α ≳ α_c)."""
    if load == 0:
        return 1.0
    lo, hi = 1.0, 200.0
    if not ags_state(load, hi)["retrieval"]:
        return math.inf
    while hi - lo > 1e-2:
        mid = 0.5 * (lo + hi)
        if ags_state(load, mid)["retrieval"]:
            hi = mid
        else:
            lo = mid
    return hi


# ----------------------------------------------------------------------------- capacity estimate
def critical_load(loads, retrieved, bootstrap: int = 400, seed: int = 0) -> dict:
    """The load at which half of the retrievals succeed, from binary outcomes.

    ``loads``: (L,) loads α; ``retrieved``: (L, trials) booleans (final overlap above a
    threshold). A probit curve P(α) = Φ((α_50 − α)/w) is fitted by maximum likelihood;
    α_50 is returned with a bootstrap standard error (trials resampled within each load,
    ``bootstrap`` times). Returns {"alpha": α_50, "stderr": …, "width": w, "fraction": (L,)}.
    """
    from scipy.optimize import minimize
    from scipy.special import ndtr

    a = np.asarray(loads, np.float64)
    r = np.asarray(retrieved, bool)
    if r.ndim != 2 or r.shape[0] != a.size or a.size < 2:
        raise ConfigError("critical_load needs loads (L,) and outcomes (L, trials), L ≥ 2")
    frac = r.mean(axis=1)

    def fit(k):
        n = k.shape[1]

        def nll(theta):
            mu, logw = theta
            pr = np.clip(ndtr((mu - a) / np.exp(logw)), 1e-12, 1 - 1e-12)
            succ = k.sum(axis=1)
            return -np.sum(succ * np.log(pr) + (n - succ) * np.log(1 - pr))

        f = k.mean(axis=1)
        # start: linear interpolation of the crossing of 1/2
        below = np.where(f < 0.5)[0]
        mu0 = a[below[0]] if below.size else a[-1]
        if below.size and below[0] > 0:
            i = below[0]
            mu0 = np.interp(0.5, [f[i], f[i - 1]], [a[i], a[i - 1]])
        w0 = max(np.ptp(a) / 10, 1e-4)
        res = minimize(
            nll,
            [mu0, math.log(w0)],
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000},
        )
        return res.x[0], math.exp(res.x[1])

    mu, w = fit(r)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(bootstrap):
        idx = rng.integers(0, r.shape[1], r.shape)
        boots.append(fit(np.take_along_axis(r, idx, axis=1))[0])
    return {
        "alpha": float(mu),
        "stderr": float(np.std(boots)),
        "width": float(w),
        "fraction": frac.tolist(),
    }


def overlap_crossing(loads, finals, level: float = 0.9, bootstrap: int = 400, seed: int = 0):
    """The load at which the mean final overlap falls through ``level``.

    ``loads``: (L,) increasing loads; ``finals``: (L, trials) final overlaps. The crossing is the
    linear interpolation between the last load whose mean is ≥ ``level`` and the next one (the
    first crossing from below); NaN if the mean never crosses. Standard error: bootstrap over
    the trials within each load. Returns {"alpha", "stderr", "width": NaN, "mean": (L,)}.
    """
    a = np.asarray(loads, np.float64)
    f = np.asarray(finals, np.float64)
    if f.ndim != 2 or f.shape[0] != a.size or a.size < 2:
        raise ConfigError("overlap_crossing needs loads (L,) and final overlaps (L, trials), L ≥ 2")
    if not 0 < level < 1:
        raise ConfigError(f"the overlap level must lie in (0, 1), got {level!r}")

    def cross(mean):
        below = np.where(mean < level)[0]
        if not below.size or below[0] == 0:
            return math.nan
        i = below[0]
        return float(np.interp(level, [mean[i], mean[i - 1]], [a[i], a[i - 1]]))

    mean = f.mean(axis=1)
    alpha = cross(mean)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(bootstrap):
        idx = rng.integers(0, f.shape[1], f.shape)
        boots.append(cross(np.take_along_axis(f, idx, axis=1).mean(axis=1)))
    boots = np.array(boots)
    ok = boots[np.isfinite(boots)]
    se = float(ok.std(ddof=1)) if ok.size > 1 else math.nan
    return {"alpha": alpha, "stderr": se, "width": math.nan, "mean": mean}
