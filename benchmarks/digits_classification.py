"""Digits classification: scikit-learn's bundled 8x8 digits (1797 images, 10 classes),
one fixed stratified 70/30 train/test split (`train_test_split(..., stratify=y,
random_state=0)`), pixels scaled to [0, 1]. Learners (kind `neural` unless noted):

- `lagrangian_mlp`: MLP 64-128-10 (tanh), gradients from `learning.backprop.lagrangian_grad`
  (explicit multiplier recursion), adam; target test accuracy >= 0.95.
- `equilibrium_propagation`: layered energy 64-128-10 (sigmoid rho), symmetric
  +-beta EP gradients (`learning.backprop.eqprop_grad`), adam; target >= 0.90.
- `rbm_linear`: an RBM (64 visible, binarised pixels, 128 hidden) trained by
  `learning.fit` (CD-1 sleep-wake), features P(h = +1 | v), then a logistic-regression
  readout (scikit-learn).
- `phase_boundary` (kind `physical`): a nucleation classifier (`analog.classifier`):
  10 random structures of the N = 100 species of an open 10 x 10 lattice, class alpha
  = structure alpha; the 64 pixels dose the species through a `LinearMap`
  mu = W x + b trained by adam on the window nucleation surrogate (full batch) with
  the window side of the critical nucleus at the simulation's parameters
  (`analog.classifier.critical_window`, k = 2) and a penalty keeping every training
  mu within mu_base +- ln 11 (the dosing range nucleation theory was evaluated for);
  `test_accuracy` is read out by the surrogate (which structure nucleates first) on
  all test images (target >= 0.8); `test_accuracy_simulated` by full simulation of
  the mixture (`analog.classifier.simulate`: anneal, majority over `pb_runs` runs) on
  the first `pb_sim` test images (`params["readout"]`, `params["n_simulated"]`), and
  `surrogate_agreement` is the fraction of those on which simulation and surrogate
  pick the same class. The anneal ends at a bond energy beta epsilon = 5 kT, below
  -mu of every dosed species (`PB_SIM`): with stronger bonds (8 x 1.2 = 9.6 kT
  before) a single bond pays for most species, and since each species has a partner
  of some structure beside almost any cluster, the lattice filled with a chimeric
  aggregate of all ten structures' fragments (largest correctly bonded cluster 5-8
  of 100 sites for every structure) whose vote was nearly random.

Metrics per learner: `test_accuracy` (fraction) and `train_wall_s` (seconds of training,
compilation included, evaluation excluded). Run alone:
`python -m benchmarks run --only digits_classification [--quick | --smoke]`.
"""

from __future__ import annotations

import functools
import time

import equinox as eqx
import jax
import numpy as np
import optax

import learning

from ._harness import Case, Context, Measurement

NAME = "digits_classification"
DESCRIPTION = (
    "8x8 digits, stratified 70/30 split: Lagrangian MLP, EP, RBM + linear readout, "
    "phase-boundary (nucleation) classifier"
)
PLOTS = {"digits_classification.png": "test_accuracy"}
SPLIT_SEED = 0  # train_test_split random_state
TARGETS = {"lagrangian_mlp": 0.95, "equilibrium_propagation": 0.90, "phase_boundary": 0.8}

