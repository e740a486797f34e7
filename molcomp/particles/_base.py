"""What every particle sampler shares: neighbour-list settings and upkeep, validation,
and `run`, the driver that recovers from neighbour-list overflow.

A particle sampler (`Brownian`, `Langevin`) keeps its state as an `eqx.Module` with
at least `position` ((n, dim) or (chains, n, dim)) and `neighbors` (a jax-md Dense
`NeighborList`), and honours the sampler contract `state = sampler.init(model,
positions)`, `state, info = sampler.step(key, model, state)` with info
`{"rebuilt", "overflow"}`.

Overflow: a list with too little capacity sets jax-md's sticky error bit. A step that
sees it leaves the state where it was (the chain freezes) and reports
`info["overflow"]`. `run` executes blocks of steps; after a block that overflowed it
reallocates the list with more room at the block's starting positions and redoes the
block with the same keys, so the trajectory equals (to floating-point summation order)
one started with a large enough buffer.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from ..checks import as_finite_float
from ._neighbours import CELL_LIST_MIN_PARTICLES, NeighbourFns, neighbour_fns
from ._particles import ParticleMixture


def check_float(name, value, minimum, strict):
    """`value` as a float, with a ValueError unless it is > (strict) or >= `minimum`."""
    v = float(as_finite_float(name, value, shape=()))
    if v < minimum or (strict and v == minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {v}")
    return v


class AbstractParticleSampler(eqx.Module):
    """Base of the particle samplers: the neighbour-list settings (`dr_threshold`,
    `capacity_multiplier`, `cell_list`, see `Brownian`) and what follows from them."""

    dt: eqx.AbstractVar[float]
    dr_threshold: eqx.AbstractVar[float]
    capacity_multiplier: eqx.AbstractVar[float]
    cell_list: eqx.AbstractVar[bool | None]

    def __check_init__(self):
        check_float("dt", self.dt, 0.0, True)
        check_float("dr_threshold", self.dr_threshold, 0.0, False)
        check_float("capacity_multiplier", self.capacity_multiplier, 1.0, False)

    def check_model(self, model) -> None:
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
        if isinstance(extra_capacity, bool) or int(extra_capacity) < 0:
            raise ValueError(f"extra_capacity must be an integer >= 0, got {extra_capacity!r}")
        # One capacity for all chains: the largest any chain needs.
        return positions, self.neighbor_fn(model).allocate(positions, int(extra_capacity))

    def reallocate(self, model, state, extra_capacity: int):
        """`state` with a fresh list at `state.position` with `extra_capacity` more room."""
        nbrs = self.neighbor_fn(model).allocate(state.position, int(extra_capacity))
        return dataclasses.replace(state, neighbors=nbrs)

    @abc.abstractmethod
    def init(self, model: ParticleMixture, positions, *, extra_capacity: int = 0):
        """Validate positions ((n, dim) or (chains, n, dim)) and allocate the list."""

    @abc.abstractmethod
    def step(self, key, model: ParticleMixture, state):
        """One step (all chains); returns (state, info) with info {"rebuilt", "overflow"}."""


def refresh(fns: NeighbourFns, x, nbrs, batched):
    """(nbrs, rebuilt): one rebuild decision over all particles of all chains (a
    `lax.cond` outside the chain `vmap`, so a quiet step rebuilds nothing)."""
    need = jnp.any(jax.vmap(fns.moved)(x, nbrs)) if batched else fns.moved(x, nbrs)
    rebuild = jax.vmap(fns.rebuild) if batched else fns.rebuild
    return jax.lax.cond(need, rebuild, lambda _, n: n, x, nbrs), need


def overflowed(nbrs):
    """Whether the list (of any chain) has its sticky overflow bit set."""
    return jnp.any(nbrs.did_buffer_overflow != 0)


class ParticleRun(eqx.Module):
    """What `run` returns: the final `state`, `trace` (trace_fn output per step, leading
    axis steps), `rebuilds` (neighbour-list rebuilds) and `reallocations` (overflows
    recovered by reallocating and redoing a block)."""

    state: object
    trace: object
    rebuilds: int
    reallocations: int


@eqx.filter_jit
def _block(keys, model, sampler, state, trace_fn):
    def body(st, k):
        st, info = sampler.step(k, model, st)
        return st, (trace_fn(model, st.position), info["rebuilt"], info["overflow"])

    state, (trace, rebuilt, overflow) = jax.lax.scan(body, state, keys)
    return state, trace, jnp.sum(rebuilt), jnp.any(overflow)


def _none(model, position):
    return None


def run(
    key,
    model: ParticleMixture,
    sampler: AbstractParticleSampler,
    state,
    steps: int,
    *,
    block: int = 100,
    trace_fn: Callable | None = None,
    max_reallocations: int = 8,
) -> ParticleRun:
    """Run `steps` steps in blocks, recovering from neighbour-list overflow.

    **Arguments:**

    - `key`: a `jax.random` key (one key per step is split from it up front, so the
      trajectory does not depend on `block` or on reallocations).
    - `model`, `sampler` (`Brownian` or `Langevin`), `state`: from
      `sampler.init(model, positions)`.
    - `steps`: number of steps; `block`: steps per compiled block (the unit that is
      redone after an overflow).
    - `trace_fn(model, position) -> pytree`: recorded every step.
    - `max_reallocations`: give up (RuntimeError) after this many in one block.

    **Returns:** a `ParticleRun`.
    """
    if not isinstance(sampler, AbstractParticleSampler):
        raise TypeError(
            f"sampler must be a particle sampler (Brownian, Langevin), got {type(sampler).__name__}"
        )
    if not (hasattr(state, "position") and hasattr(state, "neighbors")):
        raise TypeError("state must come from sampler.init(model, positions)")
    for name, v, lo in (("steps", steps, 1), ("block", block, 1)):
        if isinstance(v, bool) or int(v) != v or v < lo:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    sampler.check_model(model)
    trace_fn = trace_fn or _none
    keys = jax.random.split(key, int(steps))
    traces, rebuilds, reallocations = [], 0, 0
    for start in range(0, int(steps), int(block)):
        ks = keys[start : start + int(block)]
        for attempt in range(max_reallocations + 1):
            new, trace, rebuilt, overflow = _block(ks, model, sampler, state, trace_fn)
            if not bool(overflow):
                break
            grow = max(8, int(new.neighbors.max_occupancy) // 2) * (attempt + 1)
            state = sampler.reallocate(model, state, grow)
            reallocations += 1
        else:
            raise RuntimeError(
                f"neighbour list still overflows after {max_reallocations} reallocations "
                f"in the block starting at step {start}"
            )
        state = new
        traces.append(trace)
        rebuilds += int(rebuilt)
    trace = jax.tree_util.tree_map(lambda *t: jnp.concatenate(t, axis=0), *traces)
    return ParticleRun(state, trace, rebuilds, reallocations)
