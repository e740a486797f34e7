"""A box constraint on the parameters, as an optax transformation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def clip_params(lo, hi) -> optax.GradientTransformation:
    """Keep every parameter in the box [lo, hi]: an optax transformation to chain after
    an optimizer, e.g. `optax.chain(optax.sgd(0.01), learning.clip_params(-1.5, 1.5))`.

    It turns the incoming update u of a parameter p into clip(p + u, lo, hi) - p, so
    that `optax.apply_updates` lands on the projection of the unconstrained step onto
    the box (exactly, up to one float rounding of the subtraction and re-addition).
    Bounds are numbers or arrays broadcastable to every leaf; unlike
    `optax.projections.projection_box`, which projects parameters, this composes with
    any optimizer and with `learning.fit`.

    **Arguments:** `lo`, `hi`: the bounds (lo <= hi).

    **Returns:** an `optax.GradientTransformation` (stateless; `update` needs `params`).
    """
    lo_arr, hi_arr = jnp.asarray(lo, jnp.float32), jnp.asarray(hi, jnp.float32)
    if not bool(jnp.all(lo_arr <= hi_arr)):  # False for NaN bounds too
        raise ValueError(f"clip_params needs lo <= hi, got lo={lo!r}, hi={hi!r}")

    def init(params):
        return optax.EmptyState()

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("clip_params needs the parameters: call update(g, state, params)")

        def one(u, p):
            if u is None:
                return None
            return jnp.clip(p + u, lo_arr.astype(p.dtype), hi_arr.astype(p.dtype)) - p

        return jax.tree_util.tree_map(one, updates, params, is_leaf=lambda x: x is None), state

    return optax.GradientTransformation(init, update)
