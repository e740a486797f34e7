"""Batches of recalls from a `MixtureMemory`: `mixture_recall` from given cues, and
`seeded_recalls` / `success_fraction` from k x k seeds of every structure in turn."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from molcomp.checks import check_fraction, check_key, check_positive_int
from molcomp.sharding import shard_batch

from ._kinetics import run_kinetics
from ._mixture import MixtureMemory, seed
from ._readout import Readout, readout


@eqx.filter_jit
def _batch(keys, model, sampler, cues, steps, max_events):
    # Only the model and sampler are traced: memories of any m share one compilation.
    # Gillespie runs are vmapped too: the batched event loop runs as many iterations as
    # the busiest run, but seeded recalls at one point make similar numbers of events,
    # and one batched iteration costs far less than one event per run in turn.
    def one(key, cue):
        return run_kinetics(key, model, sampler, cue, steps, max_events)

    return jax.vmap(one)(keys, cues)


def _check_memory(memory) -> MixtureMemory:
    if not isinstance(memory, MixtureMemory):
        raise TypeError(f"memory must be a MixtureMemory, got {type(memory).__name__}")
    return memory


def _recall(key, memory: MixtureMemory, cue, steps: int, mesh=None):
    check_key("key", key)
    _check_memory(memory)
    cue = jnp.asarray(cue)
    n = memory.model.lattice.n_sites
    if cue.ndim not in (1, 2) or cue.shape[-1] != n:
        raise ValueError(f"cue must have shape (n,) or (runs, n) with n = {n}, got {cue.shape}")
    steps = check_positive_int("steps", steps)
    batch = jnp.atleast_2d(cue)
    keys = jax.random.split(key, batch.shape[0])
    if mesh is not None:  # one block of runs per device; jit follows the placement
        keys, batch = shard_batch((keys, batch), mesh)
    return _batch(keys, memory.model, memory.sampler, batch, steps, memory.max_events)


def mixture_recall(
    key, memory: MixtureMemory, cue, steps: int = 100, threshold: float = 0.2, *, mesh=None
):
    """Recall from one cue (n,) or a batch (runs, n), run as one vmapped, jitted batch.

    **Arguments:**

    - `key`: a `jax.random` key (one per run is split from it).
    - `memory`: a `MixtureMemory`.
    - `cue`: (n,) or (runs, n) start configurations (e.g. from `seed`).
    - `steps`: sweeps (Metropolis) or `steps / rate` of physical time (Gillespie).
    - `threshold`: the chimera threshold of `readout`.
    - `mesh`: a `molcomp.sharding.chain_mesh` to spread the runs over its devices (the
      number of runs must be a multiple of its size); the same key gives the same
      recalls with or without it.

    **Returns:** `(configs, Readout)`, configs shaped like `cue`.
    """
    threshold = check_fraction("threshold", threshold)
    configs, _ = _recall(key, memory, cue, steps, mesh)
    if jnp.ndim(cue) == 1:
        configs = configs[0]
    return configs, readout(memory.structures, configs, threshold)


@dataclasses.dataclass(frozen=True)
class SeededRecalls:
    """What `seeded_recalls` ran (numpy, one entry per run).

    - `alphas`: the structure each run was seeded with (run mod m).
    - `configs`: (runs, n) final configurations; `readout`: their `Readout`.
    - `elapsed`: time reached on the common clock (`steps`, or less where Gillespie's
      `max_events` ran out first).
    - `fraction`: the success fraction, runs that retrieved their own structure with
      error < 0.05.
    """

    alphas: np.ndarray
    configs: np.ndarray
    readout: Readout
    elapsed: np.ndarray
    fraction: float


def seeded_recalls(
    key, memory: MixtureMemory, runs: int, steps: int, k: int, *, mesh=None
) -> SeededRecalls:
    """`runs` recalls, run r seeded with the k x k block of structure alpha = r mod m
    (`seed`), as one vmapped batch.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `memory`: a `MixtureMemory`.
    - `runs`: number of recalls (>= 1).
    - `steps`: sweeps (Metropolis) or `steps / rate` of physical time (Gillespie).
    - `k`: side of the seed.
    - `mesh`: a `molcomp.sharding.chain_mesh` to spread the runs over its devices (the
      number of runs must be a multiple of its size); the same key gives the same
      recalls with or without it.

    **Returns:** a `SeededRecalls`.
    """
    check_key("key", key)
    runs = check_positive_int("runs", runs)
    steps = check_positive_int("steps", steps)
    m = _check_memory(memory).structures.m
    alphas = np.arange(runs) % m
    cues = jnp.stack([seed(memory.structures, int(a), k) for a in range(m)])[alphas]
    configs, elapsed = _recall(key, memory, cues, steps, mesh)
    out = readout(memory.structures, configs)
    fraction = float(np.mean(out.success & (out.retrieved == alphas)))
    return SeededRecalls(alphas, np.asarray(configs), out, np.asarray(elapsed), fraction)


def success_fraction(
    key, memory: MixtureMemory, runs: int, steps: int, k: int, *, mesh=None
) -> float:
    """Fraction of `runs` recalls, each seeded with a k x k block of structure
    alpha = run mod m, that assemble that structure with error < 0.05 within `steps`
    sweeps (Metropolis) or `steps / rate` of physical time (Gillespie): the `fraction`
    of `seeded_recalls` (arguments as there)."""
    return seeded_recalls(key, memory, runs, steps, k, mesh=mesh).fraction
