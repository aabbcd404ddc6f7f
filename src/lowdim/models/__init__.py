"""Models built on the low-rank core: the ring model (Fig. 1A), ..."""

from .ring import ring_angles, ring_connectivity, ring_correlations, ring_rnn_correlations

__all__ = ["ring_angles", "ring_connectivity", "ring_correlations", "ring_rnn_correlations"]
