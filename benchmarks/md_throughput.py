"""Brownian dynamics throughput of molcomp's particle mixtures (jax-md underneath), and
OpenMM on the same system.

Metric `particle_steps_per_s` = N * steps / seconds (one chain, median of repeats,
warm-up excluded), timed through `molcomp.sample`: the neighbour-list upkeep
and overflow checks every real run pays are included, all `steps` in one compiled
`lax.scan`. Model: 3 species, soft core (epsilon = 50 kT) + Morse-like wells (D on the
diagonal 3 kT, 1 kT between neighbouring species), cutoff 2 sigma, skin 1.5 sigma.
Start: a grid, relaxed by `relax` untimed Brownian steps; the timed run starts there
with a neighbour list freshly sized for the relaxed state (so no timed call pays an
overflow recovery that a real run would pay once).

OpenMM (peer, 3D): CPU platform with 2 threads, `BrownianIntegrator`, one
`CustomNonbondedForce` with the same pair energy (species as a per-particle parameter,
the depth table as a `Discrete2DFunction`), the same dt, density, cutoff and relaxed
start. Units: nm = sigma, ps, amu = particle mass, temperature such that kT = 1 kJ/mol,
friction 1 / ps, so its free diffusion constant equals molcomp's 1 / gamma. The case
checks that both codes give the same energy at the start before timing. Timing is like
for like: molcomp's timed run starts with its neighbour list built, and OpenMM's
`setPositions` discards its list, so each timed OpenMM run follows one untimed step.
`tests/benchmarks/test_md_benchmarks.py` checks energies, forces and a short
trajectory of the two against each other.
"""

from __future__ import annotations

import functools
import statistics

import jax
import numpy as np

import molcomp
from molcomp import particles

from ._harness import Case, Context, Measurement
from ._timing import median_time, timed

NAME = "md_throughput"
DESCRIPTION = "particle-steps per second of Brownian dynamics with neighbour lists"
PLOTS = {"md_throughput.png": "particle_steps_per_s"}

DEPTH = np.array([[3.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 3.0]])
DT, CUTOFF, SKIN = 1e-3, 2.0, 1.5
DENSITY = {2: 0.5, 3: 0.3}  # particles per sigma^dim
OPENMM_THREADS = 2
KJ_PER_MOL_PER_KELVIN = 8.314462618e-3  # molar gas constant: kT = 1 kJ/mol at 120.3 K

# Per size: (dim, N, steps) cases, relaxation steps, timing repeats. OpenMM runs the
# 3D cases.
SIZES = {
    "smoke": ([(2, 200, 20)], 20, 1),
    "quick": ([(2, 1000, 200)], 200, 3),  # N = 10^4 (and OpenMM, 3D) at full size only
    "full": ([(2, 1000, 1000), (2, 10_000, 500), (3, 10_000, 200)], 1000, 5),
}


def cases(size: str) -> list[Case]:
    specs, relax, repeats = SIZES[size]
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
            skin=SKIN,
            relax=relax,
        )
        label = f"brownian {dim}D N={n}"
        run = functools.partial(_run, dim, n, steps, relax, repeats)
        out.append(Case(label, "molcomp", "physical", params, run, repeats))
        if dim == 3:
            peer = functools.partial(_run_openmm, dim, n, steps, relax, repeats)
            out.append(Case(label, "openmm", "peer", params, peer, repeats))
    return out


def mixture(dim: int, n: int):
    """The benchmark model and its grid start."""
    side = (n / DENSITY[dim]) ** (1.0 / dim)
    model = particles.ParticleMixture(DEPTH, np.arange(n) % 3, (side,) * dim, cutoff=CUTOFF)
    return model, particles.lattice_positions(model)


def relaxed(dim: int, n: int, relax: int, block: int, ctx: Context, seed: int = 0):
    """(model, state) after `relax` Brownian steps from the grid, run in blocks of
    `block` steps (cached per run, so molcomp and OpenMM start from the same state)."""
    key = ("md_throughput.relaxed", dim, n, relax, block, seed)
    if key not in ctx.cache:
        model, x = mixture(dim, n)
        sampler = particles.Brownian(dt=DT, dr_threshold=SKIN)
        state = sampler.init(model, x)
        out = molcomp.sample(jax.random.key(seed + 1), model, sampler, state, relax, chunk=block)
        ctx.cache[key] = (model, out.state)
    return ctx.cache[key]


