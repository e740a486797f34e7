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


REPEATS, SHOWN = 100, 0.7  # each structure shown 100 times, each site with prob 0.7


@eqx.filter_jit
def _noisy_exposure(key, s):
    configs = jnp.stack([s.configuration(a) for a in range(s.m)] * REPEATS)
    keep = jax.random.bernoulli(key, SHOWN, configs.shape)
    configs = jnp.where(keep, configs, s.n_species)
    return hebbian.exposure_increment(s, configs, 1.0 / REPEATS, 1.5)


def noisy_exposure_z(add, dJ):
    """z-scores of a noisy exposure against its binomial law: (per bond, pooled).

    A designed bond (d, a, b) that occurs k times in the structures (additive value
    -1.5 k) is shown with both ends present in Binomial(REPEATS k, 0.49) of its frames,
    and its increment is -1.5 / REPEATS times that count: the count is recovered
    exactly from dJ, and compared with its mean and binomial standard deviation, bond by
    bond and pooled over all bonds (the pooled z sees a bias of a few % that no single
    bond resolves)."""
    on = add != 0
    trials = add[on] / -1.5 * REPEATS
    count = dJ[on] / -1.5 * REPEATS
    assert np.allclose(count, np.round(count), atol=1e-3), "increments are not counts"
    p = SHOWN**2
    z = (count - p * trials) / np.sqrt(trials * p * (1 - p))
    pooled = (count.sum() - p * trials.sum()) / np.sqrt(trials.sum() * p * (1 - p))
    return z, pooled


def test_exposure_reproduces_additive():
    lat = molcomp.lattice.square(3, periodic=False)
    s = molcomp.structures.random(jax.random.key(2), lat, 9, 3)
    add, exp = (np.asarray(v) for v in _rules(s))
    np.testing.assert_allclose(exp, add, rtol=1e-6)
    # A noisy exposure (each site shown with probability 0.7) gives the same pattern:
    # zero off the designed bonds, 0.7^2 of the additive value on them. Within 5
    # binomial standard deviations per bond (34 bonds: a false alarm ~2e-5) and pooled.
    dJ = np.asarray(_noisy_exposure(jax.random.key(3), s))
    assert np.all((dJ != 0) == (add != 0))
    z, pooled = noisy_exposure_z(add, dJ)
    assert np.max(np.abs(z)) < 5 and abs(pooled) < 5, (z, pooled)


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
