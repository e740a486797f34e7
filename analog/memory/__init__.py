"""Associative recall in multifarious mixtures.

A `MixtureMemory` stores structures in a Potts mixture; a recall runs its kinetics
(`molcomp.Metropolis` sweeps or `molcomp.Gillespie` physical time) from a cue: a k x k
`seed` of one structure, an `enrich`ed concentration pattern, or both.

- Recall: `run_kinetics` (one run), `mixture_recall` (a batch from given cues),
  `seeded_recalls` / `success_fraction` (a batch seeded with every structure in turn).
- Readout: `readout` (error, chimera, order), `phase` (one of `PHASES`).
- Phase maps: `phase_map` (the majority `phase` at every point of a sweep, a
  `PhasePoint` each), `majority_phase`, `site_structures` (which structure places
  each species).
- Continuous space: `seeded_particle_recalls` (patchy particles grown from a seed,
  `particle_seed`; `crosstalk_bonds`: wrong bonds that another structure designs),
  `lattice_coverage` (the lattice read by the same criterion);
  `train_patch_couplings` (sleep-wake on `thermalised_structures`: `learning.fit`
  with a `learning.Observed` data phase of particle configurations).
- Capacity: `mixture_capacity` (m_max where the success fraction crosses 90 %),
  `crossing`; `recall_times` (first-passage times of retrieval).
"""

from ._capacity import crossing as crossing
from ._capacity import mixture_capacity as mixture_capacity
from ._kinetics import run_kinetics as run_kinetics
from ._mixture import SUCCESS as SUCCESS
from ._mixture import MixtureMemory as MixtureMemory
from ._mixture import enrich as enrich
from ._mixture import seed as seed
from ._particle_recall import ParticleRecalls as ParticleRecalls
from ._particle_recall import crosstalk_bonds as crosstalk_bonds
from ._particle_recall import lattice_coverage as lattice_coverage
from ._particle_recall import particle_seed as particle_seed
from ._particle_recall import seeded_particle_recalls as seeded_particle_recalls
from ._particle_training import thermalised_structures as thermalised_structures
from ._particle_training import train_patch_couplings as train_patch_couplings
from ._phase_map import PhasePoint as PhasePoint
from ._phase_map import majority_phase as majority_phase
from ._phase_map import phase_map as phase_map
from ._phase_map import site_structures as site_structures
from ._readout import PHASES as PHASES
from ._readout import Readout as Readout
from ._readout import phase as phase
from ._readout import readout as readout
from ._recall import SeededRecalls as SeededRecalls
from ._recall import mixture_recall as mixture_recall
from ._recall import seeded_recalls as seeded_recalls
from ._recall import success_fraction as success_fraction
from ._recall_time import recall_times as recall_times
