"""The recall protocol: store patterns, recall from a cue, overlap with each pattern.

Any associative memory (the Hopfield networks here, a molecular mixture in `analog`)
implements `AbstractMemory`; `recall` and `capacity` then measure any of them the same
way, so a benchmark swaps the memory and nothing else.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from molcomp.checks import (
    check_fraction,
    check_key,
    check_nonnegative_int,
    check_positive_int,
    is_concrete,
)


class AbstractMemory(eqx.Module):
    """An associative memory holding `patterns` (p, N).

    - `recall(key, cue, steps) -> state`: run the dynamics from `cue` for `steps`
      sweeps (one synchronous update or N single-unit updates each).
    - `overlaps(state) -> (p,)`: overlap of a state with every stored pattern, 1 for
      a perfect match, about 0 for an unrelated state.
    - `corrupt(key, pattern, fraction) -> cue`: the pattern with a `fraction` of its
      units changed (the cue of a recall experiment).
    """

    patterns: eqx.AbstractVar[Array]

    @abc.abstractmethod
    def recall(self, key, cue: Array, steps: int = 10) -> Array:
        """The state reached from `cue` after `steps` sweeps."""
        raise NotImplementedError

    @abc.abstractmethod
    def overlaps(self, state: Array) -> Float[Array, " p"]:
        """Overlap of `state` with every stored pattern."""
        raise NotImplementedError

    @abc.abstractmethod
    def corrupt(self, key, pattern: Array, fraction: float) -> Array:
        """`pattern` with a `fraction` of its units changed."""
        raise NotImplementedError

    @property
    def n_patterns(self) -> int:
        """Number of stored patterns p."""
        return int(self.patterns.shape[0])


def check_patterns(patterns, name: str = "patterns") -> Array:
    """A non-empty (p, N) array; raises ValueError naming `name` otherwise."""
    arr = jnp.asarray(patterns)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (p, N), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}; store at least one pattern")
    return arr


def check_cue(memory: AbstractMemory, cue, name: str = "cue") -> Array:
    """A cue whose trailing length equals the pattern length N."""
    arr = jnp.asarray(cue)
    n = memory.patterns.shape[-1]
    if arr.ndim < 1 or arr.shape[-1] != n:
        raise ValueError(f"{name} must have length N = {n}, got shape {arr.shape}")
    return arr


def check_recall_key(key, needed: bool) -> None:
    """A TypeError unless `key` is a `jax.random` key; None passes where the dynamics
    are deterministic (`needed` False: synchronous or CCCP updates ignore the key)."""
    if key is not None or needed:
        check_key("key", key)


def check_settings(*, fraction=None, steps=None, probes=None) -> None:
    """Range checks of the recall protocol's settings (concrete values only: inside a
    trace they are left alone): `fraction` in [0, 1], `steps` >= 0, `probes` >= 1."""
    if fraction is not None and is_concrete(fraction):
        check_fraction("fraction", fraction)
    if steps is not None and is_concrete(steps):
        check_nonnegative_int("steps", steps)
    if probes is not None:
        check_positive_int("probes", probes)


def recall_overlaps(
    key, memory: AbstractMemory, fraction: float = 0.1, steps: int = 10, probes: int | None = None
) -> Float[Array, " k"]:
    """Overlap of the recalled state with its source pattern, for each probed pattern.

    Each of the first `probes` stored patterns (all by default) is corrupted by
    `fraction`, recalled for `steps` sweeps, and compared with itself.
    """
    check_key("key", key)
    check_settings(fraction=fraction, steps=steps, probes=probes)
    k = memory.n_patterns if probes is None else min(probes, memory.n_patterns)
    k_cue, k_run = jax.random.split(key)
    targets = memory.patterns[:k]
    cues = jax.vmap(memory.corrupt, (0, 0, None))(jax.random.split(k_cue, k), targets, fraction)
    states = jax.vmap(memory.recall, (0, 0, None))(jax.random.split(k_run, k), cues, steps)
    return jax.vmap(lambda s, i: memory.overlaps(s)[i])(states, jnp.arange(k))


def recall(key, memory: AbstractMemory, cue, steps: int = 10):
    """Recall from `cue`; returns `(state, overlaps, retrieved)` with `retrieved` the
    index of the stored pattern of largest overlap."""
    check_recall_key(key, False)  # the memory checks it as it needs
    check_settings(steps=steps)
    state = memory.recall(key, check_cue(memory, cue), steps)
    m = memory.overlaps(state)
    return state, m, jnp.argmax(m, axis=-1)


def capacity(
    key,
    build: Callable[[Array, int], AbstractMemory],
    n: int,
    ps: Sequence[int],
    *,
    fraction: float = 0.1,
    threshold: float = 0.95,
    steps: int = 10,
    probes: int | None = 50,
    evaluate: Callable | None = None,
) -> tuple[float, dict]:
    """Capacity alpha = p_max / N by bisection over the sorted loads `ps`.

    p_max is the largest p in `ps` whose mean recall overlap (cue with a `fraction` of
    units changed, `steps` sweeps) is >= `threshold`, assuming recall degrades with load
    (bisection evaluates about log2(len(ps)) loads). `build(key, p)` stores p random
    patterns. `evaluate` replaces `recall_overlaps` (e.g. a jitted copy of it).
    Returns `(alpha, {p: mean overlap})`; alpha is 0 when even the smallest p fails, and
    a lower bound when the largest p passes.
    """
    check_key("key", key)
    if not callable(build):
        raise TypeError(f"build must be a function (key, p) -> memory, got {type(build).__name__}")
    if evaluate is not None and not callable(evaluate):
        raise TypeError(f"evaluate must be a function or None, got {type(evaluate).__name__}")
    n = check_positive_int("n", n)
    if isinstance(ps, str) or not hasattr(ps, "__iter__"):
        raise TypeError(f"ps must be a sequence of pattern counts, got {type(ps).__name__}")
    ps = sorted(check_positive_int("ps", p) for p in ps)
    if not ps:
        raise ValueError("ps is empty: give at least one load to test")
    check_settings(fraction=fraction, steps=steps, probes=probes)
    check_fraction("threshold", threshold)
    evaluate = recall_overlaps if evaluate is None else evaluate
    seen: dict[int, float] = {}

    def ok(p: int) -> bool:
        k_build, k_run = jax.random.split(jax.random.fold_in(key, p))
        memory = build(k_build, p)
        seen[p] = float(jnp.mean(evaluate(k_run, memory, fraction, steps, probes)))
        return seen[p] >= threshold

    if ok(ps[-1]):  # the cap passes: a lower bound, no search needed
        return ps[-1] / n, seen
    lo, hi = -1, len(ps) - 1  # invariant: ps[lo] passes (or lo = -1), ps[hi] fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(ps[mid]):
            lo = mid
        else:
            hi = mid
    return (ps[lo] / n if lo >= 0 else 0.0), seen
