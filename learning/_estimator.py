"""The sleep-wake gradient: grad = <dE/dtheta>_data - <dE/dtheta>_model.

This is d KL(P_data || Q_theta) / d theta (the negative mean log-likelihood up to a
constant), so optax *descends* it (ARCHITECTURE sign table). One function serves every
energy model: it calls the model's methods (`energy`, and when the model has them
`statistics` / `energy_from_statistics`, `trainable`) and never asks its type.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from molcomp.checks import check_key

from ._phases import AbstractDataPhase, AbstractModelPhase, mean_statistics


class PhaseState(eqx.Module):
    """What the two phases carry from step to step (e.g. persistent chains).

    **Fields:** `data` (the data phase's state), `model` (the model phase's state).
    """

    data: object
    model: object


class GradInfo(eqx.Module):
    """Diagnostics of one `estimate_grad` step.

    **Fields:** `energy_gap` = <E>_data - <E>_model; `acceptance` (mean acceptance of
    the model phase's chains, 1 when it runs none); `acceptance_data` (of the data
    phase's chains, 1 when it runs none).
    """

    energy_gap: Float[Array, ""]
    acceptance: Float[Array, ""]
    acceptance_data: Float[Array, ""]


def init_state(key, model, data_phase: AbstractDataPhase, model_phase: AbstractModelPhase):
    """Initial `PhaseState` (validates the data against the model).

    **Arguments:** `key`; `model`; `data_phase` (`Observed` or `ClampedChains`);
    `model_phase` (`PCD`, `CD` or `FreshChains`).

    **Returns:** a `PhaseState`.
    """
    check_key("key", key)
    if not isinstance(data_phase, AbstractDataPhase):
        raise TypeError(
            f"data_phase must be Observed or ClampedChains, got {type(data_phase).__name__}"
        )
    if not isinstance(model_phase, AbstractModelPhase):
        raise TypeError(
            f"model_phase must be PCD, CD or FreshChains, got {type(model_phase).__name__}"
        )
    k_data, k_model = jax.random.split(key)
    data = data_phase.init(k_data, model)
    return PhaseState(data, model_phase.init(k_model, model, data_phase.configs(data)))


def _flatten(configs, weights):
    """(K, C, *state) samples with (C,) weights -> (K C, *state) and (K C,) weights."""
    K, C = configs.shape[:2]
    flat = configs.reshape(K * C, *configs.shape[2:])
    return flat, None if weights is None else jnp.tile(weights, K) / K


def _mean(x, weights):
    return jnp.mean(x) if weights is None else jnp.dot(weights, x) / jnp.sum(weights)


def _use_statistics(model, via_statistics: bool | None) -> bool:
    if via_statistics is None:
        return bool(model.has_statistics)
    if via_statistics and not model.has_statistics:
        raise ValueError(
            f"via_statistics=True, but {type(model).__name__} has no sufficient statistics"
        )
    return bool(via_statistics)


def energy_gap_grad(
    model,
    pos,
    pos_weights,
    neg,
    neg_weights,
    *,
    filter_spec=None,
    via_statistics: bool | None = None,
    pos_statistics=None,
):
    """d gap / d theta with gap = <E>_pos - <E>_neg, the core of every sleep-wake rule.

    $$g = \\nabla_\\theta \\big(\\langle E_\\theta \\rangle_{pos} -
    \\langle E_\\theta \\rangle_{neg}\\big)$$

    **Arguments:**

    - `model`: any energy model.
    - `pos`, `neg`: batches of configurations (m, ...), with optional weights (m,)
      `pos_weights`, `neg_weights` (None: uniform).
    - `filter_spec`: which leaves train (default `model.trainable()`); others get None.
    - `via_statistics`: True averages the sufficient statistics first and
      differentiates the energy once, at their mean (exact when the energy is linear in
      them, as for Potts and Boltzmann energies); False differentiates the mean energy
      over the samples (any model); None (default) uses statistics when the model has
      them (`model.has_statistics`).
    - `pos_statistics`: precomputed mean statistics of `pos` (statistics path).

    **Returns:** `(grads, gap)`.
    """
    use_stats = _use_statistics(model, via_statistics)
    spec = model.trainable() if filter_spec is None else filter_spec
    diff, static = eqx.partition(model, spec)

    if use_stats:
        if pos_statistics is None:
            pos_statistics = mean_statistics(model, pos, pos_weights)
        s_pos = jax.lax.stop_gradient(pos_statistics)
        s_neg = jax.lax.stop_gradient(mean_statistics(model, neg, neg_weights))

        def gap(d):
            m = eqx.combine(d, static)
            return m.energy_from_statistics(s_pos) - m.energy_from_statistics(s_neg)

    else:

        def gap(d):
            m = eqx.combine(d, static)
            e_pos = _mean(jax.vmap(m.energy)(pos), pos_weights)
            return e_pos - _mean(jax.vmap(m.energy)(neg), neg_weights)

    value, grads = jax.value_and_grad(gap)(diff)
    return grads, value


def estimate_grad(
    key,
    model,
    data_phase: AbstractDataPhase,
    model_phase: AbstractModelPhase,
    state: PhaseState,
    *,
    filter_spec=None,
    via_statistics: bool | None = None,
):
    """One Monte Carlo estimate of the sleep-wake gradient.

    $$\\nabla_\\theta \\mathrm{KL}(P_{data} \\| Q_\\theta) =
      \\langle \\partial_\\theta E \\rangle_{data} - \\langle \\partial_\\theta E \\rangle_{model}$$

    **Arguments:**

    - `key`: a `jax.random` key.
    - `model`: any energy model (`energy(config)`, `check_state`).
    - `data_phase`: `Observed` or `ClampedChains`; `model_phase`: `PCD`, `CD` or
      `FreshChains`.
    - `state`: from `init_state` (or the previous call).
    - `filter_spec`: which leaves train (default `model.trainable()`: floating-point
      leaves except `beta`).
    - `via_statistics`: gradient path (see `energy_gap_grad`).

    **Returns:** `(grads, state, info)`: grads shaped like the model (None where not
    trained), for optax to descend; the new phase state; a `GradInfo`.

    **Example:**

    ```python
    data_phase, model_phase = Observed(data), PCD(SequentialGibbs(), chains=64)
    state = init_state(key, bm, data_phase, model_phase)
    grads, state, info = estimate_grad(key, bm, data_phase, model_phase, state)
    ```
    """
    check_key("key", key)
    k_data, k_model = jax.random.split(key)
    pos, w_pos, data_state, acc_d = data_phase.draw(k_data, model, state.data)
    neg, w_neg, model_state, acc_m = model_phase.draw(k_model, model, state.model, pos, w_pos)
    pos, w_pos = _flatten(pos, w_pos)
    neg, w_neg = _flatten(neg, w_neg)
    grads, gap = energy_gap_grad(
        model,
        pos,
        w_pos,
        neg,
        w_neg,
        filter_spec=filter_spec,
        via_statistics=via_statistics,
        pos_statistics=data_phase.statistics(data_state),
    )
    info = GradInfo(energy_gap=gap, acceptance=acc_m, acceptance_data=acc_d)
    return grads, PhaseState(data_state, model_state), info
