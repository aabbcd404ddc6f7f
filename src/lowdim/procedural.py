"""The paper's loadings (Eq. 7) defined tile by tile from a counter-based RNG, stored or regenerated.

ξ is *defined* in tiles of :data:`TILE_ROWS` rows: rows ``[t·T, (t+1)·T)`` of ξ are
``jax.random.normal(fold_in(loadings_key(seed), t), (T, p))`` (threefry2x32, a counter-based
generator: any tile can be produced on its own, on any device, in any order). F = ξ and
G = φ(ξ) − a follow element-wise. Stored mode (:func:`paper_loadings`) builds the N×p arrays by
generating tiles 0, 1, … and keeping the first N rows; procedural mode (``Layout(loadings=
"procedural")`` with :func:`paper_sampler`) regenerates the tiles it needs inside every step and never holds more than one block of rows, so
memory is O(N). Both see the same numbers, element for element. A consequence of the tile
definition: the first rows of ξ do not depend on N (a network of N neurons is a prefix of a larger
one with the same seed and p).

Per step, procedural mode generates ξ twice (once for the overlaps Gᵀa, once for the recurrent
input F·m), i.e. 2·N·p normal draws: on a CPU that, not memory bandwidth, bounds its speed;
:func:`tile_throughput` measures it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .nonlinearity import Transfer

__all__ = [
    "TILE_ROWS",
    "RowSampler",
    "loadings_key",
    "paper_sampler",
    "sampler_tiles",
    "tiles_of",
    "paper_loadings",
    "tile_throughput",
]

#: Rows per definition tile of ξ. Part of the definition of the paper's loadings for a seed:
#: changing it changes the numbers. Computation blocks are whole multiples of it.
TILE_ROWS = 1024


def loadings_key(seed: int):
    """The RNG stream of the loadings (independent of input and spike noise streams)."""
    return jax.random.fold_in(jax.random.PRNGKey(seed), 1)


@dataclass(frozen=True)
class NormalRows:
    """z_i ~ N(0, I_p): the draw of the paper's ξ (one definition tile per call)."""

    rank: int

    def __call__(self, key, rows, dtype):
        return jax.random.normal(key, (rows, self.rank), dtype=dtype)


@dataclass(frozen=True)
class Identity:
    """f(z) = z."""

    def __call__(self, z):
        return z


@dataclass(frozen=True)
class Centered:
    """g(z) = φ(z) − a, a = E[φ(z)] (the paper's G, Eq. 7)."""

    phi: Transfer

    def __call__(self, z):
        return self.phi(z) - self.phi.a


def paper_sampler(rank: int, phi: Transfer, seed: int = 0):
    """The paper's loadings (Eq. 7) as a :class:`~lowdim.network.RowSampler`: ξ_i ~ N(0, I_p),
    F = ξ, G = φ(ξ) − a."""
    return RowSampler(
        rank=int(rank),
        draw=NormalRows(int(rank)),
        f=Identity(),
        g=Centered(phi),
        seed=int(seed),
        name="paper",
    )


def sampler_tiles(draw, f, g, rank, key, tiles, dtype, storage_dtype=None, valid_rows=None):
    """(F, G) of the definition tiles ``tiles`` (an int array of any shape S), each
    S + (TILE_ROWS, rank): tile t has z = draw(fold_in(key, t), TILE_ROWS, dtype), F = f(z),
    G = g(z), computed in ``dtype`` and stored in ``storage_dtype``; rows with global index
    ≥ ``valid_rows`` (padding) are +0."""
    storage_dtype = storage_dtype or dtype
    flat = jnp.reshape(tiles, (-1,))
    z = jax.vmap(lambda t: draw(jax.random.fold_in(key, t), TILE_ROWS, dtype))(flat)
    # f, g see one 2-D block z (rows, d), as documented (RowSampler, LatentModel)
    z = z.reshape((-1,) + z.shape[2:])
    rows = (flat.shape[0], TILE_ROWS, rank)
    F = jnp.asarray(f(z)).astype(dtype).astype(storage_dtype).reshape(rows)
    G = jnp.asarray(g(z)).astype(dtype).astype(storage_dtype).reshape(rows)
    if valid_rows is not None:
        row = flat[:, None] * TILE_ROWS + jnp.arange(TILE_ROWS, dtype=jnp.int32)[None, :]
        ok = (row < valid_rows)[:, :, None]
        zero = jnp.zeros((), storage_dtype)
        F, G = jnp.where(ok, F, zero), jnp.where(ok, G, zero)
    shape = tuple(jnp.shape(tiles)) + (TILE_ROWS, rank)
    return F.reshape(shape), G.reshape(shape)


