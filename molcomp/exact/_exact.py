"""Exact enumeration of small systems: the reference every sampler and gradient is
tested against.

Grand-canonical models enumerate all S^n configurations; place models enumerate the
distinct arrangements of their composition. Work is batched (`lax.map` over fixed-size
batches) so ~10^6 states fit in memory, and everything is differentiable with respect
to the model's parameters.
"""

from __future__ import annotations

import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..potts._potts import AbstractPottsModel, PlaceModel

MAX_STATES = 1 << 22


def n_configurations(model: AbstractPottsModel) -> int:
    """How many configurations enumeration visits."""
    n = model.lattice.n_sites
    if isinstance(model, PlaceModel):
        return math.factorial(n) // math.prod(math.factorial(c) for c in model.composition)
    return model.n_states**n


def _check_size(model, max_states):
    if not isinstance(model, AbstractPottsModel):
        raise TypeError(f"model must be a molcomp lattice model, got {type(model).__name__}")
    total = n_configurations(model)
    if total > max_states:
        raise ValueError(
            f"exact enumeration of {total} configurations exceeds max_states={max_states}; "
            "use a smaller lattice or fewer states"
        )
    return total


def _place_configs(model: PlaceModel) -> np.ndarray:
    # From the static composition, not reference_state(): that is a jax array, which is
    # a tracer when the caller jits (eqx.filter_jit(log_partition)(place_model)).
    ref = np.repeat(np.arange(model.n_states), model.composition)
    if all(c <= 1 for c in model.composition):
        return np.array(list(itertools.permutations(ref.tolist())), np.int32)
    return np.unique(np.array(list(itertools.permutations(ref.tolist())), np.int32), axis=0)


def _batches(model, batch_size, max_states):
    """(configs (nb, B, n) or None, valid mask (nb, B), total)."""
    total = _check_size(model, max_states)
    B = min(batch_size, total)
    nb = -(-total // B)
    valid = (np.arange(nb * B) < total).reshape(nb, B)
    configs = None
    if isinstance(model, PlaceModel):
        c = _place_configs(model)
        c = np.concatenate([c, np.repeat(c[:1], nb * B - total, axis=0)])
        configs = jnp.asarray(c.reshape(nb, B, -1))
    return configs, jnp.asarray(valid), B


def _decode(model, start, B):
    """Configurations start..start+B-1 in base S (site 0 is the fastest digit)."""
    S, n = model.n_states, model.lattice.n_sites
    i = start + jnp.arange(B, dtype=jnp.int32)
    powers = jnp.asarray(S ** np.arange(n), jnp.int32)
    return ((i[:, None] // powers[None, :]) % S).astype(jnp.int32)


def _map_batches(model, fn, batch_size, max_states):
    """lax.map over batches of fn(configs (B, n), valid (B,)) -> pytree."""
    configs, valid, B = _batches(model, batch_size, max_states)
    if configs is None:
        starts = jnp.arange(valid.shape[0], dtype=jnp.int32) * B
        return jax.lax.map(lambda a: fn(_decode(model, a[0], B), a[1]), (starts, valid))
    return jax.lax.map(lambda a: fn(a[0], a[1]), (configs, valid))


def log_partition(model, *, batch_size: int = 1 << 15, max_states: int = MAX_STATES):
    """ln Z = ln sum_sigma exp(-E(sigma)), differentiable in the parameters."""

    def f(c, v):
        e = jax.vmap(model.energy)(c)
        return jax.nn.logsumexp(jnp.where(v, -e, -jnp.inf))

    return jax.nn.logsumexp(_map_batches(model, f, batch_size, max_states))


def expectation(model, fn, *, batch_size: int = 1 << 15, max_states: int = MAX_STATES):
    """Exact <fn(model, sigma)> under p(sigma) = exp(-E(sigma)) / Z, for any pytree fn."""
    log_z = log_partition(model, batch_size=batch_size, max_states=max_states)

    def f(c, v):
        w = jnp.where(v, jnp.exp(-jax.vmap(model.energy)(c) - log_z), 0.0)
        out = jax.vmap(lambda s: fn(model, s))(c)
        return jax.tree_util.tree_map(lambda o: jnp.tensordot(w, o.astype(w.dtype), axes=1), out)

    per_batch = _map_batches(model, f, batch_size, max_states)
    return jax.tree_util.tree_map(lambda x: jnp.sum(x, axis=0), per_batch)


def log_likelihood(model, data, **kw):
    """Mean log-probability of the configurations in `data`, shape (m, n)."""
    data = model.check_state(data, "data")
    if data.ndim != 2:
        raise ValueError(f"data must have shape (m, n), got {data.shape}")
    return -jnp.mean(jax.vmap(model.energy)(data)) - log_partition(model, **kw)


def grad_log_likelihood(model, data, **kw):
    """d/dtheta of the mean log-likelihood: <dE/dtheta>_model - <dE/dtheta>_data.

    A pytree shaped like the model (floating-point leaves; others None).
    """
    return eqx.filter_grad(lambda m: log_likelihood(m, data, **kw))(model)


def probabilities(model, **kw):
    """(configs, p) of every configuration, for tiny systems (tests, plots)."""
    total = _check_size(model, kw.get("max_states", MAX_STATES))
    if isinstance(model, PlaceModel):
        configs = jnp.asarray(_place_configs(model))
    else:
        configs = _decode(model, jnp.int32(0), total)
    e = jax.vmap(model.energy)(configs)
    return configs, jax.nn.softmax(-e)
