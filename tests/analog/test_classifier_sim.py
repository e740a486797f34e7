"""Full-simulation readout of phase-boundary classifiers: cluster sizes (against
networkx), the simulated vote on a small mixture (6 x 6 lattice, 36 species), its
agreement with the surrogate, the critical-nucleus window and the default sampler."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from analog import classifier as clf_mod

N, SIDE = 36, 6


@pytest.fixture(scope="module")
def structs2():
    lat = molcomp.lattice.square(SIDE, periodic=False)
    return molcomp.structures.random(jax.random.key(0), lat, N, 2)


def _block(structs, alpha, r0=1, c0=1, k=3):
    """Image lighting the species of a k x k block of structure alpha (feature = species)."""
    arr = np.asarray(structs.arrangements).reshape(structs.m, SIDE, SIDE)
    x = np.zeros(N, np.float32)
    x[arr[alpha, r0 : r0 + k, c0 : c0 + k].ravel()] = 1.0
    return x


# ---- full simulation ------------------------------------------------------------------


_cluster_sizes = eqx.filter_jit(clf_mod.cluster_sizes)


def test_cluster_sizes(structs2):
    sizes = np.asarray(_cluster_sizes(structs2, structs2.configuration(1)))
    assert sizes[1] == N and sizes[0] < N
    empty = jnp.full(N, N)
    np.testing.assert_array_equal(np.asarray(_cluster_sizes(structs2, empty)), [0, 0])
    # rows 0-1 and 4-5 of structure 0, rows 2-3 empty: two clusters of 12 sites
    cfg = np.asarray(structs2.configuration(0)).reshape(SIDE, SIDE).copy()
    cfg[2:4] = N
    assert int(_cluster_sizes(structs2, jnp.asarray(cfg.ravel()))[0]) == 12
    # vmap over configurations equals one at a time
    both = jnp.stack([structs2.configuration(0), jnp.asarray(cfg.ravel())])
    batched = np.asarray(eqx.filter_jit(jax.vmap(clf_mod.cluster_sizes, (None, 0)))(structs2, both))
    singles = [np.asarray(_cluster_sizes(structs2, c)) for c in both]
    np.testing.assert_array_equal(batched, np.stack(singles))
    assert batched[1, 0] == 12 and batched[0, 0] == N


def _largest_designed_cluster(arrangement, cfg, side):
    """networkx: largest connected set of sites joined by bonds that one structure
    designs (its species at neighbouring sites in the same relative position)."""
    import networkx as nx

    where = {int(a): divmod(i, side) for i, a in enumerate(np.asarray(arrangement))}
    grid = np.asarray(cfg).reshape(side, side)
    g = nx.Graph()
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < side and c + dc < side:
                    a, b = int(grid[r, c]), int(grid[r + dr, c + dc])
                    pa, pb = where.get(a), where.get(b)
                    if pa and pb and (pb[0] - pa[0], pb[1] - pa[1]) == (dr, dc):
                        g.add_edge((r, c), (r + dr, c + dc))
    return max((len(c) for c in nx.connected_components(g)), default=0)


def test_cluster_sizes_match_networkx():
    # Winding clusters (a structure with a third of its sites emptied, some replaced by
    # other species, or a mosaic of two structures) on a 16 x 16 lattice: exact sizes
    # however many rounds the label propagation needs.
    side = 16
    n = side * side
    lat = molcomp.lattice.square(side, periodic=False)
    structs = molcomp.structures.random(jax.random.key(5), lat, n, 2)
    rng = np.random.default_rng(0)
    cfgs = []
    for i in range(8):
        cfg = np.asarray(structs.configuration(i % 2)).copy()
        if i >= 6:
            cfg = np.where(rng.random(n) < 0.5, cfg, np.asarray(structs.configuration(0)))
        hole = rng.random(n) < 0.3
        cfg[hole] = np.where(rng.random(hole.sum()) < 0.8, n, rng.integers(0, n, hole.sum()))
        cfgs.append(cfg)
    got = np.asarray(eqx.filter_jit(jax.vmap(clf_mod.cluster_sizes, (None, 0)))(
        structs, jnp.asarray(np.stack(cfgs))
    ))  # fmt: skip
    arr = np.asarray(structs.arrangements)
    want = [[_largest_designed_cluster(arr[a], c, side) for a in range(2)] for c in cfgs]
    np.testing.assert_array_equal(got, want)
    assert got.max() > 20  # large clusters were tested


@pytest.fixture(scope="module")
def simulated(structs2):
    """One simulation batch shared by the two tests below (one compile).

    Images 0-3: pure class images (a 3 x 3 block of one structure's species at full
    intensity, at two places). Images 4-11: blends t * block_0 + (1 - t) * block_1
    away from t = 1/2, where the surrogate's margin is clear.
    """
    p0, p1 = _block(structs2, 0), _block(structs2, 1)
    q0, q1 = _block(structs2, 0, 2, 2), _block(structs2, 1, 2, 2)
    blends = [np.clip(t * p0 + (1 - t) * p1, 0, 1) for t in (0.0, 0.15, 0.3, 0.7, 0.85)]
    blends += [np.clip(t * q0 + (1 - t) * q1, 0, 1) for t in (0.2, 0.8, 1.0)]
    x = np.stack([p0, p1, q0, q1] + blends).astype(np.float32)
    imap = clf_mod.AssignmentMap(np.arange(N), N, amplitude=20.0, mu_base=-10.0)
    clf = clf_mod.NucleationClassifier(structs2, imap)
    res = clf_mod.simulate(
        jax.random.key(1), clf, x, epsilon=8.0, beta=(0.5, 1.2), sweeps=200, repeats=8
    )
    return clf, x, res


def test_simulation_classifies_separable_inputs(simulated):
    clf, x, res = simulated
    # 100% on the four pure class images (by majority over 8 runs)
    np.testing.assert_array_equal(res.classes[:4], [0, 1, 0, 1])
    assert res.votes.shape == (len(x), 2) and res.sizes.shape == (len(x), 8, 2)
    assert np.all(res.votes.sum(axis=1) <= 8)
    # first passage: the last check is the final configuration, so a final cluster of
    # `critical` (16) sites means a recorded first passage, at a multiple of check_every
    reached = res.sizes.max(axis=-1) >= 16
    assert reached[:4].any() and np.all(res.first_sweep[reached] > 0)
    assert np.all((res.first_sweep == -1) | (res.first_sweep % 10 == 0))


def test_simulate_errors(simulated):
    clf, x, _ = simulated
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="readout must be"):
        clf_mod.simulate(key, clf, x[:1], readout="last")
    with pytest.raises(ValueError, match="must divide sweeps"):
        clf_mod.simulate(key, clf, x[:1], sweeps=25, check_every=10)


def test_surrogate_and_simulation_agree(simulated, structs2):
    clf, x, res = simulated
    surrogate = np.asarray(clf_mod.predict(clf, x))
    agreement = np.mean(surrogate == res.classes)
    assert agreement >= 0.8, (surrogate, res.classes, res.votes)
    # the same with the window side nucleation theory gives for this mixture and anneal
    est = clf_mod.critical_window(-10.0 + np.log(21.0), sweeps=200, n_sites=N)
    clf_k = clf_mod.NucleationClassifier(structs2, clf.input_map, est.k)
    surrogate_k = np.asarray(clf_mod.predict(clf_k, x))
    assert np.mean(surrogate_k == res.classes) >= 0.8, (est, surrogate_k, res.classes)


# ---- window size from nucleation theory ---------------------------------------------


def test_max_bonds_matches_enumeration():
    """2n - ceil(2 sqrt n) against brute force over all n-site subsets of a 4 x 4 grid."""
    import itertools

    cells = [(r, c) for r in range(4) for c in range(4)]
    for n in range(1, 9):
        best = max(
            sum((r + 1, c) in sub for r, c in sub) + sum((r, c + 1) in sub for r, c in sub)
            for sub in map(set, itertools.combinations(cells, n))
        )
        assert clf_mod.max_bonds(n) == best, n


def test_critical_window_at_fixed_beta():
    # mu = -4, beta epsilon = 3: G_n = 4 n - 3 b(n) = 4, 5, 6, 4, 5, 3, ... for n = 1..6:
    # the barrier is G_3 = 6, so k = ceil(sqrt 3) = 2; 100 sites give 100 e^-6 = 0.248
    # expected nuclei per sweep, reaching 1 in the 5th sweep (index 4)
    est = clf_mod.critical_window(-4.0, epsilon=3.0, beta=(1.0, 1.0), sweeps=50, n_sites=100)
    assert (est.k, est.n_star, est.sweep) == (2, 3, 4)
    assert abs(est.barrier - 6.0) < 1e-9 and est.beta == 1.0
    # weaker bonds, a larger nucleus: G_n = 2.2 ceil(2 sqrt n) - 0.4 n peaks where
    # ceil(2 sqrt n) has just stepped to 12: n = 31, G = 14.0 (n = 21: 13.6, 36: 12.0)
    big = clf_mod.critical_window(-4.0, epsilon=2.2, beta=(1.0, 1.0), sweeps=10, n_sites=10)
    assert (big.n_star, big.k) == (31, 6) and abs(big.barrier - 14.0) < 1e-9
    for kwargs, match in [
        (dict(mu=0.5), "mu must be < 0"),
        (dict(mu=-4.0, epsilon=0.0), "epsilon must be > 0"),
        (dict(mu=-4.0, sweeps=0), "sweeps must be an integer >= 1"),
    ]:
        with pytest.raises(ValueError, match=match):
            clf_mod.critical_window(n_sites=10, **kwargs)


def test_mixture_model_signs(structs2):
    imap = clf_mod.AssignmentMap(np.arange(N), N, amplitude=20.0, mu_base=-10.0)
    clf = clf_mod.NucleationClassifier(structs2, imap)
    model = clf_mod.mixture(clf, _block(structs2, 0), epsilon=8.0)
    # the assembled structure has negative bond energy: -8 per designed bond
    cfg = structs2.configuration(0)
    n_bonds = 2 * SIDE * (SIDE - 1)
    expected = -8.0 * n_bonds - float(jnp.sum(model.mu))
    assert abs(float(model.energy(cfg)) - expected) < 1e-3


def test_default_sampler_proposes_every_structures_partner():
    # 12 structures: each species has up to 12 equally strong partners per direction
    # (one per structure), more than Metropolis's default table of 8.
    lat = molcomp.lattice.square(SIDE, periodic=False)
    structs = molcomp.structures.random(jax.random.key(5), lat, N, 12)
    clf = clf_mod.NucleationClassifier(structs, clf_mod.AssignmentMap(np.arange(N), N), k=2)
    model = clf_mod.mixture(clf, np.zeros(N, np.float32))
    T, _ = model.tables()
    # partners of neighbour state b in direction d: the a with T[d][a, b] < 0
    designed = np.asarray((T < 0).sum(axis=1))  # (D, S)
    empty = np.full(lat.n_sites, model.empty_state)
    assert clf_mod.default_sampler(structs).partners == 12
    kept = np.asarray(clf_mod.default_sampler(structs).init(model, empty).aux.n_partners)
    np.testing.assert_array_equal(kept, designed)
    assert designed.max() > 8  # the old default (8 slots) would drop some
    short = np.asarray(molcomp.Metropolis(proposal="neighbour").init(model, empty).aux.n_partners)
    assert np.any(short < designed)
