"""Gradients through Brownian trajectories (vs finite differences; checkpointed ==
plain) and the equilibrium fluctuation estimator (exact on an enumerated system)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import learning
import molcomp
from molcomp import observables as obs
from molcomp import particles
from molcomp.particles import Brownian, ParticleMixture

STEPS = 20


@pytest.fixture(scope="module")
def relaxed():
    # 16 particles, 2 species, on a grid of spacing 1.05 sigma: inside each other's
    # wells, no overlaps (overlapping starts give huge forces and NaN gradients).
    depth = np.array([[2.0, 1.0], [1.0, 0.5]])
    m = ParticleMixture(depth, np.arange(16) % 2, (8.0, 8.0))
    x = particles.lattice_positions(m, spacing=1.05)
    s = Brownian(dt=1e-3)
    return m, s, s.init(m, x, extra_capacity=8)


def _msd(model, start, final):
    displacement, _ = model.space()
    d = jax.vmap(displacement)(final.position, start.position)
    return jnp.mean(jnp.sum(d**2, axis=-1))


def test_trajectory_grad_matches_finite_differences(relaxed):
    m, s, state = relaxed
    key = jax.random.key(3)
    grad = eqx.filter_jit(learning.response.trajectory_grad)
    loss, g = grad(key, m, s, state, STEPS, _msd)
    loss_c, g_c = grad(key, m, s, state, STEPS, _msd, checkpoint_every=5)
    np.testing.assert_allclose(loss_c, loss, rtol=1e-6)
    np.testing.assert_allclose(g_c.depth, g.depth, rtol=1e-4, atol=1e-9)
    assert np.all(np.isfinite(np.asarray(g.depth)))

    # Central differences of the same (fixed-noise) trajectory in D_01 = D_10. Float32
    # losses ~ 1e-1 with h = 0.05 and an O(h^2) error: agreement to 3 % of the largest
    # gradient entry, while the gradient itself is far from zero.
    @jax.jit
    def loss_at(d01):  # the forward trajectory alone, with the same per-step keys
        depth = m.depth.at[0, 1].set(d01).at[1, 0].set(d01)
        mm = eqx.tree_at(lambda t: t.depth, m, depth)
        step = lambda st, k: (s.step(k, mm, st)[0], None)  # noqa: E731
        final = jax.lax.scan(step, state, jax.random.split(key, STEPS))[0]
        return _msd(mm, state, final)

    h = 0.05
    fd = (loss_at(1.0 + h) - loss_at(1.0 - h)) / (2 * h)
    analytic = g.depth[0, 1] + g.depth[1, 0]
    scale = float(jnp.max(jnp.abs(g.depth)))
    assert abs(float(analytic)) > 0.1 * scale
    assert abs(float(fd - analytic)) < 0.03 * scale + 1e-6, (fd, analytic)


def test_fluctuation_grad_is_exact_with_exact_weights():
    # Samples = all 4^4 configurations of 3 species + empty on an open 2 x 2 lattice,
    # random couplings, weights = their exact probabilities: the
    # estimator must equal the derivative of the exact expectation. Float32 sums of
    # 256 weighted terms: 1e-3 of entries of order 0.1-1, while a wrong sign or a missing
    # <O><dE/dtheta> term is off by O(1).
    rng = np.random.default_rng(0)
    J = rng.normal(size=(3, 3))
    couplings = molcomp.Couplings.symmetric((J + J.T) / 2)
    lat = molcomp.lattice.square(2, periodic=False)
    model = molcomp.PottsModel(lat, couplings, jnp.array([0.6, -0.4, 0.9]), empty=True)
    configs, p = molcomp.exact.probabilities(model)

    def n0(m, c):
        return obs.counts(m, c)[0].astype(jnp.float32)

    mean, g = learning.response.fluctuation_grad(model, configs, n0, weights=p)
    exact = eqx.filter_grad(lambda m: molcomp.exact.expectation(m, n0))(model)
    np.testing.assert_allclose(mean, molcomp.exact.expectation(model, n0), rtol=1e-5)
    np.testing.assert_allclose(g.mu, exact.mu, atol=1e-3)
    np.testing.assert_allclose(g.couplings.params, exact.couplings.params, atol=1e-3)
    assert float(jnp.abs(exact.mu).max()) > 0.1


def test_trajectory_grad_bad_input(relaxed):
    m, s, state = relaxed
    with pytest.raises(ValueError, match="checkpoint_every"):
        learning.response.trajectory_grad(
            jax.random.key(0), m, s, state, 10, _msd, checkpoint_every=3
        )
