"""The sampling driver: n steps under `lax.scan`, observables traced or averaged."""

from __future__ import annotations

import sys
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from tqdm.auto import tqdm

from ._base import AbstractSampler, ChainState


class SampleResult(eqx.Module):
    """What `sample` returns.

    - `state`: the final chain state (resume by passing it back to `sample`).
    - `trace`: `trace_fn` output at every step, leading axes (steps, [chains]).
    - `mean`: running mean of `mean_fn` output over the steps, axes ([chains], ...).
    - `acceptance`: mean acceptance per chain.
    """

    state: ChainState
    trace: object
    mean: object
    acceptance: jax.Array


def _none(model, config):
    return None


def sample(
    key,
    model,
    sampler: AbstractSampler,
    state: ChainState,
    steps: int,
    *,
    trace_fn: Callable | None = None,
    mean_fn: Callable | None = None,
    progress: bool | None = None,
) -> SampleResult:
    """Run `steps` sweeps of `sampler` from `state`, recording observables on the fly.

    Chains are a leading axis of `state.config` (each sampler decides how to batch
    them: `vmap` of `step` by default, see `AbstractSampler.advance`). Nothing but the observables
    is kept, so long runs do not store every configuration. To discard burn-in, call
    `sample` once without observables and continue from its `state`.

    **Arguments:**

    - `key`: a `jax.random` key; the same key gives the same samples.
    - `model`, `sampler`, `state`: from `sampler.init(model, config)`.
    - `steps`: number of sweeps (static: a new value compiles once more).
    - `trace_fn(model, config) -> pytree`: recorded every step (keep it small).
    - `mean_fn(model, config) -> pytree`: averaged over the steps (e.g. contacts).
    - `progress`: tqdm bar over chunks of the run; default: when stderr is a terminal.

    **Returns:** a `SampleResult`.
    """
    if not isinstance(sampler, AbstractSampler):
        raise TypeError(f"sampler must be a molcomp sampler, got {type(sampler).__name__}")
    if not isinstance(state, ChainState):
        raise TypeError("state must come from sampler.init(model, config)")
    if isinstance(steps, bool) or int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    steps = int(steps)
    sampler.check_model(model)
    n = model.lattice.n_sites if hasattr(model, "lattice") else None
    if n is not None and (state.config.ndim not in (1, 2) or state.config.shape[-1] != n):
        # Values were validated by `init`; only the shape is re-checked (no host copy).
        raise ValueError(
            f"state.config must have shape (n,) or (chains, n) with n={n}, got {state.config.shape}"
        )
    trace_fn = trace_fn or _none
    mean_fn = mean_fn or _none
    return drive(
        key, steps, state, lambda ks, st: _run(ks, model, sampler, st, trace_fn, mean_fn), progress
    )


def drive(key, steps: int, state, run_chunk: Callable, progress: bool | None, unit="sweep"):
    """The loop every driver shares: `run_chunk(keys, state) -> (state, trace, sums,
    acceptance)` over chunks of the steps (one chunk, or 20 with a tqdm bar), then the
    traces concatenated and the sums averaged into a `SampleResult`."""
    if progress is None:
        progress = sys.stderr.isatty()
    chunk = max(1, -(-steps // 20)) if progress else steps
    # One key per step, drawn up front: the samples do not depend on the chunking
    # (and so not on whether a progress bar is shown).
    keys = jax.random.split(key, steps)
    traces, sums, acc = [], None, []
    done = 0
    bar = tqdm(total=steps, disable=not progress, unit=unit, leave=False)
    while done < steps:
        n = min(chunk, steps - done)
        state, tr, s, a = run_chunk(keys[done : done + n], state)
        traces.append(tr)
        acc.append(a)
        sums = s if sums is None else jax.tree_util.tree_map(jnp.add, sums, s)
        done += n
        bar.update(n)
    bar.close()
    trace = jax.tree_util.tree_map(lambda *t: jnp.concatenate(t, axis=0), *traces)
    mean = jax.tree_util.tree_map(lambda x: x / steps, sums)
    acceptance = jnp.concatenate(acc, axis=0).mean(axis=0)
    return SampleResult(state=state, trace=trace, mean=mean, acceptance=acceptance)


@eqx.filter_jit
def _run(keys, model, sampler, state, trace_fn, mean_fn):
    batched = state.config.ndim == 2
    prepared = sampler.prepare(model)
    carry = sampler.enter(model, state, prepared)

    def observe(c):
        # Without observables nothing reads the config, and XLA drops `config_of`.
        config = sampler.config_of(model, c)
        both = lambda x: (trace_fn(model, x), mean_fn(model, x))  # noqa: E731
        return jax.vmap(both)(config) if batched else both(config)

    def body(loop, k):
        c, total = loop
        c, a = sampler.advance(k, model, c, prepared)
        tr, m = observe(c)
        total = jax.tree_util.tree_map(jnp.add, total, m)
        return (c, total), (tr, a)

    zero = jax.eval_shape(lambda: observe(carry)[1])
    zero = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), zero)
    (carry, total), (trace, acc) = jax.lax.scan(body, (carry, zero), keys)
    return sampler.leave(model, carry, state), trace, total, acc
