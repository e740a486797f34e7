"""The kinetics of a recall, on the common clock: `molcomp.sample` sweeps of a Metropolis
sampler, or one `Gillespie.run_for` call for a physical duration."""

from __future__ import annotations

import jax.numpy as jnp

import molcomp
from molcomp.checks import check_key


def check_kinetics(sampler, name: str = "sampler") -> None:
    """TypeError unless `sampler` is a `molcomp.Metropolis` or `molcomp.Gillespie`."""
    if not isinstance(sampler, molcomp.Metropolis | molcomp.Gillespie):
        raise TypeError(
            f"{name} must be a molcomp.Metropolis or molcomp.Gillespie, got "
            f"{type(sampler).__name__}"
        )


def run_kinetics(key, model, sampler, cue, steps, max_events):
    """One run from `cue`: `steps` sweeps of a Metropolis sampler, or `steps / rate` of
    physical time (at most `max_events` events) of Gillespie.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `model`: the mixture, a `molcomp.PottsModel`.
    - `sampler`: `molcomp.Metropolis` or `molcomp.Gillespie`.
    - `cue`: (n,) start configuration.
    - `steps`: sweeps (Metropolis: a Python int, it fixes the scan length) or attempts
      per site (Gillespie: may be a traced array, as may `max_events`, so one
      compilation serves every budget).
    - `max_events`: Gillespie's event cap (ignored by Metropolis).

    **Returns:** `(config, elapsed)`: the final configuration and the physical time it
    was reached on the common clock (`steps` for Metropolis, one attempt per site per
    unit; for Gillespie `steps / rate`, or less when `max_events` ran out first).
    """
    check_key("key", key)
    check_kinetics(sampler)
    start = sampler.init(model, cue)
    state = continue_kinetics(key, model, sampler, start, steps, max_events)
    if isinstance(sampler, molcomp.Gillespie):
        return state.config, state.aux.time - start.aux.time
    return state.config, jnp.float32(steps)  # one sweep: one attempt per site, 1 time unit


def continue_kinetics(key, model, sampler, state, steps, max_events, prepared=None):
    """Continue one chain state by `steps` sweeps (Metropolis, through `molcomp.sample`)
    or `steps / rate` of physical time, at most `max_events` events (one
    `Gillespie.run_for` call); returns the new state.

    `prepared`: Gillespie's tables, when the caller built them once for many chains.
    """
    check_kinetics(sampler)
    if isinstance(sampler, molcomp.Gillespie):
        prepared = sampler.prepare(model) if prepared is None else prepared
        return sampler.run_for(key, model, state, steps / sampler.rate, max_events, prepared)[0]
    return molcomp.sample(key, model, sampler, state, steps, progress=False).state
