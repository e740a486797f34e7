"""Digits classification: scikit-learn's bundled 8x8 digits (1797 images, 10 classes),
one fixed stratified 70/30 train/test split (`train_test_split(..., stratify=y,
random_state=0)`), pixels scaled to [0, 1]. Every learner's `test_accuracy` is measured
the way that learner computes its answer.

- `phase_boundary` (kind `physical`): a nucleation classifier (`analog.classifier`):
  10 random structures of the N = 100 species of an open 10 x 10 lattice, class alpha
  = structure alpha; the 64 pixels dose the species through a `LinearMap` mu = W x + b
  trained by adam on the window nucleation surrogate (`benchmarks._phase_boundary`).
  `test_accuracy` is read out by full simulation (`analog.classifier.simulate`:
  anneal, majority over `pb_runs` runs; params `readout` = `simulation`) on all test
  images or a stated random subset (`n_simulated`, `subset`);
  `surrogate_test_accuracy` by the surrogate on all test images, and
  `surrogate_agreement` is the fraction of the simulated images on which the two agree.
- `linear_map` (kind `reference`): the same trained W and b, the physics replaced by a
  fixed linear score per structure and an argmax over structures (see
  `benchmarks._phase_boundary`): is it the physics or the linear map that classifies?
- `logistic_regression` (kind `reference`): scikit-learn's multinomial logistic
  regression on the 64 pixels.
- `lagrangian_mlp` (kind `neural`): MLP 64-128-10 (tanh), gradients from
  `learning.backprop.lagrangian_grad` (explicit multiplier recursion), adam.
- `equilibrium_propagation` (kind `neural`): layered energy 64-128-10 (sigmoid rho),
  symmetric +-beta EP gradients (`learning.backprop.eqprop_grad`), adam.
- `rbm_linear` (kind `neural`): an RBM (64 visible, binarised pixels, hidden units)
  trained by `learning.fit` (CD-1), features P(h = +1 | v), a logistic-regression
  readout.

Records per learner (means over `seeds` training seeds): `test_accuracy` and
`test_accuracy_stderr` (sqrt(a (1 - a) / n) over the n test images read out, plus
the spread over seeds when there are several), and the costs `n_parameters`,
`train_wall_s` (compilation included) and `inference_s_per_example` (compilation
excluded). `phase_boundary` also records `paired_difference_vs_linear_map` and
`paired_difference_vs_logistic_regression` (its accuracy minus theirs on the same
simulated images; standard error over images, and seeds) with `_stderr`.

Run alone: `python -m benchmarks run --only digits_classification [--quick | --smoke]`.
"""

from __future__ import annotations

import functools
import math
import time

import equinox as eqx
import jax
import numpy as np
import optax

import learning

from . import _phase_boundary as pb
from ._harness import Case, Context, Measurement
from ._timing import median_time

NAME = "digits_classification"
DESCRIPTION = (
    "8x8 digits, stratified 70/30 split: phase-boundary (nucleation) classifier read out by "
    "simulation vs its linear map, logistic regression, Lagrangian MLP, EP, RBM"
)
PLOTS = {"digits_classification.png": "test_accuracy"}
SPLIT_SEED = 0  # train_test_split random_state
SUBSET_SEED = 1  # the random subset of test images simulated
PHASE_BOUNDARY, PB_SIM = pb.PHASE_BOUNDARY, pb.PB_SIM
LEARNERS = (
    "logistic_regression",
    "lagrangian_mlp",
    "equilibrium_propagation",
    "rbm_linear",
    "phase_boundary",
    "linear_map",
)
KINDS = {
    "phase_boundary": "physical",
    "linear_map": "reference",
    "logistic_regression": "reference",
}
EP = dict(beta=0.5, free_steps=30, nudged_steps=10, step_size=0.5)

# Per size: training seeds; epochs (mlp, ep); rbm steps; hidden units; batch; training
# subset (smoke); phase-boundary steps, test images simulated (None: all), simulation
# batch, sweeps and runs per image.
SIZES = {
    "smoke": dict(seeds=1, mlp_epochs=10, ep_epochs=3, rbm_steps=5, hidden=16, batch=64,
                  subset=256, pb_steps=60, pb_sim=4, chunk=2, pb_sweeps=200, pb_runs=2),
    "quick": dict(seeds=1, mlp_epochs=40, ep_epochs=30, rbm_steps=200, hidden=128, batch=32,
                  subset=None, pb_steps=400, pb_sim=80, chunk=20, pb_sweeps=1000, pb_runs=8),
    "full": dict(seeds=3, mlp_epochs=100, ep_epochs=60, rbm_steps=2000, hidden=256, batch=32,
                 subset=None, pb_steps=1000, pb_sim=None, chunk=20, pb_sweeps=1000, pb_runs=16),
}  # fmt: skip


