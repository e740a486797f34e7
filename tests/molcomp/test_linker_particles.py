"""Explicit linker particles: the quadrature constants, Monte Carlo of the explicit
bonds against the integrated-out `Linkers` model, and bad input."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

import molcomp
from molcomp.linkers import (
    LinkerInfo,
    LinkerMonteCarlo,
    LinkerParticles,
    LinkerState,
    linker_bonds,
    pair_prediction,
)
from molcomp.particles import ParticleMixture

ARM_DEPTH = [[3.0], [4.0]]  # observed species 0 and 1, one linker species
BLOCK = 4000  # Monte Carlo steps per batch; the autocorrelation time is ~20-60 steps


def _mixture(dim=2, depth=1.0, core=50.0, species=(0, 1)):
    D = jnp.array([[0.0, depth], [depth, 0.0]])
    box = (3.0,) * dim
    return ParticleMixture(D, jnp.array(species), box, sigma=0.5, core=core, cutoff=1.0)


def _model(S, dim=2):
    """Linker activity chosen so that sqrt(S_a S_b) = S."""
    K = LinkerParticles(_mixture(dim), [1.0], ARM_DEPTH).binding_constants()[:, 0]
    return LinkerParticles(_mixture(dim), [S / np.sqrt(K[0] * K[1])], ARM_DEPTH)


@pytest.mark.parametrize("dim", [2, 3])
def test_binding_constants_match_adaptive_quadrature(dim):
    # K_ak = 2 int (e^{D w(r)} - 1) d^dr: Gauss-Legendre against scipy's adaptive quad.
    model = LinkerParticles(_mixture(dim), [0.1], ARM_DEPTH)
    area = 2 * np.pi if dim == 2 else 4 * np.pi

    def f(r, D):
        return r ** (dim - 1) * np.expm1(D * (1 - (1 - np.exp(-6.0 * max(r - 0.2, 0))) ** 2))

    expect = [2 * area * integrate.quad(f, 0, 0.5, args=(D,), points=[0.2])[0] for D in (3, 4)]
    np.testing.assert_allclose(model.binding_constants()[:, 0], expect, rtol=1e-7)


@pytest.mark.parametrize("dim", [2, 3])
def test_bridge_factor_without_direct_interaction(dim):
    # With no direct interaction (zero wells, negligible core), int (f_a * f_b) d^dr =
    # int f_a int f_b = K_a K_b / 4 and e^{-J0} = 1, so v = 1 / (2 V_c) exactly.
    model = LinkerParticles(_mixture(dim, depth=0.0, core=1e-7), [0.1], ARM_DEPTH)
    vc = np.pi if dim == 2 else 4 / 3 * np.pi  # contact ball of radius 2 r_b = 1
    np.testing.assert_allclose(model.bridge_factors()[..., 0], 1 / (2 * vc), rtol=1e-6)
    np.testing.assert_allclose(model.contact_couplings(), 0.0, atol=1e-6)
    # with the core and the well, both change and the quadrature has converged
    real = LinkerParticles(_mixture(dim), [0.1], ARM_DEPTH)
    v, fine = real.bridge_factors(), real.bridge_factors(nodes=64, angles=192)
    assert abs(v[0, 1, 0] * 2 * vc - 1) > 0.05
    np.testing.assert_allclose(v, fine, rtol=1e-6)


def _observables(model, state):
    """Contact, bridged, single a, single b of one chain's `LinkerState`."""
    b = linker_bonds(state)
    d = state.position[0] - state.position[1]
    d = d - 3.0 * jnp.round(d / 3.0)
    contact = jnp.sum(d**2) < model.contact_range**2
    obs = jnp.stack([contact, b["bridged"][0, 1], b["single"][0], b["single"][1]])
    return obs.astype(jnp.float32)


