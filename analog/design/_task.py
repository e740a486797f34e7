"""Designing well depths for self-assembly (after Goodrich, King, Schoenholz, Cubuk and
Brenner, PNAS 2021): a small mixture whose target cluster competes with another.

A cluster is a species-labelled contact graph. Its yield is the number of connected
components of the contact graph isomorphic to it (`molcomp.particles.cluster_yield`).
Here the yield is written as a sum over the placements of the cluster on the particles
(species-preserving injective maps, up to the cluster's automorphisms) of

$$\\prod_{(i,j)\\in \\text{edges}} s(r_{ij}) \\prod_{\\text{other pairs touching the
placement}} (1 - s(r_{ij})),$$

with s(r) = 1 for r < contact and 0 beyond: exactly `cluster_yield`. Replacing the step
by a sigmoid of width `width` gives the smooth yield, differentiable in the positions
(needed by gradients through trajectories). The design loss is
-(yield(target) - yield(competitor)), smooth, averaged over chains.

Gradients (`analog.design.design_grad`) are returned in the descent convention (for
optax), as (q, q) symmetric matrices G[a, b] = d loss / d D_ab with D_ab = D_ba moved
together.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
from jaxtyping import Array, Int

from molcomp import particles
from molcomp.checks import as_finite_float, check_positive_int, check_real

MAX_PARTICLES = 10  # placements are enumerated over permutations of the particles


def _check_graph(name, graph, counts):
    if not isinstance(graph, nx.Graph) or graph.number_of_nodes() < 1:
        raise TypeError(f"{name} must be a non-empty networkx Graph, got {type(graph).__name__}")
    if not nx.is_connected(graph):
        raise ValueError(f"{name} must be connected (a cluster is one component)")
    labels = [graph.nodes[v].get("species") for v in graph.nodes]
    if any(not isinstance(s, int | np.integer) for s in labels):
        raise ValueError(f"every node of {name} needs an integer 'species' attribute")
    for s in set(labels):
        if labels.count(s) > counts.get(int(s), 0):
            raise ValueError(
                f"{name} needs {labels.count(s)} particles of species {s}, the mixture has "
                f"{counts.get(int(s), 0)}"
            )


def placement_masks(species, graph: nx.Graph) -> np.ndarray:
    """(K, n, n) int8 masks, one per placement of `graph` on the particles: +1 where the
    pair must touch (a cluster edge), -1 where it must not (any other pair with a member
    of the placement), 0 elsewhere (pairs of outsiders)."""
    species = [int(s) for s in species]
    n = len(species)
    nodes = list(graph.nodes)
    want = [int(graph.nodes[v]["species"]) for v in nodes]
    at = {v: i for i, v in enumerate(nodes)}
    edges = [(at[u], at[v]) for u, v in graph.edges]
    seen, masks = set(), []
    for p in itertools.permutations(range(n), len(nodes)):
        if any(species[p[i]] != want[i] for i in range(len(nodes))):
            continue
        bonds = frozenset(frozenset((p[i], p[j])) for i, j in edges)
        if (frozenset(p), bonds) in seen:  # the same placement up to an automorphism
            continue
        seen.add((frozenset(p), bonds))
        inside = np.zeros(n, bool)
        inside[list(p)] = True
        m = -(inside[:, None] | inside[None, :]).astype(np.int8)
        for pair in bonds:
            i, j = tuple(pair)
            m[i, j] = m[j, i] = 1
        np.fill_diagonal(m, 0)
        masks.append(m)
    return np.stack(masks) if masks else np.zeros((0, n, n), np.int8)


class ClusterDesign(eqx.Module):
    """A design task: a mixture, a target cluster and a competing one.

    **Arguments:**

    - `species`: (n,) integer species of the particles (n <= 10).
    - `box`: side lengths (2 or 3).
    - `target`, `competitor`: networkx graphs, nodes with an integer `species`
      attribute; a cluster's edges are its contacts. `competitor` may be None.
    - `contact`: contact distance (sigma units); `width`: the smooth yield's sigmoid
      width.
    - `sigma`, `alpha`, `core`, `cutoff`: the `ParticleMixture` potential.

    `task.model(depth)` builds the mixture; `task.yields(x)` gives the smooth (target,
    competitor) yields of positions x (n, dim), `task.hard_yields(x)` the exact counts.
    """

    species: tuple[int, ...] = eqx.field(static=True)
    box: tuple[float, ...] = eqx.field(static=True)
    contact: float = eqx.field(static=True)
    width: float = eqx.field(static=True)
    sigma: float = eqx.field(static=True)
    alpha: float = eqx.field(static=True)
    core: float = eqx.field(static=True)
    cutoff: float = eqx.field(static=True)
    n_species: int = eqx.field(static=True)
    target_masks: Int[Array, "k n n"]
    competitor_masks: Int[Array, "k n n"]

    def __init__(
        self,
        species,
        box,
        target: nx.Graph,
        competitor: nx.Graph | None = None,
        *,
        n_species: int | None = None,
        contact: float = 1.3,
        width: float = 0.05,
        sigma: float = 1.0,
        alpha: float = 4.0,
        core: float = 50.0,
        cutoff: float = 2.0,
    ):
        s = np.asarray(species)
        if s.ndim != 1 or s.size < 2 or not np.issubdtype(s.dtype, np.integer) or s.min() < 0:
            raise ValueError(f"species must be >= 2 non-negative integers, got {species!r}")
        if s.size > MAX_PARTICLES:
            raise ValueError(f"species: at most {MAX_PARTICLES} particles, got {s.size}")
        counts = {int(a): int(c) for a, c in zip(*np.unique(s, return_counts=True))}
        _check_graph("target", target, counts)
        if competitor is not None:
            _check_graph("competitor", competitor, counts)
        contact = check_real("contact", contact, minimum=0, strict=True)
        width = check_real("width", width, minimum=0, strict=True)
        sigma = check_real("sigma", sigma, minimum=0, strict=True)
        alpha = check_real("alpha", alpha, minimum=0, strict=True)
        core = check_real("core", core, minimum=0, strict=True)
        cutoff = check_real("cutoff", cutoff, minimum=0, strict=True)
        if not sigma < contact < cutoff:
            raise ValueError(
                f"contact must lie between sigma and cutoff ({sigma}, {cutoff}), got {contact}"
            )
        self.species = tuple(int(a) for a in s)
        self.n_species = (
            int(s.max()) + 1 if n_species is None else check_positive_int("n_species", n_species)
        )
        if self.n_species <= s.max():
            raise ValueError(f"n_species must exceed every species label, got {n_species}")
        b = as_finite_float("box", box)
        if b.ndim != 1 or b.size not in (2, 3):
            raise ValueError(f"box must list 2 or 3 side lengths, got {box!r}")
        self.box = tuple(float(v) for v in b)
        self.contact, self.width = float(contact), float(width)
        self.sigma, self.alpha, self.core, self.cutoff = sigma, alpha, core, cutoff
        self.target_masks = jnp.asarray(placement_masks(self.species, target))
        empty = np.zeros((0, s.size, s.size), np.int8)
        other = empty if competitor is None else placement_masks(self.species, competitor)
        self.competitor_masks = jnp.asarray(other)
        self.model(np.zeros((self.n_species,) * 2))  # the potential and box, validated now

    @property
    def n_particles(self) -> int:
        """n, the number of particles."""
        return len(self.species)

    def model(self, depth) -> particles.ParticleMixture:
        """The mixture with (q, q) well depths `depth` (validated there: >= 0, symmetric)."""
        d = jnp.asarray(depth)
        if d.shape != (self.n_species, self.n_species):
            raise ValueError(
                f"depth must have shape {(self.n_species,) * 2} (one per species pair), got "
                f"{d.shape}"
            )
        return particles.ParticleMixture(
            depth,
            np.asarray(self.species),
            self.box,
            sigma=self.sigma,
            alpha=self.alpha,
            core=self.core,
            cutoff=self.cutoff,
        )

    def _distances(self, x):
        box = jnp.asarray(self.box, x.dtype)
        d = x[:, None, :] - x[None, :, :]
        d = d - box * jnp.round(d / box)
        n = self.n_particles
        return jnp.sqrt(jnp.sum(d**2, -1) + jnp.eye(n, dtype=x.dtype))  # no sqrt(0) grads

    def _count(self, touch, masks):
        if masks.shape[0] == 0:
            return jnp.zeros((), touch.dtype)
        m = masks
        upper = jnp.triu(jnp.ones(touch.shape, bool), 1)
        f = jnp.where(m == 1, touch, jnp.where(m == -1, 1.0 - touch, 1.0))
        return jnp.sum(jnp.prod(jnp.where(upper, f, 1.0), axis=(-2, -1)))

    def yields(self, positions):
        """Smooth (target, competitor) yields of one configuration (n, dim)."""
        r = self._distances(positions)
        touch = jax.nn.sigmoid((self.contact - r) / self.width)
        return self._count(touch, self.target_masks), self._count(touch, self.competitor_masks)

    def hard_yields(self, positions):
        """Exact (target, competitor) cluster counts of one configuration (n, dim)."""
        touch = (self._distances(positions) < self.contact).astype(jnp.float32)
        return self._count(touch, self.target_masks), self._count(touch, self.competitor_masks)

    def loss(self, positions):
        """-(target - competitor) smooth yield, averaged over any leading chain axes."""
        x = jnp.reshape(positions, (-1, self.n_particles, len(self.box)))
        t, c = jax.vmap(self.yields)(x)
        return -jnp.mean(t - c)

    def start(self, chains: int):
        """(chains, n, dim) dispersed start: every chain on the same grid (no contacts
        when the box is dilute)."""
        chains = check_positive_int("chains", chains)
        x = particles.lattice_positions(self.model(np.zeros((self.n_species,) * 2)))
        return jnp.broadcast_to(x, (chains, *x.shape))


def depth_only(model):
    """equinox filter spec: differentiate the well depths only."""
    spec = jax.tree_util.tree_map(lambda _: False, model)
    return eqx.tree_at(lambda m: m.depth, spec, True)


def pair_gradient(g):
    """d/dD_ab with D_ab = D_ba moved together, from a gradient w.r.t. the raw matrix."""
    return g + g.T - jnp.diag(jnp.diag(g))


class Target(NamedTuple):
    """Convenience: the species of a cluster's nodes and its contact edges."""

    species: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]

    def graph(self) -> nx.Graph:
        """The networkx graph: node i with attribute `species`, one edge per contact."""
        g = nx.Graph()
        g.add_nodes_from((i, {"species": int(s)}) for i, s in enumerate(self.species))
        g.add_edges_from(self.edges)
        return g
