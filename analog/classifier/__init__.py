"""Phase-boundary classifiers: mixtures that classify their inputs by which structure
nucleates.

- The classifier: `NucleationClassifier` (structures + an input map: `AssignmentMap`
  or `LinearMap`), `predict`, `batch_scores`.
- The surrogate: `window_scores` (window nucleation scores), `window_sums`,
  `cross_entropy`, `margins`; its window side from nucleation theory:
  `critical_window` (`NucleationEstimate`, `max_bonds`).
- Training: `train(key, structures, x, y, trainer)` with a trainer object:
  `SinkhornAssignment` (relaxed assignment; `sinkhorn`, `round_assignment`),
  `LinearMapDescent` or `SwapHillClimb` (`hard_mu`); returns a `TrainingHistory`.
- The full-simulation readout: `simulate` (`SimulationResult`), `mixture`,
  `cluster_sizes`, `default_sampler`.
"""

from ._classifier import NucleationClassifier as NucleationClassifier
from ._classifier import batch_scores as batch_scores
from ._classifier import predict as predict
from ._critical_window import NucleationEstimate as NucleationEstimate
from ._critical_window import critical_window as critical_window
from ._critical_window import max_bonds as max_bonds
from ._hill_climb import SwapHillClimb as SwapHillClimb
from ._hill_climb import hard_mu as hard_mu
from ._linear import LinearMapDescent as LinearMapDescent
from ._maps import AssignmentMap as AssignmentMap
from ._maps import LinearMap as LinearMap
from ._maps import check_features as check_features
from ._simulate import SimulationResult as SimulationResult
from ._simulate import cluster_sizes as cluster_sizes
from ._simulate import default_sampler as default_sampler
from ._simulate import mixture as mixture
from ._simulate import simulate as simulate
from ._sinkhorn import SinkhornAssignment as SinkhornAssignment
from ._sinkhorn import round_assignment as round_assignment
from ._sinkhorn import sinkhorn as sinkhorn
from ._surrogate import WINDOW as WINDOW
from ._surrogate import cross_entropy as cross_entropy
from ._surrogate import margins as margins
from ._surrogate import window_scores as window_scores
from ._surrogate import window_sums as window_sums
from ._train import TrainingHistory as TrainingHistory
from ._train import train as train
from ._trainer import AbstractTrainer as AbstractTrainer
