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

import equinox as eqx
import numpy as np

from molcomp import AbstractSampler, ChainState
from molcomp.checks import check_key


def _has_hook(sampler) -> bool:
    return callable(getattr(sampler, "step_free", None))


class Clamped(AbstractSampler):
    """`sampler` with the variables where `clamp` is True kept fixed.

    The clamped values are whatever the chain's configuration holds there (e.g. the
    data it was started from). The inner sampler must provide the clamping hook
    `step_free(key, model, state, free, prepared=None)` (the binary samplers of
    `learning.neural` and molcomp's `BlockGibbs` and `Metropolis` do).
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
        if not _has_hook(sampler):
            raise TypeError(
                f"Clamped supports samplers with the clamping hook step_free (BlockGibbs, "
                f"Metropolis, SequentialGibbs, AlternatingGibbs), got {type(sampler).__name__}"
            )
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
        return self.sampler.init(model, config)

    def prepare(self, model):
        """The inner sampler's tables."""
        return self.sampler.prepare(model)

    def step(self, key, model, state, prepared=None):
        """One step of the inner sampler over the free variables only."""
        check_key("key", key)
        return self.sampler.step_free(key, model, state, self.free, prepared)
