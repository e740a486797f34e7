"""Training with `fit`: a Boltzmann machine to a random Ising target, an RBM against the
best independent model, a Potts model whose symmetries survive training, and
checkpoint/resume."""

import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from learning_helpers import exact_samples, random_ising

import learning
import molcomp

# One optimizer object per configuration: fit's jitted step is cached on it.
ADAM_COSINE = optax.adam(optax.cosine_decay_schedule(0.03, 400, alpha=0.05))
ADAM = optax.adam(0.05)


def test_boltzmann_machine_learns_random_ising_target(ising16):
    """16 spins from a random start to KL(target || model) < 0.05 nats (exact)."""
    target, data = ising16
    model = learning.neural.BoltzmannMachine.random(jax.random.key(1), 16)
    sampler = learning.neural.SequentialGibbs()
    model, history = learning.fit(
        jax.random.key(2),
        model,
        sampler,
        data,
        ADAM_COSINE,
        400,
        model_phase=learning.PCD(sampler, 128, samples=4),
        evaluate=learning.Evaluation(200, target=target, ais=learning.AIS(64, 500)),
    )
    assert history.kl[-1] < 0.05
    assert history.kl[0] > history.kl[-1]
    assert len(history.grad_norm) == 400 and history.eval_step == [200, 400]
    assert np.all(np.isfinite(history.grad_norm))
    # The AIS log-likelihood in the history agrees with the exact one.
    exact_ll = -float(jnp.mean(jax.vmap(model.energy)(data))) - float(
        molcomp.exact.log_partition(model)
    )
    assert abs(history.log_likelihood[-1] - exact_ll) < 5 * history.log_likelihood_stderr[-1] + 0.01
    # Only independent parameters are stored: the coupling matrix is symmetric.
    W = np.asarray(model.matrix())
    assert np.array_equal(W, W.T) and float(model.beta) == 1.0


def _prototype_target(visibles):
    """A mixture of three noisy 6-bit prototypes: strongly correlated visibles."""
    configs = np.asarray(molcomp.exact.configurations(visibles))
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0]])
    lik = np.prod(np.where(configs[:, None, :] == protos[None], 0.9, 0.1), axis=-1)
    return configs, lik.mean(axis=1)


def test_rbm_beats_independent_marginals():
    """An RBM (6 visible, 4 hidden), data phase = hidden units sampled with the visibles
    clamped to each configuration weighted by its target probability."""
    rbm = learning.neural.RBM.random(jax.random.key(3), 6, 4, scale=0.1)
    configs, p = _prototype_target(rbm.marginal())
    sampler = learning.neural.AlternatingGibbs()
    target_lp = jnp.log(jnp.asarray(p))
    kl_independent = float(
        learning.exact.kl_divergence(
            target_lp, learning.exact.independent_log_probs(rbm.marginal(), configs, p)
        )
    )
    rbm, history = learning.fit(
        jax.random.key(4),
        rbm,
        sampler,
        # (64, 6): the visibles, clamped, so the hidden units are sampled
        learning.ClampedChains(configs, rbm.visible, sampler, weights=p),
        optax.adam(optax.cosine_decay_schedule(0.1, 300, alpha=0.05)),
        300,
        model_phase=learning.PCD(sampler, 64, samples=4),
        evaluate=learning.Evaluation(
            300, target=target_lp, ais=None, marginal=learning.neural.RBM.marginal
        ),
    )
    assert history.kl[-1] < 0.5 * kl_independent


@pytest.fixture(scope="module")
def potts_target():
    rng = np.random.default_rng(21)
    lat = molcomp.lattice.square(3)
    target = molcomp.PottsModel(
        lat, molcomp.Couplings.oriented(rng.normal(size=(2, 3, 3))), mu=jnp.array([0.4, -0.2, 0.0])
    )
    return target, exact_samples(jax.random.key(22), target, 3000)


