"""Associative recall in a multifarious mixture: store structures, cue, retrieve.

`MixtureMemory` implements the recall protocol of `learning` for a Potts mixture whose
couplings store `Structures` (e.g. `learning.hebbian.clipped_or`). A recall runs the
mixture's kinetics (`molcomp.Metropolis` sweeps or `molcomp.Gillespie` physical time,
on the common clock: `steps` sweeps = `steps / rate` time units) from a cue: a k x k
seed of one structure, an enriched concentration pattern (`enrich`), or both. The
readout says which structure assembled, its error 1 - max bond overlap, and whether the
largest cluster is a chimera.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

import learning
import molcomp
from molcomp import structures as st

SUCCESS = 0.05  # retrieval succeeds when the error is below this (Osat and Golestanian)


class MixtureMemory(learning.AbstractMemory):
    """A Potts mixture storing `structures`, recalled by `sampler`.

    **Arguments:**

    - `model`: a `molcomp.PottsModel` with an empty state whose species are the
      structures' species.
    - `sampler`: `molcomp.Metropolis(...)` or `molcomp.Gillespie(...)`.
    - `structures`: the stored `molcomp.structures.Structures`.
    - `max_events`: with Gillespie, the most events one recall may make.

    `patterns` (m, n) holds each structure on the lattice, every other site empty.
    """

    model: molcomp.PottsModel
    sampler: molcomp.AbstractSampler
    structures: st.Structures
    patterns: Int[Array, "m n"]
    max_events: int = eqx.field(static=True, default=200_000)

    def __init__(self, model, sampler, structures, *, max_events: int = 200_000):
        if not isinstance(model, molcomp.PottsModel) or not model.empty:
            raise TypeError("model must be a molcomp.PottsModel with empty=True")
        if not isinstance(structures, st.Structures):
            raise TypeError(f"structures must be Structures, got {type(structures).__name__}")
        if structures.n_species != model.q or structures.lattice.n_sites != model.lattice.n_sites:
            raise ValueError(
                f"structures ({structures.n_species} species on {structures.lattice.n_sites} "
                f"sites) do not match the model ({model.q} on {model.lattice.n_sites})"
            )
        if not isinstance(sampler, molcomp.Metropolis | molcomp.Gillespie):
            raise TypeError(f"sampler must be Metropolis or Gillespie, got {sampler!r}")
        if max_events < 1:
            raise ValueError(f"max_events must be >= 1, got {max_events}")
        self.model, self.sampler, self.structures = model, sampler, structures
        self.patterns = jnp.stack([structures.configuration(a) for a in range(structures.m)])
        self.max_events = int(max_events)

    def recall(self, key, cue, steps: int = 100):
        """Run the kinetics from `cue` for `steps` sweeps (Metropolis) or `steps / rate`
        of physical time (Gillespie); returns the final configuration."""
        return run_kinetics(key, self.model, self.sampler, cue, steps, self.max_events)[0]

    def overlaps(self, state) -> Float[Array, " m"]:
        """Bond overlap with every stored structure (1: all its bonds formed)."""
        return st.bond_overlaps(self.structures, state)

    def corrupt(self, key, pattern, fraction: float):
        """`pattern` with each occupied site emptied with probability `fraction`."""
        drop = jax.random.bernoulli(key, fraction, pattern.shape)
        return jnp.where(drop, self.model.empty_state, pattern).astype(pattern.dtype)


def seed(structs: st.Structures, alpha: int, k: int) -> Int[Array, " n"]:
    """A cue: the central k x k block of structure `alpha` at its stored place, every
    other site empty. Needs a rectangular patch (`structs.patch_shape`)."""
    if structs.patch_shape is None:
        raise ValueError("seed needs structures on a rectangular patch of a square lattice")
    if not 0 <= alpha < structs.m:
        raise ValueError(f"alpha must be in [0, {structs.m}), got {alpha}")
    h, w = structs.patch_shape
    if not 1 <= k <= min(h, w):
        raise ValueError(f"k must be in [1, {min(h, w)}] for a {h} x {w} patch, got {k}")
    r0, c0 = (h - k) // 2, (w - k) // 2
    rows, cols = np.meshgrid(np.arange(r0, r0 + k), np.arange(c0, c0 + k), indexing="ij")
    idx = (rows * w + cols).ravel()
    config = jnp.full(structs.lattice.n_sites, structs.n_species, jnp.int32)
    return config.at[structs.sites[idx]].set(structs.arrangements[alpha, idx])


def enrich(model: molcomp.PottsModel, structs: st.Structures, alpha: int, k: int, delta):
    """The model with mu raised by `delta` (kT) for the species of the central k x k
    block of structure `alpha`: an enriched concentration pattern as a cue."""
    block = seed(structs, alpha, k)
    hot = jnp.zeros(model.q + 1, bool).at[block].set(True)[: model.q]
    mu = model.mu + jnp.where(hot, jnp.asarray(delta, jnp.float32), 0.0)
    return molcomp.PottsModel(model.lattice, model.couplings, mu, model.beta, empty=True)


@dataclasses.dataclass(frozen=True)
class Readout:
    """What a recall retrieved (numpy, one entry per run for batched recalls).

    `retrieved`: structure of largest bond overlap; `error`: 1 - that overlap;
    `success`: error < 0.05; `chimera`: the largest cluster fuses structures;
    `cluster`: its size in sites; `occupancy`: fraction of occupied sites; `order`:
    fraction of the contacts between occupied neighbours that are designed bonds (1 for
    fragments of stored structures, near m / N for a random dense packing).
    """

    retrieved: np.ndarray
    error: np.ndarray
    success: np.ndarray
    chimera: np.ndarray
    cluster: np.ndarray
    occupancy: np.ndarray
    order: np.ndarray
    overlaps: np.ndarray


@eqx.filter_jit
def _bond_overlaps(structs, configs):
    return jax.vmap(st.bond_overlaps, (None, 0))(structs, configs)


def readout(structs: st.Structures, configs, threshold: float = 0.2) -> Readout:
    """Read out configurations (n,) or (runs, n): overlaps in one jitted JAX call,
    clusters on the host (numpy and networkx)."""
    configs = jnp.atleast_2d(jnp.asarray(configs))
    ov = np.asarray(_bond_overlaps(structs, configs))
    host = np.asarray(configs)
    clusters = [st.largest_cluster(structs, c, threshold) for c in host]
    partners = np.asarray(structs.partners())  # once: an eager JAX call per config adds up
    err = 1.0 - ov.max(axis=1)
    return Readout(
        retrieved=ov.argmax(axis=1),
        error=err,
        success=err < SUCCESS,
        chimera=np.array([c.chimera for c in clusters]),
        cluster=np.array([c.sites.size for c in clusters]),
        occupancy=np.mean(host < structs.n_species, axis=1),
        order=np.array([_order(structs, c, partners) for c in host]),
        overlaps=ov,
    )


def _order(structs: st.Structures, config: np.ndarray, partners: np.ndarray) -> float:
    """Designed fraction of the contacts between occupied neighbours (1 when empty);
    `partners`: `structs.partners()` on the host, (m, D, N)."""
    lat = structs.lattice
    nb, mask = np.asarray(lat.neighbours), np.asarray(lat.mask)
    n, designed, contacts = structs.n_species, 0, 0
    for d in range(partners.shape[1]):  # forward directions: each contact once
        a, b = config, config[nb[:, d]]
        touch = mask[:, d] & (a < n) & (b < n)
        hit = np.any(partners[:, d, np.minimum(a, n - 1)] == b[None], axis=0)
        contacts += int(touch.sum())
        designed += int((touch & hit).sum())
    return designed / contacts if contacts else 1.0


PHASES = ("assembly", "chimera", "liquid", "dispersion")


def phase(
    out: Readout, n_sites: int, *, dense: float = 0.5, ordered: float = 0.5, assembled: float = 0.5
) -> list[str]:
    """Classify each readout as assembly, chimera, liquid or dispersion, in this order:

    1. dispersion: occupancy < `dense` (the mixture stays dilute);
    2. liquid: dense but disordered, fewer than `ordered` of its contacts designed;
    3. chimera: the largest correctly bonded cluster spans >= n_sites / 4 and fuses
       structures (`Readout.chimera`);
    4. assembly: error <= `assembled` (a structure with at least half its bonds);
    5. chimera otherwise: dense, ordered, but no structure holds half its bonds
       (fragments of several structures, none of them dominant).

    **Arguments:**

    - `out`: a `Readout` of one or more runs.
    - `n_sites`: lattice sites (sets the cluster size of a chimera).
    - `dense`, `ordered`, `assembled`: the thresholds above.

    **Returns:** one phase name (from `PHASES`) per run.
    """
    phases = []
    for i in range(len(out.error)):
        if out.occupancy[i] < dense:
            phases.append("dispersion")
        elif out.order[i] < ordered:
            phases.append("liquid")
        elif out.chimera[i] and out.cluster[i] >= n_sites / 4:
            phases.append("chimera")
        elif out.error[i] <= assembled:
            phases.append("assembly")
        else:
            phases.append("chimera")
    return phases


def run_kinetics(key, model, sampler, cue, steps, max_events):
    """One run from `cue`: `steps` sweeps of a Metropolis sampler, or `steps / rate` of
    physical time (at most `max_events` events) of Gillespie.

    With Gillespie, `steps` and `max_events` may be traced arrays (one compilation serves
    every budget); a Metropolis `steps` fixes the scan length, so it is a Python int.

    **Returns:** `(config, elapsed)`: the final configuration and the physical time it
    was reached on the common clock (`steps` for Metropolis, one attempt per site per
    unit; for Gillespie `steps / rate`, or less when `max_events` ran out first).
    """
    start = sampler.init(model, cue)
    state = continue_kinetics(key, model, sampler, start, steps, max_events)
    if isinstance(sampler, molcomp.Gillespie):
        return state.config, state.aux.time - start.aux.time
    return state.config, jnp.float32(steps)  # one sweep: one attempt per site, 1 time unit


def continue_kinetics(key, model, sampler, state, steps, max_events, prepared=None):
    """Continue one chain state by `steps` sweeps (Metropolis) or `steps / rate` of
    physical time, at most `max_events` events (Gillespie); returns the new state."""
    prepared = sampler.prepare(model) if prepared is None else prepared
    if isinstance(sampler, molcomp.Gillespie):
        duration = steps / sampler.rate
        return sampler.run_for(key, model, state, duration, max_events, prepared)[0]

    def body(s, k):
        return sampler.step(k, model, s, prepared)[0], None

    return jax.lax.scan(body, state, jax.random.split(key, steps))[0]


@eqx.filter_jit
def _batch(keys, model, sampler, cues, steps, max_events):
    # Only the model and sampler are traced: memories of any m share one compilation.
    # Gillespie runs are vmapped too: the batched event loop runs as many iterations as
    # the busiest run, but seeded recalls at one point make similar numbers of events,
    # and one batched iteration costs far less than one event per run in turn.
    def one(key, cue):
        return run_kinetics(key, model, sampler, cue, steps, max_events)[0]

    return jax.vmap(one)(keys, cues)


def recall(key, memory: MixtureMemory, cue, steps: int = 100, threshold: float = 0.2):
    """Recall from one cue (n,) or a batch (runs, n), run as one vmapped, jitted batch.

    **Returns:** `(configs, Readout)`.
    """
    cue = jnp.asarray(cue)
    n = memory.model.lattice.n_sites
    if cue.ndim not in (1, 2) or cue.shape[-1] != n:
        raise ValueError(f"cue must have shape (n,) or (runs, n) with n = {n}, got {cue.shape}")
    batch = jnp.atleast_2d(cue)
    keys = jax.random.split(key, batch.shape[0])
    configs = _batch(keys, memory.model, memory.sampler, batch, int(steps), memory.max_events)
    if cue.ndim == 1:
        configs = configs[0]
    return configs, readout(memory.structures, configs, threshold)
