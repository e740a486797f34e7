"""Equilibrium propagation (Scellier and Bengio 2017) on a layered Hopfield-style energy.

The contrastive structure shared with sleep-wake and coupled learning: a free phase
(the network relaxes alone: sleep-wake's model phase, coupled learning's free state)
and a phase nudged toward the target (sleep-wake's clamped data phase, coupled
learning's clamped state); the parameter gradient is the difference of dE/dtheta
between the two. Here

$$\\frac{d\\,\\mathrm{loss}}{d\\theta} = \\lim_{\\beta\\to0}\\frac1\\beta
\\Big(\\frac{\\partial E}{\\partial\\theta}(s_\\beta) -
\\frac{\\partial E}{\\partial\\theta}(s_0)\\Big),$$

with loss = C(s_0) at the free fixed point s_0 of E and s_beta the fixed point of
E + beta C. The estimate is already d loss / d theta (the sign optax descends).
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
from jaxtyping import Array, Float

from molcomp.checks import check_key, check_nonnegative_int, check_real, is_concrete

RHOS = ("hard_sigmoid", "sigmoid")


def _rho(name: str, s):
    return jnp.clip(s, 0.0, 1.0) if name == "hard_sigmoid" else jax.nn.sigmoid(s)


class LayeredEnergy(eqx.Module):
    """Layered Hopfield energy with input x clamped, state s = (s_1, ..., s_L):

    $$E(s; x) = \\sum_{l\\ge1} \\tfrac12 |s_l|^2 - \\sum_{l\\ge0}
    \\rho(s_l)^\\top W_l \\rho(s_{l+1}) - \\sum_{l\\ge1} b_l\\cdot\\rho(s_l),
    \\quad \\rho(s_0) = x,$$

    and cost C(s) = 1/2 |s_L - y|^2 (y one-hot). The prediction is argmax s_L.
    `weights[l]` has shape (n_l, n_{l+1}).
    """

    weights: tuple[Float[Array, "i o"], ...]
    biases: tuple[Float[Array, " o"], ...]
    rho: str = eqx.field(static=True)

    def __init__(self, weights, biases, rho: str = "hard_sigmoid"):
        if rho not in RHOS:
            raise ValueError(f"rho must be one of {RHOS}, got {rho!r}")
        if len(weights) == 0 or len(weights) != len(biases):
            raise ValueError("need as many bias vectors as weight matrices (>= 1)")
        for k, (w, b) in enumerate(zip(weights, biases)):
            if jnp.ndim(w) != 2 or jnp.shape(b) != (jnp.shape(w)[1],):
                raise ValueError(
                    f"layer {k}: weights (in, out) and biases (out,) expected, got "
                    f"{jnp.shape(w)} and {jnp.shape(b)}"
                )
        self.weights = tuple(jnp.asarray(w) for w in weights)
        self.biases = tuple(jnp.asarray(b) for b in biases)
        self.rho = rho

    @classmethod
    def random(cls, key, sizes: Sequence[int], rho: str = "hard_sigmoid") -> LayeredEnergy:
        """Glorot-uniform weights, zero biases; `sizes` = (inputs, hidden..., outputs)."""
        check_key("key", key)
        keys = jax.random.split(key, len(sizes) - 1)
        ws = []
        for k, i, o in zip(keys, sizes[:-1], sizes[1:]):
            lim = jnp.sqrt(6.0 / (i + o))
            ws.append(jax.random.uniform(k, (i, o), minval=-lim, maxval=lim))
        return cls(ws, [jnp.zeros(o) for o in sizes[1:]], rho)

    def zeros(self, batch: int) -> tuple:
        """An all-zero state of every layer for `batch` rows (where relaxation starts)."""
        return tuple(jnp.zeros((batch, b.shape[0])) for b in self.biases)

    def energy(self, state: tuple, x) -> Float[Array, " batch"]:
        """E(s; x) per batch row."""
        r = (x, *(_rho(self.rho, s) for s in state))
        e = sum(0.5 * jnp.sum(s**2, -1) for s in state)
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            e = e - jnp.sum((r[k] @ w) * r[k + 1], -1) - r[k + 1] @ b
        return e

    @staticmethod
    def cost(state: tuple, y) -> Float[Array, " batch"]:
        """C = |s_out - y|^2 / 2 per batch row (the nudging cost)."""
        return 0.5 * jnp.sum((state[-1] - y) ** 2, -1)

    def total(self, state, x, y, beta) -> Float[Array, ""]:
        """sum over the batch of E + beta C (rows relax independently)."""
        return jnp.sum(self.energy(state, x) + beta * self.cost(state, y))


def _check_relaxation(step_size, **steps) -> None:
    """`step_size` > 0 and step counts >= 0 (concrete values; traced ones pass)."""
    if is_concrete(step_size):
        check_real("step_size", step_size, minimum=0.0, strict=True)
    for name, value in steps.items():
        if is_concrete(value):
            check_nonnegative_int(name, value)


def relax(model: LayeredEnergy, state, x, y, beta, steps: int, step_size: float = 0.5):
    """Gradient descent on the state: s <- s - step_size dF/ds, F = E + beta C."""
    _check_relaxation(step_size, steps=steps)
    grad = jax.grad(model.total)
    return jax.lax.fori_loop(
        0,
        steps,
        lambda _, s: jax.tree.map(lambda a, g: a - step_size * g, s, grad(s, x, y, beta)),
        state,
    )


def _param_grad(model, state, x):
    """dE/dtheta at fixed state, summed over the batch, shaped like the model."""
    return eqx.filter_grad(lambda m: jnp.sum(m.energy(state, x)))(model)


class EPInfo(eqx.Module):
    """What `eqprop_grad` returns beside the gradients: the batch-mean cost `loss` and
    the `accuracy` (argmax of the output layer against the targets), both at the free
    fixed point, and that fixed point `free` (s_0, one array per layer)."""

    loss: Float[Array, ""]
    accuracy: Float[Array, ""]
    free: tuple


def eqprop_grad(
    model: LayeredEnergy,
    x,
    y,
    beta: float = 0.1,
    *,
    free_steps: int = 50,
    nudged_steps: int = 20,
    step_size: float = 0.5,
    symmetric: bool = False,
    state=None,
) -> tuple[LayeredEnergy, EPInfo]:
    """The EP estimate of d loss / d theta, loss = mean over the batch of C(s_0).

    One-sided: (dE/dtheta(s_beta) - dE/dtheta(s_0)) / beta, bias O(beta).
    Symmetric (`symmetric=True`): (dE/dtheta(s_beta) - dE/dtheta(s_-beta)) / (2 beta),
    bias O(beta^2). Nudged phases start from the free fixed point s_0.

    **Arguments:** `x` (batch, n_in), `y` (batch, n_out) targets; `beta` > 0; relaxation
    `free_steps`, `nudged_steps`, `step_size`; `state`: free-phase start (default 0).
    **Returns:** `(grads, info)` with info.loss, info.accuracy and info.free (s_0).
    """
    if is_concrete(beta):
        check_real("beta", beta, minimum=0.0, strict=True)
    _check_relaxation(step_size, free_steps=free_steps, nudged_steps=nudged_steps)
    x, y = jnp.asarray(x), jnp.asarray(y)
    s0 = model.zeros(x.shape[0]) if state is None else state
    s0 = relax(model, s0, x, y, 0.0, free_steps, step_size)
    plus = relax(model, s0, x, y, beta, nudged_steps, step_size)
    g_plus = _param_grad(model, plus, x)
    if symmetric:
        minus = relax(model, s0, x, y, -beta, nudged_steps, step_size)
        g_ref, scale = _param_grad(model, minus, x), 2.0 * beta
    else:
        g_ref, scale = _param_grad(model, s0, x), beta
    n = x.shape[0]
    grads = jax.tree.map(lambda a, b: (a - b) / (scale * n), g_plus, g_ref)
    loss = jnp.mean(model.cost(s0, y))
    acc = jnp.mean(jnp.argmax(s0[-1], -1) == jnp.argmax(y, -1))
    return grads, EPInfo(loss, acc, s0)


def eqprop_predict(model: LayeredEnergy, x, steps: int = 50, step_size: float = 0.5) -> Array:
    """Class = argmax of the output layer at the free fixed point."""
    x = jnp.asarray(x)
    y = jnp.zeros((x.shape[0], model.biases[-1].shape[0]))
    s0 = relax(model, model.zeros(x.shape[0]), x, y, 0.0, steps, step_size)
    return jnp.argmax(s0[-1], -1)


def eqprop_implicit_grad(model: LayeredEnergy, state, x, y) -> LayeredEnergy:
    """d/dtheta of mean C(s_0(theta)) at a free fixed point `state`, by the implicit
    function theorem (the backprop gradient EP approximates; for tests and checks)."""
    flat, unflat = jax.flatten_util.ravel_pytree(state)

    def e_flat(s, m):
        return jnp.sum(m.energy(unflat(s), x))

    hess = jax.hessian(e_flat)(flat, model)
    dc = jax.grad(lambda s: jnp.mean(model.cost(unflat(s), y)))(flat)
    v = jnp.linalg.solve(hess, dc)
    return eqx.filter_grad(lambda m: -jnp.dot(v, jax.grad(e_flat)(flat, m)))(model)
