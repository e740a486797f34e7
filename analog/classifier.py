"""Phase-boundary classifiers: mixtures that classify their inputs by which structure
nucleates. `NucleationClassifier`, input maps (`AssignmentMap`, `LinearMap`), the
window nucleation surrogate (`window_scores`) and its window size from nucleation
theory (`critical_window`), training (`fit`: relaxed assignment,
linear map or swap hill-climbing), `predict`, and the full-simulation readout
(`simulate`, `mixture`, `cluster_sizes`, `default_sampler`)."""

from ._classifier import METHODS as METHODS
from ._classifier import History as History
from ._classifier import NucleationClassifier as NucleationClassifier
from ._classifier import batch_scores as batch_scores
from ._classifier import fit as fit
from ._classifier import predict as predict
from ._classifier import round_assignment as round_assignment
from ._classifier import sinkhorn as sinkhorn
from ._classifier_cnt import NucleationEstimate as NucleationEstimate
from ._classifier_cnt import critical_window as critical_window
from ._classifier_cnt import max_bonds as max_bonds
from ._classifier_hill_climb import hard_mu as hard_mu
from ._classifier_maps import AssignmentMap as AssignmentMap
from ._classifier_maps import LinearMap as LinearMap
from ._classifier_maps import check_features as check_features
from ._classifier_sim import SimulationResult as SimulationResult
from ._classifier_sim import cluster_sizes as cluster_sizes
from ._classifier_sim import default_sampler as default_sampler
from ._classifier_sim import mixture as mixture
from ._classifier_sim import simulate as simulate
from ._classifier_surrogate import WINDOW as WINDOW
from ._classifier_surrogate import cross_entropy as cross_entropy
from ._classifier_surrogate import margins as margins
from ._classifier_surrogate import window_scores as window_scores
from ._classifier_surrogate import window_sums as window_sums
