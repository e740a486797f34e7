"""Three gradient estimators for a `ClusterDesign`, each an object with its own settings.

- `TrajectoryEstimator`: jax.grad of the smooth loss at time T through Brownian
  trajectories from the given positions, with fixed noise (checkpointed over blocks of
  steps): the derivative of the kinetic yield at T (Goodrich et al.'s estimator).
- `FluctuationEstimator`: the equilibrium identity d<L>/dD = -Cov(L, dE/dD) from
  samples of the second half of the same trajectories
  (`learning.response.fluctuation_grad`).
- `SleepWakeEstimator`: <dE/dD>_data - <dE/dD>_model with data = configurations
  holding the target cluster (`learning.energy_gap_grad`): the descent direction of
  KL(P_data || Q_D), not of the yield itself. With data drawn from the model's own
  distribution conditioned on the target being formed, it equals the equilibrium
  derivative of the target's (hard) formation probability divided by that
  probability, so it points the same way as the fluctuation estimator for a lone
  target.

All return G[a, b] = d loss / d D_ab (descent convention; D_ab = D_ba moved together).
Cost is counted in model evaluations: force or energy-gradient evaluations of one
configuration (a reverse pass through a trajectory costs one per step, a checkpointed
one a second for the recomputation).
"""

from __future__ import annotations

import abc
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

import learning
from molcomp.checks import check_fraction, check_key, check_positive_int

from ._sampling import sample_positions
from ._task import ClusterDesign, depth_only, pair_gradient


class DesignGrad(NamedTuple):
    """One estimate: `grad` (q, q), `loss` (the estimator's own value: the smooth loss at
    T, its equilibrium mean, or the energy gap for sleep-wake), `evaluations` (model
    evaluations spent) and `positions` ((chains, n, dim): where the next estimate of a
    design loop starts)."""

    grad: jax.Array
    loss: jax.Array
    evaluations: int
    positions: jax.Array


class AbstractDesignEstimator(eqx.Module):
    """How `analog.design.design_grad` estimates d loss / d D for a `ClusterDesign`."""

    def check_task(self, task: ClusterDesign) -> None:
        """ValueError unless this estimator's settings fit `task` (default: they do)."""

    @abc.abstractmethod
    def estimate(self, key, task: ClusterDesign, model, sampler, positions, steps: int):
        """One estimate from validated inputs.

        **Arguments:**

        - `key`: a `jax.random` key.
        - `task`: the `ClusterDesign`; `model`: its `ParticleMixture` at the depths.
        - `sampler`: the Brownian dynamics.
        - `positions`: (chains, n, dim) start positions; `steps`: trajectory length T.

        **Returns:** a `DesignGrad`.
        """


@eqx.filter_jit
def _trajectory(key, task, model, sampler, state, steps, every):
    def loss_fn(m, start, final):
        return task.loss(final.position)

    value, g = learning.response.trajectory_grad(
        key, model, sampler, state, steps, loss_fn, checkpoint_every=every,
        filter_spec=depth_only(model),
    )  # fmt: skip
    return value, pair_gradient(g.depth)


class TrajectoryEstimator(AbstractDesignEstimator):
    """jax.grad of the smooth loss at T through the trajectories (module docstring).

    **Arguments:**

    - `checkpoint_every`: steps per checkpointed block (divides the steps); None: no
      checkpointing (memory grows with T).

    The chains restart from the given positions at every estimate (the kinetic yield
    at T), so `DesignGrad.positions` are those positions.
    """

    checkpoint_every: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if self.checkpoint_every is not None:
            check_positive_int("checkpoint_every", self.checkpoint_every)

    def estimate(self, key, task, model, sampler, positions, steps):
        """See `AbstractDesignEstimator.estimate`."""
        check_key("key", key)
        state = sampler.init(model, positions, extra_capacity=task.n_particles)
        every = self.checkpoint_every
        value, g = _trajectory(key, task, model, sampler, state, steps, every)
        passes = 3 if every else 2
        chains = positions.shape[0]
        return DesignGrad(g, value, passes * chains * steps, positions)


# The equilibrium kernels always take sample weights (uniform by default): one
# compilation then serves a whole sample set and any subset of it (weights 0 elsewhere).
@eqx.filter_jit
def _fluctuation(task, model, samples, weights):
    def obs(m, x):
        return task.loss(x)

    mean, g = learning.response.fluctuation_grad(
        model, samples, obs, weights=weights, filter_spec=depth_only(model)
    )
    return mean, pair_gradient(g.depth)


@eqx.filter_jit
def _sleep_wake(model, data, samples, weights):
    g, gap = learning.energy_gap_grad(
        model, data, None, samples, weights, filter_spec=depth_only(model), via_statistics=False
    )
    return gap, pair_gradient(g.depth)


