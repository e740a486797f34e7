"""Observables of particle configurations: contacts by species pair, clusters as
connected components of the contact graph, yields of a target cluster, and the radial
distribution function."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
from jax_md import space
from jaxtyping import Array, Float

from ._particles import ParticleMixture


def _distances(model: ParticleMixture, positions):
    displacement, _ = model.space()
    return space.distance(space.map_product(displacement)(positions, positions))


def contact_matrix(model: ParticleMixture, positions, contact: float) -> Float[Array, "q q"]:
    """C[a, b]: number of particle pairs of species (a, b) closer than `contact`
    (each unordered pair once; C is symmetric, off-diagonal pairs counted in both
    C[a, b] and C[b, a]). Jittable."""
    r = _distances(model, positions)
    n, q = model.n_particles, model.n_species
    touching = (r < contact) & ~jnp.eye(n, dtype=bool)
    onehot = jax.nn.one_hot(model.species, q)
    c = onehot.T @ touching.astype(onehot.dtype) @ onehot
    return c / (1.0 + jnp.eye(q))  # same-species pairs were seen from both ends


def contact_graph(model: ParticleMixture, positions, contact: float) -> nx.Graph:
    """networkx graph: particles as nodes (attribute `species`), an edge per contact."""
    r = np.asarray(_distances(model, positions))
    species = np.asarray(model.species)
    g = nx.Graph()
    g.add_nodes_from((i, {"species": int(s)}) for i, s in enumerate(species))
    i, j = np.nonzero(np.triu(r < contact, k=1))
    g.add_edges_from(zip(i.tolist(), j.tolist()))
    return g


def clusters(model: ParticleMixture, positions, contact: float) -> list[set[int]]:
    """Connected components of the contact graph, largest first."""
    g = contact_graph(model, positions, contact)
    return sorted(nx.connected_components(g), key=len, reverse=True)


def cluster_yield(model: ParticleMixture, positions, contact: float, target: nx.Graph) -> int:
    """Number of clusters isomorphic to `target` as species-labelled graphs (nodes of
    `target` carry a `species` attribute)."""
    g = contact_graph(model, positions, contact)
    same = nx.algorithms.isomorphism.categorical_node_match("species", None)
    return sum(
        nx.is_isomorphic(g.subgraph(c), target, node_match=same)
        for c in nx.connected_components(g)
        if len(c) == target.number_of_nodes()
    )


def radial_distribution(model: ParticleMixture, positions, r_max: float, bins: int = 50):
    """g(r) averaged over particles (and a leading chain axis if present).

    **Returns:** `(r, g)`: bin centres and g(r), normalised by the ideal-gas count
    rho * shell volume, so g -> 1 for an uncorrelated fluid.
    """
    if r_max > min(model.box) / 2:
        raise ValueError(f"r_max must be <= half the smallest box side, got {r_max}")
    x = jnp.asarray(positions)
    x = x[None] if x.ndim == 2 else x
    edges = jnp.linspace(0.0, r_max, bins + 1)
    n, dim = model.n_particles, model.dim
    r = jax.vmap(lambda p: _distances(model, p))(x)
    r = jnp.where(jnp.eye(n, dtype=bool), jnp.inf, r)
    counts = jnp.histogram(r.ravel(), bins=edges)[0] / (x.shape[0] * n)
    volume = float(np.prod(model.box))
    unit = np.pi if dim == 2 else 4.0 / 3.0 * np.pi
    shell = unit * (edges[1:] ** dim - edges[:-1] ** dim)
    g = counts / ((n - 1) / volume * shell)
    return 0.5 * (edges[1:] + edges[:-1]), g
