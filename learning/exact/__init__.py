"""Exact references for learning on small models (over `molcomp.exact`'s enumeration):
KL divergences, empirical and independent-units log-probabilities."""

from ._exact import empirical_log_probs as empirical_log_probs
from ._exact import independent_log_probs as independent_log_probs
from ._exact import kl_divergence as kl_divergence
