"""lowdim: low-dimensional dynamics in large recurrent networks of rate and spiking neurons.

Importing lowdim changes no global setting: JAX stays in its 32-bit mode unless you switch it
(float64 runs use a scoped context, :func:`float64`), and matplotlib's backend is untouched.
"""

from . import (
    paper,  # noqa: E402  (the package; called, the paper's loadings)
    probes,  # noqa: E402
)
from ._version import __version__  # noqa: F401
from .connectivity import LowRank, from_arrays  # noqa: E402
from .engine import run  # noqa: E402
from .errors import ConfigError, MemoryBudgetError  # noqa: E402
from .grid import Grid, Layout  # noqa: E402
from .io import load, save  # noqa: E402
from .network import (  # noqa: E402
    Along,
    Binary,
    Drive,
    MembraneNoise,
    Network,
    Noise,
    Poisson,
    Populations,
    Rate,
    RowSampler,
    transfer,
)
from .nonlinearity import Erf, Sigmoid, Tanh, Transfer, make_transfer  # noqa: E402
from .nwb import to_neo, to_nwb  # noqa: E402
from .paper import RunConfig, config_of, estimate_memory, load_config, simulate  # noqa: E402
from .probes import (  # noqa: E402
    Activity,
    Distance,
    NeuronDistance,
    Overlaps,
    PopulationRates,
    Potentials,
    Projection,
    Readout,
    Spikes,
)
from .runs import rerun, save_run  # noqa: E402
from .solve import float64, solve  # noqa: E402
from .training import train  # noqa: E402

__all__ = [
    # the paper's front end
    "RunConfig",
    "load_config",
    "simulate",
    "estimate_memory",
    "config_of",
    "save_run",
    "rerun",
    # connectivity
    "LowRank",
    "from_arrays",
    "paper",
    # any low-rank network
    "Network",
    "Rate",
    "Poisson",
    "Binary",
    "Drive",
    "Noise",
    "MembraneNoise",
    "Along",
    "RowSampler",
    "Populations",
    "Grid",
    "Layout",
    "solve",
    "run",
    "float64",
    "train",
    # probes
    "probes",
    "Potentials",
    "Activity",
    "Spikes",
    "Overlaps",
    "PopulationRates",
    "Readout",
    "Projection",
    "Distance",
    "NeuronDistance",
    # transfer functions
    "Transfer",
    "Tanh",
    "Sigmoid",
    "Erf",
    "make_transfer",
    "transfer",
    # results and errors
    "load",
    "save",
    "to_nwb",
    "to_neo",
    "ConfigError",
    "MemoryBudgetError",
]
