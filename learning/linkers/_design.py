"""Design linker concentrations: fit softplus-parametrised concentrations with optax so
that the integrated-out couplings J~ match a target."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from molcomp import Linkers
from molcomp.checks import check_positive_int


def fit_linker_concentrations(
    linkers: Linkers, target, optimizer: optax.GradientTransformation, steps: int, *, J0=None
):
    """Train `linkers.raw` (concentrations = softplus(raw) > 0) to minimise
    mean_ab (J~_ab(c) - target_ab)^2; binding constants and bridge weight stay fixed.

    **Arguments:** `linkers`; `target` (q, q) couplings J~ to realise; an optax
    `optimizer`; `steps` (static); `J0` bare couplings (default 0).

    **Returns:** `(linkers, losses)`: the trained linkers and the loss at every step.
    """
    if not isinstance(linkers, Linkers):
        raise TypeError(f"linkers must be a molcomp Linkers, got {type(linkers).__name__}")
    q = linkers.n_species
    target = jnp.asarray(target, jnp.float32)
    if target.shape != (q, q):
        raise ValueError(f"target must have shape ({q}, {q}), got {target.shape}")
    steps = check_positive_int("steps", steps)
    spec = jax.tree_util.tree_map(lambda _: False, linkers)
    spec = eqx.tree_at(lambda lk: lk.raw, spec, True)
    diff, static = eqx.partition(linkers, spec)

    def loss(d):
        lk = eqx.combine(d, static)
        return jnp.mean((lk.effective_couplings(J0) - target) ** 2)

    def body(carry, _):
        d, opt_state = carry
        value, grads = jax.value_and_grad(loss)(d)
        updates, opt_state = optimizer.update(grads, opt_state, d)
        return (optax.apply_updates(d, updates), opt_state), value

    (diff, _), losses = jax.lax.scan(body, (diff, optimizer.init(diff)), None, int(steps))
    return eqx.combine(diff, static), losses
