"""Hebbian exposure of patchy particles: showing placed structures gives the lattice
additive rule (one unit of J per bond per unit time), partial exposure counts only the
bonds formed, and the rule is the energy's own gradient direction."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import learning
import molcomp
from molcomp import particles
from molcomp import structures as st


@pytest.fixture(scope="module")
def structs():
    lat = molcomp.lattice.square(3, periodic=False)
    return st.random(jax.random.key(3), lat, 9, 2)


def test_exposure_of_placed_structures_is_the_additive_rule(structs):
    # Each bond of a placed structure has contact weight 1 (r = sigma, patches facing):
    # eta * duration per bond per structure, 0 on every undesigned (d, a, b).
    J = learning.hebbian.patchy_exposure(structs, eta=0.5, duration=3.0)
    ref = learning.hebbian.additive(structs, 1.5)
    assert J.is_oriented and J.n_directions == 4
    np.testing.assert_allclose(J.params, ref.params, atol=1e-5)
    assert -float(J.params.sum()) == pytest.approx(1.5 * 12 * 2, rel=1e-5)  # 12 bonds each


def test_exposure_counts_the_bonds_of_one_structure(structs):
    # One structure placed, then half of it pulled apart: the increment sums to
    # -eta dt x (number of bonds formed), at the right (d, a, b) entries.
    box = (10.0, 10.0)
    species, config = particles.structure_configuration(structs, 0, box)
    zero = molcomp.Couplings.oriented(jnp.zeros((2, 9, 9)))
    model = particles.PatchyMixture(zero, jnp.asarray(species), box)
    dJ = learning.hebbian.patchy_exposure_increment(model, config, 0.1, eta=2.0)
    n = learning.hebbian.bond_counts(st.from_arrays(structs.lattice, structs.arrangements[:1]))
    np.testing.assert_allclose(dJ, -0.2 * n, atol=1e-6)
    apart = np.array(config)
    apart[6:, 1] += 1.5  # top row lifted by 1.5 sigma: its 3 bonds to row 1 are gone
    frames = np.stack([config, apart])
    dJ2 = learning.hebbian.patchy_exposure_increment(model, frames, np.array([1.0, 1.0]), 1.0)
    assert -float(dJ2.sum()) == pytest.approx(12 + 9, rel=1e-5)


def test_exposure_is_minus_the_energy_gradient(structs):
    # dE/dJ = scale * W, so the rule is J -= eta * dE/dJ / scale: compare with jax.grad
    # on a thermally displaced configuration (contact weights strictly between 0 and 1).
    box = (10.0, 10.0)
    species, config = particles.structure_configuration(structs, 1, box)
    x = config + 0.05 * jax.random.normal(jax.random.key(0), config.shape)
    J = learning.hebbian.additive(structs, 1.0)
    model = particles.PatchyMixture(J, jnp.asarray(species), box, scale=2.0)
    grad = jax.grad(lambda p: eqx.tree_at(lambda m: m.couplings.params, model, p).energy(x))(
        J.params
    )
    dJ = learning.hebbian.patchy_exposure_increment(model, x, 1.0, eta=1.0)
    np.testing.assert_allclose(dJ, -grad / 2.0, rtol=1e-4, atol=1e-6)
    assert 0.0 < -float(dJ.sum()) < 12.0  # displaced: partial contacts


def test_bad_input(structs):
    with pytest.raises(TypeError, match="model"):
        learning.hebbian.patchy_exposure_increment(structs, np.zeros((9, 3)), 1.0, 1.0)
    box = (10.0, 10.0)
    species, config = particles.structure_configuration(structs, 0, box)
    model = particles.PatchyMixture(learning.hebbian.additive(structs, 1.0), species, box)
    with pytest.raises(ValueError, match="dt"):
        learning.hebbian.patchy_exposure_increment(model, config, -1.0, 1.0)
    with pytest.raises(ValueError, match="dt"):
        learning.hebbian.patchy_exposure_increment(model, config[None], np.ones(3), 1.0)
