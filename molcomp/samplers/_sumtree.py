"""A two-level sum tree over n non-negative rates: updates and draws in a fixed, small
number of array operations.

The rates sit in blocks of B (B a power of two near sqrt(n); padded with zero rates);
each block keeps its sum, and the total is the sum of the blocks. An update or a draw
touches O(sqrt n) numbers, but in a handful of operations, where a binary tree needs
two per level: inside a Gillespie event loop on a CPU the per-operation overhead, not
the arithmetic, sets the cost. Sums are always recomputed from the rates, never
updated incrementally, so no rounding error accumulates.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

N_UNIFORMS = 2  # uniforms one draw consumes: the block, then the rate in it


class SumTree(eqx.Module):
    """Rates in blocks, with the block sums and their total."""

    rates: jax.Array  # (n_blocks, B)
    blocks: jax.Array  # (n_blocks,)
    total: jax.Array  # ()


def _block(n: int) -> int:
    return 1 << max(0, round(math.log2(max(n, 1)) / 2))


def build(rates: jax.Array) -> SumTree:
    """The tree of `rates` (n,)."""
    n = rates.shape[0]
    B = _block(n)
    padded = jnp.zeros(-(-n // B) * B, rates.dtype).at[:n].set(rates).reshape(-1, B)
    blocks = padded.sum(1)
    return SumTree(padded, blocks, blocks.sum())


def update(tree: SumTree, idx: jax.Array, rates: jax.Array) -> SumTree:
    """Set the rates at `idx` (repeats must carry equal rates) and refresh the sums."""
    shape = tree.rates.shape
    new = tree.rates.ravel().at[idx].set(rates).reshape(shape)
    blk = idx // shape[1]
    blocks = tree.blocks.at[blk].set(new[blk].sum(1))
    return SumTree(new, blocks, blocks.sum())


def leaves(tree: SumTree, idx: jax.Array) -> jax.Array:
    """The rates at `idx`."""
    return tree.rates.ravel()[idx]


def _pick(u, w):
    """Inverse CDF: the first entry whose cumulative weight exceeds u * sum(w), so never
    one of zero weight (rounding past the end falls back to the last positive one)."""
    cdf = jnp.cumsum(w)
    last = w.size - 1 - jnp.argmax(w[::-1] > 0)
    return jnp.minimum(jnp.sum(cdf <= u * cdf[-1]), last).astype(jnp.int32)


def descend(u: jax.Array, tree: SumTree) -> jax.Array:
    """`draw` with given uniforms u (`N_UNIFORMS`,)."""
    b = _pick(u[0], tree.blocks)
    return b * tree.rates.shape[1] + _pick(u[1], tree.rates[b])


def draw(key, tree: SumTree) -> jax.Array:
    """An index with probability rate / total. A fresh uniform per level, so a block's
    probability is exact to float32 relative to the total and a rate's relative to its
    block (not only to 2^-24 of the total)."""
    return descend(jax.random.uniform(key, (N_UNIFORMS,)), tree)
