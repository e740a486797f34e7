"""The two phases of the sleep-wake rule: where <.>_data and <.>_model come from.

A phase is a Module holding static configuration (plus the data), with
`init(key, model, ...) -> state` and `draw(key, model, state, ...) ->
(configs (K, C, n), weights (C,) | None, state, acceptance)`: K samples of C chains,
optional weights of the C chains, the mean acceptance of any chains the phase ran.
Chains run through `molcomp.sample`. Keys are passed in, never stored.

Data phases: `Observed` (the states themselves) and `ClampedChains` (clamped variables
fixed to the data, the rest sampled: hidden units, labels, linker species).
Model phases: `PCD` (persistent chains), `CD` (chains restarted at the data) and
`FreshChains` (restarted from random states every step, thrml's protocol).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from molcomp import AbstractSampler
from molcomp.checks import check_positive_int

from ._chains import (
    chain_fields,
    check_sampler,
    check_start_configs,
    mean_statistics,
    run_chains,
    start_chains,
)
from ._clamp import Clamped

ONE = 1.0  # acceptance reported by a phase that runs no chains


def _check_weights(weights, m):
    if weights is None:
        return None
    w = np.asarray(weights, np.float64)
    if w.shape != (m,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be {m} finite non-negative numbers with a positive sum")
    return jnp.asarray(w / w.sum(), jnp.float32)


def _check_data(data, *, discrete: bool = True) -> Array:
    """Rows of configurations: (m, n) integer states, or (without `discrete`) floats of
    any configuration shape (m, *state_shape), e.g. particle configurations (m, n, 3)."""
    arr = jnp.asarray(data)
    if arr.ndim != 2 and (discrete or arr.ndim < 2) or arr.shape[0] < 1:
        shape = "(m, n)" if discrete else "(m, n) or (m, n, dim)"
        raise ValueError(f"data must have shape {shape} with m >= 1, got {arr.shape}")
    if jnp.issubdtype(arr.dtype, jnp.integer):
        return arr.astype(jnp.int32)
    if discrete or not jnp.issubdtype(arr.dtype, jnp.floating):
        what = "integer states" if discrete else "integer states or real coordinates"
        raise TypeError(f"data must hold {what}, got dtype {arr.dtype}")
    return arr.astype(jnp.float32)


def _batch_size(batch_size):
    return None if batch_size is None else check_positive_int("batch_size", batch_size)


def _rows(key, m: int, batch: int, weights):
    """Indices of a minibatch (weighted rows are drawn in proportion to their weight)."""
    if weights is None:
        return jax.random.randint(key, (batch,), 0, m)
    return jax.random.choice(key, m, (batch,), p=weights)


class AbstractDataPhase(eqx.Module):
    """Where <dE/dtheta>_data comes from: `init(key, model) -> state`,
    `draw(key, model, state) -> (configs (K, C, ...), weights (C,) | None, state,
    acceptance)`, `configs(state)` (full configurations to start model chains from),
    `statistics(state)` (constant mean statistics of the data, or None) and
    `observed()` (the observed data and weights, for likelihoods)."""

    def init(self, key, model):
        """Initial state of the phase (validates the data against `model`)."""
        raise NotImplementedError

    def configs(self, state) -> Int[Array, "m n"]:
        """Full configurations of the data (to start model chains from)."""
        raise NotImplementedError

    def draw(self, key, model, state):
        """Samples of the data phase; see the class docstring."""
        raise NotImplementedError

    def statistics(self, state):
        """Mean sufficient statistics of the data if they are constant (else None)."""
        return None

    def observed(self):
        """(data over the observed variables (m, n_obs), weights (m,) or None)."""
        raise NotImplementedError


class Observed(AbstractDataPhase):
    """The data phase from fully observed states.

    **Arguments:**

    - `data`: (m, *state_shape) configurations: integer site states (m, n) for a
      discrete model, real coordinates for a continuous one (e.g. patchy-particle
      configurations (m, n, 3)); validated by `model.check_state` at `init`.
    - `weights`: optional (m,) probabilities of the rows (e.g. an exact target
      distribution over a small state space); default uniform.
    - `batch_size`: rows per step (drawn with replacement, by weight); default all,
      in which case the data's sufficient statistics (when the model has them) are
      computed once, at `init`, instead of every step.
    """

    data: Int[Array, "m n"] | Float[Array, "m ..."]
    weights: Float[Array, " m"] | None
    batch_size: int | None = eqx.field(static=True)

    def __init__(self, data, weights=None, batch_size: int | None = None):
        self.data = _check_data(data, discrete=False)
        self.weights = _check_weights(weights, self.data.shape[0])
        self.batch_size = _batch_size(batch_size)

    def init(self, key, model):
        """Validate the data; their mean statistics when the whole set is used."""
        model.check_state(self.data, "data")
        if self.batch_size is None and model.has_statistics:
            # The whole data set every step: its statistics are a constant, computed once.
            return mean_statistics(model, self.data, self.weights)
        return None

    def configs(self, state):
        """The data."""
        return self.data

    def statistics(self, state):
        """The data's mean statistics (None when drawn in minibatches)."""
        return state

    def observed(self):
        """The data and their weights."""
        return self.data, self.weights

    def draw(self, key, model, state):
        """The data (or a minibatch of rows), as one sample of m chains."""
        one = jnp.float32(ONE)
        if self.batch_size is None:
            return self.data[None], self.weights, state, one
        idx = _rows(key, self.data.shape[0], self.batch_size, self.weights)
        return self.data[idx][None], None, state, one


