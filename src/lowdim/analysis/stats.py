"""Statistics of the studies' results: intervals over seeds and trials, fits, root mean squares.

- :func:`mean_ci`: mean over seeds with a 95 % Student-t interval;
- :func:`slope_fit`: log-log least-squares slope with a 95 % t-interval (Fig. 2's Δ ∝ α^b);
- :func:`wilson`, :func:`bootstrap_ci`, :func:`interval`: 95 % intervals of a fraction of
  outcomes (Wilson score; two-level bootstrap over draws and trials; their union);
- :func:`extrapolate`: weighted least squares of y = a + b n^k, the limit a for n → ∞ (the
  Hopfield capacity α_c from α_50(N));
- :func:`rms`, :func:`rms_of`, :func:`rms_by`: root mean square of values, of one field of
  selected rows, of one field for each value of another (errors by N);
- :func:`circular_mean`: the mean direction of angles;
- :func:`endpoint_log_slope`: the slope on log-log axes between the first and the last point;
- :func:`fraction_outside`: the fraction of values beyond k sd.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = [
    "t_quantile",
    "mean_ci",
    "slope_fit",
    "wilson",
    "bootstrap_ci",
    "interval",
    "extrapolate",
    "rms",
    "rms_of",
    "endpoint_log_slope",
    "rms_by",
    "circular_mean",
]


# ----------------------------------------------------------------------------- seeds
def t_quantile(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (NaN if df ≤ 0): the
    half-width factor of a two-sided 95 % interval."""
    return float(stats.t.ppf(0.975, df)) if df > 0 else float("nan")


def mean_ci(values) -> tuple[float, float, float]:
    """(mean, 95 % CI half-width from Student's t, sd) over seeds."""
    v = np.asarray(values, dtype=np.float64)
    m = float(np.mean(v))
    if v.size < 2:
        return m, float("nan"), float("nan")
    sd = float(np.std(v, ddof=1))
    return m, t_quantile(v.size - 1) * sd / math.sqrt(v.size), sd


def slope_fit(alpha, values) -> dict:
    """OLS of log Δ on log α over all seeds' points; slope with a 95 % t-interval.

    The residuals include seed-to-seed scatter and any curvature, both of which widen the CI.
    Returns {"value", "ci", "stderr", "intercept", "n", "alpha_range"}; with fewer than 3 points
    or a single α only {"value": NaN, "ci": [NaN, NaN], "n"}.
    """
    x = np.log(np.asarray(alpha, dtype=np.float64))
    y = np.log(np.asarray(values, dtype=np.float64))
    n = x.size
    if n < 3 or np.ptp(x) == 0:
        return {"value": float("nan"), "ci": [float("nan")] * 2, "n": int(n)}
    X = np.stack([np.ones_like(x), x], axis=1)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    s2 = float(resid @ resid) / (n - 2)
    cov = s2 * np.linalg.inv(X.T @ X)
    se = math.sqrt(cov[1, 1])
    h = t_quantile(n - 2) * se
    b = float(coef[1])
    return {
        "value": b,
        "ci": [b - h, b + h],
        "stderr": se,
        "intercept": float(coef[0]),
        "n": int(n),
        "alpha_range": [float(np.exp(x.min())), float(np.exp(x.max()))],
    }


# ----------------------------------------------------------------------------- fractions
def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k/n (95 % by default)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, c - h), min(1.0, c + h))


def bootstrap_ci(values: np.ndarray, seed: int = 0, reps: int = 2000) -> tuple[float, float]:
    """95 % interval of the mean of ``values`` (draws, trials) by a two-level bootstrap
    (population draws resampled, then trials within each): it carries both the trial-to-trial
    and the network-to-network variability."""
    v = np.asarray(values, np.float64)
    D, B = v.shape
    rng = np.random.default_rng([seed, 3])
    d_idx = rng.integers(0, D, (reps, D))
    t_idx = rng.integers(0, B, (reps, D, B))
    means = v[d_idx[:, :, None], t_idx].mean(axis=(1, 2))
    return (float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975)))


