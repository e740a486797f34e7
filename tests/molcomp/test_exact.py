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


# ---- any discrete energy model; one enumeration order; exact sampling ------------------


class Chain(molcomp.AbstractEnergyModel):
    """A non-lattice discrete model: E(x) = sum_i h[x_i] + w [x_i == x_{i+1}] on 4 sites
    with 3 states (a model molcomp.exact knows nothing about but its energy)."""

    h: jax.Array
    w: jax.Array

    @property
    def state_shape(self):
        return (4,)

    @property
    def n_states(self):
        return 3

    def check_state(self, state, name="state"):
        return jnp.asarray(state)

    def energy(self, x):
        return jnp.sum(self.h[x]) + self.w * jnp.sum(x[1:] == x[:-1])


def test_any_discrete_model_is_enumerated_in_digit_order():
    model = Chain(jnp.array([0.3, -0.5, 0.1]), jnp.array(0.7))
    configs = np.asarray(exact.configurations(model))
    assert configs.shape == (81, 4) and exact.n_configurations(model) == 81
    # Configuration i has site j in state (i // 3**j) % 3: site 0 is the fastest digit.
    assert configs[1].tolist() == [1, 0, 0, 0] and configs[3].tolist() == [0, 1, 0, 0]
    np.testing.assert_array_equal(exact.configuration_index(model, configs), np.arange(81))
    e = np.array([float(model.energy(jnp.asarray(c))) for c in configs])
    assert float(log_partition(model)) == pytest.approx(logsumexp(-e), abs=1e-5)
    # Batched log-probabilities (batch smaller than the enumeration) agree with softmax.
    lp = exact.log_probabilities(model, batch_size=16)
    np.testing.assert_allclose(np.exp(lp), np.exp(-e - logsumexp(-e)), atol=1e-6)
    with pytest.raises(TypeError, match="discrete"):
        exact.log_partition(Continuous())


class Continuous(molcomp.AbstractEnergyModel):
    """A continuous model (n_states None): not enumerable."""

    @property
    def state_shape(self):
        return (2,)

    @property
    def n_states(self):
        return None

    def check_state(self, state, name="state"):
        return jnp.asarray(state)

    def energy(self, x):
        return jnp.sum(x**2)


@pytest.mark.parametrize("which", ["chain", "place"])
def test_exact_sample_follows_the_enumerated_distribution(which):
    if which == "chain":
        model = Chain(jnp.array([0.3, -0.5, 0.1]), jnp.array(0.7))
    else:
        model = gradient_models()["place"]
    configs, p = (np.asarray(a) for a in exact.probabilities(model))
    n = 40_000
    draws = np.asarray(exact.sample(jax.random.key(3), model, n))
    assert draws.shape == (n, configs.shape[1])
    lookup = {tuple(c): i for i, c in enumerate(configs.tolist())}
    counts = np.bincount([lookup[tuple(d)] for d in draws.tolist()], minlength=len(p))
    # Each frequency within 5 binomial standard errors (plus 1e-4 for float32 CDFs);
    # a wrong enumeration order or an off-by-one in the CDF moves mass by >> that.
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(counts / n - p) < 5 * se + 1e-4)


def test_uniform_draws_cover_the_configurations():
    place = gradient_models()["place"]
    draws = np.asarray(exact.uniform(jax.random.key(4), place, 500))
    assert all(sorted(d) == [0, 0, 1, 1, 2, 2] for d in draws.tolist())  # the composition
    chain = Chain(jnp.zeros(3), jnp.array(0.0))
    draws = np.asarray(exact.uniform(jax.random.key(5), chain, 3000))
    freq = np.bincount(draws.ravel(), minlength=3) / draws.size
    assert np.all(np.abs(freq - 1 / 3) < 0.02)  # 12000 uniform site states: se 0.004
