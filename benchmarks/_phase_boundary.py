"""The phase-boundary learner of `digits_classification` and its two other readouts.

One trained map mu = W x + b (`analog.classifier.LinearMap`) is read out three ways:

- **simulation** (the learner's answer): `analog.classifier.simulate` anneals the
  mixture the image doses; the class is the structure that assembles (majority over
  the runs).
- **surrogate**: `analog.classifier.predict`, the window nucleation score the map was
  trained on (which structure nucleates first, by a formula).
- **linear map**: the same W and b with the physics replaced by a fixed linear score
  per structure, then an argmax over structures: score_alpha(x) = sum_w r_alpha(w)
  S_alpha,w(mu(x)), with S_alpha,w the sum of mu over window w of structure alpha's
  layout and r_alpha(w) the surrogate's softmax weight of that window, averaged over
  the training images of class alpha (the surrogate's tangent plane at its own
  class). Every structure holds every species once, so a score that ignores the
  layout (e.g. the mean mu of its species) could not tell the structures apart.
"""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import molcomp
from analog import classifier

# lattice side (N = side^2 species), learning rate, L2 on W, mu at x = 0 (dosing range
# mu_base +- ln 11), loss margin (ln units)
PHASE_BOUNDARY = dict(side=10, lr=0.05, l2=1e-4, mu_base=-8.0, margin=4.0)
# The simulation readout's mixture and anneal, in the structure-specific regime of the
# dosing range mu in [-10.4, -5.6]: at the end beta epsilon = 5 kT is below -mu of
# every species (a single bond never pays, so no chimeric aggregate of all ten
# structures' fragments fills the lattice), yet two bonds pay for the densely dosed
# species (10 > 5.6) and not for the sparse ones (10 < 10.4).
PB_SIM = dict(epsilon=5.0, beta=(0.5, 1.0))
CLASSES = 10


def window(sweeps: int):
    """Critical-nucleus estimate at the densest dosing of the mixture."""
    return classifier.critical_window(
        PHASE_BOUNDARY["mu_base"] + float(np.log(11.0)), epsilon=PB_SIM["epsilon"],
        beta=PB_SIM["beta"], sweeps=sweeps, n_sites=PHASE_BOUNDARY["side"] ** 2,
    )  # fmt: skip


def fit(seed: int, steps: int, sweeps: int, xtr, ytr):
    """(classifier, training seconds): 10 random structures, a LinearMap trained by
    adam on the window surrogate with the critical-nucleus window."""
    side = PHASE_BOUNDARY["side"]
    k_struct, k_fit = jax.random.split(jax.random.key(seed))
    lat = molcomp.lattice.square(side, periodic=False)
    structs = molcomp.structures.random(k_struct, lat, side * side, CLASSES)
    mu0, spread = PHASE_BOUNDARY["mu_base"], float(np.log(11.0))
    t0 = time.perf_counter()
    trainer = classifier.LinearMapDescent(
        steps=steps, optimizer=optax.adam(PHASE_BOUNDARY["lr"]),
        l2=PHASE_BOUNDARY["l2"], mu_base=mu0, mu_range=(mu0 - spread, mu0 + spread),
    )  # fmt: skip
    clf, _ = classifier.train(
        k_fit, structs, xtr, ytr, trainer, k=window(sweeps).k, margin=PHASE_BOUNDARY["margin"]
    )
    jax.block_until_ready(clf)
    return clf, time.perf_counter() - t0


def map_parameters(clf) -> int:
    """Trainable numbers of the input map (W and b)."""
    return int(clf.input_map.weights.size + clf.input_map.bias.size)


@eqx.filter_jit
def _window_sums(clf, x):
    """(b, m, windows): sums of mu(x) over every k x k window of every structure."""
    s = clf.structures

    def one(xi):
        layouts = clf.mu(xi)[s.arrangements].reshape((-1,) + tuple(s.patch_shape))
        return jax.vmap(lambda lay: classifier.window_sums(lay, clf.k).ravel())(layouts)

    return jax.vmap(one)(x)


def linear_readout(clf, xtr, ytr) -> jax.Array:
    """(m, windows) weights r_alpha(w) of the linear-map readout (module docstring)."""
    resp = jax.nn.softmax(_window_sums(clf, jnp.asarray(xtr)), axis=-1)  # (b, m, w)
    ytr = np.asarray(ytr)
    rows = [jnp.mean(resp[ytr == a, a], axis=0) for a in range(CLASSES)]
    return jnp.stack(rows)


def linear_predict(clf, readout, x) -> np.ndarray:
    """Class = argmax over structures of the fixed linear score."""
    scores = jnp.sum(_window_sums(clf, jnp.asarray(x)) * readout[None], axis=-1)
    return np.asarray(jnp.argmax(scores, axis=-1))


def surrogate_predict(clf, x) -> np.ndarray:
    """Class = the structure with the largest window nucleation score."""
    return np.asarray(eqx.filter_jit(classifier.predict)(clf, x))


def simulate(key, clf, x, *, sweeps: int, runs: int, chunk: int, mesh=None):
    """Classes by full simulation of every image of `x`, in batches of `chunk` images
    (one compilation); returns (classes, seconds per image). The first batch compiles,
    so the per-image time is the median of the later batches (of the first one when it
    is the only one). `mesh`: spread each batch's images over its devices."""
    n = len(x)
    if n % chunk:
        raise ValueError(f"the {n} simulated images must fill batches of {chunk}")
    classes, times = [], []
    for i, start in enumerate(range(0, n, chunk)):
        t0 = time.perf_counter()
        sim = classifier.simulate(
            jax.random.fold_in(key, i), clf, x[start : start + chunk], sweeps=sweeps,
            repeats=runs, mesh=mesh, **PB_SIM,
        )  # fmt: skip
        times.append(time.perf_counter() - t0)
        classes.append(np.asarray(sim.classes))
    per_image = float(np.median(times[1:] if len(times) > 1 else times)) / chunk
    return np.concatenate(classes), per_image
