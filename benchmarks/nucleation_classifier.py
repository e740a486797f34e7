"""Nucleation classifier: a mixture of N species storing 3 structures (random
permutations of the same N species on an open square lattice) classifies images by
which structure nucleates (Evans et al., Nature 2024). The full size follows the
paper's scale: 30 x 30 images on a 30 x 30 lattice, N = 900 species shared by the
3 structures, 18 training images.

Images: scikit-learn's bundled 8x8 digits 0, 1 and 2 (no downloads), resized to
`px` x `px` by bilinear interpolation; `per_class` training images of each digit (the
first ones in the data set). Held-out images (at least 150 at quick and full size):
`variants` perturbed copies of each training image (each pixel moved by uniform noise
of +-0.15, the image shifted by up to one original pixel) and `others` further images
of each digit from the data set (other writers). Dosing: multiplier 1 + 10 x
intensity, c = c_base (1 + 10 x), mu_base = ln(c_base / c0).

Learners (kind `physical`), trained on the window nucleation surrogate
(`analog.classifier.train`) with the window side k of the critical nucleus at the
simulation's parameters (`analog.classifier.critical_window`: classical nucleation
theory for the densest dosing, mu = mu_base + ln 11, along the anneal; k = 2 at
every size, where Evans et al. used k = 5 for their tiles):

- `gradient`: Sinkhorn-relaxed assignment of pixels to species, adam, rounded greedily.
- `hill_climb`: swap moves on a hard assignment (pixels proposed in proportion to
  their mean training intensity), kept unless the loss rises.

Both minimise the large-margin cross-entropy with margin `MARGIN` ln units (a 2 x 2
window spans at most 4 ln 11 = 9.6 ln units of dosing).

Per-image budgets (per training image): `gradient` runs `steps` full-batch gradients
(2 model evaluations each), `hill_climb` `HILL_BUDGET x 2 steps` proposals (1 each):
the climb gets `HILL_BUDGET` times the gradient's evaluations, since at equal budget
its surrogate margins are too small to survive the simulation. The full
simulation spends `runs` x `sweeps` Metropolis sweeps of the whole lattice on each of
every training image and on `n_sim` held-out images.

Metrics per learner: `train_correct` (of the training images, by full simulation),
`heldout_accuracy` (by full simulation on `n_sim` held-out images drawn at random,
the same images for both learners:
the main measure), `surrogate_heldout_accuracy` (by the surrogate on all held-out images),
`worst_margin` (min over training images of the right structure's score minus the
best other, in ln units), `model_evaluations` (one surrogate pass on one image = 1, a
gradient = 2), `train_wall_s` (compilation included), `surrogate_agreement`
(fraction of the `n_sim` simulated held-out images on which the simulation, majority
over `runs` repeats, picks the surrogate's class), `surrogate_agreement_train` (the
same on the training images).

A 2D toy case (`toy 2d`, learner `linear`): two features -> mu = W x + b of the
species of 3 structures on a 6 x 6 lattice, trained on three clusters of points;
records `train_accuracy` and writes `nucleation_classifier_phase_map.png`: the
surrogate class over the feature plane (the phase boundary is the decision boundary)
with the training points.

Run alone: `python -m benchmarks run --only nucleation_classifier [--quick | --smoke]`.
"""

from __future__ import annotations

import functools
import io
import time
from pathlib import Path

import equinox as eqx
import jax
import numpy as np

import molcomp
from analog import classifier as clf_mod

from ._harness import Case, Context, Measurement, write_atomic

NAME = "nucleation_classifier"
DESCRIPTION = "digits 0/1/2 -> concentrations -> which of 3 structures nucleates"
PLOTS = {"nucleation_classifier.png": "heldout_accuracy"}
PHASE_MAP = "nucleation_classifier_phase_map.png"
LEARNERS = {"gradient": "assignment", "hill_climb": "hill_climb"}
HILL_BUDGET = 8  # the climb's model evaluations / the gradient's
MARGIN = 2.0  # margin (ln units) of the large-margin cross-entropy of both learners
DIGITS = (0, 1, 2)
NOISE = 0.15
MAP = dict(amplitude=10.0, mu_base=-11.0)  # multiplier 1 + 10 x intensity
SIM = dict(epsilon=8.0, beta=(0.5, 1.2))

