"""molcomp: molecular learners as differentiable JAX energy models.

Every learner is an energy model: `model.energy(config)` in kT with p ~ exp(-E),
sampled by `sampler.init` / `sampler.step` and driven by `molcomp.sample`.
"""

from . import checks as checks
from . import exact as exact
from . import interactions as interactions
from . import lattice as lattice
from . import linkers as linkers
from . import observables as observables
from . import particles as particles
from . import potts as potts
from . import samplers as samplers
from . import sharding as sharding
from . import structures as structures
from ._io import atomic_write as atomic_write
from ._io import load as load
from ._io import save as save
from ._model import AbstractEnergyModel as AbstractEnergyModel
from ._plot import plot_configuration as plot_configuration
from .interactions import Couplings as Couplings
from .interactions import chemical_potential as chemical_potential
from .linkers import Linkers as Linkers
from .particles import ParticleMixture as ParticleMixture
from .potts import AbstractPottsModel as AbstractPottsModel
from .potts import PlaceModel as PlaceModel
from .potts import PottsModel as PottsModel
from .samplers import AbstractSampler as AbstractSampler
from .samplers import BlockGibbs as BlockGibbs
from .samplers import ChainState as ChainState
from .samplers import Gillespie as Gillespie
from .samplers import Metropolis as Metropolis
from .samplers import ReplicaExchange as ReplicaExchange
from .samplers import SampleResult as SampleResult
from .samplers import SwapMetropolis as SwapMetropolis
from .samplers import sample as sample

__version__ = "0.1.0"
