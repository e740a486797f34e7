"""Continuous-time (Gillespie / BKL) kinetics and Metropolis against exact enumeration
on a tiny multifarious mixture, the sum tree, and the physical clock."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import learning
import molcomp
from molcomp.samplers import _sumtree

CHAINS = 8


@pytest.fixture(scope="module")
def mixture():
    """Two random permutations of 6 species on an open 2 x 3 lattice, clipped-OR
    couplings -2 kT, unequal chemical potentials: 7^6 = 117649 states. The couplings
    are sparse (each species has at most 2 partners per direction), so the Gillespie
    "other species" channel (rates from the sorted mu) is exercised as well as the
    explicit partner channels."""
    lat = molcomp.lattice.square((2, 3), periodic=False)
    s = molcomp.structures.random(jax.random.key(3), lat, 6, 2)
    mu = jnp.array([-0.5, 0.3, -1.0, 0.0, 0.5, -0.2])
    model = molcomp.PottsModel(lat, learning.hebbian.clipped_or(s, 2.0), mu, empty=True)
    exact = np.asarray(eqx.filter_jit(molcomp.exact.expectation)(model, _counts))
    return model, exact


def _counts(model, config):
    return model.counts(config)


def _check(estimates, exact, what):
    """Independent chains: the mean is within 5 standard errors (chain-to-chain spread)
    of the exact value, plus 0.02 for the finite-run bias of chains started empty (the
    runs are hundreds of relaxation times long)."""
    mean = estimates.mean(0)
    se = estimates.std(0, ddof=1) / np.sqrt(estimates.shape[0])
    bad = np.abs(mean - exact) > 5 * se + 0.02
    assert not bad.any(), f"{what}: {mean} vs exact {exact} (se {se})"


def test_gillespie_matches_exact_enumeration(mixture):
    model, exact = mixture
    g = molcomp.Gillespie(partners=2)
    state = g.init(model, jnp.full((CHAINS, 6), 6))
    # chains one after another (lax.map): an event loop compiles smaller than its vmap
    run = eqx.filter_jit(
        lambda ks, st: jax.lax.map(
            lambda a: molcomp.time_average(a[0], model, g, a[1], 1500, _counts), (ks, st)
        )
    )
    state, avg = run(jax.random.split(jax.random.key(1), CHAINS), state)
    _check(np.asarray(avg), exact, "gillespie")
    assert np.all(np.asarray(state.aux.time) > 0)


def test_metropolis_matches_exact_enumeration(mixture):
    model, exact = mixture
    sampler = molcomp.Metropolis(proposal="neighbour")
    state = sampler.init(model, jnp.full((CHAINS, 6), 6))
    res = molcomp.sample(jax.random.key(2), model, sampler, state, 3000, mean_fn=_counts)
    _check(np.asarray(res.mean), exact, "metropolis")


def test_advance_stops_at_the_requested_time(mixture):
    model, _ = mixture
    g = molcomp.Gillespie(partners=2)
    advance = eqx.filter_jit(g.run_for)  # max_events as an array: one compilation
    state = g.init(model, jnp.full(6, 6))
    state, info = advance(jax.random.key(0), model, state, 50.0, jnp.int32(100_000))
    assert float(state.aux.time) == pytest.approx(50.0)
    assert bool(info.complete) and int(info.events) > 10
    # too few events: reported, not hidden
    state, info = advance(
        jax.random.key(0), model, g.init(model, jnp.full(6, 6)), 50.0, jnp.int32(3)
    )
    assert int(info.events) == 3 and not bool(info.complete)
    assert float(state.aux.time) < 50.0


def test_too_few_partners_is_an_error(mixture):
    model, _ = mixture
    # random dense couplings: every state couples to all 3 species in every direction
    dense = molcomp.PottsModel(
        molcomp.lattice.square(3), molcomp.Couplings.oriented(np.ones((2, 3, 3))), empty=True
    )
    with pytest.raises(Exception, match="partners"):
        molcomp.Gillespie(partners=2).step(
            jax.random.key(0), dense, molcomp.Gillespie(partners=2).init(dense, jnp.zeros(9, int))
        )
    with pytest.raises(ValueError, match="rate"):
        molcomp.Gillespie(rate=0.0)


def test_masked_event_changes_nothing_and_the_tree_stays_exact(mixture):
    """After 400 events the incrementally updated tree equals one built afresh from the
    state (to float32 rounding: the site rates are the same computation); an event
    with go=False returns the state and the tree bit for bit; with go=True it changes
    exactly one site (the kinetics are rejection-free)."""
    model, _ = mixture
    g = molcomp.Gillespie(partners=2)
    N_U = molcomp.samplers._gillespie.N_UNIFORMS

    @jax.jit
    def run(key):
        prep = g.prepare(model)
        sigma = g.init(model, jnp.full(6, 6)).config
        tree = g._tree(model, prep, sigma)

        def body(c, k):
            u = jax.random.uniform(k, (N_U,))
            return g._event(u, (k, 0), model, prep, *c), None

        (sigma, tree), _ = jax.lax.scan(body, (sigma, tree), jax.random.split(key, 400))
        u = jax.random.uniform(key, (N_U,))
        off = g._event(u, (key, 1), model, prep, sigma, tree, jnp.bool_(False))
        on = g._event(u, (key, 1), model, prep, sigma, tree, jnp.bool_(True))
        return sigma, tree, g._tree(model, prep, sigma), off, on

    sigma, tree, fresh, off, on = run(jax.random.key(5))
    assert float(tree.total) > 0
    for a, b in zip(jax.tree_util.tree_leaves(tree), jax.tree_util.tree_leaves(fresh)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-12)
    np.testing.assert_array_equal(off[0], sigma)
    for a, b in zip(jax.tree_util.tree_leaves(off[1]), jax.tree_util.tree_leaves(tree)):
        np.testing.assert_array_equal(a, b)
    assert int(np.sum(np.asarray(on[0]) != np.asarray(sigma))) == 1


def test_vmapped_advance_matches_single_chains(mixture):
    """Chains that finish early are masked, not stepped: under vmap (durations 5 and
    40) each chain ends exactly as it does alone with the same key."""
    model, _ = mixture
    g = molcomp.Gillespie(partners=2)

    def one(key, duration):
        state = g.init(model, jnp.full(6, 6))
        state, info = g.run_for(key, model, state, duration, jnp.int32(100_000))
        return state.config, state.aux.time, info.events

    keys = jax.random.split(jax.random.key(7), 2)
    durations = jnp.array([5.0, 40.0])
    batched = jax.jit(jax.vmap(one))(keys, durations)
    single = jax.jit(one)
    for i in range(2):
        alone = single(keys[i], durations[i])
        for a, b in zip(batched, alone):
            np.testing.assert_array_equal(np.asarray(a)[i], b)
    np.testing.assert_allclose(batched[1], durations)
    assert int(batched[2][1]) > int(batched[2][0]) > 0


def test_sum_tree_draws_in_proportion():
    """20000 draws from rates 1..5 (blocks of 2, one zero pad): each frequency within 5
    binomial standard deviations (at most 0.0142) of rate / 15."""
    rates = jnp.arange(1.0, 6.0)
    tree = _sumtree.build(rates)
    assert float(tree.total) == 15.0
    draws = jax.jit(jax.vmap(_sumtree.draw, (0, None)))  # one compilation, not one per op
    leaves = draws(jax.random.split(jax.random.key(0), 20000), tree)
    freq = np.bincount(np.asarray(leaves), minlength=6) / 20000
    np.testing.assert_allclose(freq[:5], np.arange(1, 6) / 15, atol=5 * np.sqrt(0.25 / 20000))
    assert freq[5:].sum() == 0
    tree = jax.jit(_sumtree.update)(tree, jnp.array([0, 0, 4]), jnp.array([0.0, 0.0, 10.0]))
    fresh = jax.jit(_sumtree.build)(jnp.array([0.0, 2, 3, 4, 10]))
    for a, b in zip(jax.tree_util.tree_leaves(tree), jax.tree_util.tree_leaves(fresh)):
        np.testing.assert_allclose(a, b)
