"""Continuous-time (Gillespie / BKL) kinetics and Metropolis against exact enumeration
on a tiny multifarious mixture, through `molcomp.sample`; the sum tree; the physical
clock of `run_for`."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp.samplers import _sumtree

CHAINS = 32


def _clipped_or(structs, epsilon):
    """J_d[a, b] = -epsilon for every designed bond (d, a, b) of any structure."""
    bonds, arr = np.asarray(structs.bonds), np.asarray(structs.arrangements)
    J = np.zeros((structs.lattice.n_directions // 2, structs.n_species, structs.n_species))
    J[bonds[None, :, 2], arr[:, bonds[:, 0]], arr[:, bonds[:, 1]]] = -epsilon
    return molcomp.Couplings.oriented(J)


@pytest.fixture(scope="module")
def mixture():
    """Two random permutations of 6 species on an open 2 x 3 lattice, clipped-OR
    couplings -2 kT, unequal chemical potentials: 7^6 = 117649 states. The couplings
    are sparse (each species has at most 2 partners per direction), so the Gillespie
    "other species" channel (rates from the sorted mu) is exercised as well as the
    explicit partner channels. Returns (model, exact mean `_features`, exact draws to
    start chains from)."""
    lat = molcomp.lattice.square((2, 3), periodic=False)
    s = molcomp.structures.random(jax.random.key(3), lat, 6, 2)
    mu = jnp.array([-0.5, 0.3, -1.0, 0.0, 0.5, -0.2])
    model = molcomp.PottsModel(lat, _clipped_or(s, 2.0), mu, empty=True)
    exact = np.asarray(eqx.filter_jit(molcomp.exact.expectation)(model, _features))
    starts = molcomp.exact.sample(jax.random.key(4), model, CHAINS)
    return model, exact, starts


def _counts(model, config):
    return model.counts(config)


def _features(model, config):
    """Site marginals and per-direction contact fractions (as in `test_samplers`): 42 +
    4 x 49 features, each direction's table summing to 1."""
    c = molcomp.observables.contacts(model, config)
    c = c / jnp.sum(c, axis=(1, 2), keepdims=True)
    return jnp.concatenate([molcomp.observables.one_hot(model, config).ravel(), c.ravel()])


class _WrongPartnerRate(molcomp.Gillespie):
    """Gillespie whose partner channels use couplings 1.5 times too strong: a wrong
    partner rate, whose stationary law is not the model's (negative control)."""

    def prepare(self, model):
        p = super().prepare(model)
        return eqx.tree_at(lambda p: p.values, p, 1.5 * p.values)


def _excess(per_chain, exact, informative=True):
    """max |mean - exact| / tolerance over the features (<= 1 passes).

    The chains are independent and start from exact draws (no burn-in bias), so the
    standard error is the chain-to-chain spread, sd / sqrt(chains); we allow 5 of
    them (a t statistic with 31 degrees of freedom exceeds 5 with probability ~2e-5,
    ~5e-3 over the 238 features) plus 1e-3 (float32 sums, the O(1 / steps) bias of a
    ratio estimator, and rare contacts that no chain happened to visit)."""
    per_chain = np.asarray(per_chain, np.float64)
    se = per_chain.std(0, ddof=1) / np.sqrt(per_chain.shape[0])
    tol = 5 * se + 1e-3
    # The run must resolve every feature (not asked of the negative controls, whose
    # wrong law may spread more between chains).
    assert not informative or tol.max() < 0.1, f"run too short: tolerance {tol.max()}"
    return float(np.max(np.abs(per_chain.mean(0) - exact) / tol))


