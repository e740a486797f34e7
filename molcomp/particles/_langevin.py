"""Underdamped Langevin dynamics of particle mixtures behind the sampler contract.

`Langevin.step` is one BAOAB step of jax-md's `simulate.nvt_langevin` (kT = 1), built
from jax-md's own pieces of it (`momentum_step`, `position_step`, `stochastic_step`):

$$p \\leftarrow p + \\tfrac{dt}{2} F(x),\\quad x \\leftarrow x + \\tfrac{dt}{2}\\,p/m,\\quad
p \\leftarrow e^{-\\gamma dt} p + \\sqrt{m (1 - e^{-2\\gamma dt})}\\,\\xi,\\quad
x \\leftarrow x + \\tfrac{dt}{2}\\,p/m,\\quad p \\leftarrow p + \\tfrac{dt}{2} F(x).$$

Why not call `nvt_langevin`'s step as a whole: it evaluates the final force F(x') with
the neighbour list it was given, built for the positions before the drift, so a pair
that came within the cutoff during the step could be missed. Here the list is
refreshed at x' (one rebuild decision for all chains, as in `Brownian`) before F(x') is
evaluated, so every force belongs to a list valid for its positions, at no extra force
evaluation (the state carries F(x) to the next step, as jax-md's state does). With the
same key a step equals `nvt_langevin`'s (tested).

Stationary law: exp(-E(x) - |p|^2 / 2m). BAOAB samples positions with O(dt^2) error,
and a harmonic well exactly at any stable dt; the momentum variance after the final
kick is m (1 - omega^2 dt^2 / 4) in a well of frequency omega (Leimkuhler & Matthews,
2013). `gamma` is the collision rate (friction over mass), so at long times a free
particle diffuses with D = 1 / (m gamma), as in `Brownian` with unit mass.

Patchy particles (`PatchyMixture`, configurations (n, 3) = x, y, theta): the same
jax-md pieces move the angle with its own inertia and collision rate, passed as
per-column arrays (m, m, I) and (gamma, gamma, gamma_rot) that jax-md broadcasts over
the columns; p_theta is the angular momentum, the stationary law exp(-E - p^2 / 2m -
p_theta^2 / 2I), and the shift wraps theta into [0, 2 pi). Defaults: I = m sigma^2 / 10
(a uniform sphere of diameter sigma) and gamma_rot = m gamma sigma^2 / (3 I), so that
at long times D_rot = 1 / (I gamma_rot) = 3 D / sigma^2, as in `Brownian`.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax_md import partition, simulate
from jaxtyping import Array, Float, Int

from ..checks import as_finite_float, check_key, check_real
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


class LangevinState(eqx.Module):
    """Positions, momenta and forces ((n, dim) or (chains, n, dim)), the jax-md
    neighbour list for the positions, and `steps`, the steps that moved the chains since
    `init` (as in `ParticleState`); `force` is F(position), kept for the next step."""

    position: Float[Array, "*chains n dim"]
    momentum: Float[Array, "*chains n dim"]
    force: Float[Array, "*chains n dim"]
    neighbors: partition.NeighborList
    steps: Int[Array, ""] = eqx.field(default_factory=no_steps)


class Langevin(AbstractParticleSampler):
    """Underdamped Langevin dynamics (BAOAB, jax-md's `nvt_langevin`) with jax-md
    neighbour lists.

    **Arguments:**

    - `dt`: time step (units where kT = 1), below `stable_dt(model)` = sqrt(2 m / k),
      k = `model.max_curvature()` (checked by `init` and `molcomp.sample`); accurate
      well below it.
    - `gamma`: collision rate (friction over mass, jax-md's convention), > 0.
    - `mass`: particle mass m > 0 (the same for every particle).
    - `inertia`: moment of inertia I > 0 of patchy particles (`PatchyMixture`);
      default None: m sigma^2 / 10, a uniform sphere of diameter sigma.
    - `gamma_rot`: rotational collision rate of patchy particles; default None:
      m gamma sigma^2 / (3 I), so D_rot = 3 D / sigma^2 (Stokes, a sphere).
    - `dr_threshold`, `capacity_multiplier`, `cell_list`: the neighbour list, as for
      `Brownian`.
    - `check_finite`, `min_separation`: the fault checks, as for `Brownian` (positions
      and momenta are checked).

    `state = sampler.init(model, positions, key=key)` draws Maxwell-Boltzmann momenta
    (without `key`: momenta start at rest, or pass `momenta=`); `state, info =
    sampler.step(key, model, state)` with info a `ParticleInfo`; `molcomp.sample`
    drives many steps and recovers from neighbour-list overflow.

    **Example:**

    ```python
    sampler = particles.Langevin(dt=0.005, gamma=1.0, mass=1.0)
    state = sampler.init(model, positions, key=key)
    out = molcomp.sample(key, model, sampler, state, 1000, chunk=100)
    ```
    """

    dt: float = eqx.field(static=True)
    gamma: float = eqx.field(static=True, default=1.0)
    mass: float = eqx.field(static=True, default=1.0)
    inertia: float | None = eqx.field(static=True, default=None)
    gamma_rot: float | None = eqx.field(static=True, default=None)
    dr_threshold: float = eqx.field(static=True, default=0.5)
    capacity_multiplier: float = eqx.field(static=True, default=1.25)
    cell_list: bool | None = eqx.field(static=True, default=None)
    check_finite: bool = eqx.field(static=True, default=True)
    min_separation: float = eqx.field(static=True, default=1e-3)
    state_type: ClassVar[type] = LangevinState

    def __check_init__(self):
        check_real("gamma", self.gamma, minimum=0.0, strict=True)
        check_real("mass", self.mass, minimum=0.0, strict=True)
        for name in ("inertia", "gamma_rot"):
            if getattr(self, name) is not None:
                check_real(name, getattr(self, name), minimum=0.0, strict=True)

    def masses(self, model):
        """(mass, collision rate): scalars for a `ParticleMixture`; per-column arrays
        (m, m, I) and (gamma, gamma, gamma_rot) for a `PatchyMixture`."""
        mass = jnp.float32(self.mass)
        if not rotational(model):
            return mass, self.gamma
        inertia = self.mass * model.sigma**2 / 10.0 if self.inertia is None else self.inertia
        inertia = jnp.asarray(inertia, jnp.float32)
        g_rot = self.gamma_rot
        if g_rot is None:
            g_rot = self.mass * self.gamma * model.sigma**2 / (3.0 * inertia)
        gamma = jnp.stack([jnp.float32(self.gamma), jnp.float32(self.gamma), g_rot])
        return jnp.stack([mass, mass, inertia]), gamma

    def stable_dt(self, model: ParticleMixture):
        """sqrt(2 m / k), k = `model.max_curvature()`: velocity Verlet (the B-A-A-B part
        of BAOAB) is stable for a harmonic mode of frequency omega only when
        omega dt < 2, and a pair's separation oscillates with omega^2 = k / (m / 2)
        (the reduced mass). Necessary, not sufficient: a caged particle is stiffer, and
        the sampled law has an O(omega^2 dt^2) error below it.

        Patchy particles: also below 2 sqrt(I / k_rot), k_rot =
        `model.max_rotational_curvature()` (one angle in a harmonic well)."""
        k = float(model.max_curvature())
        limit = float(np.sqrt(2.0 * self.mass / k)) if k > 0 else float("inf")
        if rotational(model):
            k_rot = float(model.max_rotational_curvature())
            inertia = float(self.masses(model)[0][2])
            limit = min(limit, 2.0 * np.sqrt(inertia / k_rot) if k_rot > 0 else float("inf"))
        return limit

    def init(
        self,
        model: ParticleMixture,
        positions,
        *,
        key=None,
        momenta=None,
        extra_capacity: int = 0,
    ) -> LangevinState:
        """Validate positions ((n, dim) or (chains, n, dim)), allocate the list and
        compute the forces.

        **Arguments:**

        - `model`, `positions`: the mixture and where its particles start.
        - `key`: draws momenta from Maxwell-Boltzmann, N(0, m) per component (jax-md's
          `initialize_momenta`, total momentum of each chain set to zero).
        - `momenta`: explicit momenta, shaped like `positions` (exclusive with `key`);
          with neither, momenta start at zero.
        - `extra_capacity`: more room in the neighbour list.

        **Returns:** a `LangevinState`.
        """
        if momenta is not None and key is not None:
            raise ValueError("pass either key (Maxwell-Boltzmann momenta) or momenta, not both")
        if key is not None:
            check_key("key", key)
        if momenta is not None:
            self.check_model(model)
            shape = model.check_state(positions, "positions").shape
            p = as_finite_float("momenta", momenta)
            if p.shape != shape:
                raise ValueError(f"momenta must have shape {shape} like positions, got {p.shape}")
        x, nbrs = self.prepare_init(model, positions, extra_capacity)
        p = None if momenta is None else jnp.asarray(p, x.dtype)
        return _start(model, x, nbrs, p, key, self.masses(model)[0])

    def step(
        self, key, model: ParticleMixture, state: LangevinState, prepared=None
    ) -> tuple[LangevinState, ParticleInfo]:
        """One BAOAB step of every chain; returns (state, `ParticleInfo`)."""
        check_key("key", key)
        x, p, f, nbrs = state.position, state.momentum, state.force, state.neighbors
        batched = x.ndim == 3
        _, shift = model.space()
        (mass, gamma), half = self.masses(model), 0.5 * self.dt

        def baoa(k, r, mom, force):
            # jax-md's nvt_langevin step up to its final force: B, A, O, A. The key is
            # passed in and put in jax-md's state here, so ours never holds one.
            st = simulate.NVTLangevinState(r, mom, force, mass, k)
            st = simulate.momentum_step(st, half)
            st = simulate.position_step(st, shift, half)
            st = simulate.stochastic_step(st, self.dt, 1.0, gamma)
            st = simulate.position_step(st, shift, half)
            return st.position, st.momentum

        if batched:
            keys = jax.random.split(key, x.shape[0])
            x_new, p_new = jax.vmap(baoa)(keys, x, p, f)
        else:
            x_new, p_new = baoa(key, x, p, f)
        # the list must be valid where the final force is evaluated
        nbrs, rebuilt = refresh(self.neighbor_fn(model), positions_of(model, x_new), nbrs, batched)
        f_new = jax.vmap(model.force)(x_new, nbrs) if batched else model.force(x_new, nbrs)
        p_new = p_new + half * f_new  # the final B
        overflow = overflowed(nbrs)
        # an overflowed list, or a non-finite state, never moves a particle (nor its
        # momentum)
        stop = frozen(self, overflow, x, p)
        x_new, p_new, f_new = (
            jnp.where(stop, old, new) for old, new in ((x, x_new), (p, p_new), (f, f_new))
        )
        steps = state.steps + jnp.where(stop, 0, 1).astype(state.steps.dtype)
        state = LangevinState(x_new, p_new, f_new, nbrs, steps)
        return state, particle_info(x, rebuilt, overflow)


@eqx.filter_jit
def _start(model, x, nbrs, momenta, key, mass):
    """The first state: momenta (given, Maxwell-Boltzmann from `key`, or zero) and F(x).
    Compiled once per model structure: op by op it would cost seconds."""
    batched = x.ndim == 3
    if momenta is None and key is not None:

        def draw(k, r):
            st = simulate.NVTLangevinState(r, None, None, mass, None)
            return simulate.initialize_momenta(st, k, 1.0).momentum

        momenta = jax.vmap(draw)(jax.random.split(key, x.shape[0]), x) if batched else draw(key, x)
    elif momenta is None:
        momenta = jnp.zeros_like(x)
    force = jax.vmap(model.force)(x, nbrs) if batched else model.force(x, nbrs)
    return LangevinState(x, momenta, force, nbrs)
