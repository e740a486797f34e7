"""Hebbian exposure for patchy particles: patch couplings accumulate from the patch-patch
contacts observed while the mixture is shown configurations.

The continuous analogue of the lattice exposure rule (`exposure_increment`): with
W_d[a, b](x) the patch-contact weight of a configuration - the sum, over bonds whose
patch d of a species-a particle binds the opposite patch of a species-b particle, of
the smooth contact factor S(r) w(r) g(psi_i) g(psi_j) in [0, 1] (1 at perfect
contact), i.e. `PatchyMixture.statistics` - the rule is

$$\\frac{dJ_d[a, b]}{dt} = -\\eta\\, W_d[a, b](x(t)),$$

so a trajectory of frames gives Delta J = -eta sum_t dt_t W(x_t). A perfectly placed
structure has W_d[a, b] = 1 on each of its bonds and 0 elsewhere, so showing each of m
structures for a time tau gives `additive(structs, eta * tau)` (the lattice rule) up to
float rounding, and since dE/dJ = scale * W the rule deepens exactly the patches that
were seen bound. The couplings are oriented `molcomp.Couplings`, usable by the lattice
`PottsModel` and the `PatchyMixture` alike.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

import molcomp
from molcomp.checks import check_real
from molcomp.particles import PatchyMixture, structure_configuration
from molcomp.structures import Structures

from ._particle import exposure_frames


def patchy_exposure_increment(model: PatchyMixture, configs, dt, eta) -> Float[Array, "h q q"]:
    """`Delta J_d[a, b] = -eta sum_t dt_t W_d[a, b](x_t)`, W the patch-contact weights.

    **Arguments:**

    - `model`: the `PatchyMixture` shown the frames (species, box, patch geometry).
    - `configs`: (T, n, 3) frames (x, y, theta), e.g. a trajectory, or one (n, 3).
    - `dt`: (T,) or scalar, how long each frame was shown (>= 0).
    - `eta`: learning rate (finite).

    **Returns:** (K/2, q, q) increments of the forward coupling tables
    (`couplings.params`); add them, e.g. `Couplings.oriented(J.params + dJ)`.
    """
    if not isinstance(model, PatchyMixture):
        raise TypeError(f"model must be a PatchyMixture, got {type(model).__name__}")
    eta = check_real("eta", eta)
    frames, dt = exposure_frames(model, configs, dt, "configs")
    return _increment(model, frames, dt, jnp.float32(eta))


@eqx.filter_jit
def _increment(model, frames, dt, eta):
    seen = jax.lax.map(model.statistics, frames)  # one frame at a time: O(n^2) memory
    return -eta * jnp.tensordot(dt, seen, axes=1)


def patchy_exposure(structs: Structures, eta, *, duration=1.0, **model_kwargs):
    """Exposure rule: show a patchy mixture each structure, perfectly assembled
    (`molcomp.particles.structure_configuration`), for `duration`, and integrate
    dJ/dt = -eta W from J = 0.

    Equals `additive(structs, eta * duration)` (every bond of a placed structure has
    weight 1); pass trajectories to `patchy_exposure_increment` for thermal or partial
    structures.

    **Arguments:**

    - `structs`: `molcomp.structures.Structures` on a square or triangular lattice.
    - `eta`: learning rate (finite).
    - `duration`: how long each structure is shown.
    - `model_kwargs`: geometry of the `PatchyMixture` shown (sigma, patch_width, ...).

    **Returns:** oriented `molcomp.Couplings`.

    **Example:**

    ```python
    J = learning.hebbian.patchy_exposure(structs, eta=1.0)  # == additive(structs, 1.0)
    ```
    """
    if not isinstance(structs, Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    duration = check_real("duration", duration, minimum=0.0)
    eta = check_real("eta", eta)
    K, q = structs.lattice.n_directions, structs.n_species
    if K is None:
        raise ValueError("structs must live on a lattice with bond directions (patches)")
    total = jnp.zeros((K // 2, q, q), jnp.float32)
    zero = molcomp.Couplings(jnp.zeros((K // 2, q, q)), q=q, n_directions=K)
    sigma = float(model_kwargs.get("sigma", 1.0))
    extent = np.ptp(structs.lattice.coords()[np.asarray(structs.sites)], axis=0).max()
    side = sigma * extent + 2.0 * float(model_kwargs.get("cutoff", 2.0)) + 1.0
    for alpha in range(structs.m):
        species, config = structure_configuration(structs, alpha, (side, side), sigma=sigma)
        model = PatchyMixture(zero, species, (side, side), **model_kwargs)
        total = total + patchy_exposure_increment(model, config, duration, eta)
    return molcomp.Couplings(total, q=q, n_directions=K)
