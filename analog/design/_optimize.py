"""One gradient of the design loss (`design_grad`, with an estimator object) and a
design loop over optax (`optimize_depths`: adam, D projected to >= 0)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from molcomp import particles
from molcomp.checks import check_key, check_positive_int, check_real

from ._estimators import AbstractDesignEstimator, DesignGrad, check_estimator
from ._sampling import check_sampler, check_task, design_sampler
from ._task import ClusterDesign


def _check_positions(task, positions):
    x = jnp.asarray(positions)
    shape = (task.n_particles, len(task.box))
    if x.ndim != 3 or x.shape[1:] != shape:
        raise ValueError(
            f"positions must have shape (chains, {shape[0]}, {shape[1]}), got {x.shape}"
        )
    return x


def design_grad(
    key,
    task: ClusterDesign,
    depth,
    positions,
    steps: int,
    *,
    estimator: AbstractDesignEstimator,
    sampler: particles.Brownian | None = None,
) -> DesignGrad:
    """One gradient of the design loss w.r.t. the well depths.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `task`: the `ClusterDesign`; `depth`: (q, q) well depths D_ab >= 0.
    - `positions`: (chains, n, dim) starting positions, relaxed (no overlaps).
    - `steps`: trajectory length T (Brownian steps), >= 2.
    - `estimator`: `TrajectoryEstimator(...)`, `FluctuationEstimator(...)` or
      `SleepWakeEstimator(data, ...)`, each with its own settings.
    - `sampler`: Brownian dynamics (default `design_sampler(task)`).

    **Returns:** a `DesignGrad`.

    **Example:**

    ```python
    est = analog.design.FluctuationEstimator(burn_in=0.5, every=10)
    out = analog.design.design_grad(key, task, depth, task.start(64), 400, estimator=est)
    ```
    """
    check_key("key", key)
    check_task(task)
    estimator = check_estimator(estimator)
    steps = check_positive_int("steps", steps, minimum=2)
    if sampler is not None:
        check_sampler(sampler)
    estimator.check_task(task)
    model = task.model(depth)
    x = _check_positions(task, positions)
    model.check_state(x, "positions")
    sampler = design_sampler(task) if sampler is None else sampler
    return estimator.estimate(key, task, model, sampler, x, steps)


class DesignHistory(NamedTuple):
    """What `optimize_depths` returns: final `depth`, per-update `depths` (updates + 1,
    q, q) and `losses` (the estimator's values), and total model `evaluations`."""

    depth: jax.Array
    depths: jax.Array
    losses: jax.Array
    evaluations: int


@jax.jit
def _adam_init(lr, d):
    return optax.adam(lr).init(d)


@jax.jit
def _adam_step(lr, grad, opt_state, d):
    """One adam step on the depths, projected to D >= 0 (jitted: no eager op compiles)."""
    change, opt_state = optax.adam(lr).update(grad, opt_state, d)
    return jnp.maximum(optax.apply_updates(d, change), 0.0), opt_state


def optimize_depths(
    key,
    task: ClusterDesign,
    depth,
    *,
    estimator: AbstractDesignEstimator,
    updates: int,
    steps: int,
    chains: int,
    learning_rate: float = 0.1,
    sampler: particles.Brownian | None = None,
) -> DesignHistory:
    """Tune the well depths with adam on one estimator's gradients, D projected to >= 0.

    Every update starts where the previous estimate left its chains
    (`DesignGrad.positions`): the trajectory estimator restarts from the dispersed
    start (the kinetic yield at T), the equilibrium ones continue their chains.

    **Arguments:** as `design_grad`, plus `updates` (optimiser steps), `chains` and
    `learning_rate` (> 0).

    **Returns:** a `DesignHistory`.
    """
    check_key("key", key)
    check_task(task)
    estimator = check_estimator(estimator)
    if sampler is not None:
        check_sampler(sampler)
    check_positive_int("steps", steps, minimum=2)
    updates = check_positive_int("updates", updates)
    chains = check_positive_int("chains", chains)
    learning_rate = check_real("learning_rate", learning_rate, minimum=0, strict=True)
    d = jnp.asarray(task.model(depth).depth)
    lr = jnp.asarray(learning_rate, d.dtype)  # an array: one compilation for every rate
    opt_state = _adam_init(lr, d)
    x, depths, losses, evaluations = task.start(chains), [d], [], 0
    for k in jax.random.split(key, updates):
        out = design_grad(k, task, d, x, steps, estimator=estimator, sampler=sampler)
        d, opt_state = _adam_step(lr, out.grad, opt_state, d)
        x = out.positions
        depths.append(d)
        losses.append(out.loss)
        evaluations += out.evaluations
    depths, losses = np.stack(depths), np.stack(losses)
    return DesignHistory(d, jnp.asarray(depths), jnp.asarray(losses), evaluations)