# image side, border of the lattice around the image, training images per digit,
# perturbed copies per training image, other images per digit (held-out), gradient
# steps (hill climbing gets twice as many proposals: the same number of model
# evaluations), held-out images simulated, sweeps per run, runs per image
SIZES = {
    "smoke": dict(
        px=8, border=0, per_class=1, variants=1, others=1, steps=10, n_sim=2, sweeps=20, runs=2
    ),
    "quick": dict(
        px=16,
        border=1,
        per_class=6,
        variants=4,
        others=30,
        steps=150,
        n_sim=24,
        sweeps=300,
        runs=16,
    ),  # fmt: skip
    "full": dict(
        px=30,
        border=0,
        per_class=6,
        variants=4,
        others=30,
        steps=300,
        n_sim=60,
        sweeps=600,
        runs=16,
    ),  # fmt: skip
}
TOY = {"smoke": dict(n=6, steps=150), "quick": dict(n=10, steps=300), "full": dict(n=20, steps=400)}

_predict = eqx.filter_jit(clf_mod.predict)


def resize(img: np.ndarray, px: int) -> np.ndarray:
    """Bilinear resize of a square image to px x px (pixel centres aligned), in [0, 1]."""
    n = img.shape[0]
    t = np.clip((np.arange(px) + 0.5) * n / px - 0.5, 0, n - 1)
    i0 = np.floor(t).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    w = t - i0
    rows = img[i0] * (1 - w)[:, None] + img[i1] * w[:, None]
    out = rows[:, i0] * (1 - w)[None, :] + rows[:, i1] * w[None, :]
    return np.clip(out, 0.0, 1.0)


