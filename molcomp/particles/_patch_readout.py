"""Reading stored structures off the patch-bond graph of a patchy-particle configuration,
with the lattice readout's definitions (`molcomp.structures`).

A configuration's patch bonds come as an (n, K) array `partners`: `partners[i, d]` is
the particle bound at patch d of particle i (patch d binds the opposite patch of its
partner) or -1. A bond at a forward patch d < K / 2 between species a (particle i) and
b (its partner) is the lattice bond (d, a, b) - species a at a site, b at the
neighbour in direction d - and is looked up among the designed bonds by the same
integer key the lattice readout uses (`bond_key`). From there every definition is the
lattice one:

- `overlaps[alpha]`: fraction of the designed bonds of structure alpha present
  (anywhere, `molcomp.structures.bond_overlaps`); `error` = 1 - max overlap;
- the largest correctly bonded cluster: the largest connected component of particles
  joined by designed bonds (of any structure), its bonds split by structure
  (`fractions`) and its chimera flag (`molcomp.structures.largest_cluster`);
- `coverage[alpha]`: the fraction of structure alpha's N species held by the largest
  component of particles joined by alpha's own bonds - the recall criterion
  ("the largest correctly bonded cluster covers >= 90 % of the target").

Bonds locked by the patches also fix the geometry: a component of alpha's bonds is
rigidly the corresponding part of alpha (each bond (d, a, b) puts b one lattice step
from a in direction d), so it holds each species at most once unless particles
overlap. Coverage counts distinct species, so even then it never exceeds 1.
Host-side (numpy and networkx), like the lattice cluster analysis.
"""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np

from ..checks import check_fraction
from ..structures._assembly import Cluster
from ..structures._structures import Structures, bond_key
from ._patchy_geometry import lattice_configuration


@dataclasses.dataclass(frozen=True)
class PatchReadout:
    """What a patchy configuration holds of the stored structures (numpy).

    - `overlaps`: (m,) fraction of each structure's designed bonds present.
    - `error`: 1 - max overlap; `retrieved`: the structure of largest overlap.
    - `coverage`: (m,) fraction of each structure's species in the largest component
      joined by that structure's bonds.
    - `cluster`: the largest correctly bonded cluster (a `molcomp.structures.Cluster`
      whose `sites` are particle indices); `chimera`: its chimera flag.
    """

    overlaps: np.ndarray
    error: float
    retrieved: int
    coverage: np.ndarray
    cluster: Cluster
    chimera: bool


