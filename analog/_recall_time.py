"""How long a recall takes: the first time on the common clock at which each run holds
its structure with error < 0.05, read between segments of one continued chain."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import molcomp
from molcomp import structures as st

from ._memory import SUCCESS, continue_kinetics


@eqx.filter_jit
def _segment(keys, model, sampler, states, steps, max_events):
    """Continue every run (vmapped) by one segment; the tables are built once per call,
    outside the vmap, since all runs share the model."""
    prepared = sampler.prepare(model)

    def one(key, state):
        return continue_kinetics(key, model, sampler, state, steps, max_events, prepared)

    return jax.vmap(one)(keys, states)


@eqx.filter_jit
def _errors(structs, configs, alphas):
    ov = jax.vmap(st.bond_overlaps, (None, 0))(structs, configs)
    best = ov.max(axis=1)
    right = ov.argmax(axis=1) == alphas
    return jnp.where(right, 1.0 - best, 1.0)


def recall_times(
    key, structs: st.Structures, model, sampler, cues, alphas, segment, segments: int,
    max_events: int = 2**31 - 1,
) -> np.ndarray:  # fmt: skip
    """First-passage time of retrieval for a batch of recalls.

    Every run starts from its cue and is continued in `segments` segments of `segment`
    sweeps (Metropolis: a Python int) or `segment / rate` of physical time (Gillespie);
    after each the bond overlaps are read. A Gillespie chain continued segment by
    segment is the same process as one run (memoryless clock), so the times resolve
    the kinetics to one segment without changing them.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `structs`: the stored `Structures`; `model`: the mixture (shared by every run).
    - `sampler`: `molcomp.Metropolis` or `molcomp.Gillespie`.
    - `cues`: (runs, n) start configurations; `alphas`: (runs,) the structure each run
      should retrieve.
    - `segment`, `segments`: the resolution and the number of readouts (the budget is
      their product).
    - `max_events`: Gillespie's event cap per segment.

    **Returns:** (runs,) numpy array: the end of the first segment after which run r held
    structure `alphas[r]` with error < 0.05, on the common clock (attempts per site:
    sweeps, or rate x physical time); `inf` for runs that never did within the budget.
    """
    cues = jnp.atleast_2d(jnp.asarray(cues))
    alphas = np.asarray(alphas)
    if alphas.shape != cues.shape[:1]:
        raise ValueError(f"alphas must have shape ({cues.shape[0]},), got {alphas.shape}")
    if alphas.size and not (alphas.min() >= 0 and alphas.max() < structs.m):
        raise ValueError(f"alphas must lie in [0, {structs.m}), got {alphas}")
    if int(segments) < 1:
        raise ValueError(f"segments must be >= 1, got {segments}")
    gillespie = isinstance(sampler, molcomp.Gillespie)
    if gillespie:
        if not (np.isfinite(segment) and segment > 0):
            raise ValueError(f"segment must be positive and finite, got {segment}")
        steps, unit = jnp.float32(segment), float(segment)
    else:
        if int(segment) != segment or segment < 1:
            raise ValueError(f"segment must be a whole number of sweeps >= 1, got {segment}")
        steps = unit = int(segment)
    states = jax.vmap(lambda c: sampler.init(model, c))(cues)
    first = np.full(cues.shape[0], np.inf)
    for i, k in enumerate(jax.random.split(key, int(segments))):
        keys = jax.random.split(k, cues.shape[0])
        states = _segment(keys, model, sampler, states, steps, jnp.int32(max_events))
        done = np.asarray(_errors(structs, states.config, jnp.asarray(alphas))) < SUCCESS
        first[done & np.isinf(first)] = (i + 1) * unit
    return first
