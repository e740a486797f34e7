"""Learning with explicit linkers: the joint model, its sleep-wake gradient, design."""

from ._design import fit_linker_concentrations as fit_linker_concentrations
from ._joint import LinkerGradInfo as LinkerGradInfo
from ._joint import LinkerJointModel as LinkerJointModel
from ._joint import exact_phases as exact_phases
from ._joint import joint_states as joint_states
from ._joint import linker_filter_spec as linker_filter_spec
from ._joint import linker_sleep_wake_grad as linker_sleep_wake_grad
from ._joint import sample_linkers as sample_linkers
