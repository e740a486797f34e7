"""The driver `molcomp.sample`: results independent of chunking and the progress bar,
the mean is the average of the trace, shapes with and without a chain axis; model
quantities jit == eager.

Same key same samples, jit == eager and vmap == loop of every sampler's `step`, and no
recompilation when parameter values change, are the sampler contract
(tests/test_sampler_contract.py), run over every exported sampler."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import observables

CHAINS, STEPS = 4, 12


@pytest.fixture(scope="module")
def setups(potts3x3, with_mu, place3x3):
    """(model, sampler, initial configs) for each sampler."""
    key = jax.random.key(1)
    potts = with_mu(potts3x3[True, True])
    configs = jax.random.randint(key, (CHAINS, 9), 0, potts.n_states)
    perms = jax.vmap(lambda k: jax.random.permutation(k, place3x3.reference_state()))(
        jax.random.split(key, CHAINS)
    )
    return {
        "gibbs": (potts, molcomp.BlockGibbs(), configs),
        "metropolis": (potts, molcomp.Metropolis(proposal="neighbour"), configs),
        "swap": (place3x3, molcomp.SwapMetropolis(), perms),
    }


def run(setup, key, steps=STEPS, model=None, **kw):
    base, sampler, configs = setup
    model = base if model is None else model
    state = sampler.init(model, configs)
    return molcomp.sample(key, model, sampler, state, steps, trace_fn=observables.energy, **kw)


@pytest.mark.parametrize("name", ["gibbs", "swap"])
def test_progress_bar_and_chunks_do_not_change_samples(setups, name):
    # The bar splits the run into chunks; the samples must not depend on it (its
    # default depends on whether stderr is a terminal), nor on an explicit chunk size.
    quiet = run(setups[name], jax.random.key(3), progress=False)
    shown = run(setups[name], jax.random.key(3), progress=True)
    chunked = run(setups[name], jax.random.key(3), progress=False, chunk=6)
    for other in (shown, chunked):
        np.testing.assert_array_equal(quiet.trace, other.trace)
        np.testing.assert_array_equal(quiet.state.config, other.state.config)
        np.testing.assert_allclose(quiet.acceptance, other.acceptance, rtol=1e-6)
    assert quiet.trace.shape == (STEPS, CHAINS)


def test_mean_is_the_average_of_the_trace(setups):
    model, sampler, configs = setups["gibbs"]
    state = sampler.init(model, configs)
    out = molcomp.sample(
        jax.random.key(4),
        model,
        sampler,
        state,
        STEPS,
        trace_fn=observables.counts,
        mean_fn=observables.counts,
    )
    assert out.mean.shape == (CHAINS, model.n_states)
    np.testing.assert_allclose(out.mean, np.asarray(out.trace).mean(axis=0), rtol=1e-6)
    assert out.acceptance.shape == (CHAINS,)
    # A single chain (config of shape (n,)) has no chain axis anywhere.
    single = molcomp.sample(jax.random.key(4), model, sampler, sampler.init(model, configs[0]), 3)
    assert single.state.config.shape == (9,) and single.acceptance.shape == ()


def test_jit_equals_eager(getkey, potts3x3, with_mu):
    for model in (with_mu(potts3x3[True, True]),):
        sigma = jax.random.randint(getkey(), (9,), 0, model.n_states)
        block = model.lattice.blocks[0]
        new = jax.random.randint(getkey(), block.shape, 0, model.n_states)
        x, y = jnp.int32(0), jnp.int32(1)

        def quantities(m, s):
            return (
                m.energy(s),
                m.delta_energy(s, block, new),
                m.site_energies(s, block),
                m.swap_delta(s, x, y),
                m.contacts(s),
            )

        eager = quantities(model, sigma)
        jitted = eqx.filter_jit(quantities)(model, sigma)
        for e, j in zip(eager, jitted):
            np.testing.assert_allclose(e, j, rtol=1e-6, atol=1e-5)
