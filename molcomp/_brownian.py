"""Brownian dynamics of particle mixtures behind the sampler contract, with neighbour
lists that are never silently wrong.

`Brownian.step` advances one step of jax-md's `simulate.brownian` (overdamped Langevin,
kT = 1, so its stationary law is exp(-E) up to O(dt)):
x <- x + (dt / gamma) F(x) + sqrt(2 dt / gamma) xi. Forces come from a Dense neighbour
list (jax-md's container, pairs within cutoff + skin listed from both ends) held in the
state and rebuilt when any particle has moved more than `dr_threshold / 2` since the
last build. With a leading chain axis the refresh is one decision for all chains (a
`lax.cond` outside the `vmap`), so a quiet step costs no rebuild for anyone.

Speed on CPU (see benchmarks/README.md, md_throughput): the list is built (`_neighbours`) from a
sorted cell list with gathers only (jax-md's builder scatters, several times slower on
CPU), forces are summed row by row without autodiff's scatter-add
(`ParticleMixture.force`), and a Brownian particle's displacement grows like sqrt(t),
so a skin of 1-1.5 sigma rebuilds every 10-20 steps where 0.5 rebuilds every 2.

Overflow: a list with too little capacity sets jax-md's sticky error bit. A step that
sees it leaves the positions where they were (the chain freezes) and reports
`info["overflow"]`. `run` executes blocks of steps; after a block that overflowed it
reallocates the list with more room at the block's starting positions and redoes the
block with the same keys, so the trajectory equals (to floating-point summation order)
one started with a large enough buffer.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax_md import partition, simulate
from jaxtyping import Array, Float

from ._checks import as_finite_float
from ._neighbours import CELL_LIST_MIN_PARTICLES, NeighbourFns, neighbour_fns
from ._particles import ParticleMixture


class ParticleState(eqx.Module):
    """Positions (n, dim) or (chains, n, dim) and the jax-md neighbour list for them."""

    position: Float[Array, "*chains n dim"]
    neighbors: partition.NeighborList


class ParticleRun(eqx.Module):
    """What `run` returns: the final `state`, `trace` (trace_fn output per step, leading
    axis steps), `rebuilds` (neighbour-list rebuilds) and `reallocations` (overflows
    recovered by reallocating and redoing a block)."""

    state: ParticleState
    trace: object
    rebuilds: int
    reallocations: int


def _check_float(name, value, minimum, strict):
    v = float(as_finite_float(name, value, shape=()))
    if v < minimum or (strict and v == minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {v}")
    return v


class Brownian(eqx.Module):
    """Overdamped Langevin (Brownian) dynamics with jax-md neighbour lists.

    **Arguments:**

    - `dt`: time step (units where kT = 1 and the free diffusion constant is 1 / gamma).
    - `gamma`: friction over mass (jax-md's convention).
    - `dr_threshold`: neighbour-list skin; the list holds pairs within cutoff + skin
      and is rebuilt when a particle moved more than skin / 2.
    - `capacity_multiplier`: headroom of a freshly allocated list (and of the cells).
    - `cell_list`: build lists through a cell list (O(n)) rather than all pairs
      (O(n^2), cheaper to compile); default: from `CELL_LIST_MIN_PARTICLES` particles on,
      where the box holds at least 3 cells of side cutoff + skin per axis.

    `state = sampler.init(model, positions)`; `state, info = sampler.step(key, model,
    state)` with info `{"rebuilt", "overflow"}`; `run` drives many steps safely.
    """

    dt: float = eqx.field(static=True)
    gamma: float = eqx.field(static=True, default=1.0)
    dr_threshold: float = eqx.field(static=True, default=0.5)
    capacity_multiplier: float = eqx.field(static=True, default=1.25)
    cell_list: bool | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        _check_float("dt", self.dt, 0.0, True)
        _check_float("gamma", self.gamma, 0.0, True)
        _check_float("dr_threshold", self.dr_threshold, 0.0, False)
        _check_float("capacity_multiplier", self.capacity_multiplier, 1.0, False)

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

    def init(self, model: ParticleMixture, positions, *, extra_capacity: int = 0):
        """Validate positions ((n, dim) or (chains, n, dim)) and allocate the list."""
        self.check_model(model)
        positions = model.check_state(positions, "positions")
        if isinstance(extra_capacity, bool) or int(extra_capacity) < 0:
            raise ValueError(f"extra_capacity must be an integer >= 0, got {extra_capacity!r}")
        return self._allocate(model, positions, int(extra_capacity))

    def reallocate(self, model, state: ParticleState, extra_capacity: int) -> ParticleState:
        """A fresh list at `state.position` with `extra_capacity` more room."""
        return self._allocate(model, state.position, int(extra_capacity))

    def _allocate(self, model, positions, extra):
        # One capacity for all chains: the largest any chain needs.
        return ParticleState(positions, self.neighbor_fn(model).allocate(positions, extra))

    def step(self, key, model: ParticleMixture, state: ParticleState):
        """One Brownian step (all chains); returns (state, info)."""
        x, nbrs = state.position, state.neighbors
        batched = x.ndim == 3
        nbrs, rebuilt = _refresh(self.neighbor_fn(model), x, nbrs, batched)
        _, shift = model.space()
        init_fn, apply_fn = simulate.brownian(model.force, shift, self.dt, 1.0, gamma=self.gamma)

        def one(k, r, nb):
            # jax-md keeps a key in its state; it is rebuilt here from the key passed
            # in, so our state never holds one.
            return apply_fn(init_fn(k, r), neighbors=nb).position

        if batched:
            new = jax.vmap(one)(jax.random.split(key, x.shape[0]), x, nbrs)
        else:
            new = one(key, x, nbrs)
        overflow = jnp.any(nbrs.did_buffer_overflow != 0)
        new = jnp.where(overflow, x, new)  # an overflowed list never moves a particle
        return ParticleState(new, nbrs), {"rebuilt": rebuilt, "overflow": overflow}


def _refresh(fns: NeighbourFns, x, nbrs, batched):
    """(nbrs, rebuilt): one rebuild decision over all particles of all chains (a
    `lax.cond` outside the chain `vmap`, so a quiet step rebuilds nothing)."""
    need = jnp.any(jax.vmap(fns.moved)(x, nbrs)) if batched else fns.moved(x, nbrs)
    rebuild = jax.vmap(fns.rebuild) if batched else fns.rebuild
    return jax.lax.cond(need, rebuild, lambda _, n: n, x, nbrs), need


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
    sampler: Brownian,
    state: ParticleState,
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
    - `model`, `sampler`, `state`: from `sampler.init(model, positions)`.
    - `steps`: number of steps; `block`: steps per compiled block (the unit that is
      redone after an overflow).
    - `trace_fn(model, position) -> pytree`: recorded every step.
    - `max_reallocations`: give up (RuntimeError) after this many in one block.

    **Returns:** a `ParticleRun`.
    """
    if not isinstance(sampler, Brownian):
        raise TypeError(f"sampler must be a Brownian sampler, got {type(sampler).__name__}")
    if not isinstance(state, ParticleState):
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
