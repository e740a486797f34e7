"""Exact enumeration against an independent numpy brute force; gradients of the
log-likelihood against finite differences and the sleep-wake identity."""

import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import exact, lattice, observables

# One compilation per model structure, shared by models that differ only in values.
log_partition = eqx.filter_jit(exact.log_partition)
log_likelihood = eqx.filter_jit(exact.log_likelihood)
grad_log_likelihood = eqx.filter_jit(exact.grad_log_likelihood)
expect = eqx.filter_jit(exact.expectation)


def numpy_energies(configs, R, C, periodic, J, mu, beta):
    """Energies of (m, R*C) configurations from an explicit bond list (float64).

    J: (2, S, S) tables for +x (next column) and +y (next row), already padded with
    the empty state; mu: (S,).
    """
    s = np.asarray(configs).reshape(-1, R, C)
    e = -mu[s].sum(axis=(1, 2))
    for r, c in itertools.product(range(R), range(C)):
        if periodic or c + 1 < C:
            e = e + beta * J[0][s[:, r, c], s[:, r, (c + 1) % C]]
        if periodic or r + 1 < R:
            e = e + beta * J[1][s[:, r, c], s[:, (r + 1) % R, c]]
    return e


def logsumexp(x):
    m = x.max()
    return m + math.log(np.exp(x - m).sum())


def oriented_model(R, C, periodic, q, empty, seed):
    rng = np.random.default_rng(seed)
    Jf = rng.normal(size=(2, q, q))
    mu = rng.normal(size=q)
    model = molcomp.PottsModel(
        lattice.square((R, C), periodic=periodic),
        molcomp.Couplings.oriented(Jf),
        mu=mu,
        beta=0.8,
        empty=empty,
    )
    pad = int(empty)
    return model, np.pad(Jf, ((0, 0), (0, pad), (0, pad))), np.pad(mu, (0, pad))


@pytest.mark.parametrize(
    "R, C, periodic, q, empty",
    [(3, 3, True, 2, True), (2, 3, False, 3, False), (2, 2, False, 4, True)],
)
def test_log_partition_matches_numpy_brute_force(R, C, periodic, q, empty):
    model, J, mu = oriented_model(R, C, periodic, q, empty, seed=R * C + q)
    S = q + int(empty)
    configs = np.array(list(itertools.product(range(S), repeat=R * C)))
    e = numpy_energies(configs, R, C, periodic, J, mu, 0.8)
    log_z = logsumexp(-e)
    assert exact.n_configurations(model) == S ** (R * C)
    assert float(log_partition(model)) == pytest.approx(log_z, abs=2e-4 * max(1.0, abs(log_z)))
    # Probabilities, configuration by configuration (order-independent comparison).
    got_configs, p = exact.probabilities(model)
    want = dict(zip(map(tuple, configs), np.exp(-e - log_z)))
    got = dict(zip(map(tuple, np.asarray(got_configs).tolist()), np.asarray(p)))
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), atol=1e-6, rtol=1e-3)


def test_place_model_log_partition_matches_numpy():
    rng = np.random.default_rng(4)
    Jf = rng.normal(size=(2, 3, 3))
    model = molcomp.PlaceModel(
        lattice.square((2, 3), periodic=False),
        molcomp.Couplings.oriented(Jf),
        beta=1.2,
        composition=(2, 2, 2),
    )
    configs = np.array(sorted(set(itertools.permutations([0, 0, 1, 1, 2, 2]))))
    assert len(configs) == exact.n_configurations(model) == 90
    e = numpy_energies(configs, 2, 3, False, Jf, np.zeros(3), 1.2)
    assert float(log_partition(model)) == pytest.approx(logsumexp(-e), abs=1e-4)
    full = molcomp.PlaceModel(
        lattice.square(3, periodic=False), molcomp.interactions.potts(1.0, q=9)
    )
    assert exact.n_configurations(full) == math.factorial(9)


def test_size_limit_raises():
    model, _, _ = oriented_model(3, 3, True, 2, True, seed=0)  # 3^9 = 19683 states
    for f in (exact.log_partition, exact.probabilities):
        with pytest.raises(ValueError, match="max_states"):
            f(model, max_states=1000)
    with pytest.raises(ValueError, match="max_states"):
        exact.expectation(model, observables.counts, max_states=1000)
    big = molcomp.PottsModel(lattice.square(5), molcomp.interactions.potts(1.0, q=3), empty=True)
    with pytest.raises(ValueError, match="exceeds"):  # 4^25 states, default limit
        exact.log_partition(big)


# ---- gradients of the log-likelihood ----------------------------------------------


