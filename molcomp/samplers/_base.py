"""The sampler contract: `state = sampler.init(model, config)`,
`state, info = sampler.step(key, model, state)`.

Keys are passed in and never stored; diagnostics go in `info`, a typed record
(`SamplerInfo` or a subclass), never in the state. `step` advances one chain by one
step; chains are a leading batch axis, handled by `init` and by the driver
`molcomp.sample` through the run hooks below. A batch-native sampler (one that steps
all chains at once, such as the checkerboard kernel or the particle integrators)
overrides the hooks instead of being vmapped.

Optional hooks, each with a default: `observation_weight` (a continuous-time sampler
weights its observations in `sample`'s mean, and sets `invariant = False`),
`with_config` and `prepared_energy` (read by replica exchange), and `step_free(key,
model, state, free, prepared=None)`, the clamping hook that updates only the sites of
a static mask (provided by the lattice heat bath and Metropolis; read by
`learning.Clamped`).
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._model import AbstractEnergyModel, check_model
from ..potts._potts import AbstractPottsModel


class ChainState(eqx.Module):
    """The configuration of one chain (or a batch of chains) plus sampler-owned tables.

    `aux` holds tables a sampler derives from the model at `init` (e.g. binding
    partners for neighbour-informed proposals); it is never a key or a diagnostic.
    """

    config: Array
    aux: object = None


class SamplerInfo(eqx.Module):
    """Diagnostics of one step of one chain (or of each chain: leading axis chains).

    `acceptance` is the fraction of proposals accepted (1 for heat-bath and
    rejection-free samplers, and for dynamics that accept every step). Samplers with
    more to report subclass it; `molcomp.sample` returns the mean over the steps.
    """

    acceptance: Float[Array, "*chains"]


class AbstractSampler(eqx.Module):
    """Base of every sampler: lattice, kinetic, replica exchange, particle and neural.

    Subclasses implement `step`; `init` defaults to validating a configuration of the
    model ((*state_shape) or (chains, *state_shape)) into a `ChainState`.

    `invariant` (a class variable) says whether every `step` leaves the model's
    distribution invariant, so that observations made after each step average to
    equilibrium values as they are. A continuous-time sampler that steps a fixed
    number of events samples its jump chain instead, whose law is pi(x) R(x) (R the
    total exit rate); it sets `invariant = False` and weights its observations by their
    expected holding times 1 / R through `observation_weight`. Replica exchange needs
    invariant steps. `host_recovery` (a class variable) says whether `recover` may
    repair a chunk on the host, so that runs must not be compiled into a larger loop.
    """

    invariant: ClassVar[bool] = True
    host_recovery: ClassVar[bool] = False
    """Whether `recover` may repair a chunk on the host (e.g. reallocate a neighbour list
    after an overflow). A run of such a sampler must go through `molcomp.sample` called
    from Python, never inside a caller's own compiled loop; `learning.fit` then runs its
    training steps on the host. Set by the particle samplers."""

    def check_model(self, model) -> None:
        """TypeError / ValueError unless this sampler can sample `model`."""
        check_model(model)

    def init(self, model: AbstractEnergyModel, config) -> ChainState:
        """Validate `config` (one configuration or a leading chain axis) into a state."""
        self.check_model(model)
        config = model.check_state(config, "config")
        if model.is_discrete:
            config = config.astype(state_dtype(model.n_states))
        extra = config.ndim - len(model.state_shape)
        if extra == 0:
            return self._init_one(model, config)
        if extra == 1:
            return jax.vmap(lambda c: self._init_one(model, c))(config)
        raise ValueError(
            f"config must have shape {_shape(model.state_shape)} or "
            f"{_shape(model.state_shape, 'chains')}, "
            f"got {config.shape}"
        )

    def _init_one(self, model, config) -> ChainState:
        """The state of one chain (override to build per-chain tables in `aux`)."""
        return ChainState(config)

    def _require(self, model, cls: type, instead: str) -> None:
        """TypeError unless `model` is a `cls` (the ensemble this sampler keeps)."""
        if not isinstance(model, cls):
            raise TypeError(
                f"{type(self).__name__} samples a {cls.__name__}, got {type(model).__name__}; "
                f"use {instead}"
            )

    def prepare(self, model):
        """Tables derived from the model that every step reads (None: nothing).

        Drivers compute them once per run, outside the scan, and pass them to `step` as
        `prepared=`: with q = 1601 species rebuilding beta * J every sweep would cost
        more than the sweep itself.
        """
        return None

    @abc.abstractmethod
    def step(
        self, key: PRNGKeyArray, model: AbstractEnergyModel, state, prepared=None
    ) -> tuple[object, SamplerInfo]:
        """Advance one chain by one step; returns (state, info)."""

    # ---- the run hooks of `sample` --------------------------------------------------
    # `sample` calls `check_state` and `enter` once, `advance` every step, `recover`
    # after every compiled chunk and `leave` once, so a sampler may carry its state
    # across the scan in its own layout (e.g. a checkerboard kernel keeps the
    # sublattices split, chain axis last). `config_of` is read only when an observable
    # needs the config; otherwise XLA drops it. The defaults run `step`, vmapped over a
    # leading chain axis, one key per chain.

    def check_state(self, model, state) -> None:
        """TypeError / ValueError unless `state` is this sampler's state for `model`."""
        if not isinstance(state, ChainState):
            raise TypeError(
                f"state must come from {type(self).__name__}().init(model, config), "
                f"got {type(state).__name__}"
            )
        shape = tuple(self.chain_shape(model))
        got = tuple(state.config.shape)
        if got[-len(shape) :] != shape or len(got) - len(shape) not in (0, 1):
            raise ValueError(
                f"state.config must have shape {_shape(shape)} or "
                f"{_shape(shape, 'chains')} for this model, got {got}"
            )
        _check_values(model, state.config)

    def chain_shape(self, model) -> tuple[int, ...]:
        """Shape of the configuration of one chain (default: `model.state_shape`; replica
        exchange holds one per replica)."""
        return tuple(model.state_shape)

    def observe(self, model, config, fn):
        """`fn(model, config)` for the configuration of one chain (replica exchange
        evaluates it under every replica's own model)."""
        return fn(model, config)

    def enter(self, model, state, prepared):
        """The scan carry of a run that starts from `state` (default: `state`)."""
        return state

    def advance(self, key, model, carry, prepared) -> tuple[object, SamplerInfo]:
        """One step of every chain in `carry`: (carry, info with leading axis chains)."""
        kwargs = {} if prepared is None else {"prepared": prepared}
        if carry.config.ndim == len(self.chain_shape(model)):
            return self.step(key, model, carry, **kwargs)
        keys = jax.random.split(key, carry.config.shape[0])
        return jax.vmap(lambda k, st: self.step(k, model, st, **kwargs))(keys, carry)

    def config_of(self, model, carry):
        """The configuration held by `carry`: (*state_shape) or (chains, *state_shape)."""
        return carry.config

    def observation_weight(self, model, carry, info):
        """Weight of the observation made after this step in `sample`'s mean, one per
        chain (shape of `info.acceptance`), or None for equal weights (the default).

        `sample` returns sum_t w_t f(x_t) / sum_t w_t: a continuous-time sampler returns
        the expected holding time 1 / R(x_t) of the state it stopped in, which turns the
        average over its jump chain into the time average, exact in the long run.
        """
        return None

    def with_config(self, model, state, config):
        """`state` holding `config` instead of its own configuration (one chain).

        Replica exchange hands configurations between replicas with it; the default
        keeps everything else (`aux`: tables derived from the model), so a sampler whose
        state depends on the configuration (e.g. a neighbour list) overrides it.
        """
        return eqx.tree_at(lambda s: s.config, state, config)

    def prepared_energy(self, model, prepared, config):
        """`model.energy(config)` for one configuration, given `prepare(model)` output
        (replica exchange evaluates swaps with it; a lattice sampler reads its tables
        instead of rebuilding them). Default: `model.energy(config)`."""
        return model.energy(config)

    def recover(self, model, start, end, attempt: int):
        """After a compiled chunk that ran from `start` to `end`: None if the chunk is
        good, else a repaired start state from which the driver redoes the chunk with
        the same keys (e.g. a neighbour list reallocated after an overflow)."""
        return None

    def leave(self, model, carry, state):
        """The sampler state at the end of a run (`state`: the one the run started from)."""
        return carry


