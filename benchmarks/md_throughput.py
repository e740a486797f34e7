"""Brownian dynamics throughput of molcomp's particle mixtures (jax-md underneath).

Metric `particle_steps_per_s` = N * steps / seconds (one chain, median of repeats,
warm-up excluded), timed through `molcomp.particles.run`: the neighbour-list upkeep
and overflow checks every real run pays are included. Model: 3 species, soft core
(epsilon = 50 kT) + Morse-like wells (D on the diagonal 3 kT, 1 kT between neighbouring
species), cutoff 2 sigma, skin 0.5, started on a grid (relaxed, no overlaps).
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from molcomp import particles

from ._harness import Case, Context, Measurement
from ._timing import median_time

NAME = "md_throughput"
DESCRIPTION = "particle-steps per second of Brownian dynamics with neighbour lists"
PLOTS = {"md_throughput.png": "particle_steps_per_s"}

DEPTH = np.array([[3.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 3.0]])
DT, CUTOFF, SKIN = 1e-3, 2.0, 0.5
DENSITY = {2: 0.5, 3: 0.3}  # particles per sigma^dim

# Per size: (dim, N, steps) cases, timing repeats.
SIZES = {
    "smoke": ([(2, 200, 20)], 1),
    "quick": ([(2, 1000, 200), (2, 10_000, 20), (3, 10_000, 10)], 3),
    "full": ([(2, 1000, 1000), (2, 10_000, 200), (3, 10_000, 100)], 5),
}


def cases(size: str) -> list[Case]:
    specs, repeats = SIZES[size]
    out = []
    for dim, n, steps in specs:
        params = dict(
            model="ternary_soft_core_morse",
            sampler="brownian",
            dim=dim,
            N=n,
            sweeps=steps,
            dt=DT,
            density=DENSITY[dim],
            cutoff=CUTOFF,
        )
        run = functools.partial(_run, dim, n, steps, repeats)
        out.append(Case(f"brownian {dim}D N={n}", "molcomp", "physical", params, run, repeats))
    return out


def mixture(dim: int, n: int):
    """The benchmark model and its grid start."""
    side = (n / DENSITY[dim]) ** (1.0 / dim)
    model = particles.ParticleMixture(DEPTH, np.arange(n) % 3, (side,) * dim, cutoff=CUTOFF)
    return model, particles.lattice_positions(model)


def _run(dim, n, steps, repeats, ctx: Context, seed=0):
    model, x = mixture(dim, n)
    sampler = particles.Brownian(dt=DT, dr_threshold=SKIN)
    state = sampler.init(model, x)
    key = jax.random.key(seed)

    def call():
        return particles.run(key, model, sampler, state, steps, block=steps).state.position

    t = median_time(call, repeats)
    return [Measurement("particle_steps_per_s", n * steps / t, "particle steps/s", True)]
