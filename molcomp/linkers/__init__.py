"""Linkers: integrated-out effective couplings J~(c), the explicit-linker lattice they
are tested against, and explicit linker particles in a continuous box."""

from ._lattice import ExplicitLinkerLattice as ExplicitLinkerLattice
from ._lattice import face_pairs as face_pairs
from ._linkers import Linkers as Linkers
from ._monte_carlo import MOVES as MOVES
from ._monte_carlo import LinkerInfo as LinkerInfo
from ._monte_carlo import LinkerMonteCarlo as LinkerMonteCarlo
from ._monte_carlo import linker_bonds as linker_bonds
from ._particles import LinkerParticles as LinkerParticles
from ._particles import LinkerState as LinkerState
from ._particles import pair_prediction as pair_prediction
