"""Observables f(model, config) and chain diagnostics."""

from ._autocorr import autocorrelation as autocorrelation
from ._autocorr import effective_sample_size as effective_sample_size
from ._autocorr import integrated_autocorr_time as integrated_autocorr_time
from ._observables import contacts as contacts
from ._observables import counts as counts
from ._observables import energy as energy
from ._observables import magnetization as magnetization
from ._observables import one_hot as one_hot
from ._observables import order_parameter as order_parameter
