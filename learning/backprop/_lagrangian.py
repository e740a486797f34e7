"""Backpropagation as a Lagrangian: forward states, multipliers as the backward pass.

With constraints z_{k+1} = f_k(z_k; W_k), k = 0..T-1, and

$$\\mathcal L = C(y, z_T) + \\sum_k \\lambda_k \\cdot \\big(f_k(z_k; W_k) - z_{k+1}\\big),$$

stationarity in z_T gives lambda_{T-1} = dC/dz_T, in z_k (0 < k < T) gives
lambda_{k-1} = (df_k/dz_k)^T lambda_k, and on the constraint surface
dC/dW_k = dL/dW_k = (df_k/dW_k)^T lambda_k. Here f_k(z) = sigma_k(W_k z + b_k); each
product with a Jacobian is written out (no autodiff through the network), so the
equality with `jax.grad` is a real check. The gradients are d loss / d theta, shaped
like the `MLP`, for optax.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from molcomp.checks import check_key

ACTIVATIONS = ("tanh", "relu", "identity")


def _act(name: str, a):
    if name == "tanh":
        return jnp.tanh(a)
    if name == "relu":
        return jnp.maximum(a, 0.0)
    return a


def _act_grad(name: str, a):
    """sigma'(a), written out."""
    if name == "tanh":
        return 1.0 - jnp.tanh(a) ** 2
    if name == "relu":
        return (a > 0).astype(a.dtype)
    return jnp.ones_like(a)


class MLP(eqx.Module):
    """z_{k+1} = sigma(W_k z_k + b_k), with `activation` on hidden layers and identity
    on the last (its outputs are logits). `weights[k]` has shape (out, in)."""

    weights: tuple[Float[Array, "o i"], ...]
    biases: tuple[Float[Array, " o"], ...]
    activation: str = eqx.field(static=True)

    def __init__(self, weights, biases, activation: str = "tanh"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if len(weights) == 0 or len(weights) != len(biases):
            raise ValueError(
                f"need as many biases as weights (>= 1), got {len(weights)}, {len(biases)}"
            )
        for k, (w, b) in enumerate(zip(weights, biases)):
            if jnp.ndim(w) != 2 or jnp.shape(b) != (jnp.shape(w)[0],):
                raise ValueError(
                    f"layer {k}: weights (out, in) and biases (out,) expected, "
                    f"got {jnp.shape(w)} and {jnp.shape(b)}"
                )
            if k and jnp.shape(w)[1] != jnp.shape(weights[k - 1])[0]:
                raise ValueError(
                    f"layer {k} takes {jnp.shape(w)[1]} inputs but layer "
                    f"{k - 1} gives {jnp.shape(weights[k - 1])[0]}"
                )
        self.weights = tuple(jnp.asarray(w) for w in weights)
        self.biases = tuple(jnp.asarray(b) for b in biases)
        self.activation = activation

    @classmethod
    def random(cls, key, sizes: Sequence[int], activation: str = "tanh") -> MLP:
        """Glorot-normal weights, zero biases; `sizes` = (inputs, hidden..., outputs)."""
        check_key("key", key)
        if len(sizes) < 2:
            raise ValueError(f"sizes needs inputs and outputs, got {sizes!r}")
        keys = jax.random.split(key, len(sizes) - 1)
        ws = [
            jax.random.normal(k, (o, i)) * jnp.sqrt(2.0 / (i + o))
            for k, i, o in zip(keys, sizes[:-1], sizes[1:])
        ]
        return cls(ws, [jnp.zeros(o) for o in sizes[1:]], activation)

    def _name(self, k: int) -> str:
        return self.activation if k < len(self.weights) - 1 else "identity"

    def __call__(self, x):
        return forward(self, x)[0][-1]


def forward(mlp: MLP, x) -> tuple[list, list]:
    """States z_0 = x, ..., z_T and pre-activations a_k = W_k z_k + b_k (batch leading)."""
    zs, pre = [jnp.asarray(x)], []
    for k, (w, b) in enumerate(zip(mlp.weights, mlp.biases)):
        a = zs[-1] @ w.T + b
        pre.append(a)
        zs.append(_act(mlp._name(k), a))
    return zs, pre


def cross_entropy(logits, labels) -> Float[Array, ""]:
    """Mean softmax cross-entropy with integer labels."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, labels[..., None], axis=-1))


def cross_entropy_grad(logits, labels):
    """dC/dz_T for the mean cross-entropy, written out: (softmax - onehot) / batch."""
    onehot = jax.nn.one_hot(labels, logits.shape[-1])
    return (jax.nn.softmax(logits) - onehot) / logits.shape[0]


def multipliers(mlp: MLP, pre: list, lam_last) -> list:
    """The backward recursion lambda_{k-1} = (df_k/dz_k)^T lambda_k from lambda_{T-1}.

    Returns [lambda_0, ..., lambda_{T-1}] (lambda_k multiplies constraint k)."""
    lams = [lam_last]
    for k in range(len(mlp.weights) - 1, 0, -1):
        # df_k/dz_k = diag(sigma'(a_k)) W_k, so its transpose times lambda_k:
        delta = lams[0] * _act_grad(mlp._name(k), pre[k])
        lams.insert(0, delta @ mlp.weights[k])
    return lams


def lagrangian_grad(mlp: MLP, x, labels) -> tuple[Float[Array, ""], MLP]:
    """(loss, grads) of the mean cross-entropy via the Lagrangian; grads = dC/dW_k =
    (df_k/dW_k)^T lambda_k, i.e. (sigma'(a_k) * lambda_k) z_k^T summed over the batch."""
    zs, pre = forward(mlp, x)
    lams = multipliers(mlp, pre, cross_entropy_grad(zs[-1], labels))
    gw, gb = [], []
    for k, lam in enumerate(lams):
        delta = lam * _act_grad(mlp._name(k), pre[k])
        gw.append(delta.T @ zs[k])
        gb.append(jnp.sum(delta, axis=0))
    grads = eqx.tree_at(lambda m: (m.weights, m.biases), mlp, (tuple(gw), tuple(gb)))
    return cross_entropy(zs[-1], labels), grads


def mlp_accuracy(mlp: MLP, x, labels) -> Float[Array, ""]:
    """Fraction of rows of `x` whose largest output is the row's label."""
    return jnp.mean(jnp.argmax(mlp(x), axis=-1) == labels)
