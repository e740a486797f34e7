"""Potts energies: local energy changes against full-energy differences, sufficient
statistics, and the energy against an explicit loop over bonds."""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

import molcomp
from molcomp import lattice

LATTICES = {
    "square4": lambda: lattice.square(4),
    "square3x4-open": lambda: lattice.square((3, 4), periodic=False),
    "triangular3": lambda: lattice.triangular(3),
    "triangular4-open": lambda: lattice.triangular(4, periodic=False),
    "cubic3": lambda: lattice.cubic(3),
    "graph": lambda: lattice.from_graph(nx.gnm_random_graph(10, 17, seed=3)),
}
# Each lattice with symmetric and oriented couplings (graphs have no directions), all
# with the empty state, plus models without it.
CASES = [
    ("square4", False, True),
    ("square4", True, True),
    ("square4", True, False),
    ("square3x4-open", False, True),
    ("square3x4-open", True, True),
    ("triangular3", False, True),
    ("triangular3", True, True),
    ("triangular4-open", True, True),
    ("cubic3", False, True),
    ("cubic3", True, True),
    ("graph", False, True),
    ("graph", False, False),
]
ids = ["{}-or{:d}-em{:d}".format(*c) for c in CASES]


def make_model(name, oriented, empty, q=3):
    rng = np.random.default_rng(CASES.index((name, oriented, empty)))
    lat = LATTICES[name]()
    if oriented:
        c = molcomp.Couplings.oriented(rng.normal(size=(lat.n_directions // 2, q, q)))
    else:
        J = rng.normal(size=(q, q))
        c = molcomp.Couplings.symmetric(J + J.T)
    return molcomp.PottsModel(lat, c, mu=rng.normal(size=q), beta=0.7, empty=empty)


def random_state(key, model):
    return jax.random.randint(key, (model.lattice.n_sites,), 0, model.n_states)


def assert_energy_close(got, want, msg=""):
    # float32 sums of ~100 O(1) terms: absolute errors ~1e-5 times the total's scale,
    # while a wrong or missing bond term is O(1).
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=0, atol=2e-3, err_msg=msg)


@eqx.filter_jit
def _local_and_full(model, sigma, new, xs, ys):
    """Local energy changes next to full-energy differences, in one compilation.

    delta_energy: each site set to `new` on its own; the first colour block set at
    once (its sites are not neighbours, so the changes add). site_energies: every state
    at every site, relative to the current one. swap_delta: the pairs (xs, ys).
    """
    n, S = model.lattice.n_sites, model.n_states
    sites = jnp.arange(n)
    e0 = model.energy(sigma)
    pairs = {}
    moved = jax.vmap(lambda x, s: sigma.at[x].set(s))(sites, new)
    pairs["delta"] = model.delta_energy(sigma, sites, new), jax.vmap(model.energy)(moved) - e0
    block = model.lattice.blocks[0]
    pairs["block"] = (
        jnp.sum(model.delta_energy(sigma, block, new[block])),
        model.energy(sigma.at[block].set(new[block])) - e0,
    )
    local = model.site_energies(sigma, sites)
    xs_all, ss = jnp.repeat(sites, S), jnp.tile(jnp.arange(S), n)
    full = jax.vmap(lambda x, s: model.energy(sigma.at[x].set(s)))(xs_all, ss).reshape(n, S)
    pairs["site"] = local - local[sites, sigma][:, None], full - e0

    def swapped(x, y):
        return sigma.at[x].set(sigma[y]).at[y].set(sigma[x])

    pairs["swap"] = (
        jax.vmap(lambda x, y: model.swap_delta(sigma, x, y))(xs, ys),
        jax.vmap(lambda x, y: model.energy(swapped(x, y)))(xs, ys) - e0,
    )
    return pairs


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_local_energy_changes_match_full_differences(getkey, case):
    model = make_model(*case)
    lat = model.lattice
    # Swaps: every neighbouring pair (both orders), random pairs, and x == y.
    nb, mask = np.asarray(lat.neighbours), np.asarray(lat.mask)
    x_nb, k_nb = np.nonzero(mask)
    x_rand = np.asarray(jax.random.randint(getkey(), (40,), 0, lat.n_sites))
    y_rand = np.asarray(jax.random.randint(getkey(), (40,), 0, lat.n_sites))
    xs = jnp.asarray(np.concatenate([x_nb, x_rand, x_rand[:3]]))
    ys = jnp.asarray(np.concatenate([nb[x_nb, k_nb], y_rand, x_rand[:3]]))
    for _ in range(3):
        sigma = random_state(getkey(), model)
        new = random_state(getkey(), model)
        for name, (local, full) in _local_and_full(model, sigma, new, xs, ys).items():
            assert_energy_close(local, full, name)


@eqx.filter_jit
def _from_statistics(model, sigma):
    T, mu = model.tables()
    n, counts = model.contacts(sigma), model.counts(sigma)
    return model.energy(sigma), 0.5 * jnp.sum(T * n) - jnp.dot(mu, counts), counts.sum(), n.sum()


@pytest.mark.parametrize("case", CASES[1::3], ids=ids[1::3])
def test_energy_from_sufficient_statistics(getkey, case):
    # E = 0.5 sum_d <beta J[d], n[d]> - <mu, counts>: what gradient estimators rely on.
    model = make_model(*case)
    for _ in range(3):
        energy, from_stats, n_sites, n_slots = _from_statistics(
            model, random_state(getkey(), model)
        )
        assert float(n_sites) == model.lattice.n_sites
        assert float(n_slots) == float(np.asarray(model.lattice.mask).sum())
        assert_energy_close(energy, from_stats)


@pytest.mark.parametrize("periodic", [True, False])
def test_energy_matches_explicit_bond_loop(getkey, periodic):
    # Independent of the neighbour tables: +x is the next column, +y the next row.
    R, C, q = 3, 4, 3
    rng = np.random.default_rng(0)
    Jf = rng.normal(size=(2, q, q))
    mu = rng.normal(size=q)
    model = molcomp.PottsModel(
        lattice.square((R, C), periodic=periodic),
        molcomp.Couplings.oriented(Jf),
        mu=mu,
        beta=1.3,
        empty=True,
    )
    Jp = np.pad(Jf, ((0, 0), (0, 1), (0, 1)))  # the empty state (index q) does not bind
    mup = np.append(mu, 0.0)
    for _ in range(5):
        s = np.asarray(random_state(getkey(), model)).reshape(R, C)
        e = -mup[s].sum()
        for r, c in itertools.product(range(R), range(C)):
            if periodic or c + 1 < C:
                e += 1.3 * Jp[0, s[r, c], s[r, (c + 1) % C]]
            if periodic or r + 1 < R:
                e += 1.3 * Jp[1, s[r, c], s[(r + 1) % R, c]]
        assert_energy_close(model.energy(jnp.asarray(s.ravel())), e)


def test_tables_pad_empty_state_and_scale_couplings_only():
    J = np.array([[-1.0, 0.5], [0.5, 2.0]])
    model = molcomp.PottsModel(
        lattice.square(3), molcomp.Couplings.symmetric(J), mu=[0.3, -0.2], beta=2.0, empty=True
    )
    T, mu = model.tables()
    np.testing.assert_allclose(T[0, :2, :2], 2.0 * J)
    assert np.all(np.asarray(T[:, 2, :]) == 0) and np.all(np.asarray(T[:, :, 2]) == 0)
    np.testing.assert_allclose(mu, [0.3, -0.2, 0.0])  # beta does not touch mu
    assert model.empty_state == 2 and model.n_states == 3


def test_place_model_energy_has_no_chemical_potential(getkey):
    rng = np.random.default_rng(1)
    lat = lattice.square(3, periodic=False)
    c = molcomp.Couplings.oriented(rng.normal(size=(2, 9, 9)))
    place = molcomp.PlaceModel(lat, c, beta=0.8)
    grand = molcomp.PottsModel(lat, c, mu=np.zeros(9), beta=0.8)
    ref = place.reference_state()
    assert sorted(np.asarray(ref).tolist()) == list(range(9))
    sigma = jax.random.permutation(getkey(), ref)
    assert_energy_close(place.energy(sigma), grand.energy(sigma))
    comp = molcomp.PlaceModel(
        lattice.square(3), molcomp.interactions.potts(1.0, q=2), composition=(4, 5)
    )
    assert np.bincount(np.asarray(comp.reference_state())).tolist() == [4, 5]
