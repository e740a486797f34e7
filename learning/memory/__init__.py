"""Associative memories: the recall protocol and Hopfield networks."""

from ._dense import DenseHopfield as DenseHopfield
from ._dense import ModernHopfield as ModernHopfield
from ._hopfield import Hopfield as Hopfield
from ._hopfield import PottsHopfield as PottsHopfield
from ._recall import AbstractMemory as AbstractMemory
from ._recall import capacity as capacity
from ._recall import recall as recall
from ._recall import recall_overlaps as recall_overlaps
