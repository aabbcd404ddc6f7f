"""lowdim: low-dimensional dynamics in large recurrent networks of rate and spiking neurons."""

import jax as _jax

# float64 is available on request (RunConfig.dtype); every array is created with an explicit dtype.
_jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"

from .config import RunConfig, load_config  # noqa: E402
from .connectivity import LowRank, from_arrays, paper  # noqa: E402
from .engine import estimate_memory, simulate  # noqa: E402
from .errors import ConfigError, MemoryBudgetError  # noqa: E402
from .event import simulate_events  # noqa: E402
from .io import load, save  # noqa: E402
from .nonlinearity import Erf, Sigmoid, Tanh, make_transfer  # noqa: E402
from .record import config_of  # noqa: E402

__all__ = [
    "RunConfig",
    "load_config",
    "LowRank",
    "from_arrays",
    "paper",
    "simulate",
    "simulate_events",
    "estimate_memory",
    "ConfigError",
    "MemoryBudgetError",
    "load",
    "save",
    "config_of",
    "Tanh",
    "Sigmoid",
    "Erf",
    "make_transfer",
]
