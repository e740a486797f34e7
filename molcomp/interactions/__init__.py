"""Couplings and chemical potentials; the sign conventions are in `_interactions`."""

from ._interactions import Couplings as Couplings
from ._interactions import chemical_potential as chemical_potential
from ._interactions import ising as ising
from ._interactions import potts as potts
