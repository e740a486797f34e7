"""Annealed importance sampling (AIS) for ln Z beyond enumeration.

Anneal p_t ~ exp(-t E) from t = 0 (uniform over the configurations, ln Z_0 known) to
t = 1 (the model) through a ladder t_0 < ... < t_K. Each chain accumulates
ln w = -sum_k (t_k - t_{k-1}) E(x_{k-1}) while one step of the model's own sampler at
t_k (`molcomp.sample` on `model.tempered(t_k)`) moves x_{k-1} to x_k (Neal 2001). Then
Z / Z_0 = E[w]; the estimate of ln Z is biased low by about var(w) / (2 E[w]^2 C) for C
chains, which `stderr` bounds.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

import molcomp
from molcomp.checks import check_key, check_positive_int


class AISInfo(eqx.Module):
    """Diagnostics of an AIS estimate.

    **Fields:** `stderr` (delta-method standard error of ln Z from the spread of the
    weights), `ess` (effective number of chains, (sum w)^2 / sum w^2), `log_weights`
    (C,).
    """

    stderr: Float[Array, ""]
    ess: Float[Array, ""]
    log_weights: Float[Array, " C"]


class AIS(eqx.Module):
    """Annealed importance sampling settings, and the estimates they give.

    **Arguments:**

    - `chains`: independent annealing runs C (default 64).
    - `temperatures`: K, the number of annealing steps of a uniform ladder (default
      1000; ignored when `schedule` is given).
    - `schedule`: optional increasing sequence t_0 = 0, ..., t_K = 1.

    The model must be discrete and define `tempered(t)`; the chains start from
    `molcomp.exact.uniform` (uniform over the model's configurations).

    **Example:**

    ```python
    log_z, info = learning.AIS(chains=128).log_partition(key, bm, SequentialGibbs())
    ```
    """

    chains: int = eqx.field(static=True)
    temperatures: int = eqx.field(static=True)
    schedule: tuple[float, ...] | None = eqx.field(static=True)

    def __init__(self, chains: int = 64, temperatures: int = 1000, schedule=None):
        self.chains = check_positive_int("chains", chains)
        self.temperatures = check_positive_int("temperatures", temperatures)
        if schedule is None:
            self.schedule = None
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
            self.schedule = tuple(float(t) for t in arr)

    def ladder(self) -> Float[Array, " K+1"]:
        """The annealing temperatures t_0 = 0 < ... < t_K = 1."""
        if self.schedule is None:
            return jnp.linspace(0.0, 1.0, self.temperatures + 1)
        return jnp.asarray(self.schedule, jnp.float32)

    def log_partition(self, key, model, sampler):
        """AIS estimate of ln Z.

        **Arguments:** `key`, a `jax.random` key; `model`, a discrete energy model with
        `tempered(t)`; `sampler`, a sampler of it (it samples each tempered model).

        **Returns:** `(log_z, info)` with `info` an `AISInfo`.
        """
        check_key("key", key)
        ts = self.ladder()
        k_base, k_run = jax.random.split(key)
        configs = molcomp.exact.uniform(k_base, model, self.chains)
        log_z0 = math.log(molcomp.exact.n_configurations(model))
        # Tables a sampler derives at init (e.g. binding partners) come from the full model.
        state = sampler.init(model, configs)

        def body(carry, inputs):
            st, log_w = carry
            k, t_prev, t = inputs
            log_w = log_w - (t - t_prev) * jax.vmap(model.energy)(st.config)
            st = molcomp.sample(k, model.tempered(t), sampler, st, 1, progress=False).state
            return (st, log_w), None

        keys = jax.random.split(k_run, ts.shape[0] - 1)
        init = (state, jnp.zeros(self.chains))
        (_, log_w), _ = jax.lax.scan(body, init, (keys, ts[:-1], ts[1:]))
        log_mean_w = jax.nn.logsumexp(log_w) - math.log(self.chains)
        r = jnp.exp(log_w - jnp.max(log_w))
        ess = jnp.sum(r) ** 2 / jnp.sum(r**2)
        stderr = jnp.std(r / jnp.mean(r)) / math.sqrt(self.chains)
        return log_z0 + log_mean_w, AISInfo(stderr=stderr, ess=ess, log_weights=log_w)

    def log_likelihood(self, key, model, sampler, data, *, weights=None, marginal=None):
        """Mean log-likelihood -<E> - ln Z of observed data with an AIS ln Z.

        **Arguments:** `key`, `model`, `sampler` as for `log_partition`; `data` (m, ...)
        configurations; `weights` optional (m,) weights of the rows; `marginal`: the
        model of the observed variables when `data` holds only some of them (same Z,
        energy = free energy of the observed variables, e.g. `RBM.marginal()`), default
        `model`.

        **Returns:** `(log_likelihood, info)` as in `log_partition`.
        """
        check_key("key", key)
        log_z, info = self.log_partition(key, model, sampler)
        observed = model if marginal is None else marginal
        e = jax.vmap(observed.energy)(jnp.asarray(data))
        mean_e = jnp.mean(e) if weights is None else jnp.dot(weights, e) / jnp.sum(weights)
        return -mean_e - log_z, info
