"""Linkers: integrated-out effective couplings J~(c), the explicit-linker lattice they
are tested against, and explicit linker particles in a continuous box."""

from ._linker_lattice import ExplicitLinkerLattice as ExplicitLinkerLattice
from ._linker_lattice import face_pairs as face_pairs
from ._linker_mc import LinkerMonteCarlo as LinkerMonteCarlo
from ._linker_mc import LinkerState as LinkerState
from ._linker_mc import linker_bonds as linker_bonds
from ._linker_particles import LinkerParticles as LinkerParticles
from ._linker_particles import pair_prediction as pair_prediction
from ._linkers import Linkers as Linkers