# Per size and learner: epochs (mlp, ep), rbm steps, hidden units, batch size,
# phase-boundary (full-batch) steps, test images simulated, sweeps and runs per image.
SIZES = {
    "smoke": dict(
        mlp_epochs=10,
        ep_epochs=3,
        rbm_steps=5,
        hidden=16,
        batch=64,
        subset=256,
        pb_steps=60,
        pb_sim=4,
        pb_sweeps=20,
        pb_runs=2,
    ),  # fmt: skip
    "quick": dict(
        mlp_epochs=40,
        ep_epochs=30,
        rbm_steps=600,
        hidden=128,
        batch=32,
        subset=None,
        pb_steps=400,
        pb_sim=120,
        pb_sweeps=1000,
        pb_runs=8,
    ),  # fmt: skip
    "full": dict(
        mlp_epochs=100,
        ep_epochs=60,
        rbm_steps=2000,
        hidden=256,
        batch=32,
        subset=None,
        pb_steps=1000,
        pb_sim=300,
        pb_sweeps=2000,
        pb_runs=16,
    ),  # fmt: skip
}
# phase-boundary classifier: lattice side (N = side^2 species), learning rate, L2 on W,
# mu at x = 0 (dosing range mu_base +- ln 11), loss margin (ln units)
PHASE_BOUNDARY = dict(side=10, lr=0.05, l2=1e-4, mu_base=-8.0, margin=4.0)
# The simulation readout's mixture and anneal, in the structure-specific regime of the
# dosing range mu in [-10.4, -5.6]: at the end beta epsilon = 5 kT is below -mu of
# every species (a single bond never pays, so no chimeric aggregate of all ten
# structures' fragments fills the lattice), yet two bonds pay for the densely dosed
# species (10 > 5.6) and not for the sparse ones (10 < 10.4).
PB_SIM = dict(epsilon=5.0, beta=(0.5, 1.0))


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


def _run_mlp(s: dict, seed: int, ctx: Context):
    xtr, ytr, xte, yte = load(s["subset"])
    k_init, k_train = jax.random.split(jax.random.key(seed))
    mlp = learning.backprop.MLP.random(k_init, (64, s["hidden"], 10))
    mlp, secs = _train(
        k_train,
        mlp,
        lambda p, xb, yb: learning.backprop.lagrangian_grad(p, xb, yb)[1],
        optax.adam(3e-3),
        (xtr, ytr),
        s["mlp_epochs"],
        s["batch"],
    )
    acc = float(learning.backprop.mlp_accuracy(mlp, xte, yte))
    return _measures(acc, secs)


EP = dict(beta=0.5, free_steps=30, nudged_steps=10, step_size=0.5)


def _run_ep(s: dict, seed: int, ctx: Context):
    xtr, ytr, xte, yte = load(s["subset"])
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
    pred = eqx.filter_jit(learning.backprop.eqprop_predict)(model, xte, EP["free_steps"])
    return _measures(float(np.mean(np.asarray(pred) == yte)), secs)


def _run_rbm(s: dict, seed: int, ctx: Context):
    from sklearn.linear_model import LogisticRegression

    xtr, ytr, xte, yte = load(s["subset"])
    k_init, k_fit = jax.random.split(jax.random.key(seed))
    vis_tr, vis_te = (xtr > 0.5).astype(np.int32), (xte > 0.5).astype(np.int32)
    rbm = learning.neural.RBM.random(k_init, 64, s["hidden"])
    sampler = learning.neural.AlternatingGibbs()
    t0 = time.perf_counter()
    rbm, _ = learning.fit(
        k_fit,
        rbm,
        sampler,
        learning.ClampedChains(vis_tr, rbm.visible, sampler, batch_size=64),
        optax.adam(3e-3),
        s["rbm_steps"],
        model_phase=learning.CD(sampler, 1),
        progress=False,
    )

    def features(v):
        spins = 2.0 * v - 1.0
        return np.asarray(jax.nn.sigmoid(2 * rbm.beta * (rbm.hidden_bias + spins @ rbm.weights)))

    readout = LogisticRegression(max_iter=2000).fit(features(vis_tr), ytr)
    secs = time.perf_counter() - t0
    return _measures(float(readout.score(features(vis_te), yte)), secs)


