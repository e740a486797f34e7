"""Exact references for small models: log Z, log-probabilities of every configuration
of the observed variables, and KL divergences.

Binary models (`BoltzmannMachine`, `RBM`) are enumerated here (an RBM over its
visibles, hidden units summed analytically by the free energy); grand-canonical Potts
models use the same enumeration order as `molcomp.exact` (site 0 is the fastest
digit), so a configuration's index is sum_i x_i S^i.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from molcomp import AbstractPottsModel, PlaceModel
from molcomp import exact as molcomp_exact

from ._models import n_sites

MAX_STATES = 1 << 20


def observed_size(model) -> int:
    """Number of observed variables: the visibles of a model with a free energy, else all."""
    return model.n_visible if hasattr(model, "free_energy") else n_sites(model)


def n_configurations(model) -> int:
    """Configurations of the observed variables that `log_probs` enumerates."""
    if isinstance(model, PlaceModel):
        return molcomp_exact.n_configurations(model)
    return model.n_states ** observed_size(model)


def is_enumerable(model, max_states: int = MAX_STATES) -> bool:
    return n_configurations(model) <= max_states


def configurations(n: int, n_states: int = 2) -> jax.Array:
    """All n_states^n configurations (n_states^n, n), site 0 the fastest digit."""
    i = np.arange(n_states**n, dtype=np.int64)
    powers = n_states ** np.arange(n, dtype=np.int64)
    return jnp.asarray((i[:, None] // powers[None, :]) % n_states, jnp.int32)


def config_index(configs, n_states: int = 2) -> jax.Array:
    """Index of each configuration (..., n) in the `configurations` order."""
    n = configs.shape[-1]
    powers = jnp.asarray(n_states ** np.arange(n), jnp.int32)
    return jnp.sum(configs.astype(jnp.int32) * powers, axis=-1)


def _check(model, max_states):
    if isinstance(model, PlaceModel):
        raise TypeError("PlaceModel: use molcomp.exact (its configurations are permutations)")
    total = n_configurations(model)
    if total > max_states:
        raise ValueError(
            f"exact enumeration of {total} configurations exceeds max_states={max_states}"
        )


def unnormalised_log_probs(model, configs):
    """-E (or -F for a model with hidden units) of observed configurations (m, n_obs)."""
    if hasattr(model, "free_energy"):
        return -jax.vmap(model.free_energy)(configs)
    return -jax.vmap(model.energy)(configs)


def log_probs(model, *, configs=None, max_states: int = MAX_STATES) -> jax.Array:
    """log p of every configuration of the observed variables (S^n_obs,), normalised.

    Under jit, pass `configs=configurations(...)` as an argument: built inside the
    trace it is a constant that XLA spends seconds folding."""
    _check(model, max_states)
    if configs is None:
        configs = configurations(observed_size(model), model.n_states)
    return jax.nn.log_softmax(unnormalised_log_probs(model, configs))


def log_partition(model, *, max_states: int = MAX_STATES) -> jax.Array:
    """ln Z, differentiable in the parameters."""
    if isinstance(model, AbstractPottsModel):
        return molcomp_exact.log_partition(model, max_states=max_states)
    _check(model, max_states)
    configs = configurations(observed_size(model), model.n_states)
    return jax.nn.logsumexp(unnormalised_log_probs(model, configs))


def kl_divergence(target_log_probs, model_log_probs) -> jax.Array:
    """KL(P || Q) = sum_x P(x) (ln P(x) - ln Q(x)) over one enumeration; P(x) = 0 adds 0."""
    p = jnp.exp(target_log_probs)
    terms = jnp.where(p > 0, p * (target_log_probs - model_log_probs), 0.0)
    return jnp.sum(terms)


def empirical_log_probs(model, data, weights=None) -> jax.Array:
    """ln of the empirical distribution of `data` (m, n_obs) over the enumeration
    (-inf where a configuration is absent)."""
    idx = config_index(jnp.asarray(data), model.n_states)
    w = jnp.ones(idx.shape[0]) if weights is None else jnp.asarray(weights, jnp.float32)
    p = jnp.zeros(n_configurations(model)).at[idx].add(w)
    return jnp.log(p / jnp.sum(p))


def independent_log_probs(model, data, weights=None) -> jax.Array:
    """ln of the best independent-units model (product of the data's marginals)."""
    configs = configurations(observed_size(model), model.n_states)
    one_hot = jax.nn.one_hot(jnp.asarray(data), model.n_states)  # (m, n, S)
    w = jnp.ones(one_hot.shape[0]) if weights is None else jnp.asarray(weights, jnp.float32)
    marg = jnp.tensordot(w / jnp.sum(w), one_hot, axes=1)  # (n, S)
    logm = jnp.log(marg)
    return jnp.sum(logm[jnp.arange(configs.shape[1])[None, :], configs], axis=1)
