"""Hebbian storage rules for multifarious mixtures: `learning.hebbian.clipped_or(structs,
epsilon)`, `additive`, `exposure`, `exposure_increment`, `bond_counts`; in continuous
space `particle_exposure_increment` (with its `contact_kernel`); for patchy particles
`patchy_exposure` and `patchy_exposure_increment`."""

from ._lattice import additive as additive
from ._lattice import bond_counts as bond_counts
from ._lattice import clipped_or as clipped_or
from ._lattice import exposure as exposure
from ._lattice import exposure_increment as exposure_increment
from ._particle import contact_kernel as contact_kernel
from ._particle import particle_exposure_increment as particle_exposure_increment
from ._patchy import patchy_exposure as patchy_exposure
from ._patchy import patchy_exposure_increment as patchy_exposure_increment
