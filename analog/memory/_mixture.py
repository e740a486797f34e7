"""Associative recall in a multifarious mixture: store structures, cue, retrieve.

`MixtureMemory` implements the recall protocol of `learning.memory` for a Potts mixture
whose couplings store `Structures` (e.g. `learning.hebbian.clipped_or`). A recall runs
the mixture's kinetics (`molcomp.Metropolis` sweeps or `molcomp.Gillespie` physical
time, on the common clock: `steps` sweeps = `steps / rate` time units) from a cue: a
k x k seed of one structure (`seed`), an enriched concentration pattern (`enrich`), or
both.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

import learning
import molcomp
from molcomp import structures as st
from molcomp.checks import (
    as_finite_float,
    check_fraction,
    check_key,
    check_nonnegative_int,
    check_positive_int,
    is_concrete,
)

from ._kinetics import check_kinetics, run_kinetics

SUCCESS = 0.05  # retrieval succeeds when the error is below this (Osat and Golestanian)


class MixtureMemory(learning.memory.AbstractMemory):
    """A Potts mixture storing `structures`, recalled by `sampler`.

    **Arguments:**

    - `model`: a `molcomp.PottsModel` with an empty state whose species are the
      structures' species.
    - `sampler`: `molcomp.Metropolis(...)` or `molcomp.Gillespie(...)`.
    - `structures`: the stored `molcomp.structures.Structures`.
    - `max_events`: with Gillespie, the most events one recall may make.

    `patterns` (m, n) holds each structure on the lattice, every other site empty.
    """

    model: molcomp.PottsModel
    sampler: molcomp.AbstractSampler
    structures: st.Structures
    patterns: Int[Array, "m n"]
    max_events: int = eqx.field(static=True, default=200_000)

    def __init__(self, model, sampler, structures, *, max_events: int = 200_000):
        if not isinstance(model, molcomp.PottsModel) or not model.empty:
            raise TypeError("model must be a molcomp.PottsModel with empty=True")
        if not isinstance(structures, st.Structures):
            raise TypeError(f"structures must be Structures, got {type(structures).__name__}")
        if structures.n_species != model.q or structures.lattice.n_sites != model.lattice.n_sites:
            raise ValueError(
                f"structures ({structures.n_species} species on {structures.lattice.n_sites} "
                f"sites) do not match the model ({model.q} on {model.lattice.n_sites})"
            )
        check_kinetics(sampler)
        self.model, self.sampler, self.structures = model, sampler, structures
        self.patterns = jnp.stack([structures.configuration(a) for a in range(structures.m)])
        self.max_events = check_positive_int("max_events", max_events)

    def recall(self, key, cue, steps: int = 100):
        """Run the kinetics from `cue` for `steps` sweeps (Metropolis) or `steps / rate`
        of physical time (Gillespie); returns the final configuration."""
        check_key("key", key)
        steps = check_positive_int("steps", steps)
        return run_kinetics(key, self.model, self.sampler, cue, steps, self.max_events)[0]

    def overlaps(self, state) -> Float[Array, " m"]:
        """Bond overlap with every stored structure (1: all its bonds formed)."""
        return st.bond_overlaps(self.structures, state)

    def corrupt(self, key, pattern, fraction: float):
        """`pattern` with each occupied site emptied with probability `fraction`."""
        check_key("key", key)
        if is_concrete(fraction):
            fraction = check_fraction("fraction", fraction)
        drop = jax.random.bernoulli(key, fraction, pattern.shape)
        return jnp.where(drop, self.model.empty_state, pattern).astype(pattern.dtype)


def seed(structs: st.Structures, alpha: int, k: int) -> Int[Array, " n"]:
    """A cue: the central k x k block of structure `alpha` at its stored place, every
    other site empty. Needs a rectangular patch (`structs.patch_shape`).

    **Arguments:**

    - `structs`: the stored `Structures`.
    - `alpha`: which structure, in [0, m).
    - `k`: side of the block, in [1, min(patch height, width)].

    **Returns:** (n,) configuration.
    """
    if not isinstance(structs, st.Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    if structs.patch_shape is None:
        raise ValueError("seed needs structures on a rectangular patch of a square lattice")
    alpha = check_nonnegative_int("alpha", alpha)
    if alpha >= structs.m:
        raise ValueError(f"alpha must be in [0, {structs.m}), got {alpha}")
    k = check_positive_int("k", k)
    h, w = structs.patch_shape
    if not 1 <= k <= min(h, w):
        raise ValueError(f"k must be in [1, {min(h, w)}] for a {h} x {w} patch, got {k}")
    r0, c0 = (h - k) // 2, (w - k) // 2
    rows, cols = np.meshgrid(np.arange(r0, r0 + k), np.arange(c0, c0 + k), indexing="ij")
    idx = (rows * w + cols).ravel()
    config = jnp.full(structs.lattice.n_sites, structs.n_species, jnp.int32)
    return config.at[structs.sites[idx]].set(structs.arrangements[alpha, idx])


def enrich(model: molcomp.PottsModel, structs: st.Structures, alpha: int, k: int, delta):
    """The model with mu raised by `delta` (kT) for the species of the central k x k
    block of structure `alpha`: an enriched concentration pattern as a cue.

    **Returns:** a `molcomp.PottsModel` (the same lattice, couplings and beta).
    """
    if not isinstance(model, molcomp.PottsModel) or not model.empty:
        raise TypeError(
            f"model must be a molcomp.PottsModel with empty=True, got {type(model).__name__}"
        )
    if is_concrete(delta):
        as_finite_float("delta", delta, ())
    block = seed(structs, alpha, k)
    hot = jnp.zeros(model.q + 1, bool).at[block].set(True)[: model.q]
    mu = model.mu + jnp.where(hot, jnp.asarray(delta, jnp.float32), 0.0)
    return molcomp.PottsModel(model.lattice, model.couplings, mu, model.beta, empty=True)
