"""A neural energy-based model over continuous x, sampled by Langevin dynamics and
trained by the sleep-wake gradient.

The energy is an equinox MLP plus a fixed Gaussian confinement (so exp(-U) is
normalisable whatever the network does). The sampler is overdamped Langevin dynamics
dx = -grad U dt + sqrt(2) dW, one step per call, through jax-md's Brownian integrator
(gamma = kT = mass = 1). Training reuses the sleep-wake estimator's core,
`energy_gap_grad`: grad = <dU/dtheta>_data - <dU/dtheta>_model, the model samples
from persistent Langevin chains (continuous data cannot go through the integer-state
data phases of `fit`).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax_md import simulate, space
from jaxtyping import Array, Float

from ._estimator import energy_gap_grad


class NeuralEBM(eqx.Module):
    """U(x) = MLP(x) + |x|^2 / (2 prior_scale^2), x in R^dim; p(x) ~ exp(-U(x)).

    **Arguments:** `key` (keyword), `dim`, `width`, `depth` of the MLP (softplus
    activations), `prior_scale` (static float, the confinement).
    """

    mlp: eqx.nn.MLP
    dim: int = eqx.field(static=True)
    prior_scale: float = eqx.field(static=True)

    def __init__(self, dim: int, width: int = 32, depth: int = 2, prior_scale: float = 4.0, *, key):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if not prior_scale > 0:
            raise ValueError(f"prior_scale must be > 0, got {prior_scale!r}")
        self.mlp = eqx.nn.MLP(dim, "scalar", width, depth, jax.nn.softplus, key=key)
        self.dim, self.prior_scale = dim, float(prior_scale)

    @property
    def n_sites(self) -> int:
        return self.dim

    def energy(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        return self.mlp(x) + 0.5 * jnp.sum(x**2) / self.prior_scale**2

    def check_state(self, x, name: str = "state"):
        arr = jnp.asarray(x)
        if arr.ndim < 1 or arr.shape[-1] != self.dim:
            raise ValueError(f"{name} must have trailing length dim = {self.dim}, got {arr.shape}")
        return arr.astype(jnp.float32)


class LangevinState(eqx.Module):
    config: Float[Array, "... dim"]


class Langevin(eqx.Module):
    """Unadjusted overdamped Langevin dynamics, one step of size `dt` per `step`:
    x <- x - dt grad U(x) + sqrt(2 dt) xi (jax-md `simulate.brownian`). Stationary
    distribution exp(-U) up to O(dt). `init(model, x)` / `step(key, model, state)`."""

    dt: float = eqx.field(static=True)

    def __init__(self, dt: float = 0.01):
        if not dt > 0:
            raise ValueError(f"dt must be > 0, got {dt!r}")
        self.dt = float(dt)

    def init(self, model, x) -> LangevinState:
        return LangevinState(model.check_state(x, "x"))

    def step(self, key, model, state: LangevinState):
        _, shift = space.free()
        init_fn, apply_fn = simulate.brownian(model.energy, shift, self.dt, 1.0, gamma=1.0)
        # jax-md keeps the key in its state; we build that state per step from the key
        # passed in, so our chain state holds no key.
        new = apply_fn(init_fn(key, state.config))
        return LangevinState(new.position), {}


def langevin_chains(key, model, sampler: Langevin, state: LangevinState, steps: int):
    """Advance a batch of chains (leading axis) by `steps` Langevin steps."""
    chains = state.config.shape[0]
    step = jax.vmap(lambda k, s: sampler.step(k, model, s)[0])

    def body(s, k):
        return step(jax.random.split(k, chains), s), None

    return jax.lax.scan(body, state, jax.random.split(key, steps))[0]


def ebm_grad(key, model, sampler: Langevin, data, state: LangevinState, steps: int = 10):
    """One sleep-wake gradient with persistent Langevin chains.

    **Returns:** `(grads, state, gap)`: grads = <dU/dtheta>_data - <dU/dtheta>_model
    (d KL(P_data || Q) / d theta, for optax), the advanced chains, and
    gap = <U>_data - <U>_model.
    """
    state = langevin_chains(key, model, sampler, state, steps)
    neg = jax.lax.stop_gradient(state.config)
    grads, gap = energy_gap_grad(model, jnp.asarray(data), None, neg, None, method="energy")
    return grads, state, gap
