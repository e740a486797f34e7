"""Gradients of what a physical system does: through a trajectory, or by fluctuations."""

from ._trajectory import fluctuation_grad as fluctuation_grad
from ._trajectory import trajectory_grad as trajectory_grad
