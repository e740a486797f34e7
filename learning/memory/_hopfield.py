"""Classical Hopfield networks: +-1 units (Hebbian, pseudo-inverse, Storkey) and q-state
Potts units (Kanter 1988), with synchronous or asynchronous updates.

Both are energy models (`molcomp.AbstractEnergyModel`) recalled at zero temperature:
recall descends the energy one unit at a time (asynchronous: a fresh random order every
sweep, drawn from the key) or all units at once (synchronous: may end in a 2-cycle,
which is why asynchronous is the default). A +-1 network's energy takes its unit values
s in {-1, +1} (floats, the recall representation) or state indices x in {0, 1}
(integers, as samplers and `molcomp.exact` give them), s = 2x - 1.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from molcomp import AbstractEnergyModel
from molcomp.checks import check_key, check_positive_int, is_concrete

from ._recall import (
    AbstractMemory,
    check_cue,
    check_patterns,
    check_recall_key,
    check_settings,
)

UPDATES = ("async", "sync")


def _check_update(update: str) -> str:
    if update not in UPDATES:
        raise ValueError(f"update must be one of {UPDATES}, got {update!r}")
    return update


def check_spins(patterns, name: str = "patterns") -> Float[Array, "p n"]:
    """Non-empty (p, N) patterns with every entry -1 or +1."""
    arr = check_patterns(patterns, name)
    bad = ~((arr == 1) | (arr == -1))
    if not is_concrete(arr):  # under jit: a runtime check
        arr = eqx.error_if(arr, jnp.any(bad), f"{name} must contain only -1 and +1")
    elif bool(jnp.any(bad)):
        raise ValueError(f"{name} must contain only -1 and +1, found {arr[bad][0]!r}")
    return arr.astype(jnp.float32)


def as_spins(state) -> Float[Array, "... n"]:
    """Unit values +-1: integer state indices x in {0, 1} map to 2x - 1, floats pass."""
    state = jnp.asarray(state)
    if jnp.issubdtype(state.dtype, jnp.integer):
        return 2.0 * state.astype(jnp.float32) - 1.0
    return state


def check_binary_state(state, n: int, name: str):
    """States (..., n) of a +-1 network: integer indices 0/1 or float values +-1."""
    arr = jnp.asarray(state)
    if arr.ndim < 1 or arr.shape[-1] != n:
        raise ValueError(f"{name} must have shape (..., {n}) for this network, got {arr.shape}")
    integer = jnp.issubdtype(arr.dtype, jnp.integer)
    bad = ((arr < 0) | (arr > 1)) if integer else ~((arr == 1) | (arr == -1))
    msg = f"{name} must hold states 0/1 (integers) or -1/+1 (floats)"
    if is_concrete(arr):
        if bool(jnp.any(bad)):
            raise ValueError(msg)
        return arr
    return eqx.error_if(arr, bad, msg)


def flip(key, pattern: Array, fraction: float) -> Array:
    """`pattern` (+-1) with round(fraction * N) units, chosen at random, flipped."""
    check_key("key", key)
    check_settings(fraction=fraction)
    n = pattern.shape[-1]
    k = jnp.round(fraction * n)
    chosen = jax.random.permutation(key, n) < k
    return jnp.where(chosen, -pattern, pattern)


def _sweeps(key, state, steps: int, update: str, unit, full):
    """`steps` sweeps: `unit(state, i)` updates unit i, `full(state)` all of them."""
    n = state.shape[0]
    if update == "sync":
        return jax.lax.fori_loop(0, steps, lambda _, s: full(s), state)

    def sweep(s, k):
        order = jax.random.permutation(k, n)
        return jax.lax.fori_loop(0, n, lambda t, x: unit(x, order[t]), s), None

    return jax.lax.scan(sweep, state, jax.random.split(key, steps))[0]


class AbstractSpinMemory(AbstractMemory):
    """A memory of +-1 patterns: overlaps m^mu = (1/N) xi^mu . s, cues made by flipping
    round(fraction * N) units (shared by `Hopfield` and `DenseHopfield`)."""

    patterns: eqx.AbstractVar[Float[Array, "p n"]]

    def overlaps(self, state):
        """m^mu = (1/N) sum_i xi_i^mu s_i."""
        return self.patterns @ state / self.patterns.shape[1]

    def corrupt(self, key, pattern, fraction: float):
        """`pattern` with round(fraction * N) random units flipped."""
        check_key("key", key)
        return flip(key, pattern, fraction)


class Hopfield(AbstractSpinMemory, AbstractEnergyModel):
    """Classical Hopfield network of N units s_i = +-1 with couplings W (zero diagonal).

    $$E(s) = -\\tfrac12 \\sum_{i \\ne j} W_{ij} s_i s_j, \\qquad
    s_i \\leftarrow \\operatorname{sign}\\Big(\\sum_j W_{ij} s_j\\Big)$$

    (a zero field keeps the unit). Build with `hebbian`, `pseudo_inverse` or `storkey`.

    **Arguments:** `weights` (N, N), `patterns` (p, N) of +-1, `update` "async" |
    "sync".

    ```python
    net = learning.memory.Hopfield.hebbian(patterns)
    state, overlaps, index = learning.memory.recall(key, net, cue)
    ```
    """

    weights: Float[Array, "n n"]
    patterns: Float[Array, "p n"]
    update: str = eqx.field(static=True)

    def __init__(self, weights, patterns, update: str = "async"):
        self.patterns = check_spins(patterns)
        n = self.patterns.shape[1]
        w = jnp.asarray(weights, jnp.float32)
        if w.shape != (n, n):
            raise ValueError(f"weights must have shape (N, N) = ({n}, {n}), got {w.shape}")
        self.weights = w * (1.0 - jnp.eye(n))
        self.update = _check_update(update)

    @classmethod
    def hebbian(cls, patterns, update: str = "async") -> Hopfield:
        """W = (1/N) sum_mu xi^mu xi^mu^T. Critical load p/N ~ 0.138 for random patterns."""
        xi = check_spins(patterns)
        return cls(xi.T @ xi / xi.shape[1], xi, update)

    @classmethod
    def pseudo_inverse(cls, patterns, update: str = "async") -> Hopfield:
        """Projection rule W = X (X^T X)^+ X^T (X = patterns as columns): every pattern is
        a fixed point up to p ~ N (basins shrink as p/N -> 1)."""
        xi = check_spins(patterns)
        c = xi @ xi.T  # (p, p) pattern overlaps
        return cls(xi.T @ jnp.linalg.pinv(c) @ xi, xi, update)

    @classmethod
    def storkey(cls, patterns, update: str = "async") -> Hopfield:
        """Storkey's incremental rule (1997), local and incremental, capacity above Hebbian:
        W += (xi xi^T - xi h^T - h xi^T) / N, with h_i = sum_{k != i} W_ik xi_k."""
        xi = check_spins(patterns)
        n = xi.shape[1]

        def add(w, x):
            # h[i, j] = sum_{k != i, j} w[i, k] x[k]; local fields without i and j.
            field = w @ x
            h = field[:, None] - jnp.diag(w)[:, None] * x[:, None] - w * x[None, :]
            w = w + (jnp.outer(x, x) - x[:, None] * h.T - h * x[None, :]) / n
            return w, None

        w, _ = jax.lax.scan(add, jnp.zeros((n, n), jnp.float32), xi)
        return cls(w, xi, update)

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

    def energy(self, state) -> Float[Array, ""]:
        """E(s) = -1/2 s W s."""
        s = as_spins(state)
        return -0.5 * s @ self.weights @ s

    def tempered(self, t) -> Hopfield:
        """The network with energy t * E (weights scaled by t)."""
        return eqx.tree_at(lambda m: m.weights, self, t * self.weights)

    def recall(self, key, cue, steps: int = 10):
        """Zero-temperature dynamics from `cue` for `steps` sweeps."""
        check_recall_key(key, self.update != "sync")
        s = check_cue(self, cue).astype(jnp.float32)

        def unit(x, i):
            h = self.weights[i] @ x
            return x.at[i].set(jnp.where(h == 0, x[i], jnp.sign(h)))

        def full(x):
            h = self.weights @ x
            return jnp.where(h == 0, x, jnp.sign(h))

        return _sweeps(key, s, steps, self.update, unit, full)


class PottsHopfield(AbstractMemory, AbstractEnergyModel):
    """q-state Potts Hopfield network (Kanter 1988), units s_i in {0, ..., q-1}.

    $$J_{ij}^{ab} = \\frac1N \\sum_\\mu (q\\,\\delta_{\\xi_i^\\mu a} - 1)
    (q\\,\\delta_{\\xi_j^\\mu b} - 1),\\quad E(s) = -\\tfrac12 \\sum_{i\\ne j}
    J_{ij}^{s_i s_j},\\quad s_i \\leftarrow \\arg\\max_a \\sum_j J_{ij}^{a s_j}$$

    Overlap m^mu = (q (1/N) sum_i delta(s_i, xi_i^mu) - 1) / (q - 1). Build with
    `hebbian(patterns, q)`.
    """

    couplings: Float[Array, "n q n q"]
    patterns: Int[Array, "p n"]
    q: int = eqx.field(static=True)
    update: str = eqx.field(static=True)

    def __init__(self, couplings, patterns, q: int, update: str = "async"):
        q = check_positive_int("q", q, minimum=2)
        xi = check_patterns(patterns)
        bad = jnp.any((xi < 0) | (xi >= q) | (xi != jnp.round(xi)))
        msg = f"patterns must contain integers in 0..{q - 1}"
        if not is_concrete(xi):  # under jit: a runtime check
            xi = eqx.error_if(xi, bad, msg)
        elif bool(bad):
            raise ValueError(msg)
        n = xi.shape[1]
        c = jnp.asarray(couplings, jnp.float32)
        if c.shape != (n, q, n, q):
            raise ValueError(f"couplings must have shape (N, q, N, q), got {c.shape}")
        self.couplings, self.patterns, self.q = c, xi.astype(jnp.int32), q
        self.update = _check_update(update)

    @classmethod
    def hebbian(cls, patterns, q: int, update: str = "async") -> PottsHopfield:
        """Kanter's Hebbian couplings of `patterns` (p, N) with states 0..q-1."""
        xi = check_patterns(patterns)
        n = xi.shape[1]
        u = q * jax.nn.one_hot(xi, q) - 1.0  # (p, N, q)
        j = jnp.einsum("pia,pjb->iajb", u, u) / n
        j = j * (1.0 - jnp.eye(n))[:, None, :, None]
        return cls(j, xi, q, update)

    @property
    def state_shape(self) -> tuple[int]:
        """(N,)."""
        return (self.patterns.shape[1],)

    @property
    def n_states(self) -> int:
        """q states per unit."""
        return self.q

    def check_state(self, state, name: str = "state"):
        """Integer states (..., N) in 0..q-1."""
        arr = jnp.asarray(state)
        n = self.patterns.shape[1]
        if arr.ndim < 1 or arr.shape[-1] != n:
            raise ValueError(f"{name} must have shape (..., {n}) for this network, got {arr.shape}")
        if not jnp.issubdtype(arr.dtype, jnp.integer):
            raise TypeError(f"{name} must hold integer states, got dtype {arr.dtype}")
        bad = (arr < 0) | (arr >= self.q)
        msg = f"{name} must hold states in 0..{self.q - 1}"
        if is_concrete(arr):
            if bool(jnp.any(bad)):
                raise ValueError(msg)
            return arr
        return eqx.error_if(arr, bad, msg)

    def energy(self, state):
        """E(s) = -1/2 sum_{i != j} J_ij^{s_i s_j}."""
        v = jax.nn.one_hot(state, self.q)
        return -0.5 * jnp.einsum("ia,iajb,jb->", v, self.couplings, v)

    def recall(self, key, cue, steps: int = 10):
        """Zero-temperature dynamics from `cue` for `steps` sweeps."""
        check_recall_key(key, self.update != "sync")
        s = check_cue(self, cue).astype(jnp.int32)

        def unit(x, i):
            h = jnp.einsum("ajb,jb->a", self.couplings[i], jax.nn.one_hot(x, self.q))
            return x.at[i].set(jnp.argmax(h).astype(x.dtype))

        def full(x):
            h = jnp.einsum("iajb,jb->ia", self.couplings, jax.nn.one_hot(x, self.q))
            return jnp.argmax(h, axis=-1).astype(x.dtype)

        return _sweeps(key, s, steps, self.update, unit, full)

    def overlaps(self, state):
        """m^mu = (q (1/N) sum_i delta(s_i, xi_i^mu) - 1) / (q - 1)."""
        same = jnp.mean(self.patterns == state, axis=-1)
        return (self.q * same - 1.0) / (self.q - 1.0)

    def corrupt(self, key, pattern, fraction: float):
        """Set round(fraction * N) random units to a different state, chosen uniformly."""
        check_key("key", key)
        check_settings(fraction=fraction)
        k_pick, k_shift = jax.random.split(key)
        n = pattern.shape[-1]
        chosen = jax.random.permutation(k_pick, n) < jnp.round(fraction * n)
        shift = jax.random.randint(k_shift, (n,), 1, self.q)
        return jnp.where(chosen, (pattern + shift) % self.q, pattern)
