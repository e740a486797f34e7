"""Associative recall in multifarious mixtures: `analog.memory.MixtureMemory`, `seed`,
`enrich`, `recall`, `readout`, `phase`, `success_fraction`, `capacity`,
`recall_times`."""

from ._capacity import capacity as capacity
from ._capacity import crossing as crossing
from ._capacity import success_fraction as success_fraction
from ._memory import PHASES as PHASES
from ._memory import SUCCESS as SUCCESS
from ._memory import MixtureMemory as MixtureMemory
from ._memory import Readout as Readout
from ._memory import enrich as enrich
from ._memory import phase as phase
from ._memory import readout as readout
from ._memory import recall as recall
from ._memory import run_kinetics as run_kinetics
from ._memory import seed as seed
from ._recall_time import recall_times as recall_times
