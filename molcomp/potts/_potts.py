"""Lattice Potts energies: grand-canonical `PottsModel` and canonical `PlaceModel`.

E(sigma) = beta * sum_<x,y> J[d(x,y)][sigma_x, sigma_y] - sum_x mu[sigma_x]

`beta` (default 1) scales the binding energies only: J is given in kT at a reference
temperature and beta = T_ref / T, whereas mu = ln(c / c0) is an ideal-solution entropy
per kT and does not change with temperature. With an empty (solvent) state it is the
last state index, q, with no couplings and mu = 0 (the reference concentration c0).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._model import AbstractEnergyModel
from ..checks import as_finite_float, is_concrete
from ..interactions._interactions import Couplings
from ..lattice._lattice import Lattice


class AbstractPottsModel(AbstractEnergyModel):
    """Shared energy machinery of lattice models with nearest-neighbour couplings.

    Sufficient statistics: (counts per state, ordered contacts per direction); the
    energy is linear in them.
    """

    has_statistics = True

    lattice: eqx.AbstractVar[Lattice]
    couplings: eqx.AbstractVar[Couplings]
    beta: eqx.AbstractVar[Float[Array, ""]]
    empty: eqx.AbstractVar[bool]

    @property
    def q(self) -> int:
        """Number of species (site states other than the empty one)."""
        return self.couplings.q

    @property
    def state_shape(self) -> tuple[int]:
        """(n_sites,): one state index per lattice site."""
        return (self.lattice.n_sites,)

    @property
    def n_states(self) -> int:
        """Number of site states S: q species plus the empty state if present."""
        return self.q + int(self.empty)

    @property
    def empty_state(self) -> int | None:
        """Index of the empty state (q), or None without one."""
        return self.q if self.empty else None

    def chemical_potentials(self) -> Float[Array, " S"]:
        """mu for every state (0 for the empty state); zeros in the canonical ensemble."""
        return jnp.zeros(self.n_states, jnp.float32)

    def tables(self) -> tuple[Float[Array, "D S S"], Float[Array, " S"]]:
        """(beta * J per direction padded with the empty state, mu per state).

        Samplers call this once per step; everything they do is a lookup into it.
        """
        J = self.couplings.matrices()
        if self.empty:
            J = jnp.pad(J, ((0, 0), (0, 1), (0, 1)))
        return self.beta * J, self.chemical_potentials()

    def _directions(self) -> np.ndarray:
        """Which coupling table each neighbour slot uses (static)."""
        k = self.lattice.max_degree
        if self.couplings.is_oriented:
            return np.arange(k)
        return np.zeros(k, np.int32)

    def _opposite_directions(self) -> np.ndarray:
        """The table of the reverse bond for each neighbour slot (static)."""
        k = self.lattice.max_degree
        if self.couplings.is_oriented:
            return np.array([self.lattice.opposite(d) for d in range(k)])
        return np.zeros(k, np.int32)

    def check_state(self, sigma, name: str = "state"):
        """Validate shape and range of a configuration (batched leading axes allowed)."""
        if is_concrete(sigma) and not isinstance(sigma, jax.Array):
            # Range-check the caller's values before any cast: int64 values beyond int32
            # would otherwise wrap into range in jnp.asarray.
            arr = np.asarray(sigma)
            if np.issubdtype(arr.dtype, np.integer) and arr.size:
                lo, hi = arr.min(), arr.max()
                if lo < 0 or hi >= self.n_states:
                    bad = lo if lo < 0 else hi
                    raise ValueError(
                        f"{name} holds state {bad}; states must be in [0, {self.n_states})"
                    )
            sigma = arr
        sigma = jnp.asarray(sigma)
        n = self.lattice.n_sites
        if sigma.ndim < 1 or sigma.shape[-1] != n:
            raise ValueError(
                f"{name} must have shape (..., {n}) for this lattice, got {sigma.shape}"
            )
        if not jnp.issubdtype(sigma.dtype, jnp.integer):
            raise TypeError(f"{name} must hold integer state indices, got dtype {sigma.dtype}")
        S = self.n_states
        if is_concrete(sigma):
            arr = np.asarray(sigma)
            bad = (arr < 0) | (arr >= S)
            if bad.any():
                idx = np.argwhere(bad)[0].tolist()
                raise ValueError(
                    f"{name} holds state {arr[tuple(idx)]} at {idx}; states must be in [0, {S})"
                    + (f" (species 0..{self.q - 1}, empty = {self.q})" if self.empty else "")
                )
            return sigma
        return eqx.error_if(
            sigma, (sigma < 0) | (sigma >= S), f"{name} holds a state outside [0, S)"
        )

    # ---- energies -------------------------------------------------------------
    def energy(self, sigma: Int[Array, " n"], tables=None) -> Float[Array, ""]:
        """Total energy in kT (each bond counted once).

        **Arguments:**

        - `sigma`: one configuration (n,).
        - `tables`: `tables()` output, when the caller already holds it (e.g. a
          sampler's prepared tables, or another replica's); default: built here.

        **Returns:** a scalar.
        """
        return self.prepared_energy(self.check_state(sigma), tables)

    def prepared_energy(self, sigma: Int[Array, " n"], tables=None) -> Float[Array, ""]:
        """`energy` without the value check of `sigma`, for a sampler's own states.

        Under a trace `energy`'s range check is an `equinox.error_if`, a host callback
        in the compiled program; a sampler's states stay in range by construction, so
        replica swaps and other in-loop evaluations use this instead (arguments as
        `energy`).
        """
        T, mu = self.tables() if tables is None else tables
        lat = self.lattice
        nb = sigma[lat.neighbours]  # (n, k)
        bond = T[self._directions()[None, :], sigma[:, None], nb]
        # Summing over all (site, slot) pairs counts each bond twice with equal values,
        # because J[opposite d] = J[d]^T; halving is exact in floating point.
        return 0.5 * jnp.sum(jnp.where(lat.mask, bond, 0.0)) - jnp.sum(mu[sigma])

    def site_energies(self, sigma: Int[Array, " n"], sites: Int[Array, " b"], tables=None):
        """Energy of every state s at each given site, the rest held fixed: (b, S).

        Only the terms that involve the site: `sum_k J[d_k][s, sigma_nbr] - mu[s]`.
        Cost O(k S) per site (heat bath for small S).
        """
        T, mu = self.tables() if tables is None else tables
        nb = sigma[self.lattice.neighbours[sites]]  # (b, k)
        m = self.lattice.mask[sites]
        cols = T[self._directions()[None, :], :, nb]  # (b, k, S)
        return jnp.sum(jnp.where(m[..., None], cols, 0.0), axis=1) - mu[None, :]

    def delta_energy(self, sigma, sites, new, tables=None) -> Float[Array, " b"]:
        """E(sigma with sigma[sites] = new) - E(sigma), for sites no two of which are
        neighbours. Cost O(k) per site, independent of S."""
        T, mu = self.tables() if tables is None else tables
        nb = sigma[self.lattice.neighbours[sites]]
        m = self.lattice.mask[sites]
        old = sigma[sites]
        # J[d][a, b] read as J[opposite d][b, a] (equal by construction): the row is the
        # neighbour's state, on a dilute lattice mostly the empty one, so the reads stay
        # in a few cached rows instead of a random row of a large table per proposal.
        d = self._opposite_directions()[None, :]
        dbond = T[d, nb, new[:, None]] - T[d, nb, old[:, None]]
        return jnp.sum(jnp.where(m, dbond, 0.0), axis=1) - (mu[new] - mu[old])

    def swap_delta(self, sigma, x, y, tables=None) -> Float[Array, ""]:
        """E(sigma with sites x and y exchanged) - E(sigma); exact also for neighbours."""
        tables = self.tables() if tables is None else tables
        a, b = sigma[x], sigma[y]
        d1 = self.delta_energy(sigma, x[None], b[None], tables)[0]
        moved = sigma.at[x].set(b)
        d2 = self.delta_energy(moved, y[None], a[None], tables)[0]
        return d1 + d2

    # ---- sufficient statistics -----------------------------------------------
    def statistics(self, sigma):
        """(counts, contacts): the energy is linear in them (`energy_from_statistics`)."""
        return self.counts(sigma), self.contacts(sigma)

    def energy_from_statistics(self, stats) -> Float[Array, ""]:
        """E from (mean) statistics; each bond appears twice in `contacts`: halved."""
        counts, contacts = stats
        T, mu = self.tables()
        return 0.5 * jnp.sum(T * contacts) - jnp.dot(mu, counts)

    def counts(self, sigma) -> Float[Array, " S"]:
        """Number of sites in each state."""
        return jnp.zeros(self.n_states, jnp.float32).at[sigma].add(1.0)

    def contacts(self, sigma) -> Float[Array, "D S S"]:
        """Ordered neighbour-pair counts per direction: n[d, a, b] = #{(x, slot of
        direction d): sigma_x = a, sigma_nbr = b}. Each bond appears twice (once from
        each end), so the bond energy is 0.5 * sum_d <beta J[d], n[d]>."""
        lat = self.lattice
        D = self.couplings.matrices().shape[0]
        S = self.n_states
        nb = sigma[lat.neighbours]
        d = jnp.broadcast_to(self._directions()[None, :], nb.shape)
        a = jnp.broadcast_to(sigma[:, None], nb.shape)
        w = lat.mask.astype(jnp.float32)
        return jnp.zeros((D, S, S), jnp.float32).at[d, a, nb].add(w)


class PottsModel(AbstractPottsModel):
    """Grand-canonical lattice Potts mixture.

    $$E(\\sigma) = \\beta \\sum_{\\langle x, y\\rangle} J_{d(x,y)}[\\sigma_x, \\sigma_y]
      - \\sum_x \\mu[\\sigma_x], \\qquad \\mu_a = \\ln(c_a / c_0).$$

    **Arguments:**

    - `lattice`: a `Lattice`.
    - `couplings`: a `Couplings` (oriented couplings need a lattice with directions).
    - `mu`: chemical potentials of the q species (default 0); see `chemical_potential`.
    - `beta`: scales the couplings only (default 1).
    - `empty`: add an empty (solvent) state with index q.

    **Example:**

    ```python
    model = PottsModel(square(8), ising(0.4))
    ```
    """

    lattice: Lattice
    couplings: Couplings
    mu: Float[Array, " q"]
    beta: Float[Array, ""]
    empty: bool = eqx.field(static=True)

    def __init__(self, lattice, couplings, mu=None, beta=1.0, *, empty: bool = False):
        _check_pair(lattice, couplings)
        self.lattice, self.couplings, self.empty = lattice, couplings, bool(empty)
        q = couplings.q
        self.mu = _param("mu", jnp.zeros(q) if mu is None else mu, (q,))
        self.beta = _param("beta", beta, ())

    def chemical_potentials(self):
        """mu for every state: the species' mu, then 0 for the empty state."""
        return jnp.concatenate([self.mu, jnp.zeros(int(self.empty), self.mu.dtype)])

    def tempered(self, t) -> PottsModel:
        """Energy t * E: beta and mu both scaled by t."""
        return eqx.tree_at(lambda m: (m.beta, m.mu), self, (t * self.beta, t * self.mu))


