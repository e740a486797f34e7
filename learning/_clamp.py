"""Clamped sampling: some variables stay at their values, the rest are sampled.

Needed for hidden units (sample h with v clamped to the data), linker species and
supervised learning with a clamped label. Clamping is part of the sampling
specification: `Clamped(sampler, clamp)` is a sampler whose state holds the clamped
values (a chain's configuration at the clamped sites never changes) and whose steps
update only the free sites, through the inner sampler's public hook

    sampler.step_free(key, model, state, free, prepared=None) -> (state, info)

which must leave the sites outside the boolean mask `free` untouched and update every
free site conditioned on the current values of all others. That keeps the conditional
distribution exact (restoring clamped values *after* a sweep would not: the free
variables updated later in the sweep would have seen wrong ones).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from molcomp import AbstractSampler, BlockGibbs, ChainState, Metropolis


def _has_hook(sampler) -> bool:
    return callable(getattr(sampler, "step_free", None))


class Clamped(AbstractSampler):
    """`sampler` with the variables where `clamp` is True kept fixed.

    The clamped values are whatever the chain's configuration holds there (e.g. the
    data it was started from). The inner sampler must provide the clamping hook
    `step_free(key, model, state, free, prepared=None)` (the binary samplers of
    `learning.neural` do; molcomp's `BlockGibbs` and `Metropolis` are supported too).
    `SwapMetropolis` is refused: a swap of a free with a clamped site would move a
    clamped value.

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
        if not isinstance(sampler, AbstractSampler):
            raise TypeError(f"sampler must be a molcomp sampler, got {type(sampler).__name__}")
        if isinstance(sampler, Clamped):
            raise TypeError("sampler is already Clamped; combine the masks instead")
        if not (_has_hook(sampler) or _stopgap(sampler)):
            raise TypeError(
                f"Clamped supports samplers with the clamping hook step_free (BlockGibbs, "
                f"Metropolis, SequentialGibbs, AlternatingGibbs), got {type(sampler).__name__}"
            )
        if not _has_hook(sampler) and isinstance(sampler, BlockGibbs):
            # The checkerboard kernel sweeps whole sublattices; the generic block path
            # honours the restricted blocks of the stopgap below.
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
        """Boolean mask of the sampled (free) variables."""
        return ~np.asarray(self.clamp, bool)

    def check_model(self, model) -> None:
        """The inner sampler's check, and a mask of one entry per site."""
        self.sampler.check_model(model)
        if len(self.clamp) != model.n_sites:
            raise ValueError(
                f"clamp must have shape ({model.n_sites},) for this model, got ({len(self.clamp)},)"
            )

    def init(self, model, config) -> ChainState:
        """The inner sampler's state for `config`; its clamped entries stay as given."""
        self.check_model(model)
        state = self.sampler.init(model, config)
        if _has_hook(self.sampler):
            return state
        return _stopgap_init(self, model, state)

    def prepare(self, model):
        """The inner sampler's tables."""
        return self.sampler.prepare(model)

    def step(self, key, model, state, prepared=None):
        """One step of the inner sampler over the free variables only."""
        if _has_hook(self.sampler):
            return self.sampler.step_free(key, model, state, self.free, prepared)
        return _stopgap_step(self, key, model, state, prepared)


# ---- stopgap for molcomp's lattice samplers -----------------------------------------
# Until `BlockGibbs` and `Metropolis` provide `step_free` (masking the clamped sites of
# each colour block: exact, since the sites of one block are conditionally independent),
# their colour blocks are restricted to the free sites here, computed once at `init`
# from the concrete lattice. Delete this section when molcomp has the hook.


class _RestrictedAux(eqx.Module):
    inner: object
    blocks: tuple


def _stopgap(sampler) -> bool:
    return isinstance(sampler, BlockGibbs | Metropolis)


def _stopgap_init(clamped, model, state):
    free = clamped.free
    blocks = tuple(
        jnp.asarray(b[free[b]], jnp.int32)
        for b in (np.asarray(b) for b in model.lattice.blocks)
        if free[b].any()
    )
    lead = state.config.shape[:-1]
    tiled = tuple(jnp.broadcast_to(b, (*lead, b.shape[0])) for b in blocks)
    return ChainState(state.config, _RestrictedAux(state.aux, tiled))


def _stopgap_step(clamped, key, model, state, prepared):
    aux = state.aux
    restricted = eqx.tree_at(lambda m: m.lattice.blocks, model, aux.blocks)
    out, info = clamped.sampler.step(key, restricted, ChainState(state.config, aux.inner), prepared)
    return ChainState(out.config, _RestrictedAux(out.aux, aux.blocks)), info
