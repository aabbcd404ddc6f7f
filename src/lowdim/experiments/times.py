"""Measured run times of every ``lowdim reproduce`` / ``lowdim lecture`` scale on 2 CPU cores.

Shown by ``lowdim lecture --help``, ``lowdim lecture NAME --help`` and ``lowdim reproduce --help``
and on the docs pages. Each entry says what was measured and how ("idle": the two cores free;
"shared": other jobs on them). A scale whose time was not measured says so.
"""

#: name → scale → the measured time (with the conditions)
RUN_TIMES: dict[str, dict[str, str]] = {
    "fig1": {
        "small": "604 s shared (a few minutes idle)",
        "paper": "not measured on 2 cores (N up to 10⁶; meant for a GPU)",
        "test": "seconds",
    },
    "fig2": {
        "small": "about 20 min (shared cores; 85 simulations)",
        "medium": "not measured on 2 cores",
        "paper": "not measured on 2 cores (a GPU or cluster job; the report estimates its cost)",
    },
    "hopfield": {
        "small": "71 s idle (233 s, 311 s and 371 s shared)",
        "large": "21 min (18 of them for the capacity runs at N = 3·10⁴ and 10⁵)",
        "test": "152 s shared",
    },
    "ring": {
        "small": "89 s shared",
        "large": "not measured on 2 cores (N up to 10⁶)",
        "test": "seconds",
    },
    "latent": {
        "small": "302 s shared",
        "large": "not measured on 2 cores (N up to 10⁶, 6 seeds)",
        "test": "seconds",
    },
    "field-limit": {
        "small": "183 s shared",
        "large": "not measured on 2 cores (N up to 10⁶, 0.5 s)",
        "test": "seconds",
    },
    "manifold": {
        "small": "160 s and 294 s (shared, load 9–14; 51 s and 65 s of CPU)",
        "large": "not measured (adds N = 6.4·10⁴, 20 s per run)",
        "test": "seconds",
    },
    "context-dm": {
        "small": "about 20 min shared (training 4–5 min)",
        "large": "hours (2000 training steps, N up to 10⁶; meant for a GPU)",
        "test": "a minute or two",
    },
}
