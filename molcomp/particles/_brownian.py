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

Patchy particles (`PatchyMixture`, configurations (n, 3) = x, y, theta): the same
jax-md step moves the angle too, with the per-column friction (gamma, gamma,
`gamma_rot`) (jax-md broadcasts an array gamma over the columns) and a shift that wraps
theta into [0, 2 pi): theta <- theta + (dt / gamma_rot) tau + sqrt(2 dt / gamma_rot) xi,
tau = -dE/dtheta the torque. The rotational diffusion constant is 1 / gamma_rot,
by default 3 D / sigma^2 (a sphere of diameter sigma in a Stokes fluid, D = 1 / gamma
its translational one); the neighbour list is built on the (x, y) columns.

Overflow (shared with `Langevin`, see `_base`): a step whose list overflowed leaves the
positions where they were and says so (`ParticleInfo.overflow`); `molcomp.sample`
reallocates through `recover` and redoes the chunk with the same keys. Faults (see
`_base`): non-finite positions stop `molcomp.sample` with an error naming the step and
the particle, coincident start positions and a time step beyond `stable_dt` are
rejected up front.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax_md import partition, simulate
from jaxtyping import Array, Float, Int

from ..checks import check_key, check_real
from ._base import (
    AbstractParticleSampler,
    ParticleInfo,
    frozen,
    no_steps,
    overflowed,
    particle_info,
    positions_of,
    refresh,
    rotational,
)
from ._particles import ParticleMixture


class ParticleState(eqx.Module):
    """Positions (n, dim) or (chains, n, dim), the jax-md neighbour list for them, and
    `steps`, the steps that moved the chains since `init` (time = steps * dt; a step
    that froze them, on an overflow or a non-finite state, does not count)."""

    position: Float[Array, "*chains n dim"]
    neighbors: partition.NeighborList
    steps: Int[Array, ""] = eqx.field(default_factory=no_steps)


def rotational_friction(gamma: float, gamma_rot: float | None, model):
    """gamma_rot, or by default gamma sigma^2 / 3: D_rot = 3 D / sigma^2, the Stokes
    ratio of a sphere of diameter sigma."""
    if gamma_rot is not None:
        return jnp.float32(gamma_rot)
    return gamma * model.sigma**2 / 3.0


