"""What every particle sampler shares: neighbour-list settings and upkeep, validation,
typed diagnostics, and the run hooks through which `molcomp.sample` drives it.

A particle sampler (`Brownian`, `Langevin`) keeps its state as an `eqx.Module` with
at least `position` ((n, dim) or (chains, n, dim)), `neighbors` (a jax-md Dense
`NeighborList`) and `steps` (the steps taken since `init`, the dynamics' clock), and
honours the sampler contract `state = sampler.init(model, positions)`,
`state, info = sampler.step(key, model, state)` with info a `ParticleInfo`. It is
batch-native: one `step` moves every chain of the state, with one neighbour-list
rebuild decision for all of them, so `advance` calls `step` directly.

Overflow: a list with too little capacity sets jax-md's sticky error bit. A step that
sees it leaves the state where it was (the chain freezes) and reports
`info.overflow`. `molcomp.sample` executes chunks of steps; after a chunk that
overflowed, `recover` reallocates the list with more room at the chunk's starting
positions and the driver redoes the chunk with the same keys. What holds then, exactly:
every list, before and after, holds every pair within the cutoff, so the recovered run
computes the same pair forces as a run that never overflowed; only the float32
summation order of a particle's force over its list row can differ, and it depends on
the row's width (the capacity) and the order of the neighbours in it. So the run is
bit-identical to one allocated from the start at the same final capacity (tested on
CPU with the all-pairs build, including a recovery in a later chunk), and equal to
one allocated at any other capacity up to floating-point summation order (a few 1e-6
on coordinates of order 1 after hundreds of steps). With cell lists (from
`CELL_LIST_MIN_PARTICLES` particles) a neighbour's place in a row depends on where
the list was built, so there only the second statement is promised.

Faults (`check_finite`, on by default): a step from a state with a non-finite position
(or momentum) leaves it as it is and does not advance `steps`, so a chunk that went
non-finite ends on the first non-finite configuration, and `recover` raises a
`FloatingPointError` naming that step, the chain and the particle. The check costs one
`isfinite` reduction over the positions per step and one per chunk on the host.
`init` rejects particles closer than `min_separation * sigma` (coincident particles
have no force direction: their force is NaN), and `check_model` (at `init` and at
every `molcomp.sample`) rejects a `dt` beyond the linear stability limit of the
model's stiffest pair mode (`stable_dt`).

Models: a `ParticleMixture` (configuration = positions (n, dim)) or a `PatchyMixture`
(configuration (n, 3) = x, y, theta; `rotational(model)`). Neighbour lists are always
built on the position columns (`positions_of`); the integrators move every column,
with per-column friction and mass for the angle.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ..checks import check_fraction, check_nonnegative_int, check_real, is_concrete
from ..samplers._base import AbstractSampler, SamplerInfo
from ._neighbours import CELL_LIST_MIN_PARTICLES, NeighbourFns, neighbour_fns
from ._particles import ParticleMixture
from ._patchy import PatchyMixture

PARTICLE_MODELS = (ParticleMixture, PatchyMixture)


def rotational(model) -> bool:
    """Whether configurations of `model` carry an angle column (x, y, theta)."""
    return isinstance(model, PatchyMixture)


def positions_of(model, x):
    """The position columns of configurations x (..., n, columns): x itself for a
    `ParticleMixture`, (x, y) for a `PatchyMixture`."""
    return x[..., : model.dim] if rotational(model) else x


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
    `capacity_multiplier`, `cell_list`, see `Brownian`), the fault checks
    (`check_finite`, `min_separation`, the time-step limit `stable_dt`), and the
    batch-native run hooks (overflow recovery included) of `molcomp.sample`."""

    dt: eqx.AbstractVar[float]
    dr_threshold: eqx.AbstractVar[float]
    capacity_multiplier: eqx.AbstractVar[float]
    cell_list: eqx.AbstractVar[bool | None]
    check_finite: eqx.AbstractVar[bool]
    min_separation: eqx.AbstractVar[float]
    state_type: eqx.AbstractClassVar[type]  # the class of its state (`ParticleState`, ...)
    host_recovery: ClassVar[bool] = True  # neighbour lists are reallocated between chunks

    def __check_init__(self):
        check_real("dt", self.dt, minimum=0.0, strict=True)
        check_real("dr_threshold", self.dr_threshold, minimum=0.0)
        check_real("capacity_multiplier", self.capacity_multiplier, minimum=1.0)
        check_fraction("min_separation", self.min_separation)
        if not isinstance(self.check_finite, bool):
            raise TypeError(f"check_finite must be a bool, got {self.check_finite!r}")
        if self.cell_list is not None and not isinstance(self.cell_list, bool):
            raise TypeError(f"cell_list must be a bool or None, got {self.cell_list!r}")

    @abc.abstractmethod
    def stable_dt(self, model: ParticleMixture):
        """The time step beyond which this integrator is unstable for the model's
        stiffest pair mode (`ParticleMixture.max_curvature`); inf without one."""

    def check_model(self, model) -> None:
        """TypeError unless `model` is a `ParticleMixture` or `PatchyMixture`; ValueError
        if the skin is too large for its box, or `dt` is not below `stable_dt(model)`
        (checked when the model's parameters are concrete)."""
        if not isinstance(model, PARTICLE_MODELS):
            raise TypeError(
                f"model must be a ParticleMixture or PatchyMixture, got {type(model).__name__}"
            )
        reach = 2 * (model.cutoff + self.dr_threshold)
        if min(model.box) < reach:
            raise ValueError(
                f"dr_threshold={self.dr_threshold} is too large for box={list(model.box)}: "
                f"every side must be >= 2 * (cutoff + dr_threshold) = {reach}"
            )
        params = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
        if all(is_concrete(p) for p in params):
            limit = float(self.stable_dt(model))
            if not self.dt < limit:
                what = "the larger of core / sigma^2 and 2 alpha^2 max(depth)"
                if rotational(model):
                    what = (
                        "see PatchyMixture.max_curvature; rotational curvature "
                        f"{float(model.max_rotational_curvature()):.4g} kT/rad^2"
                    )
                raise ValueError(
                    f"dt={self.dt} is too large for this model: {type(self).__name__} is "
                    f"unstable for its stiffest pair mode (curvature k = "
                    f"{float(model.max_curvature()):.4g} kT/sigma^2, {what}) unless "
                    f"dt < {limit:.4g} (see {type(self).__name__}.stable_dt); take a "
                    f"smaller dt"
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
        """(positions, neighbors): validated positions and a fresh list for them.

        ValueError if two particles (of any chain) are closer than `min_separation *
        sigma`; the pairs are read from the fresh list (all pairs within the cutoff)."""
        self.check_model(model)
        positions = model.check_state(positions, "positions")
        extra_capacity = check_nonnegative_int("extra_capacity", extra_capacity)
        # One capacity for all chains: the largest any chain needs.
        xy = positions_of(model, positions)
        nbrs = self.neighbor_fn(model).allocate(xy, extra_capacity)
        if is_concrete(positions) and is_concrete(model.sigma):
            _check_separation(model, xy, nbrs.idx, self.min_separation)
        return positions, nbrs

    def reallocate(self, model, state, extra_capacity: int):
        """`state` with a fresh list at `state.position` with `extra_capacity` more room."""
        xy = positions_of(model, state.position)
        nbrs = self.neighbor_fn(model).allocate(xy, int(extra_capacity))
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
        """After a chunk from `start` to `end`: a `FloatingPointError` if `end` holds a
        non-finite position or momentum (with `check_finite`); None if no neighbour list
        overflowed; else `start` with a reallocated list (room for max(8, capacity / 2)
        more neighbours per attempt, on top of a fresh list's headroom), from which the
        driver redoes the chunk with the same keys."""
        if self.check_finite:
            self.raise_if_not_finite(model, start, end)
        if not bool(overflowed(end.neighbors)):
            return None
        grow = max(8, int(end.neighbors.max_occupancy) // 2) * (attempt + 1)
        return self.reallocate(model, start, grow)

    def raise_if_not_finite(self, model, start, end) -> None:
        """`FloatingPointError` naming the step, chain and particle if a position or
        momentum of `end` is not finite (`start`: the state the chunk began from)."""
        for field, plural in (("position", "positions"), ("momentum", "momenta")):
            values = getattr(end, field, None)
            if values is None or bool(jnp.all(jnp.isfinite(values))):
                continue
            bad = np.argwhere(~np.all(np.isfinite(np.asarray(values)), axis=-1))
            particle = int(bad[0, -1])
            where = f"particle {particle} (species {int(model.species[particle])})"
            if values.ndim == 3:
                where += f" of chain {int(bad[0, 0])}"
            if len(bad) > 1:
                where += f" and {len(bad) - 1} more"
            name = type(self).__name__
            raise FloatingPointError(
                f"{name}: {plural} became non-finite at step {int(end.steps)} (counted from "
                f"init; the chunk began after step {int(start.steps)}): {where}. The step "
                f"dt={self.dt} may be too large (an isolated pair is stable below "
                f"{float(self.stable_dt(model)):.4g}, crowded particles need less), or the "
                f"model's forces are not finite there. Pass {name}(..., check_finite=False) "
                f"to run on regardless."
            )


def _check_separation(model, positions, idx, min_separation: float) -> None:
    """ValueError naming the closest pair if it is nearer than min_separation * sigma;
    `idx` the (chains,) n x width neighbour indices of a complete list (n: padding)."""
    limit = min_separation * float(model.sigma)
    if limit <= 0:
        return
    x = np.asarray(positions, np.float64).reshape(-1, *positions.shape[-2:])
    idx = np.asarray(idx).reshape(x.shape[0], *idx.shape[-2:])
    box = np.asarray(model.box)
    n = x.shape[1]
    for c in range(x.shape[0]):
        j = np.minimum(idx[c], n - 1)
        d = x[c][:, None, :] - x[c][j]
        d -= box * np.round(d / box)
        r = np.where(idx[c] < n, np.sqrt(np.sum(d**2, axis=-1)), np.inf)
        i, slot = np.unravel_index(np.argmin(r), r.shape)
        if r[i, slot] < limit:
            a, b = sorted((int(i), int(idx[c][i, slot])))
            chain = f" of chain {c}" if positions.ndim == 3 else ""
            raise ValueError(
                f"positions: particles {a} and {b}{chain} are {r[i, slot]:.3g} apart, "
                f"closer than min_separation * sigma = {limit:.3g} (coincident particles "
                f"have no force direction). Move them apart (e.g. `lattice_positions`, or "
                f"relax random positions with a softer core), or lower min_separation"
            )


def refresh(fns: NeighbourFns, x, nbrs, batched):
    """(nbrs, rebuilt): one rebuild decision over all particles of all chains (a
    `lax.cond` outside the chain `vmap`, so a quiet step rebuilds nothing)."""
    need = jnp.any(jax.vmap(fns.moved)(x, nbrs)) if batched else fns.moved(x, nbrs)
    rebuild = jax.vmap(fns.rebuild) if batched else fns.rebuild
    return jax.lax.cond(need, rebuild, lambda _, n: n, x, nbrs), need


def frozen(sampler: AbstractParticleSampler, overflow, *values):
    """Whether a step must leave the state as it is: a neighbour list overflowed, or
    (with `check_finite`) the state it starts from is not finite."""
    if not sampler.check_finite:
        return overflow
    return overflow | ~jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in values]))


def overflowed(nbrs):
    """Whether the list (of any chain) has its sticky overflow bit set."""
    return jnp.any(nbrs.did_buffer_overflow != 0)


def no_steps():
    """The step counter of a fresh particle state (int32 zero)."""
    return jnp.zeros((), jnp.int32)
