"""Bad input across the public API: each call raises the expected exception, whose
message names the argument, before any work starts.

One table, one row per bad call: `bad(exception, name, call)` with `call` a function of
no arguments (objects it needs come from the cached builders below, so a row costs no
compilation beyond building them once) and `name` text the message must contain: the
argument's name, or more of our own message where a library error deeper down would
name it too (JAX's own error for a bad key mentions "key": rows for keys look for
`check_key`'s "key must"). To cover a new entry point, add rows.
"""

import functools

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import optax
import pytest

import molcomp
from analog import classifier as C
from analog import coupled as F
from analog import design as D
from analog import memory as M
from benchmarks import run as bench
from molcomp import checks as ck
from molcomp import linkers as L
from molcomp import particles as P
from molcomp import sample

VE, TE = ValueError, TypeError
KEY = jax.random.key(0)
DEPTH = np.array([[2.0, 1.0], [1.0, 0.5]])
BR = P.Brownian(dt=1e-3)
FLUCT = D.FluctuationEstimator()


# ---- cached builders: small objects shared by the rows -------------------------------
@functools.cache
def mixture():
    """8 particles, 2 species, in a 6 x 6 box."""
    return P.ParticleMixture(DEPTH, np.arange(8) % 2, (6.0, 6.0))


@functools.cache
def grid():
    return P.lattice_positions(mixture())


@functools.cache
def state():
    return BR.init(mixture(), grid())


@functools.cache
def linker_model():
    return L.LinkerParticles(mixture(), [0.05], [[3.0], [4.0]])


@functools.cache
def structs():
    lat = molcomp.lattice.square(4, periodic=False)
    return molcomp.structures.random(jax.random.key(1), lat, 16, 2)


@functools.cache
def readout():
    """A `Readout` of one run (built directly: no compilation)."""
    one = np.ones(1)
    return M.Readout(
        retrieved=np.zeros(1, int), error=one, success=one < 0, chimera=one < 0,
        cluster=0 * one, occupancy=0 * one, order=one, overlaps=np.zeros((1, 2)),
    )  # fmt: skip


@functools.cache
def flow():
    net = F.FlowNetwork([[0, 1], [1, 2], [2, 3]], 1.0, 4)
    task = F.CoupledTask(inputs=(0,), outputs=(2,), ground=3)
    return net, task


@functools.cache
def dimer():
    target = D.Target((0, 1), ((0, 1),)).graph()
    return D.ClusterDesign([0, 1], (5.0, 5.0), target)


def _dimer_start():
    return dimer().start(2)


def _ones(shape):
    return jnp.ones(shape)


def bad(exception, name, call):
    """A row: `call()` raises `exception` whose message contains `name`."""
    return exception, name, call


def _params(rows):
    """pytest params with readable ids: the expected text, numbered when repeated."""
    seen: dict = {}
    out = []
    for exception, name, call in rows:
        seen[name] = seen.get(name, 0) + 1
        out.append(pytest.param(call, exception, name, id=f"{name.replace(' ', '_')}-{seen[name]}"))
    return out


