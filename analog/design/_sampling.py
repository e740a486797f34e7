"""Sampling a design task: Brownian chains from the dispersed start, the configurations
that hold the target (the sleep-wake data), and equilibrium yields."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import molcomp
from molcomp import particles
from molcomp.checks import check_fraction, check_key, check_nonnegative_int, check_positive_int

from ._task import ClusterDesign


def design_sampler(task: ClusterDesign) -> particles.Brownian:
    """Brownian dynamics, dt = 2e-3, skin as large as the box allows up to 1 sigma.

    dt must stay below `Brownian.stable_dt` = 1 / k, k the stiffest pair curvature
    max(core / sigma^2, 2 alpha^2 max D): 500 kT / sigma^2, i.e. D < 15.6 kT at
    alpha = 4 (`molcomp.sample` refuses depths beyond that with this sampler).

    **Returns:** a `molcomp.particles.Brownian`.
    """
    check_task(task)
    skin = min(1.0, 0.5 * min(task.box) - task.cutoff)
    return particles.Brownian(dt=2e-3, dr_threshold=skin)


def _positions(model, x):
    return x


def check_task(task, name: str = "task") -> ClusterDesign:
    """`task` if it is a `ClusterDesign`, else a TypeError."""
    if not isinstance(task, ClusterDesign):
        raise TypeError(f"{name} must be a ClusterDesign, got {type(task).__name__}")
    return task


def check_sampler(sampler, name: str = "sampler"):
    """`sampler` if it is a particle sampler (`molcomp.particles.Brownian`, ...), else
    a TypeError."""
    if not isinstance(sampler, particles.AbstractParticleSampler):
        raise TypeError(
            f"{name} must be a molcomp particle sampler such as "
            f"molcomp.particles.Brownian(dt=...), got {type(sampler).__name__} {sampler!r}"
        )
    return sampler


def sample_positions(key, task, model, sampler, positions, steps, *, burn_in=0.5, every=10):
    """Run chains `steps` steps from `positions` (`molcomp.sample`).

    **Arguments:**

    - `key`: a `jax.random` key.
    - `task`: the `ClusterDesign`; `model`: its `ParticleMixture`; `sampler`: e.g.
      `design_sampler(task)`.
    - `positions`: (chains, n, dim) start positions; `steps`: steps of every chain.
    - `burn_in`: fraction of the steps discarded, in [0, 1); `every`: steps between
      samples.

    **Returns:** `(samples, final)`: (s, n, dim) samples from after the burn-in, one
    every `every` steps of every chain, and the final positions (chains, n, dim).
    """
    check_key("key", key)
    check_task(task)
    check_sampler(sampler)
    steps = check_positive_int("steps", steps)
    burn_in = check_fraction("burn_in", burn_in, open_high=True)
    every = check_positive_int("every", every)
    state = sampler.init(model, positions, extra_capacity=task.n_particles)
    out = molcomp.sample(key, model, sampler, state, steps, chunk=steps, trace_fn=_positions)
    trace = out.trace[int(burn_in * steps) :: every]
    return trace.reshape(-1, *trace.shape[2:]), out.state.position


@eqx.filter_jit
def _hard_counts(task, samples):
    return jax.vmap(task.hard_yields)(samples)


def target_configurations(task: ClusterDesign, samples, min_yield: int = 1):
    """The samples (m, n, dim) holding at least `min_yield` target clusters (exact count):
    the data of the sleep-wake estimator.

    **Returns:** (m', n, dim), possibly empty.
    """
    check_task(task)
    min_yield = check_nonnegative_int("min_yield", min_yield)
    x = jnp.asarray(samples)
    t, _ = _hard_counts(task, x)
    keep = np.asarray(t) >= min_yield
    return jnp.asarray(np.asarray(x)[keep])  # on the host: no compilation per count


def equilibrium_yields(key, task: ClusterDesign, depth, *, chains: int, steps: int, sampler=None):
    """Mean exact (target, competitor) yields over the second half of `steps` steps of
    `chains` chains from the dispersed start.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `task`: the `ClusterDesign`; `depth`: (q, q) well depths.
    - `chains`, `steps`: the run; `sampler`: default `design_sampler(task)`.

    **Returns:** `(target, competitor)` mean yields per configuration (floats).
    """
    check_key("key", key)
    check_task(task)
    chains = check_positive_int("chains", chains)
    steps = check_positive_int("steps", steps)
    model = task.model(depth)
    sampler = design_sampler(task) if sampler is None else check_sampler(sampler)
    samples, _ = sample_positions(key, task, model, sampler, task.start(chains), steps)
    t, c = _hard_counts(task, samples)
    return float(np.mean(t)), float(np.mean(c))
