"""analog: computing with physical dynamics.

`FlowNetwork` + `coupled_grad`: coupled learning on flow/resistor networks, the
physical counterpart of equilibrium propagation (same free/nudged contrast).
"""

from . import classifier as classifier
from . import memory as memory
from ._coupled import CoupledTask as CoupledTask
from ._coupled import FlowNetwork as FlowNetwork
from ._coupled import clip as clip
from ._coupled import coupled_grad as coupled_grad
