"""Hebbian storage rules: clipped OR on a hand-made example, additive, exposure."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import learning
import molcomp
from learning import hebbian


@pytest.fixture(scope="module")
def two_by_two():
    """s0 = [[0, 1], [2, 3]], s1 = [[1, 0], [3, 2]] on an open 2 x 2 lattice."""
    lat = molcomp.lattice.square(2, periodic=False)
    return molcomp.structures.from_arrays(lat, [[0, 1, 2, 3], [1, 0, 3, 2]])


def test_clipped_or_hand_made_2x2(two_by_two):
    J = hebbian.clipped_or(two_by_two, 2.0)
    assert J.is_oriented and J.params.shape == (2, 4, 4)
    plus_x = np.zeros((4, 4))  # a left of b: 0-1, 2-3 (s0); 1-0, 3-2 (s1)
    plus_x[0, 1] = plus_x[2, 3] = plus_x[1, 0] = plus_x[3, 2] = -2.0
    plus_y = np.zeros((4, 4))  # a above b: 0-2, 1-3 in both structures (clipped: once)
    plus_y[0, 2] = plus_y[1, 3] = -2.0
    np.testing.assert_array_equal(np.asarray(J.params), np.stack([plus_x, plus_y]))
    # the opposite directions are the transposes (J[-x] = J[+x]^T)
    np.testing.assert_array_equal(np.asarray(J.matrices()[3]), plus_y.T)


def test_additive_counts_structures(two_by_two):
    J = np.asarray(hebbian.additive(two_by_two, 2.0).params)
    assert J[1, 0, 2] == -4.0 and J[1, 1, 3] == -4.0  # shared by both structures
    assert J[0, 0, 1] == -2.0 and np.sum(J != 0) == 6


@eqx.filter_jit
def _rules(s):
    """(additive, exposure) couplings of the same structures, in one compilation (eager,
    every operation would compile on its own)."""
    return hebbian.additive(s, 1.5).params, hebbian.exposure(s, 0.5, duration=3.0).params


@eqx.filter_jit
def _noisy_exposure(key, s, frames):
    configs = jnp.stack([s.configuration(a) for a in range(s.m)] * (frames // 4))
    keep = jax.random.bernoulli(key, 0.7, configs.shape)
    configs = jnp.where(keep, configs, s.n_species)
    return hebbian.exposure_increment(s, configs, 1.0 / (frames // 4), 1.5)


def test_exposure_reproduces_additive():
    lat = molcomp.lattice.square(3, periodic=False)
    s = molcomp.structures.random(jax.random.key(2), lat, 9, 3)
    add, exp = (np.asarray(v) for v in _rules(s))
    np.testing.assert_allclose(exp, add, rtol=1e-6)
    # A noisy exposure (each site shown with probability 0.7 in 400 frames) gives the
    # same pattern: zero off the designed bonds, 0.7^2 of the additive value on them
    # (binomial: relative std sqrt(0.51 / (0.49 * 400)) = 5 % per shown bond, so a 25 %
    # tolerance is five standard deviations).
    dJ = np.asarray(_noisy_exposure(jax.random.key(3), s, 400))
    assert np.all((dJ != 0) == (add != 0))
    np.testing.assert_allclose(dJ[add != 0], 0.49 * add[add != 0], rtol=0.25)


def test_graph_rules_are_symmetric():
    import networkx as nx

    s = molcomp.structures.random(
        jax.random.key(4), molcomp.lattice.from_graph(nx.path_graph(5)), 5, 2
    )
    J, E = eqx.filter_jit(lambda s: (hebbian.additive(s, 1.0), hebbian.exposure(s, 1.0)))(s)
    assert not J.is_oriented
    M = np.asarray(J.matrices()[0])
    np.testing.assert_array_equal(M, M.T)
    np.testing.assert_allclose(M.sum(), -2 * 4 * 2)  # 4 bonds per structure, both orders
    np.testing.assert_allclose(np.asarray(E.matrices()[0]), M)


def test_bad_epsilon(two_by_two):
    with pytest.raises(ValueError, match="epsilon must be finite"):
        hebbian.clipped_or(two_by_two, float("nan"))
    with pytest.raises(ValueError, match="epsilon must be finite"):
        hebbian.additive(two_by_two, np.inf)
    with pytest.raises(TypeError, match="structs"):
        hebbian.clipped_or(np.zeros((2, 4)), 1.0)
    assert learning.hebbian.clipped_or is hebbian.clipped_or