@pytest.fixture(scope="module")
def measure():
    sampler = LinkerMonteCarlo(slots=8)

    def run(model, blocks=20, burn=1, seed=0):
        state = sampler.init(model, jnp.array([[0.5, 0.5], [2.0, 2.0]]))
        means, saturated = [], 0.0
        for key in jax.random.split(jax.random.key(seed), burn + blocks):
            # BLOCK steps of one chain; the block means of the observables
            out = molcomp.sample(key, model, sampler, state, BLOCK, mean_fn=_observables)
            state = out.state
            means.append(np.asarray(out.mean))
            assert isinstance(out.info, LinkerInfo) and out.info.accepted.shape == (5,)
            saturated += float(out.info.saturated) / (burn + blocks)
        # Slots truncate the Poisson linker number; the bias is of the order of the
        # fraction of steps with all slots full, far below the statistical error.
        assert saturated < 1e-3
        means = np.stack(means[burn:])
        return means.mean(0), means.std(0, ddof=1) / np.sqrt(blocks)

    return run


@pytest.mark.parametrize("S", [0.1, 1.0], ids=["dilute", "moderate"])
def test_particles_agree_with_integrated_out_model(measure, S):
    # Two observed particles (species 0, 1; direct well depth 1) and one linker species
    # in a 3 x 3 periodic box, sqrt(S_a S_b) = 0.1 (z K << 1) and 1 (faces half
    # sequestered). The explicit Monte Carlo must reproduce the Linkers predictions for
    # P(contact), P(bridged) and each face's P(singly bound) within 4 standard errors
    # (batch means over 20 blocks of 4000 steps, each >~ 70 autocorrelation times; with
    # 19 degrees of freedom a 4-sigma miss has probability ~8e-4 per observable).
    model = _model(S)
    pred = pair_prediction(model)
    mean, se = measure(model)
    expect = np.array([pred["contact"], pred["bridged"], *pred["single"]])
    assert np.all(se > 0) and np.all(se < 0.015)
    np.testing.assert_array_less(np.abs(mean - expect), 4 * se)
    assert pred["bridged"] > 0.03 and pred["single"].min() > 0.05
    # Dropping the single-arm sequestration (1 + S_a)(1 + S_b) changes the prediction
    # by ~10% in the dilute case and by a factor ~3 at S = 1, where the Monte Carlo
    # rules it out by far more than its error.
    lk = model.linkers((0, 1))
    J0 = model.contact_couplings()[0, 1]
    zKK = float(lk.concentrations[0] * lk.binding[0, 0] * lk.binding[1, 0])
    vc = np.pi * model.contact_range**2
    bridge_naive = vc * np.exp(-J0) * float(lk.bridge) * zKK
    naive = bridge_naive / (vc * np.exp(-J0) + bridge_naive + model.outside_volume()[0, 1])
    if S == 1.0:
        assert abs(mean[1] - naive) > 20 * se[1]
    else:
        assert 0.05 < naive / pred["bridged"] - 1 < 0.5


def test_energy_is_the_sampler_target():
    # LinkerParticles.energy is -ln of the weight the moves balance (module docstring
    # of the sampler). Each difference below is what an acceptance ratio divided by its
    # proposal ratio must equal: a free linker inserted with N_k present, exp(-dE) =
    # z / (slots - N) (acceptance z V / (N + 1)); a face binding an arm at distance r,
    # exp(-dE) = f(r) = e^{D w(r)} - 1 (acceptance f).
    model, slots = _model(0.5), 8
    x = jnp.array([[0.5, 0.5], [1.2, 0.5]])
    empty = LinkerMonteCarlo(slots=slots).init(model, x)
    energy = functools.partial(eqx.filter_jit(lambda m, s: m.energy(s)), model)
    np.testing.assert_allclose(energy(empty), model.mixture.energy(x), rtol=1e-6)
    z = float(model.activity[0])

    def put(state, slot, y):
        return eqx.tree_at(
            lambda t: (t.linker, t.active),
            state,
            (state.linker.at[slot].set(jnp.asarray(y)), state.active.at[slot].set(True)),
        )

    one = put(empty, 0, [0.6, 0.5])  # 0.1 from face 0: inside arm_sigma, w = 1
    two = put(one, 1, [2.5, 2.5])
    for a, b, n in ((empty, one, 0), (one, two, 1)):
        np.testing.assert_allclose(energy(b) - energy(a), -np.log(z / (slots - n)), atol=1e-5)
    bound = eqx.tree_at(lambda t: t.bond, one, jnp.array([0, -1]))
    f = np.expm1(ARM_DEPTH[0][0])
    np.testing.assert_allclose(energy(bound) - energy(one), -np.log(f), atol=1e-5)
    # a bridge: face 1 (0.6 from the linker, beyond arm_range 0.5) cannot bind it ...
    far = eqx.tree_at(lambda t: t.bond, one, jnp.array([0, 1]))
    assert np.isinf(float(energy(far)))
    # ... nor can two faces share one arm, or a face bind an empty slot
    assert np.isinf(float(energy(eqx.tree_at(lambda t: t.bond, one, jnp.array([0, 0])))))
    assert np.isinf(float(energy(eqx.tree_at(lambda t: t.bond, one, jnp.array([-1, 2])))))
    # the state check names what is wrong
    with pytest.raises(TypeError, match="state must be a LinkerState"):
        model.check_state(x)
    with pytest.raises(ValueError, match="state fields must be"):
        model.check_state(eqx.tree_at(lambda t: t.bond, one, jnp.array([-1, -1, -1])))


