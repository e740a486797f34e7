"""Exact references for learning on small models, over `molcomp.exact`'s enumeration
(the one enumeration of the package): KL divergences, and the log-probabilities of
the empirical distribution and of the best independent-units model of some data.

For a model with hidden units pass the model of the observed variables (e.g.
`RBM.marginal()`, whose energy is the free energy of the visibles).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

import molcomp


def kl_divergence(target_log_probs, model_log_probs) -> Float[Array, ""]:
    """KL(P || Q) = sum_x P(x) (ln P(x) - ln Q(x)) over one enumeration; P(x) = 0 adds 0.

    **Arguments:** `target_log_probs` ln P and `model_log_probs` ln Q, both (K,) over the
    same enumeration (e.g. `molcomp.exact.log_probabilities`).

    **Returns:** a scalar, in nats.
    """
    p = jnp.exp(target_log_probs)
    terms = jnp.where(p > 0, p * (target_log_probs - model_log_probs), 0.0)
    return jnp.sum(terms)


def _weights(m, weights):
    return jnp.ones(m) if weights is None else jnp.asarray(weights, jnp.float32)


def empirical_log_probs(model, data, weights=None) -> Float[Array, " K"]:
    """ln of the empirical distribution of `data` over the enumeration of `model`.

    **Arguments:** `model`, a discrete energy model (its configurations are enumerated,
    site 0 the fastest digit); `data` (m, n) configurations; `weights` optional (m,).

    **Returns:** (K,) log-probabilities, -inf where a configuration is absent.
    """
    idx = molcomp.exact.configuration_index(model, jnp.asarray(data))
    w = _weights(idx.shape[0], weights)
    p = jnp.zeros(molcomp.exact.n_configurations(model)).at[idx].add(w)
    return jnp.log(p / jnp.sum(p))


def independent_log_probs(model, data, weights=None) -> Float[Array, " K"]:
    """ln of the best independent-units model of `data` (the product of its marginals),
    over the enumeration of `model`.

    **Arguments:** as for `empirical_log_probs`.

    **Returns:** (K,) log-probabilities.
    """
    configs = molcomp.exact.configurations(model)
    one_hot = jax.nn.one_hot(jnp.asarray(data), model.n_states)  # (m, n, S)
    w = _weights(one_hot.shape[0], weights)
    marg = jnp.tensordot(w / jnp.sum(w), one_hot, axes=1)  # (n, S)
    logm = jnp.log(marg)
    return jnp.sum(logm[jnp.arange(configs.shape[1])[None, :], configs], axis=1)
