"""Lattices and graphs: neighbour tables, bond directions, bond counts and colourings."""

import networkx as nx
import numpy as np
import pytest

from molcomp import lattice

# (builder, expected number of bonds, expected number of colour blocks or None)
REGULAR = {
    "square4": (lambda: lattice.square(4), 2 * 16, 2),
    "square3": (lambda: lattice.square(3), 2 * 9, None),  # odd periodic: greedy colouring
    "square3x5-open": (lambda: lattice.square((3, 5), periodic=False), 3 * 4 + 5 * 2, 2),
    "square2-open": (lambda: lattice.square(2, periodic=False), 4, 2),
    "triangular3": (lambda: lattice.triangular(3), 3 * 9, 3),
    "triangular4": (lambda: lattice.triangular(4), 3 * 16, None),
    "triangular3x4-open": (
        lambda: lattice.triangular((3, 4), periodic=False),
        3 * 3 + 4 * 2 + 2 * 3,
        3,
    ),
    "cubic4": (lambda: lattice.cubic(4), 3 * 64, 2),
    "cubic3": (lambda: lattice.cubic(3), 3 * 27, None),
    "cubic2x3x3-open": (
        lambda: lattice.cubic((2, 3, 3), periodic=False),
        1 * 3 * 3 + 2 * 2 * 3 + 2 * 3 * 2,
        2,
    ),
}


def adjacency_sets(lat):
    nb, mask = np.asarray(lat.neighbours), np.asarray(lat.mask)
    return [set(nb[x][mask[x]].tolist()) for x in range(lat.n_sites)]


def assert_proper_colouring(lat):
    blocks = [np.asarray(b) for b in lat.blocks]
    allsites = np.concatenate(blocks)
    assert sorted(allsites.tolist()) == list(range(lat.n_sites))  # a partition
    colour = np.empty(lat.n_sites, int)
    for c, b in enumerate(blocks):
        colour[b] = c
    nb, mask = np.asarray(lat.neighbours), np.asarray(lat.mask)
    same = colour[:, None] == colour[nb]
    assert not np.any(same & mask), "two neighbours share a block"


@pytest.mark.parametrize("name", list(REGULAR))
def test_regular_lattice_structure(name):
    build, n_bonds, n_blocks = REGULAR[name]
    lat = build()
    nb, mask = np.asarray(lat.neighbours), np.asarray(lat.mask)
    n, k = nb.shape
    assert n == int(np.prod(lat.shape)) and k == lat.n_directions
    assert lat.n_bonds == n_bonds == len(lat.edges())
    x = np.arange(n)
    # Padded slots point at the site itself; real ones never do (no self-bonds).
    assert np.all(nb[~mask] == np.broadcast_to(x[:, None], nb.shape)[~mask])
    assert not np.any((nb == x[:, None]) & mask)
    # Direction d and its opposite are inverse steps.
    for d in range(k):
        o = lat.opposite(d)
        assert o == (d + k // 2) % k
        y = nb[:, d]
        assert np.all(nb[y, o][mask[:, d]] == x[mask[:, d]])
        assert np.all(mask[y, o][mask[:, d]])
    # No pair of sites is joined twice (periodic sides >= 3).
    for row, m in zip(nb, mask):
        assert len(set(row[m].tolist())) == m.sum()
    assert_proper_colouring(lat)
    if n_blocks is not None:
        assert len(lat.blocks) == n_blocks
    assert lat.coords().shape == (n, len(lat.shape))


def test_square_directions_are_columns_then_rows():
    lat = lattice.square((3, 4))
    nb = np.asarray(lat.neighbours).reshape(3, 4, 4)
    r, c = 1, 3
    assert nb[r, c, 0] == r * 4 + 0  # +x: next column, wrapping
    assert nb[r, c, 1] == 2 * 4 + c  # +y: next row
    assert nb[r, c, 2] == r * 4 + 2  # -x
    assert nb[r, c, 3] == 0 * 4 + c  # -y


def test_open_lattice_boundary():
    lat = lattice.square(3, periodic=False)
    degree = np.asarray(lat.mask).sum(axis=1).reshape(3, 3)
    np.testing.assert_array_equal(degree, [[2, 3, 2], [3, 4, 3], [2, 3, 2]])
    assert not lat.periodic and lat.kind == "square"


@pytest.mark.parametrize(
    "graph",
    [
        nx.petersen_graph(),
        nx.gnm_random_graph(12, 20, seed=1),
        nx.relabel_nodes(nx.path_graph(4), {0: "a", 1: "b", 2: "c", 3: "d"}),
    ],
    ids=["petersen", "random", "labelled-path"],
)
def test_from_graph_matches_networkx(graph):
    lat = lattice.from_graph(graph)
    index = {node: i for i, node in enumerate(graph.nodes)}
    want = [{index[v] for v in graph.neighbors(u)} for u in graph.nodes]
    assert adjacency_sets(lat) == want
    assert lat.kind == "graph" and lat.n_directions is None
    assert lat.n_bonds == graph.number_of_edges()
    assert nx.is_isomorphic(lat.to_networkx(), graph)
    assert lat.max_degree == max(d for _, d in graph.degree)
    assert_proper_colouring(lat)
    with pytest.raises(ValueError, match="directions"):
        lat.opposite(0)


def test_to_networkx_round_trip_of_a_lattice():
    lat = lattice.triangular(3)
    g = lat.to_networkx()
    assert g.number_of_edges() == lat.n_bonds
    assert all(d == 6 for _, d in g.degree)
    assert adjacency_sets(lattice.from_graph(g)) == adjacency_sets(lat)
