"""Wall-clock timing of JAX work: warm-up excluded, every call waited for, median kept."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import jax


def timed(fn: Callable[[], object]) -> float:
    """Seconds for one call of `fn`, including waiting for every array it returns."""
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - t0


def median_time(fn: Callable[[], object], repeats: int, *, warmup: bool = True) -> float:
    """Median seconds over `repeats` calls of `fn`, after one untimed warm-up call with
    the same shapes (so compilation is excluded)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if warmup:
        jax.block_until_ready(fn())
    return statistics.median(timed(fn) for _ in range(repeats))
