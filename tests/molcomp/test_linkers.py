"""Linkers: the integrated-out model equals the explicit-linker lattice, summed over
every linker state, configuration by configuration; re-entrance; learnable
concentrations; bad input."""

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import optax
import pytest

import learning
import molcomp
from molcomp import lattice
from molcomp.linkers import ExplicitLinkerLattice, Linkers

J0 = jnp.array([[-0.5, 0.2], [0.2, 0.1]])
MU = jnp.array([0.3, -0.4])


@pytest.mark.parametrize("graph", [nx.cycle_graph(3), nx.path_graph(3)], ids=["ring", "path"])
def test_effective_model_equals_explicit_enumeration(graph):
    # 2 species + empty on 3 sites, 2 linker species, 2 faces per site (the path has
    # dangling faces at its ends): 27 site configurations x 3^(6 + bonds) explicit
    # linker states each. ln sum_linkers w(sigma, linkers) must equal -E~(sigma), and
    # ln Z must agree; float32 sums of ~2e4 terms: 1e-5 relative.
    lat = lattice.from_graph(graph)
    lk = Linkers([0.7, 2.0], [[1.5, 0.2], [0.3, 2.5]], bridge=3.0)
    explicit = ExplicitLinkerLattice(lat, J0, MU, lk)
    effective = lk.effective_model(lat, J0, MU)
    configs, _ = molcomp.exact.probabilities(effective)
    states = explicit.linker_states()
    log_w = jax.jit(jax.vmap(lambda s: explicit.log_marginal(s, states)))(configs)
    np.testing.assert_allclose(log_w, -jax.vmap(effective.energy)(configs), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        jax.nn.logsumexp(log_w), molcomp.exact.log_partition(effective), rtol=1e-5
    )
    # the linkers really matter here: without them the weights differ
    bare = molcomp.PottsModel(lat, molcomp.Couplings.symmetric(np.asarray(J0)), MU, empty=True)
    assert np.abs(np.asarray(log_w + jax.vmap(bare.energy)(configs))).max() > 0.5


def test_reentrant_attraction():
    # One linker binding both species: J~_01 falls (attracts) as c rises, then rises
    # back towards J0 = 0 once faces saturate with single bonds; the optimum is at
    # c K = 1 for equal K (maximum of x / (1 + x)^2).
    c = jnp.logspace(-3, 3, 61)
    J = jnp.stack(
        [Linkers([float(ci)], [[1.0], [1.0]], 2.0).effective_couplings()[0, 1] for ci in c]
    )
    i = int(jnp.argmin(J))
    assert 0 < i < len(c) - 1 and J[i] < -0.3
    assert float(c[i]) == pytest.approx(1.0, rel=0.3)
    assert J[0] > -0.01 and J[-1] > -0.01


def test_fit_linker_concentrations():
    # Target couplings from known concentrations (0.5, 3); fitting from (1, 1) recovers
    # the target J~ and the concentrations, with c > 0 throughout. Re-entrance makes the
    # loss non-convex (from (2, 0.2) adam settles in another basin), so the start lies
    # on the target's branch.
    K = [[2.0, 0.1], [0.1, 2.0], [1.0, 1.0]]
    target = Linkers([0.5, 3.0], K, 1.5).effective_couplings()
    start = Linkers([1.0, 1.0], K, 1.5)
    fitted, losses = learning.linkers.fit_linker_concentrations(
        start, target, optax.adam(0.05), 400
    )
    assert losses[-1] < 1e-6 * losses[0]
    np.testing.assert_allclose(fitted.effective_couplings(), target, atol=2e-3)
    np.testing.assert_allclose(fitted.concentrations, [0.5, 3.0], rtol=1e-2)
    np.testing.assert_array_equal(fitted.binding, start.binding)


def test_bad_linkers():
    with pytest.raises(ValueError, match="concentrations must be > 0"):
        Linkers([0.5, -1.0], [[1.0, 1.0]])
    with pytest.raises(ValueError, match="binding must have shape"):
        Linkers([0.5, 1.0], [[1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="binding constants must be >= 0"):
        Linkers([0.5], [[-1.0]])
    with pytest.raises(ValueError, match="bridge must be >= 0"):
        Linkers([0.5], [[1.0]], bridge=-1.0)
    lk = Linkers([0.5], [[1.0], [2.0]])
    with pytest.raises(ValueError, match="J0 must be a symmetric"):
        lk.effective_couplings(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="mu must have shape"):
        lk.effective_chemical_potential(np.zeros(3), 4)
