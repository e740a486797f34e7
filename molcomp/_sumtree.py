"""A binary sum tree over n non-negative rates: O(log n) updates and draws.

Leaves sit at [P, 2P) of a (2P,) array (P the next power of two >= n, padded with
zero rates) and node i holds tree[2i] + tree[2i + 1]. Nodes are always recomputed from
their children, never updated incrementally, so no rounding error accumulates.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _width(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def build(rates: jax.Array) -> jax.Array:
    """The tree of `rates` (n,); tree[1] is their sum."""
    n = rates.shape[0]
    P = _width(n)
    tree = jnp.zeros(2 * P, rates.dtype).at[P : P + n].set(rates)
    width = P // 2
    while width >= 1:
        idx = jnp.arange(width, 2 * width)
        tree = tree.at[idx].set(tree[2 * idx] + tree[2 * idx + 1])
        width //= 2
    return tree


def update(tree: jax.Array, leaves: jax.Array, rates: jax.Array) -> jax.Array:
    """Set the given leaves (repeats must carry equal rates) and refresh their ancestors."""
    P = tree.shape[0] // 2
    idx = P + leaves
    tree = tree.at[idx].set(rates)
    for _ in range(P.bit_length() - 1):
        idx = idx // 2
        tree = tree.at[idx].set(tree[2 * idx] + tree[2 * idx + 1])
    return tree


def draw(key, tree: jax.Array) -> jax.Array:
    """A leaf with probability rate / total, one fresh uniform per level, so each
    branching probability is exact to float32 (not only to 2^-24 of the total)."""
    P = tree.shape[0] // 2
    depth = P.bit_length() - 1
    u = jax.random.uniform(key, (max(depth, 1),))
    node = jnp.ones((), jnp.int32)
    for level in range(depth):
        left, right = tree[2 * node], tree[2 * node + 1]
        node = 2 * node + (u[level] * (left + right) >= left).astype(jnp.int32)
    return node - P