class AbstractPottsSampler(AbstractSampler):
    """Base of the lattice Potts samplers: they read the model's `tables()` once per run."""

    def check_model(self, model) -> None:
        """TypeError unless `model` is a lattice Potts model."""
        if not isinstance(model, AbstractPottsModel):
            raise TypeError(
                f"model must be a molcomp lattice model (PottsModel or PlaceModel) for "
                f"{type(self).__name__}, got {type(model).__name__}"
            )

    state_aux: ClassVar[type] = type(None)

    def __init_subclass__(cls, **kwargs):
        """Record which sampler builds states whose aux has the class's `state_aux`."""
        super().__init_subclass__(**kwargs)
        aux = cls.__dict__.get("state_aux")
        if aux is not None and aux is not type(None):
            AUX_MAKERS.setdefault(aux, cls.__name__)

    def aux_type(self) -> type:
        """The type of `state.aux` that this sampler's `init` builds (default: the class
        variable `state_aux`, no aux)."""
        return self.state_aux

    def check_state(self, model, state) -> None:
        """As `AbstractSampler.check_state`, and a TypeError if `state` was initialised
        by a sampler whose tables (`state.aux`) differ from this one's."""
        super().check_state(model, state)
        want, got = self.aux_type(), type(state.aux)
        if got is not want:
            raise TypeError(
                f"state was initialised by {AUX_MAKERS.get(got, got.__name__)} (its aux is "
                f"{got.__name__}) and cannot be passed to {self.label()}, whose states "
                f"hold {want.__name__}; initialise it with this sampler's "
                "init(model, config)"
            )

    def label(self) -> str:
        """The sampler's name for messages."""
        return type(self).__name__

    def prepare(self, model):
        """The model's (beta J, mu) tables, built once per run."""
        return model.tables()

    def prepared_energy(self, model, prepared, config):
        """The energy from the prepared (beta J, mu) tables: one O(n k) lookup pass,
        without the range check of `model.energy` (the chain's own state is in range)."""
        return model.prepared_energy(config, prepared)


