"""Fingerprinted training checkpoints in a directory.

`state-<step>.eqx` holds the pytree leaves (equinox serialisation); `checkpoint.json`
names the current state file, its step, the history and a fingerprint of what produced
the run. Both go through `molcomp.atomic_write`, the JSON last, so a crash leaves
either the old or the new checkpoint, never half of one.
"""

from __future__ import annotations

import contextlib
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


def save(directory: str, step: int, tree, history: dict, fp: str) -> None:
    """Write the checkpoint of `step` and drop older state files."""
    name = f"state-{step:09d}.eqx"
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    molcomp.atomic_write(os.path.join(directory, name), buffer.getvalue())
    meta = {"step": step, "state_file": name, "fingerprint": fp, "history": history}
    molcomp.atomic_write(os.path.join(directory, META), json.dumps(meta))
    for old in os.listdir(directory):
        if old.startswith("state-") and old.endswith(".eqx") and old != name:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(directory, old))


def load(directory: str, like, fp: str):
    """(step, tree, history) of the checkpoint in `directory`, or None if there is none.

    Raises ValueError if it was written by a different run (other model, data, key or
    settings), rather than silently resuming the wrong one.
    """
    path = os.path.join(directory, META)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        meta = json.load(f)
    if meta.get("fingerprint") != fp:
        raise ValueError(
            f"checkpoint directory {directory!r} holds a checkpoint of a different run "
            f"(fingerprint {meta.get('fingerprint')} != {fp}); use another directory or "
            "delete it"
        )
    tree = eqx.tree_deserialise_leaves(os.path.join(directory, meta["state_file"]), like)
    return int(meta["step"]), tree, meta["history"]
