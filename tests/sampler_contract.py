"""Reusable checks of the sampler contract, and the statistics of sampler-vs-exact tests.

`tests/test_sampler_contract.py` runs them over every exported lattice sampler with each
model it applies to; a particle or neural sampler joins by adding a `Case`. The checks:

- `check_same_key`: the same key gives the same samples, another key other samples.
- `check_jit_equals_eager`: `eqx.filter_jit(sampler.step)` equals `sampler.step`.
- `check_vmap_equals_loop`: `filter_vmap(sampler.step)` over chains equals a loop.
- `check_no_recompile`: new parameter values (beta, J, mu, a ladder, a well depth) do
  not retrace `molcomp.sample`, and do change the samples.
- `check_exact`: the means of `molcomp.sample` agree with exact enumeration (discrete
  models).

Statistics (shared with `tests/molcomp/test_samplers.py`): an observable f has standard
error sqrt(Var_exact f / ESS), ESS = chains * steps / tau with tau the largest
integrated autocorrelation time among scalar series recorded along the run; we allow
`N_SIGMA` = 5 standard errors plus `FLOOR` = 1e-3 (float32 accumulation, and features
of zero variance). A 5-sigma false alarm has probability ~6e-7 per feature. A sampler
whose steps are not invariant (`sampler.invariant` False: Gillespie) has a weighted
mean, whose variance is not that of the unweighted trace; its standard error is the
spread of the independent chains' means instead, sd / sqrt(chains) (with 64 chains the
5-sigma bound of a t statistic with 63 degrees of freedom is exceeded with probability
~5e-6).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import molcomp
from molcomp import exact, observables

N_SIGMA, FLOOR = 5.0, 1e-3


# ---- statistics -----------------------------------------------------------------------
def ess_tolerance(series, var):
    """(tolerance per feature, ESS) from scalar `series` (steps, chains, n_series) and
    the exact variances `var` of the features: N_SIGMA sqrt(var / ESS) + FLOOR."""
    series = np.asarray(series)
    steps, chains = series.shape[:2]
    tau = max(observables.integrated_autocorr_time(series[..., i]) for i in range(series.shape[-1]))
    ess = steps * chains / tau
    return N_SIGMA * np.sqrt(np.maximum(var, 0.0) / ess) + FLOOR, ess


def spread_tolerance(per_chain):
    """Tolerance per feature from independent chains' means (chains, ...): N_SIGMA
    standard errors sd / sqrt(chains), plus FLOOR."""
    per_chain = np.asarray(per_chain, np.float64)
    se = per_chain.std(axis=0, ddof=1) / np.sqrt(per_chain.shape[0])
    return N_SIGMA * se + FLOOR


def marginals(model, config):
    """Site marginals as a flat feature vector (n * n_states,): any discrete model."""
    return jax.nn.one_hot(config, model.n_states, dtype=jnp.float32).ravel()


def summary(model, config):
    """Scalar series whose autocorrelation bounds that of the marginals: the energy,
    the number of sites in each state and the state of site 0."""
    hot = jax.nn.one_hot(config, model.n_states, dtype=jnp.float32)
    return jnp.concatenate([model.energy(config)[None], hot.sum(0), hot[0]])


class CountingTrace:
    """`summary` as a trace_fn that counts its calls: it runs only while `sample` is
    being traced, so the count is the number of compilations (one object for all runs,
    so that compilations are shared)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, model, config):
        self.calls += 1
        return summary(model, config)


TRACE = CountingTrace()


# ---- cases ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    """One sampler with one model.

    - `targets`: the models whose laws the leading axis of one chain's observations
      samples (replica exchange: one per replica); empty: the model itself, no axis.
    - `variants(model, sampler)`: (model, sampler) pairs with other parameter values
      (same structure) for `check_no_recompile`.
    - `discrete`: whether `check_exact` applies (exact enumeration).
    """

    name: str
    model: object
    sampler: object
    variants: Callable
    targets: tuple = ()
    discrete: bool = True

    def starts(self, key, chains):
        """Exact draws from the targets: (chains, *chain_shape), already in equilibrium."""
        if not self.targets:
            return exact.sample(key, self.model, chains)
        keys = jax.random.split(key, len(self.targets))
        return jnp.stack([exact.sample(k, m, chains) for k, m in zip(keys, self.targets)], 1)

    def exact_moments(self):
        """(mean, variance) of `marginals` under each target: ([R,] F) each."""
        if not self.targets:
            return _moments(self.model)
        both = [_moments(m) for m in self.targets]
        return np.stack([m for m, _ in both]), np.stack([v for _, v in both])


def _marginals_and_squares(model, config):
    f = marginals(model, config)
    return f, f * f


_expect = eqx.filter_jit(exact.expectation)  # models of one structure share a compilation


def _moments(model):
    mean, square = _expect(model, _marginals_and_squares)
    mean = np.asarray(mean)
    return mean, np.asarray(square) - mean**2


@dataclasses.dataclass
class Runs:
    """Three runs of `molcomp.sample` sharing one compilation: key 0 twice, key 1 once,
    from exact draws, with `TRACE` and `marginals` recorded."""

    case: Case
    state: object
    first: object
    again: object
    other: object


def sample(case, key, state, steps, model=None, sampler=None):
    """`molcomp.sample` with the contract's observables (static: one compilation)."""
    model = case.model if model is None else model
    sampler = case.sampler if sampler is None else sampler
    return molcomp.sample(
        key, model, sampler, state, steps, trace_fn=TRACE, mean_fn=marginals, progress=False
    )


