"""Hopfield networks: recall at low and high load, fixed points, Lyapunov descent, the
dense network's Hebbian limit, one-step modern retrieval, and bad input.

Tolerances: for Hebbian storage of p random patterns in N units the crosstalk field on
a unit has standard deviation sqrt(p / N); at load 0.05 a unit of a pattern flips with
probability about Phi(-1 / 0.22) ~ 1e-5, so recall is near perfect (we require mean
overlap >= 0.98, leaving room for the 10% cue noise healing at N = 200). Past the
critical load 0.138 retrieval collapses to overlaps ~0.3-0.5; at load 0.25 we require
mean overlap < 0.8 (finite-size margin: at N = 200 the transition is smeared by ~0.03).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import learning

N = 200


def spins(key, p, n=N):
    return jnp.where(jax.random.bernoulli(key, 0.5, (p, n)), 1.0, -1.0)


@pytest.fixture(scope="module")
def recall_overlaps():
    # One compiled function for every network in this module (static shapes vary only
    # with the memory type).
    import equinox as eqx

    return eqx.filter_jit(learning.memory.recall_overlaps)


def test_hebbian_recall_low_load(getkey, recall_overlaps):
    net = learning.memory.Hopfield.hebbian(spins(getkey(), 10))  # load 0.05
    m = recall_overlaps(getkey(), net, 0.1, 10, None)
    assert float(jnp.mean(m)) >= 0.98


def test_hebbian_recall_degrades_past_critical_load(getkey, recall_overlaps):
    net = learning.memory.Hopfield.hebbian(spins(getkey(), 50))  # load 0.25 > 0.138
    m = recall_overlaps(getkey(), net, 0.1, 10, 20)
    assert float(jnp.mean(m)) < 0.8


def test_sync_update_recalls_low_load(getkey, recall_overlaps):
    net = learning.memory.Hopfield.hebbian(spins(getkey(), 10), update="sync")
    assert float(jnp.mean(recall_overlaps(getkey(), net, 0.1, 10, None))) >= 0.98


def test_pseudo_inverse_patterns_are_fixed_points(getkey):
    # W xi = xi - diag(W) xi with diag(W) = p / N < 1 on average: every stored pattern is
    # an exact fixed point even at load 0.3, far above the Hebbian limit.
    xi = spins(getkey(), 60)
    net = learning.memory.Hopfield.pseudo_inverse(xi, update="sync")
    out = jax.vmap(lambda x: net.recall(getkey(), x, 1))(xi)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(xi))


def test_storkey_beats_hebbian_critical_load(getkey, recall_overlaps):
    # Storkey's capacity (~0.25-0.35 at this N in the capacity race) is above Hebbian's.
    net = learning.memory.Hopfield.storkey(spins(getkey(), 30))  # load 0.15
    assert float(jnp.mean(recall_overlaps(getkey(), net, 0.1, 10, 20))) >= 0.95


def test_async_sweeps_never_raise_the_energy(getkey):
    net = learning.memory.Hopfield.hebbian(spins(getkey(), 40))
    s = spins(getkey(), 1)[0]
    energies = [float(net.energy(s))]
    for _ in range(4):
        s = net.recall(getkey(), s, 1)
        energies.append(float(net.energy(s)))
    # float32 sums of 200 terms: allow a rounding slack of 1e-4 relative.
    assert all(b <= a + 1e-4 * abs(a) for a, b in zip(energies, energies[1:]))


def test_potts_recall_low_load(getkey, recall_overlaps):
    xi = jax.random.randint(getkey(), (10, N), 0, 3)
    net = learning.memory.PottsHopfield.hebbian(xi, 3)
    assert float(jnp.mean(recall_overlaps(getkey(), net, 0.1, 10, None))) >= 0.98
    assert float(net.overlaps(xi[0])[0]) == pytest.approx(1.0)


def test_dense_n2_is_hebbian(getkey):
    # F(x) = x^2 gives F(r + xi_i) - F(r - xi_i) = 4 r xi_i: the Hebbian update exactly.
    xi = spins(getkey(), 30)
    dense = learning.memory.DenseHopfield(xi, 2, update="sync")
    hebb = learning.memory.Hopfield.hebbian(xi, update="sync")
    s = spins(getkey(), 1)[0]
    np.testing.assert_array_equal(
        np.asarray(dense.recall(None, s, 1)), np.asarray(hebb.recall(None, s, 1))
    )


def test_dense_cubic_stores_beyond_hebbian(getkey, recall_overlaps):
    net = learning.memory.DenseHopfield(spins(getkey(), 100, 100), 3)  # load 1.0
    assert float(jnp.mean(recall_overlaps(getkey(), net, 0.1, 5, 16))) >= 0.95


def test_modern_retrieves_in_one_update(getkey):
    xi = spins(getkey(), 20, 64)
    net = learning.memory.ModernHopfield(xi, beta=1.0)
    cues = jax.vmap(net.corrupt, (0, 0, None))(jax.random.split(getkey(), 20), xi, 0.1)
    states, m, idx = jax.vmap(lambda c: learning.memory.recall(None, net, c, steps=1))(cues)
    np.testing.assert_array_equal(np.asarray(idx), np.arange(20))
    # well separated: overlap 0.8 * 64 vs crosstalk ~ 3 sqrt(64) gives weights e^-27
    assert float(jnp.min(jnp.diagonal(m))) > 0.999
    assert bool(jnp.all(jax.vmap(net.energy)(states) <= jax.vmap(net.energy)(cues)))


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: learning.memory.Hopfield.hebbian(jnp.array([[0.0, 1.0], [1.0, 1.0]])),
            "-1 and \\+1",
        ),
        (lambda: learning.memory.Hopfield.hebbian(jnp.zeros((0, 4))), "empty"),
        (lambda: learning.memory.Hopfield.hebbian(jnp.ones(4)), "shape"),
        (lambda: learning.memory.Hopfield.hebbian(jnp.ones((2, 4)), update="random"), "update"),
        (lambda: learning.memory.ModernHopfield(jnp.ones((2, 4)), beta=0.0), "beta"),
        (lambda: learning.memory.ModernHopfield(jnp.ones((2, 4)), beta=-1.0), "beta"),
        (lambda: learning.memory.ModernHopfield(jnp.zeros((0, 4))), "empty"),
        (lambda: learning.memory.PottsHopfield.hebbian(jnp.array([[0, 3]]), 3), "0..2"),
        (lambda: learning.memory.PottsHopfield.hebbian(jnp.array([[0, 1]]), 1), "q"),
        (lambda: learning.memory.DenseHopfield(jnp.ones((2, 4)), 1), "n"),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_cue_length_mismatch():
    net = learning.memory.Hopfield.hebbian(jnp.ones((2, 4)))
    with pytest.raises(ValueError, match="length N = 4"):
        learning.memory.recall(None, net, jnp.ones(5))
    with pytest.raises(ValueError, match="length N = 4"):
        learning.memory.ModernHopfield(jnp.ones((2, 4))).recall(None, jnp.ones(3))


def test_hopfield_networks_are_energy_models_molcomp_exact_enumerates():
    """Every Hopfield network with an energy is a molcomp energy model: the +-1 networks
    take integer states (s = 2x - 1) as molcomp.exact enumerates them, and their ln Z
    equals a brute-force sum over the 2^6 spin vectors; the modern network is
    continuous."""
    import itertools

    import molcomp

    xi = spins(jax.random.key(30), 2, 6)
    brute = jnp.asarray(list(itertools.product([-1.0, 1.0], repeat=6)))
    for net in (learning.memory.Hopfield.hebbian(xi), learning.memory.DenseHopfield(xi, n=3)):
        assert isinstance(net, molcomp.AbstractEnergyModel) and net.n_states == 2
        x = jnp.array([1, 0, 0, 1, 1, 0])
        assert float(net.energy(x)) == pytest.approx(float(net.energy(2.0 * x - 1.0)))
        want = float(jax.nn.logsumexp(-jax.vmap(net.energy)(brute)))
        assert float(molcomp.exact.log_partition(net)) == pytest.approx(want, abs=1e-4)
    with pytest.raises(ValueError, match="states 0/1"):
        learning.memory.Hopfield.hebbian(xi).check_state(jnp.full(6, 0.5))
    potts = learning.memory.PottsHopfield.hebbian(jnp.array([[0, 1, 2, 0], [2, 2, 1, 0]]), 3)
    assert potts.n_states == 3 and potts.state_shape == (4,)
    configs, p = molcomp.exact.probabilities(potts)
    assert configs.shape == (81, 4) and float(jnp.sum(p)) == pytest.approx(1.0, abs=1e-5)
    modern = learning.memory.ModernHopfield(xi, beta=2.0)
    assert not modern.is_discrete and modern.state_shape == (6,)
