"""Sleep-wake training of patch couplings: a patchy-particle mixture learns to hold m
structures from thermalised configurations of them.

Data: each structure placed perfectly assembled (`molcomp.particles.
structure_configuration`) and thermalised by `molcomp.sample` with a particle sampler
under reference couplings (e.g. the Hebbian ones). Model phase: particle chains
(`learning.PCD`, started at the data rows in turn, so each structure is held by as
many chains as it has data rows). The gradient is `learning.estimate_grad`'s
<dE/dJ>_data - <dE/dJ>_model (through the model's patch-contact statistics: exact in
J, since dE/dJ = scale W), descended by an optax optimizer. With few chains the
estimate is mostly noise: plain SGD (`optax.sgd`) moves each coupling in proportion to
its gradient, while adam normalises every step to about its learning rate, so noise
alone then moves every coupling as far as a real signal would.

Why not `learning.fit`: it runs its steps in jitted chunks, and a particle sampler's
neighbour lists recover from overflow between `molcomp.sample` chunks on the host,
which a jitted loop cannot do. So the steps here are a host loop around the same
estimator (each `estimate_grad` call runs its chains through `molcomp.sample`, with
recovery), with an optional box constraint |J| <= `bound` applied after each update
(maximum likelihood of always-assembled data would otherwise deepen the designed bonds
without limit).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float

import learning
import molcomp
from molcomp import particles
from molcomp import structures as st
from molcomp.checks import check_key, check_positive_int, check_real


class Configurations(learning.AbstractDataPhase):
    """The data phase from fully observed continuous configurations (all rows every
    step): `learning.Observed` for float states such as particle configurations.

    **Arguments:** `data`: (m, n, ...) float configurations; their mean sufficient
    statistics are computed once, at `init`, when the model has statistics.
    """

    data: Float[Array, "m ..."]

    def __init__(self, data):
        arr = jnp.asarray(data, jnp.float32)
        if arr.ndim < 2 or arr.shape[0] < 1:
            raise ValueError(f"data must have shape (m, ...) with m >= 1, got {arr.shape}")
        self.data = arr

    def init(self, key, model):
        """Validate the data; their mean statistics (or None)."""
        model.check_state(self.data, "data")
        if model.has_statistics:
            stats = jax.vmap(model.statistics)(self.data)
            return jax.tree_util.tree_map(lambda s: jnp.mean(s, axis=0), stats)
        return None

    def configs(self, state):
        """The data."""
        return self.data

    def statistics(self, state):
        """The data's mean statistics."""
        return state

    def observed(self):
        """The data (uniform weights)."""
        return self.data, None

    def draw(self, key, model, state):
        """The data, as one sample of m chains."""
        return self.data[None], None, state, jnp.float32(1.0)


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


@dataclasses.dataclass
class TrainingHistory:
    """Per step: `grad_norm` and `energy_gap` (<E_J>_data - <E_J>_model, the coupling
    part of the energy)."""

    grad_norm: list = dataclasses.field(default_factory=list)
    energy_gap: list = dataclasses.field(default_factory=list)


def train_patch_couplings(key, model: particles.PatchyMixture, data, model_phase, optimizer,
                          steps: int, *, bound=None):  # fmt: skip
    """Descend the sleep-wake gradient of the patch couplings with `optimizer`.

    **Arguments:**

    - `key`: a `jax.random` key (step i uses `fold_in(key, i)`).
    - `model`: the `PatchyMixture` (only `couplings.params` train).
    - `data`: (M, n, 3) configurations (e.g. `thermalised_structures`) or a data phase.
    - `model_phase`: `learning.PCD(sampler, chains, ...)` (particle chains; with
      `start="data"` chain c starts at data row c mod M: a multiple of M chains holds
      every row equally often).
    - `optimizer`: an optax `GradientTransformation`; `steps`: number of updates.
    - `bound`: None, or clip every coupling to [-bound, bound] after each update.

    **Returns:** `(model, TrainingHistory)`.

    **Example:**

    ```python
    phase = learning.PCD(particles.Brownian(dt=2e-3), chains=8, sweeps=100, samples=5)
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
    phase = data if isinstance(data, learning.AbstractDataPhase) else Configurations(data)
    state = learning.init_state(jax.random.fold_in(key, steps), model, phase, model_phase)
    if isinstance(model_phase, learning.PCD) and model_phase.start == "data":
        state = _balanced_chains(model, phase, model_phase, state)
    params = model.couplings.params
    opt_state = optimizer.init(params)
    history = TrainingHistory()
    for i in range(steps):
        grads, state, info = learning.estimate_grad(
            jax.random.fold_in(key, i), model, phase, model_phase, state
        )
        g = grads.couplings.params
        updates, opt_state = optimizer.update(g, opt_state, params)
        params = optax.apply_updates(params, updates)
        if bound is not None:
            params = jnp.clip(params, -bound, bound)
        model = eqx.tree_at(lambda m: m.couplings.params, model, params)
        history.grad_norm.append(float(jnp.linalg.norm(g)))
        history.energy_gap.append(float(info.energy_gap))
    return model, history


def _balanced_chains(model, phase, model_phase, state):
    """Persistent chains started at the data rows in turn (chain c at row c mod M), not
    at rows drawn with replacement: particle chains keep the structure they start in
    for the whole run, so a random draw over-represents some structures in the model
    phase for good, a bias of the gradient that no number of steps averages away (it
    weakens the over-represented structures' bonds and deepens the others')."""
    configs = phase.configs(state.data)
    rows = np.arange(model_phase.chains) % configs.shape[0]
    chains = model_phase.sampler.init(model, configs[rows])
    return learning.PhaseState(state.data, chains)