def load(subset: int | None = None):
    """(x_train, y_train, x_test, y_test): pixels in [0, 1], integer labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, stratify=y, random_state=SPLIT_SEED)
    if subset is not None:  # smoke: a slice of the same split
        xtr, ytr, xte, yte = xtr[:subset], ytr[:subset], xte[:subset], yte[:subset]
    return xtr, ytr.astype(np.int32), xte, yte.astype(np.int32)


def simulated_images(s: dict, n_test: int) -> np.ndarray:
    """Indices of the test images the phase-boundary simulation reads out: all of
    them, or a fixed random subset (seed `SUBSET_SEED`), whole batches of `chunk`."""
    if s["pb_sim"] is None:
        n = n_test - n_test % s["chunk"]
        return np.arange(n)
    rng = np.random.default_rng(SUBSET_SEED)
    return np.sort(rng.choice(n_test, s["pb_sim"], replace=False))


def _batches(key, n: int, batch: int):
    perm = np.asarray(jax.random.permutation(key, n))
    return [perm[i : i + batch] for i in range(0, n - batch + 1, batch)]


def _train(key, params, grad_fn, opt, data, epochs: int, batch: int):
    """Plain minibatch loop over a jitted step; returns (params, seconds)."""

    @eqx.filter_jit
    def step(p, state, xb, yb):
        g = grad_fn(p, xb, yb)
        updates, state = opt.update(g, state, eqx.filter(p, eqx.is_array))
        return eqx.apply_updates(p, updates), state

    xtr, ytr = data
    state = opt.init(eqx.filter(params, eqx.is_array))
    t0 = time.perf_counter()
    for e in range(epochs):
        for idx in _batches(jax.random.fold_in(key, e), len(xtr), batch):
            params, state = step(params, state, xtr[idx], ytr[idx])
    jax.block_until_ready(params)
    return params, time.perf_counter() - t0


def _count(tree) -> int:
    return int(sum(np.size(x) for x in jax.tree.leaves(eqx.filter(tree, eqx.is_inexact_array))))


def _timed_predict(predict, x) -> tuple[np.ndarray, float]:
    """(classes, seconds per image): median of 3 calls after a warm-up."""
    secs = median_time(lambda: predict(x), 3)
    return np.asarray(predict(x)), secs / len(x)


def _mlp(s: dict, seed: int, xtr, ytr, xte) -> dict:
    k_init, k_train = jax.random.split(jax.random.key(seed))
    mlp = learning.backprop.MLP.random(k_init, (64, s["hidden"], 10))
    mlp, secs = _train(
        k_train, mlp, lambda p, xb, yb: learning.backprop.lagrangian_grad(p, xb, yb)[1],
        optax.adam(3e-3), (xtr, ytr), s["mlp_epochs"], s["batch"],
    )  # fmt: skip
    pred, infer = _timed_predict(eqx.filter_jit(lambda x: mlp(x).argmax(-1)), xte)
    return dict(pred=pred, train_s=secs, infer_s=infer, n_params=_count(mlp))


def _ep(s: dict, seed: int, xtr, ytr, xte) -> dict:
    k_init, k_train = jax.random.split(jax.random.key(seed))
    model = learning.backprop.LayeredEnergy.random(k_init, (64, s["hidden"], 10), "sigmoid")
    kw = {k: v for k, v in EP.items() if k != "beta"}

    def grad_fn(p, xb, yb):
        return learning.backprop.eqprop_grad(
            p, xb, jax.nn.one_hot(yb, 10), EP["beta"], symmetric=True, **kw
        )[0]

    model, secs = _train(
        k_train, model, grad_fn, optax.adam(1e-2), (xtr, ytr), s["ep_epochs"], s["batch"]
    )
    predict = eqx.filter_jit(lambda x: learning.backprop.eqprop_predict(model, x, EP["free_steps"]))
    pred, infer = _timed_predict(predict, xte)
    return dict(pred=pred, train_s=secs, infer_s=infer, n_params=_count(model))


def _rbm(s: dict, seed: int, xtr, ytr, xte) -> dict:
    from sklearn.linear_model import LogisticRegression

    k_init, k_fit = jax.random.split(jax.random.key(seed))
    vis_tr, vis_te = (xtr > 0.5).astype(np.int32), (xte > 0.5).astype(np.int32)
    rbm = learning.neural.RBM.random(k_init, 64, s["hidden"])
    sampler = learning.neural.AlternatingGibbs()
    t0 = time.perf_counter()
    rbm, _ = learning.fit(
        k_fit, rbm, sampler, learning.ClampedChains(vis_tr, rbm.visible, sampler, batch_size=64),
        optax.adam(3e-3), s["rbm_steps"], model_phase=learning.CD(sampler, 1), progress=False,
    )  # fmt: skip

    @jax.jit
    def features(v):
        return jax.nn.sigmoid(2 * rbm.beta * (rbm.hidden_bias + (2.0 * v - 1.0) @ rbm.weights))

    readout = LogisticRegression(max_iter=2000).fit(np.asarray(features(vis_tr)), ytr)
    secs = time.perf_counter() - t0
    pred, infer = _timed_predict(lambda v: readout.predict(np.asarray(features(v))), vis_te)
    n_params = _count(rbm) + readout.coef_.size + readout.intercept_.size
    return dict(pred=pred, train_s=secs, infer_s=infer, n_params=n_params)


def _logistic(s: dict, seed: int, xtr, ytr, xte) -> dict:
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    model = LogisticRegression(max_iter=5000, random_state=seed).fit(xtr, ytr)
    secs = time.perf_counter() - t0
    pred, infer = _timed_predict(model.predict, xte)
    n_params = model.coef_.size + model.intercept_.size
    return dict(pred=pred, train_s=secs, infer_s=infer, n_params=n_params)


def _phase_fit(s: dict, seed: int, xtr, ytr, ctx: Context):
    """The trained phase-boundary classifier of one seed (shared by its readouts)."""
    key = (NAME, "phase_boundary", seed, s["pb_steps"], s["pb_sweeps"], len(xtr))
    if key not in ctx.cache:
        ctx.cache[key] = pb.fit(seed, s["pb_steps"], s["pb_sweeps"], xtr, ytr)
    return ctx.cache[key]


def _linear_map(s: dict, seed: int, xtr, ytr, xte, ctx: Context) -> dict:
    clf, secs = _phase_fit(s, seed, xtr, ytr, ctx)
    t0 = time.perf_counter()
    readout = pb.linear_readout(clf, xtr, ytr)
    secs += time.perf_counter() - t0
    pred, infer = _timed_predict(lambda x: pb.linear_predict(clf, readout, x), xte)
    n_params = pb.map_parameters(clf) + int(readout.size)
    return dict(pred=pred, train_s=secs, infer_s=infer, n_params=n_params)


def _phase_boundary(s: dict, seed: int, xtr, ytr, xte, ctx: Context) -> dict:
    clf, secs = _phase_fit(s, seed, xtr, ytr, ctx)
    idx = simulated_images(s, len(xte))
    pred, infer = pb.simulate(
        jax.random.key(seed + 1), clf, xte[idx], sweeps=s["pb_sweeps"], runs=s["pb_runs"],
        chunk=s["chunk"], mesh=ctx.mesh_for(s["chunk"]),
    )  # fmt: skip
    surrogate = pb.surrogate_predict(clf, xte)
    # the baselines on the same images, for the paired differences
    linear = _linear_map(s, seed, xtr, ytr, xte, ctx)["pred"][idx]
    logistic = _logistic(s, seed, xtr, ytr, xte)["pred"][idx]
    return dict(
        pred=pred, idx=idx, train_s=secs, infer_s=infer, n_params=pb.map_parameters(clf),
        surrogate=surrogate, agreement=float(np.mean(pred == surrogate[idx])),
        versus={"linear_map": linear, "logistic_regression": logistic},
    )  # fmt: skip


RUNS = {
    "logistic_regression": _logistic,
    "lagrangian_mlp": _mlp,
    "equilibrium_propagation": _ep,
    "rbm_linear": _rbm,
}


def accuracy(correct_by_seed: list[np.ndarray]) -> tuple[float, float]:
    """Mean accuracy over seeds and its standard error: the binomial one of n images,
    sqrt(a (1 - a) / n), plus the variance of the seed mean when there are >= 2 seeds."""
    accs = np.array([np.mean(c) for c in correct_by_seed])
    a, n = float(np.mean(accs)), len(correct_by_seed[0])
    var = a * (1 - a) / n
    if len(accs) > 1:
        var += float(np.var(accs, ddof=1)) / len(accs)
    return a, math.sqrt(var)


def paired(diff_by_seed: list[np.ndarray]) -> tuple[float, float]:
    """Mean of per-image differences (over images and seeds) and its standard error:
    over images within a seed, plus the spread of the seed means."""
    means = np.array([np.mean(d) for d in diff_by_seed])
    n = len(diff_by_seed[0])
    var = float(np.mean([np.var(d, ddof=1) for d in diff_by_seed])) / (n * len(means))
    if len(means) > 1:
        var += float(np.var(means, ddof=1)) / len(means)
    return float(np.mean(means)), math.sqrt(var)


def _run(learner: str, s: dict, ctx: Context) -> list[Measurement]:
    xtr, ytr, xte, yte = load(s["subset"])
    rows = []
    for seed in range(s["seeds"]):
        if learner == "phase_boundary":
            rows.append(_phase_boundary(s, seed, xtr, ytr, xte, ctx))
        elif learner == "linear_map":
            rows.append(_linear_map(s, seed, xtr, ytr, xte, ctx))
        else:
            rows.append(RUNS[learner](s, seed, xtr, ytr, xte))
    truth = [yte[r["idx"]] if "idx" in r else yte for r in rows]
    acc, se = accuracy([r["pred"] == t for r, t in zip(rows, truth)])
    out = [
        Measurement("test_accuracy", acc, "fraction", True),
        Measurement("test_accuracy_stderr", se, "fraction", False),
        Measurement("n_parameters", rows[0]["n_params"], "parameters", False),
        Measurement("train_wall_s", float(np.mean([r["train_s"] for r in rows])), "s", False),
        Measurement(
            "inference_s_per_example", float(np.mean([r["infer_s"] for r in rows])), "s", False
        ),
    ]
    if learner == "phase_boundary":
        sur, sur_se = accuracy([r["surrogate"] == yte for r in rows])
        agree = float(np.mean([r["agreement"] for r in rows]))
        out += [
            Measurement("surrogate_test_accuracy", sur, "fraction", True),
            Measurement("surrogate_test_accuracy_stderr", sur_se, "fraction", False),
            Measurement("surrogate_agreement", agree, "fraction", True),
        ]
        for other in ("linear_map", "logistic_regression"):
            diffs = [
                (r["pred"] == t).astype(float) - (r["versus"][other] == t)
                for r, t in zip(rows, truth)
            ]
            d, d_se = paired(diffs)
            extra = {"versus": other, "of": "test_accuracy", "on": "the simulated images"}
            out += [
                Measurement(f"paired_difference_vs_{other}", d, "fraction", True, extra),
                Measurement(f"paired_difference_vs_{other}_stderr", d_se, "fraction", False, extra),
            ]  # fmt: skip
    return out


def _pb_params(s: dict) -> dict:
    n_test = len(load(s["subset"])[3])
    n_sim = len(simulated_images(s, n_test))
    return dict(
        dim=f"64->{PHASE_BOUNDARY['side'] ** 2}",
        N=PHASE_BOUNDARY["side"] ** 2,
        m=10,
        L=PHASE_BOUNDARY["side"],
        k=pb.window(s["pb_sweeps"]).k,
        mu_base=PHASE_BOUNDARY["mu_base"],
        mu_range="mu_base +- ln 11",
        loss_margin=PHASE_BOUNDARY["margin"],
        steps=s["pb_steps"],
        rule="linear_map_adam",
        lr=PHASE_BOUNDARY["lr"],
        l2=PHASE_BOUNDARY["l2"],
        n_simulated=n_sim,
        subset="all test images" if s["pb_sim"] is None else f"random, seed {SUBSET_SEED}",
        sweeps=s["pb_sweeps"],
        runs=s["pb_runs"],
        epsilon=PB_SIM["epsilon"],
        beta_ramp=f"{PB_SIM['beta'][0]}-{PB_SIM['beta'][1]}",
    )


def cases(size: str) -> list[Case]:
    s = SIZES[size]
    base = dict(
        model="digits_8x8", split="stratified_70_30", split_seed=SPLIT_SEED, seeds=s["seeds"]
    )
    pbp = _pb_params(s)
    extra = {
        "logistic_regression": dict(dim="64-10", rule="lbfgs"),
        "lagrangian_mlp": dict(dim=f"64-{s['hidden']}-10", epochs=s["mlp_epochs"]),
        "equilibrium_propagation": dict(
            dim=f"64-{s['hidden']}-10", epochs=s["ep_epochs"], **EP, rule="ep_symmetric"
        ),
        "rbm_linear": dict(dim=f"64-{s['hidden']}", steps=s["rbm_steps"], rule="cd1"),
        "phase_boundary": dict(pbp, readout="simulation"),
        "linear_map": dict(
            {k: v for k, v in pbp.items() if k not in ("n_simulated", "subset", "runs")},
            readout="argmax over structures of a fixed linear score",
        ),
    }
    return [
        Case(
            "digits 8x8",
            learner,
            KINDS.get(learner, "neural"),
            {**base, **extra[learner]},
            functools.partial(_run, learner, s),
            1,
            0,
        )
        for learner in LEARNERS
    ]
