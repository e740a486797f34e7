"""Training a `LinearMap` mu = W x + b by gradient descent on the surrogate loss, with
an L2 penalty on W and an optional quadratic penalty keeping every training mu inside
a range (the dosing regime the surrogate's window size was chosen for)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from molcomp.checks import as_finite_float, check_key, check_positive_int, check_real

from ._maps import LinearMap
from ._surrogate import _scores, cross_entropy
from ._trainer import AbstractTrainer, check_optimizer, optax_loop


class LinearMapDescent(AbstractTrainer):
    """Train a `LinearMap` mu = W x + b by gradient descent (optax).

    **Arguments:**

    - `steps`: optimizer steps (default 200).
    - `optimizer`: optax transformation (default `optax.adam(0.05)`).
    - `mu_base`: the initial bias b of every species (W starts near 0).
    - `l2`: penalty `l2 * sum(W^2)`, >= 0.
    - `mu_range`: (lo, hi): a quadratic penalty on every training mu outside [lo, hi]
      (default None: no penalty).

    A gradient on b images costs 2 b model evaluations.
    """

    steps: int = 200
    optimizer: optax.GradientTransformation | None = None
    mu_base: float = -10.0
    l2: float = 1e-3
    mu_range: tuple[float, float] | None = None

    def __check_init__(self):
        check_positive_int("steps", self.steps)
        check_optimizer(self.optimizer)
        check_real("mu_base", self.mu_base)
        check_real("l2", self.l2, minimum=0)
        if self.mu_range is not None:
            lo, hi = (float(v) for v in as_finite_float("mu_range", self.mu_range, (2,)))
            if not lo < hi:
                raise ValueError(f"mu_range must be (lo, hi) with lo < hi, got {self.mu_range!r}")

    def train_map(self, key, structures, x, y, *, k, margin):
        """See `AbstractTrainer.train_map`; the map is a `LinearMap`."""
        check_key("key", key)
        N, F = structures.n_species, x.shape[1]
        arr, shape = structures.arrangements, structures.patch_shape
        l2, steps = float(self.l2), int(self.steps)
        mu_range = None if self.mu_range is None else tuple(float(v) for v in self.mu_range)

        def loss_fn(params, _):
            w, b = params
            mu = x @ w.T + b  # (b, N)
            sc = jax.vmap(lambda m: _scores(arr, shape, m, k))(mu)
            loss = cross_entropy(sc, y, margin) + l2 * jnp.sum(w**2)
            if mu_range is not None:
                out = jax.nn.relu(mu_range[0] - mu) + jax.nn.relu(mu - mu_range[1])
                loss = loss + jnp.mean(jnp.sum(out**2, axis=1))
            return loss

        w0 = 0.01 * jax.random.normal(key, (N, F))
        params = (w0, jnp.full(N, jnp.float32(self.mu_base)))
        opt = optax.adam(0.05) if self.optimizer is None else self.optimizer
        (w, b), losses = optax_loop(loss_fn, params, opt, jnp.zeros(steps))
        return LinearMap(w, b), losses, 2 * x.shape[0] * np.arange(1, steps + 1)
