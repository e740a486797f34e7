"""A neural energy-based model over continuous x, sampled by overdamped Langevin
dynamics and trained by the sleep-wake gradient.

The energy is an equinox MLP plus a fixed Gaussian confinement (so exp(-U) is
normalisable whatever the network does). The sampler, `OverdampedLangevin`, is
dx = -grad U dt + sqrt(2) dW, one step per call, through jax-md's Brownian integrator
(gamma = kT = mass = 1); `molcomp.sample` drives it like any other sampler. Training
reuses the sleep-wake estimator's core, `energy_gap_grad`:
grad = <dU/dtheta>_data - <dU/dtheta>_model, the model samples from persistent chains
(continuous data cannot go through the integer-state data phases of `fit`).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax_md import simulate, space
from jaxtyping import Array, Float

import molcomp
from molcomp import AbstractEnergyModel, AbstractSampler, ChainState
from molcomp.checks import check_key, check_positive_int, check_real
from molcomp.samplers import SamplerInfo

from .._estimator import energy_gap_grad


class NeuralEBM(AbstractEnergyModel):
    """U(x) = MLP(x) + |x|^2 / (2 prior_scale^2), x in R^dim; p(x) ~ exp(-U(x)).

    A continuous model: `state_shape` is (dim,), `n_states` is None.

    **Arguments:** `dim`, `width`, `depth` of the MLP (softplus activations),
    `prior_scale` (static float, the confinement), `key` (keyword).
    """

    mlp: eqx.nn.MLP
    dim: int = eqx.field(static=True)
    prior_scale: float = eqx.field(static=True)

    def __init__(self, dim: int, width: int = 32, depth: int = 2, prior_scale: float = 4.0, *, key):
        dim = check_positive_int("dim", dim)
        prior_scale = check_real("prior_scale", prior_scale, minimum=0.0, strict=True)
        self.mlp = eqx.nn.MLP(dim, "scalar", width, depth, jax.nn.softplus, key=key)
        self.dim, self.prior_scale = dim, prior_scale

    @property
    def state_shape(self) -> tuple[int]:
        """(dim,)."""
        return (self.dim,)

    @property
    def n_states(self) -> None:
        """None: a continuous model."""
        return None

    def energy(self, x: Float[Array, " dim"]) -> Float[Array, ""]:
        """U(x)."""
        return self.mlp(x) + 0.5 * jnp.sum(x**2) / self.prior_scale**2

    def check_state(self, x, name: str = "state"):
        """Points (..., dim), as float32."""
        arr = jnp.asarray(x)
        if arr.ndim < 1 or arr.shape[-1] != self.dim:
            raise ValueError(f"{name} must have trailing length dim = {self.dim}, got {arr.shape}")
        return arr.astype(jnp.float32)


class OverdampedLangevin(AbstractSampler):
    """Unadjusted overdamped Langevin dynamics for a continuous energy model, one step of
    size `dt` per `step`: x <- x - dt grad U(x) + sqrt(2 dt) xi (jax-md
    `simulate.brownian`). Stationary distribution exp(-U) up to O(dt). (The underdamped
    dynamics of particle mixtures is `molcomp.particles.Langevin`.)

    **Arguments:** `dt` > 0 (default 0.01).

    **Example:**

    ```python
    sampler = OverdampedLangevin(0.01)
    result = molcomp.sample(key, ebm, sampler, sampler.init(ebm, x0), 100)
    ```
    """

    dt: float = eqx.field(static=True)

    def __init__(self, dt: float = 0.01):
        self.dt = check_real("dt", dt, minimum=0.0, strict=True)

    def check_model(self, model) -> None:
        """TypeError unless `model` is a continuous energy model."""
        super().check_model(model)
        if model.is_discrete:
            raise TypeError(
                f"OverdampedLangevin samples a continuous model, got {type(model).__name__} "
                f"with {model.n_states} states per site"
            )

    def step(self, key, model, state, prepared=None):
        """One Langevin step of one chain."""
        check_key("key", key)
        _, shift = space.free()
        init_fn, apply_fn = simulate.brownian(model.energy, shift, self.dt, 1.0, gamma=1.0)
        # jax-md keeps the key in its state; we build that state per step from the key
        # passed in, so our chain state holds no key.
        new = apply_fn(init_fn(key, state.config))
        return ChainState(new.position, state.aux), SamplerInfo(acceptance=jnp.float32(1.0))


def ebm_grad(key, model, sampler: OverdampedLangevin, data, state: ChainState, steps: int = 10):
    """One sleep-wake gradient with persistent Langevin chains.

    **Arguments:** `key`; `model` (e.g. a `NeuralEBM`); `sampler`; `data` (m, dim);
    `state` (chains, from `sampler.init(model, x)`); `steps` Langevin steps per call.

    **Returns:** `(grads, state, gap)`: grads = <dU/dtheta>_data - <dU/dtheta>_model
    (d KL(P_data || Q) / d theta, for optax), the advanced chains, and
    gap = <U>_data - <U>_model.
    """
    check_key("key", key)
    state = molcomp.sample(key, model, sampler, state, steps, progress=False).state
    neg = jax.lax.stop_gradient(state.config)
    pos = jnp.asarray(data)
    grads, gap = energy_gap_grad(model, pos, None, neg, None, via_statistics=False)
    return grads, state, gap
