"""Particle mixtures: the pair potential's sign convention, neighbour-list energy ==
all-pairs energy, observables, and clear errors for bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

import molcomp
from molcomp import particles
from molcomp.particles import ParticleMixture

DEPTH = np.array([[4.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 3.0]])


def _model(n=40, dim=2, side=7.0):
    species = np.arange(n) % 3
    return ParticleMixture(DEPTH, species, (side,) * dim)


def test_well_minimum_is_minus_depth():
    # Sign table: energy -D_ab at the well minimum (r = sigma), a true minimum.
    m = _model()
    for d in (0.0, 0.5, 4.0):
        r = jnp.linspace(0.3, 2.5, 2201)
        u = eqx.filter_jit(m.pair_energy)(r, d)
        assert float(m.pair_energy(jnp.float32(1.0), d)) == pytest.approx(-d, abs=1e-6)
        assert float(u.min()) >= -d - 1e-6
    assert float(m.pair_energy(jnp.float32(2.01), 4.0)) == 0.0  # beyond the cutoff


@pytest.mark.parametrize("dim", [2, 3])
def test_neighbour_list_energy_matches_all_pairs(dim, getkey):
    m = _model(n=60, dim=dim, side=6.0 if dim == 3 else 9.0)
    x = particles.random_positions(getkey(), m)
    state = particles.Brownian(dt=1e-3).init(m, x)
    vg = eqx.filter_jit(jax.value_and_grad(lambda x, m, n: m.energy(x, n)))
    e_all, f_all = vg(x, m, None)
    e_nbr, f_nbr = vg(x, m, state.neighbors)
    # float32 sums of O(100) terms of size up to ~core: relative 1e-5.
    np.testing.assert_allclose(e_nbr, e_all, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(f_nbr, f_all, rtol=1e-4, atol=1e-3)
    # the samplers' gather-only pair forces are -dE/dx too
    force = eqx.filter_jit(lambda x, m, n: m.force(x, n))(x, m, state.neighbors)
    np.testing.assert_allclose(force, -f_all, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dim", [2, 3])
def test_cell_list_finds_every_pair(dim, getkey):
    # Lists built through cells hold exactly the pairs within cutoff + skin that the
    # all-pairs build holds (as sets per particle; the order differs), and a crowded
    # cell beyond the cell capacity sets the overflow bit instead of losing pairs.
    side = 8.0 if dim == 3 else 12.0  # >= 3 cells of side cutoff + skin per axis
    m = _model(n=300, dim=dim, side=side)
    x = particles.random_positions(getkey(), m)
    lists = {}
    for cells in (True, False):
        s = particles.Brownian(dt=1e-3, cell_list=cells, capacity_multiplier=1.0)
        assert (s.neighbor_fn(m).grid.cells is None) is not cells
        nbrs = s.init(m, x).neighbors
        lists[cells] = np.asarray(nbrs.idx)
    n = m.n_particles
    for i in range(n):
        cell_pairs = set(lists[True][i][lists[True][i] < n].tolist())
        assert cell_pairs == set(lists[False][i][lists[False][i] < n].tolist()), i
    s = particles.Brownian(dt=1e-3, cell_list=True, capacity_multiplier=1.0)
    nbrs = s.init(m, x).neighbors
    crowded = x.at[: nbrs.cell_list_capacity + 1].set(0.5)
    assert not bool(nbrs.did_buffer_overflow)
    assert bool(s.neighbor_fn(m).rebuild(crowded, nbrs).did_buffer_overflow)


def test_energy_is_linear_in_depth(getkey):
    # E = E_core - sum_pairs D_ab w(r): dE/dD is the (negative) well occupancy, so the
    # energy at D equals E(0) + D . dE/dD exactly.
    m = _model()
    x = particles.random_positions(getkey(), m)
    energy = jax.jit(lambda d: ParticleMixture(d, m.species, m.box).energy(x))
    g = jax.jit(jax.grad(energy))(jnp.asarray(DEPTH))
    e0 = energy(jnp.zeros((3, 3)))
    np.testing.assert_allclose(energy(DEPTH), e0 + jnp.sum(g * DEPTH), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(g, g.T, atol=1e-6)


def test_energy_model_contract(getkey):
    # A continuous AbstractEnergyModel: configurations are (n, dim) positions, and
    # tempering scales the whole energy (depth and core) by t.
    m = _model()
    assert isinstance(m, molcomp.AbstractEnergyModel)
    assert m.state_shape == (40, 2) and m.n_sites == 40
    assert m.n_states is None and not m.is_discrete
    x = particles.random_positions(getkey(), m)
    energy = jax.jit(lambda m, x: m.energy(x))
    for t in (0.0, 0.3, 1.0):
        np.testing.assert_allclose(energy(m.tempered(t), x), t * energy(m, x), rtol=1e-5)
    with pytest.raises(ValueError, match="t must be a fraction"):
        m.tempered(1.5)


def test_contacts_clusters_and_rdf():
    m = ParticleMixture(DEPTH, np.array([0, 1, 2, 0, 1]), (10.0, 10.0))
    # a 0-1-2 chain (spacing 1), a 0-1 pair, far apart; one pair across the boundary
    x = jnp.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [5.0, 9.6], [5.0, 0.6]])
    c = particles.contact_matrix(m, x, 1.2)
    expected = np.zeros((3, 3))
    expected[0, 1] = expected[1, 0] = 2  # (0,1) and the pair across the boundary
    expected[1, 2] = expected[2, 1] = 1
    np.testing.assert_allclose(c, expected)
    cl = particles.clusters(m, x, 1.2)
    assert cl == [{0, 1, 2}, {3, 4}]
    target = nx.Graph([(0, 1)])
    nx.set_node_attributes(target, {0: 0, 1: 1}, "species")
    assert particles.cluster_yield(m, x, 1.2, target) == 1
    wrong = nx.Graph([(0, 1)])
    nx.set_node_attributes(wrong, {0: 0, 1: 0}, "species")
    assert particles.cluster_yield(m, x, 1.2, wrong) == 0


def test_rdf_of_ideal_gas_is_one(getkey):
    # Uniform points: g(r) = 1 up to counting noise; 8 chains x 400 points in 2D give
    # ~ 2500 pairs per bin at r ~ 3, so a 10 % band is > 5 standard errors.
    m = ParticleMixture(np.zeros((1, 1)), np.zeros(400, int), (20.0, 20.0))
    x = jax.random.uniform(getkey(), (8, 400, 2)) * 20.0
    r, g = eqx.filter_jit(particles.radial_distribution)(m, x, r_max=6.0, bins=12)
    assert np.all(np.abs(np.asarray(g)[4:] - 1.0) < 0.1), g


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(depth=-DEPTH), "depth must be >= 0"),
        (dict(box=(3.0, 3.0)), "box sides must be at least twice the cutoff"),
        (dict(species=np.array([0, 1, 3])), "species must lie in"),
        (dict(depth=np.triu(DEPTH)), "depth must be symmetric"),
        (dict(cutoff=0.9), "sigma < onset < cutoff"),
    ],
)
def test_bad_model_input(kwargs, match):
    args = dict(depth=DEPTH, species=np.array([0, 1, 2]), box=(6.0, 6.0)) | kwargs
    with pytest.raises(ValueError, match=match):
        ParticleMixture(args.pop("depth"), args.pop("species"), args.pop("box"), **args)


def test_bad_positions():
    m = ParticleMixture(DEPTH, np.array([0, 1, 2]), (6.0, 6.0))
    good = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    m.check_state(good)
    with pytest.raises(ValueError, match="positions must be finite"):
        m.check_state(np.where(good == 2.0, np.nan, good))
    with pytest.raises(ValueError, match="inside the box"):
        m.check_state(good + 4.0)
    with pytest.raises(ValueError, match="species labels"):
        m.check_state(good[:2])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_energy_of_non_finite_positions_is_nan(bad):
    # The smooth cutoff drops pairs whose distance is NaN (r < cutoff is False), so a
    # non-finite particle used to contribute 0 and E stayed finite. Both the all-pairs
    # and the neighbour-list energy must be NaN instead.
    m = _model()
    x = particles.lattice_positions(m)
    nbrs = particles.Brownian(dt=1e-3).init(m, x).neighbors
    energy = eqx.filter_jit(lambda m, x, n: m.energy(x, n))
    assert np.isfinite(energy(m, x, None)) and np.isfinite(energy(m, x, nbrs))
    broken = x.at[5, 1].set(bad)
    assert np.isnan(energy(m, broken, None))
    assert np.isnan(energy(m, broken, nbrs))


def test_max_curvature_is_the_stiffest_pair_mode():
    # u'' of the core inside sigma is core / sigma^2; of the well at its minimum
    # 2 alpha^2 D. The second derivative of the pair energy (autodiff, on a grid that
    # skips r = sigma itself, where u'' jumps) peaks at the same value.
    for core in (50.0, 500.0):
        m = ParticleMixture(DEPTH, np.arange(3), (7.0, 7.0), core=core)
        want = max(core, 2 * 4.0**2 * DEPTH.max())
        assert float(m.max_curvature()) == pytest.approx(want)
        r = jnp.concatenate([jnp.linspace(0.3, 0.9999, 500), jnp.linspace(1.0001, 1.9, 500)])
        curv = jax.vmap(jax.grad(jax.grad(lambda r, m=m: m.pair_energy(r, DEPTH.max()))))
        assert float(eqx.filter_jit(curv)(r).max()) == pytest.approx(want, rel=0.01)
