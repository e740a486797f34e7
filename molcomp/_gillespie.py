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
and neighbour state; m for m stored structures), the empty state, and all remaining
species together, whose bonds vanish, so their summed rate follows from the sorted
chemical potentials in O(log q). An event therefore costs O(k^2 P + k log n), not O(q):
site rates live in a binary sum tree, and an event refreshes the site and its k
neighbours.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _sumtree
from ._potts import PottsModel
from ._sampler import AbstractSampler, ChainState, categorical_from_weights


class Clock(eqx.Module):
    """Gillespie chain state kept in `ChainState.aux`: the physical time."""

    time: jax.Array


class Prepared(eqx.Module):
    """Per-run tables derived from the model (see `Gillespie.prepare`)."""

    T: jax.Array  # (D, S, S) beta * J, padded with the empty state
    mu: jax.Array  # (S,) chemical potential per state (0 for the empty state)
    partners: jax.Array  # (D, S, P) states a with T[d][a, b] != 0, -1 pads
    order: jax.Array  # (q,) species sorted by mu
    mu_sorted: jax.Array  # (q,)
    cum: jax.Array  # (q + 1,) cumulative exp(mu_sorted - max mu)
    mu_max: jax.Array


class Gillespie(AbstractSampler):
    """Rejection-free continuous-time Metropolis kinetics; one step is `events` events.

    **Arguments:**

    - `empty_prob`: p_e, the proposal weight of the empty state (as in `Metropolis`).
    - `rate`: nu, attempts per site per unit of physical time.
    - `partners`: P, the most states coupled (J != 0) to one neighbour state in one
      direction; exactness needs every such partner, so a model with more raises.
    - `events`: events per step (default: one per site, a sweep's worth).

    `info` holds `dt` (physical time of the step), `acceptance` (1: every event
    changes the state) and `holding` (sum of expected holding times 1 / R, the weights of
    residence-time averages); `state.aux.time` is the physical clock.
    """

    empty_prob: float = eqx.field(static=True, default=0.1)
    rate: float = eqx.field(static=True, default=1.0)
    partners: int = eqx.field(static=True, default=8)
    events: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if not 0.0 <= self.empty_prob < 1.0:
            raise ValueError(f"empty_prob must be in [0, 1), got {self.empty_prob}")
        if not (np.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be positive and finite, got {self.rate}")
        if self.partners < 1:
            raise ValueError(f"partners must be >= 1, got {self.partners}")
        if self.events is not None and self.events < 1:
            raise ValueError(f"events must be >= 1, got {self.events}")

    def check_model(self, model) -> None:
        super().check_model(model)
        self._require(model, PottsModel, "SwapMetropolis for a fixed composition")
        if model.n_states < 2:
            raise ValueError("Gillespie needs at least two site states")

    def _init_one(self, model, config):
        return ChainState(config, Clock(jnp.zeros((), jnp.float32)))

    def prepare(self, model) -> Prepared:
        """Dense tables, the sparse partner list and the sorted chemical potentials."""
        T, mu = model.tables()
        P = min(self.partners, model.n_states)
        nonzero = jnp.swapaxes(T != 0, 1, 2)  # [d, b, a]: a couples to neighbour b
        count = nonzero.sum(-1)
        T = eqx.error_if(
            T,
            jnp.any(count > P),
            "Gillespie(partners=P) is too small: a state couples to more than P states "
            "in one direction",
        )
        val, idx = jax.lax.top_k(nonzero.astype(jnp.float32), P)
        partners = jnp.where(val > 0, idx, -1).astype(jnp.int32)
        q = model.q
        order = jnp.argsort(mu[:q])
        mu_sorted = mu[:q][order]
        top = mu_sorted[-1]
        cum = jnp.concatenate([jnp.zeros(1), jnp.cumsum(jnp.exp(mu_sorted - top))])
        return Prepared(T, mu, partners, order.astype(jnp.int32), mu_sorted, cum, top)

    # ---- rates -----------------------------------------------------------------------
    def _mix(self, model):
        p_e = self.empty_prob if model.empty else 0.0
        return (1.0 - p_e) / (model.n_states - 1), p_e

    def _channels(self, model, prep: Prepared, sigma, x):
        """Channels of site x: (rates (C,), targets (C,), L, excluded (C - 1,)).

        Channels: the k * P candidate species, the empty state, and "any other species"
        (target -1), whose members have rate nu * A * min(1, exp(mu_a + L)).
        """
        lat = model.lattice
        d = jnp.asarray(model._directions())
        nb = sigma[lat.neighbours[x]]  # (k,)
        mask = lat.mask[x]
        s = sigma[x]
        A, p_e = self._mix(model)
        nu = self.rate

        def site_energy(a):  # (c,) states -> (c,) energies of those states at x
            bonds = prep.T[d[None, :], a[:, None], nb[None, :]]
            return jnp.sum(jnp.where(mask[None], bonds, 0.0), axis=1) - prep.mu[a]

        e_s = site_energy(s[None])[0]
        cand = jnp.where(mask[:, None], prep.partners[d, nb], -1).ravel()  # (k P,)
        first = jnp.arange(cand.size)
        dup = jnp.any((cand[:, None] == cand[None, :]) & (first[None, :] < first[:, None]), 1)
        valid = (cand >= 0) & ~dup
        is_empty = model.empty & (s == model.q)
        q_rev = A + p_e * is_empty
        dE = site_energy(jnp.maximum(cand, 0)) - e_s
        r_cand = nu * jnp.minimum(A, q_rev * jnp.exp(-dE))
        r_cand = jnp.where(valid & (cand != s), r_cand, 0.0)
        if model.empty:
            r_empty = jnp.where(is_empty, 0.0, nu * jnp.minimum(A + p_e, A * jnp.exp(e_s)))
        else:
            r_empty = jnp.zeros(())
        # The excluded species: valid candidates and the current species.
        excluded = jnp.concatenate([jnp.where(valid, cand, -1), jnp.where(is_empty, -1, s)[None]])
        excluded = jnp.where(
            (excluded == s) & (jnp.arange(excluded.size) < cand.size), -1, excluded
        )
        L = e_s + jnp.log(q_rev / A)
        w_excl = jnp.where(
            excluded >= 0, jnp.minimum(1.0, jnp.exp(prep.mu[jnp.maximum(excluded, 0)] + L)), 0.0
        )
        n_excl = jnp.sum(excluded >= 0)
        total, _, _ = self._all_species(prep, L)
        rest = jnp.where(n_excl >= model.q, 0.0, jnp.maximum(total - jnp.sum(w_excl), 0.0))
        rates = jnp.concatenate([r_cand, r_empty[None], (nu * A * rest)[None]])
        targets = jnp.concatenate([cand, jnp.full(1, model.q), jnp.full(1, -1)])
        return rates, targets.astype(jnp.int32), L, excluded

    @staticmethod
    def _all_species(prep: Prepared, L):
        """sum_a min(1, exp(mu_a + L)) over all species, via the sorted mu: O(log q)."""
        t = jnp.searchsorted(prep.mu_sorted, -L, side="left")  # species with weight < 1
        q = prep.mu_sorted.size
        part = jnp.where(prep.cum[t] > 0, jnp.exp(L + prep.mu_max + jnp.log(prep.cum[t])), 0.0)
        return (q - t) + part, part, t

    def _draw_other(self, key, prep: Prepared, L, excluded, active):
        """A species not in `excluded`, with probability ~ min(1, exp(mu_a + L)), by
        rejection (only while `active`: under vmap every chain runs this loop)."""
        total, part, t = self._all_species(prep, L)
        q = prep.mu_sorted.size

        def draw(k):
            v = jax.random.uniform(k) * total
            low = jnp.searchsorted(prep.cum, v * jnp.exp(-(L + prep.mu_max)), side="right") - 1
            j = jnp.where(v < part, jnp.minimum(low, t - 1), t + jnp.floor(v - part))
            return prep.order[jnp.clip(j, 0, q - 1).astype(jnp.int32)]

        def cond(c):
            return active & jnp.any(c[1] == excluded)

        def body(c):
            k, _ = c
            k, sub = jax.random.split(k)
            return k, draw(sub)

        k0, k1 = jax.random.split(key)
        return jax.lax.while_loop(cond, body, (k0, draw(k1)))[1]

    # ---- events ----------------------------------------------------------------------
    def _site_totals(self, model, prep, sigma, sites):
        return jax.vmap(lambda x: jnp.sum(self._channels(model, prep, sigma, x)[0]))(sites)

    def _tree(self, model, prep, sigma):
        return _sumtree.build(self._site_totals(model, prep, sigma, jnp.arange(sigma.size)))

    def _event(self, key, model, prep, sigma, tree):
        """One event: (sigma, tree, expected holding time 1 / R, sampled dt)."""
        k_site, k_chan, k_other, k_dt = jax.random.split(key, 4)
        total = tree[1]
        x = _sumtree.draw(k_site, tree)
        rates, targets, L, excluded = self._channels(model, prep, sigma, x)
        c = categorical_from_weights(jax.random.uniform(k_chan), rates)
        pick_other = (c == rates.size - 1) & (rates[-1] > 0)
        other = self._draw_other(k_other, prep, L, excluded, pick_other).astype(jnp.int32)
        new = jnp.where(pick_other, other, targets[c])
        sigma = sigma.at[x].set(new.astype(sigma.dtype))
        touched = jnp.concatenate([x[None], model.lattice.neighbours[x]])
        tree = _sumtree.update(tree, touched, self._site_totals(model, prep, sigma, touched))
        dt = jax.random.exponential(k_dt) / total
        return sigma, tree, 1.0 / total, dt

    def step(self, key, model, state, prepared=None):
        prep = self.prepare(model) if prepared is None else prepared
        n_events = model.lattice.n_sites if self.events is None else self.events
        sigma = state.config
        tree = self._tree(model, prep, sigma)

        def body(carry, k):
            sigma, tree, hold, dt = carry
            sigma, tree, h, t = self._event(k, model, prep, sigma, tree)
            return (sigma, tree, hold + h, dt + t), None

        zero = jnp.zeros((), jnp.float32)
        keys = jax.random.split(key, n_events)
        (sigma, _, hold, dt), _ = jax.lax.scan(body, (sigma, tree, zero, zero), keys)
        clock = Clock(state.aux.time + dt)
        info = {"acceptance": jnp.float32(1.0), "dt": dt, "holding": hold}
        return ChainState(sigma, clock), info

    def advance(self, key, model, state: ChainState, duration, max_events: int, prepared=None):
        """Run one chain for `duration` of physical time (at most `max_events` events).

        The event that would cross the end is not made: by memorylessness the state at
        the end is then exact. Returns `(state, info)` with `info["events"]` and
        `info["complete"]` (False when `max_events` ran out first).
        """
        prep = self.prepare(model) if prepared is None else prepared
        t_end = state.aux.time + jnp.asarray(duration, jnp.float32)

        def cond(c):
            return (c[2] < t_end) & (c[3] < max_events)

        def body(c):
            key, sigma, t, n, tree = c
            key, k_dt, k_ev = jax.random.split(key, 3)
            dt = jax.random.exponential(k_dt) / tree[1]
            go = t + dt < t_end
            s2, tree2, _, _ = self._event(k_ev, model, prep, sigma, tree)
            sigma = jnp.where(go, s2, sigma)
            tree = jnp.where(go, tree2, tree)
            return key, sigma, jnp.where(go, t + dt, t_end), n + go, tree

        tree = self._tree(model, prep, state.config)
        init = (key, state.config, state.aux.time, jnp.int32(0), tree)
        _, sigma, t, n, _ = jax.lax.while_loop(cond, body, init)
        info = {"events": n, "complete": t >= t_end}
        return ChainState(sigma, Clock(t)), info


def time_average(key, model, sampler: Gillespie, state: ChainState, events: int, fn):
    """Residence-time-weighted average of fn(model, config) over `events` events of one
    chain: sum_i fn(sigma_i) / R_i / sum_i 1 / R_i, with 1 / R_i the expected holding
    time of the i-th state (lower variance than the sampled one, same limit).

    **Returns:** `(state, average)`.
    """
    prep = sampler.prepare(model)
    tree = sampler._tree(model, prep, state.config)

    def body(carry, k):
        sigma, tree, acc, w = carry
        f = fn(model, sigma)
        s2, tree2, hold, dt = sampler._event(k, model, prep, sigma, tree)
        acc = jax.tree_util.tree_map(lambda a, v: a + hold * v, acc, f)
        return (s2, tree2, acc, w + hold), dt

    zero = jax.tree_util.tree_map(
        lambda s: jnp.zeros(s.shape, jnp.float32), jax.eval_shape(fn, model, state.config)
    )
    carry = (state.config, tree, zero, jnp.zeros((), jnp.float32))
    (sigma, _, acc, w), dts = jax.lax.scan(body, carry, jax.random.split(key, events))
    mean = jax.tree_util.tree_map(lambda a: a / w, acc)
    return ChainState(sigma, Clock(state.aux.time + jnp.sum(dts))), mean
