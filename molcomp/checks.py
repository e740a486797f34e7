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


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    """`value` as an int, with a ValueError unless it is an integer >= `minimum`."""
    ok = not isinstance(value, bool) and isinstance(value, int | np.integer)
    if not ok and isinstance(value, float | np.floating) and float(value).is_integer():
        ok = True
    if not ok or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_nonnegative_int(name: str, value) -> int:
    """`value` as an int, with a ValueError unless it is an integer >= 0."""
    return check_positive_int(name, value, minimum=0)


def check_fraction(name: str, value, *, open_low: bool = False, open_high: bool = False) -> float:
    """`value` as a float in [0, 1] (ends excluded as asked), else a ValueError."""
    v = float(as_finite_float(name, value, shape=()))
    if v < 0 or v > 1 or (open_low and v == 0) or (open_high and v == 1):
        lo, hi = "(" if open_low else "[", ")" if open_high else "]"
        raise ValueError(f"{name} must be a fraction in {lo}0, 1{hi}, got {value!r}")
    return v


def check_real(name: str, value, *, minimum=None, strict: bool = False) -> float:
    """`value` as a finite float, optionally > (strict) or >= `minimum`."""
    v = float(as_finite_float(name, value, shape=()))
    if minimum is not None and (v < minimum or (strict and v == minimum)):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value!r}")
    return v


def check_key(name: str, key):
    """`key` if it is a `jax.random` key (typed, or a legacy uint32[2]), else a TypeError."""
    import jax
    import jax.numpy as jnp

    if isinstance(key, jax.Array | np.ndarray):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.ndim == 0:
            return key
        if key.dtype == np.uint32 and key.shape == (2,):
            return key
    raise TypeError(
        f"{name} must be a jax.random key (jax.random.key(seed), or a legacy "
        f"jax.random.PRNGKey), got {type(key).__name__}"
        + (f" of shape {key.shape} and dtype {key.dtype}" if hasattr(key, "shape") else "")
    )
