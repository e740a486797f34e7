"""What every particle sampler shares: neighbour-list settings and upkeep, validation,
typed diagnostics, and the run hooks through which `molcomp.sample` drives it.

A particle sampler (`Brownian`, `Langevin`) keeps its state as an `eqx.Module` with
at least `position` ((n, dim) or (chains, n, dim)) and `neighbors` (a jax-md Dense
`NeighborList`), and honours the sampler contract `state = sampler.init(model,
positions)`, `state, info = sampler.step(key, model, state)` with info a
`ParticleInfo`. It is batch-native: one `step` moves every chain of the state, with one
neighbour-list rebuild decision for all of them, so `advance` calls `step` directly.

Overflow: a list with too little capacity sets jax-md's sticky error bit. A step that
sees it leaves the state where it was (the chain freezes) and reports
`info.overflow`. `molcomp.sample` executes chunks of steps; after a chunk that
overflowed, `recover` reallocates the list with more room at the chunk's starting
positions and the driver redoes the chunk with the same keys, so the trajectory equals
(to floating-point summation order) one started with a large enough buffer.
"""

from __future__ import annotations

import abc
import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ..checks import check_nonnegative_int, check_real
from ..samplers._base import AbstractSampler, SamplerInfo
from ._neighbours import CELL_LIST_MIN_PARTICLES, NeighbourFns, neighbour_fns
from ._particles import ParticleMixture


class ParticleInfo(SamplerInfo):
    """Diagnostics of one particle step, per chain (scalars for one chain).

    - `acceptance`: 1 (dynamics accept every step).
    - `rebuilt`: whether the neighbour list was rebuilt this step (one decision shared
      by all chains, repeated per chain).
    - `overflow`: whether a neighbour list (of any chain) overflowed, so that the step
      left every chain where it was.

    `molcomp.sample` averages them over the steps: `result.info.rebuilt * steps` is the
    number of rebuilds.
    """

    rebuilt: Bool[Array, "*chains"] | Float[Array, "*chains"]
    overflow: Bool[Array, "*chains"] | Float[Array, "*chains"]


def particle_info(position, rebuilt, overflow) -> ParticleInfo:
    """`ParticleInfo` of one step, broadcast to the chain axes of `position`."""
    chains = position.shape[:-2]
    return ParticleInfo(
        acceptance=jnp.ones(chains, jnp.float32),
        rebuilt=jnp.broadcast_to(rebuilt, chains),
        overflow=jnp.broadcast_to(overflow, chains),
    )


