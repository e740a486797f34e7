"""Validation helpers for the public boundary: errors name the argument and the value."""

import numpy as np


def as_finite_float(name: str, value, shape: tuple | None = None) -> np.ndarray:
    """Return `value` as a float array, raising if it is not finite or not of `shape`."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}") from e
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[:3].tolist()
        raise ValueError(f"{name} must be finite; found NaN/inf at indices {bad}")
    return arr


def is_concrete(x) -> bool:
    """False inside a trace: checks on values are then left to `eqx.error_if`."""
    import jax

    return not isinstance(x, jax.core.Tracer)
