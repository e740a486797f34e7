"""Block Gibbs (heat bath) sampling over the colour blocks of a lattice."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..checks import check_key
from ..potts._potts import PottsModel
from . import _checkerboard
from ._base import (
    AbstractPottsSampler,
    ChainState,
    SamplerInfo,
    categorical_from_uniform,
    free_mask,
)


class BlockGibbs(AbstractPottsSampler):
    """Heat bath on one colour block at a time (checkerboard on bipartite lattices).

    Every site of a block is redrawn from its exact conditional
    p(s | neighbours) proportional to exp(-E_x(s)); sites in one block are not
    neighbours, so they are conditionally independent and update in parallel.
    One step is one sweep over all blocks. Cost O(k S) per site: for small S.

    On square lattices with a checkerboard colouring (even number of columns, and of
    rows when periodic) the sweep runs the hand-written kernel in `_checkerboard`,
    whose 16-bit uniforms make each transition probability exact to within 2^-16;
    other lattices use the generic per-block path with float32 uniforms.

    **Arguments:**

    - `checkerboard`: use the checkerboard kernel (None: whenever the lattice allows;
      False: always the generic path, the simple reference kernel).

    **Example:**

    ```python
    sampler = BlockGibbs()
    state = sampler.init(model, config)
    state, info = sampler.step(key, model, state)
    ```
    """

    checkerboard: bool | None = eqx.field(static=True, default=None)

    def check_model(self, model) -> None:
        """TypeError / ValueError unless `model` is a `PottsModel` (and, with
        `checkerboard=True`, its lattice suits the checkerboard kernel)."""
        super().check_model(model)
        self._require(model, PottsModel, "SwapMetropolis for a fixed composition")
        if self.checkerboard and not _checkerboard.eligible(model.lattice):
            raise ValueError(
                "checkerboard=True needs a square lattice with an even number of columns "
                f"(and rows, if periodic); got {model.lattice.kind} {model.lattice.shape}"
            )

    def uses_checkerboard(self, model) -> bool:
        """Whether sweeps of `model` run the checkerboard kernel (else the generic path)."""
        return self.checkerboard is not False and _checkerboard.eligible(model.lattice)

    # `sample` keeps the checkerboard sublattices split (chain axis last) across the
    # whole run: splitting and merging every sweep would cost as much as the sweep.
    def enter(self, model, state, prepared):
        """The checkerboard planes (chain axis last), or the state on the generic path."""
        if not self.uses_checkerboard(model):
            return super().enter(model, state, prepared)
        return _checkerboard.to_planes(state.config, model.lattice.shape)

    def advance(self, key, model, carry, prepared):
        """One sweep of every chain (the checkerboard kernel steps all chains at once)."""
        if not self.uses_checkerboard(model):
            return super().advance(key, model, carry, prepared)
        tables = model.tables() if prepared is None else prepared
        black, white = _checkerboard.sweep_planes(key, model, *carry, tables)
        return (black, white), SamplerInfo(acceptance=jnp.ones(black.shape[2:], jnp.float32))

    def config_of(self, model, carry):
        """The configuration(s) held by the carry."""
        if not self.uses_checkerboard(model):
            return super().config_of(model, carry)
        return _checkerboard.from_planes(*carry)

    def leave(self, model, carry, state):
        """The `ChainState` at the end of a run."""
        if not self.uses_checkerboard(model):
            return super().leave(model, carry, state)
        return ChainState(_checkerboard.from_planes(*carry), state.aux)

    def step(self, key, model, state, prepared=None):
        """One heat-bath sweep of one chain over all colour blocks."""
        check_key("key", key)
        return self.step_free(key, model, state, None, prepared)

    def step_free(self, key, model, state, free, prepared=None):
        """One sweep that redraws only the sites where `free` is True (all when None).

        The clamping hook (`learning.Clamped`): the other sites keep their states, and
        every free site is drawn from its exact conditional given all others (the sites
        of one block are conditionally independent, so masking a block's update keeps
        it exact). `free` is a static boolean mask (n,); the random numbers drawn are
        those of `step`.
        """
        check_key("key", key)
        free = free_mask(model, free)
        tables = model.tables() if prepared is None else prepared
        sigma = state.config
        if self.uses_checkerboard(model):
            sigma = _checkerboard.sweep(key, model, sigma, tables, free)
            return ChainState(sigma, state.aux), SamplerInfo(acceptance=jnp.float32(1.0))
        keys = jax.random.split(key, len(model.lattice.blocks))
        for block, k in zip(model.lattice.blocks, keys):
            logits = -model.site_energies(sigma, block, tables)
            u = jax.random.uniform(k, block.shape)
            new = categorical_from_uniform(u, logits).astype(sigma.dtype)
            if free is not None:
                new = jnp.where(jnp.asarray(free)[block], new, sigma[block])
            sigma = sigma.at[block].set(new)
        return ChainState(sigma, state.aux), SamplerInfo(acceptance=jnp.float32(1.0))
