"""The sleep-wake estimator against exact gradients from enumeration, its two paths
(filter_grad of energies vs sufficient statistics) against each other, and CD-k."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from learning_helpers import exact_samples, flat, per_sample_grads, random_ising

import learning
import molcomp
from molcomp.observables import integrated_autocorr_time

CHAINS, SAMPLES, WARMUP = 64, 150, 30
estimate = eqx.filter_jit(learning.estimate_grad)
init_chains = eqx.filter_jit(lambda key, phase, model, data: phase.init(key, model, data))
draw = eqx.filter_jit(
    lambda key, phase, model, state, data: phase.draw(key, model, state, data, None)
)


@pytest.fixture(scope="module")
def potts():
    """3x3 periodic, q = 3, oriented couplings plus chemical potentials."""
    rng = np.random.default_rng(11)
    couplings = molcomp.Couplings.oriented(0.8 * rng.normal(size=(2, 3, 3)))
    model = molcomp.PottsModel(molcomp.lattice.square(3), couplings, mu=jnp.array([0.5, -0.3, 0.1]))
    data = jnp.asarray(rng.integers(0, 3, (40, 9)), jnp.int32)
    return model, molcomp.BlockGibbs(), data


@pytest.fixture(scope="module")
def bm10():
    model = random_ising(jax.random.key(10), 10, w_scale=0.4, b_scale=0.2)
    data = jax.random.bernoulli(jax.random.key(11), 0.65, (60, 10)).astype(jnp.int32)
    return model, learning.neural.SequentialGibbs(), data


def _exact_grad(model, data):
    """<dE>_data - <dE>_model by enumeration: minus the gradient of the log-likelihood."""

    def nll(m):
        return jnp.mean(jax.vmap(m.energy)(data)) + molcomp.exact.log_partition(m)

    spec = model.trainable()
    diff, static = eqx.partition(model, spec)
    return jax.grad(lambda d: nll(eqx.combine(d, static)))(diff)


def _sigma(key, model, phase, data):
    """Standard error of each gradient component of one PCD estimate, from the variance
    and integrated autocorrelation time of dE/dtheta along an independent run of the same
    chains (the data term is exact: observed states)."""
    state = init_chains(key, phase, model, data)
    configs = draw(jax.random.fold_in(key, 1), phase, model, state, data[None])[0]
    K, C, n = configs.shape
    g = per_sample_grads(model, configs.reshape(-1, n)).reshape(K, C, -1)
    sigma = np.empty(g.shape[-1])
    for j in range(g.shape[-1]):
        tau = integrated_autocorr_time(g[:, :, j]) if g[:, :, j].std() > 0 else 1.0
        sigma[j] = g[:, :, j].std() * np.sqrt(tau / (K * C))
    return sigma


@pytest.mark.parametrize("which", ["potts", "bm10"])
def test_estimator_matches_exact_gradient(which, request):
    model, sampler, data = request.getfixturevalue(which)
    data_phase = learning.Observed(data)
    model_phase = learning.PCD(sampler, CHAINS, samples=SAMPLES, warmup=WARMUP)
    state = learning.init_state(jax.random.key(0), model, data_phase, model_phase)
    grads, _, info = estimate(jax.random.key(1), model, data_phase, model_phase, state)
    exact = flat(_exact_grad(model, data))
    est = flat(grads)
    sigma = _sigma(jax.random.key(2), model, model_phase, data)
    # 5 sigma per component: with ~20-55 components a false alarm has p < 1e-4.
    tol = 5 * sigma + 1e-4
    assert np.all(np.abs(est - exact) < tol), np.max(np.abs(est - exact) / tol)
    # Not vacuous: a zero gradient or one of the wrong sign would fail.
    assert not np.all(np.abs(exact) < tol) and not np.all(np.abs(est + exact) < tol)
    assert grads.beta is None  # beta is not trained by default
    assert np.isfinite(float(info.energy_gap))
    assert 0.0 < float(info.acceptance) <= 1.0 and float(info.acceptance_data) == 1.0


def _cases():
    rng = np.random.default_rng(3)
    sym = molcomp.Couplings.symmetric((lambda a: a + a.T)(rng.normal(size=(3, 3))))
    lat = molcomp.lattice.square(3)
    potts_sym = molcomp.PottsModel(lat, sym, mu=jnp.array([0.2, 0.0, -0.4]), empty=True)
    place = molcomp.PlaceModel(
        molcomp.lattice.square(3, periodic=False),
        molcomp.Couplings.oriented(rng.normal(size=(2, 3, 3))),
        composition=(3, 3, 3),
    )
    rbm = learning.neural.RBM(
        0.5 * jax.random.normal(jax.random.key(4), (5, 3)), jnp.zeros(5), jnp.zeros(3)
    )
    return {
        "potts-symmetric-empty": (potts_sym, molcomp.BlockGibbs(), rng.integers(0, 4, (20, 9))),
        "place": (
            place,
            molcomp.SwapMetropolis(),
            np.stack([rng.permutation(np.repeat(np.arange(3), 3)) for _ in range(20)]),
        ),
        "bm": (
            random_ising(jax.random.key(5), 7),
            learning.neural.SequentialGibbs(),
            rng.integers(0, 2, (20, 7)),
        ),
        "rbm-clamped": (rbm, learning.neural.AlternatingGibbs(), rng.integers(0, 2, (20, 5))),
    }


@pytest.mark.parametrize("name", ["potts-symmetric-empty", "place", "bm", "rbm-clamped"])
def test_statistics_path_equals_energy_path(name, potts):
    """Both gradient paths give the same numbers on the same samples (same key)."""
    model, sampler, data = _cases()[name]
    data = jnp.asarray(data, jnp.int32)
    if name == "rbm-clamped":
        data_phase = learning.ClampedChains(data, model.visible, sampler)
    else:
        data_phase = learning.Observed(data)
    model_phase = learning.PCD(sampler, 16, samples=4)
    state = learning.init_state(jax.random.key(0), model, data_phase, model_phase)
    out = [
        estimate(jax.random.key(1), model, data_phase, model_phase, state, via_statistics=m)[0]
        for m in (False, True)
    ]
    a, b = flat(out[0]), flat(out[1])
    assert np.allclose(a, b, rtol=1e-4, atol=1e-4 * (1 + np.abs(a).max()))
    assert np.abs(a).max() > 1e-3


def test_oriented_potts_paths_agree(potts):
    model, sampler, data = potts
    data_phase, model_phase = learning.Observed(data), learning.PCD(sampler, 16, samples=4)
    state = learning.init_state(jax.random.key(0), model, data_phase, model_phase)
    a, b = (
        flat(
            estimate(jax.random.key(1), model, data_phase, model_phase, state, via_statistics=m)[0]
        )
        for m in (False, True)
    )
    assert np.allclose(a, b, rtol=1e-4, atol=1e-4 * (1 + np.abs(a).max()))


def test_cd_from_exact_model_samples_has_zero_mean_gradient(bm10):
    """CD-k chains started at exact samples of the model stay exact samples, so the
    CD gradient is zero in expectation: a sign or bookkeeping error would show."""
    model, sampler, _ = bm10
    data = exact_samples(jax.random.key(12), model, 4000)
    data_phase, model_phase = learning.Observed(data), learning.CD(sampler, k=2)
    state = learning.init_state(jax.random.key(0), model, data_phase, model_phase)
    grads, _, _ = estimate(jax.random.key(1), model, data_phase, model_phase, state)
    g = flat(grads)
    # Each component is a difference of two means of 4000 independent +-1 products (the
    # two means are correlated): sd(a - b) <= sd(a) + sd(b) <= 2 / sqrt(4000); allow 5.
    assert np.all(np.abs(g) < 5 * 2 / np.sqrt(4000))
    # ...whereas data from another distribution gives a clearly nonzero CD gradient.
    other = learning.Observed(jnp.zeros_like(data))
    state = learning.init_state(jax.random.key(0), model, other, model_phase)
    g_other = flat(estimate(jax.random.key(1), model, other, model_phase, state)[0])
    assert np.max(np.abs(g_other)) > 0.5


def test_custom_filter_spec_trains_beta(bm10):
    model, sampler, data = bm10
    spec = jax.tree_util.tree_map(eqx.is_inexact_array, model)
    data_phase, model_phase = learning.Observed(data), learning.PCD(sampler, 8)
    state = learning.init_state(jax.random.key(0), model, data_phase, model_phase)
    grads, _, _ = learning.estimate_grad(
        jax.random.key(1), model, data_phase, model_phase, state, filter_spec=spec
    )
    assert grads.beta is not None and grads.beta.shape == ()


def test_minibatch_data_phases(bm10):
    """Weighted minibatches draw rows in proportion to their weights; persistent clamped
    chains advance only the rows of the batch and never move a clamped variable."""
    model, _, data = bm10
    w = np.linspace(1.0, 3.0, data.shape[0])
    configs = learning.Observed(data, weights=w, batch_size=4000).draw(
        jax.random.key(0), model, None
    )[0][0]
    s = 2.0 * np.asarray(data, np.float64) - 1.0
    expected = (w / w.sum()) @ s
    # Mean of 4000 draws of +-1 values: standard error <= 1 / sqrt(4000); allow 5.
    assert np.all(
        np.abs((2.0 * np.asarray(configs) - 1.0).mean(axis=0) - expected) < 5 / np.sqrt(4000)
    )

    rbm = learning.neural.RBM(
        0.5 * jax.random.normal(jax.random.key(1), (5, 3)), jnp.zeros(5), jnp.zeros(3)
    )
    visible = jax.random.bernoulli(jax.random.key(2), 0.5, (30, 5)).astype(jnp.int32)
    phase = learning.ClampedChains(
        visible, rbm.visible, learning.neural.AlternatingGibbs(), batch_size=4
    )
    before = phase.init(jax.random.key(3), rbm)
    _, _, after, _ = phase.draw(jax.random.key(4), rbm, before)
    b, a = np.asarray(before.config), np.asarray(after.config)
    assert np.array_equal(a[:, :5], np.asarray(visible))
    assert np.sum(np.any(a != b, axis=1)) <= 4
