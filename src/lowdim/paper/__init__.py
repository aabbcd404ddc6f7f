"""The paper's network as a front end above the engine (Eqs. 1, 2, 7, 9; SM Secs. V, VI).

- :mod:`~lowdim.paper.config`: :class:`RunConfig`, the flat TOML/CLI description of a run;
- :mod:`~lowdim.paper.preflight`: its inputs checked once, before any work;
- :mod:`~lowdim.paper.network`: :func:`paper_network`, the RunConfig as a
  :class:`~lowdim.network.Network`, a grid, probes and a layout;
- :mod:`~lowdim.paper.dataset`: the paper's attributes on the engine's dataset, :func:`config_of`;
- :mod:`~lowdim.paper.simulation`: :func:`simulate` = :func:`lowdim.run` of the network plus the
  paper's attributes; memory estimates of a RunConfig.

The engine (:mod:`lowdim.engine`, :mod:`lowdim.solve`, :mod:`lowdim.event`,
:mod:`lowdim.record`) knows nothing of RunConfig.

``lowdim.paper`` was the name of the paper's loadings (:func:`lowdim.connectivity.paper`) before
this package existed; called, the package still gives them: ``lowdim.paper(N, p, phi, seed)``.
"""

import sys
import types

from ..connectivity import paper as _paper_loadings
from .config import RunConfig, config_table, load_config
from .dataset import config_of, paper_dataset
from .network import MEMORY_HINTS, PaperSpec, paper_network, prepared, record_indices_of
from .simulation import check_memory, cost, estimate_memory, simulate

__all__ = [
    "RunConfig",
    "load_config",
    "config_table",
    "paper_network",
    "PaperSpec",
    "record_indices_of",
    "prepared",
    "MEMORY_HINTS",
    "simulate",
    "estimate_memory",
    "check_memory",
    "cost",
    "config_of",
    "paper_dataset",
]


class _PaperPackage(types.ModuleType):
    """This package; called, the paper's loadings (Eq. 7): ``lowdim.paper(N, p, phi, seed,
    dtype)`` = :func:`lowdim.connectivity.paper`."""

    def __call__(self, *args, **kwargs):
        return _paper_loadings(*args, **kwargs)


sys.modules[__name__].__class__ = _PaperPackage
