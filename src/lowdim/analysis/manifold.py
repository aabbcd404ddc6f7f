"""Manifold analysis of population activity: PCA, participation ratio, projection on loadings.

Works on the records of any run — a ``(time, neuron)`` variable of a :func:`lowdim.run` dataset
(``Potentials``, ``Activity``), a NumPy array, or anything with more leading axes (trials are
stacked with time as samples) — and never runs a simulation.

For activity X (T samples × N neurons), centred over samples, the covariance is
C = X_cᵀ X_c/(T − 1) with eigenvalues λ_1 ≥ λ_2 ≥ … (the variances along the principal axes).

- **Participation ratio** (the lecture's "dimension" of a manifold; Gao & Ganguli 2015)

      PR = (Σ_k λ_k)² / Σ_k λ_k² = (tr C)² / ‖C‖_F²,                                  (M1)

  which is D for D equal non-zero variances and between 1 and D for D unequal ones.
- **A rank-D network** (``W = s F Gᵀ``, inputs along F, x(0) in span F) keeps its potentials in
  span F: x(t) = F κ(t) (the lecture's latent variables κ), so C has at most D non-zero
  eigenvalues and PR ≤ D whatever N (up to the removed self-coupling w_ii = 0, a diagonal
  O(1/N) term that puts a relative variance O(1/N²) outside span F). If the D latent variables have equal variance and are
  uncorrelated (a symmetric network driven by independent noise along each loading), PR = D up to
  sampling noise. The non-zero eigenvalues are those of I + E (D × D, relative to their mean),
  and to second order in E, PR = D + (tr E)²/D − ‖E‖_F². With T_eff independent samples of κ the
  sample covariance has diagonal entries of variance 2/T_eff and off-diagonal ones 1/T_eff, and
  the loadings add the same with 1/N (FᵀF/N for random columns), so

      E[PR] ≈ D − (D + 2)(D − 1)(1/T_eff + 1/N)                                         (M2)

  (exactly 1 for D = 1).
- **Projection on the loadings**: κ̂(t) = (FᵀF)⁻¹ Fᵀ x(t) (least squares), the fraction of the
  variance that lies in span F, and the principal angles between span F and the top-D principal
  axes (all zero when the activity is exactly in span F).

Computation: with N > T the eigenvalues come from the T × T Gram matrix X_c X_cᵀ (same non-zero
eigenvalues as X_cᵀ X_c), accumulated in float64 over blocks of neurons; memory O(T² + T·block).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = [
    "PCA",
    "activity_matrix",
    "pca",
    "participation_ratio",
    "expected_participation_ratio",
    "effective_samples",
    "project",
    "principal_angles",
    "trajectory_3d",
]

_BLOCK = 4096


def activity_matrix(data, network: int | None = None, neuron_dim: str = "neuron") -> np.ndarray:
    """Activity as a (samples, neurons) float array.

    ``data``: a NumPy/JAX array (..., T, N) — leading axes (e.g. trials) are stacked into
    samples — or an ``xarray.DataArray`` with a ``neuron`` dimension (all other dimensions are
    stacked into samples, except ``network``, which must be chosen with ``network=k`` when it has
    more than one entry, e.g. the SNN or the RNN of a paired run).
    """
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover
        xr = None
    if xr is not None and isinstance(data, xr.Dataset):
        raise ConfigError(
            "give one variable of the dataset (e.g. ds.x or ds['h']), not the whole Dataset"
        )
    if xr is not None and isinstance(data, xr.DataArray):
        da = data
        if neuron_dim not in da.dims:
            raise ConfigError(
                f"the activity needs a {neuron_dim!r} dimension (a Potentials or Activity record "
                f"of all or some neurons); this one has dims {da.dims}"
            )
        if "network" in da.dims:
            if network is not None:
                da = da.isel(network=network)
            elif da.sizes["network"] == 1:
                da = da.isel(network=0)
            else:
                raise ConfigError(
                    f"this record holds {da.sizes['network']} paired networks; choose one with "
                    "network=k (e.g. 0 for the first kind of the pair)"
                )
        other = [d for d in da.dims if d != neuron_dim]
        da = da.transpose(*other, neuron_dim)
        arr = np.asarray(da.values)
    else:
        arr = np.asarray(data)
        if network is not None:
            raise ConfigError("network=k selects a kind of an xarray record; slice arrays yourself")
    if arr.ndim < 2:
        raise ConfigError(
            f"activity must have at least two axes (time, neuron); got shape {arr.shape}"
        )
    X = arr.reshape(-1, arr.shape[-1])
    if X.shape[0] < 2:
        raise ConfigError("PCA needs at least two samples (time points)")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ConfigError("the activity contains NaN or infinite values")
    return X


def _gram(X, mean):
    """G = X_c X_cᵀ (T × T, float64), accumulated over blocks of neurons."""
    T, N = X.shape
    G = np.zeros((T, T))
    for a in range(0, N, _BLOCK):
        b = min(N, a + _BLOCK)
        Xb = X[:, a:b] - mean[a:b]
        Xb = Xb.astype(np.float32 if X.dtype == np.float32 else np.float64)
        G += (Xb @ Xb.T).astype(np.float64)
    return G


@dataclass(frozen=True)
class PCA:
    """Principal components of activity (T samples × N neurons).

    ``variances``: (K,) eigenvalues λ_k of the covariance, descending (all non-zero ones:
    K = min(T − 1, N)); ``components``: (N, k) unit principal axes of the first k;
    ``scores``: (T, k) the activity's coordinates along them; ``mean``: (N,) the sample mean.
    """

    variances: np.ndarray
    components: np.ndarray
    scores: np.ndarray
    mean: np.ndarray

    @property
    def total_variance(self) -> float:
        return float(np.sum(self.variances))

    @property
    def explained_ratio(self) -> np.ndarray:
        return self.variances / self.total_variance

    @property
    def participation_ratio(self) -> float:
        """(Σλ)²/Σλ² (M1)."""
        return participation_ratio(self.variances)

    def dimension(self, fraction: float = 0.95) -> int:
        """Number of components that explain ``fraction`` of the variance."""
        c = np.cumsum(self.explained_ratio)
        return int(np.searchsorted(c, fraction - 1e-12) + 1)

    def rank(self, rtol: float = 1e-6) -> int:
        """Number of variances above ``rtol`` times the largest (numerical rank)."""
        if self.variances.size == 0 or self.variances[0] <= 0:
            return 0
        return int(np.sum(self.variances > rtol * self.variances[0]))


def pca(data, components: int | None = 3, center: bool = True, network: int | None = None) -> PCA:
    """PCA of activity (see :func:`activity_matrix` for ``data``): all variances, the first
    ``components`` axes and scores (None: all). Uses the T × T Gram matrix when N > T, else the
    N × N covariance; eigenvalues from ``numpy.linalg.eigh`` in float64."""
    X = activity_matrix(data, network=network)
    T, N = X.shape
    mean = X.mean(axis=0, dtype=np.float64) if center else np.zeros(N)
    kmax = min(T - 1 if center else T, N)
    k = kmax if components is None else int(components)
    if k < 0:
        raise ConfigError(f"components must be ≥ 0, got {components!r}")
    k = min(k, kmax)
    if N > T:
        G = _gram(X, mean)
        w, U = np.linalg.eigh(G)
        order = np.argsort(w)[::-1][:kmax]
        w, U = np.clip(w[order], 0, None), U[:, order]
        var = w / (T - 1 if center else T)
        sv = np.sqrt(w[:k])
        scores = U[:, :k] * sv
        comps = np.zeros((N, k))
        for a in range(0, N, _BLOCK):
            b = min(N, a + _BLOCK)
            Xb = (X[:, a:b] - mean[a:b]).astype(np.float64)
            comps[a:b] = Xb.T @ (U[:, :k] / np.where(sv > 0, sv, 1.0))
    else:
        Xc = X.astype(np.float64) - mean
        C = Xc.T @ Xc / (T - 1 if center else T)
        w, V = np.linalg.eigh(C)
        order = np.argsort(w)[::-1][:kmax]
        var, V = np.clip(w[order], 0, None), V[:, order]
        comps = V[:, :k]
        scores = Xc @ comps
    # sign convention: the largest-magnitude loading of each axis is positive
    if k:
        flip = np.sign(comps[np.argmax(np.abs(comps), axis=0), np.arange(k)])
        flip[flip == 0] = 1
        comps, scores = comps * flip, scores * flip
    return PCA(variances=var, components=comps, scores=scores, mean=mean)


def participation_ratio(x, network: int | None = None) -> float:
    """PR = (Σλ)²/Σλ² (M1) of a :class:`PCA`, of a 1-D array of variances λ, or of activity
    (T × N or a record; computed from the Gram matrix as (tr G)²/‖G‖_F², no eigenvectors)."""
    if isinstance(x, PCA):
        lam = x.variances
    else:
        arr = x if not isinstance(x, list | tuple) else np.asarray(x)
        if np.ndim(arr) == 1 and not hasattr(arr, "dims"):
            lam = np.asarray(arr, np.float64)
            if np.any(lam < 0):
                raise ConfigError("variances must be ≥ 0")
        else:
            X = activity_matrix(arr, network=network)
            T, N = X.shape
            mean = X.mean(axis=0, dtype=np.float64)
            if N > T:
                G = _gram(X, mean)
            else:
                Xc = X.astype(np.float64) - mean
                G = Xc.T @ Xc
            tr = float(np.trace(G))
            fro2 = float(np.sum(G * G))
            return tr * tr / fro2 if fro2 > 0 else 0.0
    s2 = float(np.sum(lam**2))
    return float(np.sum(lam)) ** 2 / s2 if s2 > 0 else 0.0


def expected_participation_ratio(rank: int, effective_samples: float, neurons: float) -> float:
    """(M2): E[PR] ≈ D − (D + 2)(D − 1)(1/T_eff + 1/N) for D uncorrelated equal-variance latent
    variables seen through D random loadings of N neurons, estimated from T_eff independent
    samples (:func:`effective_samples`: T_eff = T/τ_c for a latent of correlation time τ_c)."""
    D = int(rank)
    if D < 1:
        raise ConfigError("rank must be ≥ 1")
    return D - (D + 2) * (D - 1) * (1 / effective_samples + 1 / neurons)


def effective_samples(series, dt: float = 1.0) -> float:
    """T_eff = T / τ_c for the variance of a stationary series (T, k) sampled every ``dt``, with
    τ_c = ∫ ρ(s)² ds over s ∈ (−∞, ∞) (ρ: autocorrelation, averaged over the k columns): the
    sample variance then has relative variance 2/T_eff (and a sample covariance of two
    independent columns variance 1/T_eff, relative to the product of their variances). ρ is
    summed up to its first zero crossing. An Ornstein–Uhlenbeck series of correlation time τ
    has τ_c = τ."""
    x = np.asarray(series, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    T = x.shape[0]
    if T < 4:
        raise ConfigError("effective_samples needs at least 4 samples")
    x = x - x.mean(axis=0)
    f = np.fft.rfft(x, n=2 * T, axis=0)
    ac = np.fft.irfft(f * np.conj(f), axis=0)[:T]
    rho = (ac / ac[0]).mean(axis=1)
    cut = np.argmax(rho <= 0) if np.any(rho <= 0) else T
    tau_c = dt * (1 + 2 * np.sum(rho[1:cut] ** 2))
    return T * dt / tau_c


def principal_angles(A, B) -> np.ndarray:
    """Principal angles (radians, ascending) between the column spaces of A (N × a) and
    B (N × b)."""
    qa, _ = np.linalg.qr(np.asarray(A, np.float64))
    qb, _ = np.linalg.qr(np.asarray(B, np.float64))
    s = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return np.arccos(np.clip(s, -1.0, 1.0))


def project(
    data, loadings, center: bool = True, network: int | None = None, pcs: PCA | None = None
):
    """Project activity on the loadings F (N × D): returns a dict with

    - ``"kappa"``: (T, D) least-squares coordinates κ̂(t) = (FᵀF)⁻¹Fᵀ x(t) (uncentred: the
      latent variables themselves, as the ``Projection.least_squares(F)`` probe);
    - ``"variance_in_span"``: fraction of the (centred) variance inside span F;
    - ``"angles_deg"``: principal angles (degrees) between span F and the top-D principal axes
      (of ``pcs`` if given, else computed here).
    """
    X = activity_matrix(data, network=network)
    F = np.asarray(loadings, np.float64)
    if F.ndim == 1:
        F = F[:, None]
    if F.ndim != 2 or F.shape[0] != X.shape[1]:
        raise ConfigError(
            f"loadings must be (N, D) with N = {X.shape[1]} neurons; got shape {F.shape}"
        )
    D = F.shape[1]
    Q, R = np.linalg.qr(F)
    coords = np.zeros((X.shape[0], D))
    mean = X.mean(axis=0, dtype=np.float64) if center else np.zeros(X.shape[1])
    inside = 0.0
    total = 0.0
    for a in range(0, X.shape[1], _BLOCK):
        b = min(X.shape[1], a + _BLOCK)
        Xb = X[:, a:b].astype(np.float64)
        coords += Xb @ Q[a:b]
        total += float(np.sum((Xb - mean[a:b]) ** 2))
    kappa = np.linalg.solve(R, coords.T).T
    centred = coords - mean @ Q
    inside = float(np.sum(centred**2))
    if pcs is None:
        pcs = pca(X, components=D, center=center)
    angles = principal_angles(F, pcs.components[:, :D]) if pcs.components.shape[1] >= D else None
    return {
        "kappa": kappa,
        "variance_in_span": inside / total if total > 0 else math.nan,
        "angles_deg": None if angles is None else np.degrees(angles),
    }


def trajectory_3d(
    scores, time=None, ax=None, title: str | None = None, labels=None, cmap="viridis"
):
    """A 3-D picture of a trajectory: ``scores`` (T, ≥ 3), e.g. ``pca(...).scores``, coloured by
    ``time`` (T,). Draws into ``ax`` (a 3-D axes) or a new backend-free figure; returns the
    figure."""
    from ..plotting import plt  # deferred: matplotlib costs start-up time

    s = np.asarray(scores, np.float64)
    if s.ndim != 2 or s.shape[1] < 3:
        raise ConfigError(f"trajectory_3d needs scores of shape (T, ≥ 3); got {s.shape}")
    t = np.arange(s.shape[0]) if time is None else np.asarray(time)
    if ax is None:
        fig = plt.figure(figsize=(5, 4.5))
        ax = fig.add_subplot(projection="3d")
    else:
        fig = ax.figure
    ax.plot(s[:, 0], s[:, 1], s[:, 2], color="0.7", lw=0.4)
    sc = ax.scatter(s[:, 0], s[:, 1], s[:, 2], c=t, cmap=cmap, s=3, depthshade=False)
    labels = labels or ("PC 1", "PC 2", "PC 3")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_zlabel(labels[2])
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(
        sc, ax=ax, shrink=0.5, pad=0.16, label="time (s)" if time is not None else "sample"
    )
    return fig
