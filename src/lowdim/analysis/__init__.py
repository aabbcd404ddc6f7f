"""Analysis of runs: limit-law theory (Eqs. 5, 10–12, 14), streamed pair correlations (Eq. 4) and
manifolds (PCA, participation ratio, projection on the loadings), and the statistics of the
studies' results (intervals, fits: :mod:`lowdim.analysis.stats`)."""

from . import correlations, manifold, stats, theory
from .correlations import (
    PairCorrelation,
    correlations_of_run,
    histogram,
    ks_distance,
    sample_pairs,
    split_half_noise,
)
from .manifold import PCA, participation_ratio, pca, project, trajectory_3d

__all__ = [
    "theory",
    "correlations",
    "manifold",
    "stats",
    "PairCorrelation",
    "correlations_of_run",
    "histogram",
    "ks_distance",
    "sample_pairs",
    "split_half_noise",
    "PCA",
    "pca",
    "participation_ratio",
    "project",
    "trajectory_3d",
]