def make_runs(case: Case, chains: int, steps: int) -> Runs:
    """The runs every check below reads."""
    configs = case.starts(jax.random.key(100), chains)
    state = case.sampler.init(case.model, configs)
    runs = [sample(case, jax.random.key(k), state, steps) for k in (0, 0, 1)]
    return Runs(case, state, *runs)


# ---- checks ---------------------------------------------------------------------------
def _leaves_equal(a, b):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _leaves_close(a, b):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


def check_same_key(runs: Runs):
    """Same key: identical trace, mean, info and final state; other key: other samples."""
    _leaves_equal(runs.first.trace, runs.again.trace)
    _leaves_equal(runs.first.mean, runs.again.mean)
    _leaves_equal(runs.first.info, runs.again.info)
    _leaves_equal(runs.first.state, runs.again.state)
    assert not np.array_equal(runs.first.state.config, runs.other.state.config)
    assert not np.array_equal(runs.first.trace, runs.other.trace)
    # independent chains: no two follow the same trajectory
    energies = np.asarray(runs.first.trace)[..., 0].reshape(runs.first.trace.shape[0], -1)
    assert len({tuple(col) for col in energies.T.tolist()}) == energies.shape[1]


def _first_chains(state, n):
    return jax.tree_util.tree_map(lambda x: x[:n], state)


def _chain(state, i):
    return jax.tree_util.tree_map(lambda x: x[i], state)


@eqx.filter_jit
def jit_step(sampler, key, model, state):
    """`eqx.filter_jit(sampler.step)`, one cache for every check (keyed on structure)."""
    return sampler.step(key, model, state)


@eqx.filter_jit
def vmap_step(sampler, keys, model, state):
    """`sampler.step` vmapped over a leading chain axis of `keys` and `state`, jitted."""
    return eqx.filter_vmap(sampler.step, in_axes=(0, None, 0))(keys, model, state)


def check_jit_equals_eager(case: Case, state, key):
    """One step of one chain, jitted and op by op: the same state and info."""
    one = _chain(state, 0)
    eager = case.sampler.step(key, case.model, one)
    jitted = jit_step(case.sampler, key, case.model, one)
    _leaves_equal(eager[0].config, jitted[0].config)
    _leaves_close(eager[0], jitted[0])
    _leaves_close(eager[1], jitted[1])


def check_vmap_equals_loop(case: Case, state, key, chains: int = 4):
    """`filter_vmap(step)` over `chains` chains equals a Python loop of `step`."""
    batch = _first_chains(state, chains)
    keys = jax.random.split(key, chains)
    new, info = vmap_step(case.sampler, keys, case.model, batch)
    for i in range(chains):
        new_i, info_i = jit_step(case.sampler, keys[i], case.model, _chain(batch, i))
        _leaves_equal(new_i.config, new.config[i])
        _leaves_close(new_i, _chain(new, i))
        _leaves_close(info_i, _chain(info, i))
    assert not np.array_equal(new.config, batch.config), "the step did nothing"


def check_no_recompile(runs: Runs, steps: int):
    """Every variant (new parameter values, same structure) reuses `sample`'s
    compilation, and changes the samples."""
    case = runs.case
    before = TRACE.calls
    configs = runs.state.config
    seen = {np.asarray(runs.first.trace).tobytes()}
    for model, sampler in case.variants(case.model, case.sampler):
        state = sampler.init(model, configs)
        out = sample(case, jax.random.key(0), state, steps, model, sampler)
        seen.add(np.asarray(out.trace).tobytes())
    n = len(case.variants(case.model, case.sampler))
    assert TRACE.calls == before, f"{case.name}: a parameter change retraced sample"
    assert len(seen) == n + 1, f"{case.name}: a parameter change did not change the samples"


def check_exact(runs: Runs, moments=None):
    """max over features of |mean - exact| / tolerance, per target: <= 1 passes.

    Returns the excess (so a negative control can assert it is large)."""
    case = runs.case
    mean, var = case.exact_moments() if moments is None else moments
    out = runs.first
    per_chain = np.asarray(out.mean)  # (chains, [R,] F)
    got = per_chain.mean(axis=0)
    series = np.asarray(out.trace)  # (steps, chains, [R,] n_series)
    excess = []
    for r in range(len(case.targets) or 1):
        pick = (lambda a, axis: np.take(a, r, axis=axis)) if case.targets else (lambda a, _: a)
        if case.sampler.invariant:
            tol, _ = ess_tolerance(pick(series, 2), pick(var, 0))
        else:
            tol = spread_tolerance(pick(per_chain, 1))
        # informative: even the noisiest marginal is resolved to 0.05
        assert tol.max() < 0.05, f"{case.name}: run too short (largest tolerance {tol.max()})"
        excess.append(float(np.max(np.abs(pick(got, 0) - pick(mean, 0)) / tol)))
    return max(excess)
