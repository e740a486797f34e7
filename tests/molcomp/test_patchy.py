"""PatchyMixture: exact energies of placed lattice structures, statistics, forces and
gradients, patch bonds, validation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import lattice, particles
from molcomp.potts import PottsModel

SCALE = 2.5


def _structure(kind, seed=0, q=9):
    rng = np.random.default_rng(seed)
    lat = getattr(lattice, kind)(3, periodic=False)
    k = lat.n_directions
    couplings = molcomp.Couplings.oriented(rng.normal(size=(k // 2, q, q)))
    species = rng.permutation(lat.n_sites) % q
    return lat, couplings, species.astype(np.int32)


def _random_config(n, box, seed):
    """n particles on a jittered grid (no overlaps) with random angles."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n]
    xy = (grid + 0.5) * (box / side) + rng.normal(scale=0.1, size=(n, 2))
    theta = rng.uniform(0, 2 * np.pi, size=(n, 1))
    return jnp.asarray(np.concatenate([np.mod(xy, box), theta], 1), jnp.float32)


@pytest.mark.parametrize("kind", ["square", "triangular"])
@pytest.mark.parametrize("angle", [0.0, 0.7])
def test_placed_structure_has_lattice_bond_energy(kind, angle):
    # Exact: every lattice bond is a patch bond at contact (w = g = 1), every other pair
    # is non-bonded (patches point away, or r beyond the cutoff), the core vanishes at
    # r = sigma. Only float32 rounding of the placed coordinates remains.
    lat, couplings, species = _structure(kind)
    model = particles.PatchyMixture(couplings, species, box=(12.0, 12.0), scale=SCALE)
    config = particles.lattice_configuration(lat, origin=(5.0, 4.0), angle=angle)
    lattice_energy = PottsModel(lat, couplings).energy(jnp.asarray(species))
    np.testing.assert_allclose(model.energy(config), SCALE * lattice_energy, rtol=2e-6, atol=1e-5)
    assert abs(float(model.core_energy(config))) < 1e-6
    # statistics: each forward bond once, i.e. the lattice's ordered contacts of the
    # forward directions
    contacts = PottsModel(lat, couplings).contacts(jnp.asarray(species))
    h = lat.n_directions // 2
    np.testing.assert_allclose(model.statistics(config), contacts[:h], atol=1e-5)
    # patch bonds are the lattice neighbours (-1 across the open boundary)
    expected = np.where(np.asarray(lat.mask), np.asarray(lat.neighbours), -1)
    np.testing.assert_array_equal(model.patch_bonds(config), expected)


def test_lattice_configuration_sites_and_errors():
    lat = lattice.square(3, periodic=False)
    full = particles.lattice_configuration(lat, spacing=1.5, origin=(1.0, 2.0))
    part = particles.lattice_configuration(lat, np.array([4, 0]), spacing=1.5, origin=(1.0, 2.0))
    np.testing.assert_allclose(part, full[np.array([4, 0])])
    np.testing.assert_allclose(full[4], [2.5, 3.5, 0.0])
    with pytest.raises(ValueError, match="sites must lie in"):
        particles.lattice_configuration(lat, np.array([9]))
    with pytest.raises(ValueError, match="square or triangular"):
        particles.lattice_configuration(lattice.cubic(3, periodic=False))
    with pytest.raises(TypeError, match="lattice must be"):
        particles.lattice_configuration(np.zeros((3, 3)))


@pytest.fixture(scope="module")
def random_system():
    rng = np.random.default_rng(3)
    q, n, box = 3, 24, 7.0
    couplings = molcomp.Couplings.oriented(3.0 * rng.normal(size=(2, q, q)))
    species = rng.integers(0, q, n).astype(np.int32)
    model = particles.PatchyMixture(
        couplings, species, box=(box, box), scale=1.5, patch_width=np.pi / 4
    )
    config = _random_config(n, box, 4)
    nbrs = particles.Brownian(dt=1e-4).init(model, config).neighbors
    return model, config, nbrs


def test_energy_is_linear_in_couplings(random_system):
    # dE/dparams = scale * statistics, and E = core + scale <params, statistics>
    model, config, _ = random_system
    stats = model.statistics(config)
    assert float(jnp.sum(stats)) > 0.5  # some patch contacts (not a vacuous check)
    grad = eqx.filter_grad(lambda m: m.energy(config))(model).couplings.params
    np.testing.assert_allclose(grad, model.scale * stats, rtol=1e-5, atol=1e-5)
    total = model.core_energy(config) + model.energy_from_statistics(stats)
    np.testing.assert_allclose(model.energy(config), total, rtol=1e-5, atol=1e-5)


