"""Bad input to the learning API gives clear errors that name the argument."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from learning_helpers import random_ising

import learning
import molcomp


@pytest.fixture(scope="module")
def setup():
    potts = molcomp.PottsModel(molcomp.lattice.square(3), molcomp.interactions.potts(1.0, 3))
    bm = random_ising(jax.random.key(0), 4)
    return potts, bm, optax.sgd(0.1)


def _fit(model, sampler, data, opt, **kw):
    return learning.fit(jax.random.key(1), model, sampler, data, opt, 2, **kw)


def test_data_of_the_wrong_shape(setup):
    potts, bm, opt = setup
    with pytest.raises(ValueError, match=r"data must have shape \(m, 9\)"):
        _fit(potts, molcomp.BlockGibbs(), jnp.zeros((5, 8), jnp.int32), opt)
    with pytest.raises(ValueError, match=r"data must have shape \(m, n\)"):
        _fit(bm, learning.neural.SequentialGibbs(), jnp.zeros(4, jnp.int32), opt)
    # Float rows are configurations of a continuous model: a discrete model refuses
    # them when the phase is validated against it (at fit's start).
    with pytest.raises(TypeError, match="data must hold integer states"):
        _fit(bm, learning.neural.SequentialGibbs(), jnp.zeros((3, 4)), opt)
    with pytest.raises(TypeError, match="integer states or real coordinates"):
        learning.Observed(jnp.zeros((3, 4), bool))


def test_species_out_of_range(setup):
    potts, bm, opt = setup
    bad = jnp.zeros((5, 9), jnp.int32).at[2, 4].set(3)
    with pytest.raises(ValueError, match=r"data holds state 3 at \[2, 4\]"):
        _fit(potts, molcomp.BlockGibbs(), bad, opt)
    with pytest.raises(ValueError, match="data holds state -1"):
        _fit(bm, learning.neural.SequentialGibbs(), -jnp.ones((3, 4), jnp.int32), opt)


def test_optimizer_must_be_optax(setup):
    _, bm, _ = setup
    data = jnp.zeros((3, 4), jnp.int32)
    for bad in (optax.sgd, lambda g: g, 0.1):
        with pytest.raises(TypeError, match="optimizer must be an optax GradientTransformation"):
            _fit(bm, learning.neural.SequentialGibbs(), data, bad)


def test_clamp_mask_of_the_wrong_shape(setup):
    potts, _, opt = setup
    data = jnp.zeros((5, 9), jnp.int32)
    gibbs = molcomp.BlockGibbs()
    with pytest.raises(ValueError, match=r"clamp must have shape \(9,\)"):
        _fit(potts, gibbs, learning.ClampedChains(data[:, :5], np.ones(5, bool), gibbs), opt)
    with pytest.raises(ValueError, match="clamp must be a 1-D boolean mask"):
        learning.ClampedChains(data, np.ones(9, int), gibbs)
    with pytest.raises(ValueError, match=r"clamp must have shape \(9,\)"):
        phase = learning.ClampedChains(data[:, :4], np.arange(4) < 4, gibbs)
        learning.init_state(jax.random.key(0), potts, phase, learning.CD(gibbs))
    with pytest.raises(ValueError, match="pass a learning.ClampedChains"):
        _fit(potts, gibbs, data[:, :5], opt)  # data over some variables need a clamp


def test_other_arguments(setup):
    potts, bm, opt = setup
    data = jnp.zeros((3, 4), jnp.int32)
    gibbs = learning.neural.SequentialGibbs()
    with pytest.raises(TypeError, match="SequentialGibbs samples binary models"):
        _fit(potts, gibbs, jnp.zeros((3, 9), jnp.int32), opt)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        learning.fit(jax.random.key(1), bm, gibbs, data, opt, 0)
    with pytest.raises(ValueError, match="weights must be 3 finite non-negative"):
        learning.Observed(data, weights=[1.0, -1.0, 1.0])
    ebm = learning.neural.NeuralEBM(2, key=jax.random.key(0))
    x = jnp.zeros((3, 2))
    with pytest.raises(ValueError, match="via_statistics=True, but NeuralEBM has no"):
        learning.energy_gap_grad(ebm, x, None, x, None, via_statistics=True)
    with pytest.raises(ValueError, match="target must hold log-probabilities of all 16"):
        _fit(bm, gibbs, data, opt, evaluate=learning.Evaluation(1, target=jnp.zeros(8)))
    with pytest.raises(TypeError, match="evaluate must be a learning.Evaluation"):
        _fit(bm, gibbs, data, opt, evaluate=1)
    with pytest.raises(TypeError, match="checkpoint must be a learning.Checkpointing"):
        _fit(bm, gibbs, data, opt, checkpoint="somewhere")
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        learning.Evaluation(0)
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        learning.Checkpointing("somewhere", every=0)
    with pytest.raises(TypeError, match="ais must be a learning.AIS"):
        learning.Evaluation(1, ais={"chains": 8})
    with pytest.raises(ValueError, match="chains must be an integer >= 1"):
        learning.PCD(gibbs, chains=0)
    with pytest.raises(ValueError, match="schedule must increase strictly from 0 to 1"):
        learning.AIS(schedule=[0.0, 0.5, 0.4, 1.0])
