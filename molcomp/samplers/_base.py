"""The sampler contract: `state = sampler.init(model, config)`,
`state, info = sampler.step(key, model, state)`.

Keys are passed in and never stored; diagnostics go in `info`. `step` advances one
chain by one sweep; chains are a leading batch axis handled by `init` and `sample`.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Int, PRNGKeyArray

from ..potts._potts import AbstractPottsModel


class ChainState(eqx.Module):
    """The configuration of one chain (or a batch of chains) plus sampler-owned tables.

    `aux` holds tables a sampler derives from the model at `init` (e.g. binding
    partners for neighbour-informed proposals); it is never a key or a diagnostic.
    """

    config: Int[Array, "*chains n"]
    aux: object = None


class AbstractSampler(eqx.Module):
    """Base of all lattice samplers. Subclasses implement `_init_one` and `step`."""

    def init(self, model: AbstractPottsModel, config) -> ChainState:
        """Validate `config` (shape (n,) or (chains, n)) and build the chain state."""
        self.check_model(model)
        config = model.check_state(config, "config").astype(state_dtype(model.n_states))
        if config.ndim == 1:
            return self._init_one(model, config)
        if config.ndim == 2:
            return jax.vmap(lambda c: self._init_one(model, c))(config)
        raise ValueError(f"config must have shape (n,) or (chains, n), got {config.shape}")

    def check_model(self, model) -> None:
        if not isinstance(model, AbstractPottsModel):
            raise TypeError(f"model must be a molcomp lattice model, got {type(model).__name__}")

    def _require(self, model, cls: type, instead: str) -> None:
        """TypeError unless `model` is a `cls` (the ensemble this sampler keeps)."""
        if not isinstance(model, cls):
            raise TypeError(
                f"{type(self).__name__} samples a {cls.__name__}, got {type(model).__name__}; "
                f"use {instead}"
            )

    def _init_one(self, model, config) -> ChainState:
        return ChainState(config)

    def prepare(self, model):
        """Tables derived from the model that every step reads (None: nothing).

        Drivers compute them once per run, outside the scan, and pass them to `step` as
        `prepared=`: with q = 1601 species rebuilding beta * J every sweep would cost
        more than the sweep itself.
        """
        return model.tables() if isinstance(model, AbstractPottsModel) else None

    # ---- the run hooks of `sample` --------------------------------------------------
    # `sample` calls `enter` once, `advance` every sweep and `leave` once, so a sampler
    # may carry its state across the scan in its own layout (e.g. a checkerboard kernel
    # keeps the sublattices split, chain axis last). `config_of` is read only when an
    # observable needs the config; otherwise XLA drops it. The defaults run `step`
    # (vmapped over a leading chain axis, one key per chain).

    def enter(self, model, state: ChainState, prepared):
        """The scan carry of a run that starts from `state` (default: `state`)."""
        return state

    def advance(self, key, model, carry, prepared):
        """One sweep of every chain in `carry`: (carry, acceptance of shape ([chains],))."""
        kwargs = {} if prepared is None else {"prepared": prepared}
        if carry.config.ndim == 1:
            carry, info = self.step(key, model, carry, **kwargs)
            return carry, info["acceptance"]
        keys = jax.random.split(key, carry.config.shape[0])
        carry, info = jax.vmap(lambda k, st: self.step(k, model, st, **kwargs))(keys, carry)
        return carry, info["acceptance"]

    def config_of(self, model, carry):
        """The configuration held by `carry`, shape (n,) or (chains, n)."""
        return carry.config

    def leave(self, model, carry, state: ChainState) -> ChainState:
        """The chain state at the end of a run (`state`: the one the run started from)."""
        return carry

    @abc.abstractmethod
    def step(
        self, key: PRNGKeyArray, model: AbstractPottsModel, state: ChainState, prepared=None
    ) -> tuple[ChainState, dict]:
        """Advance one chain by one sweep; returns (state, info)."""


def state_dtype(n_states: int):
    """The smallest signed integer type that holds every state index."""
    if n_states <= 127:
        return jnp.int8
    return jnp.int16 if n_states <= 32767 else jnp.int32


def categorical_from_uniform(u, logits):
    """Inverse-CDF draw from softmax(logits) with one uniform per row.

    One uniform per site instead of S Gumbel variates (`jax.random.categorical`): the
    heat-bath cost is then dominated by the O(k S) local-energy lookup.
    """
    return categorical_from_weights(u, jnp.exp(logits - jnp.max(logits, axis=-1, keepdims=True)))


def categorical_from_weights(u, w):
    """Inverse-CDF draw of s with probability w[..., s] / sum(w), one uniform per row."""
    cdf = jnp.cumsum(w, axis=-1)
    idx = jnp.sum(cdf < u[..., None] * cdf[..., -1:], axis=-1)
    return jnp.minimum(idx, w.shape[-1] - 1).astype(jnp.int32)
