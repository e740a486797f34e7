"""Brownian throughput of patchy particles against isotropic ones in the same run (2-D),
for the `particle_memory` benchmark: records `particle_steps_per_s` with params
`model` in {"patchy", "isotropic"}, `dim` = 2, `N`.

Both models have 3 species at density 0.5 per sigma^2, soft core epsilon = 50 kT,
cutoff 2 sigma, skin 1.5 sigma, dt = 1e-3, one chain, timed through `molcomp.sample`
(neighbour-list upkeep and overflow checks included, all steps in one compiled scan,
median of repeats, warm-up excluded), as in `md_throughput`. Isotropic: the Morse-like
wells of `md_throughput` (D = 3 kT on the diagonal, 1 kT between neighbouring species).
Patchy: `PatchyMixture` with 4 patches per particle, oriented couplings J_d = -D in
both forward directions (the same depths, now per patch pair), default patch width
pi / 8; its Brownian step also moves the angles. Start: a grid (random angles for the
patchy particles), relaxed by `relax` untimed steps; the timed run starts there with a
freshly sized neighbour list.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import molcomp
from molcomp import particles

from ._harness import Case, Context, Measurement
from ._timing import median_time

DEPTH = np.array([[3.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 3.0]])
DT, CUTOFF, SKIN, DENSITY = 1e-3, 2.0, 1.5, 0.5
MODELS = ("patchy", "isotropic")

# Per size: particle numbers, timed steps, relaxation steps, timing repeats.
SIZES = {
    "smoke": ((200,), 20, 20, 1),
    "quick": ((1000, 10_000), 100, 100, 3),
    "full": ((1000, 10_000), 500, 500, 5),
}


def mixture(kind: str, n: int):
    """(model, start) of the benchmark system: `kind` "patchy" or "isotropic", n
    particles on a grid (patchy: with random angles, key 0)."""
    side = float(np.sqrt(n / DENSITY))
    species = np.arange(n) % 3
    iso = particles.ParticleMixture(DEPTH, species, (side, side), cutoff=CUTOFF)
    x = particles.lattice_positions(iso)
    if kind == "isotropic":
        return iso, x
    if kind != "patchy":
        raise ValueError(f"kind must be one of {MODELS}, got {kind!r}")
    couplings = molcomp.Couplings.oriented(np.stack([-DEPTH, -DEPTH]))
    model = particles.PatchyMixture(couplings, species, (side, side), cutoff=CUTOFF)
    theta = jax.random.uniform(jax.random.key(0), (n, 1), maxval=2 * np.pi)
    return model, jnp.concatenate([x, theta], axis=1)


def steps_per_s(
    kind: str, n: int, steps: int, relax: int, repeats: int, ctx: Context | None = None, seed=0
) -> list[Measurement]:
    """`particle_steps_per_s` = n * steps / seconds of Brownian dynamics of `mixture`."""
    model, start = mixture(kind, n)
    sampler = particles.Brownian(dt=DT, dr_threshold=SKIN)
    state = sampler.init(model, start)
    if relax:
        block = max(1, min(relax, steps))
        state = molcomp.sample(jax.random.key(seed + 1), model, sampler, state, relax, chunk=block)
        state = sampler.init(model, state.state.position)
    key = jax.random.key(seed)

    def call():
        return molcomp.sample(key, model, sampler, state, steps, chunk=steps).state.position

    t = median_time(call, repeats)
    return [Measurement("particle_steps_per_s", n * steps / t, "particle steps/s", True)]


def throughput_cases(size: str) -> list[Case]:
    """The `particle_steps_per_s` cases of one size: every N, patchy then isotropic."""
    sizes, steps, relax, repeats = SIZES[size]
    out = []
    for n in sizes:
        for kind in MODELS:
            params = dict(
                model=kind,
                dim=2,
                N=n,
                sampler="brownian",
                sweeps=steps,
                dt=DT,
                density=DENSITY,
                cutoff=CUTOFF,
                skin=SKIN,
                relax=relax,
            )
            run = functools.partial(_run, kind, n, steps, relax, repeats)
            out.append(
                Case(f"throughput {kind} 2D N={n}", "molcomp", "physical", params, run, repeats)
            )
    return out


def _run(kind, n, steps, relax, repeats, ctx: Context, seed=0):
    return steps_per_s(kind, n, steps, relax, repeats, ctx, seed)
