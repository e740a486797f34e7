"""Heat-bath samplers for binary energy models, in molcomp's init/step contract.

Both provide the clamping hook `step_free(key, model, state, free, prepared=None)`:
units outside the boolean mask `free` are never touched, which is how
`learning.Clamped` fixes visible units to the data. They subclass
`molcomp.AbstractSampler`, so `molcomp.sample` drives them; their diagnostics are a
`molcomp.samplers.SamplerInfo` (acceptance 1: heat-bath moves are always accepted).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from molcomp import AbstractSampler, ChainState
from molcomp.checks import check_key
from molcomp.samplers import SamplerInfo

from ._binary import RBM, AbstractBinaryModel, spins


def _units(n: int, free) -> np.ndarray:
    """Indices of the units to update (all when free is None)."""
    return np.arange(n) if free is None else np.flatnonzero(np.asarray(free))


class SequentialGibbs(AbstractSampler):
    """Single-unit heat bath in index order; one step is one sweep over all units.

    Unit i is redrawn from p(s_i = +1 | rest) = sigmoid(2 (h_i + sum_j W_ij s_j)) with
    (W, h) = `model.ising_form()`. Sequential updates are exact for any coupling graph
    (a fully connected machine has no two independent units), at O(n) per unit.

    Works for `BoltzmannMachine` and `RBM` (any `AbstractBinaryModel`).
    """

    def check_model(self, model) -> None:
        """TypeError unless `model` is a binary model (BoltzmannMachine, RBM)."""
        if not isinstance(model, AbstractBinaryModel):
            raise TypeError(
                f"SequentialGibbs samples binary models (BoltzmannMachine, RBM), got "
                f"{type(model).__name__}; use molcomp.BlockGibbs for a PottsModel"
            )

    def prepare(self, model):
        """The model's (W, h), read every step."""
        return model.ising_form()

    def step(self, key, model, state, prepared=None):
        """One sweep over all units."""
        return self.step_free(key, model, state, None, prepared)

    def step_free(self, key, model, state, free, prepared=None):
        """One sweep over the units where `free` is True (all when None)."""
        check_key("key", key)
        W, h = model.ising_form() if prepared is None else prepared
        units = jnp.asarray(_units(model.n_sites, free), jnp.int32)
        u = jax.random.uniform(key, units.shape)

        def body(k, s):
            i = units[k]
            field = h[i] + jnp.dot(W[i], s)
            # p(+1) = sigmoid(2 field): compare in logit space, no exp overflow.
            new = jnp.where(jnp.log(u[k]) - jnp.log1p(-u[k]) < 2.0 * field, 1.0, -1.0)
            return s.at[i].set(new)

        s = jax.lax.fori_loop(0, units.shape[0], body, spins(state.config))
        config = (s > 0).astype(state.config.dtype)
        return ChainState(config, state.aux), SamplerInfo(acceptance=jnp.float32(1.0))


class AlternatingGibbs(AbstractSampler):
    """Block Gibbs for an RBM: all hidden units given the visibles, then all visibles
    given the hiddens. One step is one such sweep; each half is exact and parallel
    because the RBM has no visible-visible or hidden-hidden couplings."""

    def check_model(self, model) -> None:
        """TypeError unless `model` is an RBM."""
        if not isinstance(model, RBM):
            raise TypeError(
                f"AlternatingGibbs samples an RBM, got {type(model).__name__}; "
                "use SequentialGibbs for a BoltzmannMachine"
            )

    def step(self, key, model, state, prepared=None):
        """One sweep: hidden given visible, then visible given hidden."""
        return self.step_free(key, model, state, None)

    def step_free(self, key, model, state, free, prepared=None):
        """One sweep that leaves the units outside `free` (all free when None) as they are."""
        check_key("key", key)
        nv = model.n_visible
        free = np.ones(model.n_sites, bool) if free is None else np.asarray(free)
        s = spins(state.config)
        kh, kv = jax.random.split(key)
        b = model.beta
        field_h = b * (model.hidden_bias + s[:nv] @ model.weights)
        h = _draw(kh, field_h, s[nv:], free[nv:])
        field_v = b * (model.visible_bias + model.weights @ h)
        v = _draw(kv, field_v, s[:nv], free[:nv])
        config = (jnp.concatenate([v, h]) > 0).astype(state.config.dtype)
        return ChainState(config, state.aux), SamplerInfo(acceptance=jnp.float32(1.0))


def _draw(key, field, old, free):
    """Spins with p(+1) = sigmoid(2 field) where `free`, else the old values."""
    u = jax.random.uniform(key, field.shape)
    new = jnp.where(jnp.log(u) - jnp.log1p(-u) < 2.0 * field, 1.0, -1.0)
    if free.all():
        return new
    return jnp.where(jnp.asarray(free), new, old)
