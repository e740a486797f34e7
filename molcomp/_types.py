"""Shape aliases shared across molcomp (jaxtyping)."""

from jaxtyping import Array, Bool, Float, Int

#: A lattice configuration: one state index per site.
Config = Int[Array, " n"]
#: Dense couplings, one (S x S) table per bond direction (D = 1 when isotropic).
DenseCouplings = Float[Array, "D S S"]
#: Chemical potentials of the q species (the empty state has mu = 0 by definition).
ChemicalPotentials = Float[Array, " q"]
#: Neighbour index table, padded; see `Lattice.mask`.
Neighbours = Int[Array, "n k"]
NeighbourMask = Bool[Array, "n k"]
Scalar = Float[Array, ""]

__all__ = [
    "ChemicalPotentials",
    "Config",
    "DenseCouplings",
    "NeighbourMask",
    "Neighbours",
    "Scalar",
]
