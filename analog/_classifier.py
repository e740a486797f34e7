"""Phase-boundary classifiers: a mixture storing m structures classifies an input by
which structure nucleates first; the input sets the species' concentrations.

`NucleationClassifier` = structures + an input map (`AssignmentMap` or `LinearMap`);
its class scores are the window nucleation surrogate (`window_scores`). `fit` trains
the map, `predict` classifies with the surrogate, and `analog.classifier.simulate`
classifies by running the mixture itself.

Training methods (`fit(key, structures, x, y, method=...)`):

- `"assignment"`: gradient descent (optax) on a relaxed assignment: logits theta
  (F, N), padded to N x N and made doubly stochastic by Sinkhorn iterations at an
  annealed temperature, P = Sinkhorn(theta / tau); concentrations c = c_base (1 + a
  P^T x). At the end P is rounded greedily to an injective assignment.
- `"linear"`: gradient descent on W, b of mu = W x + b (with an L2 penalty on W).
- `"hill_climb"`: the swap baseline: propose moving a feature to another species
  (swapping with the feature there, if any), keep the move unless the training loss
  rises. Features are proposed in proportion to their mean training intensity (plus
  a floor): moving a pixel that is dark in every training image changes no score.

The training loss of every method is the cross-entropy of the surrogate scores, with
an optional margin gamma (`margin`, `cross_entropy`): a classifier whose right
structure leads by only a little in the surrogate is not reliably the one that
nucleates in the mixture, so a margin target buys robustness to the simulation.

Model evaluations count surrogate passes on single images: a loss on b images costs b,
a gradient on b images costs 2 b (forward + backward).
"""

from __future__ import annotations

import dataclasses
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, Int

from molcomp.checks import as_finite_float
from molcomp.structures import Structures

from ._classifier_hill_climb import _hill_climb
from ._classifier_maps import AssignmentMap, LinearMap, check_features
from ._classifier_surrogate import WINDOW, _scores, check_window, cross_entropy, margins

METHODS = ("assignment", "linear", "hill_climb")


class NucleationClassifier(eqx.Module):
    """Structures whose nucleation race classifies the input: class alpha = structure
    alpha.

    **Arguments:**

    - `structures`: `molcomp.structures.Structures` on a rectangular patch.
    - `input_map`: `AssignmentMap` or `LinearMap` (features -> mu of the N species).
    - `k`: nucleation window side of the surrogate (default 5).

    `classifier.scores(x)` gives the surrogate class scores of one image, (m,).
    """

    structures: Structures
    input_map: AssignmentMap | LinearMap
    k: int = eqx.field(static=True, default=WINDOW)

    def __check_init__(self):
        check_window(self.structures, self.k)
        if not isinstance(self.input_map, AssignmentMap | LinearMap):
            raise TypeError(
                f"input_map must be an AssignmentMap or LinearMap, got "
                f"{type(self.input_map).__name__}"
            )
        if self.input_map.n_species != self.structures.n_species:
            raise ValueError(
                f"input_map drives {self.input_map.n_species} species but the structures "
                f"have {self.structures.n_species}"
            )

    @property
    def n_features(self) -> int:
        return self.input_map.n_features

    def mu(self, x: Float[Array, " F"]) -> Float[Array, " N"]:
        """Chemical potentials of the species for one image."""
        return self.input_map(x)

    def scores(self, x: Float[Array, " F"]) -> Float[Array, " m"]:
        """Surrogate class scores (log nucleation rates, up to a constant) of one image."""
        s = self.structures
        return _scores(s.arrangements, s.patch_shape, self.mu(x), self.k)


def batch_scores(classifier: NucleationClassifier, x) -> Float[Array, "b m"]:
    """Surrogate scores of a batch of images (b, F) or (b, h, w)."""
    x = check_features(x, classifier.n_features)
    return jax.vmap(classifier.scores)(jnp.atleast_2d(x))


def predict(classifier: NucleationClassifier, x) -> Int[Array, " b"]:
    """Surrogate class (argmax of the nucleation scores) of each image of a batch."""
    return jnp.argmax(batch_scores(classifier, x), axis=-1)


# ---- relaxed assignment -------------------------------------------------------------


