"""Single-site Metropolis-Hastings for any number of species, block-parallel.

A move costs O(k) lookups (plus O(k P) for neighbour proposals), never O(S), so
q = 1600 species costs about what q = 2 does.

Randomness: one `jax.random.bits` draw of 32-bit words per sweep (2 to 5 per site).
Uniforms keep 23 bits, as `jax.random.uniform`; integers in [0, n) are a word modulo
n, uniform to within a relative n / 2^32 (below 1e-6 for n < 4000), far below the
float32 resolution of the acceptance test.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..checks import check_fraction, check_key, check_positive_int
from ..potts._potts import PottsModel
from ._base import AUX_MAKERS, AbstractPottsSampler, ChainState, SamplerInfo, free_mask


class PartnerTable(eqx.Module):
    """For each direction d and neighbour state b, up to P states a that bind b in that
    direction (J[d][a, b] < 0), strongest first; -1 pads."""

    partners: jax.Array  # (D, S, P) int32
    n_partners: jax.Array  # (D, S) int32


AUX_MAKERS[PartnerTable] = "Metropolis(proposal='neighbour')"


class Metropolis(AbstractPottsSampler):
    """Metropolis-Hastings on every colour block in turn; one step is one sweep.

    Sites of one block are not neighbours, so their accept/reject decisions are
    independent and run in parallel, each satisfying detailed balance.

    **Arguments:**

    - `proposal`: "uniform" (a different state, uniformly: symmetric) or "neighbour"
      (a mixture below, with the exact Hastings correction).
    - `neighbour_prob`: with "neighbour", the probability of proposing a binding
      partner of a random neighbour (a uniform one of its `partners` strongest
      partners in that direction). Needed for many species: a uniform proposal finds
      the right one of 1600 species too rarely.
    - `empty_prob`: probability of proposing the empty state (models with one), so
      that wrong species can leave as fast as right ones arrive.
    - `partners`: P, partners kept per (direction, neighbour state).

    The proposal is q(s' | s, nbrs) = p_u U(s' | s) + p_e [s' = empty] + p_n N(s' | nbrs)
    with p_u = 1 - p_e - p_n, U uniform over states other than s and N built from the
    partner table, which `init` derives from the model. A stale table (after training)
    still gives exact sampling, only a less efficient proposal.
    """

    proposal: str = eqx.field(static=True, default="uniform")
    neighbour_prob: float = eqx.field(static=True, default=0.5)
    empty_prob: float = eqx.field(static=True, default=0.1)
    partners: int = eqx.field(static=True, default=8)

    def __check_init__(self):
        if self.proposal not in ("uniform", "neighbour"):
            raise ValueError(f"proposal must be 'uniform' or 'neighbour', got {self.proposal!r}")
        check_fraction("neighbour_prob", self.neighbour_prob, open_high=True)
        check_fraction("empty_prob", self.empty_prob, open_high=True)
        if self.neighbour_prob + self.empty_prob >= 1.0:
            raise ValueError(
                "neighbour_prob + empty_prob must be < 1 (uniform moves keep ergodicity)"
            )
        check_positive_int("partners", self.partners)

    def check_model(self, model) -> None:
        """TypeError / ValueError unless `model` is a `PottsModel` with >= 2 states."""
        super().check_model(model)
        self._require(model, PottsModel, "SwapMetropolis for a fixed composition")
        if model.n_states < 2:
            raise ValueError("Metropolis needs at least two site states")

    def _mixture(self, model) -> tuple[float, float, float]:
        p_n = self.neighbour_prob if self.proposal == "neighbour" else 0.0
        p_e = self.empty_prob if model.empty else 0.0
        return 1.0 - p_n - p_e, p_e, p_n

    def _init_one(self, model, config):
        if self.proposal == "uniform":
            return ChainState(config)
        return ChainState(config, partner_table(model, self.partners))

    def aux_type(self) -> type:
        """`PartnerTable` for the neighbour proposal, else no aux."""
        return PartnerTable if self.proposal == "neighbour" else type(None)

    def label(self) -> str:
        """The sampler's name and proposal, for messages."""
        return f"Metropolis(proposal={self.proposal!r})"

    def _n_words(self, model) -> int:
        """Random 32-bit words per site update: accept, state, [mixture, slot, pick]."""
        _, p_e, p_n = self._mixture(model)
        return 2 + (p_e > 0.0 or p_n > 0.0) + 2 * (p_n > 0.0)

    def step(self, key, model, state, prepared=None):
        """One sweep of one chain over all colour blocks: (state, `SamplerInfo`)."""
        return self.step_free(key, model, state, None, prepared)

    def step_free(self, key, model, state, free, prepared=None):
        """One sweep in which only the sites where `free` is True (all when None) move.

        The clamping hook (`learning.Clamped`): proposals at the other sites are
        rejected, which keeps detailed balance of the conditional distribution of the
        free sites (sites of one block are updated independently). `free` is a static
        boolean mask (n,); the random numbers drawn are those of `step`; `acceptance`
        is over the free sites.
        """
        check_key("key", key)
        free = free_mask(model, free)
        tables = model.tables() if prepared is None else prepared
        sigma = state.config
        accepted = jnp.float32(0.0)
        # All randomness of the sweep in one draw: a jax.random call per block and per
        # variable (~14 a sweep) cost more than the sweep's arithmetic on CPU.
        words = jax.random.bits(key, (self._n_words(model), model.lattice.n_sites), jnp.uint32)
        start = 0
        for block in model.lattice.blocks:
            w = words[:, start : start + block.shape[0]]
            start += block.shape[0]
            new, log_hastings = self._propose(w[1:], model, sigma, block, state.aux)
            dE = model.delta_energy(sigma, block, new, tables)
            accept = jnp.log(_uniform(w[0])) < log_hastings - dE
            if free is not None:
                accept = accept & jnp.asarray(free)[block]
            cur = sigma[block]
            accepted = accepted + jnp.sum(accept & (new != cur))
            sigma = sigma.at[block].set(jnp.where(accept, new, cur).astype(sigma.dtype))
        rate = accepted / (model.lattice.n_sites if free is None else max(int(free.sum()), 1))
        return ChainState(sigma, state.aux), SamplerInfo(acceptance=rate)

    def _propose(self, words, model, sigma, block, table):
        """New states for a block and log q(s | s') - log q(s' | s), from random words
        (the state word, then with an empty state or neighbour proposals the mixture
        word, then the neighbour slot and partner words)."""
        S = model.n_states
        cur = sigma[block].astype(jnp.int32)
        b = block.shape[0]
        # The state word serves the uniform move and the neighbour fallback: each site
        # uses at most one of them (the mixture word decides), so they stay independent.
        r = _below(words[0], S - 1)
        uniform = r + (r >= cur)  # uniform over states != cur
        p_u, p_e, p_n = self._mixture(model)
        if p_e == 0.0 and p_n == 0.0:
            return uniform, jnp.zeros(b)
        c = _uniform(words[1])
        new = uniform
        if p_e > 0.0:
            new = jnp.where(c >= p_u, model.empty_state, new)
        if p_n > 0.0:
            nb_prop, nb_prob = self._neighbour_component(words, model, sigma, block, table)
            new = jnp.where(c >= p_u + p_e, nb_prop, new)
        if p_n == 0.0:
            # Uniform + empty only: q(t | s) = p_u / (S - 1) + p_e [t = empty] for t != s,
            # so the Hastings term is a constant times [s = empty] - [t = empty] (no logs
            # per site; 0 when t = s).
            gain = float(np.log1p(p_e * (S - 1) / p_u))
            empty = model.empty_state
            return new, gain * ((cur == empty).astype(jnp.float32) - (new == empty))

        def q(target, source):
            out = p_u / (S - 1) * (target != source) + p_n * nb_prob(target)
            return out + p_e * (target == model.empty_state) if p_e > 0.0 else out

        log_h = jnp.where(new == cur, 0.0, jnp.log(q(cur, new) / q(new, cur)))
        return new, log_h

    def _neighbour_component(self, words, model, sigma, block, table):
        """Sample N(. | nbrs) for each block site, and return an N(s) evaluator."""
        S = model.n_states
        lat = model.lattice
        nb = sigma[lat.neighbours[block]]  # (b, k)
        d = model._directions()[None, :]
        cand = table.partners[d, nb]  # (b, k, P)
        cnt = table.n_partners[d, nb]  # (b, k)
        valid = lat.mask[block] & (cnt > 0)
        b, k = nb.shape
        slot = _below(words[2], k)
        rows = jnp.arange(b)
        pick = _below(words[3], jnp.maximum(cnt[rows, slot], 1))
        from_partner = cand[rows, slot, pick]
        fallback = _below(words[0], S)
        prop = jnp.where(valid[rows, slot], from_partner, fallback)

        def prob(s):
            hit = jnp.any(cand == s[:, None, None], axis=-1)  # (b, k)
            per_slot = jnp.where(valid, hit / jnp.maximum(cnt, 1), 1.0 / S)
            return jnp.mean(per_slot, axis=1)

        return prop, prob


def _uniform(words):
    """Uniform floats in [0, 1) from 32-bit words (23 mantissa bits, as jax.random)."""
    one = jax.lax.bitcast_convert_type((words >> 9) | np.uint32(0x3F800000), jnp.float32)
    return one - 1.0


def _below(words, n):
    """Integers uniform in [0, n) from 32-bit words (modulo: bias below n / 2^32)."""
    return (words % jnp.asarray(n).astype(jnp.uint32)).astype(jnp.int32)


def partner_table(model: PottsModel, n: int) -> PartnerTable:
    """Strongest binding partners per (direction, neighbour state): J[d][a, b] < 0."""
    T, _ = model.tables()
    n = min(n, model.n_states)
    # For neighbour state b in direction d, the candidates a are the column T[d][:, b].
    neg, idx = jax.lax.top_k(-jnp.swapaxes(T, 1, 2), n)  # (D, S, P)
    ok = neg > 0
    return PartnerTable(jnp.where(ok, idx, -1).astype(jnp.int32), ok.sum(-1).astype(jnp.int32))
