"""Capacity of a multifarious mixture: success fraction of seeded recalls vs m, and
m_max, the interpolated m where it crosses a level (90 %)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ._memory import MixtureMemory, recall, seed


def success_fraction(key, memory: MixtureMemory, runs: int, steps: int, k: int) -> float:
    """Fraction of `runs` recalls, each seeded with a k x k block of structure
    alpha = run mod m, that assemble that structure with error < 0.05 within `steps`
    sweeps (Metropolis) or `steps / rate` of physical time (Gillespie). The runs are one
    vmapped batch."""
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    m = memory.structures.m
    alphas = np.arange(runs) % m
    cues = jnp.stack([seed(memory.structures, int(a), k) for a in range(m)])[alphas]
    _, out = recall(key, memory, cues, steps)
    return float(np.mean(out.success & (out.retrieved == alphas)))


def crossing(ms: Sequence[float], fractions: Sequence[float], level: float = 0.9) -> float:
    """The m where `fractions` (assumed to fall with m) first drops below `level`,
    linearly interpolated between the last m above and the first below. The largest m
    when none drops below (a lower bound); 0 when the smallest m already fails."""
    ms, fr = np.asarray(ms, float), np.asarray(fractions, float)
    if ms.size == 0 or ms.size != fr.size:
        raise ValueError(f"ms and fractions must be non-empty and equally long, got {ms}, {fr}")
    below = np.flatnonzero(fr < level)
    if below.size == 0:
        return float(ms[-1])
    i = int(below[0])
    if i == 0:
        return 0.0
    m0, m1, f0, f1 = ms[i - 1], ms[i], fr[i - 1], fr[i]
    return float(m0 + (f0 - level) * (m1 - m0) / (f0 - f1))


def capacity(
    key,
    build: Callable[[jax.Array, int], MixtureMemory],
    ms: Sequence[int],
    *,
    runs: int = 20,
    steps: int = 200,
    k: int = 2,
    level: float = 0.9,
) -> tuple[float, dict]:
    """m_max: where the success fraction of seeded recalls crosses `level`.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `build(key, m)`: a `MixtureMemory` storing m structures.
    - `ms`: increasing numbers of structures to test.
    - `runs`, `steps`, `k`: as in `success_fraction` (>= 20 runs per m by default).
    - `level`: success level (0.9).

    **Returns:** `(m_max, {m: success fraction})`.
    """
    ms = sorted(int(m) for m in ms)
    if not ms or ms[0] < 1:
        raise ValueError(f"ms must be non-empty positive integers, got {ms}")
    seen = {}
    for m in ms:
        k_build, k_run = jax.random.split(jax.random.fold_in(key, m))
        seen[m] = success_fraction(k_run, build(k_build, m), runs, steps, k)
    return crossing(ms, [seen[m] for m in ms], level), seen
