"""Lattice Potts mixtures: the grand-canonical `PottsModel` and the canonical
`PlaceModel` (fixed composition, species swaps)."""

from ._potts import AbstractPottsModel as AbstractPottsModel
from ._potts import PlaceModel as PlaceModel
from ._potts import PottsModel as PottsModel
