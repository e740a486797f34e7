"""Hebbian storage rules for multifarious mixtures: `learning.hebbian.clipped_or(structs,
epsilon)`, `additive`, `exposure`, `exposure_increment`, `bond_counts`; in continuous
space `particle_exposure_increment` (with its `contact_kernel`)."""

from ._hebbian import additive as additive
from ._hebbian import bond_counts as bond_counts
from ._hebbian import clipped_or as clipped_or
from ._hebbian import exposure as exposure
from ._hebbian import exposure_increment as exposure_increment
from ._particle_hebbian import contact_kernel as contact_kernel
from ._particle_hebbian import particle_exposure_increment as particle_exposure_increment
