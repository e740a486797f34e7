"""The swap hill-climbing baseline (Evans et al. 2024): swap moves on a hard,
injective feature -> species assignment, kept when the surrogate loss does not rise.

A move proposes a feature and another species for it (swapping with the feature there,
if any). Features are proposed in proportion to their mean training intensity (plus a
floor): moving a pixel that is dark in every training image changes no score.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from molcomp.checks import check_key, check_positive_int, check_real

from ._maps import AssignmentMap, check_assignment
from ._surrogate import _scores, cross_entropy
from ._trainer import AbstractTrainer


class SwapHillClimb(AbstractTrainer):
    """Train an `AssignmentMap` by swap hill-climbing (module docstring).

    **Arguments:**

    - `steps`: proposals (default 200).
    - `amplitude`, `mu_base`: of the `AssignmentMap` trained.

    The initial loss and every proposal cost b model evaluations on b images.
    """

    steps: int = 200
    amplitude: float = 20.0
    mu_base: float = -10.0

    def __check_init__(self):
        check_positive_int("steps", self.steps)
        check_real("amplitude", self.amplitude, minimum=0, strict=True)
        check_real("mu_base", self.mu_base)

    def train_map(self, key, structures, x, y, *, k, margin):
        """See `AbstractTrainer.train_map`; the map is an `AssignmentMap`."""
        check_key("key", key)
        F, N, steps = x.shape[1], structures.n_species, int(self.steps)
        base = AssignmentMap(np.arange(F), N, amplitude=self.amplitude, mu_base=self.mu_base)
        k_init, k_run = jax.random.split(key)
        species = jax.random.permutation(k_init, N)[:F].astype(jnp.int32)
        activity = jnp.mean(x, axis=0)
        log_w = jnp.log(activity + 0.05 * jnp.mean(activity) + 1e-12)  # floor: every f
        species, losses = _climb(
            k_run, species, structures.arrangements, structures.patch_shape, x, y,
            base.amplitude, base.mu_base, N, k, steps, log_w, margin,
        )  # fmt: skip
        species = np.asarray(species)
        check_assignment(species, N)  # swaps keep it injective; say so loudly if not
        b = x.shape[0]
        imap = AssignmentMap(species, N, amplitude=base.amplitude, mu_base=base.mu_base)
        return imap, losses, b * np.arange(2, steps + 2)  # the initial loss + one each


def hard_mu(species, x, amplitude, mu_base, n_species: int):
    """mu of an injective assignment for a batch (b, F) -> (b, N) (traceable).

    **Arguments:**

    - `species`: (F,) distinct species, one per feature.
    - `x`: (b, F) intensities; `amplitude`, `mu_base`: as in `AssignmentMap`.
    - `n_species`: N.

    **Returns:** (b, N) chemical potentials.
    """
    mu = jnp.full((x.shape[0], n_species), mu_base)
    return mu.at[:, species].add(jnp.log1p(amplitude * x))


@eqx.filter_jit
def _climb(key, species, arr, shape, x, y, a, mu0, n_species, k, steps, log_w, margin):
    def loss_of(sp):
        mu = hard_mu(sp, x, a, mu0, n_species)
        return cross_entropy(jax.vmap(lambda m: _scores(arr, shape, m, k))(mu), y, margin)

    def body(carry, kk):
        sp, loss = carry
        k1, k2 = jax.random.split(kk)
        f = jax.random.categorical(k1, log_w)
        r = jax.random.randint(k2, (), 0, n_species - 1)
        s = r + (r >= sp[f])  # any species other than the current one
        owner = jnp.argmax(sp == s)
        held = jnp.any(sp == s)
        new = sp.at[f].set(s)
        new = jnp.where(held, new.at[owner].set(sp[f]), new)
        new_loss = loss_of(new)
        take = new_loss <= loss
        return (jnp.where(take, new, sp), jnp.where(take, new_loss, loss)), jnp.minimum(
            new_loss, loss
        )

    (species, _), losses = jax.lax.scan(
        body, (species, loss_of(species)), jax.random.split(key, steps)
    )
    return species, losses
