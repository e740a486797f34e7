"""Lattices and graphs: `molcomp.lattice.square(L)`, `triangular`, `cubic`, `from_graph`."""

from ._lattice import Lattice as Lattice
from ._lattice import cubic as cubic
from ._lattice import from_graph as from_graph
from ._lattice import square as square
from ._lattice import triangular as triangular
