"""Boltzmann machine and RBM energies, their samplers, and clamped sampling, against
brute-force enumeration."""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from learning_helpers import random_ising

import learning
import molcomp
from molcomp.observables import integrated_autocorr_time


def spins(config):
    """State indices {0, 1} -> spins {-1, +1} (the package's binary convention)."""
    return 2.0 * jnp.asarray(config, jnp.float32) - 1.0


def all_states(n, S=2):
    """Every configuration of n sites with S states, (S^n, n)."""
    return jnp.asarray(list(itertools.product(range(S), repeat=n)), jnp.int32)


def test_bm_energy_matches_definition():
    bm = random_ising(jax.random.key(0), 5, w_scale=0.7, b_scale=0.5)
    W, b = np.asarray(bm.matrix()), np.asarray(bm.biases)
    assert np.allclose(W, W.T) and np.all(np.diag(W) == 0)
    for x in itertools.product([0, 1], repeat=5):
        s = 2 * np.array(x) - 1
        by_hand = -sum(W[i, j] * s[i] * s[j] for i in range(5) for j in range(i + 1, 5)) - b @ s
        assert np.isclose(float(bm.energy(jnp.array(x))), by_hand, atol=1e-5)
    again = learning.neural.BoltzmannMachine.from_matrix(W, b)
    assert np.allclose(again.weights, bm.weights)


def test_rbm_free_energy_sums_out_hidden_units():
    key = jax.random.key(1)
    rbm = learning.neural.RBM(
        jax.random.normal(key, (3, 2)), jnp.array([0.3, -0.2, 0.1]), jnp.array([0.5, -0.4]), 0.8
    )
    hidden = all_states(2)
    for v in all_states(3):
        joint = jax.vmap(lambda h: rbm.energy(jnp.concatenate([v, h])))(hidden)
        assert np.isclose(float(rbm.free_energy(v)), -float(jax.nn.logsumexp(-joint)), atol=1e-5)
    # The marginal model of the visibles: p(v) = sum_h p(v, h), over molcomp.exact's
    # enumeration (site 0 the fastest digit, so joint index = v index + 8 h index).
    joint_lp = molcomp.exact.log_probabilities(rbm).reshape(4, 8)  # (h, v)
    marginal_lp = molcomp.exact.log_probabilities(rbm.marginal())
    np.testing.assert_allclose(marginal_lp, jax.nn.logsumexp(joint_lp, axis=0), atol=1e-5)
    assert rbm.marginal().n_sites == 3 and rbm.n_sites == 5
    # The Ising form is the same energy.
    W, h = rbm.ising_form()
    x = jnp.array([1, 0, 1, 1, 0])
    s = spins(x)
    assert np.isclose(float(rbm.energy(x)), float(-(0.5 * s @ W @ s + h @ s)), atol=1e-5)


def _marginals_and_tolerance(trace):
    """Mean of a (steps, chains, k) series and 5 standard errors from its ESS."""
    trace = np.asarray(trace)
    steps, chains, k = trace.shape
    mean = trace.mean(axis=(0, 1))
    tol = np.empty(k)
    for j in range(k):
        tau = integrated_autocorr_time(trace[:, :, j])
        tol[j] = 5 * trace[:, :, j].std() * np.sqrt(tau / (steps * chains)) + 1e-3
    return mean, tol


def _spin_moments(model, config):
    s = spins(config)
    iu, ju = np.triu_indices(s.shape[0], 1)
    return jnp.concatenate([s, s[iu] * s[ju]])


@pytest.mark.parametrize("kind", ["bm", "rbm"])
def test_samplers_match_exact_moments(kind):
    """First and second moments of SequentialGibbs (BM) and AlternatingGibbs (RBM),
    driven by molcomp.sample, equal the enumerated ones within 5 ESS standard errors."""
    key = jax.random.key(2)
    if kind == "bm":
        model, sampler = (
            random_ising(key, 6, w_scale=0.6, b_scale=0.3),
            learning.neural.SequentialGibbs(),
        )
    else:
        W = 0.7 * jax.random.normal(key, (4, 3))
        model = learning.neural.RBM(W, 0.2 * jnp.ones(4), -0.3 * jnp.ones(3))
        sampler = learning.neural.AlternatingGibbs()
    n = model.n_sites
    configs = molcomp.exact.configurations(model)
    p = jax.nn.softmax(-jax.vmap(model.energy)(configs))
    exact = np.asarray(p @ jax.vmap(lambda c: _spin_moments(model, c))(configs))
    state = sampler.init(model, jnp.zeros((32, n), jnp.int32))
    state = molcomp.sample(jax.random.key(3), model, sampler, state, 50).state
    out = molcomp.sample(jax.random.key(4), model, sampler, state, 400, trace_fn=_spin_moments)
    mean, tol = _marginals_and_tolerance(out.trace)
    assert np.all(np.abs(mean - exact) < tol), np.abs(mean - exact) / tol


