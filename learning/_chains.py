"""Advance a batch of chains and collect configurations (traceable; no jit here)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def sweep(key, model, sampler, state, n: int):
    """`n` sweeps of every chain (leading axis of state.config); returns (state, acceptance)."""
    chains = state.config.shape[0]
    prepared = sampler.prepare(model)  # model tables, hoisted out of the scan
    kw = {} if prepared is None else {"prepared": prepared}
    step = jax.vmap(lambda k, s: sampler.step(k, model, s, **kw))

    def body(st, k):
        st, info = step(jax.random.split(k, chains), st)
        return st, info.acceptance

    if n == 0:
        return state, jnp.ones(chains, jnp.float32)
    state, acc = jax.lax.scan(body, state, jax.random.split(key, n))
    return state, acc.mean(axis=0)


def run_chains(key, model, sampler, state, *, warmup: int, samples: int, sweeps: int):
    """`warmup` sweeps, then `samples` times: `sweeps` sweeps and record.

    **Returns:** (state, configs of shape (samples, chains, n), mean acceptance).
    """
    k_warm, k_run = jax.random.split(key)
    state, acc_w = sweep(k_warm, model, sampler, state, warmup)

    def body(st, k):
        st, acc = sweep(k, model, sampler, st, sweeps)
        return st, (st.config, acc)

    state, (configs, acc) = jax.lax.scan(body, state, jax.random.split(k_run, samples))
    total = warmup + samples * sweeps
    acceptance = (warmup * acc_w + sweeps * acc.sum(axis=0)) / max(total, 1)
    return state, configs, jnp.mean(acceptance)
