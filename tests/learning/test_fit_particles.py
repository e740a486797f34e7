"""`fit` with particle samplers (steps on the host, neighbour lists recovered between
chunks), float data phases, where chains start, and the parameter box `clip_params`.

One tiny patchy mixture (4 particles, the 2 x 2 structures of
tests/analog/test_particle_recall.py) and one PCD setting (4 chains, 5 Brownian steps
per update) throughout, so the chunk of `molcomp.sample` compiles once."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from learning_helpers import random_ising

import learning
import molcomp
from molcomp import particles

BOX = (6.0, 6.0)
KW = dict(scale=10.0, patch_width=0.785, alpha=3.0)
SGD = optax.sgd(0.01)


@pytest.fixture(scope="module")
def patchy():
    """(model under Hebbian couplings, (2, 4, 3) data: the two structures placed)."""
    lat = molcomp.lattice.square(2, periodic=False)
    structs = molcomp.structures.from_arrays(lat, np.array([[0, 1, 2, 3], [3, 2, 1, 0]]))
    J = learning.hebbian.clipped_or(structs, 1.0)
    model = particles.PatchyMixture(J, jnp.arange(4), BOX, **KW)
    placed = [particles.structure_configuration(structs, a, BOX) for a in range(2)]
    data = np.stack([config[np.argsort(species)] for species, config in placed])
    return model, data.astype(np.float32)


class Counter:
    """A mutable count, hashable by identity (a static field)."""

    n = 0


class CountingBrownian(particles.Brownian):
    """Brownian that counts the chunks its `recover` repaired (host side)."""

    recoveries: Counter = eqx.field(static=True, default_factory=Counter)

    def recover(self, model, start, end, attempt):
        repaired = super().recover(model, start, end, attempt)
        self.recoveries.n += repaired is not None
        return repaired


SAMPLER = particles.Brownian(dt=2e-3, dr_threshold=1.0)
PCD = learning.PCD(SAMPLER, chains=4, sweeps=5, start="rows")


def _hand_loop(key, model, data, phase, optimizer, steps):
    """The host loop `train_patch_couplings` used to be, with fit's key schedule."""
    k_init, k_train, _ = jax.random.split(key, 3)
    data_phase = learning.Observed(data)
    state = learning.init_state(k_init, model, data_phase, phase)
    spec = model.trainable()
    opt_state = optimizer.init(eqx.filter(model, spec))
    norms = []
    for i in range(steps):
        grads, state, _ = learning.estimate_grad(
            jax.random.fold_in(k_train, i), model, data_phase, phase, state
        )
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, spec))
        model = eqx.apply_updates(model, updates)
        norms.append(float(optax.tree.norm(grads)))
    return model, norms


def test_observed_takes_float_configurations(patchy):
    model, data = patchy
    phase = learning.Observed(data)
    assert phase.data.dtype == jnp.float32 and phase.data.shape == (2, 4, 3)
    stats = phase.init(None, model)
    np.testing.assert_allclose(stats, jax.vmap(model.statistics)(data).mean(0))
    with pytest.raises(ValueError, match="positions"):  # checked by the model at init
        learning.Observed(data + 10.0).init(None, model)
    with pytest.raises(ValueError, match=r"data must have shape"):
        learning.Observed(np.zeros(3, np.float32))


def test_fit_with_a_particle_sampler_equals_the_hand_loop(patchy):
    """Steps on the host: the same couplings, to the bit, as estimate_grad + optax by hand
    with fit's key schedule (same calls, same order, nothing compiled differently)."""
    model, data = patchy
    key = jax.random.key(3)
    trained, history = learning.fit(key, model, SAMPLER, data, SGD, 3, model_phase=PCD)
    by_hand, norms = _hand_loop(key, model, data, PCD, SGD, 3)
    np.testing.assert_array_equal(trained.couplings.params, by_hand.couplings.params)
    assert history.grad_norm == pytest.approx(norms, rel=1e-6)
    assert len(history.energy_gap) == 3 and np.all(np.isfinite(history.energy_gap))
    assert not np.array_equal(trained.couplings.params, model.couplings.params)


