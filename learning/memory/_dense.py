"""Dense associative memory (Krotov and Hopfield 2016) and the modern continuous Hopfield
network (Ramsauer et al. 2020): energies that are sharper functions of the pattern
overlaps, hence capacities growing as N^(n-1) and exponentially in N respectively."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from molcomp import AbstractEnergyModel
from molcomp.checks import check_key, check_positive_int, is_concrete

from ._hopfield import (
    AbstractSpinMemory,
    _check_update,
    _sweeps,
    as_spins,
    check_binary_state,
    check_spins,
    flip,
)
from ._recall import AbstractMemory, check_cue, check_patterns, check_recall_key


class DenseHopfield(AbstractSpinMemory, AbstractEnergyModel):
    """Dense associative memory of +-1 units with the polynomial F(x) = x^n.

    $$E(s) = -\\sum_\\mu F(\\xi^\\mu \\cdot s), \\qquad s_i \\leftarrow
    \\operatorname{sign}\\sum_\\mu \\big[F(\\xi_i^\\mu + r_i^\\mu) - F(-\\xi_i^\\mu +
    r_i^\\mu)\\big],\\ r_i^\\mu = \\sum_{j \\ne i} \\xi_j^\\mu s_j$$

    n = 2 is the Hebbian network; capacity grows as N^(n-1). The update takes
    overlaps in units of N (F is homogeneous, so the sign is unchanged) to stay in
    float32 range.

    **Arguments:** `patterns` (p, N) of +-1, `n` >= 2 (static), `update`.
    """

    patterns: Float[Array, "p n"]
    n: int = eqx.field(static=True)
    update: str = eqx.field(static=True)

    def __init__(self, patterns, n: int = 3, update: str = "async"):
        n = check_positive_int("n (the power of F(x) = x^n)", n, minimum=2)
        self.patterns = check_spins(patterns)
        self.n = n
        self.update = _check_update(update)

    @property
    def state_shape(self) -> tuple[int]:
        """(N,)."""
        return (self.patterns.shape[1],)

    @property
    def n_states(self) -> int:
        """Two states per unit."""
        return 2

    def check_state(self, state, name: str = "state"):
        """States (..., N): integer indices 0/1 or float values +-1."""
        return check_binary_state(state, self.patterns.shape[1], name)

    def energy(self, state):
        """E(s) = -sum_mu (xi^mu . s)^n."""
        return -jnp.sum((self.patterns @ as_spins(state)) ** self.n)

    def recall(self, key, cue, steps: int = 10):
        """Zero-temperature dynamics from `cue` for `steps` sweeps."""
        check_recall_key(key, self.update != "sync")
        s = check_cue(self, cue).astype(jnp.float32)
        xi = self.patterns / self.patterns.shape[1]

        def gain(rest, x):  # F(rest + x) - F(rest - x), summed over patterns
            return jnp.sum((rest + x) ** self.n - (rest - x) ** self.n, axis=0)

        def unit(state, i):
            rest = xi @ state - xi[:, i] * state[i]
            g = gain(rest, xi[:, i])
            return state.at[i].set(jnp.where(g == 0, state[i], jnp.sign(g)))

        def full(state):
            rest = (xi @ state)[:, None] - xi * state[None, :]
            g = gain(rest, xi)
            return jnp.where(g == 0, state, jnp.sign(g))

        return _sweeps(key, s, steps, self.update, unit, full)


class ModernHopfield(AbstractMemory, AbstractEnergyModel):
    """Modern continuous Hopfield network (Ramsauer et al. 2020), real-valued state xi.

    $$E(\\xi) = -\\beta^{-1} \\log \\sum_\\mu e^{\\beta x^\\mu \\cdot \\xi}
    + \\tfrac12 \\xi\\cdot\\xi + \\beta^{-1}\\log p + \\tfrac12 M^2,\\qquad
    \\xi \\leftarrow X^\\top \\operatorname{softmax}(\\beta X \\xi)$$

    (X: patterns as rows, M the largest pattern norm). The update is the CCCP step on E
    and retrieves well-separated patterns in one step. Overlaps are cosine
    similarities. Real patterns are allowed.

    **Arguments:** `patterns` (p, N), `beta` > 0 (an array: a sweep never recompiles).
    """

    patterns: Float[Array, "p n"]
    beta: Float[Array, ""]

    def __init__(self, patterns, beta=1.0):
        self.patterns = check_patterns(patterns).astype(jnp.float32)
        b = jnp.asarray(beta, jnp.float32)
        if b.shape != ():
            raise ValueError(f"beta must be a scalar, got shape {b.shape}")
        if is_concrete(b) and not bool(b > 0):
            raise ValueError(f"beta must be > 0, got {float(b)}")
        self.beta = b

    @property
    def state_shape(self) -> tuple[int]:
        """(N,)."""
        return (self.patterns.shape[1],)

    @property
    def n_states(self) -> None:
        """None: a continuous state."""
        return None

    def check_state(self, state, name: str = "state"):
        """Real states (..., N), as float32."""
        arr = jnp.asarray(state)
        n = self.patterns.shape[1]
        if arr.ndim < 1 or arr.shape[-1] != n:
            raise ValueError(f"{name} must have shape (..., {n}) for this network, got {arr.shape}")
        return arr.astype(jnp.float32)

    def energy(self, state):
        """The energy E(xi) above."""
        x = self.patterns
        lse = jax.nn.logsumexp(self.beta * (x @ state)) / self.beta
        m2 = jnp.max(jnp.sum(x**2, axis=-1))
        return -lse + 0.5 * state @ state + jnp.log(x.shape[0]) / self.beta + 0.5 * m2

    def step(self, state):
        """One update xi <- X^T softmax(beta X xi)."""
        return self.patterns.T @ jax.nn.softmax(self.beta * (self.patterns @ state))

    def recall(self, key, cue, steps: int = 1):
        """`steps` CCCP updates from `cue` (deterministic: `key` is unused)."""
        check_recall_key(key, False)
        del key  # deterministic dynamics
        s = check_cue(self, cue).astype(jnp.float32)
        return jax.lax.fori_loop(0, steps, lambda _, x: self.step(x), s)

    def overlaps(self, state):
        """Cosine similarity of `state` with every pattern."""
        x = self.patterns
        norms = jnp.linalg.norm(x, axis=-1) * jnp.linalg.norm(state)
        return (x @ state) / jnp.maximum(norms, jnp.finfo(jnp.float32).tiny)

    def corrupt(self, key, pattern, fraction: float):
        """Flip the sign of round(fraction * N) random components."""
        check_key("key", key)
        return flip(key, pattern, fraction)
