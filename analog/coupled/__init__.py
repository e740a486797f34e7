"""Coupled learning on flow (resistor) networks (Stern, Hexner, Rocks and Liu 2021): the
physical counterpart of equilibrium propagation, the same free / nudged contrast.

`FlowNetwork` (conductances trained), `CoupledTask` (input, output and ground nodes),
`coupled_grad` (the local rule as a gradient for optax) and `clip` (conductances >= 0).
"""

from ._flow import CoupledTask as CoupledTask
from ._flow import FlowNetwork as FlowNetwork
from ._flow import clip as clip
from ._flow import coupled_grad as coupled_grad
