"""Exact enumeration of small discrete energy models: the reference every sampler and
gradient is tested against, and an exact sampler.

Any discrete `AbstractEnergyModel` (one configuration is `n_sites` integer states in
`[0, n_states)`) is enumerated over all `n_states ** n_sites` configurations, in one
order: configuration i has site j in state `(i // n_states**j) % n_states` (site 0 is
the fastest digit). A place model (fixed composition) enumerates the distinct
arrangements of its composition instead, in lexicographic order. Work is batched
(`lax.map` over fixed-size batches) so ~10^6 configurations fit in memory, and
everything is differentiable with respect to the model's parameters.
"""

from __future__ import annotations

import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._model import AbstractEnergyModel
from ..checks import check_key, check_positive_int
from ..potts._potts import PlaceModel

MAX_STATES = 1 << 22
"""The most configurations any function here enumerates (`max_states` default)."""

_BATCH = 1 << 15


def _check_discrete(model) -> None:
    if not isinstance(model, AbstractEnergyModel):
        raise TypeError(
            f"model must be a molcomp energy model (an AbstractEnergyModel), got "
            f"{type(model).__name__}"
        )
    if not model.is_discrete or len(model.state_shape) != 1:
        raise TypeError(
            f"exact enumeration needs a discrete model (configurations of n integer site "
            f"states); {type(model).__name__} has state_shape {model.state_shape} and "
            f"n_states {model.n_states}"
        )


def _is_place(model) -> bool:
    """Place models enumerate arrangements of a fixed composition (the one special case)."""
    return isinstance(model, PlaceModel)


def n_configurations(model: AbstractEnergyModel) -> int:
    """How many configurations enumeration visits: `n_states ** n_sites`, or for a place
    model the distinct arrangements of its composition."""
    _check_discrete(model)
    if _is_place(model):
        n = model.n_sites
        return math.factorial(n) // math.prod(math.factorial(c) for c in model.composition)
    return int(model.n_states) ** model.n_sites


def _check_size(model, max_states) -> int:
    total = n_configurations(model)
    if total > max_states:
        raise ValueError(
            f"exact enumeration of {total} configurations exceeds max_states={max_states}; "
            "use a smaller system or fewer states"
        )
    return total


def _place_configs(model) -> np.ndarray:
    # From the static composition, not reference_state(): that is a jax array, which is
    # a tracer when the caller jits (eqx.filter_jit(log_partition)(place_model)).
    ref = np.repeat(np.arange(model.n_states), model.composition)
    perms = np.array(list(itertools.permutations(ref.tolist())), np.int32)
    return perms if all(c <= 1 for c in model.composition) else np.unique(perms, axis=0)