def _weights(samples, weights):
    if weights is None:
        return jnp.full(samples.shape[0], 1.0 / samples.shape[0], samples.dtype)
    return jnp.asarray(weights)


class AbstractEquilibriumEstimator(AbstractDesignEstimator):
    """An estimator from equilibrium samples of the chains: after the `burn_in`
    fraction of the steps, one sample every `every` steps (`sample_positions`). The
    chains continue from their final positions in a design loop."""

    burn_in: eqx.AbstractVar[float]
    every: eqx.AbstractVar[int]

    @abc.abstractmethod
    def from_samples(self, task: ClusterDesign, model, samples, weights=None):
        """The estimate from samples (s, n, dim) with sample `weights` (s,) summing to 1
        (default uniform).

        **Returns:** `(value, grad)`: the estimator's value and G (q, q).
        """

    def _extra_evaluations(self) -> int:
        return 0

    def estimate(self, key, task, model, sampler, positions, steps):
        """See `AbstractDesignEstimator.estimate`."""
        check_key("key", key)
        samples, final = sample_positions(
            key, task, model, sampler, positions, steps, burn_in=self.burn_in,
            every=self.every,
        )  # fmt: skip
        value, g = self.from_samples(task, model, samples)
        evaluations = positions.shape[0] * steps + samples.shape[0] + self._extra_evaluations()
        return DesignGrad(g, value, evaluations, final)


def _check_sampling(burn_in, every) -> None:
    check_fraction("burn_in", burn_in, open_high=True)
    check_positive_int("every", every)


class FluctuationEstimator(AbstractEquilibriumEstimator):
    """d<L>/dD = -Cov(L, dE/dD) from equilibrium samples (module docstring).

    **Arguments:**

    - `burn_in`: fraction of the steps discarded, in [0, 1).
    - `every`: steps between samples.
    """

    burn_in: float = eqx.field(static=True, default=0.5)
    every: int = eqx.field(static=True, default=10)

    def __check_init__(self):
        _check_sampling(self.burn_in, self.every)

    def from_samples(self, task, model, samples, weights=None):
        """See `AbstractEquilibriumEstimator.from_samples`; the value is the mean loss."""
        samples = jnp.asarray(samples)
        return _fluctuation(task, model, samples, _weights(samples, weights))


class SleepWakeEstimator(AbstractEquilibriumEstimator):
    """<dE/dD>_data - <dE/dD>_model: the sleep-wake rule (module docstring).

    **Arguments:**

    - `data`: (m, n, dim) target configurations, m >= 1 (`target_configurations`).
    - `burn_in`: fraction of the steps discarded, in [0, 1).
    - `every`: steps between samples.
    """

    data: jax.Array
    burn_in: float = eqx.field(static=True)
    every: int = eqx.field(static=True)

    def __init__(self, data, *, burn_in: float = 0.5, every: int = 10):
        if data is None:
            raise ValueError("SleepWakeEstimator needs data (target configurations)")
        data = jnp.asarray(data)
        if data.ndim != 3 or data.shape[0] < 1:
            raise ValueError(f"data must have shape (m, n, dim) with m >= 1, got {data.shape}")
        _check_sampling(burn_in, every)
        self.data, self.burn_in, self.every = data, float(burn_in), int(every)

    def check_task(self, task: ClusterDesign) -> None:
        """ValueError unless `data` holds configurations of `task`'s particles."""
        want = (task.n_particles, len(task.box))
        if self.data.shape[1:] != want:
            raise ValueError(
                f"data must have shape (m, {want[0]}, {want[1]}) for this task, got "
                f"{self.data.shape}"
            )

    def from_samples(self, task, model, samples, weights=None):
        """See `AbstractEquilibriumEstimator.from_samples`; the value is the energy gap."""
        self.check_task(task)
        samples = jnp.asarray(samples)
        return _sleep_wake(model, self.data, samples, _weights(samples, weights))

    def _extra_evaluations(self) -> int:
        return int(self.data.shape[0])


ESTIMATOR_TYPES = (TrajectoryEstimator, FluctuationEstimator, SleepWakeEstimator)


def check_estimator(estimator, name: str = "estimator") -> AbstractDesignEstimator:
    """`estimator` if it is an estimator object, else a TypeError listing them."""
    if not isinstance(estimator, AbstractDesignEstimator):
        names = ", ".join(f"{cls.__name__}(...)" for cls in ESTIMATOR_TYPES)
        raise TypeError(
            f"{name} must be an estimator object, one of {names} (analog.design), got "
            f"{type(estimator).__name__} {estimator!r}"
        )
    return estimator