class ClampedChains(AbstractDataPhase):
    """The data phase from chains with the clamped variables fixed to the data.

    One persistent chain per data row samples the free variables given the clamped ones
    (e.g. an RBM's hidden units given its visibles: exact in one sweep).

    **Arguments:**

    - `data`: (m, n_clamped) values of the clamped variables, in order, or (m, n) full
      configurations (their free entries are the chains' starting values).
    - `clamp`: boolean mask (n,), True where clamped.
    - `sampler`: the (unclamped) sampler; it is wrapped in `Clamped`.
    - `sweeps`: sweeps per step; `weights`, `batch_size`: as for `Observed`.
    """

    data: Int[Array, "m c"]
    clamp: tuple[bool, ...] = eqx.field(static=True)
    sampler: Clamped
    sweeps: int = eqx.field(static=True)
    weights: Float[Array, " m"] | None
    batch_size: int | None = eqx.field(static=True)

    def __init__(self, data, clamp, sampler, *, sweeps=1, weights=None, batch_size=None):
        self.sampler = Clamped(check_sampler(sampler), clamp)
        self.clamp = self.sampler.clamp
        self.data = _check_data(data)
        width, n_clamped = self.data.shape[1], sum(self.clamp)
        if width not in (n_clamped, len(self.clamp)):
            raise ValueError(
                f"data must have {n_clamped} columns (the clamped variables) or "
                f"{len(self.clamp)} (full configurations), got shape {self.data.shape}"
            )
        self.sweeps = check_positive_int("sweeps", sweeps)
        self.weights = _check_weights(weights, self.data.shape[0])
        self.batch_size = _batch_size(batch_size)

    def init(self, key, model):
        """One clamped chain per data row (free variables uniform unless given)."""
        self.sampler.check_model(model)
        n, m = model.n_sites, self.data.shape[0]
        clamp = np.asarray(self.clamp)
        if self.data.shape[1] == n:
            full = self.data
        else:
            free = jax.random.randint(key, (m, n), 0, model.n_states, jnp.int32)
            full = free.at[:, jnp.asarray(np.flatnonzero(clamp))].set(self.data)
        model.check_state(full, "data")
        return self.sampler.init(model, full)

    def configs(self, state):
        """The chains' current full configurations."""
        return state.config

    def observed(self):
        """The values of the clamped variables and the rows' weights."""
        d = self.data
        return (d if d.shape[1] == sum(self.clamp) else d[:, np.asarray(self.clamp)]), self.weights

    def draw(self, key, model, state):
        """`sweeps` clamped sweeps of every chain (or of a minibatch of them)."""
        k_rows, k_run = jax.random.split(key)
        kw = dict(warmup=0, samples=1, sweeps=self.sweeps)
        if self.batch_size is None:
            state, configs, acc = run_chains(k_run, model, self.sampler, state, **kw)
            return configs, self.weights, state, acc
        idx = _rows(k_rows, self.data.shape[0], self.batch_size, self.weights)
        sub = jax.tree_util.tree_map(lambda x: x[idx], state)
        sub, configs, acc = run_chains(k_run, model, self.sampler, sub, **kw)
        state = jax.tree_util.tree_map(lambda x, s: x.at[idx].set(s), state, sub)
        return configs, None, state, acc


class AbstractModelPhase(eqx.Module):
    """Where <dE/dtheta>_model comes from: `init(key, model, data_configs) -> state`,
    `draw(key, model, state, data_configs, data_weights) -> (configs (K, C, ...),
    weights | None, state, acceptance)`."""

    def init(self, key, model, data_configs):
        """Initial state of the phase."""
        raise NotImplementedError

    def draw(self, key, model, state, data_configs, data_weights):
        """Samples of the model phase; see the class docstring."""
        raise NotImplementedError


