"""Pairwise correlations of potentials (Eq. 4), streamed over time for a sample of pairs.

Eq. 4 correlates the potentials x_i(t) (not the rates φ(x_i) or spike counts, which φ rectifies
and which do not follow the limit laws of Eqs. 5, 11). :class:`PairCorrelation` keeps, for a
fixed random sample of P pairs among M recorded units, the running sums Σx_i, Σx_i² (per unit)
and Σx_i x_j (per pair), in float64 and shifted by a per-unit reference value for stability:
memory O(P + M) per time segment, never M² or N². Blocks of (time, unit) samples are fed with
:meth:`PairCorrelation.update`; each block may be assigned to a time *segment* (e.g. the two
halves of the run), so that the finite-T estimation noise can be measured from the spread of
the per-segment estimates.

Finite-T noise: for two stationary processes with zero true correlation and autocorrelation
r(s), the estimate over a duration T has variance ≈ (1/T) ∫ r(s)² ds (Bartlett), i.e. τ_c/T with
τ_c of the order of the potentials' correlation time (a few τ). The sampled correlations are the
limit-law values blurred by this noise; :func:`split_half_noise` estimates it from the data.

:func:`correlations_of_run` streams the recorded potentials of an RNN run of the engine
(:func:`lowdim.simulate` with ``on_chunk`` and ``keep_records=False``) into the estimator, so long
runs need memory O(N p + P + M) only.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..connectivity import LowRank
from ..errors import ConfigError
from ..paper import RunConfig, simulate

__all__ = [
    "sample_pairs",
    "PairCorrelation",
    "ks_distance",
    "histogram",
    "split_half_noise",
    "correlations_of_run",
    "rec_units",
]


def sample_pairs(n_units: int, n_pairs: int, seed: int = 0) -> np.ndarray:
    """``n_pairs`` distinct unordered pairs (i < j) of ``range(n_units)``, uniformly; (P, 2) int64.

    All M(M−1)/2 pairs if fewer exist. Drawn by unranking distinct indices of the upper triangle.
    """
    total = n_units * (n_units - 1) // 2
    if n_units < 2:
        raise ConfigError("need at least 2 units to form a pair")
    rng = np.random.default_rng([seed, 7])
    if n_pairs >= total:
        k = np.arange(total, dtype=np.int64)
    else:
        k = np.sort(rng.choice(total, size=n_pairs, replace=False)).astype(np.int64)
    # row-major unranking of the strict upper triangle: row i holds M−1−i pairs
    m = n_units
    i = (m - 2 - np.floor(np.sqrt(-8.0 * k + 4.0 * m * (m - 1) - 7) / 2.0 - 0.5)).astype(np.int64)
    start = i * (2 * m - i - 1) // 2
    # guard against floating-point rounding at row boundaries
    while True:
        lo = k < start
        hi = k >= start + (m - 1 - i)
        if not (lo.any() or hi.any()):
            break
        i = i - lo + hi
        start = i * (2 * m - i - 1) // 2
    j = k - start + i + 1
    return np.stack([i, j], axis=1)


class PairCorrelation:
    """Streaming estimator of C_ij (Eq. 4) for fixed pairs among M units.

    Args:
        n_units: M, the number of columns of every block.
        pairs: (P, 2) column indices into the blocks.
        segments: number of time segments kept apart (≥ 1); memory O(segments · (P + M)).
        chunk: rows × pairs processed at once (bounds the temporary memory, default 2·10⁷).
    """

    def __init__(self, n_units: int, pairs, segments: int = 1, chunk: int = 20_000_000):
        self.pairs = np.asarray(pairs, dtype=np.int64)
        if self.pairs.ndim != 2 or self.pairs.shape[1] != 2:
            raise ConfigError("pairs must be an array of shape (P, 2)")
        if self.pairs.size and (self.pairs.min() < 0 or self.pairs.max() >= n_units):
            raise ConfigError(f"pair indices must lie in [0, {n_units})")
        self.n_units = n_units
        self.segments = segments
        self.chunk = chunk
        self.shift = None
        self.n = np.zeros(segments)
        self.s1 = np.zeros((segments, n_units))
        self.s2 = np.zeros((segments, n_units))
        self.sxy = np.zeros((segments, len(self.pairs)))
        self._tiles = self._plan_tiles() if self._dense() else None

    # Products x_i x_j: by gathering the P columns pairs (cost P per sample), or, when the pairs
    # cover a large part of the M(M−1)/2 possible ones, by BLAS products of (tile × tile) blocks
    # of units (cost ≈ M²/2 per sample, temporary memory TILE² only).
    TILE = 256

    def _dense(self) -> bool:
        m = self.n_units
        return len(self.pairs) * 8 >= m * (m - 1) // 2

    def _plan_tiles(self):
        b = self.TILE
        ti, tj = self.pairs[:, 0] // b, self.pairs[:, 1] // b
        key = ti * (self.n_units // b + 1) + tj
        order = np.argsort(key, kind="stable")
        plans = []
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        for grp in np.split(order, bounds):
            if len(grp) == 0:
                continue
            a, c = int(ti[grp[0]]) * b, int(tj[grp[0]]) * b
            plans.append((a, c, grp, self.pairs[grp, 0] - a, self.pairs[grp, 1] - c))
        return plans

    def update(self, block, segment: int = 0) -> None:
        """Add a (time, unit) block of samples of the potentials to ``segment``."""
        x = np.asarray(block, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_units:
            raise ConfigError(f"blocks must be (time, {self.n_units}) arrays, got {x.shape}")
        if self.shift is None:
            self.shift = x.mean(axis=0)
        x = x - self.shift
        self.n[segment] += x.shape[0]
        self.s1[segment] += x.sum(axis=0)
        self.s2[segment] += np.einsum("tu,tu->u", x, x)
        acc = self.sxy[segment]
        if self._tiles is not None:
            b = self.TILE
            for a, c, grp, li, lj in self._tiles:
                gram = x[:, a : a + b].T @ x[:, c : c + b]
                acc[grp] += gram[li, lj]
            return
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        rows = max(1, self.chunk // max(len(self.pairs), 1))
        for s in range(0, x.shape[0], rows):
            xs = x[s : s + rows]
            acc += np.einsum("tp,tp->p", xs[:, i], xs[:, j])

    def correlations(self, segment: int | None = None) -> np.ndarray:
        """C_ij for every pair, from all segments (``None``) or from one; (P,)."""
        sl = slice(None) if segment is None else slice(segment, segment + 1)
        n = self.n[sl].sum()
        if n < 2:
            raise ConfigError("need at least two time samples to estimate correlations")
        s1, s2, sxy = self.s1[sl].sum(0), self.s2[sl].sum(0), self.sxy[sl].sum(0)
        mean = s1 / n
        var = np.maximum(s2 / n - mean**2, 0.0)
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        cov = sxy / n - mean[i] * mean[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            c = cov / np.sqrt(var[i] * var[j])
        return np.clip(c, -1.0, 1.0)

    @property
    def samples(self) -> int:
        return int(self.n.sum())


def split_half_noise(est: PairCorrelation) -> float:
    """Std of the finite-T estimation error of C over the whole run, from two segments.

    With independent errors e₁, e₂ of variance v_half each, C₁ − C₂ has variance 2 v_half and the
    full-run estimate has variance ≈ v_half / 2, so its std ≈ std(C₁ − C₂) / 2.
    """
    if est.segments != 2:
        raise ConfigError("split_half_noise needs an estimator with segments=2")
    d = est.correlations(0) - est.correlations(1)
    d = d[np.isfinite(d)]
    return float(np.std(d) / 2.0)


def ks_distance(sample, cdf) -> tuple[float, float]:
    """Kolmogorov–Smirnov distance sup|F_n − F| between ``sample`` and a theory ``cdf``.

    Returns (D, p-value); the p-value assumes independent samples (pairs sharing a unit are not
    independent, and the finite-T noise biases D: read D against :func:`split_half_noise`).
    """
    sample = np.asarray(sample, dtype=np.float64)
    sample = sample[np.isfinite(sample)]
    res = stats.kstest(sample, cdf)
    return float(res.statistic), float(res.pvalue)


def histogram(sample, pdf=None, bins: int = 100, lo: float = -1.0, hi: float = 1.0) -> dict:
    """Density histogram of ``sample`` on [lo, hi] and the theory ``pdf`` at the bin centres."""
    sample = np.asarray(sample, dtype=np.float64)
    edges = np.linspace(lo, hi, bins + 1)
    dens, _ = np.histogram(sample[np.isfinite(sample)], bins=edges, density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    out = {"edges": edges, "centres": centres, "density": dens}
    if pdf is not None:
        out["theory"] = np.asarray(pdf(centres), dtype=np.float64)
    return out


# ----------------------------------------------------------------------------- RNN streaming
def rec_units(cfg: RunConfig, n_units: int, seed: int | None = None) -> np.ndarray:
    """A sorted random sample of ``n_units`` 'rec' neuron indices (those without input, Eq. 9)."""
    rng = np.random.default_rng([cfg.seed if seed is None else seed, 8])
    pop = np.arange(cfg.n_in, cfg.neurons)
    n_units = min(n_units, len(pop))
    return np.sort(rng.choice(pop, size=n_units, replace=False))


def correlations_of_run(
    cfg: RunConfig,
    connectivity: LowRank | None = None,
    n_units: int = 1000,
    n_pairs: int = 100_000,
    units=None,
) -> tuple[PairCorrelation, np.ndarray]:
    """Stream an RNN run (``lowdim.simulate``, records not kept) and estimate C_ij^rec for a
    random sample of pairs of 'rec' units (or of the given ``units``).

    Returns the estimator (two segments: first and second half of the measured time) and the
    recorded unit indices (into the network); ``est.pairs`` index into ``units``.
    """
    cfg = cfg.replace(networks="rnn")
    units = rec_units(cfg, n_units) if units is None else np.asarray(units)
    pairs = sample_pairs(len(units), n_pairs, seed=cfg.seed)
    est = PairCorrelation(len(units), pairs, segments=2)
    spr = cfg.steps_per_record
    first_kept = -(-cfg.burn_steps // spr)  # first record interval that starts after burn-in
    mid = first_kept + (cfg.n_records - first_kept) // 2  # segments: two halves of the kept time

    def consume(rec, first):
        index = first + np.arange(rec["x"].shape[0])
        x = np.asarray(rec["x"], dtype=np.float64)
        for seg, keep in enumerate(((index >= first_kept) & (index < mid), index >= mid)):
            if keep.any():
                est.update(x[keep], seg)

    simulate(cfg, connectivity, record_indices=units, on_chunk=consume, keep_records=False)
    return est, units
