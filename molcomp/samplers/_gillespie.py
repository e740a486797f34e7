"""Rejection-free continuous-time kinetics (Gillespie / BKL) for grand-canonical Potts
mixtures with many species and sparse couplings.

The generator is the continuous-time limit of single-site Metropolis with the uniform
proposal of `Metropolis(proposal="uniform", empty_prob=p_e)`: every site attempts a
move at rate nu (the common clock: one Metropolis sweep is 1 / nu of physical time),
proposing state s' with q(s' | s) = p_u / (S - 1) [s' != s] + p_e [s' = empty]
(p_u = 1 - p_e), so that

    W(s -> s') = nu * min(q(s' | s), q(s | s') exp(-Delta E)),

which satisfies detailed balance with p ~ exp(-E). A site's channels are: the species
coupled to one of its neighbours (from a sparse partner list, at most P per direction
and neighbour state, with their couplings; m for m stored structures), the empty state,
and all remaining species together, whose bonds vanish, so their summed rate follows
from the sorted chemical potentials in O(log q). Candidates are compared pairwise,
which both merges repeats and sums each one's bonds, so no dense q x q table is read.
An event therefore costs O(k (kP)^2 + k sqrt n), not O(q): site rates live in a
two-level sum tree (`_sumtree`), and an event reads and writes only the site, its k
neighbours and their blocks - also when it is masked out, as in `run_for`.

`molcomp.sample` drives it like any sampler (one step: `events` events, the sum tree of
site rates carried from step to step). Observed after a fixed number of events, a
continuous-time chain samples its jump chain, whose stationary law is pi(x) R(x) with
R(x) the total exit rate; each observation is therefore weighted by the expected
holding time 1 / R of the state it sees (`observation_weight`), which makes
`sample`'s mean the time average, exact in the long run.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from ..checks import check_fraction, check_key, check_positive_int, check_real
from ..potts._potts import PottsModel
from . import _sumtree
from ._base import AbstractPottsSampler, ChainState, SamplerInfo, categorical_from_weights

CHUNK = 16  # events per masked inner loop of `Gillespie.run_for`
TRIES = 4  # "other species" proposals drawn at once before a rejection loop
# uniforms per event: the waiting time, the channel, the site, the proposals
N_UNIFORMS = 2 + _sumtree.N_UNIFORMS + TRIES


def _blocks(a):
    """A sorted (m,) array as (ceil(m / G), G) blocks, G ~ sqrt(m), padded with +inf."""
    G = max(1, round(a.size**0.5))
    n = -(-a.size // G) * G
    return jnp.full(n, jnp.inf, a.dtype).at[: a.size].set(a).reshape(-1, G)


def _rank(blocks, v, strict: bool):
    """How many entries of `_blocks` output are < v (strict) or <= v: the block by its
    first entry, then within it. O(sqrt m) compares in a few fused operations, where a
    binary search would be an inner loop of log m steps in every event."""
    below = (lambda a: a < v) if strict else (lambda a: a <= v)
    b = jnp.maximum(jnp.sum(below(blocks[:, 0])) - 1, 0)
    return b * blocks.shape[1] + jnp.sum(below(blocks[b]))


class GillespieInfo(SamplerInfo):
    """Diagnostics of one Gillespie step: `acceptance` (1: every event is made), `dt`
    (physical time the step's events took) and `holding` (the expected holding time
    1 / R of the state the step ends in: the weight of its observation in a
    residence-time average, see `Gillespie.observation_weight`)."""

    dt: jax.Array
    holding: jax.Array


class DurationInfo(eqx.Module):
    """What `Gillespie.run_for` reports: `events` made and whether the run `complete`d
    its duration (False when `max_events` ran out first)."""

    events: jax.Array
    complete: jax.Array


class Clock(eqx.Module):
    """Gillespie chain state kept in `ChainState.aux`: the physical time."""

    time: jax.Array


class Running(eqx.Module):
    """The scan carry of `molcomp.sample` over Gillespie: the chain state and its sum
    tree of site rates (kept across steps instead of rebuilt every step)."""

    state: ChainState
    tree: _sumtree.SumTree


class Prepared(eqx.Module):
    """Per-run tables derived from the model (see `Gillespie.prepare`)."""

    mu: jax.Array  # (S,) chemical potential per state (0 for the empty state)
    partners: jax.Array  # (D, S, P) states a with T[d][a, b] != 0 (T = beta J), -1 pads
    values: jax.Array  # (D, S, P) T[d][a, b] for those a, 0 at pads
    order: jax.Array  # (q,) species sorted by mu
    mu_sorted: jax.Array  # (q,) in `_blocks`
    cum: jax.Array  # (q + 1,) cumulative exp(mu_sorted - max mu), in `_blocks`
    mu_max: jax.Array


class Gillespie(AbstractPottsSampler):
    """Rejection-free continuous-time Metropolis kinetics; one step is `events` events.

    **Arguments:**

    - `empty_prob`: p_e, the proposal weight of the empty state (as in `Metropolis`).
    - `rate`: nu, attempts per site per unit of physical time.
    - `partners`: P, the most states coupled (J != 0) to one neighbour state in one
      direction; exactness needs every such partner, so a model with more raises.
    - `events`: events per step (default: one per site, a sweep's worth).

    `info` holds `dt` (physical time of the step), `acceptance` (1: every event
    changes the state) and `holding` (the expected holding time 1 / R of the state the
    step ends in); `state.aux.time` is the physical clock. A run for a physical
    duration is `run_for`.

    Steps of a fixed number of events sample the jump chain (law pi(x) R(x)), not pi:
    `molcomp.sample` weights each observation by `holding`, so its `mean` is the
    residence-time average, and replica exchange refuses this sampler
    (`invariant = False`).

    **Example:**

    ```python
    g = molcomp.Gillespie(events=1)
    state = g.init(model, config)
    out = molcomp.sample(key, model, g, state, 10_000, mean_fn=molcomp.observables.counts)
    out.mean  # time-averaged counts; state.aux.time: the physical clock
    ```
    """

    invariant: ClassVar[bool] = False
    state_aux: ClassVar[type] = Clock  # the physical clock

    empty_prob: float = eqx.field(static=True, default=0.1)
    rate: float = eqx.field(static=True, default=1.0)
    partners: int = eqx.field(static=True, default=8)
    events: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        check_fraction("empty_prob", self.empty_prob, open_high=True)
        check_real("rate", self.rate, minimum=0.0, strict=True)
        check_positive_int("partners", self.partners)
        if self.events is not None:
            check_positive_int("events", self.events)

    def check_model(self, model) -> None:
        """TypeError / ValueError unless `model` is a `PottsModel` with >= 2 states."""
        super().check_model(model)
        self._require(model, PottsModel, "SwapMetropolis for a fixed composition")
        if model.n_states < 2:
            raise ValueError("Gillespie needs at least two site states")

    def _init_one(self, model, config):
        return ChainState(config, Clock(jnp.zeros((), jnp.float32)))

    def prepare(self, model) -> Prepared:
        """The sparse partner lists with their couplings and the sorted chemical
        potentials."""
        T, mu = model.tables()
        P = min(self.partners, model.n_states)
        T = jnp.swapaxes(T, 1, 2)  # [d, b, a]: a at the site, b its neighbour
        nonzero = T != 0
        count = nonzero.sum(-1)
        T = eqx.error_if(
            T,
            jnp.any(count > P),
            "Gillespie(partners=P) is too small: a state couples to more than P states "
            "in one direction",
        )
        val, idx = jax.lax.top_k(nonzero.astype(jnp.float32), P)
        partners = jnp.where(val > 0, idx, -1).astype(jnp.int32)
        values = jnp.where(val > 0, jnp.take_along_axis(T, idx, axis=2), 0.0)
        q = model.q
        order = jnp.argsort(mu[:q])
        mu_sorted = mu[:q][order]
        top = mu_sorted[-1]
        cum = jnp.concatenate([jnp.zeros(1), jnp.cumsum(jnp.exp(mu_sorted - top))])
        order = order.astype(jnp.int32)
        return Prepared(mu, partners, values, order, _blocks(mu_sorted), _blocks(cum), top)

    # ---- rates -----------------------------------------------------------------------
    def _mix(self, model):
        p_e = self.empty_prob if model.empty else 0.0
        return (1.0 - p_e) / (model.n_states - 1), p_e

    def _channels(self, model, prep: Prepared, sigma, x):
        """Channels of site x: (rates (C,), targets (C,), L, excluded (C - 1,), sums).

        Channels: the k * P candidate species, the empty state, and "any other species"
        (target -1), whose members have rate nu * A * min(1, exp(mu_a + L)); `sums` is
        `_all_species(L)`, reused to draw one of them.
        """
        lat = model.lattice
        d = jnp.asarray(model._directions())
        nb = sigma[lat.neighbours[x]].astype(jnp.int32)  # (k,)
        mask = lat.mask[x][:, None]
        s = sigma[x].astype(jnp.int32)
        A, p_e = self._mix(model)
        nu = self.rate
        cand = jnp.where(mask, prep.partners[d, nb], -1).ravel()  # (kP,)
        bond = jnp.where(mask, prep.values[d, nb], 0.0).ravel()  # to the neighbour listing it
        # A candidate's energy: its bonds to every neighbour that lists it (the lists
        # hold every nonzero coupling); a repeat is valid only at its first copy.
        same = cand[:, None] == cand[None, :]
        energy = jnp.sum(jnp.where(same, bond[None, :], 0.0), 1) - prep.mu[jnp.maximum(cand, 0)]
        valid = (cand >= 0) & ~jnp.any(same & jnp.tri(cand.size, k=-1, dtype=bool), 1)
        e_s = jnp.sum(jnp.where(cand == s, bond, 0.0)) - prep.mu[s]
        is_empty = model.empty & (s == model.q)
        q_rev = A + p_e * is_empty
        live = valid & (cand != s)
        r_cand = nu * jnp.minimum(A, q_rev * jnp.exp(e_s - energy))
        r_cand = jnp.where(live, r_cand, 0.0)
        if model.empty:
            r_empty = jnp.where(is_empty, 0.0, nu * jnp.minimum(A + p_e, A * jnp.exp(e_s)))
        else:
            r_empty = jnp.zeros(())
        # The excluded species: the other candidates and the current species, once each.
        excluded = jnp.concatenate([jnp.where(live, cand, -1), jnp.where(is_empty, -1, s)[None]])
        L = e_s + jnp.log(q_rev / A)
        w_excl = jnp.where(
            excluded >= 0, jnp.minimum(1.0, jnp.exp(prep.mu[jnp.maximum(excluded, 0)] + L)), 0.0
        )
        n_excl = jnp.sum(excluded >= 0)
        sums = self._all_species(prep, L)
        rest = jnp.where(n_excl >= model.q, 0.0, jnp.maximum(sums[0] - jnp.sum(w_excl), 0.0))
        rates = jnp.concatenate([r_cand, r_empty[None], (nu * A * rest)[None]])
        targets = jnp.concatenate([cand, jnp.full(1, model.q), jnp.full(1, -1)])
        return rates, targets.astype(jnp.int32), L, excluded, sums

    @staticmethod
    def _all_species(prep: Prepared, L):
        """sum_a min(1, exp(mu_a + L)) over all species, via the sorted mu: O(log q)."""
        t = _rank(prep.mu_sorted, -L, strict=True)
        q = prep.order.size
        cum = prep.cum.ravel()[t]
        part = jnp.where(cum > 0, jnp.exp(L + prep.mu_max + jnp.log(cum)), 0.0)
        return (q - t) + part, part, t

    def _draw_other(self, u, key, prep: Prepared, L, excluded, sums, active):
        """A species not in `excluded`, with probability ~ min(1, exp(mu_a + L)), by
        rejection: the first accepted of the proposals from uniforms `u`, then (rarely,
        and only while `active`: under vmap every chain runs the loop) fresh ones from
        `key` (a pair: key, event index)."""
        total, part, t = sums
        q = prep.order.size

        def draw(u):
            v = u * total
            w = v * jnp.exp(-(L + prep.mu_max))
            low = jax.vmap(lambda w: _rank(prep.cum, w, strict=False))(w) - 1
            j = jnp.where(v < part, jnp.minimum(low, t - 1), t + jnp.floor(v - part))
            a = prep.order[jnp.clip(j, 0, q - 1).astype(jnp.int32)]
            ok = ~jnp.any(a[:, None] == excluded[None, :], axis=1)
            return a[jnp.argmax(ok)], jnp.any(ok)

        def body(c):
            n, _, _ = c
            k = jax.random.fold_in(jax.random.fold_in(key[0], key[1]), n)
            return n + 1, *draw(jax.random.uniform(k, u.shape))

        a, ok = draw(u)
        return jax.lax.while_loop(lambda c: active & ~c[2], body, (jnp.int32(0), a, ok))[1]

    # ---- events ----------------------------------------------------------------------
    def _site_totals(self, model, prep, sigma, sites):
        return jax.vmap(lambda x: jnp.sum(self._channels(model, prep, sigma, x)[0]))(sites)

    def _tree(self, model, prep, sigma):
        return _sumtree.build(self._site_totals(model, prep, sigma, jnp.arange(sigma.size)))

    def _event(self, u, key, model, prep, sigma, tree, go=True):
        """One event from uniforms `u` (`N_UNIFORMS`; u[0], the waiting time, is the
        caller's) if `go`, else none: (sigma, tree). Either way only the site, its
        neighbours and their blocks of the tree are read and written (a masked event
        writes back what it read), so masking costs no copy of sigma or the tree."""
        x = _sumtree.descend(u[2 : 2 + _sumtree.N_UNIFORMS], tree)
        rates, targets, L, excluded, sums = self._channels(model, prep, sigma, x)
        c = categorical_from_weights(u[1], rates)
        pick_other = go & (c == rates.size - 1) & (rates[-1] > 0)
        u_other = u[u.size - TRIES :]
        other = self._draw_other(u_other, key, prep, L, excluded, sums, pick_other)
        new = jnp.where(pick_other, other, targets[c])
        sigma = sigma.at[x].set(jnp.where(go, new.astype(sigma.dtype), sigma[x]))
        touched = jnp.concatenate([x[None], model.lattice.neighbours[x]])
        rates = jnp.where(
            go,
            self._site_totals(model, prep, sigma, touched),
            _sumtree.leaves(tree, touched),
        )
        return sigma, _sumtree.update(tree, touched, rates)

    def _events(self, key, model, prep, running: Running) -> tuple[Running, GillespieInfo]:
        """`events` events of one chain from its state and sum tree."""
        n_events = model.lattice.n_sites if self.events is None else self.events

        def body(carry, k):
            sigma, tree, dt = carry
            k_u, k_more = jax.random.split(k)
            u = jax.random.uniform(k_u, (N_UNIFORMS,))
            total = tree.total
            sigma, tree = self._event(u, (k_more, 0), model, prep, sigma, tree)
            return (sigma, tree, dt - jnp.log1p(-u[0]) / total), None

        carry = (running.state.config, running.tree, jnp.zeros((), jnp.float32))
        (sigma, tree, dt), _ = jax.lax.scan(body, carry, jax.random.split(key, n_events))
        state = ChainState(sigma, Clock(running.state.aux.time + dt))
        info = GillespieInfo(acceptance=jnp.float32(1.0), dt=dt, holding=1.0 / tree.total)
        return Running(state, tree), info

    def step(self, key, model, state, prepared=None):
        """`events` events of one chain: (state, `GillespieInfo`)."""
        check_key("key", key)
        prep = self.prepare(model) if prepared is None else prepared
        running = Running(state, self._tree(model, prep, state.config))
        running, info = self._events(key, model, prep, running)
        return running.state, info

    # ---- the run hooks of `molcomp.sample`: the sum tree is carried across steps ------
    def enter(self, model, state, prepared):
        """The state with each chain's sum tree of site rates."""

        def one(st):
            return Running(st, self._tree(model, prepared, st.config))

        return one(state) if state.config.ndim == 1 else jax.vmap(one)(state)

    def advance(self, key, model, carry, prepared):
        """`step` of every chain (one key per chain, as the default), tree carried."""

        def one(k, c):
            return self._events(k, model, prepared, c)

        if carry.state.config.ndim == 1:
            return one(key, carry)
        return jax.vmap(one)(jax.random.split(key, carry.state.config.shape[0]), carry)

    def config_of(self, model, carry):
        """The configuration of every chain."""
        return carry.state.config

    def leave(self, model, carry, state):
        """The `ChainState` at the end of the run (the trees are dropped)."""
        return carry.state

    def observation_weight(self, model, carry, info):
        """The expected holding time 1 / R of the state each chain stopped in."""
        return info.holding

    def prepared_energy(self, model, prepared, config):
        """`model.prepared_energy(config)`: the energy without the range check of the
        chain's own state (the prepared tables are sparse partner lists)."""
        return model.prepared_energy(config)

    def run_for(self, key, model, state: ChainState, duration, max_events: int, prepared=None):
        """Run one chain for `duration` of physical time (at most `max_events` events).

        The event that would cross the end is not made: by memorylessness the state at
        the end is then exact. Returns `(state, info)`, a `DurationInfo` with `events` and
        `complete` (False when `max_events` ran out first).
        """
        check_key("key", key)
        prep = self.prepare(model) if prepared is None else prepared
        t_end = state.aux.time + jnp.asarray(duration, jnp.float32)
        tree = self._tree(model, prep, state.config)

        def running(t, n):
            return (t < t_end) & (n < max_events)

        # Events run in chunks of fixed length, each masked once the chain is done: a
        # loop whose condition differs between chains (under vmap) would select the
        # whole carry, O(n), after every iteration; here only once per chunk.
        def chunk(c):
            key, sigma, t, n, tree = c
            key, k_u, k_more = jax.random.split(key, 3)
            u = jax.random.uniform(k_u, (CHUNK, N_UNIFORMS))

            def event(i, c):
                sigma, t, n, tree = c
                dt = -jnp.log1p(-u[i, 0]) / tree.total
                live = running(t, n)
                go = live & (t + dt < t_end)
                sigma, tree = self._event(u[i], (k_more, i), model, prep, sigma, tree, go)
                return sigma, jnp.where(go, t + dt, jnp.where(live, t_end, t)), n + go, tree

            return key, *jax.lax.fori_loop(0, CHUNK, event, (sigma, t, n, tree))

        init = (key, state.config, state.aux.time, jnp.int32(0), tree)
        _, sigma, t, n, _ = jax.lax.while_loop(lambda c: running(c[2], c[3]), chunk, init)
        info = DurationInfo(events=n, complete=t >= t_end)
        return ChainState(sigma, Clock(t)), info