@dataclass(frozen=True)
class RowSampler:
    """Loadings regenerated from a seed: z_i ~ ρ, F_i = f(z_i), G_i = g(z_i), row by row.

    Rows are *defined* in tiles of :data:`TILE_ROWS`: tile t is
    ``draw(fold_in(fold_in(PRNGKey(seed), 1), t), TILE_ROWS, dtype)`` (a counter-based
    generator: any tile can be made on its own, on any device), so a network of N neurons is a
    prefix of a larger one and stored and procedural runs see the same numbers.

    ``draw(key, rows, dtype) -> z (rows, d)``; ``f(z)``, ``g(z)`` -> (rows, rank), always called
    on a 2-D block z (rows, d) (the tiles of a block are stacked along the rows).
    """

    rank: int
    draw: Callable
    f: Callable
    g: Callable
    seed: int = 0
    name: str = "sampler"

    def tiles(self, tiles, dtype, storage_dtype=None, valid_rows=None):
        """(F, G) for definition tiles ``tiles`` (int array of shape S): S + (TILE_ROWS, p)."""
        return sampler_tiles(
            self.draw,
            self.f,
            self.g,
            self.rank,
            loadings_key(self.seed),
            tiles,
            dtype,
            storage_dtype,
            valid_rows,
        )

    def materialize(self, rows: int, dtype=jnp.float32, storage_dtype=None, group_tiles=16):
        """Stored (F, G) of the first ``rows`` rows, built tile by tile (outputs only in
        ``storage_dtype``: no full-size temporary in ``dtype``)."""
        n_tiles = -(-rows // TILE_ROWS)
        groups = -(-n_tiles // group_tiles)
        sd = storage_dtype or dtype

        @jax.jit
        def build():
            idx = jnp.arange(groups * group_tiles, dtype=jnp.int32).reshape(groups, group_tiles)
            F, G = jax.lax.map(lambda t: self.tiles(t, dtype, sd), idx)
            return F.reshape(-1, self.rank)[:rows], G.reshape(-1, self.rank)[:rows]

        return build()


def tiles_of(key, tiles, rank: int, phi: Transfer, dtype, storage_dtype=None, valid_rows=None):
    """(F, G) of the paper's loadings for the definition tiles ``tiles`` (any shape S), each
    S + (TILE_ROWS, rank), from the loadings key ``key`` (:func:`loadings_key`)."""
    return sampler_tiles(
        NormalRows(rank),
        Identity(),
        Centered(phi),
        rank,
        key,
        tiles,
        dtype,
        storage_dtype,
        valid_rows,
    )


def paper_loadings(
    rows: int, rank: int, phi: Transfer, seed: int, dtype=jnp.float32, storage_dtype=None
):
    """Stored F (rows, p) and G (rows, p) of the paper's network, built tile by tile (the only
    full-size arrays are the outputs, in ``storage_dtype``)."""
    return paper_sampler(rank, phi, seed).materialize(rows, dtype, storage_dtype)


def tile_throughput(
    rank: int, phi: Transfer, block_rows: int = 65536, dtype=jnp.float32, repeats: int = 5
) -> dict:
    """Measured cost of regenerating loadings: one block of ``block_rows`` rows (F and G) and
    its use in Gᵀa (as one procedural step does twice per block). Returns seconds per block and
    the implied normals/s and rows·p/s on the default device."""
    tiles = max(1, block_rows // TILE_ROWS)
    rows = tiles * TILE_ROWS
    key = loadings_key(0)
    a = jnp.ones((rows, 2), dtype)

    @jax.jit
    def work(t0):
        F, G = tiles_of(key, t0 + jnp.arange(tiles), rank, phi, dtype)
        return jnp.einsum("trp,trq->pq", G, a.reshape(tiles, TILE_ROWS, 2))

    work(0).block_until_ready()
    best = math.inf
    for r in range(repeats):
        t = time.perf_counter()
        work(r + 1).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return {
        "block_rows": rows,
        "rank": rank,
        "seconds_per_block": best,
        "normals_per_second": rows * rank / best,
        "device": str(jax.devices()[0].platform),
        "dtype": np.dtype(dtype).name,
    }
