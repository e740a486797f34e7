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
        _fit(bm, learning.SequentialGibbs(), jnp.zeros(4, jnp.int32), opt)
    with pytest.raises(TypeError, match="data must hold integer states"):
        learning.Observed(jnp.zeros((3, 4)))


def test_species_out_of_range(setup):
    potts, bm, opt = setup
    bad = jnp.zeros((5, 9), jnp.int32).at[2, 4].set(3)
    with pytest.raises(ValueError, match=r"data holds state 3 at \[2, 4\]"):
        _fit(potts, molcomp.BlockGibbs(), bad, opt)
    with pytest.raises(ValueError, match="data holds state -1"):
        _fit(bm, learning.SequentialGibbs(), -jnp.ones((3, 4), jnp.int32), opt)


def test_optimizer_must_be_optax(setup):
    _, bm, _ = setup
    data = jnp.zeros((3, 4), jnp.int32)
    for bad in (optax.sgd, lambda g: g, 0.1):
        with pytest.raises(TypeError, match="optimizer must be an optax GradientTransformation"):
            _fit(bm, learning.SequentialGibbs(), data, bad)


def test_clamp_mask_of_the_wrong_shape(setup):
    potts, _, opt = setup
    data = jnp.zeros((5, 9), jnp.int32)
    with pytest.raises(ValueError, match=r"clamp must be a boolean mask of shape \(9,\)"):
        _fit(potts, molcomp.BlockGibbs(), data, opt, clamp=np.ones(5, bool))
    with pytest.raises(ValueError, match=r"clamp must be a boolean mask of shape \(9,\)"):
        _fit(potts, molcomp.BlockGibbs(), data, opt, clamp=np.ones(9, int))
    with pytest.raises(ValueError, match=r"clamp must have shape \(9,\)"):
        phase = learning.ClampedChains(data[:, :4], np.arange(4) < 4, molcomp.BlockGibbs())
        learning.init_state(jax.random.key(0), potts, phase, learning.CD(molcomp.BlockGibbs()))


def test_other_arguments(setup):
    potts, bm, opt = setup
    data = jnp.zeros((3, 4), jnp.int32)
    with pytest.raises(TypeError, match="SequentialGibbs samples binary models"):
        _fit(potts, learning.SequentialGibbs(), jnp.zeros((3, 9), jnp.int32), opt)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        learning.fit(jax.random.key(1), bm, learning.SequentialGibbs(), data, opt, 0)
    with pytest.raises(ValueError, match="weights must be 3 finite non-negative"):
        _fit(bm, learning.SequentialGibbs(), data, opt, weights=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="method must be one of"):
        _fit(bm, learning.SequentialGibbs(), data, opt, method="exact")
    with pytest.raises(ValueError, match="target must hold log-probabilities of all 16"):
        _fit(bm, learning.SequentialGibbs(), data, opt, eval_every=1, target=jnp.zeros(8))
    with pytest.raises(ValueError, match="checkpoint_every needs a checkpoint_dir"):
        _fit(bm, learning.SequentialGibbs(), data, opt, checkpoint_every=1)
    with pytest.raises(ValueError, match="chains must be an integer >= 1"):
        learning.PCD(learning.SequentialGibbs(), chains=0)
