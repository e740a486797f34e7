"""The explicit-linker lattice: linker states on faces and bonds, enumerated.

The lattice counterpart of `Linkers`: each site holds a species (or is empty, index
q); each site has z = lattice.max_degree faces, face (i, d) looking along bond slot d
(padded slots of open lattices are dangling faces). A face is empty (0) or singly
bound by linker k (k + 1); a bond is unbridged (0) or bridged by linker k (k + 1),
which occupies both of its faces. The weight of an explicit state is

$$\\prod_i e^{\\mu_{\\sigma_i}} \\prod_{\\langle ij\\rangle} e^{-J^0_{\\sigma_i\\sigma_j}}
  \\prod_{\\text{single}} z_k K_{\\sigma_i k} \\prod_{\\text{bridges}} v z_k K_{\\sigma_i k}
  K_{\\sigma_j k}$$

and zero for impossible states (a linker on an empty site's face, a bridge to an empty
site, a face both singly bound and bridged). Summing over linker states by brute force
(tiny systems only) gives exp(-E~(sigma)) of the integrated-out model, which the tests
compare with `Linkers.effective_model` configuration by configuration.
"""

from __future__ import annotations

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ..lattice._lattice import Lattice
from ._linkers import Linkers

MAX_LINKER_STATES = 1 << 20


def face_pairs(lattice: Lattice) -> np.ndarray:
    """(n_bonds, 2) flat face indices i * z + d of the two faces of every bond."""
    if not isinstance(lattice, Lattice):
        raise TypeError(f"lattice must be a molcomp Lattice, got {type(lattice).__name__}")
    nb, mask = np.asarray(lattice.neighbours), np.asarray(lattice.mask)
    n, z = nb.shape
    used = np.zeros((n, z), bool)
    pairs = []
    for i in range(n):
        for d in range(z):
            if not mask[i, d] or used[i, d]:
                continue
            j = int(nb[i, d])
            back = [e for e in range(z) if mask[j, e] and nb[j, e] == i and not used[j, e]]
            back = [e for e in back if (j, e) != (i, d)]
            if not back:
                raise ValueError(f"lattice bond ({i}, {j}) has no matching slot at site {j}")
            used[i, d] = used[j, back[0]] = True
            pairs.append((i * z + d, j * z + back[0]))
    return np.asarray(pairs, np.int32)


class ExplicitLinkerLattice(eqx.Module):
    """Sites with species, linkers as explicit states on faces and bonds.

    **Arguments:** `lattice`; `J0` (q, q) bare couplings; `mu` (q,) chemical potentials;
    `linkers` a `Linkers` (concentrations, binding constants, bridge weight).
    """

    lattice: Lattice
    J0: Float[Array, "q q"]
    mu: Float[Array, " q"]
    linkers: Linkers
    pairs: tuple[tuple[int, int], ...] = eqx.field(static=True)

    def __init__(self, lattice, J0, mu, linkers: Linkers):
        if not isinstance(linkers, Linkers):
            raise TypeError(f"linkers must be a Linkers, got {type(linkers).__name__}")
        if not isinstance(lattice, Lattice):
            raise TypeError(f"lattice must be a molcomp Lattice, got {type(lattice).__name__}")
        q = linkers.n_species
        if jnp.shape(J0) != (q, q) or jnp.shape(mu) != (q,):
            raise ValueError(
                f"J0 must be ({q}, {q}) and mu ({q},) for {q} species, got "
                f"{jnp.shape(J0)} and {jnp.shape(mu)}"
            )
        self.lattice, self.linkers = lattice, linkers
        self.J0, self.mu = jnp.asarray(J0, jnp.float32), jnp.asarray(mu, jnp.float32)
        self.pairs = tuple(tuple(int(f) for f in p) for p in face_pairs(lattice))

    def log_weight(self, sites: Int[Array, " n"], faces: Int[Array, " F"], bridges):
        """ln of the weight of one explicit state (-inf if impossible).

        `sites` (n,) in [0, q] (q empty); `faces` (n z,) flat face states; `bridges`
        (n_bonds,) bond states; linker states are 0 (none) or k + 1.
        """
        q, z = self.linkers.n_species, self.lattice.max_degree
        lk, pairs = self.linkers, np.asarray(self.pairs, np.int32).reshape(-1, 2)
        occupied = sites < q
        s = jnp.minimum(sites, q - 1)
        logw = jnp.sum(jnp.where(occupied, self.mu[s], 0.0))
        a, b = pairs[:, 0] // z, pairs[:, 1] // z
        both = occupied[a] & occupied[b]
        logw -= jnp.sum(jnp.where(both, self.J0[s[a], s[b]], 0.0))
        log_zK = jnp.log(lk.concentrations)[None, :] + jnp.log(lk.binding)  # (q, L)
        # single bonds on faces
        site_of_face = jnp.repeat(jnp.arange(sites.shape[0]), z)
        fk = jnp.maximum(faces - 1, 0)
        single = jnp.where(faces > 0, log_zK[s[site_of_face], fk], 0.0)
        ok = jnp.all((faces == 0) | occupied[site_of_face])
        # bridges
        bk = jnp.maximum(bridges - 1, 0)
        log_bridge = jnp.log(lk.bridge) + log_zK[s[a], bk] + jnp.log(lk.binding[s[b], bk])
        bridge = jnp.where(bridges > 0, log_bridge, 0.0)
        ok &= jnp.all((bridges == 0) | both)
        free = (faces[pairs[:, 0]] == 0) & (faces[pairs[:, 1]] == 0)
        ok &= jnp.all((bridges == 0) | free)
        return jnp.where(ok, logw + jnp.sum(single) + jnp.sum(bridge), -jnp.inf)

    def linker_states(self):
        """All (faces, bridges) linker states: arrays (M, n z) and (M, n_bonds)."""
        n_faces = self.lattice.n_sites * self.lattice.max_degree
        n_bonds, L = len(self.pairs), self.linkers.raw.shape[0]
        total = (L + 1) ** (n_faces + n_bonds)
        if total > MAX_LINKER_STATES:
            raise ValueError(
                f"{total} linker states exceed {MAX_LINKER_STATES}; use a tinier lattice"
            )
        allstates = np.array(list(itertools.product(range(L + 1), repeat=n_faces + n_bonds)))
        return jnp.asarray(allstates[:, :n_faces]), jnp.asarray(allstates[:, n_faces:])

    def log_marginal(self, sites, states=None):
        """ln sum over every linker state of the explicit weight, for site config `sites`:
        equals -E~(sites) of the integrated-out model."""
        faces, bridges = self.linker_states() if states is None else states
        logw = jax.vmap(lambda f, b: self.log_weight(sites, f, b))(faces, bridges)
        return jax.nn.logsumexp(logw)