class AbstractParticleSampler(AbstractSampler):
    """Base of the particle samplers: the neighbour-list settings (`dr_threshold`,
    `capacity_multiplier`, `cell_list`, see `Brownian`), what follows from them, and
    the batch-native run hooks (overflow recovery included) of `molcomp.sample`."""

    dt: eqx.AbstractVar[float]
    dr_threshold: eqx.AbstractVar[float]
    capacity_multiplier: eqx.AbstractVar[float]
    cell_list: eqx.AbstractVar[bool | None]
    state_type: eqx.AbstractClassVar[type]  # the class of its state (`ParticleState`, ...)

    def __check_init__(self):
        check_real("dt", self.dt, minimum=0.0, strict=True)
        check_real("dr_threshold", self.dr_threshold, minimum=0.0)
        check_real("capacity_multiplier", self.capacity_multiplier, minimum=1.0)

    def check_model(self, model) -> None:
        """TypeError unless `model` is a `ParticleMixture`; ValueError if the skin is too
        large for its box."""
        if not isinstance(model, ParticleMixture):
            raise TypeError(f"model must be a ParticleMixture, got {type(model).__name__}")
        reach = 2 * (model.cutoff + self.dr_threshold)
        if min(model.box) < reach:
            raise ValueError(
                f"dr_threshold={self.dr_threshold} is too large for box={list(model.box)}: "
                f"every side must be >= 2 * (cutoff + dr_threshold) = {reach}"
            )

    def neighbor_fn(self, model: ParticleMixture) -> NeighbourFns:
        """The neighbour-list functions (`allocate`, `update`, `rebuild`) for this model
        and skin (cached, so lists allocated for equal settings share their static
        structure and compilations)."""
        cells = self.cell_list
        if cells is None:
            cells = model.n_particles >= CELL_LIST_MIN_PARTICLES
        return neighbour_fns(
            model.box, model.cutoff, self.dr_threshold, self.capacity_multiplier, bool(cells)
        )

    def prepare_init(self, model: ParticleMixture, positions, extra_capacity):
        """(positions, neighbors): validated positions and a fresh list for them."""
        self.check_model(model)
        positions = model.check_state(positions, "positions")
        extra_capacity = check_nonnegative_int("extra_capacity", extra_capacity)
        # One capacity for all chains: the largest any chain needs.
        return positions, self.neighbor_fn(model).allocate(positions, extra_capacity)

    def reallocate(self, model, state, extra_capacity: int):
        """`state` with a fresh list at `state.position` with `extra_capacity` more room."""
        nbrs = self.neighbor_fn(model).allocate(state.position, int(extra_capacity))
        return dataclasses.replace(state, neighbors=nbrs)

    @abc.abstractmethod
    def init(self, model: ParticleMixture, positions, *, extra_capacity: int = 0):
        """Validate positions ((n, dim) or (chains, n, dim)) and allocate the list."""

    @abc.abstractmethod
    def step(self, key, model: ParticleMixture, state, prepared=None):
        """One step of every chain in `state`; returns (state, `ParticleInfo`)."""

    # ---- run hooks of `molcomp.sample` -------------------------------------------

    def check_state(self, model, state) -> None:
        """TypeError / ValueError unless `state` is this sampler's state for `model`."""
        if not isinstance(state, self.state_type):
            raise TypeError(
                f"state must be a {self.state_type.__name__} from "
                f"{type(self).__name__}(...).init(model, positions), got {type(state).__name__}"
            )
        shape, got = tuple(model.state_shape), tuple(state.position.shape)
        if got[-2:] != shape or len(got) not in (2, 3):
            raise ValueError(
                f"state.position must have shape {shape} or (chains, *{shape}) for this "
                f"model, got {got}"
            )

    def advance(self, key, model, carry, prepared):
        """One step of every chain: batch-native, so `step` itself (one key per step,
        split per chain inside, as `step` does when called by hand)."""
        return self.step(key, model, carry)

    def config_of(self, model, carry):
        """The positions: (n, dim) or (chains, n, dim)."""
        return carry.position

    def recover(self, model, start, end, attempt: int):
        """After a chunk from `start` to `end`: None if no neighbour list overflowed,
        else `start` with a reallocated list (room for max(8, capacity / 2) more
        neighbours per attempt, on top of a fresh list's headroom), from which the
        driver redoes the chunk with the same keys."""
        if not bool(overflowed(end.neighbors)):
            return None
        grow = max(8, int(end.neighbors.max_occupancy) // 2) * (attempt + 1)
        return self.reallocate(model, start, grow)


def refresh(fns: NeighbourFns, x, nbrs, batched):
    """(nbrs, rebuilt): one rebuild decision over all particles of all chains (a
    `lax.cond` outside the chain `vmap`, so a quiet step rebuilds nothing)."""
    need = jnp.any(jax.vmap(fns.moved)(x, nbrs)) if batched else fns.moved(x, nbrs)
    rebuild = jax.vmap(fns.rebuild) if batched else fns.rebuild
    return jax.lax.cond(need, rebuild, lambda _, n: n, x, nbrs), need


def overflowed(nbrs):
    """Whether the list (of any chain) has its sticky overflow bit set."""
    return jnp.any(nbrs.did_buffer_overflow != 0)
