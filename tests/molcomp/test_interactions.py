"""Couplings store only independent parameters; the sign conventions of the one table in
ARCHITECTURE.md, checked through energies and exact probabilities."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import exact, interactions, lattice, observables


def test_symmetric_couplings_store_upper_triangle():
    rng = np.random.default_rng(0)
    J = rng.normal(size=(4, 4))
    J = J + J.T
    c = molcomp.Couplings.symmetric(J)
    assert c.params.shape == (10,) and not c.is_oriented
    np.testing.assert_allclose(c.matrices()[0], J, rtol=1e-6)
    # Any update of the stored parameters (an optimizer step) keeps J symmetric.
    moved = molcomp.Couplings(c.params + jnp.asarray(rng.normal(size=10), jnp.float32), q=4)
    M = np.asarray(moved.matrices()[0])
    np.testing.assert_array_equal(M, M.T)


def test_oriented_couplings_store_forward_directions():
    rng = np.random.default_rng(1)
    Jf = rng.normal(size=(2, 3, 3))
    c = molcomp.Couplings.oriented(Jf)
    assert c.params.shape == (2, 3, 3) and c.n_directions == 4 and c.is_oriented
    M = np.asarray(c.matrices())
    np.testing.assert_allclose(M[:2], Jf, rtol=1e-6)
    np.testing.assert_array_equal(M[2:], np.swapaxes(M[:2], 1, 2))
    again = molcomp.Couplings.from_directions(M)
    np.testing.assert_array_equal(again.params, c.params)
    moved = molcomp.Couplings(c.params + 1.5, q=3, n_directions=4)
    M = np.asarray(moved.matrices())
    np.testing.assert_array_equal(M[2:], np.swapaxes(M[:2], 1, 2))


def test_chemical_potential_is_log_concentration():
    c = np.array([0.5, 1.0, 4.0])
    np.testing.assert_allclose(molcomp.chemical_potential(c), np.log(c), rtol=1e-6)
    np.testing.assert_allclose(molcomp.chemical_potential(c, c0=2.0), np.log(c / 2.0), rtol=1e-6)


def test_ising_and_potts_tables():
    s = np.array([-1.0, 1.0])
    np.testing.assert_allclose(interactions.ising(0.7).matrices()[0], -0.7 * np.outer(s, s))
    np.testing.assert_allclose(interactions.potts(1.3, q=4).matrices()[0], -1.3 * np.eye(4))


# ---- conventions -------------------------------------------------------------------

# Jitted once per model structure: models that differ only in values share it.
expect = eqx.filter_jit(exact.expectation)


@eqx.filter_jit
def energy(model, config):
    return model.energy(config)


def two_sites(J, mu=(0.0, 0.0), empty=False):
    """Two species on an open 2x2 lattice: small enough to enumerate."""
    return molcomp.PottsModel(
        lattice.square(2, periodic=False), molcomp.Couplings.symmetric(J), mu=mu, empty=empty
    )


def p_bound(model):
    """Exact probability that a bond joins species 0 and 1 (either order)."""
    n = expect(model, observables.contacts)[0]
    return float((n[0, 1] + n[1, 0]) / n.sum())


def test_negative_coupling_attracts():
    J = np.array([[0.0, -2.0], [-2.0, 0.0]])
    model = two_sites(J)
    apart = jnp.array([0, 0, 1, 1])  # rows: 0 0 / 1 1 -> two 0-1 bonds (vertical)
    together = jnp.array([0, 1, 1, 0])  # checkerboard -> four 0-1 bonds
    assert float(model.energy(together)) == pytest.approx(-8.0)
    assert float(model.energy(apart)) == pytest.approx(-4.0)
    neutral = two_sites(np.zeros((2, 2)))
    repulsive = two_sites(-J)
    assert p_bound(model) > p_bound(neutral) + 0.2
    assert p_bound(repulsive) < p_bound(neutral) - 0.2
    assert p_bound(neutral) == pytest.approx(0.5, abs=1e-5)


def test_raising_concentration_raises_occupancy():
    J = np.array([[-0.5, 0.2], [0.2, 0.1]])
    sigma = jnp.array([0, 1, 2, 0])
    occupancy = []
    for c0 in [0.1, 1.0, 10.0]:
        mu = molcomp.chemical_potential([c0, 1.0])
        model = two_sites(J, mu=mu, empty=True)
        occupancy.append(float(expect(model, observables.counts)[0]))
        # E = bonds - sum_sites mu: two sites of species 0, one of species 1.
        bonds = two_sites(J, empty=True).energy(sigma)
        assert float(model.energy(sigma)) == pytest.approx(
            float(bonds - 2 * mu[0] - mu[1]), abs=1e-5
        )
    assert occupancy[0] < occupancy[1] < occupancy[2]
    # Dilute, non-interacting limit: occupancy c / (1 + c + 1) per site.
    free = two_sites(np.zeros((2, 2)), mu=molcomp.chemical_potential([0.5, 1.0]), empty=True)
    per_site = expect(free, observables.counts)[0] / 4
    assert float(per_site) == pytest.approx(0.5 / 2.5, rel=1e-5)


def spin_product(m, s):
    spins = 2.0 * s - 1.0
    return jnp.mean(spins[:, None] * spins[m.lattice.neighbours])


@pytest.mark.parametrize("w", [0.5, -0.5])
def test_ising_positive_weight_aligns(w):
    model = molcomp.PottsModel(lattice.square(3), interactions.ising(w))
    aligned, mixed = jnp.zeros(9, jnp.int32), jnp.array([0, 1, 0, 1, 0, 1, 0, 1, 0])
    assert (float(model.energy(aligned)) < float(model.energy(mixed))) == (w > 0)
    assert float(model.energy(aligned)) == pytest.approx(-w * 18)  # E = -w sum s s

    corr = float(expect(model, spin_product))
    assert np.sign(corr) == np.sign(w) and abs(corr) > 0.2
    # A field b enters as mu = (-b, +b): b > 0 favours spin up.
    field = molcomp.PottsModel(lattice.square(3), interactions.ising(0.0), mu=[-0.3, 0.3])
    mag = float(expect(field, observables.magnetization))
    assert mag == pytest.approx(np.tanh(0.3), rel=1e-4)


def test_oriented_couplings_mirror_image(getkey):
    # Species a left of b has energy J[+x][a, b]; reflecting the configuration left to
    # right and transposing J[+x] (= using J[-x]) must give the same energy.
    rng = np.random.default_rng(3)
    Jf = rng.normal(size=(2, 3, 3))
    lat = lattice.square((3, 4), periodic=False)
    model = molcomp.PottsModel(lat, molcomp.Couplings.oriented(Jf), mu=rng.normal(size=3))
    mirror_J = np.stack([Jf[0].T, Jf[1]])
    mirrored = molcomp.PottsModel(lat, molcomp.Couplings.oriented(mirror_J), mu=model.mu)
    for _ in range(5):
        s = jax.random.randint(getkey(), (3, 4), 0, 3)
        flipped = s[:, ::-1]
        assert float(energy(model, s.ravel())) == pytest.approx(
            float(energy(mirrored, flipped.ravel())), abs=1e-4
        )
    # Direct reading: a single a-b pair side by side, the rest empty.
    pair = molcomp.PottsModel(lat, molcomp.Couplings.oriented(Jf), empty=True)
    config = np.full(12, 3)
    config[[0, 1]] = [0, 2]  # 0 left of 2
    assert float(energy(pair, jnp.asarray(config))) == pytest.approx(Jf[0, 0, 2], abs=1e-6)
    config[[0, 1]] = [2, 0]  # 2 left of 0: the transpose entry
    assert float(energy(pair, jnp.asarray(config))) == pytest.approx(Jf[0, 2, 0], abs=1e-6)
    config = np.full(12, 3)
    config[[0, 4]] = [0, 2]  # 0 above 2 (+y is the next row)
    assert float(energy(pair, jnp.asarray(config))) == pytest.approx(Jf[1, 0, 2], abs=1e-6)
