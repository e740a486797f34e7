"""Clamped sampling: some variables stay at their data values, the rest are sampled.

Needed for hidden units (sample h with v clamped to the data), linker species and
supervised learning with a clamped label. The wrapper keeps the conditional
distribution exact: a clamped variable is never proposed, so every update of a free
one conditions on the true clamped values (restoring clamped values *after* a sweep
would not, since the free variables updated later in the sweep would have seen wrong
ones).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from molcomp import AbstractSampler, BlockGibbs, ChainState, Metropolis

from ._models import n_sites


class ClampAux(eqx.Module):
    """Chain tables of a clamped chain: the inner sampler's, plus (for lattice
    samplers) the colour blocks restricted to free sites."""

    inner: object
    blocks: tuple | None


class Clamped(AbstractSampler):
    """Wrap a sampler so that the variables where `clamp` is True never change.

    The clamped values are whatever the chain's configuration holds there (e.g. the
    data it was started from). Supports molcomp's `BlockGibbs` and `Metropolis` (their
    colour blocks are restricted to free sites, an exact conditional sampler) and the
    binary samplers of this package. `SwapMetropolis` is refused: a swap of a free with a
    clamped site would move a clamped value.

    **Arguments:**

    - `sampler`: the sampler to wrap.
    - `clamp`: boolean mask of shape (n,), True where a variable is clamped.

    **Example:**

    ```python
    sampler = Clamped(AlternatingGibbs(), rbm.visible)   # sample h given v
    ```
    """

    sampler: AbstractSampler
    clamp: tuple[bool, ...] = eqx.field(static=True)

    def __init__(self, sampler, clamp):
        if isinstance(sampler, Clamped):
            raise TypeError("sampler is already Clamped; combine the masks instead")
        if not (isinstance(sampler, BlockGibbs | Metropolis) or hasattr(sampler, "step_free")):
            raise TypeError(
                f"Clamped supports BlockGibbs, Metropolis and the learning samplers, got "
                f"{type(sampler).__name__}"
            )
        if isinstance(sampler, BlockGibbs):
            # The checkerboard kernel sweeps whole sublattices; the generic block path
            # honours the restricted blocks below.
            sampler = dataclasses.replace(sampler, checkerboard=False)
        mask = np.asarray(clamp)
        if mask.ndim != 1 or mask.dtype != bool:
            raise ValueError(
                f"clamp must be a 1-D boolean mask, got shape {mask.shape} dtype {mask.dtype}"
            )
        self.sampler = sampler
        self.clamp = tuple(bool(c) for c in mask)

    @property
    def free(self) -> np.ndarray:
        return ~np.asarray(self.clamp, bool)

    def check_model(self, model) -> None:
        self.sampler.check_model(model)
        n = n_sites(model)
        if len(self.clamp) != n:
            raise ValueError(
                f"clamp must have shape ({n},) for this model, got ({len(self.clamp)},)"
            )

    def _init_one(self, model, config) -> ChainState:
        inner = self.sampler._init_one(model, config)
        blocks = None
        if not hasattr(self.sampler, "step_free"):
            free = self.free
            blocks = tuple(
                jnp.asarray(b[free[b]], jnp.int32)
                for b in (np.asarray(b) for b in model.lattice.blocks)
                if free[b].any()
            )
        return ChainState(inner.config, ClampAux(inner.aux, blocks))

    def prepare(self, model):
        return self.sampler.prepare(model)

    def step(self, key, model, state, prepared=None):
        aux = state.aux
        inner = ChainState(state.config, aux.inner)
        if hasattr(self.sampler, "step_free"):
            out, info = self.sampler.step_free(key, model, inner, self.free, prepared)
        else:
            restricted = eqx.tree_at(lambda m: m.lattice.blocks, model, aux.blocks)
            out, info = self.sampler.step(key, restricted, inner, prepared)
        return ChainState(out.config, ClampAux(out.aux, aux.blocks)), info