def test_fit_resumes_a_particle_run_from_its_checkpoint(patchy, tmp_path):
    model, data = patchy
    key = jax.random.key(4)
    kw = dict(model_phase=PCD, checkpoint=learning.Checkpointing(str(tmp_path / "a"), every=2))
    full, h_full = learning.fit(key, model, SAMPLER, data, SGD, 4, model_phase=PCD)
    learning.fit(key, model, SAMPLER, data, SGD, 2, **kw)  # "interrupted" after 2 steps
    resumed, h_res = learning.fit(key, model, SAMPLER, data, SGD, 4, **kw)
    np.testing.assert_array_equal(full.couplings.params, resumed.couplings.params)
    assert h_res.grad_norm == h_full.grad_norm


def test_fit_survives_a_neighbour_list_overflow(patchy):
    """Chains start spread out (every pair 3 apart, exactly the list's reach cutoff +
    skin, so a fresh list holds one slot per particle); as they move, particles gain
    neighbours, the list overflows and is reallocated between chunks."""
    model, data = patchy
    spread = np.array([[1.5, 1.5, 0.0], [4.5, 1.5, 0.0], [1.5, 4.5, 0.0], [4.5, 4.5, 0.0]])
    start = np.broadcast_to(spread, (4, 4, 3)).astype(np.float32)
    sampler = CountingBrownian(dt=2e-3, dr_threshold=1.0)
    assert sampler.init(model, start).neighbors.idx.shape[-1] == 1
    phase = learning.PCD(sampler, chains=4, sweeps=50, start=start)
    trained, history = learning.fit(
        jax.random.key(5), model, sampler, data, SGD, 3, model_phase=phase
    )
    assert sampler.recoveries.n > 0
    assert np.all(np.isfinite(trained.couplings.params)) and np.all(np.isfinite(history.grad_norm))


def test_pcd_start_rows_and_array():
    bm = random_ising(jax.random.key(0), 4)
    data = jnp.array([[0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1]], jnp.int32)
    gibbs = learning.neural.SequentialGibbs()
    state = learning.PCD(gibbs, 7, start="rows").init(jax.random.key(1), bm, data)
    np.testing.assert_array_equal(state.config, data[np.arange(7) % 3])
    given = jnp.array([[1, 0, 0, 1], [0, 0, 1, 1]], jnp.int32)
    state = learning.PCD(gibbs, 2, start=given).init(jax.random.key(1), bm, data)
    np.testing.assert_array_equal(state.config, given)
    # FreshChains restarts from the same rows every step
    fresh = learning.FreshChains(gibbs, 3, start="rows")
    assert fresh.init(jax.random.key(1), bm, data) is None
    # bad starts, named
    with pytest.raises(ValueError, match="start must be 'data', 'rows', 'random'"):
        learning.PCD(gibbs, 2, start="row")
    with pytest.raises(TypeError, match="start must be"):
        learning.PCD(gibbs, 2, start=3)
    with pytest.raises(ValueError, match="chains=3"):
        learning.PCD(gibbs, 3, start=given)
    with pytest.raises(TypeError, match="integers or reals"):
        learning.PCD(gibbs, 2, start=given.astype(bool))
    with pytest.raises(ValueError, match="start must have shape"):
        learning.PCD(gibbs, 2, start=jnp.zeros((2, 5), jnp.int32)).init(None, bm, data)
    with pytest.raises(ValueError, match="start"):  # a state outside {0, 1}
        learning.FreshChains(gibbs, 2, start=given + 1).init(None, bm, data)


def test_clip_params_keeps_the_box():
    bound = optax.chain(optax.sgd(1.0), learning.clip_params(-1.5, 1.5))
    params = {"a": jnp.array([0.0, 1.0, -1.4]), "b": None}
    grads = {"a": jnp.array([3.0, -0.25, 0.5]), "b": None}
    updates, _ = bound.update(grads, bound.init(params), params)
    out = optax.apply_updates(params, updates)
    np.testing.assert_allclose(out["a"], [-1.5, 1.25, -1.5])
    assert out["b"] is None
    with pytest.raises(ValueError, match="lo <= hi"):
        learning.clip_params(1.0, -1.0)
    with pytest.raises(ValueError, match="params"):
        learning.clip_params(-1.0, 1.0).update(grads, optax.EmptyState())
