"""Designing well depths for a target cluster (Goodrich et al., PNAS 2021): three
gradient estimators compared against trajectory length T.

Task (`task()`): 6 particles in a periodic 8 x 8 box (2D), species 0, 0, 1, 1, 2, 2; the
target is the triangle of species (0, 1, 2), the competitor the triangle (0, 1, 1);
contact distance 1.3 sigma, smooth-yield sigmoid width 0.05; loss = -(target -
competitor) smooth yield. Start: every chain on the same dispersed grid, D_ab = 2 kT
for every pair. Brownian dynamics, dt = 2e-3.

Gradient cases (params `estimator`, `T`): each estimator gets the same `chains` chains
of T steps per estimate, repeated `repeats` times with fresh keys; records
`gradient_variance` (trace of the covariance of the repeats over the squared norm of
their mean: the relative noise of one estimate), `cosine_to_equilibrium` (between the
mean estimate and a long-run equilibrium fluctuation gradient), `grad_wall_s` (median
seconds per estimate, compilation excluded) and `model_evaluations` (per estimate).
Sleep-wake's data: configurations holding a target triangle, from a run with wells of
4 kT on the target's species pairs and none elsewhere; its gradient is that of
KL(data || model), so its cosine measures direction only.

Design cases (params `estimator`, `T`): `updates` adam steps (learning rate 0.2, D kept
>= 0) with one estimator; records `final_yield` (mean exact number of target triangles
per configuration at the final depths, equilibrium samples from the dispersed start),
`final_competitor_yield`, `initial_yield` and `design_wall_s`.

Smoke size (CI) runs the same pipeline on the two-particle version of the task
(`task("smoke")`: species 0 and 1 in a 5 x 5 box, the target their contact, no
competitor) with the shapes of tests/analog/test_design.py (256 chains, T = 500), so
that in the test suite every kernel is compiled once for both.

Run alone: `python -m benchmarks run --only cluster_design [--quick | --smoke]`.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

import analog

from ._harness import Case, Context, Measurement

NAME = "cluster_design"
DESCRIPTION = "gradients of a target-cluster yield: through trajectories, fluctuations, sleep-wake"
PLOTS = {"cluster_design.png": "gradient_variance"}
CHECKPOINT = 10  # steps per checkpointed block (divides every T below)
D0 = 2.0

# chains per estimate, gradient Ts, repeats, design (updates, T), and for the
# evaluation, the reference gradient and the sleep-wake data: chains and steps. Smoke
# sizes use one shape throughout, that of the unit tests (one compilation of each kernel).
SIZES = {
    "smoke": dict(
        chains=256, Ts=(500,), repeats=2, design=(2, 500), wide=256, eval=500, ref=500, data=500
    ),
    "quick": dict(
        chains=32,
        Ts=(100, 400),
        repeats=4,
        design=(12, 400),
        wide=128,
        eval=2000,
        ref=2000,
        data=1000,
    ),
    "full": dict(
        chains=64,
        Ts=(100, 400, 1600),
        repeats=8,
        design=(40, 800),
        wide=256,
        eval=8000,
        ref=8000,
        data=4000,
    ),
}


TARGET = analog.design.Target((0, 1, 2), ((0, 1), (1, 2), (0, 2)))
DIMER = analog.design.Target((0, 1), ((0, 1),))
ESTIMATORS = ("trajectory", "fluctuation", "sleep_wake")  # the `estimator` param


def _estimator(est: str, data=None) -> analog.design.AbstractDesignEstimator:
    """The estimator object behind a name of ESTIMATORS (`data`: sleep-wake's)."""
    if est == "trajectory":
        return analog.design.TrajectoryEstimator(checkpoint_every=CHECKPOINT)
    if est == "fluctuation":
        return analog.design.FluctuationEstimator()
    return analog.design.SleepWakeEstimator(data)


def task(size: str = "full") -> analog.design.ClusterDesign:
    """The design task; at smoke size the two-particle one of the unit tests (their
    static settings exactly, so compilations are shared)."""
    if size == "smoke":
        return analog.design.ClusterDesign(
            [0, 1], (5.0, 5.0), DIMER.graph(), n_species=2, alpha=2.0, core=10.0, width=0.15,
            contact=1.4,
        )  # fmt: skip
    competitor = analog.design.Target((0, 1, 1), ((0, 1), (1, 2), (0, 2))).graph()
    return analog.design.ClusterDesign([0, 0, 1, 1, 2, 2], (8.0, 8.0), TARGET.graph(), competitor)


def _target(size: str) -> analog.design.Target:
    return DIMER if size == "smoke" else TARGET


def _initial_depth(t):
    return jnp.full((t.n_species, t.n_species), D0)


def cases(size: str) -> list[Case]:
    cfg = SIZES[size] | dict(size=size)
    t = task(size)
    shape = dict(N=t.n_particles, dim=len(t.box), chains=cfg["chains"], dt=2e-3)
    out = []
    for est in ESTIMATORS:
        for T in cfg["Ts"]:
            params = dict(estimator=est, T=T) | shape
            run = functools.partial(_gradient_case, cfg, est, T)
            out.append(Case(f"gradient {est} T={T}", "molcomp", "physical", params, run, 1))
    updates, T = cfg["design"]
    for est in ESTIMATORS:
        params = dict(estimator=est, T=T) | shape | dict(updates=updates)
        run = functools.partial(_design_case, cfg, est)
        out.append(Case(f"design {est} T={T}", "molcomp", "physical", params, run, 1))
    return out


def _data(cfg, ctx: Context):
    """Target configurations for sleep-wake (cached for the run)."""
    key = ("cluster_design.data", cfg["data"])
    if key not in ctx.cache:
        t, target = task(cfg["size"]), _target(cfg["size"])
        template = np.zeros((t.n_species, t.n_species))
        for i, j in target.edges:
            a, b = target.species[i], target.species[j]
            template[a, b] = template[b, a] = 4.0
        model = t.model(template)
        sampler = analog.design.design_sampler(t)
        samples, _ = analog.design.sample_positions(
            jax.random.key(7), t, model, sampler, t.start(cfg["wide"]), cfg["data"]
        )
        data = analog.design.target_configurations(t, samples)
        if data.shape[0] == 0:
            data = samples[:1]  # smoke sizes may form none; keep the contract running
        ctx.cache[key] = data
    return ctx.cache[key]


def _reference(cfg, ctx: Context):
    """A long-run equilibrium fluctuation gradient at the initial depths."""
    key = ("cluster_design.reference", cfg["ref"])
    if key not in ctx.cache:
        t = task(cfg["size"])
        out = analog.design.design_grad(
            jax.random.key(11), t, _initial_depth(t), t.start(cfg["wide"]), cfg["ref"],
            estimator=_estimator("fluctuation"),
        )  # fmt: skip
        ctx.cache[key] = np.asarray(out.grad)
    return ctx.cache[key]


def _gradient_case(cfg, est, T, ctx: Context, seed=0):
    t = task(cfg["size"])
    depth = _initial_depth(t)
    estimator = _estimator(est, _data(cfg, ctx) if est == "sleep_wake" else None)

    def once(k):
        return analog.design.design_grad(
            k, t, depth, t.start(cfg["chains"]), T, estimator=estimator
        )

    jax.block_until_ready(once(jax.random.key(999)).grad)  # compile
    grads, times = [], []
    for k in jax.random.split(jax.random.key(seed), cfg["repeats"]):
        t0 = time.perf_counter()
        out = once(k)
        jax.block_until_ready(out.grad)
        times.append(time.perf_counter() - t0)
        grads.append(np.asarray(out.grad)[np.triu_indices(t.n_species)])
    g = np.stack(grads)
    mean = g.mean(0)
    signal = np.sum(mean**2)
    variance = float(np.sum(g.var(0, ddof=1)) / signal) if signal > 0 else 0.0
    ref = _reference(cfg, ctx)[np.triu_indices(t.n_species)]
    norms = np.linalg.norm(mean) * np.linalg.norm(ref)
    cosine = float(mean @ ref / norms) if norms > 0 else 0.0  # no contacts yet: no direction
    return [
        Measurement("gradient_variance", variance, "1", False),
        Measurement("cosine_to_equilibrium", cosine, "1", True),
        Measurement("grad_wall_s", float(np.median(times)), "s", False),
        Measurement("model_evaluations", float(out.evaluations), "evaluations", False),
    ]


def _yields(cfg, depth, seed):
    t = task(cfg["size"])
    return analog.design.equilibrium_yields(
        jax.random.key(seed), t, depth, chains=cfg["wide"], steps=cfg["eval"]
    )


def _design_case(cfg, est, ctx: Context, seed=0):
    t = task(cfg["size"])
    updates, T = cfg["design"]
    estimator = _estimator(est, _data(cfg, ctx) if est == "sleep_wake" else None)
    key = ("cluster_design.initial", cfg["eval"])
    if key not in ctx.cache:
        ctx.cache[key] = _yields(cfg, _initial_depth(t), 5)[0]
    t0 = time.perf_counter()
    hist = analog.design.optimize_depths(
        jax.random.key(seed), t, _initial_depth(t), estimator=estimator, updates=updates,
        steps=T, chains=cfg["chains"], learning_rate=0.2,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    target, competitor = _yields(cfg, hist.depth, 5)
    return [
        Measurement("final_yield", target, "clusters", True),
        Measurement("final_competitor_yield", competitor, "clusters", False),
        Measurement("initial_yield", ctx.cache[key], "clusters", True),
        Measurement("design_wall_s", wall, "s", False),
    ]
