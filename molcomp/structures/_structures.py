"""Stored structures: m arrangements of N species on a patch of a lattice or graph.

A structure places each species at most once on the patch (a permutation of the N
species when the patch has N sites). Its designed bonds are the oriented neighbour
pairs (d, a, b) it contains: species a at a patch site, b at its neighbour in forward
direction d (d = 0 and a <= b on graphs, which have no directions). Overlaps, the
retrieval error and the largest correctly bonded cluster are read off a configuration
by looking its bonds up among the designed ones, so a structure assembled anywhere on
the lattice (not only at its stored position) counts.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int

from ..checks import check_key, check_positive_int
from ..lattice._lattice import Lattice


class Structures(eqx.Module):
    """m stored arrangements of `n_species` species on the patch `sites` of `lattice`.

    **Fields:**

    - `lattice`: the `Lattice` the structures live on.
    - `sites`: (p,) lattice indices of the patch sites.
    - `arrangements`: (m, p) species at each patch site, one row per structure.
    - `n_species`: N, the number of species (the empty state of a model is index N).
    - `patch_shape`: (h, w) when the patch is a rectangle of a square lattice (row-major
      `sites`), else None.

    Build with `molcomp.structures.random` or `molcomp.structures.from_arrays`.
    """

    lattice: Lattice
    sites: Int[Array, " p"]
    arrangements: Int[Array, "m p"]
    n_species: int = eqx.field(static=True)
    patch_shape: tuple[int, ...] | None = eqx.field(static=True, default=None)
    bonds: Int[Array, "B 3"] = eqx.field(default=None)

    def __post_init__(self):
        if self.bonds is None:
            self.bonds = jnp.asarray(_patch_bonds(self.lattice, np.asarray(self.sites)))

    @property
    def m(self) -> int:
        """Number of stored structures."""
        return int(self.arrangements.shape[0])

    def configuration(self, alpha: int) -> Int[Array, " n"]:
        """Structure `alpha` on the lattice, every other site empty (state N)."""
        config = jnp.full(self.lattice.n_sites, self.n_species, jnp.int32)
        return config.at[self.sites].set(self.arrangements[alpha])

    def bond_keys(self, xp=jnp) -> Int[Array, "m B"]:
        """Integer key of every designed bond of every structure (see `bond_key`);
        `xp=numpy` computes them on the host (no JAX dispatch)."""
        bonds, arr = xp.asarray(self.bonds), xp.asarray(self.arrangements)
        x, y, d = bonds[:, 0], bonds[:, 1], bonds[:, 2]
        return bond_key(self, d[None], arr[:, x], arr[:, y])

    def partners(self) -> Int[Array, "m D N"]:
        """Designed partner of every species per structure and forward direction: the
        species `alpha` places in direction d of species a, or -1 (oriented lattices)."""
        if self.lattice.n_directions is None:
            raise ValueError("partners need bond directions; a graph has none")
        return _partners(self)


@eqx.filter_jit  # one compile per shape instead of a dozen eager ops (new m, new N)
def _partners(structs: Structures) -> Int[Array, "m D N"]:
    nb, mask, sites = structs.lattice.neighbours, structs.lattice.mask, structs.sites
    where = jnp.full(structs.lattice.n_sites, -1).at[sites].set(jnp.arange(sites.size))
    fwd = _forward(structs.lattice)
    y = where[nb[sites][:, fwd]]  # (p, D) patch index of the neighbour
    ok = mask[sites][:, fwd] & (y >= 0)
    b = jnp.where(ok[None], structs.arrangements[:, jnp.maximum(y, 0)], -1)  # (m, p, D)
    out = jnp.full((structs.m, len(fwd), structs.n_species), -1, jnp.int32)
    a = jnp.broadcast_to(structs.arrangements[:, :, None], b.shape)
    al = jnp.broadcast_to(jnp.arange(structs.m)[:, None, None], b.shape)
    d = jnp.broadcast_to(jnp.arange(len(fwd))[None, None, :], b.shape)
    return out.at[al, d, a].set(b.astype(jnp.int32))


def _patch_bonds(lat: Lattice, sites: np.ndarray) -> np.ndarray:
    """(B, 3) rows (patch index x, patch index y, direction) of the bonds inside the patch."""
    nb, mask = np.asarray(lat.neighbours), np.asarray(lat.mask)
    where = np.full(lat.n_sites, -1)
    where[sites] = np.arange(sites.size)
    rows = []
    for d in _forward(lat):
        y = nb[sites, d]
        ok = mask[sites, d] & (where[y] >= 0)
        if lat.n_directions is None:
            ok &= sites < y  # a graph bond appears from both ends: keep one
        x = np.flatnonzero(ok)
        rows.append(np.stack([x, where[y[ok]], np.full(x.size, d if lat.n_directions else 0)], 1))
    return np.concatenate(rows).astype(np.int32)


def _forward(lat: Lattice) -> list[int]:
    """Neighbour slots that carry each bond once: forward directions, or all graph slots."""
    if lat.n_directions is None:
        return list(range(lat.max_degree))
    return list(range(lat.n_directions // 2))


def bond_key(structs: Structures, d, a, b):
    """Encode bond (d, a, b) as one integer; graphs (isotropic) sort (a, b) first.

    Plain arithmetic on int32 copies, so it works on numpy and JAX arrays alike (the
    keys stay below 2^31 for any K / 2 * (N + 1)^2 that fits in memory)."""
    S = structs.n_species + 1
    a, b = a.astype("int32"), b.astype("int32")
    if structs.lattice.n_directions is None:
        gap = abs(a - b)
        a, b = (a + b - gap) // 2, (a + b + gap) // 2
    return (d * S + a) * S + b


def _patch(lattice: Lattice, patch, n_species: int) -> tuple[np.ndarray, tuple | None]:
    """(patch site indices, (h, w) or None) from None, an (h, w) rectangle or indices."""
    if not isinstance(lattice, Lattice):
        raise TypeError(f"lattice must be a molcomp Lattice, got {type(lattice).__name__}")
    n = lattice.n_sites
    if patch is None:
        if n_species == n:
            shape = lattice.shape if lattice.kind == "square" else None
            return np.arange(n), shape
        side = int(round(n_species**0.5))
        if lattice.kind != "square" or side * side != n_species:
            raise ValueError(
                f"patch is required: {n_species} species do not fill the {n} sites of the "
                f"lattice and are not a square number on a square lattice"
            )
        patch = (side, side)
    if isinstance(patch, tuple) and len(patch) == 2 and all(isinstance(s, int) for s in patch):
        if lattice.kind != "square":
            raise ValueError(f"patch as (h, w) needs a square lattice, got a {lattice.kind}")
        (h, w), (H, W) = patch, lattice.shape
        if h < 1 or w < 1 or h > H or w > W:
            raise ValueError(f"patch {patch} does not fit the {H} x {W} lattice")
        r0, c0 = (H - h) // 2, (W - w) // 2  # centred: seeds can grow in every direction
        rows, cols = np.meshgrid(np.arange(r0, r0 + h), np.arange(c0, c0 + w), indexing="ij")
        return (rows * W + cols).ravel(), (h, w)
    sites = np.asarray(patch)
    if sites.ndim != 1 or not np.issubdtype(sites.dtype, np.integer):
        raise ValueError(f"patch must be (h, w) or a 1-D array of site indices, got {patch!r}")
    if sites.size > n or np.any((sites < 0) | (sites >= n)) or np.unique(sites).size != sites.size:
        raise ValueError(
            f"patch must hold distinct site indices in [0, {n}) (at most {n} sites), "
            f"got {sites.size} sites"
        )
    return sites, None


def _check_arrangements(arr: np.ndarray, n_species: int, permutation: bool) -> None:
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"m must be >= 1: arrangements must have shape (m, p), got {arr.shape}")
    if np.any((arr < 0) | (arr >= n_species)):
        raise ValueError(f"arrangements must hold species in [0, {n_species})")
    for alpha, row in enumerate(arr):
        if np.unique(row).size != row.size:
            raise ValueError(f"arrangements[{alpha}] places a species twice")
        if permutation and row.size != n_species:
            raise ValueError(
                f"arrangements[{alpha}] is not a permutation of the {n_species} species: "
                f"it has {row.size} sites (pass permutation=False for a subset)"
            )


def from_arrays(lattice: Lattice, arrangements, *, n_species=None, patch=None, permutation=True):
    """Structures given as an (m, p) array of species per patch site.

    **Arguments:**

    - `lattice`: a `Lattice`.
    - `arrangements`: (m, p) integer species; each row places a species at most once.
    - `n_species`: N (default: p).
    - `patch`: None (the whole lattice when p = n_sites, else a centred square), an
      (h, w) rectangle centred on a square lattice, or p site indices.
    - `permutation`: require every row to be a permutation of the N species.

    **Returns:** a `Structures`.
    """
    arr = np.asarray(arrangements)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"arrangements must be integers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"arrangements must have shape (m, p), got {arr.shape}")
    n_species = arr.shape[1] if n_species is None else check_positive_int("n_species", n_species)
    sites, shape = _patch(lattice, patch, arr.shape[1])
    if sites.size != arr.shape[1]:
        raise ValueError(f"patch has {sites.size} sites but arrangements have {arr.shape[1]}")
    _check_arrangements(arr, n_species, permutation)
    return Structures(
        lattice, jnp.asarray(sites, jnp.int32), jnp.asarray(arr, jnp.int32), n_species, shape
    )


def random(key, lattice: Lattice, n_species: int, m: int, *, patch=None) -> Structures:
    """m structures, each an independent uniformly random permutation of the N species
    on the patch (Osat and Golestanian's lattice multifarious mixture).

    **Arguments:**

    - `key`: a `jax.random` key.
    - `lattice`: a `Lattice`.
    - `n_species`: N; the patch must have N sites.
    - `m`: number of structures, >= 1.
    - `patch`: as in `from_arrays` (default: the whole lattice, or a centred
      sqrt(N) x sqrt(N) square).

    **Returns:** a `Structures`.

    **Example:**

    ```python
    structs = molcomp.structures.random(key, molcomp.lattice.square(6, periodic=False), 36, 2)
    ```
    """
    check_key("key", key)
    n_species, m = check_positive_int("n_species", n_species), check_positive_int("m", m)
    sites, shape = _patch(lattice, patch, n_species)
    if sites.size != n_species:
        raise ValueError(
            f"patch has {sites.size} sites; a permutation of {n_species} species needs as many"
        )
    keys = jax.random.split(key, m)
    arr = jax.vmap(lambda k: jax.random.permutation(k, n_species))(keys).astype(jnp.int32)
    return Structures(lattice, jnp.asarray(sites, jnp.int32), arr, n_species, shape)
