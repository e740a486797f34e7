"""analog: computing with physical dynamics.

`FlowNetwork` + `coupled_grad`: coupled learning on flow/resistor networks, the
physical counterpart of equilibrium propagation (same free/nudged contrast).
`ClusterDesign` + `design_grad` / `design`: tuning particle well depths for the yield of
a target cluster, with three gradient estimators.
"""

from . import classifier as classifier
from . import memory as memory
from ._coupled import CoupledTask as CoupledTask
from ._coupled import FlowNetwork as FlowNetwork
from ._coupled import clip as clip
from ._coupled import coupled_grad as coupled_grad
from ._design import ClusterDesign as ClusterDesign
from ._design import Target as Target
from ._design_grad import ESTIMATORS as ESTIMATORS
from ._design_grad import DesignGrad as DesignGrad
from ._design_grad import DesignHistory as DesignHistory
from ._design_grad import design as design
from ._design_grad import design_grad as design_grad
from ._design_grad import design_sampler as design_sampler
from ._design_grad import equilibrium_yields as equilibrium_yields
from ._design_grad import sample_positions as sample_positions
from ._design_grad import target_configurations as target_configurations
