"""Designing well depths for self-assembly (after Goodrich, King, Schoenholz, Cubuk and
Brenner, PNAS 2021): tune a particle mixture's depths D_ab for the yield of a target
cluster over a competitor.

- The task: `ClusterDesign` (smooth and exact yields), `Target` (a cluster by species
  and contacts).
- Gradients: `design_grad(key, task, depth, positions, steps, estimator=...)` with an
  estimator object: `TrajectoryEstimator` (through trajectories),
  `FluctuationEstimator` (equilibrium covariance) or `SleepWakeEstimator` (data =
  target configurations); returns a `DesignGrad`.
- The loop: `optimize_depths` (adam, D >= 0; a `DesignHistory`).
- Sampling: `design_sampler`, `sample_positions`, `target_configurations`,
  `equilibrium_yields`.
"""

from ._estimators import AbstractDesignEstimator as AbstractDesignEstimator
from ._estimators import AbstractEquilibriumEstimator as AbstractEquilibriumEstimator
from ._estimators import DesignGrad as DesignGrad
from ._estimators import FluctuationEstimator as FluctuationEstimator
from ._estimators import SleepWakeEstimator as SleepWakeEstimator
from ._estimators import TrajectoryEstimator as TrajectoryEstimator
from ._optimize import DesignHistory as DesignHistory
from ._optimize import design_grad as design_grad
from ._optimize import optimize_depths as optimize_depths
from ._sampling import design_sampler as design_sampler
from ._sampling import equilibrium_yields as equilibrium_yields
from ._sampling import sample_positions as sample_positions
from ._sampling import target_configurations as target_configurations
from ._task import ClusterDesign as ClusterDesign
from ._task import Target as Target
