"""Sleep-wake training of patch couplings: a patchy-particle mixture learns to hold m
structures from thermalised configurations of them.

Data: each structure placed perfectly assembled (`molcomp.particles.
structure_configuration`) and thermalised by `molcomp.sample` with a particle sampler
under reference couplings (e.g. the Hebbian ones), as a `learning.Observed` data phase.
Model phase: particle chains (`learning.PCD(..., start="rows")`, started at the data
rows in turn, so each structure is held by as many chains as it has data rows). The
gradient is the sleep-wake <dE/dJ>_data - <dE/dJ>_model (through the model's
patch-contact statistics: exact in J, since dE/dJ = scale W), descended by an optax
optimizer in `learning.fit` (whose steps run on the host for particle samplers, so
their neighbour lists recover from overflow). With few chains the estimate is mostly
noise: plain SGD (`optax.sgd`) moves each coupling in proportion to its gradient, while
adam normalises every step to about its learning rate, so noise alone then moves every
coupling as far as a real signal would. An optional box |J| <= `bound`
(`learning.clip_params`) keeps maximum likelihood of always-assembled data from
deepening the designed bonds without limit.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax

import learning
import molcomp
from molcomp import particles
from molcomp import structures as st
from molcomp.checks import check_key, check_positive_int, check_real


def thermalised_structures(key, structs: st.Structures, couplings, sampler, *, steps: int,
                           box, chains: int = 1, **model_kwargs):  # fmt: skip
    """Thermalised configurations of the stored structures: each placed assembled (one
    particle per species) and run `steps` steps of `sampler` under `couplings`.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `structs`: the stored `Structures` (their patch holds each species once).
    - `couplings`: the oriented couplings the structures thermalise under.
    - `sampler`: a particle sampler; `steps`: steps per configuration.
    - `box`: the box; `chains`: configurations per structure.
    - `model_kwargs`: the `PatchyMixture` geometry (scale, sigma, patch_width, ...).

    **Returns:** `(model, data)`: the `PatchyMixture` (species 0..N-1 in order) and
    (m * chains, N, 3) configurations, structure-major.
    """
    check_key("key", key)
    steps = check_positive_int("steps", steps)
    chains = check_positive_int("chains", chains)
    N = structs.n_species
    if structs.arrangements.shape[1] != N:
        raise ValueError("thermalised_structures needs structures holding every species once")
    sigma = float(model_kwargs.get("sigma", 1.0))
    starts = []
    for alpha in range(structs.m):
        species, config = particles.structure_configuration(structs, alpha, box, sigma=sigma)
        order = np.argsort(species)  # particle i is species i
        starts.append(np.broadcast_to(config[order], (chains, N, 3)))
    model = particles.PatchyMixture(couplings, jnp.arange(N), box, **model_kwargs)
    state = sampler.init(model, np.concatenate(starts))
    out = molcomp.sample(key, model, sampler, state, steps, progress=False)
    return model, out.state.position


def train_patch_couplings(key, model: particles.PatchyMixture, data, model_phase, optimizer,
                          steps: int, *, bound=None):  # fmt: skip
    """Descend the sleep-wake gradient of the patch couplings with `optimizer`.

    `learning.fit(key, model, model_phase.sampler, data, optimizer, steps,
    model_phase=model_phase)`, with `optax.chain(optimizer, learning.clip_params(-bound,
    bound))` when bounded.

    **Arguments:**

    - `key`: a `jax.random` key (as for `learning.fit`).
    - `model`: the `PatchyMixture` (only `couplings.params` train).
    - `data`: (M, n, 3) configurations (e.g. `thermalised_structures`) or a data phase.
    - `model_phase`: `learning.PCD(sampler, chains, ..., start="rows")` (particle
      chains; with `start="rows"` chain c starts at data row c mod M: a multiple of M
      chains holds every row equally often).
    - `optimizer`: an optax `GradientTransformation`; `steps`: number of updates.
    - `bound`: None, or keep every coupling in [-bound, bound] (`learning.clip_params`).

    **Returns:** `(model, history)`, history a `learning.FitHistory` (per step
    `grad_norm` and `energy_gap`, the coupling part of <E>_data - <E>_model).

    **Example:**

    ```python
    sampler = particles.Brownian(dt=2e-3)
    phase = learning.PCD(sampler, chains=8, sweeps=100, samples=5, start="rows")
    model, history = analog.memory.train_patch_couplings(
        key, model, data, phase, optax.sgd(0.01), steps=30, bound=1.5)
    ```
    """
    check_key("key", key)
    if not isinstance(model, particles.PatchyMixture):
        raise TypeError(f"model must be a PatchyMixture, got {type(model).__name__}")
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(f"optimizer must be an optax GradientTransformation, got {optimizer!r}")
    steps = check_positive_int("steps", steps)
    if bound is not None:
        bound = check_real("bound", bound, minimum=0.0, strict=True)
    if not isinstance(model_phase, learning.AbstractModelPhase):
        raise TypeError(
            f"model_phase must be a learning model phase (e.g. learning.PCD(sampler, "
            f"start='rows')), got {type(model_phase).__name__}"
        )
    if bound is not None:
        optimizer = optax.chain(optimizer, learning.clip_params(-bound, bound))
    return learning.fit(
        key, model, model_phase.sampler, data, optimizer, steps, model_phase=model_phase
    )
