"""Phase maps of a mixture memory: recall from the same cues at every point of a sweep
(binding energy, chemical potential, ...), classify each run (`phase`) and take the
majority; and where each species sits (`site_structures`), the picture of a chimera."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import numpy as np

from molcomp import structures as st
from molcomp.checks import check_fraction, check_key, check_positive_int

from ._mixture import MixtureMemory
from ._readout import PHASES, Readout, phase
from ._recall import mixture_recall


def majority_phase(phases: Sequence[str]) -> str:
    """The most common phase of a point's runs; a tie goes to the phase listed first in
    `PHASES` (assembly, chimera, liquid, dispersion).

    **Arguments:** `phases`, phase names (from `phase`), at least one.

    **Returns:** one name from `PHASES`.

    **Example:**

    ```python
    majority_phase(["chimera", "assembly", "chimera"])  # -> "chimera"
    ```
    """
    if isinstance(phases, str) or not hasattr(phases, "__iter__"):
        raise TypeError(f"phases must be a sequence of phase names, got {phases!r}")
    phases = list(phases)
    if not phases:
        raise ValueError("phases is empty: give the phase of at least one run")
    unknown = sorted({p for p in phases if p not in PHASES})
    if unknown:
        raise ValueError(f"phases must be names from {PHASES}, got {unknown}")
    counts = [phases.count(name) for name in PHASES]
    return PHASES[int(np.argmax(counts))]


class PhasePoint(NamedTuple):
    """One point of a `phase_map`: the majority `phase`, the phase of every run
    (`phases`) and their `Readout`."""

    phase: str
    phases: tuple[str, ...]
    readout: Readout


def phase_map(
    key,
    build: Callable[..., MixtureMemory],
    points: Sequence,
    cues,
    steps: int,
    *,
    threshold: float = 0.2,
) -> dict:
    """Recall from `cues` at every point of a sweep and classify the runs.

    Point i runs `mixture_recall(jax.random.fold_in(key, i), build(point), cues, steps)`
    and classifies each run with `phase`. When `build` changes only array values (the
    model's `beta` and `mu`, say) every point shares one compilation.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `build(point) -> MixtureMemory`: the mixture at one point of the sweep.
    - `points`: the points (hashable: tuples or numbers), at least one.
    - `cues`: (runs, n) start configurations, the same at every point (e.g. `seed`s).
    - `steps`: sweeps (Metropolis) or `steps / rate` of physical time (Gillespie).
    - `threshold`: the chimera threshold of `readout`.

    **Returns:** `{point: PhasePoint}` in the order of `points`.

    **Example:**

    ```python
    cues = jnp.stack([memory.seed(structs, a % m, 3) for a in range(8)])
    grid = memory.phase_map(key, build, [(9.0, 4.0), (9.0, 9.0)], cues, 2000)
    grid[9.0, 4.0].phase  # -> "assembly"
    ```
    """
    check_key("key", key)
    if not callable(build):
        raise TypeError(f"build must be a function point -> MixtureMemory, got {build!r}")
    if isinstance(points, str) or not hasattr(points, "__iter__"):
        raise TypeError(f"points must be a sequence of sweep points, got {points!r}")
    points = list(points)
    if not points:
        raise ValueError("points is empty: give at least one point of the sweep")
    if len(set(points)) != len(points):
        raise ValueError(f"points must be distinct, got {points}")
    if np.ndim(cues) != 2:
        raise ValueError(f"cues must have shape (runs, n), got {np.shape(cues)}")
    steps = check_positive_int("steps", steps)
    threshold = check_fraction("threshold", threshold)
    out = {}
    for i, point in enumerate(points):
        memory = build(point)
        if not isinstance(memory, MixtureMemory):
            raise TypeError(
                f"build({point!r}) must return a MixtureMemory, got {type(memory).__name__}"
            )
        _, r = mixture_recall(jax.random.fold_in(key, i), memory, cues, steps, threshold)
        phases = tuple(phase(r, memory.model.lattice.n_sites))
        out[point] = PhasePoint(majority_phase(phases), phases, r)
    return out


def site_structures(structs: st.Structures, config) -> np.ndarray:
    """For every site of a configuration, which stored structure puts its species there.

    **Arguments:** `structs`, the stored `Structures`; `config`, an (n,) configuration
    (species 0..N-1, N empty).

    **Returns:** (n,) integers: alpha when structure alpha places this species at this
    site (the smallest such alpha), m when none does (a wrong species), -1 where the
    site is empty. An assembled structure alpha reads alpha on its patch; a chimera
    shows patches of several.
    """
    if not isinstance(structs, st.Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    config = np.asarray(config)
    n = structs.lattice.n_sites
    if config.shape != (n,):
        raise ValueError(f"config must have shape ({n},), got {config.shape}")
    stored = np.stack([np.asarray(structs.configuration(a)) for a in range(structs.m)])
    placed = (stored == config) & (config < structs.n_species)  # (m, n)
    which = np.where(placed.any(axis=0), placed.argmax(axis=0), structs.m)
    return np.where(config == structs.n_species, -1, which)
