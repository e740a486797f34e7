"""Continuous particle mixtures on jax-md: the energy model, Brownian and (underdamped)
Langevin dynamics with safe neighbour lists, driven by `molcomp.sample`, and
observables."""

from ._base import AbstractParticleSampler as AbstractParticleSampler
from ._base import ParticleInfo as ParticleInfo
from ._brownian import Brownian as Brownian
from ._brownian import ParticleState as ParticleState
from ._langevin import Langevin as Langevin
from ._langevin import LangevinState as LangevinState
from ._observables import cluster_yield as cluster_yield
from ._observables import clusters as clusters
from ._observables import contact_graph as contact_graph
from ._observables import contact_matrix as contact_matrix
from ._observables import radial_distribution as radial_distribution
from ._particles import ParticleMixture as ParticleMixture
from ._particles import lattice_positions as lattice_positions
from ._particles import random_positions as random_positions
from ._particles import well_shape as well_shape
from ._patch_plot import plot_patchy as plot_patchy
from ._patch_readout import PatchReadout as PatchReadout
from ._patch_readout import lattice_patch_bonds as lattice_patch_bonds
from ._patch_readout import patch_bond_list as patch_bond_list
from ._patch_readout import patch_readout as patch_readout
from ._patch_readout import structure_configuration as structure_configuration
from ._patchy import PatchyMixture as PatchyMixture
from ._patchy_geometry import lattice_configuration as lattice_configuration
from ._patchy_kernels import patch_shape as patch_shape
