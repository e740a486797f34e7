"""Fingerprinted training checkpoints in a directory.

`state-<step>.eqx` holds the pytree leaves (equinox serialisation); `checkpoint.json`
names the current state file, its step, the history and a fingerprint of what produced
the run. Both go through `molcomp.atomic_write`, the JSON last, so a crash leaves
either the old or the new checkpoint, never half of one.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os

import equinox as eqx
import jax
import numpy as np

import molcomp

META = "checkpoint.json"


def fingerprint(*parts) -> str:
    """Hash of pytrees (structure, shapes, dtypes and values) and strings."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            h.update(part.encode())
            continue
        leaves, treedef = jax.tree_util.tree_flatten(part)
        h.update(str(treedef).encode())
        for leaf in leaves:
            if eqx.is_array(leaf):
                if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
                    leaf = jax.random.key_data(leaf)
                arr = np.asarray(leaf)
                h.update(f"{arr.dtype}{arr.shape}".encode())
                h.update(np.ascontiguousarray(arr).tobytes())
            else:
                h.update(repr(leaf).encode())
    return h.hexdigest()[:16]


def describe_optimizer(optimizer) -> str:
    """A stable description of an optax transformation's settings, for checkpoints.

    optax keeps hyperparameters (learning rates, betas, schedules' constants, chained
    transformations) in the closures of `update` and `init`: this walks them and records
    each function's qualified name and every number, string, array and container it
    closes over (not addresses, so the same settings give the same text in another
    process). `optax.inject_hyperparams` state holds them as arrays of the init state,
    which the fingerprint of the run covers as well.
    """
    seen: set[int] = set()

    def walk(x, depth: int) -> str:
        if depth > 12:
            return "..."
        if x is None or isinstance(x, bool | int | float | complex | str | bytes):
            return repr(x)
        if isinstance(x, np.ndarray | np.generic) or eqx.is_array(x):
            arr = np.asarray(x)
            return f"array{arr.shape}{arr.dtype}{arr.tolist()!r}"
        if id(x) in seen:
            return "<cycle>"
        seen.add(id(x))
        if isinstance(x, tuple | list):
            return f"{type(x).__name__}(" + ",".join(walk(v, depth + 1) for v in x) + ")"
        if isinstance(x, dict):
            items = sorted(x.items(), key=lambda kv: repr(kv[0]))
            return "{" + ",".join(f"{k!r}:{walk(v, depth + 1)}" for k, v in items) + "}"
        if isinstance(x, functools.partial):
            parts = (x.func, x.args, x.keywords)
            return "partial(" + ",".join(walk(v, depth + 1) for v in parts) + ")"
        code = getattr(x, "__code__", None)
        if code is not None:
            cells = [c.cell_contents for c in (x.__closure__ or ()) if _filled(c)]
            defaults = x.__defaults__ or ()
            return (
                f"{getattr(x, '__module__', '')}.{x.__qualname__}("
                + ",".join(walk(c, depth + 1) for c in (*cells, *defaults))
                + ")"
            )
        return type(x).__qualname__

    return walk(tuple(optimizer), 0)


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def save(directory: str, step: int, tree, history: dict, fp: str, optimizer: str = "") -> None:
    """Write the checkpoint of `step` and drop older state files (`optimizer`: the
    `describe_optimizer` text, compared on resume)."""
    name = f"state-{step:09d}.eqx"
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    molcomp.atomic_write(os.path.join(directory, name), buffer.getvalue())
    meta = {
        "step": step,
        "state_file": name,
        "fingerprint": fp,
        "optimizer": hashlib.sha256(optimizer.encode()).hexdigest()[:16],
        "history": history,
    }
    molcomp.atomic_write(os.path.join(directory, META), json.dumps(meta))
    for old in os.listdir(directory):
        if old.startswith("state-") and old.endswith(".eqx") and old != name:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(directory, old))


def load(directory: str, like, fp: str, optimizer: str = ""):
    """(step, tree, history) of the checkpoint in `directory`, or None if there is none.

    Raises ValueError if it was written by a different run (other model, data, key or
    settings), rather than silently resuming the wrong one.
    """
    path = os.path.join(directory, META)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        meta = json.load(f)
    opt = hashlib.sha256(optimizer.encode()).hexdigest()[:16]
    if meta.get("optimizer", opt) != opt:
        raise ValueError(
            f"checkpoint directory {directory!r} holds a run made with other optimizer "
            "settings (the transformation chain and its hyperparameters, e.g. the learning "
            "rate, differ); resume with the same optimizer, or use another directory"
        )
    if meta.get("fingerprint") != fp:
        raise ValueError(
            f"checkpoint directory {directory!r} holds a checkpoint of a different run "
            f"(fingerprint {meta.get('fingerprint')} != {fp}); use another directory or "
            "delete it"
        )
    try:
        tree = eqx.tree_deserialise_leaves(os.path.join(directory, meta["state_file"]), like)
    except RuntimeError as err:  # a leaf changed shape since init
        raise ValueError(
            f"checkpoint directory {directory!r} holds sampler state whose shapes differ "
            "from a fresh run's (e.g. a neighbour list reallocated after an overflow); "
            f"such a checkpoint cannot be resumed yet ({err})"
        ) from err
    return int(meta["step"]), tree, meta["history"]
