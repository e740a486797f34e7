"""Continuous particle mixtures on jax-md: the energy, Brownian dynamics with safe
neighbour lists, and observables."""

from ._brownian import Brownian as Brownian
from ._brownian import ParticleRun as ParticleRun
from ._brownian import ParticleState as ParticleState
from ._brownian import run as run
from ._particle_observables import cluster_yield as cluster_yield
from ._particle_observables import clusters as clusters
from ._particle_observables import contact_graph as contact_graph
from ._particle_observables import contact_matrix as contact_matrix
from ._particle_observables import radial_distribution as radial_distribution
from ._particles import ParticleMixture as ParticleMixture
from ._particles import lattice_positions as lattice_positions
from ._particles import random_positions as random_positions
from ._particles import well_shape as well_shape