def gradient_models():
    rng = np.random.default_rng(5)
    J = rng.normal(size=(2, 2))
    return {
        "oriented-empty": oriented_model(2, 2, False, 2, True, seed=6)[0],
        "symmetric": molcomp.PottsModel(
            lattice.square(3), molcomp.Couplings.symmetric(J + J.T), mu=[0.3, -0.4], beta=0.9
        ),
        "place": molcomp.PlaceModel(
            lattice.square((2, 3), periodic=False),
            molcomp.Couplings.oriented(rng.normal(size=(2, 3, 3))),
            composition=(2, 2, 2),
        ),
    }


def some_data(key, model, m=6):
    if isinstance(model, molcomp.PlaceModel):
        ref = model.reference_state()
        return jax.vmap(lambda k: jax.random.permutation(k, ref))(jax.random.split(key, m))
    return jax.random.randint(key, (m, model.lattice.n_sites), 0, model.n_states)


def parameters(model):
    """(name, getter) for every trainable parameter array of the model."""
    out = [("couplings", lambda m: m.couplings.params), ("beta", lambda m: m.beta)]
    if isinstance(model, molcomp.PottsModel):
        out.append(("mu", lambda m: m.mu))
    return out


@pytest.mark.parametrize("name", ["oriented-empty", "symmetric", "place"])
def test_grad_log_likelihood_matches_finite_differences(getkey, name):
    model = gradient_models()[name]
    data = some_data(getkey(), model)
    grads = grad_log_likelihood(model, data)
    h = 1e-2
    # Central differences in float32: truncation ~h^2 and rounding ~1e-6 / h, both far
    # below the 2e-3 tolerance; a missing factor (beta, 1/2) errs by O(0.1).
    for pname, get in parameters(model):
        g = np.asarray(get(grads)).ravel()
        base = np.asarray(get(model), np.float32)
        for i in range(base.size):
            step = np.zeros(base.size, np.float32)
            step[i] = h
            shift = [
                eqx.tree_at(get, model, jnp.asarray(base + sgn * step.reshape(base.shape)))
                for sgn in (1.0, -1.0)
            ]
            fd = (float(log_likelihood(shift[0], data)) - float(log_likelihood(shift[1], data))) / (
                2 * h
            )
            assert g[i] == pytest.approx(fd, abs=2e-3), (pname, i)


def sufficient_gradients(model, counts, contacts):
    """d E / d theta from counts (S,) and contacts (D, S, S), per stored parameter."""
    q = model.q
    n = contacts[:, :q, :q]
    J = np.asarray(model.couplings.matrices())
    beta = float(model.beta)
    out = {"beta": 0.5 * np.sum(J * n)}
    if model.couplings.is_oriented:
        h = n.shape[0] // 2
        # params[d] enters as J[d] and, transposed, as J[d + K/2]; each bond is counted
        # once from each end, hence the 1/2.
        out["couplings"] = 0.5 * beta * (n[:h] + np.swapaxes(n[h:], 1, 2))
    else:
        iu, ju = np.triu_indices(q)
        sym = 0.5 * beta * (n[0] + n[0].T)
        out["couplings"] = np.where(iu == ju, 0.5 * sym[iu, ju], sym[iu, ju])
    if isinstance(model, molcomp.PottsModel):
        out["mu"] = -np.asarray(counts)[:q]
    return out


def data_statistics(model, data):
    counts = np.mean([np.asarray(model.counts(s)) for s in data], axis=0)
    contacts = np.mean([np.asarray(model.contacts(s)) for s in data], axis=0)
    return counts, contacts


def both_statistics(m, s):
    return m.counts(s), m.contacts(s)


@pytest.mark.parametrize("name", ["oriented-empty", "symmetric", "place"])
def test_grad_log_likelihood_is_sleep_minus_wake(getkey, name):
    # d/dtheta mean log p(data) = <dE/dtheta>_model - <dE/dtheta>_data (ARCHITECTURE.md:
    # the sleep-wake loss gradient is its negative).
    model = gradient_models()[name]
    data = some_data(getkey(), model)
    grads = grad_log_likelihood(model, data)
    model_stats = [np.asarray(a) for a in expect(model, both_statistics)]
    sleep = sufficient_gradients(model, *model_stats)
    wake = sufficient_gradients(model, *data_statistics(model, data))
    for pname, get in parameters(model):
        want = np.asarray(sleep[pname]) - np.asarray(wake[pname])
        np.testing.assert_allclose(
            get(grads), want.reshape(np.shape(get(grads))), atol=2e-4, rtol=1e-4
        )


def test_log_likelihood_is_mean_log_probability(getkey):
    model = gradient_models()["oriented-empty"]
    configs, p = exact.probabilities(model)
    idx = jax.random.randint(getkey(), (5,), 0, configs.shape[0])
    want = float(jnp.mean(jnp.log(p[idx])))
    assert float(log_likelihood(model, configs[idx])) == pytest.approx(want, abs=1e-4)
    assert float(jnp.sum(p)) == pytest.approx(1.0, abs=1e-5)
