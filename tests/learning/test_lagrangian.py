"""Lagrangian backprop: multipliers and weight gradients equal jax.grad; it trains."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import learning


def _rel(a, b):
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
def test_gradients_equal_jax_grad(getkey, activation):
    mlp = learning.backprop.MLP.random(getkey(), (7, 13, 11, 5), activation)
    x = jax.random.normal(getkey(), (9, 7))
    y = jax.random.randint(getkey(), (9,), 0, 5)
    loss, grads = learning.backprop.lagrangian_grad(mlp, x, y)
    ref_loss, ref = eqx.filter_value_and_grad(lambda m: learning.backprop.cross_entropy(m(x), y))(
        mlp
    )
    assert float(loss) == pytest.approx(float(ref_loss), rel=1e-6)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(ref)):
        assert _rel(a, b) < 1e-5  # float32 round-off is ~1e-7 here


def test_multipliers_are_state_gradients(getkey):
    # lambda_{k-1} = dC/dz_k: the cost's sensitivity to the state entering layer k.
    mlp = learning.backprop.MLP.random(getkey(), (4, 6, 6, 3))
    x = jax.random.normal(getkey(), (5, 4))
    y = jnp.array([0, 1, 2, 0, 1])
    zs, pre = learning.backprop.forward(mlp, x)
    lams = learning.backprop.multipliers(
        mlp, pre, jax.grad(lambda z: learning.backprop.cross_entropy(z, y))(zs[-1])
    )

    def cost_from(k, z):
        for j in range(k, 3):
            a = z @ mlp.weights[j].T + mlp.biases[j]
            z = jnp.tanh(a) if j < 2 else a
        return learning.backprop.cross_entropy(z, y)

    for k in (1, 2):
        assert _rel(lams[k - 1], jax.grad(lambda z: cost_from(k, z))(zs[k])) < 1e-5


def test_trains_a_classifier(getkey):
    # Two Gaussian blobs per class in 4-d, 3 classes: separable, so training accuracy
    # must reach >= 0.95 in 200 adam steps (chance is 1/3).
    centers = 2.0 * jax.random.normal(getkey(), (3, 4))
    y = jnp.arange(300) % 3
    x = centers[y] + 0.5 * jax.random.normal(getkey(), (300, 4))
    mlp = learning.backprop.MLP.random(getkey(), (4, 16, 3))
    opt = optax.adam(1e-2)
    state = opt.init(mlp)

    @eqx.filter_jit
    def step(m, s):
        _, g = learning.backprop.lagrangian_grad(m, x, y)
        u, s = opt.update(g, s, m)
        return eqx.apply_updates(m, u), s

    for _ in range(200):
        mlp, state = step(mlp, state)
    assert float(learning.backprop.mlp_accuracy(mlp, x, y)) >= 0.95


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: learning.backprop.MLP([jnp.ones((3, 2))], [jnp.ones(3)], "swish"), "activation"),
        (lambda: learning.backprop.MLP([jnp.ones((3, 2))], [jnp.ones(2)]), "biases"),
        (
            lambda: learning.backprop.MLP(
                [jnp.ones((3, 2)), jnp.ones((2, 4))], [jnp.ones(3), jnp.ones(2)]
            ),
            "inputs",
        ),
        (lambda: learning.backprop.MLP([], []), "biases"),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_loss_is_finite_and_matches_numpy(getkey):
    mlp = learning.backprop.MLP.random(getkey(), (3, 2))
    x = np.ones((1, 3), np.float32)
    logits = np.asarray(mlp(x))[0]
    expect = -(logits[1] - np.log(np.exp(logits).sum()))
    assert float(learning.backprop.lagrangian_grad(mlp, x, jnp.array([1]))[0]) == pytest.approx(
        expect, rel=1e-5
    )
