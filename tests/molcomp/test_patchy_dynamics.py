"""Brownian and Langevin dynamics of patchy particles sample the Boltzmann law: one
particle's orientation in a torque field, the bound fraction of a pair against
quadrature, rotational and translational equipartition."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

import molcomp
from molcomp import particles

FIELD = 2.0  # torque field h: U(theta) = -h cos(theta)


class Torqued(particles.PatchyMixture):
    """Test-only model: the patchy energy plus an external field -h sum cos(theta)."""

    def energy(self, config, neighbors=None):
        return super().energy(config, neighbors) - FIELD * jnp.sum(jnp.cos(config[:, 2]))


def _couplings(value):
    return molcomp.Couplings.oriented(np.full((2, 2, 2), value))


def test_orientation_in_torque_field_is_boltzmann():
    # One particle, 4000 independent chains from theta = 0, run to t = 3, more than 10
    # rotational relaxation times 1 / (D_rot (1 + h)) = 0.11 (D_rot = 3), then one
    # sample per chain: independent draws from p(theta) ~ exp(h cos theta). Brownian's
    # O(dt) bias in the density is ~ dt D_rot h = 1 %, which adds ~ 4000 * 1e-4 = 0.4
    # to the chi-square; the test fails at p < 1e-3 (chi-square, 11 dof).
    model = Torqued(_couplings(-1.0), np.array([0]), box=(5.0, 5.0))
    sampler = particles.Brownian(dt=2e-3)
    chains = 4000
    start = jnp.tile(jnp.array([[[2.5, 2.5, 0.0]]]), (chains, 1, 1))
    state = sampler.init(model, start)
    out = molcomp.sample(jax.random.key(0), model, sampler, state, 1500, chunk=500)
    theta = np.asarray(out.state.position[:, 0, 2])
    assert theta.min() >= 0 and theta.max() <= 2 * np.pi  # wrapped by the shift
    edges = np.linspace(0, 2 * np.pi, 13)
    counts, _ = np.histogram(theta, edges)
    grid = np.linspace(0, 2 * np.pi, 12001)
    weight = np.exp(FIELD * np.cos(grid))
    cdf = np.concatenate([[0], np.cumsum(0.5 * (weight[1:] + weight[:-1]) * np.diff(grid))])
    p = np.diff(np.interp(edges, grid, cdf)) / cdf[-1]
    chi2 = np.sum((counts - chains * p) ** 2 / (chains * p))
    assert stats.chi2.sf(chi2, len(p) - 1) > 1e-3, chi2
    # and the mean, I1(h) / I0(h), within 4 standard errors
    mean = np.mean(np.cos(theta))
    err = np.std(np.cos(theta)) / np.sqrt(chains)
    assert abs(mean - special.i1(FIELD) / special.i0(FIELD)) < 4 * err


PAIR_BOX, PAIR_J, SKIN = 3.2, -6.0, 0.2  # box >= 2 (cutoff + skin)


def _pair_model():
    # one particle of each species; only patch 0 of species 0 binds patch 2 of
    # species 1 (J_0[0, 1] < 0; every other entry 0)
    J = np.zeros((2, 2, 2))
    J[0, 0, 1] = PAIR_J
    return particles.PatchyMixture(
        molcomp.Couplings.oriented(J),
        np.array([0, 1]),
        box=(PAIR_BOX, PAIR_BOX),
        patch_width=np.pi / 4,
        alpha=2.0,
        cutoff=1.4,
    )


def _exact_bound_fraction(model, threshold=0.5):
    """P(W > threshold) by quadrature: particle 0 at the origin with theta_0 = 0 (the
    energy is invariant under a common rotation), particle 1 at polar (r, phi) with
    angle theta_1; beyond the cutoff the weight is 1 (area L^2 - pi rc^2)."""
    rc = model.cutoff
    nr, nphi, nth = 160, 160, 160
    r = (np.arange(nr) + 0.5) * rc / nr
    phi = (np.arange(nphi) + 0.5) * 2 * np.pi / nphi
    th = (np.arange(nth) + 0.5) * 2 * np.pi / nth
    R, P, T = np.meshgrid(r, phi, th, indexing="ij")
    d = jnp.asarray(np.stack([R * np.cos(P), R * np.sin(P)], -1), jnp.float32)
    ui = jnp.asarray([1.0, 0.0])
    uj = jnp.asarray(np.stack([np.cos(T), np.sin(T)], -1), jnp.float32)
    listed = jnp.ones(R.shape, bool)
    core, w, di = model.pair_terms(d, ui, uj, listed)
    J = model.couplings.matrices()[di, 0, 1]
    u = np.asarray(core + model.scale * J * w, np.float64)
    boltz = np.exp(-u) * R  # polar area element r dr dphi
    cell = (rc / nr) * (2 * np.pi / nphi) * (2 * np.pi / nth)
    inside = boltz.sum() * cell
    bound = (boltz * (np.asarray(w) > threshold)).sum() * cell
    outside = (PAIR_BOX**2 - np.pi * rc**2) * 2 * np.pi
    return bound / (inside + outside)


@pytest.mark.slow
def test_pair_bound_fraction_matches_quadrature():
    # 256 independent chains, each time-averaging the bound indicator over t = 20
    # after t = 2 of burn-in (several binding/unbinding events per chain, so chain
    # means are independent and close to Gaussian); the tolerance is 4 standard errors
    # of the chain means plus 0.015 for the O(dt) bias of Euler-Maruyama (dt k < 0.05
    # for the stiffest mode at dt = 5e-4) and the quadrature grid (2.25 degrees,
    # rc / 160 per point; going from 100 to 160 points per axis moves it by 4e-4).
    model = _pair_model()
    exact = _exact_bound_fraction(model)
    assert 0.15 < exact < 0.85  # a bound fraction that tests something
    sampler = particles.Brownian(dt=5e-4, dr_threshold=SKIN)
    chains = 256
    start = jnp.tile(jnp.array([[[1.0, 1.6, 0.0], [2.0, 1.6, 0.0]]]), (chains, 1, 1))
    state = sampler.init(model, start)
    burn = molcomp.sample(jax.random.key(1), model, sampler, state, 4000, chunk=4000)

    def bound(m, x):
        return (m.patch_bonds(x)[0, 0] == 1).astype(jnp.float32)

    out = molcomp.sample(
        jax.random.key(2), model, sampler, burn.state, 40000, chunk=10000, mean_fn=bound
    )
    means = np.asarray(out.mean)
    err = means.std() / np.sqrt(chains)
    assert abs(means.mean() - exact) < 4 * err + 0.015, (means.mean(), exact, err)


@pytest.mark.slow
def test_langevin_equipartition():
    # <p^2 / m> = 1 per translational dof and <p_theta^2 / I> = 1 for rotation, from
    # 64 chains of 6 interacting patchy particles sampled every 40 steps for t = 6
    # after t = 2 of burn-in (collision rates 1 and 10/3: momenta decorrelate in ~1).
    # Per-chain means are independent; tolerance 4 standard errors of their mean plus
    # the BAOAB bias of the kinetic energy, (omega dt)^2 / 4 < 1 % at dt = 5e-3.
    J = -2.0 * np.ones((2, 2, 2))
    model = particles.PatchyMixture(
        molcomp.Couplings.oriented(J), np.arange(6) % 2, box=(5.0, 5.0), cutoff=1.8
    )
    sampler = particles.Langevin(dt=5e-3)
    inertia, _ = sampler.masses(model)
    chains = 64
    rng = np.random.default_rng(0)
    grid = np.array([[1, 1], [2.5, 1], [4, 1], [1, 3], [2.5, 3], [4, 3]], np.float32)
    start = np.concatenate(
        [np.tile(grid, (chains, 1, 1)), rng.uniform(0, 2 * np.pi, (chains, 6, 1))], -1
    )
    state = sampler.init(model, jnp.asarray(start, jnp.float32), key=jax.random.key(3))
    state = molcomp.sample(jax.random.key(4), model, sampler, state, 400, chunk=400).state
    samples = []
    for i in range(30):
        state = molcomp.sample(jax.random.key(10 + i), model, sampler, state, 40, chunk=40).state
        samples.append(np.asarray(state.momentum) ** 2 / np.asarray(inertia))
    ratio = np.stack(samples)  # (samples, chains, n, 3)
    per_chain = ratio.mean(axis=(0, 2))  # (chains, 3): x, y, theta
    mean = per_chain.mean(axis=0)
    err = per_chain.std(axis=0) / np.sqrt(chains)
    np.testing.assert_array_less(np.abs(mean - 1.0), 4 * err + 0.01)
    assert float(jnp.min(jax.vmap(model.energy)(state.position))) < -1.0  # bonds formed


def test_samplers_reject_bad_dt_and_keep_isotropic_contract():
    model = _pair_model()
    start = jnp.array([[1.0, 1.6, 0.0], [2.0, 1.6, 0.0]])
    limit = particles.Brownian(dt=1e-3).stable_dt(model)
    with pytest.raises(ValueError, match="is too large for this model"):
        particles.Brownian(dt=1.01 * limit, dr_threshold=SKIN).init(model, start)
    with pytest.raises(ValueError, match="is too large for this model"):
        particles.Langevin(dt=10.0, dr_threshold=SKIN).init(model, start)
    state = particles.Brownian(dt=1e-3, dr_threshold=SKIN).init(model, start)
    assert state.neighbors.reference_position.shape == (2, 2)  # list on (x, y)
    with pytest.raises(ValueError, match="gamma_rot must be > 0"):
        particles.Brownian(dt=1e-3, gamma_rot=0.0)