def load(px: int, per_class: int, variants: int, others: int = 0, seed: int = 0):
    """(x_train, y_train, x_heldout, y_heldout) as flattened px^2 images in [0, 1].

    Held-out: `variants` perturbed copies of each training image, then `others`
    further images of each digit (the ones following the training images)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).reshape(-1, 8, 8)
    order = [np.flatnonzero(y == d) for d in DIGITS]
    idx = np.concatenate([o[:per_class] for o in order])
    xtr = np.stack([resize(img, px) for img in x[idx]])
    ytr = np.searchsorted(DIGITS, y[idx])
    rng = np.random.default_rng(seed)
    shift = max(1, round(px / 8))  # up to one original pixel
    held, yh = [], []
    for img, label in zip(xtr, ytr):
        for _ in range(variants):
            dr, dc = rng.integers(-shift, shift + 1, 2)
            moved = np.roll(img, (dr, dc), axis=(0, 1))
            held.append(np.clip(moved + rng.uniform(-NOISE, NOISE, img.shape), 0, 1))
            yh.append(label)
    for label, o in enumerate(order):
        for i in o[per_class : per_class + others]:
            held.append(resize(x[i], px))
            yh.append(label)
    flat = lambda a: np.asarray(a, np.float32).reshape(len(a), -1)  # noqa: E731
    return flat(xtr), ytr.astype(np.int32), flat(held), np.asarray(yh, np.int32)


def problem(s: dict, seed: int):
    """Data and the 3 structures: a (px + 2 border)^2 open lattice, N = its sites."""
    data = load(s["px"], s["per_class"], s["variants"], s["others"], seed)
    side = s["px"] + 2 * s["border"]
    lat = molcomp.lattice.square(side, periodic=False)
    structs = molcomp.structures.random(jax.random.key(seed), lat, side * side, len(DIGITS))
    return data, structs


def heldout_probe(n_heldout: int, n_sim: int, seed: int = 0) -> np.ndarray:
    """The held-out images the full simulation sees: n_sim drawn without replacement
    (spread over perturbed copies and other writers' digits), in order."""
    rng = np.random.default_rng(seed + 7)
    return np.sort(rng.choice(n_heldout, min(n_sim, n_heldout), replace=False))


def nucleation(s: dict):
    """The critical-nucleus estimate (window side k) at the simulation's parameters."""
    side = s["px"] + 2 * s["border"]
    mu_hi = MAP["mu_base"] + float(np.log1p(MAP["amplitude"]))  # the densest dosing
    return clf_mod.critical_window(
        mu_hi, epsilon=SIM["epsilon"], beta=SIM["beta"], sweeps=s["sweeps"], n_sites=side * side
    )


def _run(learner: str, s: dict, seed: int, ctx: Context) -> list[Measurement]:
    cache_key = (NAME, tuple(sorted(s.items())), seed)
    if cache_key not in ctx.cache:
        ctx.cache[cache_key] = problem(s, seed)
    (xtr, ytr, xh, yh), structs = ctx.cache[cache_key]
    method = LEARNERS[learner]
    steps, margin = _steps_margin(method, s)
    t0 = time.perf_counter()
    clf, hist = clf_mod.train(
        jax.random.key(seed + 1), structs, xtr, ytr, _trainer(method, steps), margin=margin,
        k=nucleation(s).k,
    )  # fmt: skip
    jax.block_until_ready(clf)
    secs = time.perf_counter() - t0
    held_sur = float(np.mean(np.asarray(_predict(clf, xh)) == yh))
    # full simulation of every training image and n_sim held-out ones
    i_h = heldout_probe(len(xh), s["n_sim"], seed)
    probe = np.concatenate([xtr, xh[i_h]])
    sim = clf_mod.simulate(
        jax.random.key(seed + 2), clf, probe, sweeps=s["sweeps"], repeats=s["runs"],
        mesh=ctx.mesh_for(len(probe)), **SIM,
    )  # fmt: skip
    n_tr = len(xtr)
    correct = int(np.sum(sim.classes[:n_tr] == ytr))
    held = float(np.mean(sim.classes[n_tr:] == yh[i_h]))
    agree = sim.classes == np.asarray(_predict(clf, probe))
    return [
        Measurement("train_correct", correct, "images", True),
        Measurement("heldout_accuracy", held, "fraction", True),
        Measurement("surrogate_heldout_accuracy", held_sur, "fraction", True),
        Measurement("worst_margin", hist.worst_margin, "ln units", True),
        Measurement("model_evaluations", hist.model_evaluations, "evaluations", False),
        Measurement("train_wall_s", secs, "s", False),
        Measurement("surrogate_agreement", float(np.mean(agree[n_tr:])), "fraction", True),
        Measurement("surrogate_agreement_train", float(np.mean(agree[:n_tr])), "fraction", True),
    ]


def _trainer(method: str, steps: int) -> clf_mod.AbstractTrainer:
    """The trainer object behind a rule of LEARNERS, with the MAP dosing."""
    if method == "hill_climb":
        return clf_mod.SwapHillClimb(steps=steps, **MAP)
    return clf_mod.SinkhornAssignment(steps=steps, **MAP)


def _steps_margin(method: str, s: dict) -> tuple[int, float]:
    """Optimizer steps / climb proposals and the loss margin of a learner."""
    if method == "hill_climb":
        return 2 * HILL_BUDGET * s["steps"], MARGIN
    return s["steps"], MARGIN


# ---- the 2D toy: a phase map --------------------------------------------------------

TOY_CENTRES = np.array([[0.2, 0.25], [0.8, 0.3], [0.45, 0.8]], np.float32)
TOY_SIDE = 6


def toy_problem(n: int, seed: int = 0):
    """(x, y, structures): n points per class around 3 centres in [0, 1]^2 (sd 0.07),
    and 3 random structures of 36 species on a 6 x 6 open lattice."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([c + 0.07 * rng.standard_normal((n, 2)) for c in TOY_CENTRES])
    y = np.repeat(np.arange(len(TOY_CENTRES)), n).astype(np.int32)
    lat = molcomp.lattice.square(TOY_SIDE, periodic=False)
    structs = molcomp.structures.random(
        jax.random.key(seed), lat, TOY_SIDE * TOY_SIDE, len(TOY_CENTRES)
    )
    return np.clip(x, 0, 1).astype(np.float32), y, structs


def fit_toy(n: int, steps: int, seed: int = 0):
    """Train a `LinearMap` classifier on the toy; returns (classifier, x, y, seconds)."""
    x, y, structs = toy_problem(n, seed)
    t0 = time.perf_counter()
    trainer = clf_mod.LinearMapDescent(steps=steps)
    clf, _ = clf_mod.train(jax.random.key(seed + 1), structs, x, y, trainer)
    jax.block_until_ready(clf)
    return clf, x, y, time.perf_counter() - t0


def phase_map(clf, grid: int = 121) -> np.ndarray:
    """Surrogate class over a grid x grid raster of [0, 1]^2 (rows: feature 2)."""
    g = np.linspace(0.0, 1.0, grid, dtype=np.float32)
    f1, f2 = np.meshgrid(g, g)
    pts = np.stack([f1.ravel(), f2.ravel()], axis=1)
    return np.asarray(_predict(clf, pts)).reshape(grid, grid)


def _run_toy(size: str, seed: int, ctx: Context) -> list[Measurement]:
    t = TOY[size]
    clf, x, y, secs = fit_toy(t["n"], t["steps"], seed)
    acc = float(np.mean(np.asarray(_predict(clf, x)) == y))
    if ctx.out is not None:
        plot_phase_map(clf, x, y, Path(ctx.out) / PHASE_MAP)
    return [
        Measurement("train_accuracy", acc, "fraction", True),
        Measurement("train_wall_s", secs, "s", False),
    ]


def plot_phase_map(clf, x, y, path: Path) -> None:
    """PNG of the learned phase map with the training points (written atomically)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    classes = phase_map(clf)
    colours = ["tab:blue", "tab:orange", "tab:green"]
    fig = Figure(figsize=(4.6, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(classes, origin="lower", extent=(0, 1, 0, 1), cmap=ListedColormap(colours),
              alpha=0.35, vmin=-0.5, vmax=2.5, interpolation="nearest")  # fmt: skip
    g = np.linspace(0, 1, classes.shape[0])
    ax.contour(g, g, classes, levels=[0.5, 1.5], colors="k", linewidths=1.0)
    for c, col in enumerate(colours):
        pts = x[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=18, color=col, edgecolors="k", label=f"class {c}")
    ax.set(xlabel="feature 1", ylabel="feature 2", xlim=(0, 1), ylim=(0, 1),
           title="which structure nucleates (surrogate)")  # fmt: skip
    ax.legend(loc="upper right", fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_atomic(path, buf.getvalue())


def cases(size: str) -> list[Case]:
    s = SIZES[size]
    seed = 0
    side = s["px"] + 2 * s["border"]
    n_train = len(DIGITS) * s["per_class"]
    est = nucleation(s)
    base = dict(
        model="nucleation_surrogate",
        N=side * side,
        m=len(DIGITS),
        L=side,
        dim=f"{s['px']}x{s['px']}",
        n_train=n_train,
        n_heldout=n_train * s["variants"] + len(DIGITS) * s["others"],
        n_heldout_other_writers=len(DIGITS) * s["others"],
        k=est.k,
        critical_nucleus_sites=est.n_star,
        beta_at_nucleation=round(est.beta, 3),
        sweeps=s["sweeps"],
        runs=s["runs"],
        n_simulated=n_train + s["n_sim"],
        readout="simulation (train_correct, heldout_accuracy), surrogate (the rest)",
        **{f"map_{k}": v for k, v in MAP.items()},
        epsilon=SIM["epsilon"],
        beta_ramp=f"{SIM['beta'][0]}-{SIM['beta'][1]}",
    )
    out = []
    for learner, method in LEARNERS.items():
        steps, margin = _steps_margin(method, s)
        params = dict(base, rule=method, steps=steps, loss_margin=margin)
        run = functools.partial(_run, learner, s, seed)
        out.append(
            Case(f"digits 0/1/2 {s['px']}x{s['px']}", learner, "physical", params, run, 1, seed)
        )
    t = TOY[size]
    toy = dict(model="nucleation_surrogate", N=TOY_SIDE**2, m=3, L=TOY_SIDE, dim="2",
               n_train=3 * t["n"], rule="linear", steps=t["steps"], k=clf_mod.WINDOW)  # fmt: skip
    out.append(
        Case("toy 2d", "linear", "physical", toy, functools.partial(_run_toy, size, seed), 1, seed)
    )
    return out