BAD = [
    # ---- molcomp.checks -------------------------------------------------------------
    bad(VE, "steps", lambda: ck.check_positive_int("steps", 0)),
    bad(VE, "steps", lambda: ck.check_positive_int("steps", 2.5)),
    bad(VE, "steps", lambda: ck.check_positive_int("steps", True)),
    bad(VE, "extra", lambda: ck.check_nonnegative_int("extra", -1)),
    bad(VE, "level", lambda: ck.check_fraction("level", 1.5)),
    bad(VE, "level", lambda: ck.check_fraction("level", np.nan)),
    bad(TE, "dt", lambda: ck.check_real("dt", "fast")),
    bad(TE, "key must", lambda: ck.check_key("key", 0)),
    bad(TE, "key must", lambda: ck.check_key("key", np.zeros(3, np.uint32))),
    bad(VE, "x", lambda: ck.as_finite_float("x", [1.0, np.inf])),
    # ---- molcomp.sample -------------------------------------------------------------
    bad(TE, "key must", lambda: sample(0, mixture(), BR, state(), 5)),
    bad(VE, "steps", lambda: sample(KEY, mixture(), BR, state(), 0)),
    bad(VE, "chunk", lambda: sample(KEY, mixture(), BR, state(), 5, chunk=0)),
    bad(TE, "sampler", lambda: sample(KEY, mixture(), "brownian", state(), 5)),
    bad(TE, "state", lambda: sample(KEY, mixture(), P.Langevin(dt=1e-3), state(), 5)),
    # ---- molcomp.particles ----------------------------------------------------------
    bad(VE, "depth", lambda: P.ParticleMixture(-DEPTH, [0, 1], (6.0, 6.0))),
    bad(VE, "species", lambda: P.ParticleMixture(DEPTH, [0, 2], (6.0, 6.0))),
    bad(VE, "box", lambda: P.ParticleMixture(DEPTH, [0, 1], (3.0, 3.0))),
    bad(VE, "cutoff", lambda: P.ParticleMixture(DEPTH, [0, 1], (6.0, 6.0), cutoff=0.9)),
    bad(VE, "core", lambda: P.ParticleMixture(DEPTH, [0, 1], (6.0, 6.0), core=-5.0)),
    bad(VE, "dt", lambda: P.Brownian(dt=0.0)),
    bad(VE, "gamma", lambda: P.Brownian(dt=1e-3, gamma=-1.0)),
    bad(VE, "min_separation", lambda: P.Brownian(dt=1e-3, min_separation=2.0)),
    bad(TE, "check_finite", lambda: P.Brownian(dt=1e-3, check_finite="yes")),
    bad(VE, "mass", lambda: P.Langevin(dt=1e-3, mass=0.0)),
    bad(VE, "dt", lambda: P.Brownian(dt=0.05).init(mixture(), grid())),
    bad(VE, "dt", lambda: P.Langevin(dt=0.5).init(mixture(), grid(), key=KEY)),
    bad(VE, "positions", lambda: BR.init(mixture(), grid().at[4].set(grid()[1]))),
    bad(VE, "extra_capacity", lambda: BR.init(mixture(), grid(), extra_capacity=-1)),
    bad(TE, "model", lambda: BR.init("mixture", grid())),
    bad(TE, "key must", lambda: P.Langevin(dt=1e-3).init(mixture(), grid(), key=0)),
    bad(TE, "key must", lambda: BR.step(0, mixture(), state())),
    bad(TE, "key must", lambda: P.random_positions(0, mixture())),
    bad(TE, "model", lambda: P.random_positions(KEY, "mixture")),
    bad(VE, "spacing", lambda: P.lattice_positions(mixture(), spacing=-1.0)),
    bad(VE, "t must", lambda: mixture().tempered(2.0)),
    bad(VE, "positions", lambda: mixture().check_state(np.zeros((3, 2)))),
    # ---- molcomp.linkers ------------------------------------------------------------
    bad(VE, "concentrations", lambda: L.Linkers([-1.0], [[1.0], [1.0]])),
    bad(VE, "bridge", lambda: L.Linkers([1.0], [[1.0], [1.0]], bridge=-1.0)),
    bad(
        VE,
        "faces",
        lambda: L.Linkers([1.0], [[1.0], [1.0]]).effective_chemical_potential(
            jnp.zeros(2), faces=0
        ),
    ),
    bad(VE, "activity", lambda: L.LinkerParticles(mixture(), [-0.1], [[3.0], [4.0]])),
    bad(TE, "mixture", lambda: L.LinkerParticles("mixture", [0.1], [[3.0], [4.0]])),
    bad(VE, "nodes", lambda: linker_model().binding_constants(nodes=0)),
    bad(VE, "slots", lambda: L.LinkerMonteCarlo(slots=0)),
    bad(VE, "global_prob", lambda: L.LinkerMonteCarlo(global_prob=2.0)),
    bad(
        TE,
        "key must",
        lambda: L.LinkerMonteCarlo().step(
            0, linker_model(), L.LinkerMonteCarlo().init(linker_model(), grid())
        ),
    ),
    bad(TE, "model", lambda: L.pair_prediction("model")),
    bad(
        TE,
        "linkers",
        lambda: L.ExplicitLinkerLattice(
            molcomp.lattice.square(3), np.zeros((2, 2)), np.zeros(2), "linkers"
        ),
    ),
    # ---- analog.memory --------------------------------------------------------------
    bad(VE, "level", lambda: M.crossing([1, 2], [1.0, 0.5], level=1.5)),
    bad(VE, "fractions", lambda: M.crossing([1, 2], [1.2, 0.5])),
    bad(TE, "key must", lambda: M.mixture_capacity(0, lambda k, m: None, [1])),
    bad(TE, "build", lambda: M.mixture_capacity(KEY, "build", [1])),
    bad(VE, "runs", lambda: M.mixture_capacity(KEY, lambda k, m: None, [1], runs=0)),
    bad(VE, "ms", lambda: M.mixture_capacity(KEY, lambda k, m: None, [0, 2])),
    bad(VE, "alpha", lambda: M.seed(structs(), 1.5, 2)),
    bad(VE, "k", lambda: M.seed(structs(), 0, 0)),
    bad(VE, "threshold", lambda: M.readout(structs(), jnp.zeros((1, 16), int), threshold=2.0)),
    bad(VE, "n_sites", lambda: M.phase(readout(), 0)),
    bad(VE, "dense", lambda: M.phase(readout(), 16, dense=-0.1)),
    bad(TE, "key must", lambda: M.seeded_recalls(0, None, 4, 10, 2)),
    bad(TE, "memory", lambda: M.seeded_recalls(KEY, "memory", 4, 10, 2)),
    bad(TE, "memory", lambda: M.mixture_recall(KEY, "memory", jnp.zeros(16, int))),
    bad(TE, "key must", lambda: M.recall_times(0, structs(), None, None, None, None, 1, 1)),
    bad(TE, "key must", lambda: M.run_kinetics(0, None, molcomp.Metropolis(), None, 1, 1)),
    # ---- analog.classifier ----------------------------------------------------------
    bad(TE, "key must", lambda: C.train(0, structs(), None, None, None)),
    bad(TE, "trainer", lambda: C.train(KEY, structs(), None, None, "sinkhorn")),
    bad(TE, "optimizer", lambda: C.LinearMapDescent(optimizer=optax.adam)),
    bad(TE, "optimizer", lambda: C.SinkhornAssignment(optimizer="adam")),
    bad(VE, "l2", lambda: C.LinearMapDescent(l2=-1.0)),
    bad(VE, "iterations", lambda: C.SinkhornAssignment(iterations=0)),
    bad(VE, "steps", lambda: C.SwapHillClimb(steps=0)),
    bad(TE, "key must", lambda: C.simulate(0, None, None)),
    bad(TE, "classifier", lambda: C.simulate(KEY, "classifier", None)),
    bad(VE, "mu", lambda: C.critical_window(0.5, n_sites=10)),
    bad(VE, "n_sites", lambda: C.critical_window(-5.0, n_sites=0)),
    bad(VE, "margin", lambda: C.cross_entropy(jnp.zeros((2, 3)), jnp.zeros(2, int), -1.0)),
    bad(VE, "iterations", lambda: C.sinkhorn(jnp.zeros((2, 3)), 0)),
    bad(VE, "species", lambda: C.AssignmentMap([0, 0], 3)),
    bad(TE, "classifier", lambda: C.mixture("classifier", jnp.zeros(3))),
    # ---- analog.coupled -------------------------------------------------------------
    bad(VE, "eta", lambda: F.coupled_grad(*flow(), _ones((2, 1)), _ones((2, 1)), 1.5)),
    bad(TE, "task", lambda: F.coupled_grad(flow()[0], "task", _ones((2, 1)), _ones((2, 1)))),
    bad(VE, "xs", lambda: F.coupled_grad(*flow(), _ones((2, 3)), _ones((2, 1)))),
    bad(VE, "conductances", lambda: F.FlowNetwork([[0, 1]], np.nan, 2)),
    bad(VE, "edges", lambda: F.FlowNetwork([[0, 5]], 1.0, 3)),
    bad(VE, "ground", lambda: F.CoupledTask(inputs=(0,), outputs=(1,), ground=-1)),
    bad(VE, "minimum", lambda: F.clip(flow()[0], -1.0)),
    # ---- analog.design --------------------------------------------------------------
    bad(
        TE,
        "key must",
        lambda: D.design_grad(0, dimer(), DEPTH, _dimer_start(), 10, estimator=FLUCT),
    ),
    bad(
        TE,
        "estimator",
        lambda: D.design_grad(KEY, dimer(), DEPTH, _dimer_start(), 10, estimator="fluctuation"),
    ),
    bad(
        TE,
        "sampler",
        lambda: D.design_grad(
            KEY, dimer(), DEPTH, _dimer_start(), 10, estimator=FLUCT, sampler="brownian"
        ),
    ),
    bad(
        VE,
        "updates",
        lambda: D.optimize_depths(
            KEY, dimer(), DEPTH, estimator=FLUCT, updates=0, steps=10, chains=2
        ),
    ),
    bad(
        VE,
        "learning_rate",
        lambda: D.optimize_depths(
            KEY, dimer(), DEPTH, estimator=FLUCT, updates=2, steps=10, chains=2, learning_rate=0.0
        ),
    ),
    bad(VE, "burn_in", lambda: D.FluctuationEstimator(burn_in=1.0)),
    bad(VE, "target", lambda: D.ClusterDesign([0, 1], (5.0, 5.0), nx.path_graph(1))),
    bad(TE, "target", lambda: D.ClusterDesign([0, 1], (5.0, 5.0), "dimer")),
    bad(
        VE,
        "alpha",
        lambda: D.ClusterDesign([0, 1], (5.0, 5.0), D.Target((0, 1), ((0, 1),)).graph(), alpha=0.0),
    ),
    bad(TE, "key must", lambda: D.sample_positions(0, dimer(), None, BR, _dimer_start(), 10)),
    bad(VE, "min_yield", lambda: D.target_configurations(dimer(), jnp.zeros((1, 2, 2)), -1)),
    bad(VE, "chains", lambda: D.equilibrium_yields(KEY, dimer(), DEPTH, chains=0, steps=10)),
    # ---- benchmarks -----------------------------------------------------------------
    bad(VE, "out", lambda: bench(["md_throughput"], "smoke", __file__)),
    bad(VE, "out", lambda: bench(["md_throughput"], "smoke", __file__ + "/sub")),
    bad(VE, "size", lambda: bench(["md_throughput"], "medium", "results")),
    bad(VE, "benchmark", lambda: bench(["nope"], "smoke")),
]


@pytest.mark.parametrize("call, exception, name", _params(BAD))
def test_bad_input_is_refused_with_the_argument_named(call, exception, name):
    with pytest.raises(exception) as info:
        call()
    assert name in str(info.value), str(info.value)


def test_the_table_is_large():
    assert len(BAD) >= 40
