"""Neural energy models and their samplers: Boltzmann machines and RBMs over binary units
(sampled by `SequentialGibbs` / `AlternatingGibbs`), and a neural EBM over continuous x
(sampled by `OverdampedLangevin`). All are `molcomp.AbstractEnergyModel`s and
`molcomp.AbstractSampler`s, so `molcomp.sample` and `learning.fit` take them."""

from ._binary import RBM as RBM
from ._binary import AbstractBinaryModel as AbstractBinaryModel
from ._binary import BoltzmannMachine as BoltzmannMachine
from ._binary import MarginalRBM as MarginalRBM
from ._ebm import NeuralEBM as NeuralEBM
from ._ebm import OverdampedLangevin as OverdampedLangevin
from ._ebm import ebm_grad as ebm_grad
from ._gibbs import AlternatingGibbs as AlternatingGibbs
from ._gibbs import SequentialGibbs as SequentialGibbs
