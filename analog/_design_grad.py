"""Three gradient estimators for a `ClusterDesign`, and a design loop over optax.

- `trajectory`: jax.grad of the smooth loss at time T through Brownian trajectories
  from the dispersed start, with fixed noise (checkpointed over blocks of steps):
  the derivative of the kinetic yield at T (Goodrich et al.'s estimator).
- `fluctuation`: the equilibrium identity d<L>/dD = -Cov(L, dE/dD) from samples of the
  second half of the same trajectories (`learning.fluctuation_grad`).
- `sleep_wake`: <dE/dD>_data - <dE/dD>_model with data = configurations holding the
  target cluster (`learning.energy_gap_grad`): the descent direction of
  KL(P_data || Q_D), not of the yield itself. With data drawn from the model's own
  distribution conditioned on the target being formed, it equals the equilibrium
  derivative of the target's (hard) formation probability divided by that
  probability, so it points the same way as `fluctuation` for a lone target.

All return G[a, b] = d loss / d D_ab (descent convention; D_ab = D_ba moved together).
Cost is counted in model evaluations: force or energy-gradient evaluations of one
configuration (a reverse pass through a trajectory costs one per step, a checkpointed
one a second for the recomputation).
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import learning
from molcomp import particles

from ._design import ClusterDesign, depth_only, pair_gradient

ESTIMATORS = ("trajectory", "fluctuation", "sleep_wake")


class DesignGrad(NamedTuple):
    """One estimate: `grad` (q, q), `loss` (the estimator's own value: the smooth loss at
    T, its equilibrium mean, or the energy gap for sleep-wake), `evaluations` (model
    evaluations spent) and `positions` (final (chains, n, dim), to continue chains)."""

    grad: jax.Array
    loss: jax.Array
    evaluations: int
    positions: jax.Array


def design_sampler(task: ClusterDesign) -> particles.Brownian:
    """Brownian dynamics, dt = 2e-3 (stable: the stiffest curvature, the core's 50 kT,
    relaxes in 0.02), skin as large as the box allows up to 1 sigma."""
    skin = min(1.0, 0.5 * min(task.box) - task.cutoff)
    return particles.Brownian(dt=2e-3, dr_threshold=skin)


def _positions(model, x):
    return x


@eqx.filter_jit
def _trajectory(key, task, model, sampler, state, steps, every):
    def loss_fn(m, start, final):
        return task.loss(final.position)

    value, g = learning.trajectory_grad(
        key, model, sampler, state, steps, loss_fn, checkpoint_every=every,
        filter_spec=depth_only(model),
    )  # fmt: skip
    return value, pair_gradient(g.depth)


# The equilibrium kernels always take sample weights (uniform from `design_grad`): one
# compilation then serves a whole sample set and any subset of it (weights 0 elsewhere).
@eqx.filter_jit
def _fluctuation(task, model, samples, weights):
    def obs(m, x):
        return task.loss(x)

    mean, g = learning.fluctuation_grad(
        model, samples, obs, weights=weights, filter_spec=depth_only(model)
    )
    return mean, pair_gradient(g.depth)


@eqx.filter_jit
def _sleep_wake(model, data, samples, weights):
    g, gap = learning.energy_gap_grad(
        model, data, None, samples, weights, filter_spec=depth_only(model), method="energy"
    )
    return gap, pair_gradient(g.depth)


@eqx.filter_jit
def _hard_counts(task, samples):
    return jax.vmap(task.hard_yields)(samples)


def _uniform(samples):
    return jnp.full(samples.shape[0], 1.0 / samples.shape[0], samples.dtype)


def _check_positions(task, positions):
    x = jnp.asarray(positions)
    shape = (task.n_particles, len(task.box))
    if x.ndim != 3 or x.shape[1:] != shape:
        raise ValueError(
            f"positions must have shape (chains, {shape[0]}, {shape[1]}), got {x.shape}"
        )
    return x


def sample_positions(key, task, model, sampler, positions, steps, *, burn_in=0.5, every=10):
    """Run chains `steps` steps from `positions`; returns (samples (m, n, dim) from after
    the burn-in fraction, one every `every` steps, and the final (chains, n, dim))."""
    state = sampler.init(model, positions, extra_capacity=task.n_particles)
    out = particles.run(key, model, sampler, state, steps, block=steps, trace_fn=_positions)
    trace = out.trace[int(burn_in * steps) :: every]
    return trace.reshape(-1, *trace.shape[2:]), out.state.position


def target_configurations(task: ClusterDesign, samples, min_yield: int = 1):
    """The samples (m, n, dim) holding at least `min_yield` target clusters (exact count):
    the data of the sleep-wake estimator."""
    x = jnp.asarray(samples)
    t, _ = _hard_counts(task, x)
    keep = np.asarray(t) >= min_yield
    return jnp.asarray(np.asarray(x)[keep])  # on the host: no compilation per count


def design_grad(
    key,
    task: ClusterDesign,
    depth,
    positions,
    steps: int,
    *,
    estimator: str,
    sampler: particles.Brownian | None = None,
    data=None,
    checkpoint_every: int | None = None,
    burn_in: float = 0.5,
    every: int = 10,
) -> DesignGrad:
    """One gradient of the design loss w.r.t. the well depths.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `task`: the `ClusterDesign`; `depth`: (q, q) well depths D_ab >= 0.
    - `positions`: (chains, n, dim) starting positions, relaxed (no overlaps).
    - `steps`: trajectory length T (Brownian steps).
    - `estimator`: "trajectory", "fluctuation" or "sleep_wake".
    - `sampler`: Brownian dynamics (default `design_sampler(task)`).
    - `data`: (m, n, dim) target configurations (sleep_wake only; see
      `target_configurations`).
    - `checkpoint_every`: steps per checkpointed block (trajectory only; divides steps).
    - `burn_in`, `every`: which steps the equilibrium estimators sample.

    **Returns:** a `DesignGrad`.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if isinstance(steps, bool) or int(steps) != steps or steps < 2:
        raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
    if not 0.0 <= burn_in < 1.0:
        raise ValueError(f"burn_in must be a fraction in [0, 1), got {burn_in!r}")
    if isinstance(every, bool) or int(every) != every or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    if estimator == "sleep_wake":
        if data is None:
            raise ValueError("estimator='sleep_wake' needs data (target configurations)")
        data = jnp.asarray(data)
        if (
            data.ndim != 3
            or data.shape[0] < 1
            or data.shape[1:] != (task.n_particles, len(task.box))
        ):
            raise ValueError(
                f"data must have shape (m, {task.n_particles}, {len(task.box)}) with "
                f"m >= 1, got {data.shape}"
            )
    model = task.model(depth)
    x = _check_positions(task, positions)
    model.check_state(x, "positions")
    sampler = design_sampler(task) if sampler is None else sampler
    chains, steps = x.shape[0], int(steps)
    if estimator == "trajectory":
        state = sampler.init(model, x, extra_capacity=task.n_particles)
        value, g = _trajectory(key, task, model, sampler, state, steps, checkpoint_every)
        passes = 3 if checkpoint_every else 2
        # The final state is not returned by trajectory_grad; chains restart anyway.
        return DesignGrad(g, value, passes * chains * steps, x)
    samples, final = sample_positions(
        key, task, model, sampler, x, steps, burn_in=burn_in, every=every
    )
    if estimator == "fluctuation":
        value, g = _fluctuation(task, model, samples, _uniform(samples))
        return DesignGrad(g, value, chains * steps + samples.shape[0], final)
    value, g = _sleep_wake(model, data, samples, _uniform(samples))
    return DesignGrad(g, value, chains * steps + samples.shape[0] + data.shape[0], final)


