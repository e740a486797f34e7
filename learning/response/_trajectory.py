"""Gradients of what a physical system does, with respect to its parameters.

Two estimators for particle mixtures (and any energy model):

* `trajectory_grad`: reverse-mode differentiation through a Brownian trajectory with a
  fixed noise realisation (the key), checkpointed over blocks of steps so the
  backward pass stores one state per block instead of every step.
* `fluctuation_grad`: the equilibrium (reweighting) identity
  d<O>/dtheta = <dO/dtheta> - (<O dE/dtheta> - <O><dE/dtheta>), from samples.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from molcomp.checks import check_key, check_positive_int


def _trajectory(model, sampler, state, keys, checkpoint_every):
    """Final state and whether any neighbour list overflowed (no recovery here)."""

    def step(carry, k):
        st, over = carry
        st, info = sampler.step(k, model, st)
        return (st, over | jnp.any(info.overflow)), None

    carry = (state, jnp.asarray(False))
    if not checkpoint_every:
        return jax.lax.scan(step, carry, keys)[0]

    @jax.checkpoint
    def block(carry, ks):
        return jax.lax.scan(step, carry, ks)[0], None

    blocks = keys.reshape(-1, checkpoint_every, *keys.shape[1:])
    return jax.lax.scan(block, carry, blocks)[0]


def trajectory_grad(
    key,
    model,
    sampler,
    state,
    steps: int,
    loss_fn: Callable,
    *,
    checkpoint_every: int | None = None,
    filter_spec=None,
):
    """d loss(x(T)) / d theta through `steps` steps of `sampler` (e.g. `Brownian`).

    The noise is fixed by `key`, so the trajectory is a deterministic, differentiable
    function of the parameters. Start from a relaxed state (overlapping particles
    give huge forces and non-finite gradients), and give the neighbour list room
    (`sampler.init(..., extra_capacity=...)`): an overflow inside the differentiated
    trajectory cannot be redone, so it is raised (`equinox.error_if`) instead.

    **Arguments:**

    - `key`: a `jax.random` key (one per step is split from it).
    - `model`, `sampler`, `state`: from `sampler.init(model, positions)`.
    - `steps`: number of steps (static).
    - `loss_fn(model, state_initial, state_final) -> scalar`.
    - `checkpoint_every`: steps per checkpointed block (must divide `steps`); None
      stores every step for the backward pass.
    - `filter_spec`: which leaves to differentiate (default: floating-point leaves).

    **Returns:** `(loss, grads)`, grads shaped like the model (None where not trained).
    """
    check_key("key", key)
    steps = check_positive_int("steps", steps)
    if checkpoint_every is not None:
        if int(checkpoint_every) < 1 or steps % int(checkpoint_every):
            raise ValueError(
                f"checkpoint_every must be a positive divisor of steps={steps}, got "
                f"{checkpoint_every!r}"
            )
        checkpoint_every = int(checkpoint_every)
    keys = jax.random.split(key, int(steps))
    spec = model.trainable() if filter_spec is None else filter_spec
    diff, static = eqx.partition(model, spec)

    def loss(d):
        m = eqx.combine(d, static)
        final, overflow = _trajectory(m, sampler, state, keys, checkpoint_every)
        return loss_fn(m, state, final), overflow

    (value, overflow), grads = jax.value_and_grad(loss, has_aux=True)(diff)
    value = eqx.error_if(
        value,
        overflow,
        "neighbour list overflowed in a differentiated trajectory; allocate more room "
        "(sampler.init(model, positions, extra_capacity=...))",
    )
    return value, grads


def fluctuation_grad(model, samples, observable: Callable, *, weights=None, filter_spec=None):
    """d<O>/dtheta from equilibrium samples of p ~ exp(-E_theta):

    $$\\frac{d\\langle O\\rangle}{d\\theta} = \\langle \\partial_\\theta O\\rangle
      - \\left(\\langle O\\, \\partial_\\theta E\\rangle
      - \\langle O\\rangle\\langle \\partial_\\theta E\\rangle\\right)$$

    Exact when `samples` enumerate every state and `weights` are their probabilities.

    **Arguments:**

    - `model`: any energy model (`model.energy(sample)`).
    - `samples`: a batch of states (leading axis m), drawn from the model.
    - `observable(model, sample) -> scalar`.
    - `weights`: optional (m,) weights of the samples (normalised here).
    - `filter_spec`: which leaves to differentiate (default: floating-point leaves).

    **Returns:** `(mean, grads)`: <O> and d<O>/dtheta shaped like the model.
    """
    m = jax.tree_util.tree_leaves(samples)[0].shape[0]
    w = jnp.full((m,), 1.0 / m) if weights is None else jnp.asarray(weights)
    w = w / jnp.sum(w)
    spec = model.trainable() if filter_spec is None else filter_spec
    diff, static = eqx.partition(model, spec)

    def surrogate(d):
        mod = eqx.combine(d, static)
        o = jax.vmap(lambda s: observable(mod, s))(samples)
        e = jax.vmap(mod.energy)(samples)
        centred = jax.lax.stop_gradient(o - jnp.dot(w, o))
        # d/dtheta of this is <dO/dtheta> - Cov(O, dE/dtheta); its value is <O>.
        return jnp.dot(w, o) - jnp.dot(w, centred * (e - jax.lax.stop_gradient(e)))

    return jax.value_and_grad(surrogate)(diff)