def interval(outcomes: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95 % interval of a fraction of (draws, trials) outcomes: the union of the two-level
    bootstrap interval (network-to-network and trial-to-trial variability) and the Wilson
    interval of all outcomes pooled (which stays honest when every outcome is the same, where a
    bootstrap interval has zero width)."""
    v = np.asarray(outcomes, bool)
    b = bootstrap_ci(v, seed)
    w = wilson(int(v.sum()), v.size)
    return (min(b[0], w[0]), max(b[1], w[1]))


# ----------------------------------------------------------------------------- fits
def extrapolate(n, values, stderr, exponent: float = -0.5) -> dict | None:
    """Weighted least squares of ``values`` = a + b n^exponent (weights 1/stderr²): the limit
    a = lim_{n→∞} for a negative exponent (the exponent is assumed, not fitted).

    Points whose value is not finite are left out; None if fewer than two remain. The standard
    error of a is scaled by √(χ²/dof) where that exceeds 1 (scatter beyond the given errors).
    Returns {"limit": a, "stderr", "slope": b, "chi2", "dof"}."""
    n = np.asarray(n, float)
    y = np.asarray(values, float)
    se = np.asarray(stderr, float)
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return None
    X = np.stack([np.ones_like(n[ok]), n[ok] ** exponent], axis=1)
    W = np.diag(1 / se[ok] ** 2)
    cov = np.linalg.inv(X.T @ W @ X)
    coef = cov @ X.T @ W @ y[ok]
    chi2 = float(np.sum(((y[ok] - X @ coef) / se[ok]) ** 2))
    dof = int(ok.sum()) - 2
    scale = max(1.0, chi2 / dof) if dof > 0 else 1.0
    return {
        "limit": float(coef[0]),
        "stderr": float(math.sqrt(cov[0, 0] * scale)),
        "slope": float(coef[1]),
        "chi2": chi2,
        "dof": dof,
    }


# ----------------------------------------------------------------------------- errors
def rms(values) -> float:
    """Root mean square of ``values`` (any iterable of numbers)."""
    return math.sqrt(np.mean([v**2 for v in values]))


def rms_of(rows, key: str, **where) -> float:
    """Root mean square of ``row[key]`` over the rows (dicts) whose fields equal ``where``, e.g.
    ``rms_of(rows, "err", neurons=1000)``."""
    return rms(r[key] for r in rows if all(r[k] == v for k, v in where.items()))


def endpoint_log_slope(x, y) -> float:
    """Slope of log y against log x between the first and the last point (an exponent b of
    y ∝ x^b from the two ends, e.g. the SNN–RNN distance against N)."""
    return math.log(y[-1] / y[0]) / math.log(x[-1] / x[0])


# ----------------------------------------------------------------------------- tails
__all__ += ["fraction_outside"]


def fraction_outside(values, centre: float, sd: float, k: float = 3.0) -> float:
    """Fraction of ``values`` farther than ``k`` sd from ``centre`` (abs(v − centre) > k·sd);
    for normal values about 2(1 − Φ(k)), 0.0027 at k = 3 (Fig. 1's weight norms)."""
    v = np.asarray(values)
    return float(np.mean(np.abs(v - centre) > k * sd))


def rms_by(rows, key: str, by: str, values, **where) -> dict[str, float]:
    """:func:`rms_of` for each value of the field ``by``, keyed by the value as a string (the
    summaries' ``errors_by_n``): ``rms_by(rows, "err", "neurons", [1000, 10000], p=1)``."""
    return {str(v): rms_of(rows, key, **{by: v}, **where) for v in values}


# ----------------------------------------------------------------------------- angles
def circular_mean(angles) -> float:
    """Circular mean of angles (rad): the angle of the mean of e^{iθ}, in (−π, π]."""
    return float(np.angle(np.mean(np.exp(1j * np.asarray(angles, np.float64)))))
