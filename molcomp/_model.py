"""The one model type: every learner, physical or neural, is an `AbstractEnergyModel`.

A model is an `equinox.Module` whose floating-point array fields are its parameters and
whose static fields are its structure. It gives an energy in kT, p(x) ~ exp(-E(x)); the
samplers draw from it, `molcomp.exact` enumerates it when it is small and discrete, and
`learning` trains it by calling the methods below (never by asking its type).
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
from jaxtyping import Array, Float


class AbstractEnergyModel(eqx.Module):
    """An energy model: `energy(state)` in kT with p(state) ~ exp(-energy(state)).

    Subclasses implement `energy`, `check_state`, `state_shape` and `n_states`.
    Optional structure, used when present:

    - `statistics(state)` / `energy_from_statistics(stats)`: sufficient statistics for
      an energy linear in them (set `has_statistics = True`); the sleep-wake estimator
      then averages statistics instead of differentiating every configuration.
    - `tempered(t)`: the model with energy t * E, for annealed importance sampling.
    - `trainable()`: which leaves train (default: every inexact array except `beta`).
    """

    has_statistics: ClassVar[bool] = False

    @abc.abstractmethod
    def energy(self, state) -> Float[Array, ""]:
        """Energy of one configuration in kT (p ~ exp(-E))."""

    @abc.abstractmethod
    def check_state(self, state, name: str = "state"):
        """`state` validated (shape, dtype, range; leading batch axes allowed), or a
        `ValueError` / `TypeError` naming `name`."""

    @property
    @abc.abstractmethod
    def state_shape(self) -> tuple[int, ...]:
        """Shape of one configuration: (n,) for n discrete sites, (n, dim) for particles."""

    @property
    @abc.abstractmethod
    def n_states(self) -> int | None:
        """Number of states of one site (None for a continuous model)."""

    @property
    def n_sites(self) -> int:
        """Number of sites (discrete units, particles or coordinates) of a configuration."""
        return int(self.state_shape[0])

    @property
    def is_discrete(self) -> bool:
        """Whether a configuration is a vector of integer site states."""
        return self.n_states is not None

    def statistics(self, state):
        """Sufficient statistics of one configuration (models with `has_statistics`)."""
        raise NotImplementedError(f"{type(self).__name__} has no sufficient statistics")

    def energy_from_statistics(self, stats) -> Float[Array, ""]:
        """The energy as a linear function of (mean) sufficient statistics."""
        raise NotImplementedError(f"{type(self).__name__} has no sufficient statistics")

    def tempered(self, t) -> AbstractEnergyModel:
        """The model with energy t * E (t in [0, 1]), p_t ~ exp(-t E)."""
        raise TypeError(f"{type(self).__name__} cannot be tempered: it defines no `tempered`")

    def trainable(self):
        """Filter spec (a pytree of bools shaped like the model) of the leaves that
        train: every floating-point array except a field named `beta`."""

        def leaf(path, x):
            named_beta = bool(path) and getattr(path[-1], "name", None) == "beta"
            return eqx.is_inexact_array(x) and not named_beta

        return jax.tree_util.tree_map_with_path(leaf, self)


def check_model(model, name: str = "model") -> AbstractEnergyModel:
    """`model` if it is an `AbstractEnergyModel`, else a TypeError naming `name`."""
    if not isinstance(model, AbstractEnergyModel):
        raise TypeError(
            f"{name} must be a molcomp energy model (an AbstractEnergyModel), "
            f"got {type(model).__name__}"
        )
    return model
