"""The sleep-wake gradient: grad = <dE/dtheta>_data - <dE/dtheta>_model.

This is d KL(P_data || Q_theta) / d theta (the negative mean log-likelihood up to a
constant), so optax *descends* it (ARCHITECTURE sign table). One function serves every
energy model; nothing here is specific to Potts, Boltzmann or neural energies.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ._models import default_filter_spec, energy_from_statistics, has_statistics, mean_statistics
from ._phases import AbstractDataPhase, AbstractModelPhase

METHODS = ("auto", "energy", "statistics")


class PhaseState(eqx.Module):
    """What the two phases carry from step to step (e.g. persistent chains)."""

    data: object
    model: object


def init_state(key, model, data_phase: AbstractDataPhase, model_phase: AbstractModelPhase):
    """Initial `PhaseState` (validates the data against the model)."""
    if not isinstance(data_phase, AbstractDataPhase):
        raise TypeError(
            f"data_phase must be Observed or ClampedChains, got {type(data_phase).__name__}"
        )
    if not isinstance(model_phase, AbstractModelPhase):
        raise TypeError(f"model_phase must be PCD or CD, got {type(model_phase).__name__}")
    k_data, k_model = jax.random.split(key)
    data = data_phase.init(k_data, model)
    return PhaseState(data, model_phase.init(k_model, model, data_phase.configs(data)))


def _flatten(configs, weights):
    """(K, C, n) samples with (C,) weights -> (K C, n) and (K C,) weights or None."""
    K = configs.shape[0]
    flat = configs.reshape(-1, configs.shape[-1])
    return flat, None if weights is None else jnp.tile(weights, K) / K


def _mean(x, weights):
    return jnp.mean(x) if weights is None else jnp.dot(weights, x) / jnp.sum(weights)


def energy_gap_grad(
    model,
    pos,
    pos_weights,
    neg,
    neg_weights,
    *,
    filter_spec=None,
    method="auto",
    pos_statistics=None,
):
    """(grads, gap) with gap = <E>_pos - <E>_neg and grads = d gap / d theta.

    `method`: "energy" differentiates the mean energy over the samples
    (`equinox.filter_grad` path, any model); "statistics" averages sufficient
    statistics first and differentiates the energy once, at their mean (exact when the
    energy is linear in its statistics, as for Potts and Boltzmann energies); "auto"
    picks "statistics" when the model provides them. Leaves outside `filter_spec` get
    None. `pos_statistics`: precomputed mean statistics of `pos` (statistics path).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        method = "statistics" if has_statistics(model) else "energy"
    if method == "statistics" and not has_statistics(model):
        raise ValueError(
            f"{type(model).__name__} has no sufficient statistics; use method='energy'"
        )
    spec = default_filter_spec(model) if filter_spec is None else filter_spec
    diff, static = eqx.partition(model, spec)

    if method == "statistics":
        if pos_statistics is None:
            pos_statistics = mean_statistics(model, pos, pos_weights)
        s_pos = jax.lax.stop_gradient(pos_statistics)
        s_neg = jax.lax.stop_gradient(mean_statistics(model, neg, neg_weights))

        def gap(d):
            m = eqx.combine(d, static)
            return energy_from_statistics(m, s_pos) - energy_from_statistics(m, s_neg)

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
    method: str = "auto",
):
    """One Monte Carlo estimate of the sleep-wake gradient.

    $$\\nabla_\\theta \\mathrm{KL}(P_{data} \\| Q_\\theta) =
      \\langle \\partial_\\theta E \\rangle_{data} - \\langle \\partial_\\theta E \\rangle_{model}$$

    **Arguments:**

    - `key`: a `jax.random` key.
    - `model`: any energy model (`energy(config)`, `check_state`).
    - `data_phase`: `Observed` or `ClampedChains`; `model_phase`: `PCD` or `CD`.
    - `state`: from `init_state` (or the previous call).
    - `filter_spec`: which leaves train (default: floating-point leaves except `beta`).
    - `method`: "auto", "energy" or "statistics" (see `energy_gap_grad`).

    **Returns:** `(grads, state, info)`: grads shaped like the model (None where not
    trained), for optax to descend; the new phase state; info with the energy gap
    <E>_data - <E>_model and the samplers' acceptance.

    **Example:**

    ```python
    data_phase, model_phase = Observed(data), PCD(SequentialGibbs(), chains=64)
    state = init_state(key, bm, data_phase, model_phase)
    grads, state, info = estimate_grad(key, bm, data_phase, model_phase, state)
    ```
    """
    k_data, k_model = jax.random.split(key)
    pos, w_pos, data_state, info_d = data_phase.draw(k_data, model, state.data)
    neg, w_neg, model_state, info_m = model_phase.draw(k_model, model, state.model, pos, w_pos)
    pos, w_pos = _flatten(pos, w_pos)
    neg, w_neg = _flatten(neg, w_neg)
    grads, gap = energy_gap_grad(
        model,
        pos,
        w_pos,
        neg,
        w_neg,
        filter_spec=filter_spec,
        method=method,
        pos_statistics=data_phase.statistics(data_state),
    )
    info = {"energy_gap": gap, **info_d, **info_m}
    return grads, PhaseState(data_state, model_state), info