def test_potts_training_keeps_symmetries_and_lowers_kl(potts_target):
    target, data = potts_target
    start = molcomp.PottsModel(
        target.lattice, molcomp.Couplings.oriented(np.zeros((2, 3, 3))), beta=0.9
    )
    sampler = molcomp.BlockGibbs()
    model, history = learning.fit(
        jax.random.key(5),
        start,
        sampler,
        data,
        ADAM,
        60,
        model_phase=learning.PCD(sampler, 64),
        evaluate=learning.Evaluation(30, target=target, ais=None),
    )
    J = np.asarray(model.couplings.matrices())
    assert np.array_equal(J[2:], np.swapaxes(J[:2], 1, 2))  # J[opposite d] = J[d]^T
    assert float(model.beta) == np.float32(0.9)  # beta is not trained by default
    kl0 = float(
        learning.exact.kl_divergence(
            molcomp.exact.log_probabilities(target), molcomp.exact.log_probabilities(start)
        )
    )
    assert history.kl[-1] < 0.5 * kl0


def test_place_model_trains_with_swap_moves():
    """The canonical place model: composition fixed, symmetric couplings learnt."""
    rng = np.random.default_rng(31)
    lat = molcomp.lattice.square(3, periodic=False)
    J = rng.normal(size=(3, 3))
    target = molcomp.PlaceModel(lat, molcomp.Couplings.symmetric(J + J.T), composition=(3, 3, 3))
    configs = molcomp.exact.configurations(target)
    data = molcomp.exact.sample(jax.random.key(6), target, 2000)
    start = molcomp.PlaceModel(
        lat, molcomp.Couplings.symmetric(np.zeros((3, 3))), composition=(3, 3, 3)
    )

    def loss(m):  # minus the mean log-likelihood, over the enumerated arrangements
        log_z = jax.nn.logsumexp(-jax.vmap(m.energy)(configs))
        return float(jnp.mean(jax.vmap(m.energy)(data)) + log_z)

    swap = molcomp.SwapMetropolis()
    model, history = learning.fit(
        jax.random.key(7), start, swap, data, ADAM, 40, model_phase=learning.PCD(swap, 32)
    )
    assert loss(model) < loss(start) - 0.1
    J = np.asarray(model.couplings.matrices()[0])
    assert np.array_equal(J, J.T)
    assert len(history.grad_norm) == 40 and history.eval_step == []


def _small_run(key, steps, directory, optimizer=ADAM, **kw):
    bm = random_ising(jax.random.key(8), 6)
    data = exact_samples(jax.random.key(9), random_ising(jax.random.key(10), 6), 200)
    sampler = learning.neural.SequentialGibbs()
    return learning.fit(
        key,
        bm,
        sampler,
        data,
        optimizer,
        steps,
        model_phase=learning.PCD(sampler, 16),
        checkpoint=learning.Checkpointing(directory, every=4),
        **kw,
    )


def test_resume_from_checkpoint_reproduces_uninterrupted_run(tmp_path):
    key = jax.random.key(11)
    full, h_full = _small_run(key, 12, str(tmp_path / "a"))
    # "Interrupted" after 8 steps (two checkpoints), then resumed to 12.
    _small_run(key, 8, str(tmp_path / "b"))
    resumed, h_res = _small_run(key, 12, str(tmp_path / "b"))
    assert np.array_equal(full.weights, resumed.weights)
    assert np.array_equal(full.biases, resumed.biases)
    assert h_full.grad_norm == h_res.grad_norm
    # Atomic writes leave exactly the metadata and the latest state, no temporaries.
    assert sorted(os.listdir(tmp_path / "b")) == ["checkpoint.json", "state-000000012.eqx"]
    # A checkpoint of another run is refused, not silently resumed.
    with pytest.raises(ValueError, match="different run"):
        _small_run(jax.random.key(12), 12, str(tmp_path / "b"))
    # Resuming a finished run does no more steps.
    again, h_again = _small_run(key, 12, str(tmp_path / "b"))
    assert np.array_equal(again.weights, full.weights) and h_again.grad_norm == h_full.grad_norm