@pytest.mark.slow
def test_sample_runs_batched_chains():
    # Chains are a leading axis of the state; `sample` gives per-chain means and a
    # typed, per-chain info, and the same key gives the same run.
    model = _model(0.5)
    sampler = LinkerMonteCarlo(slots=8)
    x = jnp.array([[[0.5, 0.5], [2.0, 2.0]], [[1.0, 1.0], [2.5, 0.5]]])
    state = sampler.init(model, x)
    assert isinstance(state, LinkerState) and state.active.shape == (2, 8)
    a = molcomp.sample(jax.random.key(0), model, sampler, state, 200, mean_fn=_observables)
    b = molcomp.sample(jax.random.key(0), model, sampler, state, 200, mean_fn=_observables)
    assert a.mean.shape == (2, 4) and a.info.accepted.shape == (2, 5)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.state.position, b.state.position)
    assert not np.array_equal(a.state.position[0], a.state.position[1])
    assert np.all(np.asarray(a.acceptance) > 0)


def test_bad_input():
    mix = _mixture()
    with pytest.raises(ValueError, match="activity must be >= 0"):
        LinkerParticles(mix, [-0.1], ARM_DEPTH)
    with pytest.raises(ValueError, match=r"arm_depth must have shape \(q, L\) = \(2, 1\)"):
        LinkerParticles(mix, [0.1], [[1.0], [1.0], [1.0]])
    with pytest.raises(ValueError, match=r"arm_depth must have shape \(q, L\) = \(2, 2\)"):
        LinkerParticles(mix, [0.1, 0.2], ARM_DEPTH)
    with pytest.raises(ValueError, match="arm_depth must be >= 0"):
        LinkerParticles(mix, [0.1], [[1.0], [-1.0]])
    with pytest.raises(ValueError, match="at least 4 \\* arm_range"):
        LinkerParticles(mix, [0.1], ARM_DEPTH, arm_range=1.0)
    with pytest.raises(TypeError, match="mixture must be a ParticleMixture"):
        LinkerParticles("mixture", [0.1], ARM_DEPTH)
    model = LinkerParticles(mix, [0.1], ARM_DEPTH)
    sampler = LinkerMonteCarlo()
    with pytest.raises(ValueError, match="positions must be finite"):
        sampler.init(model, jnp.array([[0.5, jnp.nan], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="positions must have shape"):
        sampler.init(model, jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="slots must be an integer >= 1"):
        LinkerMonteCarlo(slots=0)
    three = LinkerParticles(_mixture(species=(0, 1, 1)), [0.1], ARM_DEPTH)
    with pytest.raises(ValueError, match="needs 2 observed particles"):
        pair_prediction(three)
    # Linkers holds one bridge factor: two linker species with different arm wells
    # give different v for the same pair, which must not be silently averaged
    two = LinkerParticles(mix, [0.1, 0.1], [[3.0, 1.0], [4.0, 1.0]])
    with pytest.raises(ValueError, match="bridge factors of pair"):
        two.linkers((0, 1))
