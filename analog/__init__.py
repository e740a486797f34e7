"""analog: computing with physical dynamics, one public submodule per task.

- `analog.memory`: associative recall in multifarious mixtures (seeded recall,
  readout and phases, capacity, recall times).
- `analog.classifier`: phase-boundary classifiers (which structure nucleates).
- `analog.coupled`: coupled learning on flow networks, the physical counterpart of
  equilibrium propagation.
- `analog.design`: tuning particle well depths for the yield of a target cluster,
  with three gradient estimators.
"""

from . import classifier as classifier
from . import coupled as coupled
from . import design as design
from . import memory as memory