class Counter:
    """A mutable count, hashable by identity (a static field of a jitted Module)."""

    n = 0


class CountingGibbs(learning.neural.SequentialGibbs):
    """SequentialGibbs that counts how often its step is traced (Python runs it only
    while tracing: a jitted call that reuses a compilation does not)."""

    traces: Counter = eqx.field(static=True)

    def step(self, key, model, state, prepared=None):
        self.traces.n += 1
        return super().step(key, model, state, prepared)


def test_new_parameters_and_keys_do_not_recompile():
    """The training chunk is traced once; other parameter values, keys, data of the same
    shape and chunk start steps reuse it (they are arrays, never static)."""
    opt = optax.sgd(0.05)  # a fresh optimizer object: a fresh cache entry
    traces = Counter()
    sampler = CountingGibbs(traces)
    counts = []
    for i in range(3):
        bm = random_ising(jax.random.key(40 + i), 5)
        data = exact_samples(jax.random.key(50 + i), bm, 64)
        learning.fit(
            jax.random.key(i),
            bm,
            sampler,
            data,
            opt,
            6,
            model_phase=learning.PCD(sampler, 8),
            evaluate=learning.Evaluation(3, ais=None),
        )
        counts.append(traces.n)
    assert counts[0] > 0 and counts[1] == counts[0] and counts[2] == counts[0]


def test_evaluations_at_every_multiple_of_eval_every():
    # eval_every = 30 is not a multiple of fit's internal chunk length: evaluations
    # must still happen at 30, 60, 90 and at the end.
    target = learning.neural.BoltzmannMachine(jnp.full(6, 0.2), jnp.zeros(4))
    data = molcomp.exact.configurations(target)
    model = learning.neural.BoltzmannMachine.random(jax.random.key(0), 4)
    _, history = learning.fit(
        jax.random.key(1),
        model,
        learning.neural.SequentialGibbs(),
        data,
        ADAM,
        100,
        evaluate=learning.Evaluation(30, target=target, ais=None),
    )
    assert history.eval_step == [30, 60, 90, 100]
    assert len(history.kl) == 4 and np.all(np.isfinite(history.kl))


def test_resume_with_other_optimizer_settings_is_refused(tmp_path):
    """The checkpoint records the optimizer's settings (its transformation chain and the
    hyperparameters in their closures): another learning rate is not resumed."""
    directory = str(tmp_path / "c")
    _small_run(jax.random.key(13), 4, directory)
    with pytest.raises(ValueError, match="other optimizer settings"):
        _small_run(jax.random.key(13), 8, directory, optimizer=optax.adam(0.01))
    with pytest.raises(ValueError, match="other optimizer settings"):
        _small_run(jax.random.key(13), 8, directory, optimizer=optax.sgd(0.05))
    _small_run(jax.random.key(13), 8, directory, optimizer=optax.adam(0.05))  # same settings


def test_non_finite_parameters_stop_fit_naming_step_and_leaf():
    """A NaN learning rate poisons the parameters at the first step: fit stops there and
    names the leaf; with check_finite=False the run goes on to the end."""
    bm = random_ising(jax.random.key(8), 6)
    data = exact_samples(jax.random.key(9), bm, 64)
    sampler = learning.neural.SequentialGibbs()
    bad = optax.sgd(float("nan"))
    kw = dict(model_phase=learning.PCD(sampler, 8))
    with pytest.raises(FloatingPointError, match=r"parameter model\.\w+.*step 0"):
        learning.fit(jax.random.key(0), bm, sampler, data, bad, 6, **kw)
    out, _ = learning.fit(jax.random.key(0), bm, sampler, data, bad, 6, check_finite=False, **kw)
    assert not np.all(np.isfinite(out.weights))