def _check(structs, species, partners):
    if not isinstance(structs, Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    K = structs.lattice.n_directions
    if K is None:
        raise ValueError("structs must live on a lattice with bond directions (patches)")
    species = np.asarray(species)
    partners = np.asarray(partners)
    if species.ndim != 1 or not np.issubdtype(species.dtype, np.integer):
        raise ValueError(f"species must be a 1-D integer array, got shape {species.shape}")
    if partners.shape != (species.size, K):
        raise ValueError(
            f"partners must have shape (n, K) = ({species.size}, {K}), got {partners.shape}"
        )
    if np.any((partners < -1) | (partners >= species.size)):
        raise ValueError(f"partners must hold particle indices in [-1, {species.size})")
    return species, partners.astype(np.int64), K


def patch_bond_list(structs: Structures, species, partners):
    """The bonds of a patch-bond graph as lattice bonds.

    **Arguments:**

    - `structs`: the stored `Structures` (an oriented lattice: K patches).
    - `species`: (n,) species of the particles.
    - `partners`: (n, K) partner at each patch or -1 (`PatchyMixture.patch_bonds`).

    **Returns:** `(pairs, keys, member)`: (E, 2) particle pairs (i at the tail of
    forward direction d, its partner at the head), (E,) bond keys (`bond_key` of
    (d, a, b)), (E, m) whether structure alpha designs each bond. Each bond once, read
    at the forward patch or, when only the partner reports it, at the backward one.
    """
    species, partners, K = _check(structs, species, partners)
    half = K // 2
    found = {}
    for d in range(K):
        i = np.flatnonzero(partners[:, d] >= 0)
        j = partners[i, d]
        if d < half:
            tail, head, fwd = i, j, d
        else:
            tail, head, fwd = j, i, d - half
        for t, h in zip(tail.tolist(), head.tolist()):
            found.setdefault((t, h, fwd), None)
    if not found:
        empty = np.zeros((0,), np.int64)
        return np.zeros((0, 2), np.int64), empty, np.zeros((0, structs.m), bool)
    rows = np.array(list(found), np.int64)
    pairs, d = rows[:, :2], rows[:, 2]
    keys = np.asarray(bond_key(structs, d, species[pairs[:, 0]], species[pairs[:, 1]]))
    design = structs.bond_keys(np)  # (m, B)
    member = np.stack([np.isin(keys, row) for row in design], axis=1)
    return pairs, keys, member


def _largest(n_nodes, pairs):
    g = nx.Graph()
    g.add_nodes_from(range(n_nodes))
    g.add_edges_from(map(tuple, pairs.tolist()))
    return max(nx.connected_components(g), key=len)


def patch_readout(structs: Structures, species, partners, threshold: float = 0.2):
    """Read out one patchy configuration from its patch bonds (lattice definitions).

    **Arguments:**

    - `structs`: the stored `Structures`.
    - `species`: (n,) species of the particles.
    - `partners`: (n, K) partner at each patch or -1 (`PatchyMixture.patch_bonds`).
    - `threshold`: the largest cluster is a chimera when two or more structures each
      hold more than this fraction of its bonds.

    **Returns:** a `PatchReadout`.

    **Example:**

    ```python
    partners = model.patch_bonds(config)
    out = molcomp.particles.patch_readout(structs, model.species, partners)
    out.coverage  # (m,) fraction of each structure in its largest bonded cluster
    ```
    """
    check_fraction("threshold", threshold, open_low=True, open_high=True)
    pairs, keys, member = patch_bond_list(structs, species, partners)
    species = np.asarray(species)
    m, n = structs.m, species.size
    design = structs.bond_keys(np)
    present = np.unique(keys)
    overlaps = np.array([np.isin(row, present).mean() for row in design])
    coverage = np.zeros(m)
    if n:  # as on the lattice, a lone particle is a cluster of size 1
        for alpha in range(m):
            comp = np.array(sorted(_largest(n, pairs[member[:, alpha]])))
            placed = np.isin(species[comp], np.asarray(structs.arrangements)[alpha])
            coverage[alpha] = np.unique(species[comp][placed]).size / structs.n_species
    good = member.any(axis=1)
    if n == 0:
        cluster = Cluster(np.zeros(0, np.int64), 0, np.zeros(m), -1, False)
    else:  # as on the lattice: every particle is a node, a lone one a cluster of size 1
        comp = np.array(sorted(_largest(n, pairs[good])))
        inside = good & np.isin(pairs[:, 0], comp) & np.isin(pairs[:, 1], comp)
        n_bonds = int(inside.sum())
        fractions = member[inside].sum(axis=0) / max(n_bonds, 1)
        chimera = bool(np.sum(fractions > threshold) >= 2)
        structure = int(np.argmax(fractions)) if n_bonds else -1
        cluster = Cluster(comp, n_bonds, fractions, structure, chimera)
    return PatchReadout(
        overlaps=overlaps,
        error=float(1.0 - overlaps.max()),
        retrieved=int(np.argmax(overlaps)),
        coverage=coverage,
        cluster=cluster,
        chimera=cluster.chimera,
    )


def structure_configuration(structs: Structures, alpha: int, box, *, sigma=1.0, which=None):
    """Structure `alpha` perfectly assembled in a box (`lattice_configuration`, the
    whole structure centred in the box): each species on its lattice site, every body
    angle 0, so patch d points along lattice direction d and faces its neighbour's opposite
    patch at contact (the bonds of a `PatchyMixture` at perfect contact).

    **Arguments:**

    - `structs`: the stored `Structures` (square or triangular lattice).
    - `alpha`: which structure, in [0, m).
    - `box`: the box's two side lengths.
    - `sigma`: the bond length (the model's `sigma`).
    - `which`: indices into the patch sites to place (e.g. a seed fragment); default
      all of them.

    **Returns:** `(species (p,), config (p, 3))` as numpy arrays (x, y, theta).

    **Example:**

    ```python
    species, config = structure_configuration(structs, 0, (12.0, 12.0))
    model = PatchyMixture(couplings, species, (12.0, 12.0))
    ```
    """
    if not isinstance(structs, Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    if structs.lattice.kind not in ("square", "triangular"):
        raise ValueError(f"patchy structures need a square or triangular lattice, got "
                         f"{structs.lattice.kind}")  # fmt: skip
    if not 0 <= int(alpha) < structs.m:
        raise ValueError(f"alpha must be in [0, {structs.m}), got {alpha}")
    box = np.asarray(box, np.float64)
    if box.shape != (2,) or np.any(~np.isfinite(box)) or np.any(box <= 0):
        raise ValueError(f"box must be two positive side lengths, got {box.tolist()}")
    sites = np.asarray(structs.sites)
    which = np.arange(sites.size) if which is None else np.asarray(which)
    xy = structs.lattice.coords()[sites].astype(np.float64) * float(sigma)
    origin = 0.5 * box - 0.5 * (xy.min(axis=0) + xy.max(axis=0))  # the structure centred
    if np.any(xy + origin < 0) or np.any(xy + origin >= box):
        raise ValueError(f"the structure (extent {np.ptp(xy, axis=0).tolist()}) does not fit "
                         f"the box {box.tolist()}")  # fmt: skip
    config = lattice_configuration(structs.lattice, sites[which], spacing=sigma, origin=origin)
    return np.asarray(structs.arrangements)[int(alpha), which], np.asarray(config)


def lattice_patch_bonds(lattice, config, n_species: int):
    """A lattice configuration as a patch-bond graph: one particle per occupied site
    (in site order), every contact between occupied neighbours a bond.

    So `patch_readout` reads lattice and patchy configurations by one definition.

    **Arguments:**

    - `lattice`: a `molcomp.lattice` with bond directions; `config`: (n_sites,) species,
      `n_species` (= N) for empty.
    - `n_species`: N.

    **Returns:** `(species (p,), partners (p, K))` for the p occupied sites.
    """
    if lattice.n_directions is None:
        raise ValueError("lattice must have bond directions (a square or triangular lattice)")
    config = np.asarray(config)
    if config.shape != (lattice.n_sites,):
        raise ValueError(f"config must have shape ({lattice.n_sites},), got {config.shape}")
    sites = np.flatnonzero(config < n_species)
    index = np.full(lattice.n_sites, -1)
    index[sites] = np.arange(sites.size)
    nb, mask = np.asarray(lattice.neighbours)[sites], np.asarray(lattice.mask)[sites]
    return config[sites], np.where(mask, index[nb], -1)