def _run(key, model, phase, state):
    state, configs, acc = run_chains(
        key,
        model,
        phase.sampler,
        state,
        warmup=phase.warmup,
        samples=phase.samples,
        sweeps=phase.sweeps,
    )
    return configs, state, acc


class PCD(AbstractModelPhase):
    """Persistent chains (persistent contrastive divergence / stochastic maximum
    likelihood): the chains carry over from step to step, so they track the model as
    it learns instead of restarting.

    Each step runs `warmup` sweeps, then `samples` times `sweeps` sweeps and records.

    **Arguments:**

    - `sampler`: a molcomp-contract sampler for the model.
    - `chains`: number of chains (C).
    - `sweeps`, `samples`, `warmup`: see above (defaults 1, 1, 0).
    - `start`: where the chains start: "data" (data rows drawn at random, with
      replacement), "rows" (chain c at data row c mod m: every row holds the same number
      of chains when `chains` is a multiple of m), "random" (uniform site states,
      discrete models) or an array of (chains, *state_shape) start configurations
      (validated by `model.check_state` at `init`). Use "rows" when chains keep the
      basin they start in (e.g. particle chains started at assembled structures): a
      random draw then over-represents some rows in the model phase for good, a bias
      of the gradient that no number of steps averages away.
    """

    sampler: AbstractSampler
    chains: int = eqx.field(static=True)
    sweeps: int = eqx.field(static=True)
    samples: int = eqx.field(static=True)
    warmup: int = eqx.field(static=True)
    start: str | Array

    def __init__(self, sampler, chains=64, *, sweeps=1, samples=1, warmup=0, start="data"):
        chain_fields(self, sampler, chains, sweeps, samples, warmup, start)

    def init(self, key, model, data_configs):
        """The persistent chains, started as `start` says."""
        check_start_configs(model, self)
        return start_chains(key, model, self, data_configs)

    def draw(self, key, model, state, data_configs, data_weights):
        """Advance the persistent chains and record."""
        configs, state, acc = _run(key, model, self, state)
        return configs, None, state, acc


class FreshChains(AbstractModelPhase):
    """Chains restarted every step from `start` (uniform random states by default; or
    random data rows, the rows in turn, or given configurations: see `PCD`), then
    `warmup` sweeps and `samples` records `sweeps` apart: the protocol of thrml's
    `estimate_kl_grad`. Unbiased only as the warmup grows; PCD is usually the better use
    of the same sweeps. Arguments as for `PCD`."""

    sampler: AbstractSampler
    chains: int = eqx.field(static=True)
    sweeps: int = eqx.field(static=True)
    samples: int = eqx.field(static=True)
    warmup: int = eqx.field(static=True)
    start: str | Array

    def __init__(self, sampler, chains=64, *, sweeps=1, samples=1, warmup=0, start="random"):
        chain_fields(self, sampler, chains, sweeps, samples, warmup, start)

    def init(self, key, model, data_configs):
        """No state (the sampler and any start configurations are checked)."""
        self.sampler.check_model(model)
        check_start_configs(model, self)
        return None

    def draw(self, key, model, state, data_configs, data_weights):
        """Fresh chains, warmed up and recorded."""
        k_init, k_run = jax.random.split(key)
        rows = data_configs.reshape(-1, *data_configs.shape[2:])  # (K, C, n) -> (K C, n)
        fresh = start_chains(k_init, model, self, rows)
        configs, _, acc = _run(k_run, model, self, fresh)
        return configs, None, state, acc


class CD(AbstractModelPhase):
    """Contrastive divergence CD-k: every step, chains restart at the data phase's
    configurations and run k sweeps. Biased, but cheap and stable; use PCD for
    maximum likelihood.

    **Arguments:** `sampler`; `k` sweeps per step (default 1).
    """

    sampler: AbstractSampler
    k: int = eqx.field(static=True)

    def __init__(self, sampler, k=1):
        self.sampler = check_sampler(sampler)
        self.k = check_positive_int("k", k)

    def init(self, key, model, data_configs):
        """No state (the sampler is checked against the model)."""
        self.sampler.check_model(model)
        return None

    def draw(self, key, model, state, data_configs, data_weights):
        """k sweeps from the data phase's last sample."""
        chains = self.sampler.init(model, data_configs[-1])
        _, configs, acc = run_chains(
            key, model, self.sampler, chains, warmup=0, samples=1, sweeps=self.k
        )
        return configs, data_weights, state, acc
