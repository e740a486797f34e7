"""Continuous particle mixtures on jax-md: the energy, Brownian and Langevin dynamics
with safe neighbour lists, and observables."""

from ._brownian import Brownian as Brownian
from ._brownian import ParticleState as ParticleState
from ._langevin import Langevin as Langevin
from ._langevin import LangevinState as LangevinState
from ._particle_observables import cluster_yield as cluster_yield
from ._particle_observables import clusters as clusters
from ._particle_observables import contact_graph as contact_graph
from ._particle_observables import contact_matrix as contact_matrix
from ._particle_observables import radial_distribution as radial_distribution
from ._particle_sampler import AbstractParticleSampler as AbstractParticleSampler
from ._particle_sampler import ParticleRun as ParticleRun
from ._particle_sampler import run as run
from ._particles import ParticleMixture as ParticleMixture
from ._particles import lattice_positions as lattice_positions
from ._particles import random_positions as random_positions
from ._particles import well_shape as well_shape
