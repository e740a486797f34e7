"""Annealed importance sampling (AIS) for ln Z beyond enumeration.

Anneal p_t ~ exp(-t E) from t = 0 (uniform over the configurations, ln Z_0 known) to
t = 1 (the model) through a ladder t_0 < ... < t_K. Each chain accumulates
ln w = -sum_k (t_k - t_{k-1}) E(x_{k-1}) while one sweep of the model's own sampler at
t_k moves x_{k-1} to x_k (Neal 2001). Then Z / Z_0 = E[w]; the estimate of ln Z is
biased low by about var(w) / (2 E[w]^2 C) for C chains, which `stderr` bounds.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from molcomp import PlaceModel

from ._chains import sweep
from ._models import n_sites, tempered


def _base(key, model, chains: int):
    """Uniform starting configurations and ln Z_0 of the t = 0 distribution."""
    n = n_sites(model)
    if isinstance(model, PlaceModel):
        ref = model.reference_state()
        configs = jax.vmap(lambda k: jax.random.permutation(k, ref))(jax.random.split(key, chains))
        log_z0 = math.lgamma(n + 1) - sum(math.lgamma(c + 1) for c in model.composition)
        return configs.astype(jnp.int32), log_z0
    configs = jax.random.randint(key, (chains, n), 0, model.n_states, jnp.int32)
    return configs, n * math.log(model.n_states)


def ais_log_partition(
    key, model, sampler, *, chains: int = 64, temperatures: int = 1000, schedule=None
):
    """AIS estimate of ln Z.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `model`, `sampler`: the model and a sampler of it (it samples each tempered model).
    - `chains`: independent annealing runs C.
    - `temperatures`: K, the number of annealing steps (ignored when `schedule` is given).
    - `schedule`: optional increasing array t_0 = 0, ..., t_K = 1.

    **Returns:** `(log_z, info)`: info holds `stderr` (delta-method standard error of
    ln Z from the spread of the weights), `ess` (effective number of chains,
    (sum w)^2 / sum w^2) and `log_weights` (C,).
    """
    if schedule is None:
        if int(temperatures) != temperatures or temperatures < 1:
            raise ValueError(f"temperatures must be a positive integer, got {temperatures!r}")
        ts = jnp.linspace(0.0, 1.0, int(temperatures) + 1)
    else:
        arr = np.asarray(schedule, np.float64)
        if (
            arr.ndim != 1
            or arr.size < 2
            or arr[0] != 0
            or arr[-1] != 1
            or np.any(np.diff(arr) <= 0)
        ):
            raise ValueError("schedule must increase strictly from 0 to 1")
        ts = jnp.asarray(arr, jnp.float32)
    k_base, k_run = jax.random.split(key)
    configs, log_z0 = _base(k_base, model, chains)
    # Tables a sampler derives at init (e.g. binding partners) come from the full model.
    state = sampler.init(model, configs)

    def body(carry, inputs):
        st, log_w = carry
        k, t_prev, t = inputs
        log_w = log_w - (t - t_prev) * jax.vmap(model.energy)(st.config)
        st, _ = sweep(k, tempered(model, t), sampler, st, 1)
        return (st, log_w), None

    keys = jax.random.split(k_run, ts.shape[0] - 1)
    (_, log_w), _ = jax.lax.scan(body, (state, jnp.zeros(chains)), (keys, ts[:-1], ts[1:]))
    log_mean_w = jax.nn.logsumexp(log_w) - math.log(chains)
    r = jnp.exp(log_w - jnp.max(log_w))
    ess = jnp.sum(r) ** 2 / jnp.sum(r**2)
    stderr = jnp.std(r / jnp.mean(r)) / math.sqrt(chains)
    info = {"stderr": stderr, "ess": ess, "log_weights": log_w}
    return log_z0 + log_mean_w, info


def ais_log_likelihood(key, model, sampler, data, *, weights=None, **kw):
    """Mean log-likelihood of observed data (m, n_obs) with an AIS ln Z: -<E> - ln Z, or
    -<F> - ln Z for a model with a free energy over its visibles (an RBM).

    **Returns:** `(log_likelihood, info)` as in `ais_log_partition`.
    """
    log_z, info = ais_log_partition(key, model, sampler, **kw)
    f = model.free_energy if hasattr(model, "free_energy") else model.energy
    e = jax.vmap(f)(jnp.asarray(data))
    mean_e = jnp.mean(e) if weights is None else jnp.dot(weights, e) / jnp.sum(weights)
    return -mean_e - log_z, info
