"""Save and load models: a one-line JSON header, then the model's leaves.

The header says how to rebuild the model's skeleton (class, species, lattice) with the
public constructors, so a file stays readable when private fields move around; the
leaves (couplings, mu, beta, neighbour tables) follow, written by
`equinox.tree_serialise_leaves`. The header also lists every leaf's shape and dtype,
so a file that does not match its header is reported instead of half-loaded, and
(since format version 2) the sha256 of the payload, so a corrupted file is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx

from .interactions._interactions import Couplings
from .lattice import _lattice
from .potts._potts import PlaceModel, PottsModel

FORMAT = "molcomp.model"
VERSION = 2
_READS = (1, 2)  # version 1: no checksum
_CLASSES = {"PottsModel": PottsModel, "PlaceModel": PlaceModel}


def atomic_write(path, data: bytes | str) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one, never
    half of it: written to a temporary file in the same folder, synced, renamed over.

    **Arguments:**

    - `path`: file name (`str` or `os.PathLike`); missing parent folders are created.
    - `data`: bytes, or text (written as UTF-8).

    Errors name `path` as the caller gave it (an unwritable folder is reported as
    `path`'s, not the temporary file's).
    """
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"data must be bytes or str, got {type(data).__name__}")
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
    except OSError as e:
        raise OSError(f"cannot write {target!r}: {e.strerror or e}") from e
    try:
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise OSError(f"cannot write {target!r}: {e.strerror or e}") from e
        raise


def save(path, model) -> None:
    """Write `model` (a `PottsModel` or `PlaceModel`) to `path`, atomically.

    The file is written next to `path` under a temporary name and renamed over it,
    so a crash never leaves a half-written model behind.

    **Arguments:**

    - `path`: file name (`str` or `os.PathLike`); the suffix is up to you (".eqx").
    - `model`: the model to save.

    **Example:**

    ```python
    molcomp.save("model.eqx", model)
    model = molcomp.load("model.eqx")
    ```
    """
    if type(model) not in _CLASSES.values():
        raise TypeError(f"model must be a PottsModel or PlaceModel, got {type(model).__name__}")
    payload = io.BytesIO()
    eqx.tree_serialise_leaves(payload, model)
    payload = payload.getvalue()
    header = {**_header(model), "sha256": hashlib.sha256(payload).hexdigest()}
    atomic_write(path, json.dumps(header, separators=(",", ":")).encode() + b"\n" + payload)


def load(path):
    """Read a model written by `save`.

    Raises `ValueError` naming `path` if it is not a molcomp model file or does not
    match its header (truncated, corrupted: the payload's sha256 differs from the
    header's, or written by a newer molcomp).
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        if f.read(1) != b"{":  # checked first so a large foreign file is not read in
            raise ValueError(f"{path} is not a molcomp model file (no molcomp header)")
        f.seek(0)
        header = _parse_header(path, f.readline())
        try:
            like = _skeleton(header)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: header does not describe a valid model: {e}") from e
        like = _like_from_header(path, header, like)
        payload = f.read()
    if header["version"] >= 2:
        digest = hashlib.sha256(payload).hexdigest()
        if digest != header.get("sha256"):
            raise ValueError(
                f"{path}: model data is truncated or corrupted (checksum mismatch: the "
                f"payload's sha256 is {digest[:12]}..., the header says "
                f"{str(header.get('sha256'))[:12]}...)"
            )
    try:
        return eqx.tree_deserialise_leaves(io.BytesIO(payload), like)
    except Exception as e:  # numpy/equinox raise several types for a bad payload
        raise ValueError(f"{path}: model data is truncated or corrupted ({e})") from e


def _header(model) -> dict:
    lat = model.lattice
    lattice = {"kind": lat.kind, "shape": list(lat.shape), "periodic": lat.periodic}
    if lat.kind == "graph":
        lattice["edges"] = lat.edges().tolist()
    return {
        "format": FORMAT,
        "version": VERSION,
        "class": type(model).__name__,
        "q": model.q,
        "empty": model.empty,
        "composition": list(model.composition) if isinstance(model, PlaceModel) else None,
        "oriented": model.couplings.is_oriented,
        "lattice": lattice,
        "leaves": [[list(x.shape), str(x.dtype)] for x in _array_leaves(model)],
    }


def _parse_header(path: str, line: bytes) -> dict:
    not_ours = f"{path} is not a molcomp model file (no molcomp header)"
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{not_ours}: {e}") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(not_ours)
    if header.get("version") not in _READS:
        raise ValueError(
            f"{path} has molcomp model format version {header.get('version')!r}; "
            f"this molcomp reads versions {_READS}"
        )
    if header.get("class") not in _CLASSES:
        raise ValueError(f"{path}: unknown model class {header.get('class')!r}")
    return header


def _skeleton(h: dict):
    """A model with the saved structure; its array values are overwritten on load."""
    lat = _rebuild_lattice(h["lattice"])
    q = int(h["q"])
    if h["oriented"]:
        if lat.n_directions is None:
            raise ValueError("oriented couplings on a lattice without bond directions")
        couplings = Couplings.oriented(jnp.zeros((lat.n_directions // 2, q, q)))
    else:
        couplings = Couplings.symmetric(jnp.zeros((q, q)))
    if h["class"] == "PottsModel":
        return PottsModel(lat, couplings, empty=bool(h["empty"]))
    return PlaceModel(lat, couplings, composition=h["composition"], empty=bool(h["empty"]))


def _rebuild_lattice(spec: dict):
    kind, shape, periodic = spec["kind"], tuple(spec["shape"]), bool(spec["periodic"])
    if kind == "graph":
        g = nx.Graph()
        g.add_nodes_from(range(int(shape[0])))
        g.add_edges_from(tuple(e) for e in spec["edges"])
        return _lattice.from_graph(g)
    builders = {"square": _lattice.square, "triangular": _lattice.triangular}
    builders["cubic"] = _lattice.cubic
    if kind not in builders:
        raise ValueError(f"unknown lattice kind {kind!r}")
    return builders[kind](shape, periodic=periodic)


def _array_leaves(tree) -> list:
    return [x for x in jax.tree_util.tree_leaves(tree) if eqx.is_array(x)]


def _like_from_header(path: str, header: dict, like):
    """Swap the skeleton's arrays for the shapes/dtypes the header promises."""
    leaves = header.get("leaves")
    arrays = _array_leaves(like)
    if not isinstance(leaves, list) or len(leaves) != len(arrays):
        raise ValueError(
            f"{path}: header lists {len(leaves or [])} arrays, model has {len(arrays)}"
        )
    specs = iter(leaves)

    def swap(x):
        if not eqx.is_array(x):
            return x
        shape, dtype = next(specs)
        if tuple(shape) != x.shape:
            raise ValueError(f"{path}: header array shape {tuple(shape)} != model's {x.shape}")
        return jax.ShapeDtypeStruct(x.shape, jnp.dtype(dtype))

    return jax.tree_util.tree_map(swap, like)
