"""Linkers integrated out: effective couplings and chemical potentials of q species
bridged by L linker species.

Model (state conventions). Every particle (lattice site) of species a carries `z`
faces, one per bond slot (padded slots of open lattices included). A face holds at
most one linker. Linker k sits in a reservoir at concentration c_k (fugacity z_k =
c_k / c0) and binds a face of species a with binding constant K_ak >= 0 (a
dimensionless Boltzmann weight, exp(-dG_ak)). A linker bound to one face is a single
bond (weight z_k K_ak); a linker bound to both faces of a bond a-b is a bridge (weight
v z_k K_ak K_bk, v >= 0 the ring-closure factor of the second binding). Summing, per
bond, over {face empty, singly bound} x {same} and the bridges, and pulling one factor
(1 + S_a) per face into the particle:

$$e^{-\\tilde J_{ab}} = e^{-J^0_{ab}} \\left(1 + \\frac{v \\sum_k z_k K_{ak} K_{bk}}
{(1 + S_a)(1 + S_b)}\\right),\\quad S_a = \\sum_k z_k K_{ak},\\quad
\\tilde\\mu_a = \\mu_a + z \\ln(1 + S_a).$$

J~ has the sign of a Potts J (negative attracts). Regime of validity: ideal linkers
(no linker-linker interaction, dilute reservoir at fixed fugacity), one linker per
face, faces independent. On a lattice this is exact (`ExplicitLinkerLattice` enumerates the
explicit states and the tests compare). At high concentration faces saturate with
single bonds and the attraction weakens again (re-entrance, Rogers JCP 2020).
Concentrations are stored through a softplus so that an optimizer keeps them
positive.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..checks import as_finite_float, check_positive_int, check_real, is_concrete
from ..interactions._interactions import Couplings
from ..lattice._lattice import Lattice
from ..potts._potts import PottsModel


def _inverse_softplus(c):
    return c + np.log(-np.expm1(-c))


class Linkers(eqx.Module):
    """L linker species binding q particle species.

    **Arguments:**

    - `concentrations`: (L,) linker concentrations c_k / c0 > 0 (stored as softplus
      pre-images in `raw`, the trainable field).
    - `binding`: (q, L) binding constants K_ak >= 0.
    - `bridge`: v >= 0, the weight of closing a bridge.
    """

    raw: Float[Array, " L"]
    binding: Float[Array, "q L"]
    bridge: Float[Array, ""]

    def __init__(self, concentrations, binding, bridge=1.0):
        c = as_finite_float("concentrations", concentrations)
        if c.ndim != 1 or c.size < 1:
            raise ValueError(f"concentrations must be a 1-D array (L,), got shape {c.shape}")
        if np.any(c <= 0):
            i = int(np.argwhere(c <= 0)[0, 0])
            raise ValueError(
                f"concentrations must be > 0 (ln c must exist), got concentrations[{i}]={c[i]}"
            )
        K = as_finite_float("binding", binding)
        if K.ndim != 2 or K.shape[1] != c.size:
            raise ValueError(
                f"binding must have shape (q, L) with L = {c.size} linker species, got {K.shape}"
            )
        if np.any(K < 0):
            raise ValueError(f"binding constants must be >= 0, got min {K.min()}")
        v = check_real("bridge", bridge, minimum=0.0)
        self.raw = jnp.asarray(_inverse_softplus(c), jnp.float32)
        self.binding = jnp.asarray(K, jnp.float32)
        self.bridge = jnp.asarray(v, jnp.float32)

    @property
    def concentrations(self) -> Float[Array, " L"]:
        """(L,) concentrations c_k / c0, softplus(raw)."""
        return jax.nn.softplus(self.raw)

    @property
    def n_species(self) -> int:
        """q, the number of particle species the linkers bind."""
        return self.binding.shape[0]

    def single(self) -> Float[Array, " q"]:
        """S_a = sum_k z_k K_ak: the weight of one face holding a single linker."""
        return self.binding @ self.concentrations

    def effective_couplings(self, J0=None) -> Float[Array, "q q"]:
        """J~_ab = J0_ab - ln(1 + v sum_k z_k K_ak K_bk / ((1 + S_a)(1 + S_b)))."""
        q = self.n_species
        J0 = jnp.zeros((q, q)) if J0 is None else _check_square("J0", J0, q)
        S = self.single()
        bridges = self.bridge * (self.binding * self.concentrations) @ self.binding.T
        return J0 - jnp.log1p(bridges / ((1 + S)[:, None] * (1 + S)[None, :]))

    def effective_chemical_potential(self, mu, faces: int) -> Float[Array, " q"]:
        """mu~_a = mu_a + faces * ln(1 + S_a) (`faces` = z, faces per particle)."""
        faces = check_positive_int("faces", faces)
        mu = jnp.asarray(mu, jnp.float32)
        if mu.shape != (self.n_species,):
            raise ValueError(f"mu must have shape ({self.n_species},), got {mu.shape}")
        return mu + int(faces) * jnp.log1p(self.single())

    def effective_model(self, lattice, J0, mu) -> PottsModel:
        """The lattice Potts model (with an empty state) the linkers integrate out to;
        z = lattice.max_degree faces per site. Differentiable in the linkers."""
        if not isinstance(lattice, Lattice):
            raise TypeError(f"lattice must be a molcomp Lattice, got {type(lattice).__name__}")
        J = self.effective_couplings(J0)
        iu, ju = np.triu_indices(self.n_species)
        couplings = Couplings(J[iu, ju], q=self.n_species)
        return PottsModel(
            lattice,
            couplings,
            self.effective_chemical_potential(mu, lattice.max_degree),
            empty=True,
        )


def _check_square(name, J, q):
    if is_concrete(J):
        arr = as_finite_float(name, J)
        if arr.shape != (q, q) or np.abs(arr - arr.T).max() > 1e-6:
            raise ValueError(f"{name} must be a symmetric ({q}, {q}) matrix, got shape {arr.shape}")
    return jnp.asarray(J, jnp.float32)
