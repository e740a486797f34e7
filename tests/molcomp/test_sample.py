"""Reproducibility and compilation: same key same samples, jit == eager, vmap == loop,
and parameter changes never recompile."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import observables

CHAINS, STEPS = 4, 12


class CountingEnergy:
    """A trace_fn that counts its calls; it only runs while `sample` is being traced."""

    def __init__(self):
        self.calls = 0

    def __call__(self, model, config):
        self.calls += 1
        return model.energy(config)


energy_trace = CountingEnergy()  # one object for the module, so compilations are shared


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
    return molcomp.sample(key, model, sampler, state, steps, trace_fn=energy_trace, **kw)


@pytest.mark.parametrize("name", ["gibbs", "metropolis", "swap"])
def test_same_key_same_samples(setups, name):
    a = run(setups[name], jax.random.key(0))
    b = run(setups[name], jax.random.key(0))
    c = run(setups[name], jax.random.key(1))
    assert a.trace.shape == (STEPS, CHAINS)
    np.testing.assert_array_equal(a.trace, b.trace)
    np.testing.assert_array_equal(a.state.config, b.state.config)
    assert not np.array_equal(a.state.config, c.state.config)
    assert not np.array_equal(a.trace, c.trace)
    # The chains are independent: no two chains follow the same trajectory.
    assert len({tuple(row) for row in np.asarray(a.trace).T.tolist()}) == CHAINS


def test_progress_bar_does_not_change_samples(setups):
    # The bar splits the run into chunks; the samples must not depend on it (its
    # default depends on whether stderr is a terminal).
    quiet = run(setups["gibbs"], jax.random.key(3), progress=False)
    shown = run(setups["gibbs"], jax.random.key(3), progress=True)
    np.testing.assert_array_equal(quiet.trace, shown.trace)
    np.testing.assert_array_equal(quiet.state.config, shown.state.config)


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


def variants(model):
    """The same model with beta, then J, then mu changed (values only)."""
    c = model.couplings
    out = [
        eqx.tree_at(lambda m: m.beta, model, model.beta * 1.7),
        eqx.tree_at(lambda m: m.couplings.params, model, c.params - 0.5),
    ]
    if isinstance(model, molcomp.PottsModel):
        out.append(eqx.tree_at(lambda m: m.mu, model, model.mu + 1.0))
    return out


@pytest.mark.parametrize("name", ["gibbs", "metropolis", "swap"])
def test_vmap_over_chains_equals_loop_without_recompiling(setups, name):
    model, sampler, configs = setups[name]
    state = sampler.init(model, configs)
    keys = jax.random.split(jax.random.key(5), CHAINS)
    step = eqx.filter_jit(sampler.step)

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def batched_step(keys, model, state):
        return eqx.filter_vmap(sampler.step, in_axes=(0, None, 0))(keys, model, state)

    batched, info = batched_step(keys, model, state)
    for i in range(CHAINS):
        one = jax.tree_util.tree_map(lambda x: x[i], state)
        new, info_i = step(keys[i], model, one)
        np.testing.assert_array_equal(new.config, batched.config[i])
        assert float(info_i.acceptance) == pytest.approx(float(info.acceptance[i]))
    assert not np.array_equal(batched.config, state.config)  # the step did something
    # Changing beta, J or mu (values, not structure) must not retrace the step; the
    # sampler state is rebuilt because `init` may derive tables from the values.
    results = {np.asarray(batched.config).tobytes()}
    for m in variants(model):
        new_state, _ = batched_step(keys, m, sampler.init(m, configs))
        results.add(np.asarray(new_state.config).tobytes())
    assert len(results) > 1


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


def test_parameter_changes_do_not_recompile_sample(setups):
    model = setups["gibbs"][0]
    run(setups["gibbs"], jax.random.key(0))  # compiled here or by an earlier test
    before = energy_trace.calls
    outs = [run(setups["gibbs"], jax.random.key(0), model=m) for m in variants(model)]
    assert energy_trace.calls == before, "changing beta, J or mu retraced sample"
    assert len({float(o.trace.sum()) for o in outs}) == 3
    # The counter does see a retrace (a new number of steps is a new program).
    run(setups["gibbs"], jax.random.key(0), steps=STEPS + 1)
    assert energy_trace.calls > before
