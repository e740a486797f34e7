"""Training an injective feature -> species assignment through its Sinkhorn relaxation.

Gradient descent (optax) on logits theta (F, N), padded to N x N and made doubly
stochastic by Sinkhorn iterations at an annealed temperature, P = Sinkhorn(theta / tau);
concentrations c = c_base (1 + a P^T x). At the end P is rounded greedily to an
injective assignment (`round_assignment`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float

from molcomp.checks import as_finite_float, check_key, check_positive_int, check_real

from ._maps import AssignmentMap
from ._surrogate import _scores, cross_entropy
from ._trainer import AbstractTrainer, check_optimizer, optax_loop


def sinkhorn(logits: Float[Array, "F N"], iterations: int = 30) -> Float[Array, "F N"]:
    """Soft assignment of F features to N >= F species: the first F rows of the
    Sinkhorn normalisation (log domain) of `logits` padded with N - F zero rows.

    Rows sum to 1 and columns to at most 1 (exactly 1 after convergence for the padded
    square matrix); as the logits sharpen, P tends to a partial permutation matrix.

    **Arguments:**

    - `logits`: (F, N) with F <= N.
    - `iterations`: row + column normalisations.

    **Returns:** (F, N) soft assignment.
    """
    iterations = check_positive_int("iterations", iterations)
    if jnp.ndim(logits) != 2:
        raise ValueError(f"logits must have shape (F, N), got {jnp.shape(logits)}")
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


class SinkhornAssignment(AbstractTrainer):
    """Train an `AssignmentMap` by its Sinkhorn relaxation (module docstring).

    **Arguments:**

    - `steps`: optimizer steps (default 200).
    - `optimizer`: optax transformation (default `optax.adam(0.1)`).
    - `amplitude`, `mu_base`: of the `AssignmentMap` trained.
    - `temperature`: (start, end) of the geometric Sinkhorn temperature schedule.
    - `iterations`: Sinkhorn iterations per step.

    A gradient on b images costs 2 b model evaluations.
    """

    steps: int = 200
    optimizer: optax.GradientTransformation | None = None
    amplitude: float = 20.0
    mu_base: float = -10.0
    temperature: tuple[float, float] = (1.0, 0.05)
    iterations: int = 30

    def __check_init__(self):
        check_positive_int("steps", self.steps)
        check_positive_int("iterations", self.iterations)
        check_optimizer(self.optimizer)
        check_real("amplitude", self.amplitude, minimum=0, strict=True)
        check_real("mu_base", self.mu_base)
        t = as_finite_float("temperature", self.temperature, (2,))
        if not np.all(t > 0):
            raise ValueError(f"temperature must be two positive numbers, got {self.temperature!r}")

    def train_map(self, key, structures, x, y, *, k, margin):
        """See `AbstractTrainer.train_map`; the map is an `AssignmentMap`."""
        check_key("key", key)
        F, N = x.shape[1], structures.n_species
        a, mu0, iterations = float(self.amplitude), float(self.mu_base), int(self.iterations)
        steps = int(self.steps)
        t_start, t_end = (float(t) for t in self.temperature)
        taus = jnp.asarray(np.geomspace(t_start, t_end, steps), jnp.float32)
        arr, shape = structures.arrangements, structures.patch_shape

        def loss_fn(theta, tau):
            mu = _soft_mu(theta, tau, x, a, mu0, iterations)
            sc = jax.vmap(lambda m: _scores(arr, shape, m, k))(mu)
            return cross_entropy(sc, y, margin)

        theta = 0.01 * jax.random.normal(key, (F, N))
        opt = optax.adam(0.1) if self.optimizer is None else self.optimizer
        theta, losses = optax_loop(loss_fn, theta, opt, taus)
        species = round_assignment(sinkhorn(theta / taus[-1], iterations))
        imap = AssignmentMap(species, N, amplitude=a, mu_base=mu0)
        return imap, losses, 2 * x.shape[0] * np.arange(1, steps + 1)