def _run(dim, n, steps, relax, repeats, ctx: Context, seed=0):
    model, relaxed_state = relaxed(dim, n, relax, steps, ctx, seed)
    sampler = particles.Brownian(dt=DT, dr_threshold=SKIN)
    state = sampler.init(model, relaxed_state.position)
    key = jax.random.key(seed)

    def call():
        return molcomp.sample(key, model, sampler, state, steps, chunk=steps).state.position

    t = median_time(call, repeats)
    return [Measurement("particle_steps_per_s", n * steps / t, "particle steps/s", True)]


def openmm_system(model):
    """An OpenMM System with molcomp's pair energy u_ab(r) (see `molcomp.particles`),
    in units where sigma = 1 nm and kT = 1 kJ/mol."""
    import openmm

    sigma = float(model.sigma)
    ro, rc = model.onset, model.cutoff
    expression = (
        "s * (core - depth(a1, a2) * (1 - (1 - e)^2));"
        f"core = {0.5 * float(model.core)} * (1 - r / {sigma})^2 * step({sigma} - r);"
        f"e = exp(-{float(model.alpha)} * max(r - {sigma}, 0));"
        f"s = select(step(r - {ro}), ({rc}^2 - r^2)^2 * ({rc}^2 + 2 * r^2 - 3 * {ro}^2)"
        f" / ({rc}^2 - {ro}^2)^3, 1)"
    )
    force = openmm.CustomNonbondedForce(expression)
    force.addPerParticleParameter("a")
    q = model.n_species
    depth = np.asarray(model.depth, np.float64)
    force.addTabulatedFunction("depth", openmm.Discrete2DFunction(q, q, depth.T.ravel().tolist()))
    force.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
    force.setCutoffDistance(rc)
    system = openmm.System()
    for species in np.asarray(model.species):
        system.addParticle(1.0)
        force.addParticle([float(species)])
    system.addForce(force)
    vectors = np.diag(model.box)
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*v) for v in vectors))
    return system


def openmm_context(model, positions, *, kT: float = 1.0, seed: int = 0):
    """(context, integrator): OpenMM's `BrownianIntegrator` on `openmm_system(model)` at
    `positions` (one chain, (n, 3)), friction 1 / ps and temperature kT (in kJ/mol, the
    energy unit; 0 gives the deterministic drift), CPU platform with `OPENMM_THREADS`."""
    import openmm

    integrator = openmm.BrownianIntegrator(kT / KJ_PER_MOL_PER_KELVIN, 1.0, DT)
    integrator.setRandomNumberSeed(seed + 1)
    platform = openmm.Platform.getPlatformByName("CPU")
    context = openmm.Context(
        openmm_system(model), integrator, platform, {"Threads": str(OPENMM_THREADS)}
    )
    context.setPositions(np.asarray(positions, np.float64))
    return context, integrator


def _run_openmm(dim, n, steps, relax, repeats, ctx: Context, seed=0):
    model, state = relaxed(dim, n, relax, steps, ctx, seed)
    x = state.position
    context, integrator = openmm_context(model, x, seed=seed)
    start = np.asarray(x, np.float64)

    ours = float(model.energy(x, particles.Brownian(dt=DT).init(model, x).neighbors))
    theirs = context.getState(getEnergy=True).getPotentialEnergy()._value
    if abs(theirs - ours) > 1e-3 * max(1.0, abs(ours)):
        raise RuntimeError(f"OpenMM energy {theirs} != molcomp energy {ours} (kT)")

    def call():
        integrator.step(steps)
        return context.getState(getPositions=True).getPositions(asNumpy=True)

    def once():
        # molcomp's timed run starts from a state whose neighbour list is built;
        # `setPositions` discards OpenMM's, so one untimed step rebuilds it first.
        context.setPositions(start)
        integrator.step(1)
        return timed(call)

    once()  # warm-up
    t = statistics.median(once() for _ in range(repeats))
    return [Measurement("particle_steps_per_s", n * steps / t, "particle steps/s", True)]
