"""Neural energy models over binary units: a fully visible Boltzmann machine and an RBM.

Convention (one for the whole package): a unit is stored as a state index x in {0, 1},
as molcomp stores a two-state site, and enters every energy as the spin s = 2x - 1 in
{-1, +1}. This is `molcomp.interactions.ising`'s mapping and thrml's (`True` is +1), so
weights mean the same in all three and w > 0 aligns (ARCHITECTURE sign table).

Both are `molcomp.AbstractEnergyModel`s (`energy`, `check_state`, `state_shape`,
`n_states = 2`), so `molcomp.sample` drives them with the samplers of
`learning.neural` and `molcomp.exact` enumerates them; they give `statistics` /
`energy_from_statistics` (energy linear in the statistics), which the estimator's fast
path uses, and `tempered(t)` (beta scaled by t), which AIS uses.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from molcomp import AbstractEnergyModel
from molcomp.checks import as_finite_float, check_key, is_concrete


def _param(name, value, shape):
    if is_concrete(value):
        return jnp.asarray(as_finite_float(name, value, shape=shape), jnp.float32)
    if jnp.shape(value) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {jnp.shape(value)}")
    return jnp.asarray(value, jnp.float32)


def spins(config: Int[Array, "... n"]) -> Float[Array, "... n"]:
    """State indices {0, 1} -> spins {-1, +1}."""
    return 2.0 * config.astype(jnp.float32) - 1.0


class AbstractBinaryModel(AbstractEnergyModel):
    """Energy models over n two-state units (state indices x in {0, 1}, spins s = 2x - 1)
    whose energy is linear in sufficient statistics and scaled by `beta`; subclasses
    define `state_shape`, `ising_form`, `statistics` and `energy_from_statistics`."""

    beta: eqx.AbstractVar[Float[Array, ""]]
    has_statistics = True

    @property
    def n_states(self) -> int:
        """Two states per unit."""
        return 2

    @abc.abstractmethod
    def ising_form(self) -> tuple[Float[Array, "n n"], Float[Array, " n"]]:
        """(W, h), both times beta, with E = -(1/2) s^T W s - h.s and W symmetric with zero
        diagonal; samplers use it for local fields."""

    def energy(self, config: Int[Array, " n"]) -> Float[Array, ""]:
        """E(x), through the sufficient statistics."""
        return self.energy_from_statistics(self.statistics(config))

    def tempered(self, t):
        """The model with energy t * E: beta scaled by t."""
        return eqx.tree_at(lambda m: m.beta, self, t * self.beta)

    def check_state(self, config, name: str = "state"):
        """Validate shape (..., n), integer dtype and states in {0, 1}."""
        return _check_binary(config, self.n_sites, name)


def _check_binary(config, n: int, name: str):
    """`config` validated: shape (..., n), integer dtype, states in {0, 1}."""
    config = jnp.asarray(config)
    if config.ndim < 1 or config.shape[-1] != n:
        raise ValueError(f"{name} must have shape (..., {n}) for this model, got {config.shape}")
    if not jnp.issubdtype(config.dtype, jnp.integer):
        raise TypeError(f"{name} must hold integer states 0/1, got dtype {config.dtype}")
    if is_concrete(config):
        arr = np.asarray(config)
        bad = (arr < 0) | (arr > 1)
        if bad.any():
            idx = np.argwhere(bad)[0].tolist()
            raise ValueError(
                f"{name} holds state {arr[tuple(idx)]} at {idx}; states must be 0 or 1"
            )
        return config
    return eqx.error_if(
        config, (config < 0) | (config > 1), f"{name} holds a state outside {{0, 1}}"
    )


class BoltzmannMachine(AbstractBinaryModel):
    """Fully visible Boltzmann machine (an Ising model with all-to-all couplings).

    $$E(s) = -\\beta \\Big(\\sum_{i<j} w_{ij} s_i s_j + \\sum_i b_i s_i\\Big), \\qquad s = 2x - 1.$$

    Only the upper triangle of w is stored (`weights[k]` is w_ij for the k-th pair of
    `numpy.triu_indices(n, 1)`), so no optimizer step can make w asymmetric.

    **Arguments:**

    - `weights`: the n(n-1)/2 upper-triangle couplings.
    - `biases`: the n fields b.
    - `beta`: inverse temperature scaling the whole energy (default 1; not trained by default).

    **Example:**

    ```python
    bm = BoltzmannMachine.random(jax.random.key(0), n=16)
    bm.energy(jnp.zeros(16, jnp.int32))
    ```
    """

    weights: Float[Array, " pairs"]
    biases: Float[Array, " n"]
    beta: Float[Array, ""]
    n: int = eqx.field(static=True)

    def __init__(self, weights, biases, beta=1.0):
        n = int(jnp.shape(biases)[0]) if jnp.ndim(biases) == 1 else -1
        if n < 1:
            raise ValueError(f"biases must have shape (n,) with n >= 1, got {jnp.shape(biases)}")
        self.n = n
        self.weights = _param("weights", weights, (n * (n - 1) // 2,))
        self.biases = _param("biases", biases, (n,))
        self.beta = _param("beta", beta, ())

    @classmethod
    def from_matrix(cls, W, biases, beta=1.0, *, atol: float = 1e-6) -> BoltzmannMachine:
        """From a symmetric (n, n) coupling matrix (its diagonal must be zero)."""
        arr = as_finite_float("W", W)
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(f"W must be a square (n, n) matrix, got shape {arr.shape}")
        if np.abs(arr - arr.T).max(initial=0.0) > atol:
            raise ValueError("W must be symmetric: a Boltzmann machine has w_ij = w_ji")
        if np.abs(np.diag(arr)).max(initial=0.0) > atol:
            raise ValueError("W must have a zero diagonal (s_i^2 = 1 is a constant)")
        return cls(arr[np.triu_indices(arr.shape[0], 1)], biases, beta)

    @classmethod
    def random(cls, key, n: int, *, scale: float = 0.01, bias_scale: float | None = None):
        """w_ij ~ Normal(0, scale^2) and b_i ~ Normal(0, bias_scale^2) (default: scale)."""
        check_key("key", key)
        kw, kb = jax.random.split(key)
        bias_scale = scale if bias_scale is None else bias_scale
        w = scale * jax.random.normal(kw, (n * (n - 1) // 2,))
        return cls(w, bias_scale * jax.random.normal(kb, (n,)))

    @property
    def state_shape(self) -> tuple[int]:
        """(n,): one state per unit."""
        return (self.n,)

    def matrix(self) -> Float[Array, "n n"]:
        """The symmetric coupling matrix w with zero diagonal."""
        iu, ju = np.triu_indices(self.n, 1)
        W = jnp.zeros((self.n, self.n), self.weights.dtype)
        return W.at[iu, ju].set(self.weights).at[ju, iu].set(self.weights)

    def ising_form(self):
        """(beta w, beta b)."""
        return self.beta * self.matrix(), self.beta * self.biases

    def statistics(self, config):
        """Sufficient statistics (s_i s_j for i < j, s_i); the energy is linear in them."""
        s = spins(config)
        iu, ju = np.triu_indices(self.n, 1)
        return s[..., iu] * s[..., ju], s

    def energy_from_statistics(self, stats) -> Float[Array, ""]:
        """E = -beta (w . pairs + b . s)."""
        pairs, s = stats
        return -self.beta * (jnp.dot(pairs, self.weights) + jnp.dot(s, self.biases))


class RBM(AbstractBinaryModel):
    """Restricted Boltzmann machine with visible units v and hidden units h (spins +-1).

    $$E(v, h) = -\\beta \\big(v^\\top W h + a \\cdot v + b \\cdot h\\big)$$

    A configuration is the concatenation (v, h) of length `n_visible + n_hidden`; the
    visible units come first (`visible` is their mask). Summing out h gives the free
    energy F(v) = -beta a.v - sum_j ln(2 cosh(beta (b_j + (W^T v)_j))).

    **Arguments:**

    - `weights`: (n_visible, n_hidden) couplings W.
    - `visible_bias`, `hidden_bias`: a and b.
    - `beta`: inverse temperature scaling the whole energy (default 1).
    """

    weights: Float[Array, "nv nh"]
    visible_bias: Float[Array, " nv"]
    hidden_bias: Float[Array, " nh"]
    beta: Float[Array, ""]
    n_visible: int = eqx.field(static=True)
    n_hidden: int = eqx.field(static=True)

    def __init__(self, weights, visible_bias, hidden_bias, beta=1.0):
        shape = jnp.shape(weights)
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"weights must have shape (n_visible, n_hidden), got {shape}")
        self.n_visible, self.n_hidden = int(shape[0]), int(shape[1])
        self.weights = _param("weights", weights, shape)
        self.visible_bias = _param("visible_bias", visible_bias, (shape[0],))
        self.hidden_bias = _param("hidden_bias", hidden_bias, (shape[1],))
        self.beta = _param("beta", beta, ())

    @classmethod
    def random(cls, key, n_visible: int, n_hidden: int, *, scale: float = 0.01) -> RBM:
        """W ~ Normal(0, scale^2), zero biases."""
        check_key("key", key)
        W = scale * jax.random.normal(key, (n_visible, n_hidden))
        return cls(W, jnp.zeros(n_visible), jnp.zeros(n_hidden))

    @property
    def state_shape(self) -> tuple[int]:
        """(n_visible + n_hidden,): the visibles, then the hidden units."""
        return (self.n_visible + self.n_hidden,)

    @property
    def visible(self) -> np.ndarray:
        """Boolean mask of the visible units in a configuration (the first n_visible)."""
        return np.arange(self.n_sites) < self.n_visible

    def ising_form(self):
        """The bipartite coupling matrix and the biases, times beta."""
        nv = self.n_visible
        W = jnp.zeros((self.n_sites, self.n_sites), self.weights.dtype)
        W = W.at[:nv, nv:].set(self.weights).at[nv:, :nv].set(self.weights.T)
        h = jnp.concatenate([self.visible_bias, self.hidden_bias])
        return self.beta * W, self.beta * h

    def statistics(self, config):
        """Sufficient statistics (v h^T, v, h) in spins."""
        s = spins(config)
        v, h = s[..., : self.n_visible], s[..., self.n_visible :]
        return v[..., :, None] * h[..., None, :], v, h

    def energy_from_statistics(self, stats) -> Float[Array, ""]:
        """E = -beta (W . v h^T + a . v + b . h)."""
        vh, v, h = stats
        return -self.beta * (
            jnp.sum(vh * self.weights)
            + jnp.dot(v, self.visible_bias)
            + jnp.dot(h, self.hidden_bias)
        )

    def free_energy(self, visible: Int[Array, " nv"]) -> Float[Array, ""]:
        """F(v) = -ln sum_h exp(-E(v, h)), for a visible configuration of states {0, 1}."""
        v = spins(visible)
        field = self.beta * (self.hidden_bias + v @ self.weights)
        return -self.beta * jnp.dot(v, self.visible_bias) - jnp.sum(jnp.logaddexp(field, -field))

    def marginal(self) -> MarginalRBM:
        """The energy model of the visible units alone, with energy F(v) (the hidden
        units summed out): same partition function, p(v) = exp(-F(v)) / Z."""
        return MarginalRBM(self)


class MarginalRBM(AbstractEnergyModel):
    """The visible units of an RBM as an energy model of their own: E(v) = F(v), the
    free energy (`RBM.free_energy`), so p(v) = sum_h p(v, h). Exact enumeration and
    likelihoods of visible data use it.

    **Arguments:** `rbm`.
    """

    rbm: RBM

    @property
    def state_shape(self) -> tuple[int]:
        """(n_visible,)."""
        return (self.rbm.n_visible,)

    @property
    def n_states(self) -> int:
        """Two states per unit."""
        return 2

    def energy(self, visible: Int[Array, " nv"]) -> Float[Array, ""]:
        """F(v)."""
        return self.rbm.free_energy(visible)

    def check_state(self, config, name: str = "state"):
        """Visible configurations (..., n_visible) of states 0/1."""
        return _check_binary(config, self.rbm.n_visible, name)
