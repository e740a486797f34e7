"""Stored structures: construction, validation, overlaps, error, cluster and chimera."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import structures as st


@pytest.fixture(scope="module")
def structs():
    return st.random(jax.random.key(0), molcomp.lattice.square(4, periodic=False), 16, 3)


def test_random_structures_are_permutations(structs):
    arr = np.asarray(structs.arrangements)
    assert arr.shape == (3, 16)
    for row in arr:
        assert sorted(row.tolist()) == list(range(16))
    assert not np.array_equal(arr[0], arr[1])
    assert structs.bonds.shape == (24, 3)  # 2 * 4 * 3 bonds of an open 4 x 4 patch


@eqx.filter_jit
@functools.partial(jax.vmap, in_axes=(None, 0))
def _readout(structs, config):
    """(bond overlaps, site overlaps, error) of a batch of configurations: jitted, so one
    compilation instead of one per operation."""
    return (
        st.bond_overlaps(structs, config),
        st.site_overlaps(structs, config),
        st.error(structs, config),
    )


def test_overlaps_of_stored_structures(structs):
    empty = jnp.full(16, 16)
    configs = jnp.stack([structs.configuration(a) for a in range(3)] + [empty])
    bond, site, err = (np.asarray(v) for v in _readout(structs, configs))
    np.testing.assert_allclose(np.diag(bond[:3]), 1.0)
    np.testing.assert_allclose(np.diag(site[:3]), 1.0)
    assert np.all(bond[:3][~np.eye(3, dtype=bool)] < 0.5)  # random permutations
    np.testing.assert_allclose(err, [0.0, 0.0, 0.0, 1.0], atol=1e-6)
    assert st.largest_cluster(structs, empty).sites.size == 0


def test_bond_overlap_counts_a_translated_structure():
    """A structure assembled away from its stored place still has all its bonds."""
    lat = molcomp.lattice.square((3, 5), periodic=False)
    s = st.from_arrays(lat, [np.arange(9)], patch=(3, 3))  # stored at columns 1..3
    shifted = np.full((3, 5), 9)
    shifted[:, 2:] = np.arange(9).reshape(3, 3)
    _, site, err = _readout(s, jnp.asarray(shifted.ravel())[None])
    assert abs(float(err[0])) < 1e-6 and float(site[0, 0]) == 0.0  # float32 mean under jit


def test_hand_built_chimera_is_flagged():
    """Structure 0 = 0..15 row-major; structure 1 starts with the right column of 0.
    Fusing them along that column gives one correctly bonded cluster, half each."""
    s0 = np.arange(16).reshape(4, 4)
    s1 = np.zeros((4, 4), int)
    s1[:, 0] = s0[:, 3]
    rest = [c for c in range(16) if c not in s0[:, 3]]
    s1[:, 1:] = np.array(rest[::-1]).reshape(4, 3)  # reversed: no bond shared with s0
    lat = molcomp.lattice.square((4, 7), periodic=False)
    structs = st.from_arrays(lat, [s0.ravel(), s1.ravel()], patch=(4, 4))
    config = np.full((4, 7), 16)
    config[:, :4] = s0
    config[:, 4:] = s1[:, 1:]
    cluster = st.largest_cluster(structs, jnp.asarray(config.ravel()))
    assert cluster.sites.size == 28 and cluster.chimera
    # 24 bonds of structure 0, 12 + 9 of structure 1 beyond it; 3 vertical bonds shared
    assert cluster.n_bonds == 45
    np.testing.assert_allclose(cluster.fractions, [24 / 45, 24 / 45])
    pure = np.full((4, 7), 16)
    pure[:, :4] = s0
    p = st.largest_cluster(structs, jnp.asarray(pure.ravel()))
    assert not p.chimera and p.structure == 0 and p.sites.size == 16


def test_graph_structures_are_isotropic():
    import networkx as nx

    g = molcomp.lattice.from_graph(nx.cycle_graph(6))
    s = st.random(jax.random.key(1), g, 6, 2)
    assert s.bonds.shape == (6, 3)
    rev = s.configuration(1)[::-1]  # the cycle read backwards: same bonds
    bond, _, _ = _readout(s, jnp.stack([s.configuration(1), rev]))
    np.testing.assert_allclose(bond[:, 1], 1.0)


def test_bad_input_names_the_argument():
    lat = molcomp.lattice.square(4, periodic=False)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        st.random(key, lat, 16, 0)
    with pytest.raises(ValueError, match="patch"):
        st.random(key, lat, 25, 2, patch=(5, 5))
    with pytest.raises(ValueError, match="patch"):
        st.from_arrays(lat, [np.arange(25)], patch=np.arange(25))
    with pytest.raises(ValueError, match="arrangements.*permutation"):
        st.from_arrays(lat, [np.arange(16)], n_species=20)
    with pytest.raises(ValueError, match="arrangements.*twice"):
        st.from_arrays(lat, [np.zeros(16, int)])
    with pytest.raises(ValueError, match="m must be >= 1"):
        st.from_arrays(lat, np.zeros((0, 16), int))
    with pytest.raises(ValueError, match="threshold"):
        st.largest_cluster(st.random(key, lat, 16, 1), jnp.full(16, 16), threshold=1.5)
