"""Nucleation classifier: a mixture of N species storing 3 structures (random
permutations of the same N species on an open square lattice) classifies images by
which structure nucleates (Evans et al., Nature 2024). Images: scikit-learn's bundled
8x8 digits 0, 1 and 2 (no downloads), upscaled by pixel repetition; `per_class`
training images of each digit; held-out images are perturbed variants of them (each
pixel moved by uniform noise of +-0.15 and the image shifted by up to one pixel).

Learners (kind `physical`), trained on the window nucleation surrogate (k = 5) with
the same budget of model evaluations (`analog.classifier.fit`):

- `gradient`: Sinkhorn-relaxed assignment of pixels to species, adam, rounded greedily.
- `hill_climb`: swap moves on a hard assignment, kept unless the loss rises.

Metrics per learner: `train_correct` (training images classified right by the
surrogate), `heldout_accuracy`, `worst_margin` (min over training images of the
right structure's score minus the best other, in ln units), `model_evaluations` (one
surrogate pass on one image = 1, a gradient = 2), `train_wall_s` (compilation
included), `surrogate_agreement` (fraction of a few training and held-out images on
which the full simulation, `analog.classifier.simulate`, picks the surrogate's class).
Run alone: `python -m benchmarks.nucleation_classifier [--quick | --smoke]`.
"""

from __future__ import annotations

import argparse
import functools
import time

import jax
import numpy as np

import molcomp
from analog import classifier as clf_mod

from ._harness import Case, Context, Measurement

NAME = "nucleation_classifier"
DESCRIPTION = "digits 0/1/2 -> concentrations -> which of 3 structures nucleates"
PLOTS = {"nucleation_classifier.png": "heldout_accuracy"}
LEARNERS = {"gradient": "assignment", "hill_climb": "hill_climb"}
DIGITS = (0, 1, 2)
NOISE, SHIFT = 0.15, 1
MAP = dict(amplitude=20.0, mu_base=-10.0)
SIM = dict(epsilon=8.0, beta=(0.5, 1.2))

# upscale factor, border of the patch around the image, training images per digit,
# held-out variants per training image, gradient steps (hill climbing gets twice as
# many proposals: the same number of model evaluations), images simulated, sweeps, runs
SIZES = {
    "smoke": dict(up=1, border=1, per_class=2, variants=2, steps=20, n_sim=2, sweeps=60, runs=2),
    "quick": dict(up=2, border=1, per_class=6, variants=4, steps=150, n_sim=6, sweeps=300, runs=8),
    "full": dict(
        up=3, border=1, per_class=6, variants=10, steps=400, n_sim=18, sweeps=800, runs=16
    ),
}


def load(up: int, per_class: int, variants: int, seed: int = 0):
    """(x_train, y_train, x_heldout, y_heldout) as flattened (8 up)^2 images in [0, 1]."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).reshape(-1, 8, 8)
    idx = np.concatenate([np.flatnonzero(y == d)[:per_class] for d in DIGITS])
    xtr = np.stack([np.kron(img, np.ones((up, up))) for img in x[idx]])
    ytr = np.searchsorted(DIGITS, y[idx])
    rng = np.random.default_rng(seed)
    held, yh = [], []
    for img, label in zip(xtr, ytr):
        for _ in range(variants):
            dr, dc = rng.integers(-SHIFT, SHIFT + 1, 2)
            moved = np.roll(img, (dr, dc), axis=(0, 1))
            moved = np.clip(moved + rng.uniform(-NOISE, NOISE, img.shape), 0, 1)
            held.append(moved)
            yh.append(label)
    flat = lambda a: np.asarray(a, np.float32).reshape(len(a), -1)  # noqa: E731
    return flat(xtr), ytr.astype(np.int32), flat(held), np.asarray(yh, np.int32)


def problem(s: dict, seed: int):
    """Data and the 3 structures: a (8 up + 2 border)^2 open lattice, N = its sites."""
    data = load(s["up"], s["per_class"], s["variants"], seed)
    side = 8 * s["up"] + 2 * s["border"]
    lat = molcomp.lattice.square(side, periodic=False)
    structs = molcomp.structures.random(jax.random.key(seed), lat, side * side, len(DIGITS))
    return data, structs


def _run(learner: str, s: dict, seed: int, ctx: Context) -> list[Measurement]:
    cache_key = (NAME, tuple(sorted(s.items())), seed)
    if cache_key not in ctx.cache:
        ctx.cache[cache_key] = problem(s, seed)
    (xtr, ytr, xh, yh), structs = ctx.cache[cache_key]
    method = LEARNERS[learner]
    steps = s["steps"] * (2 if method == "hill_climb" else 1)
    t0 = time.perf_counter()
    clf, hist = clf_mod.fit(
        jax.random.key(seed + 1), structs, xtr, ytr, method=method, steps=steps, **MAP
    )
    jax.block_until_ready(clf)
    secs = time.perf_counter() - t0
    correct = int(np.sum(np.asarray(clf_mod.predict(clf, xtr)) == ytr))
    held = float(np.mean(np.asarray(clf_mod.predict(clf, xh)) == yh))
    n = s["n_sim"]
    probe = np.concatenate([xtr[: (n + 1) // 2], xh[: n // 2]])  # train and held-out
    sim = clf_mod.simulate(
        jax.random.key(seed + 2), clf, probe, sweeps=s["sweeps"], repeats=s["runs"], **SIM
    )
    agree = float(np.mean(sim.classes == np.asarray(clf_mod.predict(clf, probe))))
    return [
        Measurement("train_correct", correct, "images", True),
        Measurement("heldout_accuracy", held, "fraction", True),
        Measurement("worst_margin", hist.worst_margin, "ln units", True),
        Measurement("model_evaluations", hist.model_evaluations, "evaluations", False),
        Measurement("train_wall_s", secs, "s", False),
        Measurement("surrogate_agreement", agree, "fraction", True),
    ]


def cases(size: str) -> list[Case]:
    s = SIZES[size]
    seed = 0
    side = 8 * s["up"] + 2 * s["border"]
    base = dict(
        model="nucleation_surrogate",
        N=side * side,
        m=len(DIGITS),
        L=side,
        dim=f"{8 * s['up']}x{8 * s['up']}",
        n_train=len(DIGITS) * s["per_class"],
        n_heldout=len(DIGITS) * s["per_class"] * s["variants"],
        k=clf_mod.WINDOW,
        sweeps=s["sweeps"],
        runs=s["runs"],
        n_simulated=s["n_sim"],
        **{f"map_{k}": v for k, v in MAP.items()},
        epsilon=SIM["epsilon"],
        beta_ramp=f"{SIM['beta'][0]}-{SIM['beta'][1]}",
    )
    out = []
    for learner, method in LEARNERS.items():
        steps = s["steps"] * (2 if method == "hill_climb" else 1)
        params = dict(base, rule=method, steps=steps)
        run = functools.partial(_run, learner, s, seed)
        out.append(Case(f"digits 0/1/2 x{s['up']}", learner, "physical", params, run, 1, seed))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nucleation_classifier")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    ctx = Context()
    for case in cases("smoke" if args.smoke else "quick" if args.quick else "full"):
        shown = ", ".join(f"{m.metric} {m.value:.3g}" for m in case.run(ctx))
        print(f"{case.learner}: {shown}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
