"""Analysis of runs: limit-law theory (Eqs. 5, 10–12, 14) and streamed pair correlations (Eq. 4)."""

from . import correlations, theory
from .correlations import (
    PairCorrelation,
    correlations_of_run,
    histogram,
    ks_distance,
    sample_pairs,
    split_half_noise,
)

__all__ = [
    "theory",
    "correlations",
    "PairCorrelation",
    "correlations_of_run",
    "histogram",
    "ks_distance",
    "sample_pairs",
    "split_half_noise",
]
