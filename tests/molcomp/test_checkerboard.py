"""The checkerboard heat-bath kernel: layout, exactness, and its 16-bit randomness.

The layout and draw-bias tests read the kernel's private helpers (`_checkerboard`):
they are unit tests of its internals, which have no public route.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import exact, lattice, observables
from molcomp.samplers import _checkerboard as cb


@pytest.mark.parametrize("periodic", [True, False])
def test_neighbours_match_lattice_table(periodic):
    lat = lattice.square((4, 6), periodic=periodic)
    table = np.asarray(lat.neighbours).reshape(4, 6, 4)
    black, white = cb.split(jnp.arange(24).reshape(4, 6))
    assert np.array_equal(cb.merge(black, white), np.arange(24).reshape(4, 6))
    valid = cb._valid((4, 6), periodic)
    for side, (other, is_black) in enumerate([(white, True), (black, False)]):
        got = cb._neighbours(other, is_black)
        for d in range(4):
            want = cb.split(table[..., d], np)[side]
            ok = valid[d][side]
            assert np.array_equal(np.asarray(got[d])[ok], want[ok])
            assert (
                ok.sum() == np.asarray(lat.mask).reshape(4, 6, 4)[..., d].sum() // 2 or not periodic
            )


def test_planes_put_the_chain_axis_last():
    config = jnp.arange(3 * 24, dtype=jnp.int32).reshape(3, 24)
    black, white = cb.to_planes(config, (4, 6))
    assert black.shape == white.shape == (4, 3, 3)
    for i in range(3):
        b, w = cb.to_planes(config[i], (4, 6))
        assert np.array_equal(black[..., i], b) and np.array_equal(white[..., i], w)
        assert np.array_equal(cb.from_planes(b, w), config[i])
    assert np.array_equal(cb.from_planes(black, white), config)


def test_eligibility():
    def uses(lat, **kw):
        model = molcomp.PottsModel(lat, molcomp.interactions.ising(0.3))
        return molcomp.BlockGibbs(**kw).uses_checkerboard(model)

    assert uses(lattice.square(4))
    assert uses(lattice.square((3, 4), periodic=False))
    assert not uses(lattice.square(4), checkerboard=False)
    assert not uses(lattice.square(3))  # odd periodic side is not bipartite
    assert not uses(lattice.square((4, 3), periodic=False))
    assert not uses(lattice.triangular(3))
    with pytest.raises(ValueError, match="checkerboard=True"):
        molcomp.BlockGibbs(checkerboard=True).init(
            molcomp.PottsModel(lattice.square(3), molcomp.interactions.ising(0.3)),
            jnp.zeros(9, jnp.int32),
        )


def test_binary_draw_bias_is_below_stated_bound():
    # Exhaustive over all 2^16 uniforms: the realised P(state 1) is round(p 2^16) / 2^16,
    # so |P - p| <= 2^-17 (the docstring states 2^-16 for the general draw).
    u = (np.arange(cb.U16) + 0.5) / cb.U16
    for de in np.linspace(-9.0, 9.0, 37):
        p = 1.0 / (1.0 + np.exp(de))
        realised = np.asarray(cb.draw_binary(jnp.asarray(u, jnp.float32), jnp.float32(de))).mean()
        assert abs(realised - p) <= 2.0**-17 + 2e-7


def test_categorical_draw_bias_is_below_stated_bound():
    u = jnp.asarray((np.arange(cb.U16) + 0.5) / cb.U16, jnp.float32)
    rng = np.random.default_rng(0)
    for _ in range(5):
        e = rng.normal(scale=2.0, size=8).astype(np.float32)
        p = np.exp(-e) / np.exp(-e).sum()
        draws = np.asarray(
            molcomp.samplers._base.categorical_from_uniform(u, jnp.broadcast_to(-e, (cb.U16, 8)))
        )
        realised = np.bincount(draws, minlength=8) / cb.U16
        assert np.abs(realised - p).max() <= 2.0**-16 + 1e-6


CASES = {
    "ising_4x4_periodic": lambda: molcomp.PottsModel(
        lattice.square(4), molcomp.interactions.ising(0.35), mu=jnp.array([0.1, -0.1])
    ),
    "oriented_2x4_open_empty": lambda: molcomp.PottsModel(
        lattice.square((2, 4), periodic=False),
        molcomp.Couplings.oriented(np.random.default_rng(3).normal(size=(2, 3, 3))),
        mu=jnp.array([0.3, -0.2, 0.1]),
        empty=True,
    ),
    # A repulsion of 100 kT makes the largest summed gap G > 80, so the sweep takes its
    # log-domain path instead of the product of per-neighbour factors; the pair is
    # forbidden but the rest of the distribution stays non-trivial.
    "log_domain_2x4_open": lambda: molcomp.PottsModel(
        lattice.square((2, 4), periodic=False),
        molcomp.Couplings.oriented(
            np.random.default_rng(4).normal(size=(2, 3, 3))
            + 100.0 * (np.arange(9) == 1).reshape(1, 3, 3)
        ),
        mu=jnp.array([0.2, 0.0, -0.3]),
    ),
}


# (case, chains, sweeps): `sample` runs chains batched (chain axis last, one random
# draw for all) and a single chain unbatched; both layouts are checked.
RUNS = [(name, 128, 2000) for name in CASES] + [("ising_4x4_periodic", 1, 20000)]


@pytest.mark.parametrize("name,chains,steps", RUNS)
def test_checkerboard_matches_exact_enumeration(name, chains, steps):
    model = CASES[name]()
    sampler = molcomp.BlockGibbs()
    assert sampler.uses_checkerboard(model)
    shape = (chains, model.lattice.n_sites) if chains > 1 else (model.lattice.n_sites,)
    start = jax.random.randint(jax.random.key(0), shape, 0, model.n_states)
    state = sampler.init(model, start)
    # Burn-in: the forbidden pair of the log-domain case relaxes slowly (from an all-zero
    # start, 50 sweeps left a bias of ~0.04 in its marginals, more than the tolerance).
    state = molcomp.sample(jax.random.key(1), model, sampler, state, 1000).state
    out = molcomp.sample(
        jax.random.key(2),
        model,
        sampler,
        state,
        steps,
        trace_fn=observables.energy,
        mean_fn=observables.one_hot,
    )
    ess = observables.effective_sample_size(out.trace)
    p = np.asarray(exact.expectation(model, observables.one_hot)).ravel()
    got = np.asarray(out.mean).reshape(-1, p.size).mean(axis=0)
    # Each marginal is a Bernoulli mean: its standard error is sqrt(p(1-p)/ESS), with the
    # ESS of the energy as a proxy for the slowest mode. 5 sigma over ~30 marginals keeps
    # false alarms below 1e-5, while a wrong sign or direction shifts marginals by > 0.05.
    tol = 5 * np.sqrt(p * (1 - p) / ess) + 1e-3
    assert np.all(np.abs(got - p) < tol), np.abs(got - p).max()
    e_exact = float(exact.expectation(model, observables.energy))
    e_var = float(exact.expectation(model, lambda m, s: m.energy(s) ** 2)) - e_exact**2
    assert abs(float(out.trace.mean()) - e_exact) < 5 * np.sqrt(e_var / ess)


@pytest.mark.slow
def test_large_lattice_energy_within_0p15_percent_of_onsager():
    # K = 0.3 (T = 3.33 > T_c = 2.27): correlation length ~1 site, so finite-size
    # corrections at L = 128 are exponentially small; the statistical error is checked.
    K, L, chains, steps = 0.3, 128, 16, 800
    model = molcomp.PottsModel(lattice.square(L), molcomp.interactions.ising(K))
    sampler = molcomp.BlockGibbs()
    config = jax.random.randint(jax.random.key(0), (chains, L * L), 0, 2)
    state = molcomp.sample(
        jax.random.key(1), model, sampler, sampler.init(model, config), 100
    ).state
    out = molcomp.sample(
        jax.random.key(2), model, sampler, state, steps, trace_fn=observables.energy
    )
    e = np.asarray(out.trace) / (L * L)
    se = e.std() / np.sqrt(observables.effective_sample_size(e))
    exact_u = exact.ising_energy_per_site(K)
    tol = 1.5e-3 * abs(exact_u)
    assert se < tol / 4  # the run resolves a bias of 0.15 %: 4 standard errors
    assert abs(e.mean() - exact_u) < tol


def test_checkerboard_and_reference_kernel_agree():
    # Two-sample test on a medium lattice: mean and variance of the energy from the
    # checkerboard kernel and from the generic per-block kernel agree within 5 sigma.
    model = molcomp.PottsModel(lattice.square(16), molcomp.interactions.potts(0.9, q=3))
    means, variances = [], []
    for i, fast in enumerate([None, False]):
        sampler = molcomp.BlockGibbs(checkerboard=fast)
        state = sampler.init(model, jnp.zeros((32, 256), jnp.int32))
        state = molcomp.sample(jax.random.key(10 + i), model, sampler, state, 100).state
        out = molcomp.sample(
            jax.random.key(20 + i), model, sampler, state, 600, trace_fn=observables.energy
        )
        e = np.asarray(out.trace)
        ess = observables.effective_sample_size(e)
        means.append((e.mean(), e.var() / ess))
        variances.append(e.var())
    (m1, v1), (m2, v2) = means
    assert abs(m1 - m2) < 5 * np.sqrt(v1 + v2)
    assert abs(variances[0] / variances[1] - 1) < 0.15  # heat capacities within 15 %


def test_step_and_sample_share_the_kernel_and_observables_do_not_change_it():
    # `step` (one chain, as replica exchange calls it) is the sweep `sample` runs with
    # the layout carried across the scan: same key, same result. Recording observables
    # reads the config without touching the random stream.
    model = CASES["oriented_2x4_open_empty"]()
    sampler = molcomp.BlockGibbs()
    config = jax.random.randint(jax.random.key(0), (4, 8), 0, model.n_states)
    state = sampler.init(model, config[0])
    key = jax.random.key(5)
    one = molcomp.sample(key, model, sampler, state, 1).state.config
    stepped, _ = sampler.step(jax.random.split(key, 1)[0], model, state)
    np.testing.assert_array_equal(one, stepped.config)
    batch = sampler.init(model, config)
    plain = molcomp.sample(key, model, sampler, batch, 7).state.config
    traced = molcomp.sample(key, model, sampler, batch, 7, trace_fn=observables.energy)
    np.testing.assert_array_equal(plain, traced.state.config)
    assert not np.array_equal(plain, config)
    e = jax.vmap(model.energy)(traced.state.config)
    np.testing.assert_allclose(traced.trace[-1], e, rtol=1e-6)


def test_kernel_random_numbers():
    # The public generator of the kernel: uint32 words, the same for a key under vmap
    # as alone (XLA's own batching of its RngBitGenerator would seed every batch member
    # from the first key), and 16-bit midpoint uniforms made of the words' halves.
    keys = jax.random.split(jax.random.key(3), 3)
    words = jax.vmap(lambda k: molcomp.samplers.threefry_words(k, (8,)))(keys)
    assert words.dtype == jnp.uint32 and words.shape == (3, 8)
    for i in range(3):
        np.testing.assert_array_equal(words[i], molcomp.samplers.threefry_words(keys[i], (8,)))
    assert len({tuple(np.asarray(w).tolist()) for w in words}) == 3
    hi, lo = molcomp.samplers.uniform16_pairs(keys[0], (8,))
    w = np.asarray(words[0]).astype(np.int64)
    np.testing.assert_array_equal(np.asarray(hi), ((w >> 16) + 0.5) / cb.U16)
    np.testing.assert_array_equal(np.asarray(lo), ((w & 0xFFFF) + 0.5) / cb.U16)
