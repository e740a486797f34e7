"""The linker sleep-wake rule: with exact averages it equals jax.grad of the exact KL
(computed through the integrated-out model, an independent path), the ln z gradient
is <n>_model - <n>_data, exact conditional sampling of linkers, and optax training
recovers target concentrations."""

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import optax
import pytest

import learning
import molcomp
from molcomp import lattice
from molcomp.linkers import ExplicitLinkerLattice, Linkers

J0 = jnp.array([[-0.5, 0.2], [0.2, 0.1]])
MU = jnp.array([0.3, -0.4])
K = [[1.5, 0.2], [0.3, 2.5]]


def _joint(graph, concentrations, bridge=3.0):
    lat = lattice.from_graph(graph)
    lk = Linkers(concentrations, K, bridge=bridge)
    return learning.linkers.LinkerJointModel(ExplicitLinkerLattice(lat, J0, MU, lk))


def _exact_kl(model, data, weights):
    """KL(P_data || Q) from the integrated-out Potts model (not the joint enumeration)."""
    ex = model.explicit
    eff = ex.linkers.effective_model(ex.lattice, ex.J0, ex.mu)
    log_q = -jax.vmap(eff.energy)(data) - molcomp.exact.log_partition(eff)
    return jnp.sum(weights * (jnp.log(weights) - log_q))


@pytest.fixture(scope="module")
def path3():
    """3-site path (2 bonds, 2 dangling faces), 2 species + empty, 2 linker types:
    27 site configurations x 3^8 linker states, enumerated."""
    model = _joint(nx.path_graph(3), [0.7, 2.0])
    return model, learning.linkers.joint_states(model)


@pytest.fixture(scope="module")
def log_weights(path3):
    model, states = path3
    return np.asarray(eqx.filter_jit(lambda m, x: -jax.vmap(m.energy)(x))(model, states))


def test_estimator_equals_grad_of_exact_kl(path3):
    # Data: 5 site configurations with unequal weights. Both phases exact (enumerated):
    # the estimator must equal jax.grad of the exact KL, to float32 precision of sums
    # over ~10^4 states (1e-4 relative).
    model, states = path3
    data = jnp.array([[0, 1, 0], [0, 0, 2], [1, 2, 1], [2, 0, 1], [1, 1, 1]])
    weights = jnp.array([0.3, 0.1, 0.25, 0.15, 0.2])
    w_data, w_model = eqx.filter_jit(learning.linkers.exact_phases)(model, states, data, weights)
    grads, info = eqx.filter_jit(learning.linkers.linker_sleep_wake_grad)(
        model, states, states, data_weights=w_data, model_weights=w_model
    )
    raw = model.explicit.linkers.raw
    exact_kl = jax.jit(jax.grad(lambda r: _exact_kl(eqx.tree_at(_raw, model, r), data, weights)))
    exact = exact_kl(raw)
    np.testing.assert_allclose(grads.explicit.linkers.raw, exact, rtol=1e-4, atol=1e-6)
    assert np.abs(np.asarray(exact)).min() > 1e-2  # a non-trivial gradient
    # sign and form: d KL / d ln z = <n>_model - <n>_data, chained through the softplus
    c = jax.nn.softplus(raw)
    chain = info.grad_log_concentration * jax.nn.sigmoid(raw) / c
    np.testing.assert_allclose(chain, exact, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        info.grad_log_concentration, info.bound_model - info.bound_data, rtol=1e-6
    )
    assert grads.explicit.linkers.binding is None and grads.explicit.J0 is None


def _raw(m):
    return m.explicit.linkers.raw


