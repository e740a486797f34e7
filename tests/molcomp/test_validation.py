"""Bad input raises ValueError/TypeError naming the argument."""

import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

import molcomp
from molcomp import exact, interactions, lattice


@pytest.fixture(scope="module")
def model():
    return molcomp.PottsModel(
        lattice.square(3), molcomp.Couplings.symmetric(np.eye(3)), mu=[0.1, 0.2, 0.3], empty=True
    )


@pytest.fixture(scope="module")
def place():
    return molcomp.PlaceModel(lattice.square(3, periodic=False), interactions.potts(1.0, q=9))


# ---- couplings and chemical potentials ----------------------------------------------


def test_asymmetric_J():
    J = np.eye(3)
    J[0, 1] = 0.5
    with pytest.raises(ValueError, match=r"J must be symmetric.*J\[0,1\]=0.5"):
        molcomp.Couplings.symmetric(J)
    with pytest.raises(ValueError, match="J must be a square"):
        molcomp.Couplings.symmetric(np.ones((2, 3)))


def test_from_directions_needs_transposed_opposites():
    J = np.random.default_rng(0).normal(size=(4, 3, 3))
    J[2:] = np.swapaxes(J[:2], 1, 2)
    molcomp.Couplings.from_directions(J)  # consistent: fine
    J[3, 0, 1] += 1.0
    with pytest.raises(ValueError, match=r"J must satisfy J\[opposite d\] = J\[d\]\^T"):
        molcomp.Couplings.from_directions(J)
    with pytest.raises(ValueError, match="J must have shape"):
        molcomp.Couplings.from_directions(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="J_forward must have shape"):
        molcomp.Couplings.oriented(np.zeros((2, 2, 3)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_couplings(bad):
    J = np.eye(2)
    J[1, 1] = bad
    with pytest.raises(ValueError, match="J must be finite"):
        molcomp.Couplings.symmetric(J)
    with pytest.raises(ValueError, match="J_forward must be finite"):
        molcomp.Couplings.oriented(J[None])
    with pytest.raises(ValueError, match="coupling must be finite"):
        interactions.ising(bad)
    with pytest.raises(ValueError, match="coupling must be finite"):
        interactions.potts(bad, q=3)


@pytest.mark.parametrize("name", ["mu", "beta"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_mu_and_beta(name, bad):
    lat, c = lattice.square(3), interactions.potts(1.0, q=2)
    kw = {"mu": [0.0, bad]} if name == "mu" else {"beta": bad}
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        molcomp.PottsModel(lat, c, **kw)
    if name == "beta":
        with pytest.raises(ValueError, match="beta must be finite"):
            molcomp.PlaceModel(
                lattice.square(2, periodic=False), interactions.potts(1.0, q=4), **kw
            )


@pytest.mark.parametrize("c", [[1.0, 0.0], [1.0, -2.0]])
def test_non_positive_concentrations(c):
    with pytest.raises(ValueError, match="concentrations c must be > 0"):
        molcomp.chemical_potential(c)


def test_bad_reference_concentration_and_nan_concentration():
    with pytest.raises(ValueError, match="c0"):
        molcomp.chemical_potential([1.0], c0=0.0)
    with pytest.raises(ValueError, match="c must be finite"):
        molcomp.chemical_potential([1.0, np.nan])


def test_mismatched_q():
    lat, c = lattice.square(3), interactions.potts(1.0, q=3)
    with pytest.raises(ValueError, match=r"mu must have shape \(3,\), got \(4,\)"):
        molcomp.PottsModel(lat, c, mu=np.zeros(4))


def test_wrong_argument_types():
    with pytest.raises(TypeError, match="couplings must be"):
        molcomp.PottsModel(lattice.square(3), np.eye(2))
    with pytest.raises(TypeError, match="lattice must be"):
        molcomp.PottsModel(nx.path_graph(3), interactions.potts(1.0, q=2))


# ---- lattices ------------------------------------------------------------------------


def test_graph_with_self_loop():
    g = nx.path_graph(4)
    g.add_edge(2, 2)
    with pytest.raises(ValueError, match="graph must have no self-loops"):
        lattice.from_graph(g)


@pytest.mark.parametrize("g", [nx.empty_graph(3), nx.Graph()], ids=["no-edges", "no-nodes"])
def test_graph_without_edges(g):
    with pytest.raises(ValueError, match="graph must have at least one edge"):
        lattice.from_graph(g)


def test_graph_of_wrong_type():
    with pytest.raises(TypeError, match="graph must be an undirected"):
        lattice.from_graph(nx.DiGraph([(0, 1)]))
    with pytest.raises(TypeError, match="graph must be"):
        lattice.from_graph([(0, 1)])


@pytest.mark.parametrize("build", [lattice.square, lattice.triangular, lattice.cubic])
def test_lattice_side(build):
    for periodic in (True, False):
        with pytest.raises(ValueError, match=r"lattice side shape\[0\] must be an integer >= 2"):
            build(1, periodic=periodic)
    with pytest.raises(ValueError, match=r"periodic lattice side shape\[0\] must be >= 3"):
        build(2, periodic=True)
    build(2, periodic=False)  # an open side of 2 is fine
    with pytest.raises(ValueError, match=r"lattice side shape\[0\] must be an integer"):
        build(2.5)


def test_oriented_couplings_on_a_lattice_with_other_directions():
    c4 = molcomp.Couplings.oriented(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="oriented couplings have 4 directions"):
        molcomp.PottsModel(lattice.triangular(3), c4)
    with pytest.raises(ValueError, match="oriented couplings have 4 directions"):
        molcomp.PottsModel(lattice.from_graph(nx.cycle_graph(4)), c4)
    c6 = molcomp.Couplings.oriented(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="oriented couplings have 6 directions"):
        molcomp.PlaceModel(lattice.square(2, periodic=False), c6, composition=(2, 2))


# ---- states --------------------------------------------------------------------------


def test_state_of_wrong_shape(model):
    with pytest.raises(ValueError, match=r"state must have shape \(\.\.\., 9\)"):
        model.energy(jnp.zeros(8, jnp.int32))
    with pytest.raises(ValueError, match=r"config must have shape \(\.\.\., 9\)"):
        molcomp.BlockGibbs().init(model, jnp.zeros((2, 10), jnp.int32))
    with pytest.raises(ValueError, match=r"config must have shape \(9,\) or \(chains, 9\)"):
        molcomp.BlockGibbs().init(model, jnp.zeros((2, 2, 9), jnp.int32))
    with pytest.raises(TypeError, match="state must hold integer"):
        model.energy(jnp.zeros(9, jnp.float32))
    with pytest.raises(ValueError, match=r"data must have shape \(m, n\)"):
        exact.log_likelihood(model, jnp.zeros(9, jnp.int32))


@pytest.mark.parametrize("bad", [4, -1])
def test_state_out_of_range(model, bad):
    # States are 0..2 (species) and 3 (empty).
    sigma = np.zeros(9, np.int32)
    sigma[5] = bad
    with pytest.raises(ValueError, match=rf"state holds state {bad} at \[5\]"):
        model.energy(jnp.asarray(sigma))
    for sampler in (molcomp.BlockGibbs(), molcomp.Metropolis(proposal="neighbour")):
        with pytest.raises(ValueError, match=rf"config holds state {bad} at \[1, 5\]"):
            sampler.init(model, jnp.stack([jnp.zeros(9, jnp.int32), jnp.asarray(sigma)]))


def test_place_model_composition(place):
    with pytest.raises(ValueError, match="composition must give 9"):
        molcomp.PlaceModel(place.lattice, place.couplings, composition=(1,) * 8)
    with pytest.raises(ValueError, match="composition must give 9"):
        molcomp.PlaceModel(place.lattice, place.couplings, composition=(2, 0) + (1,) * 6 + (0,))
    with pytest.raises(ValueError, match="composition is required"):
        molcomp.PlaceModel(lattice.square(3), interactions.potts(1.0, q=4))
    wrong = jnp.zeros(9, jnp.int32)  # species 0 nine times
    with pytest.raises(ValueError, match="config does not have the model's composition"):
        molcomp.SwapMetropolis().init(place, wrong)


def test_samplers_given_the_wrong_model(model, place):
    for sampler in (molcomp.BlockGibbs(), molcomp.Metropolis()):
        with pytest.raises(TypeError, match="PottsModel"):
            sampler.init(place, place.reference_state())
    with pytest.raises(TypeError, match="SwapMetropolis samples a PlaceModel"):
        molcomp.SwapMetropolis().init(model, jnp.zeros(9, jnp.int32))
    with pytest.raises(TypeError, match="model must be a molcomp lattice model"):
        molcomp.BlockGibbs().init("model", jnp.zeros(9, jnp.int32))


def test_sample_arguments(model):
    sampler = molcomp.BlockGibbs()
    state = sampler.init(model, jnp.zeros(9, jnp.int32))
    key = jnp.zeros(2, jnp.uint32)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        molcomp.sample(key, model, sampler, state, 0)
    with pytest.raises(TypeError, match="sampler must be a molcomp sampler"):
        molcomp.sample(key, model, "gibbs", state, 1)
    with pytest.raises(
        TypeError, match=r"state must come from BlockGibbs\(\)\.init\(model, config\)"
    ):
        molcomp.sample(key, model, sampler, state.config, 1)


def test_sampler_options():
    with pytest.raises(ValueError, match="proposal must be"):
        molcomp.Metropolis(proposal="gibbs")
    with pytest.raises(ValueError, match=r"empty_prob must be a fraction in \[0, 1\)"):
        molcomp.Metropolis(empty_prob=1.5)
    with pytest.raises(ValueError, match="neighbour_prob \\+ empty_prob must be < 1"):
        molcomp.Metropolis(proposal="neighbour", neighbour_prob=0.6, empty_prob=0.5)
    with pytest.raises(ValueError, match="partners must be an integer >= 1"):
        molcomp.Metropolis(partners=0)
    with pytest.raises(ValueError, match="moves_per_site must be an integer >= 1"):
        molcomp.SwapMetropolis(moves_per_site=0)
    with pytest.raises(ValueError, match="q must be an integer >= 1"):
        interactions.potts(1.0, q=0)
