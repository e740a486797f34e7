"""The training loop: sleep-wake gradients descended by an optax optimizer.

Steps run in jitted chunks (`lax.fori_loop`) between evaluation and checkpoint points;
the key of step i is `fold_in(key, i)`, so the result depends only on the key and the
step index: a run resumed from a checkpoint reproduces the uninterrupted run.
`fit` is a top-level driver like `molcomp.sample`, so it is the one place in
`learning` that jits.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from molcomp import AbstractSampler

from . import _checkpoint, _exact
from ._ais import ais_log_likelihood
from ._estimator import METHODS, estimate_grad, init_state
from ._models import default_filter_spec, n_sites
from ._phases import PCD, AbstractDataPhase, ClampedChains, Observed

AIS_DEFAULTS = {"chains": 32, "temperatures": 300}


@dataclass
class History:
    """Per step: `grad_norm` (global norm of the gradient) and `energy_gap`
    (<E>_data - <E>_model). At each evaluation step `eval_step`: `kl` (exact
    KL(P_target || Q) in nats when the observed space is enumerable, else NaN),
    `log_likelihood` and `log_likelihood_stderr` (AIS estimate, NaN when off) and
    `train_s` (training seconds so far, evaluation and checkpoints excluded).
    `seconds`: total training seconds (set at the end and at checkpoints)."""

    grad_norm: list = field(default_factory=list)
    energy_gap: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    kl: list = field(default_factory=list)
    log_likelihood: list = field(default_factory=list)
    log_likelihood_stderr: list = field(default_factory=list)
    train_s: list = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _check_steps(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _data_phase(model, sampler, data, clamp, weights, batch_size):
    if isinstance(data, AbstractDataPhase):
        return data
    arr = jnp.asarray(data)
    if arr.ndim != 2:
        raise ValueError(f"data must have shape (m, n), got {arr.shape}")
    if clamp is None and arr.shape[1] != n_sites(model) and hasattr(model, "visible"):
        clamp = model.visible  # data over an RBM's visibles: sample its hidden units
    if clamp is not None:
        mask = np.asarray(clamp)
        if mask.shape != (n_sites(model),) or mask.dtype != bool:
            raise ValueError(
                f"clamp must be a boolean mask of shape ({n_sites(model)},) for this model, "
                f"got shape {mask.shape} dtype {mask.dtype}"
            )
        return ClampedChains(arr, clamp, sampler, weights=weights, batch_size=batch_size)
    if arr.shape[1] != n_sites(model):
        raise ValueError(
            f"data must have shape (m, {n_sites(model)}) for this model, got {arr.shape}"
        )
    return Observed(arr, weights, batch_size)


def _observed(model, data_phase):
    """(data over the observed variables, weights) for likelihoods, or None."""
    hidden = hasattr(model, "free_energy")
    if isinstance(data_phase, Observed) and not hidden:
        return data_phase.data, data_phase.weights
    if isinstance(data_phase, ClampedChains) and hidden:
        if tuple(model.visible) == data_phase.clamp:
            d = data_phase.data
            return (d if d.shape[1] == model.n_visible else d[:, model.visible]), data_phase.weights
    return None


@eqx.filter_jit
def _train_chunk(
    key, carry, start, n, static, optimizer, data_phase, model_phase, spec, method, size
):
    """n (<= size) training steps from step index `start`."""

    def one(i, c):
        dyn, gn, gap = c
        model, opt_state, ps = eqx.combine(dyn, static)
        k = jax.random.fold_in(key, start + i)
        grads, ps, info = estimate_grad(
            k, model, data_phase, model_phase, ps, filter_spec=spec, method=method
        )
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, spec))
        model = eqx.apply_updates(model, updates)
        dyn, _ = eqx.partition((model, opt_state, ps), eqx.is_array)
        gn = gn.at[i].set(optax.tree.norm(grads))
        return dyn, gn, gap.at[i].set(info["energy_gap"])

    zeros = jnp.full(size, jnp.nan, jnp.float32)
    return jax.lax.fori_loop(0, n, one, (carry, zeros, zeros))


@eqx.filter_jit
def _exact_kl(model, target_log_probs, configs):
    return _exact.kl_divergence(target_log_probs, _exact.log_probs(model, configs=configs))


_ais = eqx.filter_jit(ais_log_likelihood)


def fit(
    key,
    model,
    sampler: AbstractSampler,
    data,
    optimizer,
    steps: int,
    *,
    clamp=None,
    weights=None,
    batch_size: int | None = None,
    model_phase=None,
    chains: int = 64,
    filter_spec=None,
    method: str = "auto",
    eval_every: int | None = None,
    target=None,
    ais: bool | dict = True,
    checkpoint_dir: str | None = None,
    checkpoint_every: int | None = None,
    progress: bool | None = None,
):
    """Train `model` by descending the sleep-wake gradient with `optimizer`.

    **Arguments:**

    - `key`: a `jax.random` key (the run is a function of it and the step index).
    - `model`: an energy model; `sampler`: a molcomp-contract sampler of it.
    - `data`: (m, n) configurations, (m, n_clamped) values of clamped variables (with
      `clamp`, or an RBM's visibles), or a data phase (`Observed`, `ClampedChains`).
    - `optimizer`: an optax `GradientTransformation`; `steps`: total steps.
    - `clamp`, `weights`, `batch_size`: build the data phase (see `ClampedChains`).
    - `model_phase`: default `PCD(sampler, chains)`; `CD(sampler, k)` for CD-k.
    - `filter_spec`: which leaves train (default: floating-point leaves except `beta`).
    - `method`: gradient path, "auto" | "energy" | "statistics".
    - `eval_every`: evaluate every k steps and at the end: exact KL(target || model)
      when the observed space is enumerable, and an AIS log-likelihood.
    - `target`: log-probabilities over the observed enumeration (`learning.exact`
      order) or a model to enumerate; default: the empirical distribution of the data.
    - `ais`: True (defaults), False, or `ais_log_partition` keyword arguments.
    - `checkpoint_dir`, `checkpoint_every`: write checkpoints there every k steps and
      at the end, and resume from the one found there (same key, model, data and
      settings required; the optimizer must be the same too).
    - `progress`: tqdm bar; default when stderr is a terminal.

    **Returns:** `(model, history)` with `history` a `History`.

    **Example:**

    ```python
    bm, history = fit(key, bm, SequentialGibbs(), data, optax.adam(1e-2), steps=500)
    ```
    """
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            f"optimizer must be an optax GradientTransformation (e.g. optax.adam(1e-2)), got "
            f"{type(optimizer).__name__}"
        )
    if not isinstance(sampler, AbstractSampler):
        raise TypeError(f"sampler must be a molcomp sampler, got {type(sampler).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    steps = _check_steps("steps", steps)
    eval_every = _check_steps("eval_every", eval_every, allow_none=True)
    checkpoint_every = _check_steps("checkpoint_every", checkpoint_every, allow_none=True)
    if checkpoint_every is not None and checkpoint_dir is None:
        raise ValueError("checkpoint_every needs a checkpoint_dir")
    sampler.check_model(model)
    data_phase = _data_phase(model, sampler, data, clamp, weights, batch_size)
    model_phase = PCD(sampler, chains) if model_phase is None else model_phase
    spec = default_filter_spec(model) if filter_spec is None else filter_spec
    ais_kw = {**AIS_DEFAULTS, **(ais if isinstance(ais, dict) else {})} if ais else None

    k_init, k_train, k_eval = jax.random.split(key, 3)
    phase_state = init_state(k_init, model, data_phase, model_phase)
    opt_state = optimizer.init(eqx.filter(model, spec))
    observed = _observed(model, data_phase)
    target_lp = _target(model, target, observed) if eval_every else None

    history, start, train_s = History(), 0, 0.0
    tree = (model, opt_state, phase_state)
    if checkpoint_dir is not None:
        fp = _checkpoint.fingerprint(tree, key, data_phase, model_phase, spec, method)
        loaded = _checkpoint.load(checkpoint_dir, tree, fp)
        if loaded is not None:
            start, tree, hist = loaded
            history = History(**hist)
            train_s = history.seconds
            if start > steps:
                raise ValueError(f"checkpoint_dir holds step {start}, beyond steps={steps}")

    size = min(v for v in (eval_every, checkpoint_every, 50) if v is not None)
    dyn, static = eqx.partition(tree, eqx.is_array)
    progress = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=steps, initial=start, disable=not progress, unit="step", leave=False)
    while start < steps:
        # Chunks end at every evaluation and checkpoint step (the key schedule depends
        # only on the step index, so chunking does not change the run).
        stop = min(
            [steps, start + size]
            + [(start // e + 1) * e for e in (eval_every, checkpoint_every) if e]
        )
        t0 = time.perf_counter()
        dyn, gn, gap = _train_chunk(
            k_train,
            dyn,
            jnp.int32(start),
            jnp.int32(stop - start),
            static,
            optimizer,
            data_phase,
            model_phase,
            spec,
            method,
            size,
        )
        gn, gap = np.asarray(gn), np.asarray(gap)  # waits for the chunk
        train_s += time.perf_counter() - t0
        history.grad_norm += gn[: stop - start].tolist()
        history.energy_gap += gap[: stop - start].tolist()
        model = eqx.combine(dyn, static)[0]
        if eval_every and (stop % eval_every == 0 or stop == steps):
            _evaluate(
                history,
                stop,
                train_s,
                jax.random.fold_in(k_eval, stop),
                model,
                sampler,
                observed,
                target_lp,
                ais_kw,
            )
        if checkpoint_dir is not None and (
            stop == steps or (checkpoint_every and stop % checkpoint_every == 0)
        ):
            history.seconds = train_s
            _checkpoint.save(checkpoint_dir, stop, eqx.combine(dyn, static), history.to_dict(), fp)
        bar.update(stop - start)
        bar.set_postfix(grad_norm=f"{gn[stop - start - 1]:.3g}")
        start = stop
    bar.close()
    history.seconds = train_s
    return eqx.combine(dyn, static)[0], history


def _target(model, target, observed):
    """Target log-probabilities over the observed enumeration, or None (no exact KL)."""
    if not _exact.is_enumerable(model):
        return None
    if target is None:
        if observed is None:
            return None
        return _exact.empirical_log_probs(model, observed[0], observed[1])
    if isinstance(target, eqx.Module):
        return _exact.log_probs(target)
    lp = jnp.asarray(target, jnp.float32)
    if lp.shape != (_exact.n_configurations(model),):
        raise ValueError(
            f"target must hold log-probabilities of all {_exact.n_configurations(model)} observed "
            f"configurations, got shape {lp.shape}"
        )
    return lp


def _evaluate(history, step, train_s, key, model, sampler, observed, target_lp, ais_kw):
    kl = math.nan
    if target_lp is not None:
        configs = _exact.configurations(_exact.observed_size(model), model.n_states)
        kl = float(_exact_kl(model, target_lp, configs))
    ll = se = math.nan
    if ais_kw is not None and observed is not None:
        data, w = observed
        value, info = _ais(key, model, sampler, data, weights=w, **ais_kw)
        ll, se = float(value), float(info["stderr"])
    history.eval_step.append(step)
    history.kl.append(kl)
    history.log_likelihood.append(ll)
    history.log_likelihood_stderr.append(se)
    history.train_s.append(train_s)