def test_gillespie_matches_exact_enumeration(mixture):
    """`sample`'s mean is the residence-time average (each observation weighted by the
    expected holding time 1 / R of its state), which agrees with exact enumeration in
    every site marginal and per-direction contact fraction. Two negative controls fail
    the same check: the plain average of the same observations (the jump chain's law
    pi R; mostly off in the empty state, which the strongly bound states' slow exits
    under-represent), and kinetics with a wrong partner rate."""
    model, exact, starts = mixture
    g = molcomp.Gillespie(partners=2, events=1)
    out = molcomp.sample(
        jax.random.key(1), model, g, g.init(model, starts), 1500, trace_fn=_features,
        mean_fn=_features,
    )  # fmt: skip
    assert _excess(out.mean, exact) <= 1.0
    assert _excess(np.asarray(out.trace).mean(0), exact, informative=False) > 2.0
    wrong = _WrongPartnerRate(partners=2, events=1)
    bad = molcomp.sample(
        jax.random.key(1), model, wrong, wrong.init(model, starts), 1500, mean_fn=_features
    )
    assert _excess(bad.mean, exact, informative=False) > 2.0
    assert np.all(np.asarray(out.state.aux.time) > 0)
    assert out.info.holding.shape == (CHAINS,) and np.all(np.asarray(out.info.dt) > 0)


def test_metropolis_matches_exact_enumeration(mixture):
    model, exact, starts = mixture
    sampler = molcomp.Metropolis(proposal="neighbour")
    res = molcomp.sample(
        jax.random.key(2), model, sampler, sampler.init(model, starts), 1500, mean_fn=_features
    )
    assert _excess(res.mean, exact) <= 1.0


def test_vmapped_chains_equal_single_chain_runs(mixture):
    """`sample` over a chain axis (vmapped, the sum tree carried across steps) equals
    `step` applied chain by chain with the keys the driver splits (step k of chain i
    uses split(keys[k], chains)[i]), and its mean is sum_k w_k f(x_k) / sum_k w_k with
    w_k = `info.holding`, the expected holding time of the state x_k."""
    model, _, starts = mixture
    g = molcomp.Gillespie(partners=2, events=2)
    chains, steps = 3, 4
    states = g.init(model, starts[:chains])
    key = jax.random.key(5)
    out = molcomp.sample(key, model, g, states, steps, mean_fn=_counts, progress=False)
    step = eqx.filter_jit(g.step)
    for i in range(chains):
        state = jax.tree_util.tree_map(lambda x: x[i], states)
        total, weight = 0.0, 0.0
        for k in jax.random.split(key, steps):
            state, info = step(jax.random.split(k, chains)[i], model, state)
            total = total + float(info.holding) * np.asarray(_counts(model, state.config))
            weight += float(info.holding)
        np.testing.assert_array_equal(out.state.config[i], state.config)
        np.testing.assert_allclose(out.state.aux.time[i], state.aux.time, rtol=1e-6)
        np.testing.assert_allclose(out.mean[i], total / weight, rtol=1e-5)


def test_run_for_stops_at_the_requested_time(mixture):
    model = mixture[0]
    g = molcomp.Gillespie(partners=2)
    run_for = eqx.filter_jit(g.run_for)  # max_events as an array: one compilation
    state = g.init(model, jnp.full(6, 6))
    state, info = run_for(jax.random.key(0), model, state, 50.0, jnp.int32(100_000))
    assert float(state.aux.time) == pytest.approx(50.0)
    assert bool(info.complete) and int(info.events) > 10
    # too few events: reported, not hidden
    state, info = run_for(
        jax.random.key(0), model, g.init(model, jnp.full(6, 6)), 50.0, jnp.int32(3)
    )
    assert int(info.events) == 3 and not bool(info.complete)
    assert float(state.aux.time) < 50.0


def test_too_few_partners_is_an_error():
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
    with pytest.raises(ValueError, match="events"):
        molcomp.Gillespie(events=0)
    with pytest.raises(ValueError, match="empty_prob"):
        molcomp.Gillespie(empty_prob=1.0)
    with pytest.raises(TypeError, match="invariant"):
        molcomp.ReplicaExchange(molcomp.Gillespie(), betas=[0.5, 1.0])


def test_masked_event_changes_nothing_and_the_tree_stays_exact(mixture):
    """After 400 events the incrementally updated tree equals one built afresh from the
    state (to float32 rounding: the site rates are the same computation); an event
    with go=False returns the state and the tree bit for bit; with go=True it changes
    exactly one site (the kinetics are rejection-free)."""
    model = mixture[0]
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


def test_vmapped_run_for_matches_single_chains(mixture):
    """Chains that finish early are masked, not stepped: under vmap (durations 5 and
    40) each chain ends exactly as it does alone with the same key."""
    model = mixture[0]
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
