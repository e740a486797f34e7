"""Linkers: integrated-out effective couplings J~(c) and the explicit-linker lattice
they are tested against."""

from ._linker_lattice import ExplicitLinkerLattice as ExplicitLinkerLattice
from ._linker_lattice import face_pairs as face_pairs
from ._linkers import Linkers as Linkers
