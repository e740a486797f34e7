"""molcomp.save / molcomp.load: round trips and clear errors for foreign files."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

import molcomp
from molcomp import interactions, lattice


def _normal(seed, shape):
    return jax.random.normal(jax.random.key(seed), shape)


def _symmetric(seed, q):
    a = _normal(seed, (q, q))
    return interactions.Couplings.symmetric(a + a.T)


def _square_oriented_empty():
    J = interactions.Couplings.oriented(_normal(0, (2, 3, 3)))
    return molcomp.PottsModel(lattice.square(3), J, _normal(1, (3,)), beta=0.7, empty=True)


def _triangular_symmetric():
    return molcomp.PottsModel(lattice.triangular(3), _symmetric(2, 4), _normal(3, (4,)), beta=1.3)


def _graph():
    g = nx.cycle_graph(["a", "b", "c", "d", "e"])  # non-integer nodes, numbered in order
    g.add_edge("a", "c")
    return molcomp.PottsModel(lattice.from_graph(g), _symmetric(4, 2), _normal(5, (2,)))


def _place():
    lat = lattice.square(2, periodic=False)
    J = interactions.Couplings.oriented(_normal(6, (2, 3, 3)))
    return molcomp.PlaceModel(lat, J, beta=0.5, composition=(1, 1, 1, 1), empty=True)


MODELS = {
    "square-oriented-empty": _square_oriented_empty,
    "triangular-symmetric": _triangular_symmetric,
    "graph": _graph,
    "place": _place,
}


def _random_states(model, seed, m=16):
    rng = np.random.default_rng(seed)
    if isinstance(model, molcomp.PlaceModel):
        ref = np.asarray(model.reference_state())
        return jnp.asarray(np.stack([rng.permutation(ref) for _ in range(m)]))
    return jnp.asarray(rng.integers(0, model.n_states, (m, model.lattice.n_sites)), jnp.int32)


# jit (one small compile per model) is much faster than eager vmap with its checks.
_energies = eqx.filter_jit(lambda model, states: jax.vmap(model.energy)(states))


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip(tmp_path, name):
    model = MODELS[name]()
    path = tmp_path / "model.eqx"
    molcomp.save(path, model)
    loaded = molcomp.load(path)
    assert type(loaded) is type(model)
    # Same structure, static fields and every array leaf, bit for bit.
    assert bool(eqx.tree_equal(loaded, model))
    states = _random_states(model, 7)
    np.testing.assert_array_equal(_energies(loaded, states), _energies(model, states))
    assert [p.name for p in tmp_path.iterdir()] == ["model.eqx"]  # no temp file left


def test_overwrite_is_replaced(tmp_path):
    path = tmp_path / "model.eqx"
    molcomp.save(path, _graph())
    molcomp.save(str(path), _square_oriented_empty())
    assert bool(eqx.tree_equal(molcomp.load(str(path)), _square_oriented_empty()))


def test_corrupted_header(tmp_path):
    path = tmp_path / "model.eqx"
    molcomp.save(path, _square_oriented_empty())
    raw = path.read_bytes()
    header, payload = raw.split(b"\n", 1)
    bad = tmp_path / "bad.eqx"
    bad.write_bytes(header[:-5] + b"\n" + payload)  # JSON cut short
    with pytest.raises(ValueError, match="not a molcomp model"):
        molcomp.load(bad)
    bad.write_bytes(header.replace(b'"q":3', b'"q":5') + b"\n" + payload)  # inconsistent
    with pytest.raises(ValueError, match="shape"):
        molcomp.load(bad)


def test_truncated_payload(tmp_path):
    path = tmp_path / "model.eqx"
    molcomp.save(path, _triangular_symmetric())
    raw = path.read_bytes()
    path.write_bytes(raw[:-20])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        molcomp.load(path)


def test_foreign_files(tmp_path):
    plain = tmp_path / "plain.eqx"
    eqx.tree_serialise_leaves(plain, _graph())  # leaves without our header
    with pytest.raises(ValueError, match="not a molcomp model"):
        molcomp.load(plain)
    other = tmp_path / "other.json"
    other.write_text('{"format": "something-else"}\n')
    with pytest.raises(ValueError, match="not a molcomp model"):
        molcomp.load(other)


def test_save_rejects_non_models(tmp_path):
    with pytest.raises(TypeError, match="model"):
        molcomp.save(tmp_path / "x.eqx", jnp.zeros(3))
    assert list(tmp_path.iterdir()) == []


def test_corrupted_payload_fails_the_checksum(tmp_path):
    """One flipped byte of the payload (same length, so nothing else notices it) is
    refused, naming the file; a version-1 file (no checksum) still loads."""
    path = tmp_path / "model.eqx"
    model = _square_oriented_empty()
    molcomp.save(path, model)
    header, payload = path.read_bytes().split(b"\n", 1)
    assert b'"sha256":' in header
    flipped = bytearray(payload)
    flipped[-3] ^= 0x40  # inside the last array's data
    path.write_bytes(header + b"\n" + bytes(flipped))
    with pytest.raises(ValueError, match=rf"{path.name}.*checksum mismatch"):
        molcomp.load(path)
    old = json.loads(header)
    old["version"] = 1
    del old["sha256"]
    path.write_bytes(json.dumps(old).encode() + b"\n" + payload)
    assert bool(eqx.tree_equal(molcomp.load(path), model))


def test_unwritable_path_is_named_as_given(tmp_path):
    """Errors name the caller's path, never the temporary file next to it."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for path in (blocker / "model.eqx", tmp_path):  # parent is a file; target a folder
        with pytest.raises(OSError, match=f"cannot write '{path}'") as e:
            molcomp.save(path, _graph())
        assert ".tmp" not in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
