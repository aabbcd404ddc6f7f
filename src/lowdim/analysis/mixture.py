"""Gaussian mixtures over the rows of loadings: EM in NumPy, held-out selection, sampling in JAX.

A trained low-rank network is a population: neuron i is one row r_i ∈ ℝ^d of its loadings
(e.g. [F_i, G_i, U_i, W_out,i]). A Gaussian mixture

    ρ(r) = Σ_k π_k N(r; μ_k, Σ_k)

fitted to those rows defines a distribution over neurons from which networks of any size are
drawn (Dubreuil, Valente et al. 2022: one Gaussian population does not suffice for context
gating; two or more do).

:func:`fit` runs expectation–maximisation with full covariances (k-means++-style starts, several
restarts, a ridge ``reg`` added to each Σ_k), :func:`select` chooses the number of components by
the mean log-likelihood of held-out rows (the rows are split in ``folds`` parts; each part is
scored by a mixture fitted to the others).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = ["GaussianMixture", "fit", "select", "log_likelihood"]


@dataclass(frozen=True)
class GaussianMixture:
    """Weights π (K,), means μ (K, d), covariances Σ (K, d, d) (float64)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    @property
    def components(self) -> int:
        return int(self.weights.shape[0])

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    def log_density(self, x) -> np.ndarray:
        """log ρ(x) for rows x (n, d)."""
        return _logsumexp(self._log_joint(np.asarray(x, np.float64)), axis=1)

    def _log_joint(self, x):
        """log π_k + log N(x_n; μ_k, Σ_k), (n, K)."""
        n, d = x.shape
        out = np.empty((n, self.components))
        for k in range(self.components):
            L = np.linalg.cholesky(self.covariances[k])
            y = np.linalg.solve(L, (x - self.means[k]).T)
            logdet = 2.0 * np.sum(np.log(np.diag(L)))
            out[:, k] = (
                math.log(self.weights[k])
                - 0.5 * np.sum(y * y, axis=0)
                - 0.5 * (d * math.log(2 * math.pi) + logdet)
            )
        return out

    def responsibilities(self, x) -> np.ndarray:
        lj = self._log_joint(np.asarray(x, np.float64))
        return np.exp(lj - _logsumexp(lj, axis=1)[:, None])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n rows (NumPy)."""
        comp = rng.choice(self.components, size=n, p=self.weights)
        z = rng.standard_normal((n, self.dim))
        L = np.linalg.cholesky(self.covariances)
        return self.means[comp] + np.einsum("nij,nj->ni", L[comp], z)

    def jax_draw(self):
        """``draw(key, rows, dtype) -> (rows, d)`` for :class:`lowdim.RowSampler`: component
        k ~ Categorical(π), then μ_k + L_k ξ with Σ_k = L_k L_kᵀ, ξ ~ N(0, I)."""
        import jax
        import jax.numpy as jnp

        logw = np.log(self.weights)
        means = self.means
        chol = np.linalg.cholesky(self.covariances)

        def draw(key, rows, dtype):
            kc, kz = jax.random.split(key)
            comp = jax.random.categorical(kc, jnp.asarray(logw, dtype), shape=(rows,))
            xi = jax.random.normal(kz, (rows, means.shape[1]), dtype)
            L = jnp.asarray(chol, dtype)[comp]
            return jnp.asarray(means, dtype)[comp] + jnp.einsum("nij,nj->ni", L, xi)

        return draw

    def to_dict(self) -> dict:
        return {
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> GaussianMixture:
        return cls(*(np.asarray(d[k], np.float64) for k in ("weights", "means", "covariances")))


def _logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def log_likelihood(mix: GaussianMixture, x) -> float:
    """Mean log-density of the rows x (nats per row)."""
    return float(np.mean(mix.log_density(x)))


def _init(x, K, rng, reg):
    """k-means++ seeding of the means; shared covariance, equal weights."""
    n, d = x.shape
    centres = [x[rng.integers(n)]]
    for _ in range(1, K):
        d2 = np.min([np.sum((x - c) ** 2, axis=1) for c in centres], axis=0)
        p = d2 / d2.sum() if d2.sum() > 0 else None
        centres.append(x[rng.choice(n, p=p)])
    cov = np.cov(x.T).reshape(d, d) + reg * np.eye(d)
    return GaussianMixture(np.full(K, 1.0 / K), np.array(centres), np.repeat(cov[None], K, 0))


def _em(x, mix, reg, iters, tol):
    n, d = x.shape
    prev = -np.inf
    for _ in range(iters):
        lj = mix._log_joint(x)
        ll = _logsumexp(lj, axis=1)
        R = np.exp(lj - ll[:, None])  # E step: responsibilities (n, K)
        Nk = R.sum(axis=0) + 1e-12  # M step
        means = (R.T @ x) / Nk[:, None]
        covs = np.empty((mix.components, d, d))
        for k in range(mix.components):
            y = x - means[k]
            covs[k] = (R[:, k, None] * y).T @ y / Nk[k] + reg * np.eye(d)
        mix = GaussianMixture(Nk / n, means, covs)
        cur = float(np.mean(ll))
        if cur - prev < tol * max(1.0, abs(cur)):
            break
        prev = cur
    return mix, log_likelihood(mix, x)


def fit(
    x,
    components: int,
    seed: int = 0,
    restarts: int = 5,
    iters: int = 500,
    tol: float = 1e-8,
    reg: float = 1e-6,
) -> GaussianMixture:
    """Maximum-likelihood Gaussian mixture of ``components`` components for rows x (n, d) by EM
    (the best of ``restarts`` starts). ``reg`` is added to the diagonal of every covariance
    (relative to the mean variance of the data), which keeps them positive definite."""
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ConfigError(f"fit needs rows x of shape (n ≥ 2, d), got {x.shape}")
    K = int(components)
    if K < 1 or K > x.shape[0]:
        raise ConfigError(f"components must be in [1, {x.shape[0]}], got {components!r}")
    rng = np.random.default_rng(seed)
    ridge = reg * float(np.mean(np.var(x, axis=0)) or 1.0)
    best, best_ll = None, -np.inf
    for _ in range(restarts if K > 1 else 1):
        mix, ll = _em(x, _init(x, K, rng, ridge), ridge, iters, tol)
        if ll > best_ll:
            best, best_ll = mix, ll
    return best


def select(x, candidates=(1, 2, 3), folds: int = 5, seed: int = 0, **kw) -> dict:
    """Choose the number of components by held-out likelihood (``folds``-fold cross-validation).

    Returns dict ``heldout`` {K: mean held-out log-likelihood per row}, ``heldout_se`` {K: its
    standard error over rows}, ``best`` (the K with the highest held-out likelihood) and
    ``mixture`` (that K fitted to all rows)."""
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    if folds < 2 or folds > n:
        raise ConfigError(f"folds must be in [2, {n}], got {folds}")
    perm = np.random.default_rng([seed, 5]).permutation(n)
    parts = np.array_split(perm, folds)
    scores, ses = {}, {}
    for K in candidates:
        per_row = np.empty(n)
        for f, test in enumerate(parts):
            train = np.setdiff1d(perm, test)
            mix = fit(x[train], K, seed=seed + 31 * f, **kw)
            per_row[test] = mix.log_density(x[test])
        scores[int(K)] = float(per_row.mean())
        ses[int(K)] = float(per_row.std(ddof=1) / math.sqrt(n))
    best = max(scores, key=scores.get)
    return {
        "heldout": scores,
        "heldout_se": ses,
        "best": best,
        "mixture": fit(x, best, seed=seed, **kw),
    }