class Brownian(AbstractParticleSampler):
    """Overdamped Langevin (Brownian) dynamics with jax-md neighbour lists.

    **Arguments:**

    - `dt`: time step (units where kT = 1 and the free diffusion constant is 1 / gamma),
      below `stable_dt(model)` = gamma / `model.max_curvature()` (checked by `init` and
      `molcomp.sample`).
    - `gamma`: friction over mass (jax-md's convention).
    - `gamma_rot`: rotational friction of patchy particles (`PatchyMixture`): the
      angle diffuses with D_rot = 1 / gamma_rot (rad^2 per unit time). Default None:
      gamma sigma^2 / 3, i.e. D_rot = 3 D / sigma^2 as for a sphere in a Stokes fluid.
      Ignored for a `ParticleMixture`.
    - `dr_threshold`: neighbour-list skin; the list holds pairs within cutoff + skin
      and is rebuilt when a particle moved more than skin / 2.
    - `capacity_multiplier`: headroom of a freshly allocated list (and of the cells).
    - `cell_list`: build lists through a cell list (O(n)) rather than all pairs
      (O(n^2), cheaper to compile); default: from `CELL_LIST_MIN_PARTICLES` particles on,
      where the box holds at least 3 cells of side cutoff + skin per axis.
    - `check_finite`: stop `molcomp.sample` with a `FloatingPointError` naming the step
      and the particle once a position is not finite (one `isfinite` reduction per step;
      default True).
    - `min_separation`: `init` rejects particles closer than `min_separation * sigma`,
      a fraction in [0, 1] (default 1e-3: coincident particles, whose force has no
      direction; 1 rejects any overlap of the cores; 0 turns the check off). The soft
      core's force is bounded (by core / sigma), so overlapping particles are otherwise
      accepted and pushed apart in the first steps.

    `state = sampler.init(model, positions)`; `state, info = sampler.step(key, model,
    state)` with info a `ParticleInfo`; `molcomp.sample` drives many steps and recovers
    from neighbour-list overflow.

    **Example:**

    ```python
    sampler = particles.Brownian(dt=1e-3)
    state = sampler.init(model, positions)  # (n, dim) or (chains, n, dim)
    out = molcomp.sample(key, model, sampler, state, 1000, chunk=100)
    out.state.position, out.info.rebuilt * 1000  # final positions, rebuild count
    ```
    """

    dt: float = eqx.field(static=True)
    gamma: float = eqx.field(static=True, default=1.0)
    gamma_rot: float | None = eqx.field(static=True, default=None)
    dr_threshold: float = eqx.field(static=True, default=0.5)
    capacity_multiplier: float = eqx.field(static=True, default=1.25)
    cell_list: bool | None = eqx.field(static=True, default=None)
    check_finite: bool = eqx.field(static=True, default=True)
    min_separation: float = eqx.field(static=True, default=1e-3)
    state_type: ClassVar[type] = ParticleState

    def __check_init__(self):
        check_real("gamma", self.gamma, minimum=0.0, strict=True)
        if self.gamma_rot is not None:
            check_real("gamma_rot", self.gamma_rot, minimum=0.0, strict=True)

    def stable_dt(self, model: ParticleMixture):
        """gamma / k, k = `model.max_curvature()`: the Euler-Maruyama step moves the
        separation of a pair in a harmonic mode of curvature k by -(2 k dt / gamma) times
        itself (both particles move), which overshoots and grows unless dt < gamma / k.
        Necessary, not sufficient: a particle caged by several neighbours is stiffer,
        and accuracy (an O(dt) bias of the stationary law) asks for dt well below it.

        Patchy particles: also below gamma_rot / k_rot, k_rot =
        `model.max_rotational_curvature()` (the same bound for the angle of one bond)."""
        k = float(model.max_curvature())
        limit = self.gamma / k if k > 0 else float("inf")
        if rotational(model):
            k_rot = float(model.max_rotational_curvature())
            g_rot = float(rotational_friction(self.gamma, self.gamma_rot, model))
            limit = min(limit, g_rot / k_rot if k_rot > 0 else float("inf"))
        return limit

    def init(self, model: ParticleMixture, positions, *, extra_capacity: int = 0) -> ParticleState:
        """Validate positions ((n, dim) or (chains, n, dim)) and allocate the list.

        **Arguments:**

        - `model`, `positions`: the mixture and where its particles start.
        - `extra_capacity`: more room in the neighbour list (integer >= 0).

        **Returns:** a `ParticleState`.
        """
        return ParticleState(*self.prepare_init(model, positions, extra_capacity))

    def step(
        self, key, model: ParticleMixture, state: ParticleState, prepared=None
    ) -> tuple[ParticleState, ParticleInfo]:
        """One Brownian step of every chain; returns (state, `ParticleInfo`)."""
        check_key("key", key)
        x, nbrs = state.position, state.neighbors
        batched = x.ndim == 3
        nbrs, rebuilt = refresh(self.neighbor_fn(model), positions_of(model, x), nbrs, batched)
        _, shift = model.space()
        gamma = self.gamma
        if rotational(model):  # per column: (x, y, theta)
            g_rot = rotational_friction(self.gamma, self.gamma_rot, model)
            gamma = jnp.stack([jnp.float32(gamma), jnp.float32(gamma), g_rot])
        init_fn, apply_fn = simulate.brownian(model.force, shift, self.dt, 1.0, gamma=gamma)

        def one(k, r, nb):
            # jax-md keeps a key in its state; it is rebuilt here from the key passed
            # in, so our state never holds one.
            return apply_fn(init_fn(k, r), neighbors=nb).position

        if batched:
            new = jax.vmap(one)(jax.random.split(key, x.shape[0]), x, nbrs)
        else:
            new = one(key, x, nbrs)
        overflow = overflowed(nbrs)
        # an overflowed list, or a non-finite state, never moves a particle
        stop = frozen(self, overflow, x)
        new = jnp.where(stop, x, new)
        steps = state.steps + jnp.where(stop, 0, 1).astype(state.steps.dtype)
        return ParticleState(new, nbrs, steps), particle_info(x, rebuilt, overflow)
