"""The surrogate's window size from classical nucleation theory at the simulation's
parameters.

The window surrogate weighs a k x k nucleus by exp(sum of its species' mu): the
Boltzmann weight of the nucleus up to its bond energy, which is the same for every
window of one size. It predicts which structure nucleates when k is the side of the
critical nucleus at the moment nucleation happens. On the square lattice a compact
cluster of n sites has at most b(n) = 2 n - ceil(2 sqrt(n)) bonds (Harary and Harborth
1976), so with designed bonds of energy -beta epsilon and species at chemical
potential mu its free energy relative to the empty lattice is

$$G_n(\\beta) = -n \\mu - \\beta \\epsilon\\, b(n),$$

the barrier is G*(beta) = max_n G_n(beta) at n*(beta). During the anneal beta rises;
nucleation happens at the first sweep t where the expected number of critical nuclei,
sum_{t' <= t} n_sites exp(-G*(beta_t')) (about one attempt per site and sweep), reaches
one. The window side is k = ceil(sqrt(n*)) there, the smallest square holding the
critical nucleus, and at least 2: when the critical nucleus is a single site (late in
a fast anneal) it is shared by every structure (all are arrangements of the same
species), and the first structure-specific cluster is a bonded pair. The estimate is
only as good as its rate of one attempt per site and sweep, which is why the
benchmarks also report how often the surrogate and the simulation agree.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from molcomp.checks import as_finite_float, check_positive_int, check_real


@dataclasses.dataclass(frozen=True)
class NucleationEstimate:
    """Outcome of `critical_window`: `k` (window side), `n_star` (sites of the critical
    nucleus), `beta` (binding strength when nucleation happens), `sweep` (its sweep,
    0-based) and `barrier` (G* there, kT). `sweep` is the last one, and `beta` its
    value, if the expected count never reaches one (no nucleation: k is then that of
    the end of the anneal)."""

    k: int
    n_star: int
    beta: float
    sweep: int
    barrier: float


def max_bonds(n):
    """Most nearest-neighbour bonds among n sites of the square lattice: 2n - ceil(2 sqrt n)
    (Harary and Harborth 1976); `n` an int or an integer array."""
    n = np.asarray(n)
    return 2 * n - np.ceil(2 * np.sqrt(n) - 1e-9).astype(n.dtype)


def critical_window(
    mu, *, epsilon=8.0, beta=(0.5, 1.2), sweeps: int = 300, n_sites: int, max_size: int = 400
) -> NucleationEstimate:
    """Window side of the nucleation surrogate from classical nucleation theory (module
    docstring) for a linear binding-strength ramp.

    **Arguments:**

    - `mu`: chemical potential (ln c / c0) of the species that form the nucleus (the
      densely dosed ones), < 0.
    - `epsilon`: designed bond energy (kT at beta = 1), > 0.
    - `beta`: (start, end) of the linear ramp over `sweeps` sweeps.
    - `sweeps`: sweeps of the anneal; `n_sites`: lattice sites (nucleation attempts
      per sweep).
    - `max_size`: largest cluster considered.

    **Returns:** a `NucleationEstimate`.
    """
    mu = float(as_finite_float("mu", mu, ()))
    eps = check_real("epsilon", epsilon, minimum=0, strict=True)
    b0, b1 = (float(v) for v in as_finite_float("beta", beta, (2,)))
    if mu >= 0:
        raise ValueError(f"mu must be < 0 (a dilute species), got {mu}")
    if b0 < 0 or b1 < 0:
        raise ValueError(f"beta must be two non-negative numbers, got {beta!r}")
    sweeps = check_positive_int("sweeps", sweeps)
    n_sites = check_positive_int("n_sites", n_sites)
    max_size = check_positive_int("max_size", max_size)
    n = np.arange(1, max_size + 1, dtype=np.float64)[:, None]
    betas = np.linspace(b0, b1, sweeps)
    G = -n * mu - eps * betas[None, :] * max_bonds(n)  # (sizes, sweeps)
    barrier = G.max(axis=0)
    n_star = G.argmax(axis=0) + 1
    expected = np.cumsum(n_sites * np.exp(-barrier))
    t = int(min(np.searchsorted(expected, 1.0), sweeps - 1))
    ns = int(n_star[t])
    k = max(2, int(np.ceil(np.sqrt(ns) - 1e-9)))
    return NucleationEstimate(k, ns, float(betas[t]), t, float(barrier[t]))
