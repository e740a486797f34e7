"""How long a recall takes: the first time on the common clock at which each run holds
its structure with error < 0.05, read between segments of one continued chain."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import molcomp
from molcomp import structures as st
from molcomp.checks import check_key, check_positive_int, check_real

from ._kinetics import check_kinetics, continue_kinetics
from ._mixture import SUCCESS


@eqx.filter_jit
def _segment(keys, model, sampler, states, steps, max_events):
    """Continue every run (vmapped) by one segment; Gillespie's tables are built once
    per call, outside the vmap, since all runs share the model."""
    prepared = sampler.prepare(model) if isinstance(sampler, molcomp.Gillespie) else None

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
    check_key("key", key)
    if not isinstance(structs, st.Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    check_kinetics(sampler)
    max_events = check_positive_int("max_events", max_events)
    cues = jnp.atleast_2d(jnp.asarray(cues))
    alphas = np.asarray(alphas)
    if alphas.shape != cues.shape[:1]:
        raise ValueError(f"alphas must have shape ({cues.shape[0]},), got {alphas.shape}")
    if alphas.size and not np.issubdtype(alphas.dtype, np.integer):
        raise ValueError(f"alphas must be integer structure indices, got dtype {alphas.dtype}")
    if alphas.size and not (alphas.min() >= 0 and alphas.max() < structs.m):
        raise ValueError(f"alphas must lie in [0, {structs.m}), got {alphas}")
    segments = check_positive_int("segments", segments)
    check_kinetics(sampler)
    if isinstance(sampler, molcomp.Gillespie):
        unit = check_real("segment", segment, minimum=0.0, strict=True)
        steps = jnp.float32(unit)
    else:
        steps = unit = check_positive_int("segment", segment)  # whole sweeps
    states = sampler.init(model, cues)  # a leading run axis
    first = np.full(cues.shape[0], np.inf)
    for i, k in enumerate(jax.random.split(key, segments)):
        keys = jax.random.split(k, cues.shape[0])
        states = _segment(keys, model, sampler, states, steps, jnp.int32(max_events))
        done = np.asarray(_errors(structs, states.config, jnp.asarray(alphas))) < SUCCESS
        first[done & np.isinf(first)] = (i + 1) * unit
    return first