def sinkhorn(logits: Float[Array, "F N"], iterations: int = 30) -> Float[Array, "F N"]:
    """Soft assignment of F features to N >= F species: the first F rows of the
    Sinkhorn normalisation (log domain) of `logits` padded with N - F zero rows.

    Rows sum to 1 and columns to at most 1 (exactly 1 after convergence for the padded
    square matrix); as the logits sharpen, P tends to a partial permutation matrix.
    """
    F, N = logits.shape
    if F > N:
        raise ValueError(f"logits must have F <= N (features <= species), got {logits.shape}")
    log_p = jnp.concatenate([logits, jnp.zeros((N - F, N), logits.dtype)], axis=0)

    def body(_, lp):
        lp = lp - jax.nn.logsumexp(lp, axis=1, keepdims=True)
        return lp - jax.nn.logsumexp(lp, axis=0, keepdims=True)

    log_p = jax.lax.fori_loop(0, iterations, body, log_p)
    return jnp.exp(log_p[:F])


def round_assignment(soft) -> np.ndarray:
    """Greedy rounding of a soft assignment (F, N) to an injective one: (F,) species.

    Entries are taken in decreasing order whenever their feature and species are both
    still free; the result is a partial permutation (distinct species, one per feature)
    and equals the argmax of every row when those are already distinct.
    """
    p = np.asarray(soft, np.float64)
    if p.ndim != 2 or p.shape[0] > p.shape[1]:
        raise ValueError(f"soft must have shape (F, N) with F <= N, got {p.shape}")
    F, N = p.shape
    out = np.full(F, -1, np.int64)
    taken = np.zeros(N, bool)
    for flat in np.argsort(-p, axis=None, kind="stable"):
        f, s = divmod(int(flat), N)
        if out[f] < 0 and not taken[s]:
            out[f], taken[s] = s, True
            if np.all(out >= 0):
                break
    return out.astype(np.int32)


def _soft_mu(logits, tau, x, amplitude, mu_base, iterations):
    p = sinkhorn(logits / tau, iterations)  # (F, N)
    return mu_base + jnp.log1p(amplitude * (x @ p))  # (b, N)


# ---- training -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class History:
    """What `fit` did, per step: `loss` (training cross-entropy of the map being
    trained: soft for "assignment"), `evaluations` (cumulative model evaluations) and,
    at the end, `train_accuracy` and `worst_margin` of the returned (hard) classifier,
    `model_evaluations` (total, the final check included) and `seconds`."""

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


def _steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return int(steps)


