"""Capacity of a multifarious mixture: success fraction of seeded recalls vs m, and
m_max, the interpolated m where it crosses a level (90 %)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import numpy as np

from molcomp.checks import as_finite_float, check_fraction, check_key, check_positive_int

from ._mixture import MixtureMemory
from ._recall import success_fraction


def crossing(ms: Sequence[float], fractions: Sequence[float], level: float = 0.9) -> float:
    """The m where `fractions` (assumed to fall with m) first drops below `level`,
    linearly interpolated between the last m above and the first below. The largest m
    when none drops below (a lower bound); 0 when the smallest m already fails.

    **Arguments:**

    - `ms`: increasing numbers of structures; `fractions`: the success fraction at each.
    - `level`: the success level.

    **Returns:** m_max (a float).
    """
    level = check_fraction("level", level)
    ms, fr = as_finite_float("ms", ms), as_finite_float("fractions", fractions)
    if ms.ndim != 1 or ms.size == 0 or ms.shape != fr.shape:
        raise ValueError(f"ms and fractions must be non-empty and equally long, got {ms}, {fr}")
    if np.any(np.diff(ms) <= 0):
        raise ValueError(f"ms must be increasing, got {ms.tolist()}")
    if np.any((fr < 0) | (fr > 1)):
        raise ValueError(f"fractions must be success fractions in [0, 1], got {fr.tolist()}")
    below = np.flatnonzero(fr < level)
    if below.size == 0:
        return float(ms[-1])
    i = int(below[0])
    if i == 0:
        return 0.0
    m0, m1, f0, f1 = ms[i - 1], ms[i], fr[i - 1], fr[i]
    return float(m0 + (f0 - level) * (m1 - m0) / (f0 - f1))


def mixture_capacity(
    key,
    build: Callable[[jax.Array, int], MixtureMemory],
    ms: Sequence[int],
    *,
    runs: int = 20,
    steps: int = 200,
    k: int = 2,
    level: float = 0.9,
    mesh=None,
) -> tuple[float, dict]:
    """m_max of a mixture: where the success fraction of seeded recalls crosses `level`.

    (`learning.memory.capacity` is the capacity of any `AbstractMemory` by overlap of
    corrupted cues; this one counts seeded structures assembled with error < 0.05.)

    **Arguments:**

    - `key`: a `jax.random` key.
    - `build(key, m)`: a `MixtureMemory` storing m structures.
    - `ms`: increasing numbers of structures to test.
    - `runs`, `steps`, `k`: as in `success_fraction` (>= 20 runs per m by default).
    - `level`: success level (0.9).
    - `mesh`: a `molcomp.sharding.chain_mesh`: each m's runs spread over its devices.

    **Returns:** `(m_max, {m: success fraction})`.
    """
    check_key("key", key)
    if not callable(build):
        raise TypeError(f"build must be a callable build(key, m) -> MixtureMemory, got {build!r}")
    if isinstance(ms, str) or not hasattr(ms, "__iter__"):
        raise TypeError(f"ms must be a sequence of positive integers, got {ms!r}")
    ms = sorted({check_positive_int("ms", m) for m in ms})
    if not ms:
        raise ValueError("ms must hold at least one number of structures, got none")
    runs = check_positive_int("runs", runs)
    steps = check_positive_int("steps", steps)
    k = check_positive_int("k", k)
    level = check_fraction("level", level)
    seen = {}
    for m in ms:
        k_build, k_run = jax.random.split(jax.random.fold_in(key, m))
        seen[m] = success_fraction(k_run, build(k_build, m), runs, steps, k, mesh=mesh)
    return crossing(ms, [seen[m] for m in ms], level), seen
