"""learning: how the parameters of any energy model change.

The sleep-wake rule grad = <dE/dtheta>_data - <dE/dtheta>_model (the gradient of
KL(P_data || Q_theta)) trains physical learners (molcomp's Potts and place models) and
neural ones (the Boltzmann machines here) with the same code: `estimate_grad` for one
gradient, `fit` for a training loop over optax.
"""

from . import exact as exact
from . import hebbian as hebbian
from ._ais import ais_log_likelihood as ais_log_likelihood
from ._ais import ais_log_partition as ais_log_partition
from ._binary import RBM as RBM
from ._binary import AbstractBinaryModel as AbstractBinaryModel
from ._binary import BoltzmannMachine as BoltzmannMachine
from ._clamp import Clamped as Clamped
from ._dense_memory import DenseHopfield as DenseHopfield
from ._dense_memory import ModernHopfield as ModernHopfield
from ._ebm import Langevin as Langevin
from ._ebm import LangevinState as LangevinState
from ._ebm import NeuralEBM as NeuralEBM
from ._ebm import ebm_grad as ebm_grad
from ._ebm import langevin_chains as langevin_chains
from ._eqprop import EPInfo as EPInfo
from ._eqprop import LayeredEnergy as LayeredEnergy
from ._eqprop import eqprop_grad as eqprop_grad
from ._eqprop import eqprop_implicit_grad as eqprop_implicit_grad
from ._eqprop import eqprop_predict as eqprop_predict
from ._eqprop import relax as relax
from ._estimator import PhaseState as PhaseState
from ._estimator import energy_gap_grad as energy_gap_grad
from ._estimator import estimate_grad as estimate_grad
from ._estimator import init_state as init_state
from ._fit import History as History
from ._fit import fit as fit
from ._gibbs import AlternatingGibbs as AlternatingGibbs
from ._gibbs import SequentialGibbs as SequentialGibbs
from ._hopfield import Hopfield as Hopfield
from ._hopfield import PottsHopfield as PottsHopfield
from ._lagrangian import MLP as MLP
from ._lagrangian import cross_entropy as cross_entropy
from ._lagrangian import forward as forward
from ._lagrangian import lagrangian_grad as lagrangian_grad
from ._lagrangian import mlp_accuracy as mlp_accuracy
from ._lagrangian import multipliers as multipliers
from ._linker_fit import fit_linker_concentrations as fit_linker_concentrations
from ._linker_sleep_wake import LinkerJointModel as LinkerJointModel
from ._linker_sleep_wake import exact_phases as exact_phases
from ._linker_sleep_wake import joint_states as joint_states
from ._linker_sleep_wake import linker_filter_spec as linker_filter_spec
from ._linker_sleep_wake import linker_sleep_wake_grad as linker_sleep_wake_grad
from ._linker_sleep_wake import sample_linkers as sample_linkers
from ._models import default_filter_spec as default_filter_spec
from ._models import tempered as tempered
from ._phases import CD as CD
from ._phases import PCD as PCD
from ._phases import AbstractDataPhase as AbstractDataPhase
from ._phases import AbstractModelPhase as AbstractModelPhase
from ._phases import ClampedChains as ClampedChains
from ._phases import FreshChains as FreshChains
from ._phases import Observed as Observed
from ._recall import AbstractMemory as AbstractMemory
from ._recall import capacity as capacity
from ._recall import recall as recall
from ._recall import recall_overlaps as recall_overlaps
from ._trajectory_grad import fluctuation_grad as fluctuation_grad
from ._trajectory_grad import trajectory_grad as trajectory_grad
