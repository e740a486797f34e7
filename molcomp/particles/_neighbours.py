"""Neighbour lists for particle mixtures, built from a sorted cell list with gathers only.

jax-md's own builder scatters particles into cells, which is several times slower on
CPU; this one sorts particles by cell and reads each cell's members by gathers. The
result is jax-md's `NeighborList` container (Dense format), so energies still go through
`smap`, and capacities are static: exceeding one sets jax-md's sticky overflow bit,
which the particle samplers turn into a frozen chain and (through `molcomp.sample`) a
reallocation, never a wrong list (what a recovered run then equals, exactly: see the
docstring of `_base`). With fewer than `CELL_LIST_MIN_PARTICLES` particles
every particle is a candidate of every other (O(n^2), cheaper to compile).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax_md import partition

CELL_LIST_MIN_PARTICLES = 500
_PEC = partition.PartitionErrorCode


class _Grid(NamedTuple):
    """Static layout of a neighbour search: the box, the list radius (cutoff + skin) and
    the cells per side (None: every particle is a candidate of every other)."""

    box: tuple[float, ...]
    reach: float
    cells: tuple[int, ...] | None


def _grid(box, reach, cell_list) -> _Grid:
    cells = tuple(int(np.floor(b / reach)) for b in box)
    use = cell_list and min(cells) >= 3  # 3 cells per side: the 3^dim block is distinct
    return _Grid(tuple(box), float(reach), cells if use else None)


def _wrap(grid, d):
    box = jnp.asarray(grid.box, d.dtype)
    return d - box * jnp.round(d / box)


def _candidates(grid: _Grid, x, cell_capacity):
    """(n, m) candidate indices per particle (n = padding) and the largest cell count.

    Cells: particles are sorted by cell (one argsort), each cell's members read from
    its contiguous run into a (cells, capacity) table, and a particle's candidates are
    the members of the 3^dim cells around its own; only gathers, no scatters (which are
    slow on CPU)."""
    n, dim = x.shape
    if grid.cells is None:
        return jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (n, n)), jnp.int32(0)
    per_side = np.asarray(grid.cells)
    stride = np.cumprod([1, *grid.cells[:-1]]).astype(np.int32)
    size = jnp.asarray(np.asarray(grid.box) / per_side, x.dtype)
    cell = jnp.clip(jnp.floor(x / size).astype(jnp.int32), 0, per_side - 1)
    key = cell @ stride
    order = jnp.argsort(key).astype(jnp.int32)
    ids = jnp.arange(int(np.prod(per_side)), dtype=jnp.int32)
    first = jnp.searchsorted(key[order], ids, side="left").astype(jnp.int32)
    last = jnp.searchsorted(key[order], ids, side="right").astype(jnp.int32)
    slot = first[:, None] + jnp.arange(cell_capacity, dtype=jnp.int32)
    table = jnp.where(slot < last[:, None], order[jnp.minimum(slot, n - 1)], n)
    offsets = np.array(list(itertools.product((-1, 0, 1), repeat=dim)), np.int32)
    around = jnp.mod(cell[:, None, :] + offsets, per_side) @ stride  # (n, 3^dim)
    return table[around].reshape(n, -1), jnp.max(last - first)


def _prune(grid: _Grid, x, cand, width):
    """Keep, per row, the first `width` candidates within `reach` (n-padded), and the
    largest number any row had."""
    n, m = cand.shape
    d = _wrap(grid, x[:, None, :] - x[jnp.minimum(cand, n - 1)])
    own = jnp.arange(n, dtype=cand.dtype)[:, None]
    near = (cand < n) & (cand != own) & (jnp.sum(d**2, axis=-1) < grid.reach**2)
    count = jax.lax.associative_scan(jnp.add, near.astype(jnp.int32), axis=1)
    # column of the k-th kept candidate = first column whose running count reaches k
    col = jax.vmap(lambda c: jnp.searchsorted(c, jnp.arange(1, width + 1)))(count)
    idx = jnp.where(col < m, jnp.take_along_axis(cand, jnp.minimum(col, m - 1), 1), n)
    return idx.astype(jnp.int32), jnp.max(count[:, -1])


def _occupancy(grid: _Grid, x):
    """(largest cell count, largest neighbour count) of positions x (n, dim): sizes a
    fresh list."""
    if grid.cells is None:
        cells = 0
    else:
        key = np.floor(np.asarray(x) / (np.asarray(grid.box) / grid.cells)).astype(np.int64)
        key = np.clip(key, 0, np.asarray(grid.cells) - 1)
        cells = int(np.unique(key, axis=0, return_counts=True)[1].max())
    return cells, int(_most_neighbours(grid, jnp.asarray(x), max(cells, 1)))


@functools.partial(jax.jit, static_argnums=(0, 2))
def _most_neighbours(grid, x, cell_capacity):
    return _prune(grid, x, _candidates(grid, x, cell_capacity)[0], 1)[1]


class NeighbourFns:
    """Dense neighbour lists (jax-md's `NeighborList` container, so energies go through
    `smap`), built by `_candidates` + `_prune`. `update(x, nbrs)` rebuilds when some
    particle moved more than `dr_threshold / 2` since the last build (jax-md's rule);
    `rebuild` always does. Capacities are static; exceeding one sets jax-md's sticky
    overflow bit. One cached instance per setting, so equal settings share compilations.
    """

    def __init__(self, box, cutoff, dr_threshold, capacity_multiplier, cell_list):
        self.grid = _grid(box, cutoff + dr_threshold, cell_list)
        self.threshold = 0.5 * dr_threshold
        self.multiplier = capacity_multiplier
        self.rebuild = jax.jit(self._rebuild)
        self._rebuild_chains = jax.jit(jax.vmap(self._rebuild, (0, None)))

    def allocate(self, x, extra_capacity: int = 0):
        """A list for x (n, dim) or a chain batch (c, n, dim), sized from the most crowded
        chain with `capacity_multiplier` headroom plus `extra_capacity`."""
        batch = np.asarray(x).reshape(-1, *x.shape[-2:])
        cells, width = np.max([_occupancy(self.grid, b) for b in batch], axis=0)
        n = x.shape[-2]
        width = min(int(width * self.multiplier) + extra_capacity, n - 1)
        cells = int(np.ceil(cells * self.multiplier)) + (extra_capacity + 1) // 2
        empty = jnp.zeros((n, max(width, 1)), jnp.int32)
        error = partition.PartitionError(jnp.zeros((), jnp.uint8))
        nbrs = partition.NeighborList(
            empty, x, error, cells, max(width, 1), partition.Dense, None, None, self.update
        )
        if x.ndim == 2:
            return self.rebuild(x, nbrs)
        return self._rebuild_chains(x, dataclasses.replace(nbrs, reference_position=x[0]))

    def _rebuild(self, x, nbrs):
        cand, crowded = _candidates(self.grid, x, nbrs.cell_list_capacity or 1)
        idx, occupancy = _prune(self.grid, x, cand, nbrs.max_occupancy)
        error = nbrs.error.update(_PEC.CELL_LIST_OVERFLOW, crowded > nbrs.cell_list_capacity)
        error = error.update(_PEC.NEIGHBOR_LIST_OVERFLOW, occupancy > nbrs.max_occupancy)
        return dataclasses.replace(nbrs, idx=idx, reference_position=x, error=error)

    def moved(self, x, nbrs):
        """Whether some particle moved more than dr_threshold / 2 since the last build."""
        d = _wrap(self.grid, x - nbrs.reference_position)
        return jnp.max(jnp.sum(d**2, axis=-1)) > self.threshold**2

    def update(self, x, nbrs, **_):
        """jax-md's `update_fn`: `nbrs` rebuilt at x if some particle moved too far."""
        return jax.lax.cond(self.moved(x, nbrs), self.rebuild, lambda _, nb: nb, x, nbrs)


@functools.lru_cache(maxsize=32)
def neighbour_fns(box, cutoff, dr_threshold, capacity_multiplier, cell_list):
    """The cached `NeighbourFns` for these (hashable) settings."""
    return NeighbourFns(box, cutoff, dr_threshold, capacity_multiplier, cell_list)
