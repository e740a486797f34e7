"""Chains of the sleep-wake phases: where they start (`PCD` / `FreshChains` `start`),
how they run (`run_chains`, through `molcomp.sample`) and the mean sufficient
statistics of a batch of configurations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import molcomp
from molcomp import AbstractSampler
from molcomp.checks import check_nonnegative_int, check_positive_int


def check_sampler(sampler) -> AbstractSampler:
    """`sampler` if it is a molcomp sampler, else a TypeError."""
    if not isinstance(sampler, AbstractSampler):
        raise TypeError(f"sampler must be a molcomp sampler, got {type(sampler).__name__}")
    return sampler


def _config(model, config):
    return config


def run_chains(key, model, sampler, state, *, warmup: int, samples: int, sweeps: int):
    """`warmup` steps, then `samples` times: `sweeps` steps and record (`molcomp.sample`).

    **Returns:** (state, configs (samples, chains, ...), mean acceptance).
    """
    k_warm, k_run = jax.random.split(key)
    accepted = jnp.float32(0.0)
    if warmup:
        out = molcomp.sample(k_warm, model, sampler, state, warmup, progress=False)
        state, accepted = out.state, warmup * jnp.mean(out.acceptance)
    steps = samples * sweeps
    out = molcomp.sample(k_run, model, sampler, state, steps, trace_fn=_config, progress=False)
    acceptance = (accepted + steps * jnp.mean(out.acceptance)) / (warmup + steps)
    return out.state, out.trace[sweeps - 1 :: sweeps], acceptance


STARTS = ("data", "rows", "random")


def _check_start(start, chains: int):
    """`start` validated: one of `STARTS`, or (chains, ...) start configurations."""
    if isinstance(start, str):
        if start not in STARTS:
            raise ValueError(
                f"start must be 'data', 'rows', 'random' or an array of start "
                f"configurations, got {start!r}"
            )
        return start
    if not isinstance(start, np.ndarray | jax.Array | list | tuple):
        raise TypeError(
            "start must be 'data', 'rows', 'random' or an array of (chains, *state_shape) "
            f"start configurations, got {type(start).__name__}"
        )
    arr = jnp.asarray(start)
    if jnp.issubdtype(arr.dtype, jnp.integer):
        arr = arr.astype(jnp.int32)
    elif jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.float32)
    else:
        raise TypeError(f"start configurations must be integers or reals, got dtype {arr.dtype}")
    if arr.ndim < 2 or arr.shape[0] != chains:
        raise ValueError(
            f"start configurations must have shape (chains, *state_shape) with chains="
            f"{chains}, got {arr.shape}"
        )
    return arr


def chain_fields(phase, sampler, chains, sweeps, samples, warmup, start):
    """Validate and set the fields shared by PCD and FreshChains."""
    phase.sampler = check_sampler(sampler)
    phase.chains = check_positive_int("chains", chains)
    phase.sweeps = check_positive_int("sweeps", sweeps)
    phase.samples = check_positive_int("samples", samples)
    phase.warmup = check_nonnegative_int("warmup", warmup)
    phase.start = _check_start(start, phase.chains)


def check_start_configs(model, phase):
    """Explicit start configurations validated against the model (outside jit, at init)."""
    if isinstance(phase.start, str):
        return
    config = model.check_state(phase.start, "start")
    want = (phase.chains, *model.state_shape)
    if tuple(config.shape) != want:
        raise ValueError(f"start configurations must have shape {want}, got {config.shape}")


def start_chains(key, model, phase, data_configs):
    if not isinstance(phase.start, str):
        config = phase.start
    elif phase.start == "data":
        rows = jax.random.randint(key, (phase.chains,), 0, data_configs.shape[0])
        config = data_configs[rows]
    elif phase.start == "rows":
        config = data_configs[np.arange(phase.chains) % data_configs.shape[0]]
    else:
        if not model.is_discrete:
            raise ValueError("start='random' draws uniform site states: a discrete model only")
        shape = (phase.chains, *model.state_shape)
        config = jax.random.randint(key, shape, 0, model.n_states, jnp.int32)
    return phase.sampler.init(model, config)


def mean_statistics(model, configs, weights=None):
    """Weighted mean of `model.statistics` over a batch of configurations (m, ...)."""
    stats = jax.vmap(model.statistics)(configs)
    if weights is None:
        return jax.tree_util.tree_map(lambda s: jnp.mean(s, axis=0), stats)
    w = weights / jnp.sum(weights)
    return jax.tree_util.tree_map(lambda s: jnp.tensordot(w, s, axes=1), stats)
