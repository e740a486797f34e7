"""Lattices and graphs as padded neighbour-index arrays plus a colouring into blocks.

Regular lattices are built directly with numpy (a million sites in well under a
second); arbitrary graphs come from networkx, which also does colouring of irregular
graphs, export and cluster analysis. On regular lattices the neighbour column k *is*
the bond direction d, and direction d + K/2 is the opposite of d.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import networkx as nx
import numpy as np
from jaxtyping import Array, Bool, Int

from ..checks import check_positive_int

# Unit steps per direction, forward half first so that opposite(d) = d + K/2.
_STEPS = {
    "square": [(0, 1), (1, 0)],  # (row, col): +x = next column, +y = next row
    "triangular": [(0, 1), (1, 0), (1, -1)],  # axial coordinates
    "cubic": [(0, 0, 1), (0, 1, 0), (1, 0, 0)],
}


class Lattice(eqx.Module):
    """Sites, neighbours and independent blocks of a lattice or graph.

    **Fields:**

    - `neighbours`: (n, k) neighbour indices; padded slots point at the site itself.
    - `mask`: (n, k) True where the slot holds a real neighbour.
    - `blocks`: a proper colouring: tuple of index arrays, no two sites of one block
      are neighbours, so a whole block can be updated in parallel.
    - `kind`, `shape`, `periodic`: how it was built ("graph" for networkx input).
    - `n_directions`: K for regular lattices (column k = direction k), None for graphs.
    """

    neighbours: Int[Array, "n k"]
    mask: Bool[Array, "n k"]
    blocks: tuple[Int[Array, " _"], ...]
    kind: str = eqx.field(static=True)
    shape: tuple[int, ...] = eqx.field(static=True)
    periodic: bool = eqx.field(static=True)
    n_directions: int | None = eqx.field(static=True)

    @property
    def n_sites(self) -> int:
        """Number of sites n."""
        return self.neighbours.shape[0]

    @property
    def max_degree(self) -> int:
        """Neighbour slots per site k (the largest degree; smaller ones are padded)."""
        return self.neighbours.shape[1]

    @property
    def n_bonds(self) -> int:
        """Number of distinct bonds (each counted once)."""
        return int(np.asarray(self.mask).sum()) // 2

    def opposite(self, d: int) -> int:
        """The direction opposite to direction `d` (lattices with directions only)."""
        if self.n_directions is None:
            raise ValueError(f"a {self.kind} has no bond directions")
        return (d + self.n_directions // 2) % self.n_directions

    def coords(self) -> np.ndarray:
        """(n, dim) site positions for plotting (regular lattices; graphs: a layout)."""
        if self.kind == "graph":
            g = self.to_networkx()
            layout = (
                nx.spring_layout(g, seed=0) if self.n_sites <= 5000 else nx.random_layout(g, seed=0)
            )
            return np.array([layout[i] for i in range(self.n_sites)], np.float32)
        grid = np.indices(self.shape).reshape(len(self.shape), -1)
        if self.kind == "triangular":
            return np.stack([grid[1] + 0.5 * grid[0], grid[0] * np.sqrt(3) / 2], axis=1)
        return grid.T[:, ::-1].astype(np.float32)  # (x, y[, z]) = (col, row[, layer])

    def edges(self) -> np.ndarray:
        """(n_bonds, 2) array of bonds (x, y) with x < y."""
        nb, m = np.asarray(self.neighbours), np.asarray(self.mask)
        x = np.repeat(np.arange(self.n_sites), nb.shape[1]).reshape(nb.shape)
        pairs = np.stack([x[m], nb[m]], axis=1)
        pairs = pairs[pairs[:, 0] < pairs[:, 1]]
        return np.unique(pairs, axis=0)

    def to_networkx(self) -> nx.Graph:
        """The lattice as an undirected networkx graph on nodes 0..n-1."""
        g = nx.Graph()
        g.add_nodes_from(range(self.n_sites))
        g.add_edges_from(self.edges().tolist())
        return g


def _side(name: str, value, periodic: bool) -> int:
    value = check_positive_int(f"lattice side {name}", value, minimum=2)
    if periodic and value < 3:
        raise ValueError(
            f"periodic lattice side {name} must be >= 3 (side 2 would join two sites by "
            f"two bonds), got {value}"
        )
    return value


def _regular(kind: str, shape: tuple[int, ...], periodic: bool) -> Lattice:
    steps = _STEPS[kind]
    shape = tuple(_side(f"shape[{i}]", s, periodic) for i, s in enumerate(shape))
    n = int(np.prod(shape))
    grid = np.indices(shape).reshape(len(shape), n)  # (dim, n) integer coordinates
    all_steps = [np.array(s) for s in steps] + [-np.array(s) for s in steps]
    dims = np.array(shape)[:, None]
    nbrs, masks = [], []
    for step in all_steps:
        target = grid + step[:, None]
        if periodic:
            inside = np.ones(n, bool)
            target = target % dims
        else:
            inside = np.all((target >= 0) & (target < dims), axis=0)
            target = np.where(inside, target, grid)
        nbrs.append(np.ravel_multi_index(tuple(target), shape).astype(np.int32))
        masks.append(inside)
    neighbours = np.stack(nbrs, axis=1)
    mask = np.stack(masks, axis=1)
    colour = _lattice_colouring(kind, shape, periodic, grid)
    if colour is None:
        colour = _greedy_colouring(neighbours, mask)
    return Lattice(
        neighbours=jnp.asarray(neighbours),
        mask=jnp.asarray(mask),
        blocks=_blocks(colour),
        kind=kind,
        shape=shape,
        periodic=bool(periodic),
        n_directions=len(all_steps),
    )


def _lattice_colouring(kind, shape, periodic, grid) -> np.ndarray | None:
    """Closed-form proper colourings; None when the periodic wrap breaks them."""
    if kind in ("square", "cubic"):
        if periodic and any(s % 2 for s in shape):
            return None
        return grid.sum(axis=0) % 2  # checkerboard
    if kind == "triangular":
        if periodic and any(s % 3 for s in shape):
            return None
        return (grid[1] - grid[0]) % 3  # every step changes col - row by +-1 or +-2
    return None


def _greedy_colouring(neighbours: np.ndarray, mask: np.ndarray) -> np.ndarray:
    n = neighbours.shape[0]
    g = nx.Graph()
    g.add_nodes_from(range(n))
    x = np.repeat(np.arange(n), neighbours.shape[1]).reshape(neighbours.shape)
    g.add_edges_from(zip(x[mask].tolist(), neighbours[mask].tolist()))
    colours = nx.greedy_color(g, strategy="largest_first")
    return np.array([colours[i] for i in range(n)])


def _blocks(colour: np.ndarray) -> tuple:
    return tuple(jnp.asarray(np.flatnonzero(colour == c), jnp.int32) for c in np.unique(colour))


def _shape(side, dim: int) -> tuple:
    return tuple(side) if isinstance(side, tuple | list) else (side,) * dim


def square(side, periodic: bool = True) -> Lattice:
    """Square lattice with side L (or shape (rows, cols)); directions +x, +y, -x, -y."""
    return _regular("square", _shape(side, 2), periodic)


def triangular(side, periodic: bool = True) -> Lattice:
    """Triangular lattice on an L x L rhombus in axial coordinates; 6 directions."""
    return _regular("triangular", _shape(side, 2), periodic)


def cubic(side, periodic: bool = True) -> Lattice:
    """Simple cubic lattice with side L (or shape (a, b, c)); 6 directions."""
    return _regular("cubic", _shape(side, 3), periodic)


def from_graph(graph: nx.Graph) -> Lattice:
    """Any undirected networkx graph; nodes are numbered in `graph.nodes` order.

    Couplings on a graph are isotropic (there are no bond directions).
    """
    if not isinstance(graph, nx.Graph) or graph.is_directed():
        raise TypeError(f"graph must be an undirected networkx.Graph, got {type(graph).__name__}")
    if graph.number_of_nodes() == 0 or graph.number_of_edges() == 0:
        raise ValueError("graph must have at least one edge")
    loops = list(nx.selfloop_edges(graph))
    if loops:
        raise ValueError(f"graph must have no self-loops, found {loops[:3]}")
    index = {node: i for i, node in enumerate(graph.nodes)}
    n = len(index)
    k = max(d for _, d in graph.degree)
    neighbours = np.tile(np.arange(n, dtype=np.int32)[:, None], (1, k))
    mask = np.zeros((n, k), bool)
    for node, i in index.items():
        nb = [index[v] for v in graph.neighbors(node)]
        neighbours[i, : len(nb)] = nb
        mask[i, : len(nb)] = True
    colours = nx.greedy_color(graph, strategy="largest_first")
    colour = np.array([colours[node] for node in graph.nodes])
    return Lattice(
        neighbours=jnp.asarray(neighbours),
        mask=jnp.asarray(mask),
        blocks=_blocks(colour),
        kind="graph",
        shape=(n,),
        periodic=False,
        n_directions=None,
    )
