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
from jaxtyping import Array, Float, Int

from ..checks import as_finite_float, is_concrete
from ..potts._potts import PottsModel
from ._base import AbstractSampler, ChainState, SamplerInfo, state_dtype
from ._gibbs import BlockGibbs
from ._metropolis import Metropolis
from ._swap import SwapMetropolis

# Inner samplers whose `prepare` is the model's (beta J, mu) tables, which the swap
# energies read too.
_INNER = (Metropolis, BlockGibbs, SwapMetropolis)


class ReplicaInfo(SamplerInfo):
    """Diagnostics of one replica-exchange step: `acceptance` of the inner sampler per
    replica (R,), `swap_acceptance` min(1, a) of each neighbouring pair (R - 1,), and
    which pairs `swapped`."""

    swap_acceptance: Float[Array, "*chains R-1"]
    swapped: Array


class Replicas(eqx.Module):
    """`ChainState.aux` of replica exchange.

    - `inner`: the inner sampler's aux of every replica (leading axis R), e.g. the
      partner tables of neighbour proposals; it belongs to the replica's model and so
      stays put when configurations swap.
    - `sweep`: steps made so far; its parity picks the pairs a step tries to swap.
    """

    inner: object
    sweep: Int[Array, ""]


class ReplicaExchange(AbstractSampler):
    """Replica exchange: `sampler` on every rung of a ladder, plus neighbour swaps.

    Replica r samples the model with `beta = betas[r]` and/or `mu = mus[r]` (the model
    passed to `init` / `step` supplies everything else). One step sweeps every replica
    once with `sampler` (vmapped), then tries to swap the configurations of the pairs
    (r, r + 1) with r even on even steps and r odd on odd steps (deterministic
    even-odd alternation), each accepted with min(1, a),

    $$\\ln a = E_r(x_r) + E_{r+1}(x_{r+1}) - E_r(x_{r+1}) - E_{r+1}(x_r).$$

    Every swap move leaves prod_r p_r(x_r) invariant, so each replica samples its own
    model exactly. Drive it with `molcomp.sample` (`molcomp.sample` reads a
    leading axis as independent chains).

    **Arguments:**

    - `sampler`: the inner sampler, `Metropolis`, `BlockGibbs` or `SwapMetropolis`.
    - `betas`: (R,) strictly increasing, non-negative inverse temperatures (they scale
      the couplings only; see `PottsModel`), or None to keep the model's beta.
    - `mus`: (R, q) chemical potentials per replica (`PottsModel` only), or None.

    At least one ladder, with R >= 2 rungs; with both, they have the same length.

    `state.config` has shape (R, n), or (chains, R, n); `info` holds `acceptance`
    (R,) of the inner sampler, `swap_acceptance` (R - 1,) the acceptance probability
    min(1, a) of each neighbouring pair (whether or not it was tried this step: its
    mean over steps is the swap acceptance rate) and `swapped` (R - 1,).

    **Example:**

    ```python
    pt = molcomp.ReplicaExchange(molcomp.BlockGibbs(), betas=jnp.linspace(0.2, 1.0, 8))
    state = pt.init(model, config)
    out = molcomp.sample(key, model, pt, state, 1000, mean_fn=molcomp.observables.energy)
    out.mean  # (8,) mean energy of each replica; out.acceptance: (7,) swap rates
    ```
    """

    sampler: AbstractSampler
    betas: Float[Array, " R"] | None
    mus: Float[Array, "R q"] | None

    def __init__(self, sampler: AbstractSampler, *, betas=None, mus=None):
        if not isinstance(sampler, _INNER):
            raise TypeError(
                "sampler must be a Metropolis, BlockGibbs or SwapMetropolis instance, got "
                f"{type(sampler).__name__}"
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
        ladder = self.betas if self.betas is not None else self.mus
        return int(ladder.shape[0])

    def check_model(self, model) -> None:
        self.sampler.check_model(model)
        if self.mus is not None:
            self._require(model, PottsModel, "a beta ladder for a fixed composition")
            if self.mus.shape[1] != model.q:
                raise ValueError(
                    f"mus must have shape (R, q) with q = {model.q} species, got {self.mus.shape}"
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

    def replica(self, model, r: int):
        """The model replica r samples (for exact references and observables)."""
        if not 0 <= r < self.n_replicas:
            raise ValueError(f"r must be in [0, {self.n_replicas}), got {r}")
        return self._at(model, jax.tree_util.tree_map(lambda a: a[r], self._rungs()))

    def map_replicas(self, fn: Callable, model, configs):
        """fn(replica model, config) for every replica: configs (R, n) -> (R, ...)."""
        return jax.vmap(lambda rung, c: fn(self._at(model, rung), c))(self._rungs(), configs)

    # ---- the sampler contract ----------------------------------------------------------
    def chain_shape(self, model) -> tuple[int, ...]:
        """One chain holds a configuration per replica: (R, *state_shape)."""
        return (self.n_replicas, *model.state_shape)

    def observe(self, model, config, fn):
        """fn under each replica's own model: axes (R, ...)."""
        return self.map_replicas(fn, model, config)

    def init(self, model, config) -> ChainState:
        """`config` (n,) starts every replica there; (R, n) one per replica; (chains,
        R, n) independent replica-exchange chains."""
        self.check_model(model)
        config = model.check_state(config, "config").astype(state_dtype(model.n_states))
        R, n = self.n_replicas, model.lattice.n_sites
        if config.ndim == 1:
            config = jnp.broadcast_to(config, (R, n))
        if config.ndim == 3:
            return jax.vmap(lambda c: self.init(model, c))(config)
        if config.ndim != 2 or config.shape[0] != R:
            raise ValueError(
                f"config must have shape (n,), (R, n) or (chains, R, n) with R = {R} "
                f"replicas, got {config.shape}"
            )
        inner = jax.vmap(lambda rung, c: self.sampler._init_one(self._at(model, rung), c).aux)(
            self._rungs(), config
        )
        return ChainState(config, Replicas(inner, jnp.zeros((), jnp.int32)))

    def prepare(self, model):
        """The inner sampler's tables of every replica, stacked: (beta_r J, mu_r)."""
        return jax.vmap(lambda rung: self.sampler.prepare(self._at(model, rung)))(self._rungs())

    def step(self, key, model, state, prepared=None):
        R = self.n_replicas
        if state.config.ndim != 2 or state.config.shape[0] != R:
            raise ValueError(
                f"ReplicaExchange.step needs the (R, n) state from its init with R = {R}, got "
                f"config of shape {state.config.shape}; drive it with molcomp.sample "
                "(molcomp.sample reads a leading axis as independent chains)"
            )
        tables = self.prepare(model) if prepared is None else prepared
        k_sweep, k_swap = jax.random.split(key)

        def sweep(k, rung, config, aux, tab):
            st, info = self.sampler.step(k, self._at(model, rung), ChainState(config, aux), tab)
            return st.config, info.acceptance

        configs, acceptance = jax.vmap(sweep)(
            jax.random.split(k_sweep, R), self._rungs(), state.config, state.aux.inner, tables
        )
        log_a = self.log_swap_acceptance(model, tables, configs)
        pairs = jnp.arange(R - 1)
        tried = pairs % 2 == state.aux.sweep % 2
        u = jax.random.uniform(k_swap, (R - 1,))
        swapped = tried & (jnp.log(u) < log_a)
        up = jnp.concatenate([swapped, jnp.zeros(1, bool)])  # r takes x_{r+1}
        down = jnp.concatenate([jnp.zeros(1, bool), swapped])  # r takes x_{r-1}
        source = jnp.arange(R) + up.astype(jnp.int32) - down.astype(jnp.int32)
        aux = Replicas(state.aux.inner, state.aux.sweep + 1)
        info = ReplicaInfo(
            acceptance=acceptance,
            swap_acceptance=jnp.exp(jnp.minimum(log_a, 0.0)),
            swapped=swapped,
        )
        return ChainState(configs[source], aux), info

    def log_swap_acceptance(self, model, tables, configs) -> Float[Array, " R-1"]:
        """ln a of swapping replicas r and r + 1, for every r: (R - 1,).

        From the full energies of both configurations under both models, read off the
        replicas' tables (`prepare`): E_r(x_r) + E_{r+1}(x_{r+1}) - E_r(x_{r+1}) -
        E_{r+1}(x_r).
        """

        def energy(tab, sigma):
            return table_energy(model, tab, sigma)

        lower = jax.tree_util.tree_map(lambda t: t[:-1], tables)
        upper = jax.tree_util.tree_map(lambda t: t[1:], tables)
        own = jax.vmap(energy)(tables, configs)
        crossed = jax.vmap(energy)(lower, configs[1:]) + jax.vmap(energy)(upper, configs[:-1])
        return own[:-1] + own[1:] - crossed


def table_energy(model, tables, sigma) -> Float[Array, ""]:
    """`model.energy(sigma)` from given (beta J, mu) tables, e.g. another replica's:
    one O(n k) lookup pass, without rebuilding the dense tables."""
    T, mu = tables
    lat = model.lattice
    nb = sigma[lat.neighbours]
    bond = T[model._directions()[None, :], sigma[:, None], nb]
    return 0.5 * jnp.sum(jnp.where(lat.mask, bond, 0.0)) - jnp.sum(mu[sigma])


def _ladder(name: str, value, ndim: int):
    if is_concrete(value):
        arr = as_finite_float(name, value)
        if arr.ndim != ndim:
            want = "(R,)" if ndim == 1 else "(R, q)"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
        return jnp.asarray(arr, jnp.float32)
    if jnp.ndim(value) != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {jnp.shape(value)}")
    return jnp.asarray(value, jnp.float32)
