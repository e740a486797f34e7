"""The training steps of `fit`, in chunks between evaluation and checkpoint points.

Step i of a run uses the key `fold_in(key, i)`, so both runners give the same steps for
the same key, however the run is chunked. `train_chunk` compiles a chunk into one
`lax.fori_loop`. `host_chunk` runs each step from Python: when a phase's sampler has
`host_recovery` (particle samplers, whose neighbour lists are reallocated between
`molcomp.sample` chunks), its chains cannot run inside a compiled loop, so each step is
`estimate_grad` (its chains through `molcomp.sample`, with recovery) and the optax
update, op by op.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from molcomp import AbstractSampler

from ._estimator import estimate_grad
from ._finite import first_bad, leaf_names


def needs_host(*trees) -> bool:
    """Whether a sampler in `trees` (phases; samplers nested in samplers included) has
    `host_recovery`, so that the training steps must run on the host."""

    def visit(x, depth: int) -> bool:
        if depth > 8:
            return False
        if isinstance(x, AbstractSampler) and type(x).host_recovery:
            return True
        if isinstance(x, eqx.Module):
            fields = (getattr(x, f.name, None) for f in dataclasses.fields(x))
            return any(visit(v, depth + 1) for v in fields)
        if isinstance(x, list | tuple):
            return any(visit(v, depth + 1) for v in x)
        return False

    return any(visit(t, 0) for t in trees)


def _step(key, i, tree, optimizer, data_phase, model_phase, spec, via_stats):
    """One training step: (tree, grads, energy gap)."""
    model, opt_state, ps = tree
    grads, ps, info = estimate_grad(
        jax.random.fold_in(key, i),
        model,
        data_phase,
        model_phase,
        ps,
        filter_spec=spec,
        via_statistics=via_stats,
    )
    updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, spec))
    model = eqx.apply_updates(model, updates)
    return (model, opt_state, ps), grads, info.energy_gap


@eqx.filter_jit
def _compiled(key, dyn, start, n, static, optimizer, data_phase, model_phase, spec, via_stats,
              size, check_finite):  # fmt: skip
    def one(i, c):
        dyn, gn, gap, bad_g, bad_p = c
        tree, grads, g = _step(
            key, start + i, eqx.combine(dyn, static), optimizer, data_phase, model_phase,
            spec, via_stats,
        )  # fmt: skip
        if check_finite:  # static
            bad_g = first_bad(bad_g, grads, start + i)
            bad_p = first_bad(bad_p, eqx.filter(tree[0], spec), start + i)
        dyn, _ = eqx.partition(tree, eqx.is_array)
        gn = gn.at[i].set(optax.tree.norm(grads))
        return dyn, gn, gap.at[i].set(g), bad_g, bad_p

    zeros = jnp.full(size, jnp.nan, jnp.float32)
    n_leaves = len(leaf_names(eqx.filter(eqx.combine(dyn, static)[0], spec)))
    none = jnp.full(n_leaves, -1, jnp.int32)
    return jax.lax.fori_loop(0, n, one, (dyn, zeros, zeros, none, none))


def train_chunk(key, tree, start, n, optimizer, data_phase, model_phase, spec, via_stats,
                size, check_finite):  # fmt: skip
    """n (<= size) compiled steps from step `start`: (tree, grad norms, energy gaps,
    first non-finite step of each gradient / parameter leaf (-1: none)); the norms and
    gaps have `size` entries (NaN past n), so chunks of any length share a compile."""
    dyn, static = eqx.partition(tree, eqx.is_array)
    dyn, gn, gap, bad_g, bad_p = _compiled(
        key, dyn, jnp.int32(start), jnp.int32(n), static, optimizer, data_phase,
        model_phase, spec, via_stats, size, bool(check_finite),
    )  # fmt: skip
    return eqx.combine(dyn, static), np.asarray(gn)[:n], np.asarray(gap)[:n], bad_g, bad_p


def host_chunk(key, tree, start, n, optimizer, data_phase, model_phase, spec, via_stats,
               size, check_finite, on_step=None):  # fmt: skip
    """As `train_chunk`, each step run from Python (the sampler state may change its
    static layout between steps, e.g. a reallocated neighbour list); `on_step()` is
    called after every step (progress)."""
    n_leaves = len(leaf_names(eqx.filter(tree[0], spec)))
    bad_g = bad_p = jnp.full(n_leaves, -1, jnp.int32)
    gn, gap = [], []
    for i in range(start, start + n):
        tree, grads, g = _step(key, i, tree, optimizer, data_phase, model_phase, spec, via_stats)
        if check_finite:
            bad_g = first_bad(bad_g, grads, i)
            bad_p = first_bad(bad_p, eqx.filter(tree[0], spec), i)
            if bool(jnp.any(bad_g >= 0) | jnp.any(bad_p >= 0)):
                break  # fit raises; the chains are not run on non-finite parameters
        gn.append(optax.tree.norm(grads))
        gap.append(g)
        if on_step is not None:
            on_step()
    as_np = lambda v: np.asarray(jnp.stack(v), np.float32)  # noqa: E731
    return tree, as_np(gn), as_np(gap), bad_g, bad_p
