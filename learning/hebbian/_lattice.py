"""Hebbian storage rules for multifarious mixtures: couplings from stored structures.

Every rule returns `molcomp.Couplings` (oriented on lattices with bond directions,
symmetric on graphs), with J < 0 attracting. The rules are storage rules, like
`Hopfield.hebbian`: they build parameters rather than descend a loss.

- `clipped_or`: J_d[a, b] = -epsilon if any structure contains the bond (d, a, b).
- `additive`: J_d[a, b] = -epsilon * (number of structures containing it).
- `exposure`: J accumulated while the mixture is shown configurations,
  dJ_d[a, b] / dt = -eta * sum_x C_a(x, t) C_b(x + e_d, t), with C_a(x, t) the
  occupation of site x by species a; showing each structure once for time tau gives
  `additive(structs, eta * tau)` exactly.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

import molcomp
from molcomp.checks import check_real
from molcomp.structures import Structures


def _check_structs(structs) -> Structures:
    if not isinstance(structs, Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    return structs


def _couplings(structs: Structures, J: Float[Array, "D q q"]) -> molcomp.Couplings:
    """Couplings from forward tables (oriented) or one symmetric table (graphs)."""
    q = structs.n_species
    K = structs.lattice.n_directions
    if K is None:
        iu, ju = np.triu_indices(q)
        return molcomp.Couplings(J[0][iu, ju], q=q)
    return molcomp.Couplings(J, q=q, n_directions=K)


def bond_counts(structs: Structures) -> Float[Array, "D q q"]:
    """n_d[a, b]: how many structures contain the bond (d, a, b); symmetric on graphs."""
    structs = _check_structs(structs)
    K = structs.lattice.n_directions
    D = 1 if K is None else K // 2
    q = structs.n_species
    x, y, d = structs.bonds[:, 0], structs.bonds[:, 1], structs.bonds[:, 2]
    a, b = structs.arrangements[:, x], structs.arrangements[:, y]  # (m, B)
    d = jnp.broadcast_to(d[None], a.shape)
    n = jnp.zeros((D, q, q), jnp.float32).at[d, a, b].add(1.0)
    if K is None:  # isotropic: bond {a, b} counts for both orders
        n = n + jnp.swapaxes(n, 1, 2) * (1.0 - jnp.eye(q))[None]
    return n


def clipped_or(structs: Structures, epsilon) -> molcomp.Couplings:
    """Clipped (OR) Hebbian rule: J_d[a, b] = -epsilon if any structure holds the bond.

    $$J_d[a, b] = -\\varepsilon \\, \\Theta\\Big(\\sum_\\alpha [(d, a, b) \\in
    B_\\alpha]\\Big)$$

    **Arguments:**

    - `structs`: `molcomp.structures.Structures`.
    - `epsilon`: bond energy scale in kT (finite; > 0 attracts).

    **Returns:** `molcomp.Couplings`, oriented (K/2, N, N) forward tables on lattices.

    **Example:**

    ```python
    J = learning.hebbian.clipped_or(structs, epsilon=8.0)
    ```
    """
    eps = check_real("epsilon", epsilon)
    n = bond_counts(structs)
    return _couplings(structs, jnp.where(n > 0, -eps, 0.0))


def additive(structs: Structures, epsilon) -> molcomp.Couplings:
    """Additive Hebbian rule: J_d[a, b] = -epsilon * #{alpha : (d, a, b) in B_alpha}.

    **Arguments:** as for `clipped_or`. **Returns:** `molcomp.Couplings`.
    """
    eps = check_real("epsilon", epsilon)
    return _couplings(structs, -eps * bond_counts(structs))


def exposure_increment(
    structs: Structures, configs: Int[Array, "T n"], dt: Float[Array, " T"], eta
) -> Float[Array, "D q q"]:
    """Delta J_d[a, b] = -eta sum_t dt_t sum_x C_a(x, t) C_b(x + e_d, t).

    C_a(x, t) = [config_t(x) = a] is the occupation of a trajectory of configurations
    (empty sites, state N, hold no species). Cost O(T n k), never O(q^2) per frame.

    **Arguments:**

    - `structs`: gives the lattice and the species count N.
    - `configs`: (T, n) configurations shown, e.g. a simulated trajectory.
    - `dt`: (T,) how long each was shown.
    - `eta`: learning rate (finite).

    **Returns:** (D, N, N) increments: forward directions on lattices, one symmetric
    table on graphs.
    """
    structs = _check_structs(structs)
    eta = check_real("eta", eta)
    configs = jnp.asarray(configs)
    if configs.ndim != 2 or configs.shape[1] != structs.lattice.n_sites:
        raise ValueError(
            f"configs must have shape (T, {structs.lattice.n_sites}), got {configs.shape}"
        )
    dt = jnp.broadcast_to(jnp.asarray(dt, jnp.float32), configs.shape[:1])
    lat = structs.lattice
    K = lat.n_directions
    q = structs.n_species
    fwd = list(range(lat.max_degree if K is None else K // 2))
    nb = lat.neighbours[:, fwd]  # (n, D')
    a = jnp.broadcast_to(configs[:, :, None], configs.shape + (len(fwd),))
    b = configs[:, nb]  # (T, n, D')
    d = jnp.broadcast_to(jnp.asarray([0] * len(fwd) if K is None else fwd), a.shape)
    w = lat.mask[None, :, fwd] & (a < q) & (b < q)
    # On graphs every bond is seen from both ends, which gives both orders (symmetric J).
    w = jnp.where(w, dt[:, None, None], 0.0)
    D = 1 if K is None else K // 2
    grid = jnp.zeros((D, q + 1, q + 1), jnp.float32).at[d, a, b].add(w)
    return -eta * grid[:, :q, :q]


def exposure(structs: Structures, eta, *, duration=1.0) -> molcomp.Couplings:
    """Exposure rule: show the mixture each structure for `duration` and integrate
    dJ_d[a, b] / dt = -eta sum_x C_a(x, t) C_b(x + e_d, t) from J = 0.

    With fully formed structures this equals `additive(structs, eta * duration)`; pass
    any other trajectory to `exposure_increment` (partial or noisy structures).

    **Arguments:**

    - `structs`: `molcomp.structures.Structures`.
    - `eta`: learning rate (finite).
    - `duration`: how long each structure is shown.

    **Returns:** `molcomp.Couplings`.
    """
    structs = _check_structs(structs)
    duration = check_real("duration", duration)
    configs = jnp.stack([structs.configuration(i) for i in range(structs.m)])
    dJ = exposure_increment(structs, configs, jnp.full(structs.m, duration), eta)
    return _couplings(structs, dJ)
