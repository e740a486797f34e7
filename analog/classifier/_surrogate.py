"""The window nucleation surrogate of Evans et al. (Nature 625, 500; 2024).

A structure nucleates where a critical nucleus of its species can form; the rate of
forming a k x k nucleus at window w grows like the product of its species'
concentrations, so the structure's nucleation score is

$$s_\\alpha(\\mu) = \\log \\sum_{w} \\exp\\Big(\\sum_{x \\in w} \\mu_{\\sigma_\\alpha(x)}\\Big),
  \\qquad \\mu = \\ln(c / c_0),$$

a log-sum-exp over the k x k windows w of the structure's layout sigma_alpha (k = 5
for Evans et al.'s tiles; `critical_window` gives the side of the critical nucleus of a
simulated mixture, the k at which the surrogate predicts that simulation).
Class scores are the structure scores: the predicted class is the structure that
nucleates first. Everything is differentiable in mu (training) and vmaps over images.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from molcomp.checks import check_positive_int, check_real, is_concrete
from molcomp.structures import Structures

WINDOW = 5  # Evans et al.: 5 x 5 windows


def check_window(structs: Structures, k: int) -> int:
    """Validate the window side `k` against the structures' rectangular patch.

    **Returns:** `k` as an int (ValueError / TypeError naming the bad argument).
    """
    if not isinstance(structs, Structures):
        raise TypeError(f"structures must be molcomp Structures, got {type(structs).__name__}")
    if structs.patch_shape is None or len(structs.patch_shape) != 2:
        raise ValueError("structures need a rectangular patch of a square lattice (patch_shape)")
    k = check_positive_int("k", k)
    h, w = structs.patch_shape
    if k > min(h, w):
        raise ValueError(f"k = {k} does not fit the {h} x {w} patch")
    return k


def window_sums(layout: Float[Array, "h w"], k: int) -> Float[Array, "h-k+1 w-k+1"]:
    """Sum of `layout` over every k x k window (integral image; differentiable)."""
    s = jnp.pad(jnp.cumsum(jnp.cumsum(layout, axis=0), axis=1), ((1, 0), (1, 0)))
    return s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]


def window_scores(structs: Structures, mu: Float[Array, " N"], k: int = WINDOW):
    """Per-structure nucleation scores s_alpha(mu) (the module docstring): (m,).

    **Arguments:**

    - `structs`: `Structures` on a rectangular patch (`patch_shape`).
    - `mu`: (N,) chemical potentials ln(c / c0) of the species.
    - `k`: window side (default 5).

    **Returns:** (m,) log-sum-exp of the window sums of mu over each structure's layout.
    """
    k = check_window(structs, k)
    mu = jnp.asarray(mu)
    if mu.shape != (structs.n_species,):
        raise ValueError(f"mu must have shape ({structs.n_species},), got {mu.shape}")
    return _scores(structs.arrangements, structs.patch_shape, mu, k)


def _scores(arrangements: Int[Array, "m p"], shape, mu, k: int) -> Float[Array, " m"]:
    layouts = mu[arrangements].reshape((-1,) + tuple(shape))
    sums = jax.vmap(window_sums, (0, None))(layouts, k)
    return jax.nn.logsumexp(sums.reshape(sums.shape[0], -1), axis=1)


def cross_entropy(
    scores: Float[Array, "b m"], labels: Int[Array, " b"], margin=0.0
) -> Float[Array, ""]:
    """Mean softmax cross-entropy of class scores against integer labels.

    With `margin` gamma > 0 every wrong class's score is raised by gamma first (a
    large-margin cross-entropy): the loss keeps falling until the right structure
    leads the others by well over gamma ln units, not merely until it wins.
    """
    if is_concrete(margin):
        check_real("margin", margin, minimum=0.0)
    wrong = 1.0 - jax.nn.one_hot(labels, scores.shape[-1], dtype=scores.dtype)
    logp = jax.nn.log_softmax(scores + margin * wrong, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


def margins(scores: Float[Array, "b m"], labels: Int[Array, " b"]) -> Float[Array, " b"]:
    """s_label - max_{other} s: > 0 where the right structure wins (in units of ln)."""
    right = jnp.take_along_axis(scores, labels[:, None], axis=-1)[:, 0]
    others = jnp.where(jax.nn.one_hot(labels, scores.shape[-1], dtype=bool), -jnp.inf, scores)
    return right - jnp.max(others, axis=-1)
