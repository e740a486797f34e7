"""What the learning rule needs to know about a model, in one place.

The rule itself only calls `model.energy`. Everything else here is optional structure
that makes it faster or lets it evaluate itself: sufficient statistics (for energies
linear in some statistics), tempering (for AIS) and the trainable-leaf filter. A new
model family (jax-md mixtures, neural EBMs) plugs in by providing `energy`,
`check_state` and a sampler; methods named `statistics` / `energy_from_statistics` /
`tempered` are picked up when present.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from molcomp import AbstractPottsModel, PlaceModel, PottsModel


def n_sites(model) -> int:
    """Number of variables in one configuration."""
    if isinstance(model, AbstractPottsModel):
        return model.lattice.n_sites
    n = getattr(model, "n_sites", None)
    if n is None:
        raise TypeError(
            f"model {type(model).__name__} does not say its number of variables (n_sites)"
        )
    return int(n)


def default_filter_spec(model):
    """Which leaves train: every floating-point array except any field named `beta`.

    A pytree of bools shaped like `model` (equinox filter spec).
    """

    def leaf(path, x):
        named_beta = bool(path) and getattr(path[-1], "name", None) == "beta"
        return eqx.is_inexact_array(x) and not named_beta

    return jax.tree_util.tree_map_with_path(leaf, model)


# ---- sufficient statistics ----------------------------------------------------------
def has_statistics(model) -> bool:
    return isinstance(model, AbstractPottsModel) or (
        hasattr(model, "statistics") and hasattr(model, "energy_from_statistics")
    )


def statistics(model, config):
    """Sufficient statistics of one configuration: E(config) = energy_from_statistics(.)
    and energy_from_statistics is linear in them."""
    if isinstance(model, AbstractPottsModel):
        return model.counts(config), model.contacts(config)
    return model.statistics(config)


def energy_from_statistics(model, stats):
    """The energy as a linear function of (mean) sufficient statistics."""
    if isinstance(model, AbstractPottsModel):
        counts, contacts = stats
        T, mu = model.tables()
        # Each bond appears twice in `contacts` (once from each end): halve.
        return 0.5 * jnp.sum(T * contacts) - jnp.dot(mu, counts)
    return model.energy_from_statistics(stats)


def mean_statistics(model, configs, weights=None):
    """Weighted mean of the sufficient statistics over a batch (m, n) of configurations."""
    stats = jax.vmap(lambda c: statistics(model, c))(configs)
    if weights is None:
        return jax.tree_util.tree_map(lambda s: jnp.mean(s, axis=0), stats)
    w = weights / jnp.sum(weights)
    return jax.tree_util.tree_map(lambda s: jnp.tensordot(w, s, axes=1), stats)


# ---- tempering (AIS) ----------------------------------------------------------------
def tempered(model, t):
    """The model with energy t * E (t in [0, 1]): p_t ~ exp(-t E)."""
    if isinstance(model, PottsModel):
        return eqx.tree_at(lambda m: (m.beta, m.mu), model, (t * model.beta, t * model.mu))
    if isinstance(model, PlaceModel):
        return eqx.tree_at(lambda m: m.beta, model, t * model.beta)
    if hasattr(model, "tempered"):
        return model.tempered(t)
    if hasattr(model, "beta") and eqx.is_array(model.beta):
        # Models whose beta scales the whole energy (BoltzmannMachine, RBM).
        return eqx.tree_at(lambda m: m.beta, model, t * model.beta)
    raise TypeError(f"cannot temper {type(model).__name__}: give it a `tempered(t)` method")