def _run_phase_boundary(s: dict, seed: int, ctx: Context):
    import molcomp
    from analog import classifier

    xtr, ytr, xte, yte = load(s["subset"])
    side = PHASE_BOUNDARY["side"]
    k_struct, k_fit = jax.random.split(jax.random.key(seed))
    lat = molcomp.lattice.square(side, periodic=False)
    structs = molcomp.structures.random(k_struct, lat, side * side, 10)
    mu0, spread = PHASE_BOUNDARY["mu_base"], float(np.log(11.0))
    t0 = time.perf_counter()
    trainer = classifier.LinearMapDescent(
        steps=s["pb_steps"], optimizer=optax.adam(PHASE_BOUNDARY["lr"]),
        l2=PHASE_BOUNDARY["l2"], mu_base=mu0, mu_range=(mu0 - spread, mu0 + spread),
    )  # fmt: skip
    clf, _ = classifier.train(
        k_fit, structs, xtr, ytr, trainer, k=_pb_window(s).k, margin=PHASE_BOUNDARY["margin"]
    )
    jax.block_until_ready(clf)
    secs = time.perf_counter() - t0
    pred = eqx.filter_jit(classifier.predict)(clf, xte)
    n = min(s["pb_sim"], len(xte))
    sim = classifier.simulate(
        jax.random.key(seed + 1), clf, xte[:n], sweeps=s["pb_sweeps"], repeats=s["pb_runs"],
        **PB_SIM,
    )  # fmt: skip
    sim_acc = float(np.mean(sim.classes == yte[:n]))
    agree = float(np.mean(sim.classes == np.asarray(pred)[:n]))
    return _measures(float(np.mean(np.asarray(pred) == yte)), secs) + [
        Measurement("test_accuracy_simulated", sim_acc, "fraction", True),
        Measurement("surrogate_agreement", agree, "fraction", True),
    ]


def _pb_window(s: dict):
    """Critical-nucleus estimate at the densest dosing of the phase-boundary mixture."""
    from analog import classifier

    return classifier.critical_window(
        PHASE_BOUNDARY["mu_base"] + float(np.log(11.0)), epsilon=PB_SIM["epsilon"],
        beta=PB_SIM["beta"], sweeps=s["pb_sweeps"], n_sites=PHASE_BOUNDARY["side"] ** 2,
    )  # fmt: skip


def _measures(acc: float, secs: float) -> list[Measurement]:
    return [
        Measurement("test_accuracy", acc, "fraction", True),
        Measurement("train_wall_s", secs, "s", False),
    ]


def cases(size: str) -> list[Case]:
    s = SIZES[size]
    seed = 0
    base = dict(model="digits_8x8", split="stratified_70_30", split_seed=SPLIT_SEED)
    runs = {
        "lagrangian_mlp": (_run_mlp, dict(dim=f"64-{s['hidden']}-10", epochs=s["mlp_epochs"])),
        "equilibrium_propagation": (
            _run_ep,
            dict(dim=f"64-{s['hidden']}-10", epochs=s["ep_epochs"], **EP, rule="ep_symmetric"),
        ),
        "rbm_linear": (_run_rbm, dict(dim=f"64-{s['hidden']}", steps=s["rbm_steps"], rule="cd1")),
        "phase_boundary": (
            _run_phase_boundary,
            dict(
                dim=f"64->{PHASE_BOUNDARY['side'] ** 2}",
                N=PHASE_BOUNDARY["side"] ** 2,
                m=10,
                L=PHASE_BOUNDARY["side"],
                k=_pb_window(s).k,
                mu_base=PHASE_BOUNDARY["mu_base"],
                mu_range="mu_base +- ln 11",
                loss_margin=PHASE_BOUNDARY["margin"],
                steps=s["pb_steps"],
                rule="linear_map_adam",
                lr=PHASE_BOUNDARY["lr"],
                l2=PHASE_BOUNDARY["l2"],
                readout=(
                    "test_accuracy: surrogate, all test images; test_accuracy_simulated: "
                    "full simulation of the first n_simulated test images"
                ),
                n_simulated=s["pb_sim"],
                sweeps=s["pb_sweeps"],
                runs=s["pb_runs"],
                epsilon=PB_SIM["epsilon"],
                beta_ramp=f"{PB_SIM['beta'][0]}-{PB_SIM['beta'][1]}",
            ),
        ),
    }
    return [
        Case(
            "digits 8x8",
            learner,
            "physical" if learner == "phase_boundary" else "neural",
            {**base, **extra},
            functools.partial(fn, s, seed),
            1,
            seed,
        )
        for learner, (fn, extra) in runs.items()
    ]
