"""molcomp: molecular learners as differentiable JAX energy models.

Every learner is an energy model: `model.energy(config)` in kT with p ~ exp(-E),
sampled by `sampler.init` / `sampler.step` and driven by `molcomp.sample`.
"""

from . import exact as exact
from . import interactions as interactions
from . import lattice as lattice
from . import linkers as linkers
from . import observables as observables
from . import particles as particles
from . import structures as structures
from ._gibbs import BlockGibbs as BlockGibbs
from ._gillespie import Gillespie as Gillespie
from ._gillespie import time_average as time_average
from ._interactions import Couplings as Couplings
from ._interactions import chemical_potential as chemical_potential
from ._io import load as load
from ._io import save as save
from ._linkers import Linkers as Linkers
from ._metropolis import Metropolis as Metropolis
from ._particles import ParticleMixture as ParticleMixture
from ._plot import plot_configuration as plot_configuration
from ._potts import AbstractPottsModel as AbstractPottsModel
from ._potts import PlaceModel as PlaceModel
from ._potts import PottsModel as PottsModel
from ._sample import SampleResult as SampleResult
from ._sample import sample as sample
from ._sampler import AbstractSampler as AbstractSampler
from ._sampler import ChainState as ChainState
from ._swap import SwapMetropolis as SwapMetropolis
from ._tempering import ReplicaExchange as ReplicaExchange
from ._tempering import sample_replicas as sample_replicas

__version__ = "0.1.0"
