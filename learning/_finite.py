"""The non-finite check of `fit`: which leaf of the gradient or of the parameters first
held NaN/inf, recorded on the device every step and read once per chunk."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def first_bad(bad, tree, step):
    """Per inexact leaf of `tree`: the first step at which it held NaN/inf (-1: none)."""
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if eqx.is_inexact_array(x)]
    if not leaves:
        return bad
    flags = jnp.stack([~jnp.all(jnp.isfinite(x)) for x in leaves])
    return jnp.where((bad < 0) & flags, step, bad)


def leaf_names(tree) -> list[str]:
    """Paths of the inexact leaves of `tree`, in `first_bad` order."""
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [jax.tree_util.keystr(p) for p, x in flat if eqx.is_inexact_array(x)]


def raise_non_finite(bad_g, bad_p, names) -> None:
    """FloatingPointError naming the first step and the leaves that went non-finite."""
    bad_g, bad_p = np.asarray(bad_g), np.asarray(bad_p)
    if not (np.any(bad_g >= 0) or np.any(bad_p >= 0)):
        return
    steps = np.concatenate([bad_g[bad_g >= 0], bad_p[bad_p >= 0]])
    first = int(steps.min())
    grads = [n for n, b in zip(names, bad_g, strict=False) if b == first]
    params = [n for n, b in zip(names, bad_p, strict=False) if b == first]
    what = []
    if grads:
        what.append(f"the gradient of {', '.join('model' + n for n in grads)}")
    if params:
        what.append(f"parameter {', '.join('model' + n for n in params)}")
    raise FloatingPointError(
        f"fit: {' and '.join(what)} became non-finite (NaN/inf) at training step {first} "
        "(0-based); lower the learning rate or check the data and the sampler "
        "(check_finite=False turns this check off)"
    )
