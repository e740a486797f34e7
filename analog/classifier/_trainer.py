"""The trainer contract of `analog.classifier.train`: a trainer is a small Module that
carries only its own settings and fits an input map to the surrogate loss."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import numpy as np
import optax
from jaxtyping import Array, Float, Int

from molcomp.structures import Structures

from ._maps import AssignmentMap, LinearMap


class AbstractTrainer(eqx.Module):
    """How `analog.classifier.train` fits the input map of a nucleation classifier.

    Subclasses (`SinkhornAssignment`, `LinearMapDescent`, `SwapHillClimb`) carry their
    own settings, and `steps`: optimizer steps or proposals.
    """

    steps: eqx.AbstractVar[int]

    @abc.abstractmethod
    def train_map(
        self,
        key,
        structures: Structures,
        x: Float[Array, "b F"],
        y: Int[Array, " b"],
        *,
        k: int,
        margin: float,
    ) -> tuple[AssignmentMap | LinearMap, np.ndarray, np.ndarray]:
        """Fit an input map on validated data.

        **Arguments:**

        - `key`: a `jax.random` key.
        - `structures`: the m stored structures; class alpha is structure alpha.
        - `x`: (b, F) float32 intensities in [0, 1], F <= N; `y`: (b,) int32 labels.
        - `k`: window side of the surrogate; `margin`: gamma >= 0 of the loss.

        **Returns:** `(input_map, loss, evaluations)`: the trained map, the training
        loss per step and the cumulative model evaluations per step.
        """


@eqx.filter_jit
def _optax_run(loss_fn, params, opt, schedule):
    state = opt.init(params)

    def body(carry, s):
        p, st = carry
        loss, g = jax.value_and_grad(loss_fn)(p, s)
        updates, st = opt.update(g, st, p)
        return (optax.apply_updates(p, updates), st), loss

    (params, _), losses = jax.lax.scan(body, (params, state), schedule)
    return params, losses


def optax_loop(loss_fn, params, opt, schedule):
    """Descend `loss_fn(params, s)` with `opt` over the schedule values `s` (one jitted
    scan); FloatingPointError if the loss becomes non-finite.

    **Returns:** `(params, losses)`.
    """
    params, losses = _optax_run(loss_fn, params, opt, schedule)
    if not np.all(np.isfinite(np.asarray(losses))):
        raise FloatingPointError("training loss became non-finite")
    return params, losses


def check_optimizer(optimizer, name: str = "optimizer") -> None:
    """TypeError unless `optimizer` is None or an optax GradientTransformation."""
    if optimizer is not None and not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            f"{name} must be an optax.GradientTransformation or None, got "
            f"{type(optimizer).__name__}"
        )
