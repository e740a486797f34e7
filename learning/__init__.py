"""learning: how the parameters of any energy model change.

The sleep-wake rule grad = <dE/dtheta>_data - <dE/dtheta>_model (the gradient of
KL(P_data || Q_theta)) trains physical learners (molcomp's Potts and place models) and
neural ones (`learning.neural`) with the same code: `estimate_grad` for one gradient
from a data phase and a model phase, `fit` for a training loop over optax (with
`Evaluation` and `Checkpointing` settings; `clip_params` bounds the parameters), `AIS`
for ln Z beyond enumeration.

Submodules by topic: `neural` (Boltzmann machines, RBMs, a neural EBM, their
samplers), `memory` (the recall protocol, Hopfield networks), `backprop` (backprop as
a Lagrangian, equilibrium propagation), `linkers` (learning linker concentrations),
`response` (gradients through trajectories and by fluctuations), `hebbian` (storage
rules) and `exact` (KL divergences and other exact references).
"""

from . import backprop as backprop
from . import exact as exact
from . import hebbian as hebbian
from . import linkers as linkers
from . import memory as memory
from . import neural as neural
from . import response as response
from ._ais import AIS as AIS
from ._bound import clip_params as clip_params
from ._clamp import Clamped as Clamped
from ._estimator import PhaseState as PhaseState
from ._estimator import energy_gap_grad as energy_gap_grad
from ._estimator import estimate_grad as estimate_grad
from ._estimator import init_state as init_state
from ._fit import Checkpointing as Checkpointing
from ._fit import Evaluation as Evaluation
from ._fit import FitHistory as FitHistory
from ._fit import fit as fit
from ._phases import CD as CD
from ._phases import PCD as PCD
from ._phases import AbstractDataPhase as AbstractDataPhase
from ._phases import AbstractModelPhase as AbstractModelPhase
from ._phases import ClampedChains as ClampedChains
from ._phases import FreshChains as FreshChains
from ._phases import Observed as Observed
