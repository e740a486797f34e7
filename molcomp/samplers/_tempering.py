"""Replica exchange (parallel tempering) over a ladder of inverse temperatures and/or
chemical potentials.

Replica r samples the model with beta and/or mu replaced by the r-th rung of the
ladder. A step is one sweep of an inner sampler on every replica (vmapped), then swap
attempts between neighbouring replicas. Swapping the configurations x_i and x_j of
replicas i and j is accepted with probability min(1, a),

$$\\ln a = E_i(x_i) + E_j(x_j) - E_i(x_j) - E_j(x_i),$$

with E_r the full energy (in kT) under replica r's model, so the joint distribution
prod_r exp(-E_r(x_r)) / Z_r is preserved for any family of models. For a beta ladder
(E_r = beta_r B - M, B the bond energy, M the chemical-potential term) this is the
familiar ln a = (beta_i - beta_j) (B(x_i) - B(x_j)).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._model import AbstractEnergyModel
from ..checks import as_finite_float, check_key, is_concrete
from ._base import AbstractSampler, ChainState, SamplerInfo, _shape


class ReplicaInfo(SamplerInfo):
    """Diagnostics of one replica-exchange step.

    - `acceptance`: the inner sampler's acceptance per replica (R,).
    - `swap_acceptance`: min(1, a) of each neighbouring pair (R - 1,), whether or not
      the pair was tried this step (its mean over steps is the swap acceptance rate).
    - `swapped`: which pairs swapped (R - 1,).
    - `inner`: the inner sampler's whole info per replica (leading axis R).
    """

    swap_acceptance: Float[Array, "*chains R-1"]
    swapped: Bool[Array, "*chains R-1"]
    inner: SamplerInfo


class Replicas(eqx.Module):
    """`ChainState.aux` of replica exchange.

    - `inner`: the inner sampler's aux of every replica (leading axis R), e.g. the
      partner tables of neighbour proposals; it belongs to the replica's model and so
      stays put when configurations swap (see `AbstractSampler.with_config`).
    - `sweep`: steps made so far; its parity picks the pairs a step tries to swap.
    """

    inner: object
    sweep: Int[Array, ""]


class ReplicaExchange(AbstractSampler):
    """Replica exchange: `sampler` on every rung of a ladder, plus neighbour swaps.

    Replica r samples the model with `beta = betas[r]` and/or `mu = mus[r]` (the model
    passed to `init` / `step` supplies everything else). One step makes one `step` of
    the inner sampler on every replica (vmapped), then tries to swap the configurations
    of the pairs (r, r + 1) with r even on even steps and r odd on odd steps
    (deterministic even-odd alternation), each accepted with min(1, a),

    $$\\ln a = E_r(x_r) + E_{r+1}(x_{r+1}) - E_r(x_{r+1}) - E_{r+1}(x_r).$$

    Every swap move leaves prod_r p_r(x_r) invariant, so each replica samples its own
    model exactly. Drive it with `molcomp.sample` (a leading axis of the state is
    independent replica-exchange chains; observables are evaluated per replica, under
    the replica's own model).

    **Arguments:**

    - `sampler`: the inner sampler, any sampler whose steps leave the model's
      distribution invariant (`sampler.invariant`; not `Gillespie`, whose steps sample
      its jump chain) and whose state is a `ChainState`.
    - `betas`: (R,) strictly increasing, non-negative inverse temperatures that replace
      the model's field `beta` (for the Potts models it scales the couplings only), or
      None to keep the model's beta.
    - `mus`: (R, *mu.shape) chemical potentials per replica, replacing the model's field
      `mu` (`PottsModel`), or None.

    At least one ladder, with R >= 2 rungs; with both, they have the same length.

    `state.config` has shape (R, *state_shape), or (chains, R, *state_shape); `info`
    is a `ReplicaInfo`.

    **Example:**

    ```python
    pt = molcomp.ReplicaExchange(molcomp.BlockGibbs(), betas=jnp.linspace(0.2, 1.0, 8))
    state = pt.init(model, config)
    out = molcomp.sample(key, model, pt, state, 1000, mean_fn=molcomp.observables.energy)
    out.mean  # (8,) mean energy of each replica; out.info.swap_acceptance: (7,) rates
    ```
    """

    sampler: AbstractSampler
    betas: Float[Array, " R"] | None
    mus: Float[Array, "R ..."] | None

    def __init__(self, sampler: AbstractSampler, *, betas=None, mus=None):
        if not isinstance(sampler, AbstractSampler):
            raise TypeError(f"sampler must be a molcomp sampler, got {type(sampler).__name__}")
        if not sampler.invariant:
            raise TypeError(
                f"sampler must leave the model's distribution invariant at every step; "
                f"{type(sampler).__name__} does not (its steps sample a jump chain), so "
                "replica swaps would be biased"
            )
        if betas is None and mus is None:
            raise ValueError("ReplicaExchange needs a ladder: pass betas, mus or both")
        self.sampler = sampler
        self.betas = None if betas is None else _ladder("betas", betas, 1)
        self.mus = None if mus is None else _ladder("mus", mus, 2)
        ladders = {"betas": self.betas, "mus": self.mus}
        sizes = {name: a.shape[0] for name, a in ladders.items() if a is not None}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"betas and mus must have one rung per replica, got {sizes}")
        R = next(iter(sizes.values()))
        if R < 2:
            raise ValueError(f"ReplicaExchange needs at least 2 replicas, got {R}")
        if self.betas is not None and is_concrete(self.betas):
            b = np.asarray(self.betas)
            if np.any(b < 0):
                raise ValueError(f"betas must be >= 0, got {b}")
            if np.any(np.diff(b) <= 0):
                raise ValueError(f"betas must be strictly increasing, got {b}")

    @property
    def n_replicas(self) -> int:
        """R, the number of rungs of the ladder."""
        ladder = self.betas if self.betas is not None else self.mus
        return int(ladder.shape[0])

    def check_model(self, model) -> None:
        """TypeError / ValueError unless the inner sampler takes `model` and the model
        has the fields the ladders replace (`beta`, `mu`) with matching shapes."""
        self.sampler.check_model(model)
        for name, field, ladder in (("betas", "beta", self.betas), ("mus", "mu", self.mus)):
            if ladder is None:
                continue
            value = getattr(model, field, None)
            if not eqx.is_array(value):
                raise TypeError(
                    f"{name} replace the model's parameter `{field}`, which "
                    f"{type(model).__name__} does not have"
                )
            if tuple(ladder.shape[1:]) != tuple(value.shape):
                raise ValueError(
                    f"{name} must have shape (R, *{field}.shape) = "
                    f"({ladder.shape[0]}, *{tuple(value.shape)}) for this model, "
                    f"got {tuple(ladder.shape)}"
                )

    # ---- the ladder --------------------------------------------------------------------
    def _rungs(self):
        return (self.betas, self.mus)

    @staticmethod
    def _at(model, rung):
        beta, mu = rung
        if beta is not None:
            model = eqx.tree_at(lambda m: m.beta, model, beta)
        if mu is not None:
            model = eqx.tree_at(lambda m: m.mu, model, mu)
        return model

    def replica(self, model, r: int) -> AbstractEnergyModel:
        """The model replica r samples (for exact references and observables)."""
        if not 0 <= r < self.n_replicas:
            raise ValueError(f"r must be in [0, {self.n_replicas}), got {r}")
        return self._at(model, jax.tree_util.tree_map(lambda a: a[r], self._rungs()))

    def map_replicas(self, fn: Callable, model, configs):
        """fn(replica model, config) for every replica: configs (R, ...) -> (R, ...)."""
        return jax.vmap(lambda rung, c: fn(self._at(model, rung), c))(self._rungs(), configs)

    # ---- the sampler contract ----------------------------------------------------------
    def chain_shape(self, model) -> tuple[int, ...]:
        """One chain holds a configuration per replica: (R, *inner chain shape)."""
        return (self.n_replicas, *tuple(self.sampler.chain_shape(model)))

    def observe(self, model, config, fn):
        """fn under each replica's own model: axes (R, ...)."""
        return self.map_replicas(fn, model, config)

    def init(self, model, config) -> ChainState:
        """The state of replica-exchange chains.

        **Arguments:**

        - `model`: the model whose `beta` / `mu` the ladders replace.
        - `config`: one configuration (*shape) starts every replica there; (R, *shape)
          one per replica; (chains, R, *shape) independent replica-exchange chains.

        **Returns:** a `ChainState` with `config` (R, *shape) or (chains, R, *shape)
        and `aux` a `Replicas`.
        """
        self.check_model(model)
        shape = tuple(self.sampler.chain_shape(model))
        R = self.n_replicas
        config = jnp.asarray(model.check_state(config, "config"))
        extra = config.ndim - len(shape)
        if extra == 0:
            config = jnp.broadcast_to(config, (R, *shape))
        elif extra == 2 and config.shape[1] == R:
            return jax.vmap(lambda c: self.init(model, c))(config)
        elif extra != 1 or config.shape[0] != R:
            raise ValueError(
                f"config must have shape {_shape(shape)}, {_shape(shape, 'R')} or "
                f"{_shape(shape, 'chains', 'R')} with R = {R} replicas, got {config.shape}"
            )
        inner = jax.vmap(lambda rung, c: self.sampler.init(self._at(model, rung), c))(
            self._rungs(), config
        )
        if not isinstance(inner, ChainState):
            raise TypeError(
                "ReplicaExchange needs an inner sampler whose state is a ChainState, got "
                f"{type(inner).__name__} from {type(self.sampler).__name__}"
            )
        return ChainState(inner.config, Replicas(inner.aux, jnp.zeros((), jnp.int32)))

    def check_state(self, model, state) -> None:
        """TypeError / ValueError unless `state` comes from `ReplicaExchange.init`."""
        if not (isinstance(state, ChainState) and isinstance(state.aux, Replicas)):
            raise TypeError(
                "state must come from ReplicaExchange.init(model, config), got "
                + (
                    f"a ChainState with aux {type(state.aux).__name__}"
                    if isinstance(state, ChainState)
                    else type(state).__name__
                )
            )
        super().check_state(model, state)
        want = getattr(self.sampler, "aux_type", None)
        if want is not None and type(state.aux.inner) is not want():
            raise TypeError(
                f"state holds replicas initialised for an inner sampler with "
                f"{type(state.aux.inner).__name__} tables, not for {self.sampler.label()} "
                f"(tables {want().__name__}); initialise it with this ReplicaExchange"
            )

    def prepare(self, model):
        """The inner sampler's tables of every replica, stacked (leading axis R)."""
        return jax.vmap(lambda rung: self.sampler.prepare(self._at(model, rung)))(self._rungs())

    def step(self, key, model, state, prepared=None):
        """One inner step on every replica, then the swap attempts of this step's
        parity: (state, `ReplicaInfo`)."""
        check_key("key", key)
        R = self.n_replicas
        if tuple(state.config.shape) != self.chain_shape(model):
            raise ValueError(
                f"ReplicaExchange.step needs the state of one chain from its init, config "
                f"(R, ...) with R = {R}, got config of shape {state.config.shape}; drive "
                "it with molcomp.sample (a leading axis is independent chains)"
            )
        tables = self.prepare(model) if prepared is None else prepared
        k_sweep, k_swap = jax.random.split(key)

        def sweep(k, rung, st, tab):
            return self.sampler.step(k, self._at(model, rung), st, tab)

        inner = ChainState(state.config, state.aux.inner)
        inner, inner_info = jax.vmap(sweep)(
            jax.random.split(k_sweep, R), self._rungs(), inner, tables
        )
        log_a = self.log_swap_acceptance(model, tables, inner.config)
        pairs = jnp.arange(R - 1)
        tried = pairs % 2 == state.aux.sweep % 2
        u = jax.random.uniform(k_swap, (R - 1,))
        swapped = tried & (jnp.log(u) < log_a)
        up = jnp.concatenate([swapped, jnp.zeros(1, bool)])  # r takes x_{r+1}
        down = jnp.concatenate([jnp.zeros(1, bool), swapped])  # r takes x_{r-1}
        source = jnp.arange(R) + up.astype(jnp.int32) - down.astype(jnp.int32)
        inner = jax.vmap(
            lambda rung, st, c: self.sampler.with_config(self._at(model, rung), st, c)
        )(self._rungs(), inner, inner.config[source])
        info = ReplicaInfo(
            acceptance=inner_info.acceptance,
            swap_acceptance=jnp.exp(jnp.minimum(log_a, 0.0)),
            swapped=swapped,
            inner=inner_info,
        )
        return ChainState(inner.config, Replicas(inner.aux, state.aux.sweep + 1)), info

    def log_swap_acceptance(self, model, tables, configs) -> Float[Array, " R-1"]:
        """ln a of swapping replicas r and r + 1, for every r: (R - 1,).

        From the full energies of both configurations under both replicas' models, with
        the replicas' prepared tables (`prepare`; the inner sampler's
        `prepared_energy`): E_r(x_r) + E_{r+1}(x_{r+1}) - E_r(x_{r+1}) - E_{r+1}(x_r).
        """
        rungs = self._rungs()

        def energies(rung, tab, c):
            return self.sampler.prepared_energy(self._at(model, rung), tab, c)

        def lower(t):
            return jax.tree_util.tree_map(lambda a: a[:-1], t)

        def upper(t):
            return jax.tree_util.tree_map(lambda a: a[1:], t)

        own = jax.vmap(energies)(rungs, tables, configs)
        crossed = jax.vmap(energies)(lower(rungs), lower(tables), configs[1:]) + jax.vmap(energies)(
            upper(rungs), upper(tables), configs[:-1]
        )
        return own[:-1] + own[1:] - crossed


def _ladder(name: str, value, ndim: int):
    """A ladder as a float32 array with a leading rung axis (`ndim`: at least)."""
    if is_concrete(value):
        arr = as_finite_float(name, value)
        if arr.ndim < ndim or (ndim == 1 and arr.ndim != 1):
            want = "(R,)" if ndim == 1 else "(R, *mu.shape)"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
        return jnp.asarray(arr, jnp.float32)
    if jnp.ndim(value) < ndim or (ndim == 1 and jnp.ndim(value) != 1):
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {jnp.shape(value)}")
    return jnp.asarray(value, jnp.float32)
