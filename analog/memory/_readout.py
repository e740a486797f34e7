"""Reading out a recall: which structure assembled, its error 1 - max bond overlap,
whether the largest cluster is a chimera, and the phase of the run (assembly, chimera,
liquid or dispersion)."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from molcomp import structures as st
from molcomp.checks import check_fraction, check_positive_int

from ._mixture import SUCCESS


@dataclasses.dataclass(frozen=True)
class Readout:
    """What a recall retrieved (numpy, one entry per run for batched recalls).

    `retrieved`: structure of largest bond overlap; `error`: 1 - that overlap;
    `success`: error < 0.05; `chimera`: the largest cluster fuses structures;
    `cluster`: its size in sites; `occupancy`: fraction of occupied sites; `order`:
    fraction of the contacts between occupied neighbours that are designed bonds (1 for
    fragments of stored structures, near m / N for a random dense packing).
    """

    retrieved: np.ndarray
    error: np.ndarray
    success: np.ndarray
    chimera: np.ndarray
    cluster: np.ndarray
    occupancy: np.ndarray
    order: np.ndarray
    overlaps: np.ndarray


@eqx.filter_jit
def _bond_overlaps(structs, configs):
    return jax.vmap(st.bond_overlaps, (None, 0))(structs, configs)


def readout(structs: st.Structures, configs, threshold: float = 0.2) -> Readout:
    """Read out configurations (n,) or (runs, n): overlaps in one jitted JAX call,
    clusters on the host (numpy and networkx).

    **Arguments:**

    - `structs`: the stored `Structures`.
    - `configs`: (n,) or (runs, n) configurations.
    - `threshold`: the largest cluster is a chimera when two or more structures each
      hold more than this fraction of its bonds (`molcomp.structures.largest_cluster`).

    **Returns:** a `Readout` with one entry per run.
    """
    if not isinstance(structs, st.Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    threshold = check_fraction("threshold", threshold)
    configs = jnp.atleast_2d(jnp.asarray(configs))
    ov = np.asarray(_bond_overlaps(structs, configs))
    host = np.asarray(configs)
    clusters = [st.largest_cluster(structs, c, threshold) for c in host]
    partners = np.asarray(structs.partners())  # once: an eager JAX call per config adds up
    err = 1.0 - ov.max(axis=1)
    return Readout(
        retrieved=ov.argmax(axis=1),
        error=err,
        success=err < SUCCESS,
        chimera=np.array([c.chimera for c in clusters]),
        cluster=np.array([c.sites.size for c in clusters]),
        occupancy=np.mean(host < structs.n_species, axis=1),
        order=np.array([_order(structs, c, partners) for c in host]),
        overlaps=ov,
    )


def _order(structs: st.Structures, config: np.ndarray, partners: np.ndarray) -> float:
    """Designed fraction of the contacts between occupied neighbours (1 when empty);
    `partners`: `structs.partners()` on the host, (m, D, N)."""
    lat = structs.lattice
    nb, mask = np.asarray(lat.neighbours), np.asarray(lat.mask)
    n, designed, contacts = structs.n_species, 0, 0
    for d in range(partners.shape[1]):  # forward directions: each contact once
        a, b = config, config[nb[:, d]]
        touch = mask[:, d] & (a < n) & (b < n)
        hit = np.any(partners[:, d, np.minimum(a, n - 1)] == b[None], axis=0)
        contacts += int(touch.sum())
        designed += int((touch & hit).sum())
    return designed / contacts if contacts else 1.0


PHASES = ("assembly", "chimera", "liquid", "dispersion")


def phase(
    out: Readout, n_sites: int, *, dense: float = 0.5, ordered: float = 0.5, assembled: float = 0.5
) -> list[str]:
    """Classify each readout as assembly, chimera, liquid or dispersion, in this order:

    1. dispersion: occupancy < `dense` (the mixture stays dilute);
    2. liquid: dense but disordered, fewer than `ordered` of its contacts designed;
    3. chimera: the largest correctly bonded cluster spans >= n_sites / 4 and fuses
       structures (`Readout.chimera`);
    4. assembly: error <= `assembled` (a structure with at least half its bonds);
    5. chimera otherwise: dense, ordered, but no structure holds half its bonds
       (fragments of several structures, none of them dominant).

    **Arguments:**

    - `out`: a `Readout` of one or more runs.
    - `n_sites`: lattice sites (sets the cluster size of a chimera).
    - `dense`, `ordered`, `assembled`: the thresholds above.

    **Returns:** one phase name (from `PHASES`) per run.
    """
    if not isinstance(out, Readout):
        raise TypeError(f"out must be a Readout (from `readout`), got {type(out).__name__}")
    n_sites = check_positive_int("n_sites", n_sites)
    dense = check_fraction("dense", dense)
    ordered = check_fraction("ordered", ordered)
    assembled = check_fraction("assembled", assembled)
    phases = []
    for i in range(len(out.error)):
        if out.occupancy[i] < dense:
            phases.append("dispersion")
        elif out.order[i] < ordered:
            phases.append("liquid")
        elif out.chimera[i] and out.cluster[i] >= n_sites / 4:
            phases.append("chimera")
        elif out.error[i] <= assembled:
            phases.append("assembly")
        else:
            phases.append("chimera")
    return phases