class PlaceModel(AbstractPottsModel):
    """Canonical "place" model: the composition is fixed (by default every species
    exactly once), and moves permute species between sites.

    $$E(\\sigma) = \\beta \\sum_{\\langle x, y\\rangle} J_{d(x,y)}[\\sigma_x, \\sigma_y]$$

    **Arguments:**

    - `lattice`, `couplings`, `beta`: as for `PottsModel`.
    - `composition`: number of sites in each state (length S); default: every one of
      q = n_sites species once.
    - `empty`: add an empty state (index q), e.g. for a patch larger than the species set.
    """

    lattice: Lattice
    couplings: Couplings
    beta: Float[Array, ""]
    composition: tuple[int, ...] = eqx.field(static=True)
    empty: bool = eqx.field(static=True)

    def __init__(self, lattice, couplings, beta=1.0, *, composition=None, empty: bool = False):
        _check_pair(lattice, couplings)
        self.lattice, self.couplings, self.empty = lattice, couplings, bool(empty)
        S = couplings.q + int(empty)
        if composition is None:
            composition = (1,) * S if S == lattice.n_sites else None
            if composition is None:
                raise ValueError(
                    f"composition is required unless q + empty == n_sites "
                    f"(got {S} states on {lattice.n_sites} sites)"
                )
        comp = tuple(int(c) for c in composition)
        if len(comp) != S or min(comp) < 0 or sum(comp) != lattice.n_sites:
            raise ValueError(
                f"composition must give {S} non-negative counts summing to n_sites="
                f"{lattice.n_sites}, got {comp}"
            )
        self.composition = comp
        self.beta = _param("beta", beta, ())

    def tempered(self, t) -> PlaceModel:
        """Energy t * E: beta scaled by t."""
        return eqx.tree_at(lambda m: m.beta, self, t * self.beta)

    def reference_state(self) -> Int[Array, " n"]:
        """A configuration with the model's composition (states in index order)."""
        return jnp.asarray(np.repeat(np.arange(self.n_states), self.composition), jnp.int32)

    def check_state(self, sigma, name: str = "state"):
        """Shape and range as for `PottsModel`, and the model's composition."""
        sigma = super().check_state(sigma, name)
        if is_concrete(sigma):
            arr = np.asarray(sigma).reshape(-1, self.lattice.n_sites)
            counts = np.stack([np.bincount(r, minlength=self.n_states) for r in arr])
            if np.any(counts != np.array(self.composition)):
                raise ValueError(f"{name} does not have the model's composition {self.composition}")
        return sigma


def _check_pair(lattice, couplings):
    if not isinstance(lattice, Lattice):
        raise TypeError(f"lattice must be a molcomp Lattice, got {type(lattice).__name__}")
    if not isinstance(couplings, Couplings):
        raise TypeError(f"couplings must be a molcomp Couplings, got {type(couplings).__name__}")
    if couplings.is_oriented and couplings.n_directions != lattice.n_directions:
        raise ValueError(
            f"oriented couplings have {couplings.n_directions} directions but the {lattice.kind} "
            f"lattice has {lattice.n_directions}"
        )


def _param(name: str, value, shape: tuple) -> Float[Array, "..."]:
    if is_concrete(value):
        return jnp.asarray(as_finite_float(name, value, shape=shape), jnp.float32)
    if jnp.shape(value) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {jnp.shape(value)}")
    return jnp.asarray(value, jnp.float32)
