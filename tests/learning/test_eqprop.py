"""Equilibrium propagation converges to the backprop (implicit) gradient as beta -> 0:
error ~ beta for the one-sided estimate, ~ beta^2 for the symmetric one."""

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

import learning

BETAS = (0.1, 0.05, 0.025)


@pytest.fixture(scope="module")
def problem():
    key = jax.random.key(1)
    k1, k2, k3 = jax.random.split(key, 3)
    model = learning.backprop.LayeredEnergy.random(k1, (6, 8, 3), "sigmoid")
    model = eqx.tree_at(
        lambda m: m.biases,
        model,
        tuple(0.3 + 0.1 * jax.random.normal(k2, b.shape) for b in model.biases),
    )
    x = jax.random.uniform(k3, (4, 6))
    y = jax.nn.one_hot(jnp.arange(4) % 3, 3)
    return model, x, y


@pytest.fixture(scope="module")
def errors(problem):
    """Relative error of EP against the implicit gradient, per beta and variant."""
    model, x, y = problem
    fn = eqx.filter_jit(learning.backprop.eqprop_grad)
    out = {}
    for symmetric in (False, True):
        for beta in BETAS:
            g, info = fn(
                model,
                x,
                y,
                jnp.float32(beta),
                free_steps=300,
                nudged_steps=300,
                symmetric=symmetric,
            )
            ref = learning.backprop.eqprop_implicit_grad(model, info.free, x, y)
            a = jax.flatten_util.ravel_pytree(g)[0]
            b = jax.flatten_util.ravel_pytree(ref)[0]
            out[symmetric, beta] = float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))
    return out


def _slope(errs):
    return np.polyfit(np.log(BETAS), np.log(errs), 1)[0]


def test_one_sided_error_is_linear_in_beta(errors):
    errs = [errors[False, b] for b in BETAS]
    assert errs[-1] < 0.05  # close at beta = 0.025 (measured ~0.025)
    assert 0.8 < _slope(errs) < 1.2


def test_symmetric_error_is_quadratic_and_smaller(errors):
    errs = [errors[True, b] for b in BETAS]
    assert all(errors[True, b] < errors[False, b] for b in BETAS)
    assert 1.7 < _slope(errs) < 2.3


def test_implicit_reference_equals_unrolled_backprop(problem):
    # The reference itself: jax.grad through a long (converged) free relaxation.
    model, x, y = problem

    def loss(m):
        s = learning.backprop.relax(m, m.zeros(x.shape[0]), x, y, 0.0, 300)
        return jnp.mean(m.cost(s, y))

    ref = eqx.filter_jit(eqx.filter_grad(loss))(model)
    s0 = learning.backprop.relax(model, model.zeros(x.shape[0]), x, y, 0.0, 300)
    imp = learning.backprop.eqprop_implicit_grad(model, s0, x, y)
    a = jax.flatten_util.ravel_pytree(imp)[0]
    b = jax.flatten_util.ravel_pytree(ref)[0]
    assert float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b)) < 1e-3


def test_bad_input(problem):
    model, x, y = problem
    with pytest.raises(ValueError, match="beta"):
        learning.backprop.eqprop_grad(model, x, y, 0.0)
    with pytest.raises(ValueError, match="beta"):
        learning.backprop.eqprop_grad(model, x, y, -0.1)
    with pytest.raises(ValueError, match="rho"):
        learning.backprop.LayeredEnergy.random(jax.random.key(0), (2, 2), "tanh")