class DesignHistory(NamedTuple):
    """What `design` returns: final `depth`, per-update `depths` (updates + 1, q, q) and
    `losses` (the estimator's values), and total model `evaluations`."""

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


def design(
    key,
    task: ClusterDesign,
    depth,
    *,
    estimator: str,
    updates: int,
    steps: int,
    chains: int,
    learning_rate: float = 0.1,
    data=None,
    checkpoint_every: int | None = None,
    sampler: particles.Brownian | None = None,
) -> DesignHistory:
    """Tune the well depths with adam on one estimator's gradients, D projected to >= 0.

    The trajectory estimator restarts every update from the dispersed start (the
    kinetic yield at T); the equilibrium ones continue their chains.

    **Arguments:** as `design_grad`, plus `updates` (optimiser steps), `chains` and
    `learning_rate`.

    **Returns:** a `DesignHistory`.
    """
    if isinstance(updates, bool) or int(updates) != updates or updates < 1:
        raise ValueError(f"updates must be a positive integer, got {updates!r}")
    if isinstance(chains, bool) or int(chains) != chains or chains < 1:
        raise ValueError(f"chains must be a positive integer, got {chains!r}")
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    d = jnp.asarray(task.model(depth).depth)
    lr = jnp.asarray(learning_rate, d.dtype)  # an array: one compilation for every rate
    opt_state = _adam_init(lr, d)
    start = task.start(chains)
    x, depths, losses, evaluations = start, [d], [], 0
    for k in jax.random.split(key, int(updates)):
        out = design_grad(
            k, task, d, x, steps, estimator=estimator, data=data,
            checkpoint_every=checkpoint_every, sampler=sampler,
        )  # fmt: skip
        d, opt_state = _adam_step(lr, out.grad, opt_state, d)
        x = start if estimator == "trajectory" else out.positions
        depths.append(d)
        losses.append(out.loss)
        evaluations += out.evaluations
    depths, losses = np.stack(depths), np.stack(losses)
    return DesignHistory(d, jnp.asarray(depths), jnp.asarray(losses), evaluations)


def equilibrium_yields(key, task: ClusterDesign, depth, *, chains: int, steps: int, sampler=None):
    """Mean exact (target, competitor) yields over the second half of `steps` steps of
    `chains` chains from the dispersed start."""
    model = task.model(depth)
    sampler = design_sampler(task) if sampler is None else sampler
    samples, _ = sample_positions(key, task, model, sampler, task.start(chains), steps)
    t, c = _hard_counts(task, samples)
    return float(np.mean(t)), float(np.mean(c))
