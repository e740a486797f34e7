"""The training loop: sleep-wake gradients descended by an optax optimizer.

Steps run in jitted chunks (`lax.fori_loop`) between evaluation and checkpoint points,
or one by one from Python when a phase's sampler recovers on the host
(`AbstractSampler.host_recovery`: particle samplers); the key of step i is
`fold_in(key, i)`, so the result depends only on the key and the step index: a run
resumed from a checkpoint reproduces the uninterrupted run.
`fit` is a top-level driver like `molcomp.sample`, so it is the one place in
`learning` that jits. What to evaluate and where to checkpoint are settings objects,
`Evaluation` and `Checkpointing`, each carrying only its own settings.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

import molcomp
from molcomp import AbstractSampler
from molcomp.checks import check_key, check_positive_int

from . import _checkpoint
from ._ais import AIS
from ._estimator import init_state
from ._finite import leaf_names as _leaf_names
from ._finite import raise_non_finite as _raise_non_finite
from ._phases import PCD, AbstractDataPhase, AbstractModelPhase, Observed
from ._steps import host_chunk, needs_host, train_chunk
from .exact import empirical_log_probs, kl_divergence


@dataclass
class FitHistory:
    """What `fit` records.

    Per step: `grad_norm` (global norm of the gradient) and `energy_gap`
    (<E>_data - <E>_model). At each evaluation step `eval_step`: `kl` (exact
    KL(P_target || Q) in nats when the observed space is enumerable, else NaN),
    `log_likelihood` and `log_likelihood_stderr` (AIS estimate, NaN when off) and
    `train_s` (training seconds so far, evaluation and checkpoints excluded).
    `seconds`: total training seconds (set at the end and at checkpoints).
    """

    grad_norm: list = field(default_factory=list)
    energy_gap: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    kl: list = field(default_factory=list)
    log_likelihood: list = field(default_factory=list)
    log_likelihood_stderr: list = field(default_factory=list)
    train_s: list = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """The history as a JSON-ready dict."""
        return asdict(self)


class Evaluation(eqx.Module):
    """What `fit` evaluates, and how often.

    **Arguments:**

    - `every`: evaluate every k steps and at the end.
    - `target`: log-probabilities over the enumeration of the observed variables
      (`molcomp.exact` order) or an energy model of them to enumerate; default: the
      empirical distribution of the data. Gives the exact KL(target || model) when the
      observed space is enumerable.
    - `ais`: an `AIS` for the log-likelihood of the data (default `AIS(32, 300)`), or
      None for none.
    - `marginal`: for data over some of the variables (`ClampedChains`), a function
      model -> the energy model of the observed variables (same Z), e.g.
      `learning.neural.RBM.marginal`.
    """

    every: int = eqx.field(static=True)
    target: object = None
    ais: AIS | None = AIS(chains=32, temperatures=300)
    marginal: Callable | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        check_positive_int("every", self.every)
        if self.ais is not None and not isinstance(self.ais, AIS):
            raise TypeError(f"ais must be a learning.AIS or None, got {type(self.ais).__name__}")


class Checkpointing(eqx.Module):
    """Where and how often `fit` writes checkpoints (and resumes from them).

    **Arguments:** `directory` (created if missing; a checkpoint found there is resumed:
    same key, model, data, optimizer and settings required); `every`: write every k
    steps (None: only at the end).
    """

    directory: str = eqx.field(static=True)
    every: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if not isinstance(self.directory, str) or not self.directory:
            raise TypeError(f"directory must be a non-empty str, got {self.directory!r}")
        if self.every is not None:
            check_positive_int("every", self.every)


@eqx.filter_jit
def _exact_kl(observed_model, target_log_probs):
    return kl_divergence(target_log_probs, molcomp.exact.log_probabilities(observed_model))


@eqx.filter_jit
def _ais(ais, key, model, sampler, data, weights, marginal):
    return ais.log_likelihood(key, model, sampler, data, weights=weights, marginal=marginal)


def _data_phase(model, data):
    if isinstance(data, AbstractDataPhase):
        return data
    phase = Observed(data)
    if phase.data.shape[1:] != tuple(model.state_shape):
        shape = ", ".join(["m", *map(str, model.state_shape)])
        raise ValueError(
            f"data must have shape ({shape}) for this model, got "
            f"{phase.data.shape}; for data over some of the variables pass a "
            "learning.ClampedChains"
        )
    return phase


def fit(
    key,
    model,
    sampler: AbstractSampler,
    data,
    optimizer,
    steps: int,
    *,
    model_phase: AbstractModelPhase | None = None,
    filter_spec=None,
    via_statistics: bool | None = None,
    evaluate: Evaluation | None = None,
    checkpoint: Checkpointing | None = None,
    progress: bool | None = None,
    check_finite: bool = True,
):
    """Train `model` by descending the sleep-wake gradient with `optimizer`.

    **Arguments:**

    - `key`: a `jax.random` key (the run is a function of it and the step index).
    - `model`: an energy model; `sampler`: a molcomp-contract sampler of it.
    - `data`: (m, *state_shape) configurations (integer states, or real coordinates
      for a continuous model such as a `PatchyMixture`), or a data phase (`Observed(data, weights,
      batch_size)`, `ClampedChains(values, clamp, sampler)` for data over some of the
      variables, e.g. an RBM's visibles).
    - `optimizer`: an optax `GradientTransformation`; `steps`: total steps.
    - `model_phase`: default `PCD(sampler)`; `CD(sampler, k)` for CD-k. When a phase's
      sampler has `host_recovery` (the particle samplers: neighbour lists reallocated
      after an overflow), every step runs from Python (`estimate_grad`, whose chains go
      through `molcomp.sample` with recovery, then the optax update) instead of in
      compiled chunks; same keys, same history, evaluation and checkpoints.
    - `filter_spec`: which leaves train (default `model.trainable()`).
    - `via_statistics`: gradient path (see `energy_gap_grad`).
    - `evaluate`: an `Evaluation` (exact KL and AIS log-likelihood every k steps).
    - `checkpoint`: a `Checkpointing` (write, and resume from, checkpoints).
    - `progress`: tqdm bar; default when stderr is a terminal.
    - `check_finite`: stop with a `FloatingPointError` naming the step and the leaf as
      soon as a gradient or a trainable parameter holds NaN/inf (checked every step on
      the device, read once per chunk, or every step on the host path; False skips
      it). Bound the parameters by chaining `clip_params` onto the optimizer.

    **Returns:** `(model, history)` with `history` a `FitHistory`.

    **Example:**

    ```python
    bm, history = fit(key, bm, SequentialGibbs(), data, optax.adam(1e-2), steps=500,
                      evaluate=Evaluation(every=100))
    ```
    """
    check_key("key", key)
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            f"optimizer must be an optax GradientTransformation (e.g. optax.adam(1e-2)), got "
            f"{type(optimizer).__name__}"
        )
    if not isinstance(sampler, AbstractSampler):
        raise TypeError(f"sampler must be a molcomp sampler, got {type(sampler).__name__}")
    if evaluate is not None and not isinstance(evaluate, Evaluation):
        raise TypeError(f"evaluate must be a learning.Evaluation, got {type(evaluate).__name__}")
    if checkpoint is not None and not isinstance(checkpoint, Checkpointing):
        raise TypeError(
            f"checkpoint must be a learning.Checkpointing, got {type(checkpoint).__name__}"
        )
    steps = check_positive_int("steps", steps)
    if not isinstance(check_finite, bool):
        raise TypeError(f"check_finite must be a bool, got {type(check_finite).__name__}")
    if model_phase is not None and not isinstance(model_phase, AbstractModelPhase):
        raise TypeError(
            "model_phase must be a learning model phase (PCD, CD, FreshChains), got "
            f"{type(model_phase).__name__}"
        )
    if not isinstance(data, AbstractDataPhase | np.ndarray | jax.Array | list | tuple):
        raise TypeError(
            "data must be an array of configurations or a learning data phase, got "
            f"{type(data).__name__}"
        )
    sampler.check_model(model)
    data_phase = _data_phase(model, data)
    model_phase = PCD(sampler) if model_phase is None else model_phase
    spec = model.trainable() if filter_spec is None else filter_spec
    eval_every = None if evaluate is None else evaluate.every
    ckpt_every = None if checkpoint is None else checkpoint.every

    k_init, k_train, k_eval = jax.random.split(key, 3)
    phase_state = init_state(k_init, model, data_phase, model_phase)
    opt_state = optimizer.init(eqx.filter(model, spec))
    target_lp = None if evaluate is None else _target(model, evaluate, data_phase)

    history, start, train_s = FitHistory(), 0, 0.0
    tree = (model, opt_state, phase_state)
    if checkpoint is not None:
        fp = _checkpoint.fingerprint(tree, key, data_phase, model_phase, spec, repr(via_statistics))
        opt_text = _checkpoint.describe_optimizer(optimizer)
        loaded = _checkpoint.load(checkpoint.directory, tree, fp, opt_text)
        if loaded is not None:
            start, tree, hist = loaded
            history = FitHistory(**hist)
            train_s = history.seconds
            if start > steps:
                raise ValueError(f"the checkpoint holds step {start}, beyond steps={steps}")

    size = min(v for v in (eval_every, ckpt_every, 50) if v is not None)
    on_host = needs_host(data_phase, model_phase)
    leaf_names = _leaf_names(eqx.filter(model, spec))
    progress = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=steps, initial=start, disable=not progress, unit="step", leave=False)
    while start < steps:
        # Chunks end at every evaluation and checkpoint step (the key schedule depends
        # only on the step index, so chunking does not change the run).
        stop = min(
            [steps, start + size] + [(start // e + 1) * e for e in (eval_every, ckpt_every) if e]
        )
        t0 = time.perf_counter()
        args = (k_train, tree, start, stop - start, optimizer, data_phase, model_phase)
        args += (spec, via_statistics, size, check_finite)
        if on_host:
            tree, gn, gap, bad_g, bad_p = host_chunk(*args, on_step=lambda: bar.update(1))
        else:
            tree, gn, gap, bad_g, bad_p = train_chunk(*args)  # waits for the chunk
            bar.update(stop - start)
        if check_finite:
            _raise_non_finite(bad_g, bad_p, leaf_names)
        train_s += time.perf_counter() - t0
        history.grad_norm += gn.tolist()
        history.energy_gap += gap.tolist()
        model = tree[0]
        if eval_every and (stop % eval_every == 0 or stop == steps):
            key_eval = jax.random.fold_in(k_eval, stop)
            _evaluate(
                history, stop, train_s, key_eval, model, sampler, evaluate, data_phase, target_lp
            )
        if checkpoint is not None and (stop == steps or (ckpt_every and stop % ckpt_every == 0)):
            history.seconds = train_s
            _checkpoint.save(checkpoint.directory, stop, tree, history.to_dict(), fp, opt_text)
        bar.set_postfix(grad_norm=f"{gn[-1]:.3g}")
        start = stop
    bar.close()
    history.seconds = train_s
    return tree[0], history


def _observed_model(model, evaluate, data_phase):
    """The energy model of the observed variables (the data phase's columns)."""
    data, _ = data_phase.observed()
    observed = model if evaluate.marginal is None else evaluate.marginal(model)
    if data.shape[1:] != tuple(observed.state_shape):
        raise ValueError(
            f"the observed data have shape {data.shape} but the model of the observed "
            f"variables takes configurations of shape {tuple(observed.state_shape)}; for "
            "data over some of the variables give Evaluation(marginal=...)"
        )
    return observed


def _enumerable(model) -> bool:
    if not model.is_discrete or len(model.state_shape) != 1:
        return False
    return molcomp.exact.n_configurations(model) <= molcomp.exact.MAX_STATES


def _target(model, evaluate, data_phase):
    """Target log-probabilities over the observed enumeration, or None (no exact KL)."""
    observed = _observed_model(model, evaluate, data_phase)
    if not _enumerable(observed):
        return None
    target = evaluate.target
    if target is None:
        data, weights = data_phase.observed()
        return empirical_log_probs(observed, data, weights)
    if isinstance(target, molcomp.AbstractEnergyModel):
        return molcomp.exact.log_probabilities(target)
    lp = jnp.asarray(target, jnp.float32)
    total = molcomp.exact.n_configurations(observed)
    if lp.shape != (total,):
        raise ValueError(
            f"target must hold log-probabilities of all {total} observed configurations, "
            f"got shape {lp.shape}"
        )
    return lp


def _evaluate(history, step, train_s, key, model, sampler, evaluate, data_phase, target_lp):
    observed = _observed_model(model, evaluate, data_phase)
    kl = math.nan
    if target_lp is not None:
        kl = float(_exact_kl(observed, target_lp))
    ll = se = math.nan
    if evaluate.ais is not None:
        data, w = data_phase.observed()
        marginal = None if evaluate.marginal is None else observed
        value, info = _ais(evaluate.ais, key, model, sampler, data, w, marginal)
        ll, se = float(value), float(info.stderr)
    history.eval_step.append(step)
    history.kl.append(kl)
    history.log_likelihood.append(ll)
    history.log_likelihood_stderr.append(se)
    history.train_s.append(train_s)
