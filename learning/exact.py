"""Exact references for small models (binary models enumerated here, Potts via molcomp)."""

from ._exact import MAX_STATES as MAX_STATES
from ._exact import config_index as config_index
from ._exact import configurations as configurations
from ._exact import empirical_log_probs as empirical_log_probs
from ._exact import independent_log_probs as independent_log_probs
from ._exact import is_enumerable as is_enumerable
from ._exact import kl_divergence as kl_divergence
from ._exact import log_partition as log_partition
from ._exact import log_probs as log_probs
from ._exact import n_configurations as n_configurations
from ._exact import observed_size as observed_size
