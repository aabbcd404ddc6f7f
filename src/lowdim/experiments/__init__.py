"""One module per figure or lecture demo; each exposes ``run(scale, out, **options) -> dict``.

Experiments compose library calls; the library never imports them.
"""

import importlib
import importlib.util

#: name → module; ``lowdim reproduce NAME`` runs ``module.run``.
REGISTRY = {
    "fig1": "lowdim.experiments.fig1",
    "fig2": "lowdim.experiments.fig2",
}


def available() -> list[str]:
    return [name for name, mod in REGISTRY.items() if importlib.util.find_spec(mod) is not None]


def get(name: str):
    return importlib.import_module(REGISTRY[name])