def test_neighbour_list_energy_force_and_bonds_match_all_pairs(random_system):
    model, config, nbrs = random_system
    np.testing.assert_allclose(model.energy(config, nbrs), model.energy(config), rtol=1e-5)
    np.testing.assert_allclose(model.statistics(config, nbrs), model.statistics(config), atol=1e-5)
    # the hand-written row-wise force against reverse-mode autodiff of the energy
    reference = -jax.grad(model.energy)(config)
    force = model.force(config, nbrs)
    assert float(jnp.max(jnp.abs(reference[:, 2]))) > 0.1  # torques present
    np.testing.assert_allclose(force, reference, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(
        model.patch_bonds(config, neighbors=nbrs), model.patch_bonds(config)
    )
    bonds = np.asarray(model.patch_bonds(config))
    k = model.n_patches
    for i, d in zip(*np.nonzero(bonds >= 0)):  # symmetric: j's opposite patch holds i
        assert bonds[bonds[i, d], (d + k // 2) % k] == i


def test_gradient_matches_finite_differences(random_system):
    # Central differences in float64 arithmetic on the float32 energy: step 1e-3,
    # truncation error O(h^2 E''') ~ 1e-5 and rounding ~ 1e-7 / 1e-3; 2 % of the
    # directional derivative (and 5e-3 absolute) covers both with margin.
    model, config, _ = random_system
    rng = np.random.default_rng(5)
    grad = np.asarray(jax.grad(model.energy)(config), np.float64)
    for _ in range(3):
        v = rng.normal(size=config.shape)
        h = 1e-3
        fd = (float(model.energy(config + h * v)) - float(model.energy(config - h * v))) / (2 * h)
        np.testing.assert_allclose(fd, np.sum(grad * v), rtol=2e-2, atol=5e-3)


def test_tempered_trainable_and_shapes(random_system):
    model, config, _ = random_system
    np.testing.assert_allclose(
        model.tempered(0.3).energy(config), 0.3 * model.energy(config), rtol=1e-5
    )
    spec = model.trainable()
    leaves = jax.tree_util.tree_leaves(spec)
    assert sum(leaves) == 1 and spec.couplings.params is True
    assert model.state_shape == (24, 3) and model.n_states is None and model.dim == 2
    assert model.has_statistics and model.statistics(config).shape == model.couplings.params.shape
    # theta is 2 pi periodic
    shifted = config.at[:, 2].add(2 * np.pi)
    np.testing.assert_allclose(model.energy(shifted), model.energy(config), rtol=1e-4)


def test_patch_shape():
    width = 0.4
    psi = jnp.linspace(-1.0, 1.0, 201)
    g = particles.patch_shape(psi, width)
    assert float(particles.patch_shape(0.0, width)) == 1.0
    assert np.all(np.asarray(g)[np.abs(np.asarray(psi)) >= width] == 0.0)
    slope = jax.grad(lambda p: particles.patch_shape(p, width))
    # C^1 at the edge: g' ~ 2 (width - psi) h'(width)^2 -> 0 (h' ~ -5 here), and 0 beyond
    assert abs(float(slope(width - 1e-4))) < 0.01
    assert float(slope(width + 1e-4)) == 0.0
    assert abs(float(slope(width / 2))) > 1.0  # a slope that could have been nonzero


def test_bad_inputs():
    c4 = molcomp.Couplings.oriented(-np.ones((2, 2, 2)))
    species = np.array([0, 1], np.int32)
    with pytest.raises(ValueError, match="couplings must be oriented"):
        particles.PatchyMixture(molcomp.Couplings.symmetric(-np.eye(2)), species, (6.0, 6.0))
    with pytest.raises(ValueError, match="n_directions=2"):
        particles.PatchyMixture(
            molcomp.Couplings.oriented(-np.ones((1, 2, 2))), species, (6.0, 6.0)
        )
    with pytest.raises(TypeError, match="couplings must be a molcomp.Couplings"):
        particles.PatchyMixture(-np.ones((2, 2, 2)), species, (6.0, 6.0))
    with pytest.raises(ValueError, match=r"species must lie in \[0, q\)"):
        particles.PatchyMixture(c4, np.array([0, 2]), (6.0, 6.0))
    with pytest.raises(ValueError, match="box must list 2 side lengths"):
        particles.PatchyMixture(c4, species, (6.0, 6.0, 6.0))
    with pytest.raises(ValueError, match="patch_width must be in"):
        particles.PatchyMixture(c4, species, (6.0, 6.0), patch_width=1.0)
    with pytest.raises(ValueError, match="scale must be > 0"):
        particles.PatchyMixture(c4, species, (6.0, 6.0), scale=-1.0)
    model = particles.PatchyMixture(c4, species, (6.0, 6.0))
    with pytest.raises(ValueError, match=r"config must have shape \(2, 3\)"):
        model.check_state(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must be finite"):
        model.check_state(np.array([[1.0, 1.0, np.nan], [2.0, 2.0, 0.0]]))
    with pytest.raises(ValueError, match="inside the box"):
        model.check_state(np.array([[1.0, 7.0, 0.0], [2.0, 2.0, 0.0]]))
    ok = model.check_state(np.array([[1.0, 1.0, -9.0], [2.0, 1.0, 20.0]]))  # any real theta
    assert ok.dtype == jnp.float32
    assert np.isnan(float(model.energy(jnp.array([[1.0, 1.0, jnp.nan], [2.0, 1.0, 0.0]]))))
    # two particles bonded head-on: one patch bond of depth scale * J = -1
    e = model.energy(jnp.array([[1.0, 1.0, 0.0], [2.0, 1.0, 0.0]]))
    np.testing.assert_allclose(e, -1.0, atol=1e-6)
