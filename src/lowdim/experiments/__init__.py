"""One module per figure or lecture demo; each exposes ``run(scale, out, **options) -> dict``.

Experiments compose library calls; the library never imports them. ``lowdim reproduce NAME``
runs a figure of the paper (:data:`REGISTRY`), ``lowdim lecture NAME`` a system of the lecture
(:data:`LECTURES`); a demo is listed once its module exists. Extra command-line options
(``--train-steps 200``) are passed to ``run`` as keyword arguments, converted with the types of
its signature.
"""

import importlib
import importlib.util

#: name → module; ``lowdim reproduce NAME`` runs ``module.run``.
REGISTRY = {
    "fig1": "lowdim.experiments.fig1",
    "fig2": "lowdim.experiments.fig2",
}


#: name → module; ``lowdim lecture NAME`` runs ``module.run``.
LECTURES = {
    "hopfield": "lowdim.experiments.hopfield",
    "ring": "lowdim.experiments.ring_attractor",
    "latent": "lowdim.experiments.latent",
    "field-limit": "lowdim.experiments.field_limit",
    "manifold": "lowdim.experiments.manifold",
    "context-dm": "lowdim.experiments.context_dm",
}

#: other names accepted by ``lowdim lecture`` (not listed by ``lowdim lecture list``)
LECTURE_ALIASES = {"field": "field-limit"}


def _exists(mod: str) -> bool:
    try:
        return importlib.util.find_spec(mod) is not None
    except ModuleNotFoundError:
        return False


def available(registry: dict | None = None) -> list[str]:
    registry = REGISTRY if registry is None else registry
    return [name for name, mod in registry.items() if _exists(mod)]


def get(name: str, registry: dict | None = None):
    registry = REGISTRY if registry is None else registry
    return importlib.import_module(registry[name])
