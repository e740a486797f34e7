"""Observables of a lattice configuration, all with the signature f(model, config)."""

from __future__ import annotations

import jax.numpy as jnp


def energy(model, config):
    """Total energy in kT."""
    return model.energy(config)


def counts(model, config):
    """Number of sites in each state, shape (S,)."""
    return model.counts(config)


def contacts(model, config):
    """Ordered neighbour-pair counts per direction, shape (D, S, S); see
    `AbstractPottsModel.contacts`."""
    return model.contacts(config)


def one_hot(model, config):
    """Per-site state indicators, shape (n, S); its mean is the site marginals."""
    return (config[:, None] == jnp.arange(model.n_states)[None, :]).astype(jnp.float32)


def magnetization(model, config):
    """Mean spin with states (0, 1) read as spins (-1, +1); q = 2 only."""
    if model.n_states != 2:
        raise ValueError(f"magnetization needs a two-state model, got S = {model.n_states}")
    return jnp.mean(2.0 * config - 1.0)


def order_parameter(model, config):
    """Potts order parameter (S max_a f_a - 1) / (S - 1) in [0, 1] from state fractions f."""
    S = model.n_states
    f = model.counts(config) / config.shape[-1]
    return (S * jnp.max(f) - 1.0) / (S - 1.0)
