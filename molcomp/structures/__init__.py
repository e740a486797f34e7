"""Stored structures and their readout: `molcomp.structures.random(key, lat, N, m)`,
`from_arrays`, `bond_overlaps`, `site_overlaps`, `error`, `largest_cluster`."""

from ._assembly import Cluster as Cluster
from ._assembly import bond_overlaps as bond_overlaps
from ._assembly import chimera_index as chimera_index
from ._assembly import error as error
from ._assembly import largest_cluster as largest_cluster
from ._assembly import site_overlaps as site_overlaps
from ._structures import Structures as Structures
from ._structures import from_arrays as from_arrays
from ._structures import random as random
