"""The one sampling driver: n steps of any sampler under `lax.scan`, observables traced
or averaged, chunks recovered when a sampler asks (neighbour-list overflow)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from tqdm.auto import tqdm

from .._model import check_model
from ..checks import check_key, check_positive_int
from ._base import AbstractSampler, SamplerInfo


class SampleResult(eqx.Module):
    """What `sample` returns.

    - `state`: the final sampler state (resume by passing it back to `sample`).
    - `trace`: `trace_fn` output at every step, leading axes (steps, [chains]).
    - `mean`: mean of `mean_fn` output over the steps, axes ([chains], ...); weighted
      by the sampler's `observation_weight` where it gives one (the residence-time
      average of a continuous-time sampler), else plain.
    - `info`: the sampler's diagnostics (its `SamplerInfo` type) averaged over the steps,
      per chain.
    - `recoveries`: chunks redone after the sampler repaired its state (e.g. neighbour
      lists reallocated after an overflow).
    """

    state: object
    trace: object
    mean: object
    info: SamplerInfo
    recoveries: int = eqx.field(static=True, default=0)

    @property
    def acceptance(self) -> jax.Array:
        """Mean acceptance per chain."""
        return self.info.acceptance


def _none(model, config):
    return None


def _per_chain(w, x):
    """w (*chains) times x (*chains, ...): one weight per chain, broadcast over the rest."""
    w = jnp.asarray(w)
    return w.reshape(w.shape + (1,) * (jnp.ndim(x) - w.ndim)) * x


def sample(
    key,
    model,
    sampler: AbstractSampler,
    state,
    steps: int,
    *,
    trace_fn: Callable | None = None,
    mean_fn: Callable | None = None,
    chunk: int | None = None,
    max_recoveries: int = 8,
    progress: bool | None = None,
) -> SampleResult:
    """Run `steps` steps of `sampler` from `state`, recording observables on the fly.

    Every sampler goes through here: lattice heat bath and Metropolis, Gillespie
    kinetics, replica exchange, particle dynamics and neural Langevin chains. Chains
    are a leading axis of the state (each sampler decides how to batch them: `vmap` of
    `step` by default, see `AbstractSampler.advance`). Nothing but the observables is
    kept, so long runs do not store every configuration. To discard burn-in, call
    `sample` once without observables and continue from its `state`.

    **Arguments:**

    - `key`: a `jax.random` key; the same key gives the same samples (one key per
      step is split up front, so results do not depend on `chunk` or `progress`).
    - `model`, `sampler`, `state`: from `sampler.init(model, config)`.
    - `steps`: number of steps (static: a new value compiles once more).
    - `trace_fn(model, config) -> pytree`: recorded every step (keep it small).
    - `mean_fn(model, config) -> pytree`: averaged over the steps (e.g. contacts). A
      sampler whose steps do not leave the distribution invariant (`Gillespie`, which
      steps by events) weights each observation by its `observation_weight`, so the
      mean is still the equilibrium (time) average.
    - `chunk`: steps per compiled chunk (default: all of them, or 20 chunks with a
      progress bar). A chunk is the unit a sampler's `recover` can redo.
    - `max_recoveries`: give up (RuntimeError) after this many redos of one chunk.
    - `progress`: tqdm bar over the chunks; default: when stderr is a terminal.

    **Returns:** a `SampleResult`.
    """
    if not isinstance(sampler, AbstractSampler):
        raise TypeError(f"sampler must be a molcomp sampler, got {type(sampler).__name__}")
    check_key("key", key)
    check_model(model)
    steps = check_positive_int("steps", steps)
    sampler.check_model(model)
    sampler.check_state(model, state)
    if progress is None:
        progress = sys.stderr.isatty()
    if chunk is None:
        chunk = max(1, -(-steps // 20)) if progress else steps
    chunk = check_positive_int("chunk", chunk)
    trace_fn = trace_fn or _none
    mean_fn = mean_fn or _none

    keys = jax.random.split(key, steps)
    traces, sums, weights, infos = [], None, None, None
    done, recoveries = 0, 0
    bar = tqdm(total=steps, disable=not progress, unit="step", leave=False)
    while done < steps:
        n = min(chunk, steps - done)
        for attempt in range(max_recoveries + 1):
            new, tr, s, w, inf = _run(
                keys[done : done + n], model, sampler, state, trace_fn, mean_fn
            )
            repaired = sampler.recover(model, state, new, attempt)
            if repaired is None:
                break
            state, recoveries = repaired, recoveries + 1
        else:
            raise RuntimeError(
                f"{type(sampler).__name__}: the chunk starting at step {done} still needed "
                f"recovery after max_recoveries={max_recoveries} attempts"
            )
        state = new
        traces.append(tr)
        sums = s if sums is None else jax.tree_util.tree_map(jnp.add, sums, s)
        weights = w if weights is None else weights + w
        infos = inf if infos is None else jax.tree_util.tree_map(jnp.add, infos, inf)
        done += n
        bar.update(n)
    bar.close()
    trace = jax.tree_util.tree_map(lambda *t: jnp.concatenate(t, axis=0), *traces)
    if weights is None:
        mean = jax.tree_util.tree_map(lambda x: x / steps, sums)
    else:
        mean = jax.tree_util.tree_map(lambda x: _per_chain(1.0 / weights, x), sums)
    info = jax.tree_util.tree_map(lambda x: x / steps, infos)
    return SampleResult(state=state, trace=trace, mean=mean, info=info, recoveries=recoveries)


@eqx.filter_jit
def _run(keys, model, sampler, state, trace_fn, mean_fn):
    prepared = sampler.prepare(model)
    carry = sampler.enter(model, state, prepared)
    rank = len(sampler.chain_shape(model))

    def observe(c):
        # Without observables nothing reads the config, and XLA drops `config_of`.
        config = sampler.config_of(model, c)

        def both(x):
            return sampler.observe(model, x, trace_fn), sampler.observe(model, x, mean_fn)

        return (
            jax.vmap(both)(config)
            if jax.tree_util.tree_leaves(config)[0].ndim > rank
            else both(config)
        )

    def as_float(info):
        return jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), info)

    def step(c, k):
        c, info = sampler.advance(k, model, c, prepared)
        w = sampler.observation_weight(model, c, info)
        return c, info, None if w is None else jnp.asarray(w, jnp.float32)

    def body(loop, k):
        c, total, w_total, info_total = loop
        c, info, w = step(c, k)
        tr, m = observe(c)
        if w is not None:  # static: the sampler weights its observations or it does not
            m = jax.tree_util.tree_map(lambda x: _per_chain(w, x), m)
            w_total = w_total + w
        total = jax.tree_util.tree_map(jnp.add, total, m)
        info_total = jax.tree_util.tree_map(jnp.add, info_total, as_float(info))
        return (c, total, w_total, info_total), tr

    def zeros(tree):
        return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, jnp.float32), tree)

    _, info_shape, w_shape = jax.eval_shape(lambda: step(carry, keys[0]))
    if w_shape is None:
        zero = jax.tree_util.tree_map(
            lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(lambda: observe(carry)[1])
        )
        w_zero = None
    else:
        zero = zeros(jax.eval_shape(lambda: observe(carry)[1]))
        w_zero = jnp.zeros(w_shape.shape, jnp.float32)
    loop = (carry, zero, w_zero, zeros(info_shape))
    (carry, total, w_total, info_total), trace = jax.lax.scan(body, loop, keys)
    return sampler.leave(model, carry, state), trace, total, w_total, info_total
