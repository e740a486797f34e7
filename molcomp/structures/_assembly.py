"""Reading structures off a configuration: overlaps per site and per bond, the retrieval
error, the largest correctly bonded cluster and its chimera index.

Bonds of a configuration are looked up among the designed bonds by integer key (a sort
and a binary search), so a structure assembled anywhere on the lattice counts, and the
JAX functions vmap over configurations. The cluster analysis is host-side (networkx).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import networkx as nx
import numpy as np
from jaxtyping import Array, Float, Int

from ..checks import check_fraction
from ._structures import Structures, _forward, bond_key


def config_bond_keys(structs: Structures, config, xp=jnp) -> tuple[Int[Array, " E"], Array]:
    """(key of every lattice bond of `config`, True where both ends are occupied).

    `xp=numpy` computes them on the host (the cluster analysis does: no JAX dispatch,
    so no compilation per new shape)."""
    lat = structs.lattice
    fwd = _forward(lat)
    config = xp.asarray(config)
    nb = xp.asarray(lat.neighbours)[:, fwd]
    a = xp.broadcast_to(config[:, None], nb.shape)
    b = config[nb]
    d = xp.broadcast_to(xp.asarray(fwd if lat.n_directions else [0] * len(fwd)), nb.shape)
    occupied = xp.asarray(lat.mask)[:, fwd] & (a < structs.n_species) & (b < structs.n_species)
    if lat.n_directions is None:  # each graph bond appears from both ends: keep x < y
        occupied = occupied & (xp.arange(lat.n_sites)[:, None] < nb)
    return bond_key(structs, d, a, b).ravel(), occupied.ravel()


def _contains(sorted_keys, keys):
    i = jnp.clip(jnp.searchsorted(sorted_keys, keys), 0, sorted_keys.size - 1)
    return sorted_keys[i] == keys


def site_overlaps(structs: Structures, config: Int[Array, " n"]) -> Float[Array, " m"]:
    """Fraction of patch sites holding the species structure alpha puts there."""
    return jnp.mean(config[structs.sites][None, :] == structs.arrangements, axis=1)


def bond_overlaps(structs: Structures, config: Int[Array, " n"]) -> Float[Array, " m"]:
    """Fraction of the designed bonds of each structure present in `config` (anywhere).

    $$O_\\alpha = |B_\\alpha \\cap B(\\sigma)| / |B_\\alpha|,$$ with $B_\\alpha$ the designed
    bonds of structure alpha and $B(\\sigma)$ the bonds of the configuration.
    """
    keys, occupied = config_bond_keys(structs, config)
    formed = jnp.sort(jnp.where(occupied, keys, -1))
    return jnp.mean(_contains(formed, structs.bond_keys()), axis=1)


def error(structs: Structures, config: Int[Array, " n"]) -> Float[Array, ""]:
    """Retrieval error 1 - max_alpha O_alpha (bond overlaps); success when < 0.05."""
    return 1.0 - jnp.max(bond_overlaps(structs, config))


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The largest assembled cluster of a configuration (host-side, numpy).

    - `sites`: lattice indices of its sites.
    - `n_bonds`: its correct (designed) bonds.
    - `fractions`: (m,) fraction of those bonds each structure contains (a bond shared
      by two structures counts for both).
    - `structure`: the structure holding the largest fraction.
    - `chimera`: two or more structures each hold more than the threshold fraction.
    """

    sites: np.ndarray
    n_bonds: int
    fractions: np.ndarray
    structure: int
    chimera: bool


def largest_cluster(structs: Structures, config, threshold: float = 0.2) -> Cluster:
    """Largest connected component of occupied sites joined by designed bonds.

    Bonds are designed when any stored structure contains them; components are
    networkx connected components. `threshold` is the chimera fraction.
    """
    check_fraction("threshold", threshold, open_low=True, open_high=True)
    config = np.asarray(config)
    keys, occupied = config_bond_keys(structs, config, np)
    design = structs.bond_keys(np)  # (m, B)
    member = np.stack([np.isin(keys, row) for row in design], axis=1) & occupied[:, None]
    lat = structs.lattice
    fwd = _forward(lat)
    x = np.repeat(np.arange(lat.n_sites), len(fwd))
    y = np.asarray(lat.neighbours)[:, fwd].ravel()
    good = member.any(axis=1)
    g = nx.Graph()
    occ = np.flatnonzero(config < structs.n_species)
    g.add_nodes_from(occ.tolist())
    g.add_edges_from(zip(x[good].tolist(), y[good].tolist()))
    m = structs.m
    if g.number_of_nodes() == 0:
        return Cluster(np.zeros(0, np.int64), 0, np.zeros(m), -1, False)
    comp = np.array(sorted(max(nx.connected_components(g), key=len)))
    inside = good & np.isin(x, comp) & np.isin(y, comp)
    n_bonds = int(inside.sum())
    fractions = member[inside].sum(axis=0) / max(n_bonds, 1)
    chimera = bool(np.sum(fractions > threshold) >= 2)
    structure = int(np.argmax(fractions)) if n_bonds else -1
    return Cluster(comp, n_bonds, fractions, structure, chimera)


def chimera_index(structs: Structures, config, threshold: float = 0.2) -> Float[Array, " m"]:
    """The largest cluster's designed bonds split by structure: (m,) fractions."""
    return jnp.asarray(largest_cluster(structs, config, threshold).fractions)