AUX_MAKERS: dict[type, str] = {
    type(None): (
        "a sampler without tables (BlockGibbs, SwapMetropolis, Metropolis(proposal='uniform'))"
    )
}
"""Who builds a `ChainState` whose aux has a given type (filled in by the samplers)."""


def _check_values(model, config) -> None:
    """ValueError unless a discrete `config` holds states of `model` (one min/max
    reduction on the device and one host read; skipped inside a trace)."""
    if not model.is_discrete or not eqx.is_array(config) or isinstance(config, jax.core.Tracer):
        return
    if config.size == 0 or not jnp.issubdtype(config.dtype, jnp.integer):
        return
    lo, hi = (int(v) for v in np.asarray(jnp.stack([jnp.min(config), jnp.max(config)])))
    if lo < 0 or hi >= model.n_states:
        raise ValueError(
            f"state holds site state {lo if lo < 0 else hi}, outside [0, {model.n_states}) "
            f"for this model: was it built for another model?"
        )


def _shape(shape, *lead: str) -> str:
    """A shape for a message, with named leading axes: (chains, 3, 9)."""
    return (
        "("
        + ", ".join([*lead, *map(str, shape)])
        + ("," if len(shape) + len(lead) == 1 else "")
        + ")"
    )


def free_mask(model, free):
    """`free` as a static boolean numpy mask of one entry per site, or None (all free):
    the argument of the clamping hook `step_free`."""
    if free is None:
        return None
    mask = np.asarray(free)
    if mask.dtype != bool or mask.shape != (model.n_sites,):
        raise ValueError(
            f"free must be a boolean mask of shape ({model.n_sites},), got shape "
            f"{mask.shape} dtype {mask.dtype}"
        )
    return mask


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