def _decode(model, index) -> Int[Array, "b n"]:
    """Configurations of the product enumeration with the given indices."""
    S, n = int(model.n_states), model.n_sites
    powers = jnp.asarray(S ** np.arange(n), jnp.int32)
    return ((index[:, None] // powers[None, :]) % S).astype(jnp.int32)


def _map_batches(model, fn, batch_size, max_states):
    """`lax.map` of fn(configs (B, n), valid (B,)) over the enumeration in batches."""
    total = _check_size(model, max_states)
    B = min(check_positive_int("batch_size", batch_size), total)
    nb = -(-total // B)
    valid = jnp.asarray((np.arange(nb * B) < total).reshape(nb, B))
    if _is_place(model):
        c = _place_configs(model)
        c = np.concatenate([c, np.repeat(c[:1], nb * B - total, axis=0)])
        configs = jnp.asarray(c.reshape(nb, B, -1))
        return jax.lax.map(lambda a: fn(a[0], a[1]), (configs, valid))
    starts = jnp.arange(nb, dtype=jnp.int32) * B
    index = jnp.arange(B, dtype=jnp.int32)
    return jax.lax.map(lambda a: fn(_decode(model, a[0] + index), a[1]), (starts, valid))


def configurations(
    model: AbstractEnergyModel, *, max_states: int = MAX_STATES
) -> Int[Array, "K n"]:
    """Every configuration of `model`, (K, n) int32, in the enumeration order."""
    total = _check_size(model, max_states)
    if _is_place(model):
        return jnp.asarray(_place_configs(model))
    return _decode(model, jnp.arange(total, dtype=jnp.int32))


def configuration_index(model: AbstractEnergyModel, configs) -> Int[Array, "..."]:
    """Position of each configuration (..., n) in the enumeration order (product
    enumerations only: `sum_j x_j n_states**j`)."""
    _check_discrete(model)
    if _is_place(model):
        raise TypeError("configuration_index: a place model's arrangements have no digit index")
    configs = model.check_state(configs, "configs")
    powers = jnp.asarray(int(model.n_states) ** np.arange(model.n_sites), jnp.int32)
    return jnp.sum(configs.astype(jnp.int32) * powers, axis=-1)


def log_partition(model, *, batch_size: int = _BATCH, max_states: int = MAX_STATES):
    """ln Z = ln sum_x exp(-E(x)), differentiable in the parameters.

    **Arguments:** `model`, a discrete energy model; `batch_size` configurations per
    batch; `max_states` the size limit.

    **Returns:** a scalar.
    """

    def f(c, v):
        e = jax.vmap(model.energy)(c)
        return jax.nn.logsumexp(jnp.where(v, -e, -jnp.inf))

    return jax.nn.logsumexp(_map_batches(model, f, batch_size, max_states))


def log_probabilities(
    model, *, batch_size: int = _BATCH, max_states: int = MAX_STATES
) -> Float[Array, " K"]:
    """ln p(x) of every configuration (K,), in the enumeration order, normalised."""
    total = _check_size(model, max_states)

    def f(c, v):
        return jnp.where(v, -jax.vmap(model.energy)(c), -jnp.inf)

    return jax.nn.log_softmax(_map_batches(model, f, batch_size, max_states).reshape(-1)[:total])


def expectation(model, fn, *, batch_size: int = _BATCH, max_states: int = MAX_STATES):
    """Exact <fn(model, x)> under p(x) = exp(-E(x)) / Z, for any pytree-valued fn."""
    log_z = log_partition(model, batch_size=batch_size, max_states=max_states)

    def f(c, v):
        w = jnp.where(v, jnp.exp(-jax.vmap(model.energy)(c) - log_z), 0.0)
        out = jax.vmap(lambda s: fn(model, s))(c)
        return jax.tree_util.tree_map(lambda o: jnp.tensordot(w, o.astype(w.dtype), axes=1), out)

    per_batch = _map_batches(model, f, batch_size, max_states)
    return jax.tree_util.tree_map(lambda x: jnp.sum(x, axis=0), per_batch)


def log_likelihood(model, data, **kw):
    """Mean log-probability of the configurations in `data`, shape (m, n)."""
    _check_discrete(model)
    data = model.check_state(data, "data")
    if data.ndim != 2:
        raise ValueError(f"data must have shape (m, n), got {data.shape}")
    return -jnp.mean(jax.vmap(model.energy)(data)) - log_partition(model, **kw)


def grad_log_likelihood(model, data, **kw):
    """d/dtheta of the mean log-likelihood: <dE/dtheta>_model - <dE/dtheta>_data.

    A pytree shaped like the model (floating-point leaves; others None).
    """
    return eqx.filter_grad(lambda m: log_likelihood(m, data, **kw))(model)


def probabilities(model, *, max_states: int = MAX_STATES):
    """(configs (K, n), p (K,)) of every configuration, for tiny systems (tests, plots)."""
    configs = configurations(model, max_states=max_states)
    return configs, jax.nn.softmax(-jax.vmap(model.energy)(configs))


def sample(
    key, model, n: int, *, batch_size: int = _BATCH, max_states: int = MAX_STATES
) -> Int[Array, "n sites"]:
    """`n` independent configurations drawn exactly from p(x) = exp(-E(x)) / Z.

    Inverse CDF over the enumeration: one uniform per draw, located in the cumulative
    probabilities (a categorical draw would build an (n, K) array of Gumbel variates).

    **Arguments:** `key`, a `jax.random` key; `model`, a discrete energy model; `n`
    draws (static); `batch_size`, `max_states` as for `log_partition`.

    **Returns:** (n, n_sites) int32 configurations.

    **Example:**

    ```python
    data = molcomp.exact.sample(jax.random.key(0), model, 1000)
    ```
    """
    check_key("key", key)
    n = check_positive_int("n", n)
    p = jnp.exp(log_probabilities(model, batch_size=batch_size, max_states=max_states))
    cdf = jnp.cumsum(p)
    # side="right": a draw never lands on a configuration of probability zero.
    idx = jnp.searchsorted(cdf, jax.random.uniform(key, (n,)) * cdf[-1], side="right")
    idx = jnp.minimum(idx, cdf.shape[0] - 1).astype(jnp.int32)
    if _is_place(model):
        return jnp.asarray(_place_configs(model))[idx]
    return _decode(model, idx)


def uniform(key, model, n: int) -> Int[Array, "n sites"]:
    """`n` configurations drawn uniformly from those enumeration visits, without
    enumerating: independent uniform site states, or for a place model uniformly
    random arrangements of its composition. The base distribution (t = 0) of annealed
    importance sampling, whose ln Z_0 is ln `n_configurations(model)`.

    **Arguments:** `key`, a `jax.random` key; `model`, a discrete energy model; `n`
    draws (static).

    **Returns:** (n, n_sites) int32 configurations.
    """
    check_key("key", key)
    n = check_positive_int("n", n)
    _check_discrete(model)
    if _is_place(model):
        ref = jnp.asarray(np.repeat(np.arange(model.n_states), model.composition), jnp.int32)
        return jax.vmap(lambda k: jax.random.permutation(k, ref))(jax.random.split(key, n))
    return jax.random.randint(key, (n, model.n_sites), 0, model.n_states, jnp.int32)
