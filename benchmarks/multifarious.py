"""Multifarious mixtures: phase diagram over (epsilon, mu) and capacity m_max(N).

Model: N species on an open sqrt(N) x sqrt(N) lattice (the patch fills it), m random
permutation structures, clipped-OR couplings J_d[a, b] = -epsilon on designed bonds
(epsilon enters as the model's beta, so every grid point shares one compilation), mu
equal for all species, an empty state. Each run starts from a centred k x k seed of
structure alpha = run mod m (k = sqrt(N) / 4, at least 2).

Kinetics, one dynamics on one clock: `Metropolis(proposal="uniform")` (block-parallel
sweeps, one attempt per site per sweep) and `Gillespie` (continuous time, each site
attempting at rate 1). Both use the same proposal (p_e = 0.1 for the empty state, the
rest uniform over the other states), so Gillespie is the continuous-time limit of the
same Markov chain and one sweep = one time unit is exact for the attempt rate. Every
run lasts T = `budget` * N sweeps (time units): a uniform proposal offers a given
species to a site at rate 0.9 / N, so T / N is the number of offers per species and
site, the same at every N.

A final configuration is classified as: chimera (its largest correctly bonded cluster
fuses structures, each holding > 20 % of its bonds, and spans >= N / 4 sites); assembly
(otherwise, a structure with bond overlap >= 0.5); liquid (occupancy >= 0.5); else
dispersion. A grid point takes the most common phase of its seeds.

Records: `phase_points` (number of grid points in each phase; params kinetics, phase,
N, m), `m_max` (params kinetics, N: the m where the success fraction of seeded recalls,
error < 0.05 within the time budget, crosses 90 %, interpolated) and
`capacity_exponent` (the log-log slope of m_max against N). All grid points and seeds,
and all runs at one m, are single batches; at each N one compiled kernel per kinetics
serves the phase grid and every m (as many capacity runs as grid points x seeds).

Run alone: `python -m benchmarks run --only multifarious [--quick | --smoke]`.
"""

from __future__ import annotations

import functools
import io
from collections import Counter

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import analog
import learning
import molcomp

from ._harness import Case, Context, Measurement, write_atomic

NAME = "multifarious"
DESCRIPTION = "multifarious mixtures: (epsilon, mu) phase diagram and capacity m_max(N)"
PHASES = ("assembly", "chimera", "liquid", "dispersion")
KINETICS = ("metropolis", "gillespie")
M_PHASE = 4
# N: phase-diagram species; grid x grid points, `seeds` runs each; budget: sweeps per
# species (T = budget * N); caps: capacity sizes; ms: structures tried at each.
SIZES = {
    "smoke": dict(N=16, grid=2, seeds=2, budget=1, caps=(16,), ms=(2, 4)),
    "quick": dict(N=144, grid=4, seeds=2, budget=48, caps=(36, 64, 100, 144), ms=(1, 2, 4, 8)),
    "full": dict(N=400, grid=6, seeds=2, budget=64, caps=(64, 144, 256, 400),
                 ms=(1, 2, 4, 8, 16)),
}  # fmt: skip
EPS_RANGE, MU_RANGE = (4.0, 12.0), (-16.0, -4.0)
EPS_CAPACITY, MU_CAPACITY = 8.0, -10.0
EMPTY_PROB = 0.1
# A site's total Gillespie rate is at most its attempt rate (1), so a run makes about
# N * T events at most; twice that is never reached in practice (Poisson tails).
EVENT_SLACK = 2


def _runs_per_batch(size: str) -> int:
    s = SIZES[size]
    return s["grid"] ** 2 * s["seeds"]


def _sweeps(size: str, N: int) -> int:
    return SIZES[size]["budget"] * N


def _sampler(kinetics: str, size: str):
    """One sampler per kinetics and size, shared by the phase grid and every m:
    Gillespie needs every partner, at most m per direction for m structures."""
    if kinetics == "metropolis":
        return molcomp.Metropolis(proposal="uniform", empty_prob=EMPTY_PROB)
    partners = max(M_PHASE, *SIZES[size]["ms"])
    return molcomp.Gillespie(empty_prob=EMPTY_PROB, partners=partners)


