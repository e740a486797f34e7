"""Training the input map of a nucleation classifier: `train(key, structures, x, y,
trainer)` with a trainer object (`SinkhornAssignment`, `LinearMapDescent`,
`SwapHillClimb`) that carries only its own settings.

The training loss of every trainer is the cross-entropy of the surrogate scores, with
an optional margin gamma (`margin`, `cross_entropy`): a classifier whose right
structure leads by only a little in the surrogate is not reliably the one that
nucleates in the mixture, so a margin target buys robustness to the simulation.

Model evaluations count surrogate passes on single images: a loss on b images costs b,
a gradient on b images costs 2 b (forward + backward).
"""

from __future__ import annotations

import dataclasses
import time

import jax.numpy as jnp
import numpy as np

from molcomp.checks import check_key, check_real
from molcomp.structures import Structures

from ._classifier import NucleationClassifier, batch_scores
from ._hill_climb import SwapHillClimb
from ._linear import LinearMapDescent
from ._maps import check_features
from ._sinkhorn import SinkhornAssignment
from ._surrogate import WINDOW, check_window, margins
from ._trainer import AbstractTrainer

TRAINERS = (SinkhornAssignment, LinearMapDescent, SwapHillClimb)


@dataclasses.dataclass(frozen=True)
class TrainingHistory:
    """What `train` did, per step: `loss` (training cross-entropy of the map being
    trained: soft for `SinkhornAssignment`), `evaluations` (cumulative model
    evaluations) and, at the end, `train_accuracy` and `worst_margin` of the returned
    (hard) classifier, `model_evaluations` (total, the final check included) and
    `seconds`."""

    loss: np.ndarray
    evaluations: np.ndarray
    train_accuracy: float
    worst_margin: float
    model_evaluations: int
    seconds: float


def _check_data(x, y, n_features: int, m: int):
    x = check_features(x, n_features)
    if x.ndim != 2:
        raise ValueError(f"x must be a batch of images, got shape {x.shape}")
    y = np.asarray(y)
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be ({x.shape[0]},) integer labels, got {y.shape} {y.dtype}")
    if y.min() < 0 or y.max() >= m:
        raise ValueError(
            f"y must hold classes in [0, {m}) (one per structure), got {y.min()}..{y.max()}"
        )
    return x, jnp.asarray(y, jnp.int32)


def check_trainer(trainer, name: str = "trainer") -> AbstractTrainer:
    """`trainer` if it is a trainer object, else a TypeError listing the trainers."""
    if not isinstance(trainer, AbstractTrainer):
        names = ", ".join(f"{cls.__name__}(...)" for cls in TRAINERS)
        raise TypeError(
            f"{name} must be a trainer object, one of {names} (analog.classifier), got "
            f"{type(trainer).__name__} {trainer!r}"
        )
    return trainer


def train(
    key,
    structures: Structures,
    x,
    y,
    trainer: AbstractTrainer,
    *,
    k: int = WINDOW,
    margin=0.0,
    n_features: int | None = None,
) -> tuple[NucleationClassifier, TrainingHistory]:
    """Train the input map of a nucleation classifier on labelled images.

    **Arguments:**

    - `key`: a `jax.random` key (initial logits / weights / assignment, proposals).
    - `structures`: the m stored structures; class alpha is structure alpha.
    - `x`: (b, F) or (b, h, w) intensities in [0, 1]; `y`: (b,) labels in [0, m).
    - `trainer`: `SinkhornAssignment(...)` (relaxed assignment, rounded),
      `LinearMapDescent(...)` (W, b) or `SwapHillClimb(...)` (swap moves), each with
      its own settings (steps, optimizer, ...).
    - `k`: window side of the surrogate.
    - `margin`: gamma >= 0 (ln units) of the large-margin cross-entropy.
    - `n_features`: F when `x` is given as (b, h, w) images (default: inferred).

    **Returns:** `(NucleationClassifier, TrainingHistory)`.

    **Example:**

    ```python
    trainer = analog.classifier.SinkhornAssignment(steps=200)
    clf, hist = analog.classifier.train(key, structs, x, y, trainer)
    analog.classifier.predict(clf, x)
    ```
    """
    check_key("key", key)
    trainer = check_trainer(trainer)
    if not isinstance(structures, Structures):
        raise TypeError(f"structures must be molcomp Structures, got {type(structures).__name__}")
    k = check_window(structures, k)
    xa = np.asarray(x)
    F = int(np.prod(xa.shape[1:])) if n_features is None else int(n_features)
    N = structures.n_species
    if F > N:
        raise ValueError(f"x has {F} features but the structures have only {N} species")
    x, y = _check_data(x, y, F, structures.m)
    margin = check_real("margin", margin, minimum=0)
    t0 = time.perf_counter()
    imap, loss, evals = trainer.train_map(key, structures, x, y, k=k, margin=margin)
    clf = NucleationClassifier(structures, imap, k)
    marg = np.asarray(margins(batch_scores(clf, x), y))
    seconds = time.perf_counter() - t0
    total = int(evals[-1]) + x.shape[0]  # + the final check of the returned classifier
    hist = TrainingHistory(
        np.asarray(loss), np.asarray(evals), float(np.mean(marg > 0)), float(marg.min()),
        total, seconds,
    )  # fmt: skip
    return clf, hist
