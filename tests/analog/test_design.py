"""Cluster design: the yield counts clusters as networkx does; the three gradient
estimators agree with the exact derivative of a two-particle system computed by
quadrature; a short design run raises the exact yield; bad input is refused.

Compile time dominates: every sampling run, trajectory and estimator call below uses one
shape (CHAINS chains, STEPS steps, CHECKPOINT), which the smoke size of
benchmarks/cluster_design.py shares, so each kernel is compiled once in the suite."""

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

from analog import design
from molcomp import particles

CHAINS, STEPS, L = 256, 500, 5.0
CHECKPOINT = 10  # as the benchmark
GROUPS = 8  # of CHAINS / GROUPS independent chains each: the spread gives standard errors
D01 = 2.0


def _dimer_task():
    # Two particles, species 0 and 1, target = their contact. Soft core (10 kT) and a
    # wide well (alpha = 2) keep the Euler bias of dt = 2e-3 small (dt * curvature
    # <= 0.03); a wide sigmoid keeps the trajectory gradient's variance moderate.
    # benchmarks/cluster_design.task("smoke") is this task, to share compilations.
    dimer = design.Target((0, 1), ((0, 1),)).graph()
    return design.ClusterDesign(
        [0, 1], (L, L), dimer, n_species=2, alpha=2.0, core=10.0, width=0.15, contact=1.4
    )


def _depth(d01):
    return jnp.array([[0.0, d01], [d01, 0.0]])


@eqx.filter_jit
def _quadrature(task, d01):
    """Exact equilibrium (<s>, d<s>/dD_01, <w | contact> - <w>) (w = -dE/dD_01) for two
    particles in the periodic square: the pair distance has density 2 pi r below L / 2,
    and u, s vanish beyond the cutoff 2 < L / 2, so the rest of the box only adds its
    area. One compilation serves every depth (d01 is an array)."""
    r = jnp.linspace(1e-3, 2.5, 20001)
    s = jax.nn.sigmoid((task.contact - r) / task.width)
    hard = (r < task.contact).astype(r.dtype)

    def means(d):
        model = task.model(_depth(d))
        u = model.pair_energy(r, d)
        w = -jax.vmap(jax.grad(model.pair_energy, argnums=1), (0, None))(r, d)
        p = jnp.exp(-u) * 2 * jnp.pi * r
        z = jnp.trapezoid(p - 2 * jnp.pi * r, r) + L * L

        def mean(f):
            return jnp.trapezoid(f * p, r) / z

        return mean(s), mean(w * hard) / mean(hard) - mean(w)

    (y, sw), dy = jax.value_and_grad(means, has_aux=True)(d01)
    return y, dy, sw


def _exact(task, d01):
    return [float(v) for v in _quadrature(task, jnp.float32(d01))]


@pytest.fixture(scope="module")
def dimer():
    """Equilibrated chains at D01 and four sample sets of them: 2 x 500 steps, one
    sample every 10, each run split into halves of CHAINS x 25 samples (the estimators'
    shape in `design_grad`; chain index = sample % CHAINS)."""
    task = _dimer_task()
    model = task.model(_depth(D01))
    sampler = design.design_sampler(task)
    x = task.start(CHAINS)
    for k in range(2):  # equilibrate: 2 x 500 steps (the yield's correlation time: ~200)
        _, x = design.sample_positions(jax.random.key(k), task, model, sampler, x, STEPS)
    sets = []
    for k in range(2, 4):
        run, x = design.sample_positions(
            jax.random.key(k), task, model, sampler, x, STEPS, burn_in=0.0
        )
        sets += jnp.split(run, 2)
    return task, model, x, sets


