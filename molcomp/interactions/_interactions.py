"""Species couplings and chemical potentials, storing only independent parameters.

Sign conventions (the one place they are stated; `tests/molcomp/test_interactions.py` checks them):

* Energies are in units of kT and p(state) is proportional to exp(-E).
* A Potts coupling J[d][a, b] is the energy of a bond whose first site holds species a
  and whose neighbour in direction d holds species b. J < 0 attracts.
* Oriented couplings satisfy J[opposite(d)] = J[d]^T: "a left of b" is "b right of a".
* The chemical potential of species a is mu_a = ln(c_a / c0) (kT units) and enters the
  energy as E = sum_bonds J - sum_sites mu. Raising a concentration lowers the energy
  of sites holding that species. (The seed writes +mu n with mu = -ln c: same physics.)
* Ising/Boltzmann weights: E = -sum w_ij s_i s_j - sum b_i s_i, w > 0 aligns;
  `ising` maps them onto Potts couplings with states (0, 1) -> spins (-1, +1).

Only independent parameters are stored (the upper triangle of a symmetric J, one of
each pair of opposite directions), so an optimizer step can never break the symmetry
that detailed balance of the samplers relies on.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..checks import as_finite_float, check_positive_int, check_real, is_concrete


class Couplings(eqx.Module):
    """Pair couplings among q species, isotropic (symmetric) or oriented.

    Build with `Couplings.symmetric(J)` or `Couplings.oriented(J_forward)`; the field
    `params` holds the independent entries only and is what optax updates.

    **Arguments:**

    - `params`: upper triangle of J (row-major, diagonal included) when isotropic;
      an array of shape `(K/2, q, q)` of forward-direction tables when oriented.
    - `q`: number of species.
    - `n_directions`: `None` when isotropic, else K, the number of bond directions
      of the lattice (4 square, 6 triangular and cubic).
    """

    params: Float[Array, "..."]
    q: int = eqx.field(static=True)
    n_directions: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        shape = jnp.shape(self.params)
        if self.n_directions is None:
            expected = (self.q * (self.q + 1) // 2,)
        else:
            if self.n_directions % 2:
                raise ValueError(f"n_directions must be even, got {self.n_directions}")
            expected = (self.n_directions // 2, self.q, self.q)
        if shape != expected:
            raise ValueError(f"Couplings.params must have shape {expected}, got {shape}")

    @property
    def is_oriented(self) -> bool:
        """Whether the couplings depend on the bond direction (one table per direction)."""
        return self.n_directions is not None

    @classmethod
    def symmetric(cls, J, *, atol: float = 1e-6) -> Couplings:
        """Isotropic couplings from a symmetric (q, q) matrix J."""
        arr = as_finite_float("J", J)
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(f"J must be a square (q, q) matrix, got shape {arr.shape}")
        if arr.shape[0] < 1:
            raise ValueError("J must describe at least one species")
        asym = np.abs(arr - arr.T)
        if asym.max() > atol:
            a, b = np.unravel_index(np.argmax(asym), asym.shape)
            raise ValueError(
                f"J must be symmetric for isotropic couplings: J[{a},{b}]={arr[a, b]} but "
                f"J[{b},{a}]={arr[b, a]}; use Couplings.oriented for direction-dependent bonds"
            )
        q = arr.shape[0]
        iu = np.triu_indices(q)
        return cls(jnp.asarray(arr[iu], dtype=jnp.float32), q=q)

    @classmethod
    def oriented(cls, J_forward) -> Couplings:
        """Oriented couplings from the forward directions, shape (K/2, q, q).

        Direction d < K/2 gets J_forward[d]; its opposite d + K/2 gets J_forward[d]^T.
        """
        arr = as_finite_float("J_forward", J_forward)
        if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
            raise ValueError(f"J_forward must have shape (K/2, q, q), got {arr.shape}")
        return cls(
            jnp.asarray(arr, dtype=jnp.float32), q=arr.shape[1], n_directions=2 * arr.shape[0]
        )

    @classmethod
    def from_directions(cls, J, *, atol: float = 1e-6) -> Couplings:
        """Oriented couplings from all K directions, checking J[d + K/2] == J[d]^T."""
        arr = as_finite_float("J", J)
        if arr.ndim != 3 or arr.shape[0] % 2 or arr.shape[1] != arr.shape[2]:
            raise ValueError(f"J must have shape (K, q, q) with K even, got {arr.shape}")
        h = arr.shape[0] // 2
        err = np.abs(arr[h:] - np.swapaxes(arr[:h], 1, 2))
        if err.max() > atol:
            d, a, b = np.unravel_index(np.argmax(err), err.shape)
            raise ValueError(
                f"J must satisfy J[opposite d] = J[d]^T: J[{d + h}][{a},{b}]={arr[d + h, a, b]} "
                f"but J[{d}][{b},{a}]={arr[d, b, a]}"
            )
        return cls.oriented(arr[:h])

    def matrices(self) -> Float[Array, "D q q"]:
        """All coupling tables: shape (1, q, q) if isotropic, (K, q, q) if oriented."""
        if self.n_directions is None:
            iu, ju = np.triu_indices(self.q)
            J = jnp.zeros((self.q, self.q), self.params.dtype)
            J = J.at[iu, ju].set(self.params).at[ju, iu].set(self.params)
            return J[None]
        return jnp.concatenate([self.params, jnp.swapaxes(self.params, 1, 2)], axis=0)


def chemical_potential(c, c0: float = 1.0) -> Float[Array, " q"]:
    """mu = ln(c / c0) in kT, validating that every concentration is positive and finite."""
    arr = as_finite_float("c", c)
    if np.any(arr <= 0):
        bad = np.argwhere(arr <= 0).ravel()[:3].tolist()
        raise ValueError(f"concentrations c must be > 0; got c={arr.ravel()[bad]} at {bad}")
    c0 = check_real("c0", c0, minimum=0.0, strict=True)
    return jnp.asarray(np.log(arr / c0), dtype=jnp.float32)


def ising(coupling=1.0) -> Couplings:
    """Potts couplings of the Ising model E = -w sum s_i s_j with s = 2*state - 1.

    J[a, b] = -w s_a s_b, so w > 0 (ferromagnet) makes aligned bonds attract.
    A field b enters as mu = (-b, +b) (E = -sum mu[state] = -b sum s).
    """
    w = jnp.asarray(coupling, jnp.float32)
    if is_concrete(w):
        as_finite_float("coupling", w, shape=())
    s = jnp.array([-1.0, 1.0])
    return Couplings(jnp.stack([-w * s[0] * s[0], -w * s[0] * s[1], -w * s[1] * s[1]]), q=2)


def potts(coupling=1.0, q: int = 3) -> Couplings:
    """Standard ferromagnetic Potts couplings: J[a, b] = -coupling if a == b else 0."""
    w = jnp.asarray(coupling, jnp.float32)
    if is_concrete(w):
        as_finite_float("coupling", w, shape=())
    q = check_positive_int("q", q)
    iu, ju = np.triu_indices(q)
    return Couplings(jnp.where(jnp.asarray(iu == ju), -w, 0.0), q=q)