def test_sample_linkers_is_exact_given_sites(path3, log_weights, getkey):
    # 4000 draws of the linkers given one site configuration (species 1, 0, then an
    # empty end with its dangling faces): every draw is a possible state (one of the
    # enumerated ones), and the mean bound counts agree with the enumerated
    # conditional law (counted here in numpy) within 4 standard errors.
    model, states = path3
    sites = np.array([1, 0, 2])
    draws = eqx.filter_jit(learning.linkers.sample_linkers)(
        getkey(), model, np.tile(sites, (4000, 1))
    )
    draws, states = np.asarray(draws), np.asarray(states)
    np.testing.assert_array_equal(draws[:, :3], np.tile(sites, (4000, 1)))
    assert {tuple(d) for d in draws} <= {tuple(x) for x in states}

    def bound(x):
        return np.stack([np.sum(x[:, 3:] == k + 1, 1) for k in range(2)], 1)

    w = np.where(np.all(states[:, :3] == sites, 1), np.exp(log_weights), 0)
    w /= w.sum()
    mean, var = w @ bound(states), w @ bound(states) ** 2 - (w @ bound(states)) ** 2
    sampled = bound(draws).mean(0)
    assert np.all(np.abs(sampled - mean) < 4 * np.sqrt(var / 4000)), (sampled, mean)
    assert mean.min() > 0.1  # both linker types bind
    # bound_linkers counts the same
    np.testing.assert_array_equal(jax.vmap(model.bound_linkers)(draws[:50]), bound(draws[:50]))
    # an empty site binds nothing
    empty = learning.linkers.sample_linkers(getkey(), model, jnp.array([2, 2, 2]))
    np.testing.assert_array_equal(empty[3:], 0)


def test_training_recovers_target_concentrations():
    # Two sites, one bond: 9 site configurations. Data = the exact law of the model at
    # concentrations (0.4, 2.5); adam on the exact sleep-wake gradient from (1, 1)
    # lowers the KL by > 100x and recovers the concentrations (the species' chemical
    # potentials shift by ln(1 + S_a), which pins both down).
    target = _joint(nx.path_graph(2), [0.4, 2.5])
    ex = target.explicit
    eff = ex.linkers.effective_model(ex.lattice, ex.J0, ex.mu)
    data, p = molcomp.exact.probabilities(eff)
    model = _joint(nx.path_graph(2), [1.0, 1.0])
    states = learning.linkers.joint_states(model)
    spec = learning.linkers.linker_filter_spec(model)
    opt = optax.adam(0.05)

    @eqx.filter_jit
    def step(model, opt_state):
        w_data, w_model = learning.linkers.exact_phases(model, states, data, p)
        grads, _ = learning.linkers.linker_sleep_wake_grad(
            model, states, states, data_weights=w_data, model_weights=w_model
        )
        updates, opt_state = opt.update(grads, opt_state)
        return eqx.apply_updates(model, updates), opt_state

    opt_state = opt.init(eqx.filter(model, spec))
    kl0 = float(_exact_kl(model, data, p))
    for _ in range(300):
        model, opt_state = step(model, opt_state)
    assert float(_exact_kl(model, data, p)) < 1e-2 * kl0
    np.testing.assert_allclose(model.explicit.linkers.concentrations, [0.4, 2.5], rtol=0.05)


def test_bad_input(path3):
    model, states = path3
    with pytest.raises(TypeError, match="LinkerJointModel"):
        learning.linkers.sample_linkers(jax.random.key(0), object(), jnp.zeros(3, int))
    with pytest.raises(ValueError, match="sites must lie in"):
        learning.linkers.sample_linkers(jax.random.key(0), model, jnp.array([0, 3, 1]))
    with pytest.raises(ValueError, match="data_states must have shape"):
        learning.linkers.linker_sleep_wake_grad(model, states[:, :5], states)
    with pytest.raises(ValueError, match="data_weights must have shape"):
        learning.linkers.exact_phases(model, states, jnp.zeros((2, 3), int), jnp.ones(3))
    with pytest.raises(TypeError, match="ExplicitLinkerLattice"):
        learning.linkers.LinkerJointModel(Linkers([1.0], [[1.0], [1.0]]))


def test_joint_model_is_an_energy_model_molcomp_exact_enumerates(path3, log_weights):
    """molcomp.exact's generic enumeration (3^11 joint vectors, impossible ones at
    E = +inf) gives the ln Z of the enumerated states of nonzero weight."""
    model, _ = path3
    assert isinstance(model, molcomp.AbstractEnergyModel)
    assert model.state_shape == (11,) and model.n_states == 3
    log_z = float(eqx.filter_jit(molcomp.exact.log_partition)(model))
    want = float(jax.nn.logsumexp(jnp.asarray(log_weights)))
    assert log_z == pytest.approx(want, abs=1e-4 * max(1.0, abs(want)))