def _group_weights(n_samples):
    """(GROUPS, n) weights selecting the samples of each group of whole chains."""
    chain = np.arange(n_samples) % CHAINS
    return jnp.asarray(chain[None, :] // (CHAINS // GROUPS) == np.arange(GROUPS)[:, None], float)


def test_yield_counts_clusters_like_networkx():
    target = design.Target((0, 1, 2), ((0, 1), (1, 2), (0, 2))).graph()
    chain = design.Target((0, 1, 1), ((0, 1), (1, 2))).graph()
    task = design.ClusterDesign([0, 0, 1, 1, 2, 2], (8.0, 8.0), target, chain)
    model = task.model(jnp.ones((3, 3)))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3.0, size=(40, 6, 2)).astype(np.float32)  # crowded: many contacts
    hard = jax.jit(jax.vmap(task.hard_yields))(jnp.asarray(x))
    found = {0: 0, 1: 0}
    for i in range(len(x)):
        for which, graph in enumerate((target, chain)):
            want = particles.cluster_yield(model, x[i], task.contact, graph)
            assert float(hard[which][i]) == want
            found[which] += want
    assert found[0] > 0 and found[1] > 0  # both kinds occur, so the check has teeth
    # The smooth yield tends to the count as the sigmoid sharpens.
    sharp = design.ClusterDesign(
        [0, 0, 1, 1, 2, 2], (8.0, 8.0), target, chain, width=1e-4
    )  # fmt: skip
    d = x[:, :, None] - x[:, None, :]
    r = np.sqrt(np.sum((d - 8.0 * np.round(d / 8.0)) ** 2, -1))  # minimum image
    clean = (
        np.abs(r - task.contact).min(axis=(1, 2)) > 1e-2
    )  # no pair within 100 widths of the contact
    smooth = jax.jit(jax.vmap(sharp.yields))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(smooth[0])[clean], np.asarray(hard[0])[clean], atol=1e-3)


def test_estimators_agree_with_quadrature(dimer):
    task, model, warm, sets = dimer
    y, dy, sw_exact = _exact(task, D01)
    assert dy > 0.05  # a clear positive derivative to agree with

    # (b) fluctuation and (c) sleep-wake on GROUPS groups of 32 independent chains (a
    # group's estimate: the mean over the four sample sets, its chains selected by
    # weights so that one compilation serves all): the mean within 4 standard errors
    # (the spread of the groups; |t_7| > 4 has probability 0.5 %) + 3 % for the dt bias
    # of the exact values. Gradients are of the loss -yield (descent), so -G[0, 1]
    # estimates dY/dD_01. Measured: 0.153 +- 0.005 (exact 0.160) and 0.334 +- 0.023
    # (exact 0.328).
    weights = _group_weights(sets[0].shape[0])
    data = design.target_configurations(task, sets[0])
    fluctuation, sleep_wake = design.FluctuationEstimator(), design.SleepWakeEstimator(data)
    fl = [[fluctuation.from_samples(task, model, s, w) for s in sets] for w in weights]
    sw = [[sleep_wake.from_samples(task, model, s, w) for s in sets] for w in weights]

    def group_means(est, pick):
        return np.array([np.mean([pick(*e) for e in group]) for group in est])

    # The sampled mean yield (the fluctuation estimator's value is the mean loss,
    # -yield) agrees with the quadrature (equilibrated, small dt bias), to the same
    # rule. The yield's correlation time is ~200 steps (autocorrelation 0.13 at 250), so
    # the groups spread by ~0.03 and the mean has a standard error of ~0.01: the
    # former bare 3 % bound (0.016) was 1.6 standard errors, failing for ~1 seed in 9.
    for est, pick, exact in (
        (fl, lambda v, g: -float(v), y),
        (fl, lambda v, g: -float(g[0, 1]), dy),
        (sw, lambda v, g: -float(g[0, 1]), sw_exact),
    ):
        g = group_means(est, pick)
        se = g.std(ddof=1) / np.sqrt(len(g))
        assert abs(g.mean() - exact) < 4 * se + 0.03 * abs(exact), (g, exact)
    # No pair of equal species exists: the other depths do not matter, exactly.
    for est in (fl, sw):
        assert all(float(e[0, 0]) == 0 and float(e[1, 1]) == 0 for gr in est for _, e in gr)

    # (a) through trajectories of T = 500 from the equilibrated chains, 4 x 256 chains:
    # the response at T approaches the static derivative from below (measured 0.75 +-
    # 0.1 of it over 32 repeats). One 256-chain estimate spreads by ~0.1 with heavy
    # tails (-0.12 to 0.43), so the mean of 4 has a standard error of ~0.05: 0 and
    # 2 x exact lie 2.4 and 4 standard errors from the expected 0.12. (The former
    # [0.3, 1.7] x exact with 2 estimates was ~1.4 standard errors wide below: 1 pair
    # in 12 fell outside.)
    tr = [
        design.design_grad(
            jax.random.key(10 + k), task, _depth(D01), warm, STEPS,
            estimator=design.TrajectoryEstimator(checkpoint_every=CHECKPOINT),
        ).grad
        for k in range(4)
    ]  # fmt: skip
    g = -np.mean([float(e[0, 1]) for e in tr])
    assert 0 < g < 2 * dy, (g, dy)
    assert all(float(e[0, 0]) == 0 and float(e[1, 1]) == 0 for e in tr)


