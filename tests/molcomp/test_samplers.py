"""Every sampler against exact enumeration: site marginals and contact matrices.

Tolerances come from the effective sample size (`sampler_contract.ess_tolerance`, shared
with the sampler contract test). For each case we record scalar series (the energy, the
species counts and the state of site 0) and take the largest tau_int among them, so
ESS = chains * sweeps / tau_max. Each feature f (a site-state indicator or a normalised
contact count) then has standard error sqrt(Var_exact f / ESS), with the variance itself
from exact enumeration. We allow 5 standard errors plus a floor of 1e-3 (float32
accumulation over a few thousand sweeps, and features of exactly zero variance). At 5
sigma a false alarm has probability ~6e-7 per feature, so below ~1e-3 per case even
with a few thousand features and tau underestimated by 20 %; the seeds are fixed in any
case. Each run is sized so that its largest tolerance is below 0.05
(asserted) and most are below 0.01. The tests do catch errors: besides the negative
control at the end (a missing Hastings factor), transposed oriented couplings in
delta_energy, padded neighbour slots counted as bonds, a heat bath at the wrong
temperature and a wrong proposal density each failed them when tried.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from sampler_contract import ess_tolerance

import molcomp
from molcomp import exact, lattice, observables


def features(model, config):
    """Site marginals and contact fractions (each direction's table sums to 1)."""
    c = observables.contacts(model, config)
    c = c / jnp.sum(c, axis=(1, 2), keepdims=True)
    return jnp.concatenate([observables.one_hot(model, config).ravel(), c.ravel()])


def scalars(model, config):
    """Series whose autocorrelation bounds that of the features."""
    return jnp.concatenate(
        [
            observables.energy(model, config)[None],
            observables.counts(model, config),
            observables.one_hot(model, config)[0],
        ]
    )


def both(m, c):
    f = features(m, c)
    return f, f * f


# Jitted so that models differing only in values (mu) share one compilation.
_expect = eqx.filter_jit(exact.expectation)


def _moments(model, batch_size):
    mean, square = _expect(model, both, batch_size=batch_size)
    return np.asarray(mean), np.asarray(square) - np.asarray(mean) ** 2


_EXACT = {}


def exact_moments(name, model, batch_size=1 << 15):
    """(mean, variance) of `features`, cached per case: a model serves several samplers."""
    if name not in _EXACT:
        _EXACT[name] = _moments(model, batch_size)
    return _EXACT[name]


def random_configs(key, model, chains):
    n = model.lattice.n_sites
    if isinstance(model, molcomp.PlaceModel):
        ref = model.reference_state()
        return jax.vmap(lambda k: jax.random.permutation(k, ref))(jax.random.split(key, chains))
    return jax.random.randint(key, (chains, n), 0, model.n_states)


def run_chains(key, model, sampler, chains, sweeps, start=None):
    """Burn in for `sweeps` (discarded), then measure for `sweeps` more.

    Both calls have the same static arguments, so `sample` compiles only once. With
    `start` (exact draws, already in equilibrium) the burn-in is skipped.
    """
    k0, k1, k2 = jax.random.split(key, 3)
    kw = dict(trace_fn=scalars, mean_fn=features)
    if start is None:
        state = sampler.init(model, random_configs(k0, model, chains))
        state = molcomp.sample(k1, model, sampler, state, sweeps, **kw).state
    else:
        state = sampler.init(model, start)
    return molcomp.sample(k2, model, sampler, state, sweeps, **kw)


def excess(key, model, sampler, moments, *, chains=128, sweeps=1000, start=None):
    """max over features of |mean - exact| / tolerance (<= 1 passes)."""
    mean, var = moments
    out = run_chains(key, model, sampler, chains, sweeps, start)
    tol, ess = ess_tolerance(out.trace, var)  # trace: (sweeps, chains, n_series)
    got = np.asarray(out.mean).mean(axis=0)
    assert np.all(np.asarray(out.acceptance) > 0.0)
    # The run must be informative: even the noisiest feature is resolved to 0.05.
    assert tol.max() < 0.05, f"ESS {ess:.0f} too small"
    return float(np.max(np.abs(got - mean) / tol))


SAMPLERS = {
    "gibbs": molcomp.BlockGibbs(),
    "metropolis_uniform": molcomp.Metropolis(),
    "metropolis_neighbour": molcomp.Metropolis(proposal="neighbour", empty_prob=0.2),
}
# (sampler, oriented, empty, with mu). Block Gibbs gets the full 2x2 of structure; the
# Metropolis proposals share their acceptance step, so two cases each cover both levels
# of every factor (each case is one more compilation, ~3 s).
CASES_3X3 = [
    ("gibbs", False, False, False),
    ("gibbs", False, True, True),
    ("gibbs", True, False, True),
    ("gibbs", True, True, False),
    ("metropolis_uniform", False, True, True),
    ("metropolis_uniform", True, False, False),
    ("metropolis_neighbour", False, False, True),
    ("metropolis_neighbour", True, True, True),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES_3X3, ids=lambda c: "{}-or{:d}-em{:d}-mu{:d}".format(*c))
def test_square_3x3_q3(getkey, potts3x3, with_mu, case):
    sampler_name, oriented, empty, mu = case
    model = potts3x3[oriented, empty]
    if mu:
        model = with_mu(model)
    moments = exact_moments(f"square3-{oriented}-{empty}-{mu}", model)
    assert excess(getkey(), model, SAMPLERS[sampler_name], moments) <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("neighbour_swaps", [False, True])
def test_place_model_open_3x3(getkey, place3x3, neighbour_swaps):
    sampler = molcomp.SwapMetropolis(neighbour_swaps=neighbour_swaps)
    moments = exact_moments("place3", place3x3, batch_size=1 << 13)  # 9! states
    # Swaps mix slowly (tau ~ 40-80 sweeps), so longer runs; a sweep is only 9 moves.
    assert excess(getkey(), place3x3, sampler, moments, sweeps=3000) <= 1.0


@pytest.mark.slow
def test_triangular_oriented_block_gibbs(getkey, make_couplings):
    rng = np.random.default_rng(5)
    model = molcomp.PottsModel(
        lattice.triangular(3), make_couplings(rng, 2, 6), mu=jnp.array([0.5, -0.3]), empty=True
    )
    assert len(model.lattice.blocks) == 3
    moments = exact_moments("tri3", model)
    assert excess(getkey(), model, molcomp.BlockGibbs(), moments) <= 1.0


def _irregular_graph():
    # Degrees 1 to 4, an odd cycle (not bipartite) and a pendant site: padded
    # neighbour slots and a greedy colouring with three colours.
    g = nx.cycle_graph(5)
    g.add_edges_from([(0, 5), (5, 6), (6, 2), (0, 7), (7, 3), (1, 8)])
    return g


@pytest.mark.slow
@pytest.mark.parametrize("sampler_name", ["gibbs", "metropolis_neighbour"])
def test_graph(getkey, make_couplings, sampler_name):
    rng = np.random.default_rng(6)
    model = molcomp.PottsModel(
        lattice.from_graph(_irregular_graph()),
        make_couplings(rng, 3, None),
        mu=jnp.array([0.2, -0.5, 0.4]),
        empty=True,
    )
    moments = exact_moments("graph", model)
    assert excess(getkey(), model, SAMPLERS[sampler_name], moments) <= 1.0


# ---- many species: q = 30 plus empty on an open 2x2 lattice (31^4 states) ------------
Q30_BONDS = [(0, 0, 1), (1, 0, 2), (0, 2, 3), (1, 1, 3)]  # (direction, a, b): "0 1 / 2 3"


@functools.cache
def q30_model():
    rng = np.random.default_rng(7)
    J = rng.normal(scale=0.3, size=(2, 30, 30))
    for d, a, b in Q30_BONDS:
        J[d, a, b] = -3.0  # designed, strongly attractive, oriented bonds
    # mu = -2: each species is rare (e^-2 c0), so binding decides who sits where.
    lat = lattice.square(2, periodic=False)
    return molcomp.PottsModel(lat, molcomp.Couplings.oriented(J), mu=jnp.full(30, -2.0), empty=True)


@functools.cache
def q30_moments():
    """Exact features of the q = 30 model.

    Site marginals come from `exact.expectation`. The contact matrix has 4 x 31^2
    entries, and a dense per-configuration feature of that size over 31^4 states costs
    ~15 s, so its exact mean is a probability-weighted histogram of the neighbour pairs
    over the same enumeration (`exact.probabilities`). Every feature lies in [0, 1],
    so Var f <= E f (1 - E f) (Bhatia-Davis); that bound serves as the variance.
    """
    model = q30_model()
    S, lat = model.n_states, model.lattice
    marg = np.asarray(exact.expectation(model, observables.one_hot, batch_size=1 << 14))
    configs, p = (np.asarray(a) for a in exact.probabilities(model))
    nb, mask = np.asarray(lat.neighbours), np.asarray(lat.mask)
    cont = np.zeros((lat.n_directions, S * S))
    for x in range(lat.n_sites):
        for d in np.flatnonzero(mask[x]):
            pair = configs[:, x] * S + configs[:, nb[x, d]]
            cont[d] += np.bincount(pair, weights=p, minlength=S * S)
    cont /= mask.sum(axis=0)[:, None]
    mean = np.concatenate([marg.ravel(), cont.ravel()])
    return mean, mean * (1.0 - mean)


@functools.cache
def q30_start(chains=128):
    """Exact draws to start the chains from: the q = 30 runs then need no burn-in."""
    configs, p = exact.probabilities(q30_model())
    idx = jax.random.choice(jax.random.key(8), p.shape[0], (chains,), p=p)
    return configs[idx]


NEIGHBOUR_Q30 = dict(proposal="neighbour", empty_prob=0.05, neighbour_prob=0.5)


@pytest.mark.slow
def test_many_species_neighbour_proposals(getkey):
    moments = q30_moments()
    # The designed structure must actually be sampled: each designed species sits at
    # its own corner far more often than at any other site (otherwise the partner
    # table and the Hastings factor would go untested).
    marg = moments[0][: 4 * 31].reshape(4, 31)
    assert np.all(np.argmax(marg[:, :30], axis=1) == np.arange(4))
    sampler = molcomp.Metropolis(**NEIGHBOUR_Q30)
    assert excess(getkey(), q30_model(), sampler, moments, sweeps=1500, start=q30_start()) <= 1.0


class _NoHastings(molcomp.Metropolis):
    """The neighbour proposal without its Hastings factor: a deliberately wrong sampler."""

    def _propose(self, words, model, sigma, block, table):
        new, log_h = super()._propose(words, model, sigma, block, table)
        return new, jnp.zeros_like(log_h)


@pytest.mark.slow
def test_missing_hastings_correction_is_detected(getkey):
    # Negative control for the test above: it has the power to see a wrong proposal
    # ratio. Partner proposals are up to ~10x likelier than their reverse moves, so
    # without the correction bound pairs are over-sampled far beyond the tolerance.
    # Starting from exact draws, it drifts to its own (wrong) distribution within ~100
    # sweeps.
    sampler = _NoHastings(**NEIGHBOUR_Q30)
    assert (
        excess(getkey(), q30_model(), sampler, q30_moments(), sweeps=1500, start=q30_start()) > 3.0
    )


# ---- a large lattice against Onsager's exact solution ---------------------------------


def energy_per_site(model, config):
    return model.energy(config) / config.shape[-1]


@pytest.mark.slow
def test_ising_energy_matches_onsager(getkey):
    # K = 0.3 (disordered) and 0.6 (ordered), both away from K_c = 0.4407, where the
    # correlation length is under 2 sites; finite-size corrections at L = 64 are then
    # ~exp(-L / xi) and vanish. Only beta changes between the two: one compilation.
    L, chains, sweeps = 64, 16, 300
    model = molcomp.PottsModel(lattice.square(L), molcomp.interactions.ising(1.0))
    sampler = molcomp.BlockGibbs()
    for K, start in [(0.3, "random"), (0.6, "ordered")]:
        m = molcomp.PottsModel(model.lattice, model.couplings, beta=K)
        config = (
            jax.random.randint(getkey(), (chains, L * L), 0, 2)
            if start == "random"
            else jnp.zeros((chains, L * L), jnp.int32)
        )
        state = sampler.init(m, config)
        kw = dict(trace_fn=energy_per_site)
        state = molcomp.sample(getkey(), m, sampler, state, sweeps, **kw).state  # burn-in
        e = np.asarray(molcomp.sample(getkey(), m, sampler, state, sweeps, **kw).trace)
        se = e.std() / np.sqrt(observables.effective_sample_size(e))
        exact_u = exact.ising_energy_per_site(K)
        # The run resolves 1 %: five standard errors are well below it. Within 1 %, and
        # also statistically consistent (no finite-size or kernel bias above 5 se).
        assert 5 * se < 0.01 * abs(exact_u)
        assert abs(e.mean() - exact_u) < 0.01 * abs(exact_u)
        assert abs(e.mean() - exact_u) < 5 * se, (e.mean(), exact_u, se)


# ---- the clamping hook: step_free ------------------------------------------------------
class _Free(molcomp.AbstractSampler):
    """`inner` updating only the sites where `free` is True (as `learning.Clamped`)."""

    inner: molcomp.AbstractSampler
    free: tuple = eqx.field(static=True)

    def check_model(self, model):
        self.inner.check_model(model)

    def init(self, model, config):
        return self.inner.init(model, config)

    def prepare(self, model):
        return self.inner.prepare(model)

    def step(self, key, model, state, prepared=None):
        return self.inner.step_free(key, model, state, np.array(self.free), prepared)


# Two free sites of six, neighbours of different colours ((0, 0) and (0, 1) of the 3 x 2
# grid): a sweep that moved the clamped sites and restored them only afterwards would
# show the second free site wrong neighbours, and fail.
FREE = (0, 1)


@pytest.mark.parametrize(
    "inner",
    [molcomp.BlockGibbs(), molcomp.BlockGibbs(checkerboard=False), molcomp.Metropolis()],
    ids=["checkerboard", "generic", "metropolis"],
)
def test_step_free_samples_the_exact_conditional(getkey, inner):
    """Sites outside `free` never change; the free ones follow the exact conditional
    p(x_free | x_clamped), from the 9 completions' energies (tolerance from the ESS of
    the joint-state indicators, as above)."""
    model = molcomp.PottsModel(
        lattice.square((3, 2), periodic=False),
        molcomp.Couplings.oriented(np.random.default_rng(9).normal(size=(2, 2, 2))),
        mu=jnp.array([0.3, -0.2]),
        empty=True,
    )
    free = np.zeros(6, bool)
    free[list(FREE)] = True
    clamped = jnp.array([0, 2, 1, 0, 1, 2], jnp.int8)
    S = model.n_states
    completions = jnp.stack(
        [clamped.at[FREE[0]].set(a).at[FREE[1]].set(b) for a in range(S) for b in range(S)]
    )
    p = np.asarray(jax.nn.softmax(-jax.vmap(model.energy)(completions)))

    def joint(m, c):
        return jax.nn.one_hot(c[FREE[0]] * S + c[FREE[1]], S * S)

    def series(m, c):
        return jnp.concatenate([joint(m, c), c[~free].astype(jnp.float32)])

    sampler = _Free(inner, tuple(free.tolist()))
    state = sampler.init(model, jnp.broadcast_to(clamped, (64, 6)))
    out = molcomp.sample(getkey(), model, sampler, state, 600, trace_fn=series, mean_fn=joint)
    trace = np.asarray(out.trace)
    np.testing.assert_array_equal(
        trace[..., S * S :], np.broadcast_to(clamped[~free], trace[..., S * S :].shape)
    )
    tol, _ = ess_tolerance(trace[..., : S * S], p * (1 - p))
    assert tol.max() < 0.05
    got = np.asarray(out.mean).mean(0)
    assert np.all(np.abs(got - p) <= tol), (got, p, tol)
    with pytest.raises(ValueError, match="free must be a boolean mask of shape"):
        inner.step_free(getkey(), model, state, np.ones(5, bool))