def _conditional_marginals(model, config, clamp):
    """Exact p(x_i = a | clamped sites) for the free sites, by enumerating them."""
    free = np.flatnonzero(~clamp)
    S = model.n_states
    assign = all_states(len(free), S)
    full = jnp.broadcast_to(config, (assign.shape[0], config.shape[0])).at[:, free].set(assign)
    p = jax.nn.softmax(-jax.vmap(model.energy)(full))
    return np.asarray(jnp.einsum("k,kis->is", p, jax.nn.one_hot(assign, S))), free


@pytest.mark.parametrize("sampler", ["gibbs", "metropolis", "sequential", "alternating"])
def test_clamped_sampling_is_the_exact_conditional(sampler):
    """Clamped sites never move and the free ones follow p(free | clamped): on a 4x4
    lattice (which BlockGibbs would otherwise sweep with its checkerboard kernel) and on
    a Boltzmann machine."""
    rng = np.random.default_rng(5)
    if sampler == "sequential":
        model = random_ising(jax.random.key(5), 8, w_scale=0.8, b_scale=0.3)
        inner = learning.neural.SequentialGibbs()
        clamp = np.array([1, 0, 1, 0, 0, 1, 0, 1], bool)
    elif sampler == "alternating":  # an RBM's hidden units given its visibles
        W = 0.8 * jax.random.normal(jax.random.key(5), (4, 3))
        model = learning.neural.RBM(W, 0.2 * jnp.ones(4), -0.3 * jnp.ones(3))
        inner = learning.neural.AlternatingGibbs()
        clamp = model.visible
    else:
        J = rng.normal(size=(2, 3, 3))
        model = molcomp.PottsModel(
            molcomp.lattice.square(4), molcomp.Couplings.oriented(J), mu=jnp.array([0.4, -0.3, 0.2])
        )
        inner = molcomp.BlockGibbs() if sampler == "gibbs" else molcomp.Metropolis()
        clamp = np.ones(16, bool)
        clamp[[1, 4, 6, 9, 11, 14]] = False  # six free sites, some of them neighbours
    n = clamp.shape[0]
    config = jnp.asarray(rng.integers(0, model.n_states, n), jnp.int32)
    exact, free = _conditional_marginals(model, config, clamp)
    clamped = learning.Clamped(inner, clamp)
    state = clamped.init(model, jnp.broadcast_to(config, (32, n)))
    one_hot = lambda m, c: jax.nn.one_hot(c[free], m.n_states).reshape(-1)  # noqa: E731
    out = molcomp.sample(jax.random.key(6), model, clamped, state, 300, trace_fn=one_hot)
    final = np.asarray(out.state.config)
    assert np.all(final[:, clamp] == np.asarray(config)[clamp])
    mean, tol = _marginals_and_tolerance(out.trace)
    assert np.all(np.abs(mean - exact.reshape(-1)) < tol)


def test_models_are_sampled_by_molcomp_sample_and_validate_states():
    bm = random_ising(jax.random.key(7), 4)
    with pytest.raises(ValueError, match="states must be 0 or 1"):
        bm.check_state(jnp.array([0, 1, 2, 0]), "config")
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4\)"):
        learning.neural.SequentialGibbs().init(bm, jnp.zeros((2, 5), jnp.int32))
    with pytest.raises(TypeError, match="SequentialGibbs samples binary models"):
        learning.neural.SequentialGibbs().init(
            molcomp.PottsModel(molcomp.lattice.square(3), molcomp.interactions.ising()),
            jnp.zeros(9, jnp.int32),
        )
    with pytest.raises(ValueError, match="symmetric"):
        learning.neural.BoltzmannMachine.from_matrix(
            np.array([[0.0, 1.0], [0.5, 0.0]]), np.zeros(2)
        )
    with pytest.raises(ValueError, match="must be finite"):
        learning.neural.BoltzmannMachine(jnp.array([jnp.nan]), jnp.zeros(2))
    # Clamped refuses swap moves, and a mask of the wrong shape names the argument.
    with pytest.raises(TypeError, match="Clamped supports"):
        learning.Clamped(molcomp.SwapMetropolis(), np.zeros(9, bool))
    with pytest.raises(ValueError, match=r"clamp must have shape \(4,\)"):
        learning.Clamped(learning.neural.SequentialGibbs(), np.zeros(3, bool)).init(
            bm, jnp.zeros(4, jnp.int32)
        )
    assert eqx.tree_equal(bm, bm)
