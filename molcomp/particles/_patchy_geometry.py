"""Patchy-particle configurations from lattice structures: particles on the sites of a
square or triangular `Lattice`, all oriented alike so that the patch of direction d of
each particle faces the patch of direction d + K/2 of its lattice neighbour.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..checks import as_finite_float, check_real
from ..lattice._lattice import Lattice


def lattice_configuration(lattice, sites=None, *, spacing=1.0, origin=(0.0, 0.0), angle=0.0):
    """(x, y, theta) of particles placed on lattice sites: a perfectly assembled structure.

    Site positions are `lattice.coords()` (square: (col, row); triangular: (col + row / 2,
    row sqrt(3) / 2)) times `spacing`, rotated by `angle` about the origin of the lattice
    and shifted by `origin`; every particle gets theta = `angle` (mod 2 pi), so its
    patch d points along lattice direction d (at angle 2 pi d / K + angle) and faces the
    opposite patch of the neighbour there. With `spacing` = the model's sigma, each
    lattice bond is a patch bond at contact with weight exactly 1, so the patchy energy
    of the placed structure is `scale` times the lattice bond energy (open boundary).

    **Arguments:**

    - `lattice`: a square or triangular `molcomp.lattice` (open boundary, usually).
    - `sites`: which sites to place, in this order (default: all, in site order); e.g.
      the sites of a seed fragment.
    - `spacing`: the bond length (default 1.0; pass the model's sigma).
    - `origin`: (x0, y0) where site 0 of the lattice goes.
    - `angle`: rotation of the whole structure (radians).

    **Returns:** a float32 array (len(sites), 3). The particles' species are the
    structure's species at `sites` (the model's `species`, built by the caller).

    **Example:**

    ```python
    config = particles.lattice_configuration(lattice.square(3, periodic=False),
                                             origin=(2.0, 2.0))
    ```
    """
    if not isinstance(lattice, Lattice):
        raise TypeError(f"lattice must be a molcomp Lattice, got {type(lattice).__name__}")
    if lattice.kind not in ("square", "triangular"):
        raise ValueError(
            f"lattice must be square or triangular (patchy particles are 2-D with 4 or 6 "
            f"patches), got a {lattice.kind} lattice"
        )
    spacing = check_real("spacing", spacing, minimum=0.0, strict=True)
    origin = as_finite_float("origin", origin, shape=(2,))
    angle = check_real("angle", angle)
    xy = lattice.coords().astype(np.float64)
    if sites is not None:
        idx = np.asarray(sites)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"sites must be a 1-D integer array, got {idx.dtype} {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= lattice.n_sites):
            raise ValueError(
                f"sites must lie in [0, {lattice.n_sites}) for this lattice, got values in "
                f"[{idx.min()}, {idx.max()}]"
            )
        xy = xy[idx]
    c, s = np.cos(angle), np.sin(angle)
    xy = spacing * xy @ np.array([[c, s], [-s, c]]) + origin
    theta = np.full((xy.shape[0], 1), np.mod(angle, 2 * np.pi))
    return jnp.asarray(np.concatenate([xy, theta], axis=1), jnp.float32)
