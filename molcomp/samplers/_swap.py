"""Swap Metropolis for the canonical place model: moves exchange two sites' species."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..checks import check_key, check_positive_int
from ..potts._potts import PlaceModel
from ._base import AbstractPottsSampler, ChainState, SamplerInfo


class SwapMetropolis(AbstractPottsSampler):
    """Metropolis on pair exchanges, which keep the composition fixed.

    A step makes `moves_per_site * n` proposals, each exchanging two uniformly chosen
    distinct sites (a symmetric proposal), accepted with min(1, exp(-dE)).
    Proposals are sequential (`lax.fori_loop`) because two swaps can share sites or
    neighbours; each costs O(k).

    **Arguments:**

    - `neighbour_swaps`: propose only exchanges between neighbouring sites (local
      moves, still symmetric) instead of any pair.
    - `moves_per_site`: proposals per site per step.
    """

    neighbour_swaps: bool = eqx.field(static=True, default=False)
    moves_per_site: int = eqx.field(static=True, default=1)

    def __check_init__(self):
        check_positive_int("moves_per_site", self.moves_per_site)

    def check_model(self, model) -> None:
        """TypeError unless `model` is a `PlaceModel` (swaps keep its composition)."""
        super().check_model(model)
        self._require(
            model, PlaceModel, "BlockGibbs or Metropolis for a grand-canonical PottsModel"
        )

    def step(self, key, model, state, prepared=None):
        """`moves_per_site * n` swap proposals on one chain: (state, `SamplerInfo`)."""
        check_key("key", key)
        tables = model.tables() if prepared is None else prepared
        lat = model.lattice
        n = lat.n_sites
        moves = self.moves_per_site * n
        k_x, k_y, k_u = jax.random.split(key, 3)
        x = jax.random.randint(k_x, (moves,), 0, n)
        if self.neighbour_swaps:
            # A uniform slot of x; padded slots point at x itself and are rejected, which
            # keeps the proposal symmetric on irregular graphs.
            slot = jax.random.randint(k_y, (moves,), 0, lat.max_degree)
            y = lat.neighbours[x, slot]
            real = lat.mask[x, slot]
        else:
            y = (x + 1 + jax.random.randint(k_y, (moves,), 0, n - 1)) % n
            real = jnp.ones(moves, bool)
        log_u = jnp.log(jax.random.uniform(k_u, (moves,)))

        def body(i, carry):
            sigma, acc = carry
            xi, yi = x[i], y[i]
            dE = model.swap_delta(sigma, xi, yi, tables)
            ok = real[i] & (sigma[xi] != sigma[yi]) & (log_u[i] < -dE)
            a, b = sigma[xi], sigma[yi]
            sigma = sigma.at[xi].set(jnp.where(ok, b, a)).at[yi].set(jnp.where(ok, a, b))
            return sigma, acc + ok

        sigma, acc = jax.lax.fori_loop(0, moves, body, (state.config, jnp.int32(0)))
        return ChainState(sigma, state.aux), SamplerInfo(acceptance=acc / moves)
