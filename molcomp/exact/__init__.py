"""Exact enumeration of small discrete models (the reference for samplers and gradients),
and exact sampling by inverse CDF over the enumeration."""

from ._exact import MAX_STATES as MAX_STATES
from ._exact import configuration_index as configuration_index
from ._exact import configurations as configurations
from ._exact import expectation as expectation
from ._exact import grad_log_likelihood as grad_log_likelihood
from ._exact import log_likelihood as log_likelihood
from ._exact import log_partition as log_partition
from ._exact import log_probabilities as log_probabilities
from ._exact import n_configurations as n_configurations
from ._exact import probabilities as probabilities
from ._exact import sample as sample
from ._exact import uniform as uniform
from ._onsager import CRITICAL_COUPLING as ISING_CRITICAL_COUPLING  # noqa: F401
from ._onsager import ising_energy_per_site as ising_energy_per_site
