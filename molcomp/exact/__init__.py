"""Exact enumeration of small systems (the reference for samplers and gradients)."""

from ._exact import MAX_STATES as MAX_STATES
from ._exact import expectation as expectation
from ._exact import grad_log_likelihood as grad_log_likelihood
from ._exact import log_likelihood as log_likelihood
from ._exact import log_partition as log_partition
from ._exact import n_configurations as n_configurations
from ._exact import probabilities as probabilities
from ._onsager import CRITICAL_COUPLING as ISING_CRITICAL_COUPLING  # noqa: F401
from ._onsager import ising_energy_per_site as ising_energy_per_site