def _setup(key, N: int, m: int):
    side = int(round(N**0.5))
    lat = molcomp.lattice.square(side, periodic=False)
    structs = molcomp.structures.random(key, lat, N, m)
    return structs, learning.hebbian.clipped_or(structs, 1.0), max(2, side // 4)


@eqx.filter_jit
def _runs(keys, couplings, lat, betas, mus, cues, sampler, steps, max_events):
    """One batch: run r has its own beta (epsilon), mu and cue. Metropolis runs are
    vmapped (block updates vectorise across runs); Gillespie runs go one after another
    (`lax.map`), since a vmapped event loop makes every run as many events as the
    busiest one, and compiles to a larger program."""

    def one(args):
        key, beta, mu, cue = args
        model = molcomp.PottsModel(lat, couplings, jnp.full(couplings.q, mu), beta, empty=True)
        return analog.memory.run_kinetics(key, model, sampler, cue, steps, max_events)

    if isinstance(sampler, molcomp.Gillespie):
        return jax.lax.map(one, (keys, betas, mus, cues))
    return jax.vmap(one)((keys, betas, mus, cues))


def _batch(key, structs, J, betas, mus, cues, kinetics: str, size: str):
    N = structs.n_species
    T = _sweeps(size, N)
    keys = jax.random.split(key, cues.shape[0])
    return _runs(
        keys, J, structs.lattice, jnp.asarray(betas, jnp.float32), jnp.asarray(mus, jnp.float32),
        cues, _sampler(kinetics, size), T, EVENT_SLACK * N * T,
    )  # fmt: skip


def classify(structs, configs) -> list[str]:
    out = analog.memory.readout(structs, configs)
    n = structs.n_species
    phases = []
    for i in range(len(out.error)):
        if out.chimera[i] and out.cluster[i] >= n / 4:
            phases.append("chimera")
        elif out.error[i] <= 0.5:
            phases.append("assembly")
        elif out.occupancy[i] >= 0.5:
            phases.append("liquid")
        else:
            phases.append("dispersion")
    return phases


def _phase_grid(kinetics: str, size: str, seed: int, ctx: Context):
    """(eps, mus, grid of phases), computed once per run and kinetics (ctx.cache)."""
    if (NAME, "phases", kinetics) in ctx.cache:
        return ctx.cache[NAME, "phases", kinetics]
    s = SIZES[size]
    N, g, seeds = s["N"], s["grid"], s["seeds"]
    structs, J, k = _setup(jax.random.key(seed), N, M_PHASE)
    eps, mus = np.linspace(*EPS_RANGE, g), np.linspace(*MU_RANGE, g)
    E, U, R = np.meshgrid(eps, mus, np.arange(seeds), indexing="ij")
    cue_table = jnp.stack([analog.memory.seed(structs, a, k) for a in range(M_PHASE)])
    cues = cue_table[R.ravel() % M_PHASE]
    configs = _batch(jax.random.key(seed + 1), structs, J, E.ravel(), U.ravel(), cues,
                     kinetics, size)  # fmt: skip
    phases = np.array(classify(structs, configs)).reshape(g, g, seeds)
    grid = [[Counter(phases[i, j]).most_common(1)[0][0] for j in range(g)] for i in range(g)]
    ctx.cache[NAME, "phases", kinetics] = (eps, mus, grid)
    if ctx.out is not None and all((NAME, "phases", kin) in ctx.cache for kin in KINETICS):
        _plot(ctx, N)
    return eps, mus, grid


def _phase_run(kinetics: str, phase: str, size: str, seed: int, ctx: Context):
    _, _, grid = _phase_grid(kinetics, size, seed, ctx)
    n = sum(p == phase for row in grid for p in row)
    return [Measurement("phase_points", float(n), "grid points", phase == "assembly")]


def _plot(ctx: Context, N: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    cmap = ListedColormap(["tab:green", "tab:orange", "tab:blue", "lightgrey"])
    for ax, kin in zip(axes, KINETICS):
        eps, mus, grid = ctx.cache[NAME, "phases", kin]
        codes = np.array([[PHASES.index(p) for p in row] for row in grid])
        ax.imshow(codes.T, origin="lower", cmap=cmap, vmin=0, vmax=3, aspect="auto",
                  extent=(eps[0], eps[-1], mus[0], mus[-1]))  # fmt: skip
        ax.set(title=f"{kin}, N={N}, m={M_PHASE}", xlabel="epsilon (kT)", ylabel="mu (kT)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i)) for i in range(4)]
    fig.legend(handles, PHASES, loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_atomic(ctx.out / "multifarious_phases.png", buf.getvalue())


def _success(kinetics: str, size: str, N: int, m: int, seed: int) -> float:
    structs, J, k = _setup(jax.random.fold_in(jax.random.key(seed), m), N, m)
    runs = _runs_per_batch(size)
    alphas = np.arange(runs) % m
    cues = jnp.stack([analog.memory.seed(structs, a, k) for a in range(m)])[alphas]
    full = np.ones(runs)
    configs = _batch(jax.random.key(seed + m), structs, J, EPS_CAPACITY * full,
                     MU_CAPACITY * full, cues, kinetics, size)  # fmt: skip
    out = analog.memory.readout(structs, configs)
    return float(np.mean(out.success & (out.retrieved == alphas)))


def _m_max(kinetics: str, size: str, seed: int, ctx: Context) -> dict:
    """{N: m_max} for every capacity size, computed once per run and kinetics."""
    if (NAME, "m_max", kinetics) not in ctx.cache:
        s = SIZES[size]
        values = {}
        for N in s["caps"]:
            fr = [_success(kinetics, size, N, m, seed) for m in s["ms"]]
            values[N] = analog.memory.crossing(s["ms"], fr, 0.9)
            ctx.cache[NAME, "success", kinetics, N] = dict(zip(s["ms"], fr))
        ctx.cache[NAME, "m_max", kinetics] = values
    return ctx.cache[NAME, "m_max", kinetics]


def _capacity_run(kinetics: str, N: int, size: str, seed: int, ctx: Context):
    return [Measurement("m_max", _m_max(kinetics, size, seed, ctx)[N], "structures", True)]


def _exponent_run(kinetics: str, size: str, seed: int, ctx: Context):
    ok = [(n, v) for n, v in _m_max(kinetics, size, seed, ctx).items() if v > 0]
    slope = 0.0  # fewer than two sizes with m_max > 0: no fit (params say how many)
    if len(ok) >= 2:
        slope = float(np.polyfit(np.log([n for n, _ in ok]), np.log([v for _, v in ok]), 1)[0])
    return [Measurement("capacity_exponent", slope, "", True)]


def cases(size: str) -> list[Case]:
    s = SIZES[size]
    seed = 0
    out = []
    common = dict(proposal="uniform", empty_prob=EMPTY_PROB, budget=s["budget"])
    for kin in KINETICS:
        base = dict(kinetics=kin, N=s["N"], m=M_PHASE, grid=s["grid"], seeds=s["seeds"],
                    sweeps=_sweeps(size, s["N"]), **common)  # fmt: skip
        for phase in PHASES:
            run = functools.partial(_phase_run, kin, phase, size, seed)
            out.append(Case(f"phases {kin} N={s['N']} {phase}", "molcomp", "physical",
                            {**base, "phase": phase}, run, 1, seed))  # fmt: skip
    for kin in KINETICS:
        cap = dict(kinetics=kin, ms=list(s["ms"]), runs=_runs_per_batch(size),
                   epsilon=EPS_CAPACITY, mu=MU_CAPACITY, threshold=0.9, **common)  # fmt: skip
        for N in s["caps"]:
            run = functools.partial(_capacity_run, kin, N, size, seed)
            out.append(Case(f"m_max {kin} N={N}", "molcomp", "physical",
                            {**cap, "N": N, "sweeps": _sweeps(size, N)}, run, 1, seed))  # fmt: skip
        run = functools.partial(_exponent_run, kin, size, seed)
        out.append(Case(f"capacity exponent {kin}", "molcomp", "physical",
                        {**cap, "Ns": list(s["caps"])}, run, 1, seed))  # fmt: skip
    return out
