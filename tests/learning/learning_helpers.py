"""Exact-reference helpers shared by the learning tests (imported by name)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import learning
import molcomp


def random_ising(key, n: int, w_scale: float = 0.3, b_scale: float = 0.1):
    """The issue's random Ising target: w_ij ~ Normal(0, w_scale^2), b_i ~ Normal(0, b_scale^2)."""
    kw, kb = jax.random.split(key)
    w = w_scale * jax.random.normal(kw, (n * (n - 1) // 2,))
    return learning.neural.BoltzmannMachine(w, b_scale * jax.random.normal(kb, (n,)))


def exact_samples(key, model, m: int):
    """m independent configurations drawn from the exact distribution."""
    return molcomp.exact.sample(key, model, m)


def flat(tree) -> np.ndarray:
    """Concatenate the array leaves of a pytree (None leaves skipped)."""
    leaves = [np.ravel(np.asarray(x)) for x in jax.tree_util.tree_leaves(tree)]
    return np.concatenate(leaves) if leaves else np.zeros(0)


@eqx.filter_jit
def _per_sample_grads(model, configs, spec):
    diff, static = eqx.partition(model, spec)

    def one(c):
        g = jax.grad(lambda d: eqx.combine(d, static).energy(c))(diff)
        return jnp.concatenate([jnp.ravel(x) for x in jax.tree_util.tree_leaves(g)])

    return jax.vmap(one)(configs)


def per_sample_grads(model, configs, filter_spec=None):
    """dE/dtheta of every configuration (B, n) -> (B, P), flattened like `flat`."""
    spec = model.trainable() if filter_spec is None else filter_spec
    return np.asarray(_per_sample_grads(model, configs, spec))