def test_design_raises_target_yield(dimer):
    task = dimer[0]
    hist = design.optimize_depths(
        jax.random.key(4), task, _depth(0.5), estimator=design.FluctuationEstimator(),
        updates=3, steps=STEPS, chains=CHAINS, learning_rate=0.3,
    )  # fmt: skip
    d = np.asarray(hist.depth)
    assert hist.depths.shape == (4, 2, 2) and hist.evaluations > 0
    assert d[0, 1] == d[1, 0] and d[0, 0] == 0 and d[1, 1] == 0
    # Adam moves each step by about the learning rate when the gradient sign is steady.
    assert d[0, 1] > 0.5 + 0.5
    assert _exact(task, d[0, 1])[0] > _exact(task, 0.5)[0] + 0.02


def test_bad_input():
    task = _dimer_task()
    x = task.start(2)
    key = jax.random.key(0)
    fluct, traj = design.FluctuationEstimator(), design.TrajectoryEstimator()
    with pytest.raises(ValueError, match="depth must be >= 0"):
        design.design_grad(key, task, _depth(-1.0), x, 10, estimator=fluct)
    with pytest.raises(ValueError, match="depth must have shape"):
        task.model(jnp.ones((3, 3)))
    # a method string where an estimator object belongs: the error lists the estimators
    with pytest.raises(TypeError, match="estimator must be an estimator object.*SleepWake"):
        design.design_grad(key, task, _depth(1.0), x, 10, estimator="fluctuation")
    with pytest.raises(ValueError, match="needs data"):
        design.SleepWakeEstimator(None)
    with pytest.raises(ValueError, match=r"data must have shape \(m, 2, 2\) for this task"):
        design.design_grad(
            key, task, _depth(1.0), x, 10, estimator=design.SleepWakeEstimator(jnp.ones((3, 4, 2)))
        )
    with pytest.raises(ValueError, match="burn_in must be a fraction"):
        design.FluctuationEstimator(burn_in=1.0)
    with pytest.raises(ValueError, match="checkpoint_every must be"):
        design.TrajectoryEstimator(checkpoint_every=0)
    with pytest.raises(ValueError, match="positions must have shape"):
        design.design_grad(key, task, _depth(1.0), x[0], 10, estimator=traj)
    with pytest.raises(ValueError, match="steps must be"):
        design.design_grad(key, task, _depth(1.0), x, 1, estimator=traj)
    with pytest.raises(ValueError, match="inside the box"):
        design.design_grad(key, task, _depth(1.0), x + L, 10, estimator=traj)
    trio = design.Target((0, 0, 1), ((0, 1), (1, 2))).graph()
    with pytest.raises(ValueError, match="needs 2 particles of species 0"):
        design.ClusterDesign([0, 1], (L, L), trio)
    apart = nx.Graph()
    apart.add_nodes_from([(0, {"species": 0}), (1, {"species": 1})])
    with pytest.raises(ValueError, match="connected"):
        design.ClusterDesign([0, 1], (L, L), apart)
    unlabelled = nx.path_graph(2)
    with pytest.raises(ValueError, match="species"):
        design.ClusterDesign([0, 1], (L, L), unlabelled)
    with pytest.raises(ValueError, match="contact"):
        design.ClusterDesign([0, 1], (L, L), design.Target((0, 1), ((0, 1),)).graph(), contact=3)
    with pytest.raises(ValueError, match="updates"):
        design.optimize_depths(key, task, _depth(1.0), estimator=fluct, updates=0, steps=10,
                               chains=2)  # fmt: skip