def fit(
    key,
    structures: Structures,
    x,
    y,
    *,
    method: str = "assignment",
    steps: int = 200,
    optimizer: optax.GradientTransformation | None = None,
    amplitude=20.0,
    mu_base=-10.0,
    k: int = WINDOW,
    temperature: tuple[float, float] = (1.0, 0.05),
    sinkhorn_iterations: int = 30,
    l2: float = 1e-3,
    margin=0.0,
    mu_range: tuple[float, float] | None = None,
    n_features: int | None = None,
) -> tuple[NucleationClassifier, History]:
    """Train the input map of a nucleation classifier on labelled images.

    **Arguments:**

    - `key`: a `jax.random` key (initial logits / weights / assignment, proposals).
    - `structures`: the m stored structures; class alpha is structure alpha.
    - `x`: (b, F) or (b, h, w) intensities in [0, 1]; `y`: (b,) labels in [0, m).
    - `method`: "assignment" (Sinkhorn relaxation, rounded), "linear" (W, b) or
      "hill_climb" (swap moves); see the module docstring.
    - `steps`: optimizer steps, or proposals for "hill_climb".
    - `optimizer`: optax transformation (default adam(0.1) for "assignment",
      adam(0.05) for "linear").
    - `amplitude`, `mu_base`: of the `AssignmentMap` (and the initial bias of "linear").
    - `k`: window side of the surrogate.
    - `temperature`: (start, end) of the geometric Sinkhorn temperature schedule.
    - `sinkhorn_iterations`: per step; `l2`: penalty on W ("linear").
    - `margin`: gamma >= 0 (ln units) of the large-margin cross-entropy.
    - `mu_range`: (lo, hi) for "linear": a quadratic penalty on every training mu
      outside [lo, hi] keeps the dosing in the regime the surrogate's window size was
      chosen for (default: no penalty).
    - `n_features`: F when `x` is given as (b, h, w) images (default: inferred).

    **Returns:** `(NucleationClassifier, History)`.

    **Example:**

    ```python
    clf, hist = analog.classifier.fit(key, structs, x, y, steps=200)
    analog.classifier.predict(clf, x)
    ```
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(structures, Structures):
        raise TypeError(f"structures must be molcomp Structures, got {type(structures).__name__}")
    k = check_window(structures, k)
    steps = _steps(steps)
    xa = np.asarray(x)
    F = int(np.prod(xa.shape[1:])) if n_features is None else int(n_features)
    N = structures.n_species
    if F > N:
        raise ValueError(f"x has {F} features but the structures have only {N} species")
    x, y = _check_data(x, y, F, structures.m)
    margin = float(as_finite_float("margin", margin, ()))
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if mu_range is not None:
        lo, hi = (float(v) for v in as_finite_float("mu_range", mu_range, (2,)))
        if not lo < hi:
            raise ValueError(f"mu_range must be (lo, hi) with lo < hi, got {mu_range!r}")
        mu_range = (lo, hi)
    base = AssignmentMap(np.arange(F), N, amplitude=amplitude, mu_base=mu_base)
    t0 = time.perf_counter()
    if method == "assignment":
        imap, loss, evals = _fit_assignment(
            key, structures, base, x, y, steps, optimizer or optax.adam(0.1), k,
            temperature, sinkhorn_iterations, margin,
        )  # fmt: skip
    elif method == "linear":
        imap, loss, evals = _fit_linear(
            key, structures, base, x, y, steps, optimizer or optax.adam(0.05), k, l2, margin,
            mu_range,
        )  # fmt: skip
    else:
        imap, loss, evals = _hill_climb(key, structures, base, x, y, steps, k, margin)
    clf = NucleationClassifier(structures, imap, k)
    sc = batch_scores(clf, x)
    marg = np.asarray(margins(sc, y))
    seconds = time.perf_counter() - t0
    total = int(evals[-1]) + x.shape[0]  # + the final check of the returned classifier
    hist = History(
        np.asarray(loss), np.asarray(evals), float(np.mean(marg > 0)), float(marg.min()),
        total, seconds,
    )  # fmt: skip
    return clf, hist


def _fit_assignment(key, structs, base, x, y, steps, opt, k, temperature, iterations, margin):
    F, N = base.n_features, base.n_species
    a, mu0 = base.amplitude, base.mu_base
    t_start, t_end = (float(t) for t in temperature)
    if not (t_start > 0 and t_end > 0):
        raise ValueError(f"temperature must be two positive numbers, got {temperature!r}")
    taus = jnp.asarray(np.geomspace(t_start, t_end, steps), jnp.float32)
    arr, shape = structs.arrangements, structs.patch_shape

    def loss_fn(theta, tau):
        mu = _soft_mu(theta, tau, x, a, mu0, iterations)
        sc = jax.vmap(lambda m: _scores(arr, shape, m, k))(mu)
        return cross_entropy(sc, y, margin)

    theta = 0.01 * jax.random.normal(key, (F, N))
    theta, losses = _optax_loop(loss_fn, theta, opt, taus)
    soft = sinkhorn(theta / taus[-1], iterations)
    species = round_assignment(soft)
    imap = AssignmentMap(species, N, amplitude=a, mu_base=mu0)
    return imap, losses, 2 * x.shape[0] * np.arange(1, steps + 1)


def _fit_linear(key, structs, base, x, y, steps, opt, k, l2, margin, mu_range):
    N, F = base.n_species, base.n_features
    arr, shape = structs.arrangements, structs.patch_shape

    def loss_fn(params, _):
        w, b = params
        mu = x @ w.T + b  # (b, N)
        sc = jax.vmap(lambda m: _scores(arr, shape, m, k))(mu)
        loss = cross_entropy(sc, y, margin) + l2 * jnp.sum(w**2)
        if mu_range is not None:
            out = jax.nn.relu(mu_range[0] - mu) + jax.nn.relu(mu - mu_range[1])
            loss = loss + jnp.mean(jnp.sum(out**2, axis=1))
        return loss

    w0 = 0.01 * jax.random.normal(key, (N, F))
    params = (w0, jnp.full(N, base.mu_base))
    (w, b), losses = _optax_loop(loss_fn, params, opt, jnp.zeros(steps))
    return LinearMap(w, b), losses, 2 * x.shape[0] * np.arange(1, steps + 1)


@eqx.filter_jit
def _optax_run(loss_fn, params, opt, schedule):
    state = opt.init(params)

    def body(carry, s):
        p, st = carry
        loss, g = jax.value_and_grad(loss_fn)(p, s)
        updates, st = opt.update(g, st, p)
        return (optax.apply_updates(p, updates), st), loss

    (params, _), losses = jax.lax.scan(body, (params, state), schedule)
    return params, losses


def _optax_loop(loss_fn, params, opt, schedule):
    params, losses = _optax_run(loss_fn, params, opt, schedule)
    if not np.all(np.isfinite(np.asarray(losses))):
        raise FloatingPointError("training loss became non-finite")
    return params, losses
