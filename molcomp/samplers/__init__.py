"""Samplers and the one driver, `sample`: every sampler implements `init` / `step`."""

from ._base import AbstractPottsSampler as AbstractPottsSampler
from ._base import AbstractSampler as AbstractSampler
from ._base import ChainState as ChainState
from ._base import SamplerInfo as SamplerInfo
from ._checkerboard import threefry_words as threefry_words
from ._checkerboard import uniform16_pairs as uniform16_pairs
from ._driver import SampleResult as SampleResult
from ._driver import sample as sample
from ._gibbs import BlockGibbs as BlockGibbs
from ._gillespie import DurationInfo as DurationInfo
from ._gillespie import Gillespie as Gillespie
from ._gillespie import GillespieInfo as GillespieInfo
from ._metropolis import Metropolis as Metropolis
from ._swap import SwapMetropolis as SwapMetropolis
from ._tempering import ReplicaExchange as ReplicaExchange
from ._tempering import ReplicaInfo as ReplicaInfo
