"""Multifarious mixtures: phase diagram over (epsilon, mu) and capacity m_max(N).

Model: N species on an open sqrt(N) x sqrt(N) lattice (the patch fills it), m random
permutation structures, clipped-OR couplings J_d[a, b] = -epsilon on designed bonds
(epsilon enters as the model's beta), mu equal for all species, an empty state. Every
run starts from a centred k x k seed of structure alpha = run mod m (k = sqrt(N) / 4,
at least 3).

The grid is laid out in epsilon and delta = -mu - epsilon, the free energy (kT) of
attaching a species by one designed bond: the phase boundaries of seeded growth sit at
roughly constant delta (see the benchmarks README), so mu = -(epsilon + delta).

Kinetics, each with its own stated budget on the common clock (one time unit = one
attempt per site, attempt rate 1):

- `metropolis`: `Metropolis(proposal="neighbour")`, `sweeps` block-parallel sweeps. The
  neighbour proposal offers a designed partner of a neighbour half the time, so it
  assembles about N / (7 m) times faster per attempt than a uniform proposal.
- `gillespie`: `Gillespie`, the continuous-time limit of the uniform-proposal chain
  (rejection-free, partner lists of at most m per direction), for `time * N` time
  units or `events_per_site * N` events, whichever comes first. T = 200 N is about twice
  the time by which every seeded m = 1 recall finishes at N = 64 to 1600 (70-110 N, the
  `recall_time_max` records: the right species reaches a growth site at rate 0.9 / N).
  The event cap is 250 N on the grid, where it bounds the cost of the fast exchanges
  of a liquid, and 1000 N in capacity runs, where it must not bind (seeded m = 1
  recall makes about 350 N events at N = 1600).

Records: `phase_points` (params kinetics, phase, N, m), `m_max` (params kinetics, N)
and `capacity_exponent` (+ `capacity_exponent_stderr`, params kinetics); the budget's
check, `recall_time` (median first-passage time of seeded m = 1 recall, time units;
left out when half or more never finish), `recall_time_max` (of the runs that finished)
and `recall_unfinished` (params kinetics, N). A column of
the grid (one epsilon: every delta and seed) and the runs at one (N, m) are each one
vmapped batch; finished batches are kept in `multifarious_progress.json` next to the
results, so an interrupted run resumes where it stopped.

Run alone: `python -m benchmarks run --only multifarious [--quick | --smoke]`.
"""

from __future__ import annotations

import functools
import io
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

import analog
import learning
import molcomp

from ._harness import Case, Context, Measurement, write_atomic

NAME = "multifarious"
DESCRIPTION = "multifarious mixtures: (epsilon, mu) phase diagram and capacity m_max(N)"
PHASES = analog.memory.PHASES
KINETICS = ("metropolis", "gillespie")
M_PHASE = 4
EMPTY_PROB, NEIGHBOUR_PROB = 0.1, 0.5
# Gillespie event caps per run (x N): phase grid, capacity curve
EVENTS_PER_SITE, EVENTS_PER_SITE_CAPACITY = 250, 1000
LEVEL = 0.9  # m_max: where the success fraction crosses 90 %
# Retrieval point of the capacity curve (kT): inside the assembly band of both kinetics.
EPS_CAPACITY, DELTA_CAPACITY = 9.0, 4.0
RECALL_SEGMENTS = 20  # readouts of first-passage times per budget
# N: phase-diagram species; eps x delta grid, `seeds` runs per point; sweeps: Metropolis
# budget; time: Gillespie budget T = time * N; caps: capacity sizes; ms: structures
# tried at each; runs: seeded recalls per (N, m).
SIZES = {
    "smoke": dict(N=16, eps=(4.0, 10.0), delta=(0.0, 5.0), seeds=2, sweeps=40, time=8.0,
                  caps=(16,), ms=(1, 2), runs=4),
    "quick": dict(N=400, eps=(3.0, 5.0, 7.0, 9.0, 11.0, 13.0), delta=(0.0, 1.5, 3.0, 4.5, 6.0),
                  seeds=4, sweeps=1500, time=200.0, caps=(64, 144, 256, 400),
                  ms=(1, 2, 3, 4, 5, 6), runs=20),
    "full": dict(N=1600, eps=(3.0, 5.0, 7.0, 9.0, 11.0, 13.0), delta=(0.0, 1.5, 3.0, 4.5, 6.0),
                 seeds=2, sweeps=2000, time=200.0, caps=(64, 144, 256, 400, 900, 1600),
                 ms=(1, 2, 3, 4, 5, 6), runs=20),
}  # fmt: skip


def _csv(values) -> str:
    return ",".join(f"{v:g}" for v in values)


def _budget(kinetics: str, size: str, N: int) -> tuple[int, float]:
    """(Metropolis sweeps, Gillespie time) of one run at N."""
    s = SIZES[size]
    return s["sweeps"], float(s["time"] * N)


def _setup(key, N: int, m: int):
    side = int(round(N**0.5))
    lat = molcomp.lattice.square(side, periodic=False)
    structs = molcomp.structures.random(key, lat, N, m)
    return structs, learning.hebbian.clipped_or(structs, 1.0), max(3, side // 4)


def _sampler(kinetics: str, partners: int):
    """`partners` = m: clipped-OR gives each species at most m designed partners per
    direction, so the lists hold every one (exact), with no padding: an event's cost
    grows with the list length squared (one compilation per m)."""
    if kinetics == "metropolis":
        return molcomp.Metropolis(
            proposal="neighbour",
            neighbour_prob=NEIGHBOUR_PROB,
            empty_prob=EMPTY_PROB,
            partners=partners,
        )
    return molcomp.Gillespie(empty_prob=EMPTY_PROB, partners=partners)


@eqx.filter_jit
def _runs(keys, couplings, lat, beta, mus, cues, sampler, sweeps, duration, max_events):
    """One vmapped batch sharing epsilon (beta), so the dense beta * J table and the
    partner lists are built once, not per run; run r has its own mu, cue and key."""

    def one(key, mu, cue):
        model = molcomp.PottsModel(lat, couplings, jnp.full(couplings.q, mu), beta, empty=True)
        if isinstance(sampler, molcomp.Gillespie):
            return analog.memory.run_kinetics(key, model, sampler, cue, duration, max_events)
        return analog.memory.run_kinetics(key, model, sampler, cue, sweeps, 0)

    return jax.vmap(one)(keys, mus, cues)


def _batch(key, structs, J, eps, mus, cues, kinetics: str, size: str, events_per_site: int):
    """Run one batch; returns (Readout, runs that Gillespie's event cap stopped short of
    time T)."""
    N = structs.n_species
    sweeps, T = _budget(kinetics, size, N)
    configs, elapsed = _runs(
        jax.random.split(key, cues.shape[0]), J, structs.lattice, jnp.float32(eps),
        jnp.asarray(mus, jnp.float32), cues, _sampler(kinetics, structs.m), sweeps,
        jnp.float32(T), jnp.int32(events_per_site * N),
    )  # fmt: skip
    capped = int(np.sum(np.asarray(elapsed) < 0.999 * T)) if kinetics == "gillespie" else 0
    return analog.memory.readout(structs, configs), capped


def _say(msg: str) -> None:
    tqdm.write(f"    {NAME}: {msg}")


def _phase_grid(kinetics: str, size: str, seed: int, ctx: Context):
    """{(eps, delta): phase}, one vmapped batch per epsilon (every delta and seed)."""
    if (NAME, "phases", kinetics) in ctx.cache:
        return ctx.cache[NAME, "phases", kinetics]
    s = SIZES[size]
    N, seeds, deltas = s["N"], s["seeds"], np.asarray(s["delta"])
    structs, J, k = _setup(jax.random.key(seed), N, M_PHASE)
    cue_table = jnp.stack([analog.memory.seed(structs, a, k) for a in range(M_PHASE)])
    D, R = np.meshgrid(deltas, np.arange(seeds), indexing="ij")
    cues = cue_table[R.ravel() % M_PHASE]
    store = ctx.partial(NAME, size)
    grid, capped = {}, 0
    for i, eps in enumerate(s["eps"]):
        key = f"phases|{kinetics}|eps={eps:g}"
        done = store.get(key)
        if done is None:
            t0 = time.perf_counter()
            k_col = jax.random.fold_in(jax.random.key(seed + 1), i)
            mus = -(eps + D.ravel())
            out, n_capped = _batch(
                k_col, structs, J, eps, mus, cues, kinetics, size, EVENTS_PER_SITE
            )
            done = {"phases": analog.memory.phase(out, N), "capped": n_capped}
            store.put(key, done)
            _say(f"{kinetics} N={N} eps={eps:g}: {done['phases']} "
                 f"({done['capped']} capped, {time.perf_counter() - t0:.0f} s)")  # fmt: skip
        capped += done["capped"]
        per_point = np.array(done["phases"]).reshape(len(deltas), seeds)
        for j, delta in enumerate(deltas):
            grid[eps, float(delta)] = analog.memory.majority_phase(per_point[j])
    ctx.cache[NAME, "phases", kinetics] = grid
    if kinetics == "gillespie":
        _say(f"gillespie grid: {capped} runs stopped at the event cap before time T")
    if ctx.out is not None and all((NAME, "phases", kin) in ctx.cache for kin in KINETICS):
        _plot(ctx, size)
    return grid


def _phase_run(kinetics: str, phase: str, size: str, seed: int, ctx: Context):
    grid = _phase_grid(kinetics, size, seed, ctx)
    n = sum(p == phase for p in grid.values())
    return [Measurement("phase_points", float(n), "grid points", phase == "assembly")]


def _plot(ctx: Context, size: str):
    """Both maps in the (epsilon, mu) plane: one cell per grid point (the grid is
    sheared, mu = -(epsilon + delta)), with the lines where one and two designed bonds
    balance the chemical potential."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    s = SIZES[size]
    eps, deltas = np.asarray(s["eps"]), np.asarray(s["delta"])

    def edges(v):
        mid = (v[1:] + v[:-1]) / 2
        return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])

    E, Dl = np.meshgrid(edges(eps), edges(deltas), indexing="ij")
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    cmap = ListedColormap(["tab:green", "tab:orange", "tab:blue", "lightgrey"])
    for ax, kin in zip(axes, KINETICS):
        grid = ctx.cache[NAME, "phases", kin]
        codes = np.array([[PHASES.index(grid[e, float(d)]) for d in deltas] for e in eps])
        ax.pcolormesh(E, -(E + Dl), codes, cmap=cmap, vmin=0, vmax=3, edgecolors="white")
        x = np.array([E.min(), E.max()])
        ax.plot(x, -x, "k--", lw=0.8, label="mu = -eps")
        ax.plot(x, -2 * x, "k:", lw=0.8, label="mu = -2 eps")
        ax.set(title=f"{kin}, N={s['N']}, m={M_PHASE}", xlabel="epsilon (kT)", ylabel="mu (kT)")
        ax.legend(fontsize=7, loc="lower left")
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i)) for i in range(4)]
    fig.legend(handles, PHASES, loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_atomic(ctx.out / f"{NAME}_phases.png", buf.getvalue())


def _success(kinetics: str, size: str, N: int, m: int, seed: int, ctx: Context) -> float:
    """Fraction of `runs` seeded recalls of structure alpha = run mod m that retrieve it
    with error < 0.05 within the budget (one vmapped batch)."""
    store = ctx.partial(NAME, size)
    key = f"success|{kinetics}|N={N}|m={m}"
    if store.get(key) is not None:
        return store.get(key)["fraction"]
    t0 = time.perf_counter()
    structs, J, k = _setup(jax.random.fold_in(jax.random.key(seed), m), N, m)
    mu = jnp.full(J.q, -(EPS_CAPACITY + DELTA_CAPACITY))
    model = molcomp.PottsModel(structs.lattice, J, mu, EPS_CAPACITY, empty=True)
    memory = analog.memory.MixtureMemory(model, _sampler(kinetics, m), structs,
                                         max_events=EVENTS_PER_SITE_CAPACITY * N)  # fmt: skip
    sweeps, T = _budget(kinetics, size, N)
    steps = sweeps if kinetics == "metropolis" else int(T)  # attempts per site (rate 1)
    runs = SIZES[size]["runs"]
    res = analog.memory.seeded_recalls(
        jax.random.key(seed + 7919 * m), memory, runs, steps, k, mesh=ctx.mesh_for(runs)
    )
    frac = res.fraction
    capped = int(np.sum(res.elapsed < 0.999 * T)) if kinetics == "gillespie" else 0
    store.put(key, {"fraction": frac, "capped": capped})
    err, wall = np.median(res.readout.error), time.perf_counter() - t0
    _say(
        f"{kinetics} N={N} m={m}: success {frac:.2f}, median error {err:.3f}, "
        f"{capped} capped ({wall:.0f} s)"
    )
    return frac


def _m_max(kinetics: str, N: int, size: str, seed: int, ctx: Context) -> float:
    if (NAME, "m_max", kinetics, N) not in ctx.cache:
        ms = SIZES[size]["ms"]
        fractions = [_success(kinetics, size, N, m, seed, ctx) for m in ms]
        ctx.cache[NAME, "m_max", kinetics, N] = analog.memory.crossing(ms, fractions, LEVEL)
    return ctx.cache[NAME, "m_max", kinetics, N]


def _capacity_run(kinetics: str, N: int, size: str, seed: int, ctx: Context):
    return [Measurement("m_max", _m_max(kinetics, N, size, seed, ctx), "structures", True)]


def _recall_time(kinetics: str, N: int, size: str, seed: int, ctx: Context):
    """First-passage times of seeded m = 1 recall at the retrieval point, read in
    RECALL_SEGMENTS segments of the budget: what the budget must cover."""
    store = ctx.partial(NAME, size)
    key = f"recall|{kinetics}|N={N}"
    if store.get(key) is None:
        t0 = time.perf_counter()
        s = SIZES[size]
        structs, J, k = _setup(jax.random.fold_in(jax.random.key(seed), 1), N, 1)
        mu = jnp.full(J.q, -(EPS_CAPACITY + DELTA_CAPACITY))
        model = molcomp.PottsModel(structs.lattice, J, mu, EPS_CAPACITY, empty=True)
        sweeps, T = _budget(kinetics, size, N)
        segment = T / RECALL_SEGMENTS if kinetics == "gillespie" else sweeps // RECALL_SEGMENTS
        times = analog.memory.recall_times(
            jax.random.key(seed + 104729), structs, model, _sampler(kinetics, 1),
            jnp.stack([analog.memory.seed(structs, 0, k)] * s["runs"]), np.zeros(s["runs"], int),
            segment, RECALL_SEGMENTS, EVENTS_PER_SITE_CAPACITY * N,
        )  # fmt: skip
        store.put(key, {"times": [None if np.isinf(t) else float(t) for t in times]})
        _say(f"{kinetics} N={N} m=1 recall times: {sorted(times.tolist())} "
             f"({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    times = np.array([np.inf if t is None else t for t in store.get(key)["times"]])
    done, median = times[np.isfinite(times)], float(np.median(times))
    out = [Measurement("recall_unfinished", float(times.size - done.size), "runs", False)]
    if done.size:  # no time when no run finished; no median unless most did
        out.append(Measurement("recall_time_max", float(done.max()), "time units", False))
    if np.isfinite(median):
        out.append(Measurement("recall_time", median, "time units", False))
    return out


def fit_exponent(Ns, m_max) -> tuple[float, float | None]:
    """Least-squares slope of log m_max against log N over the sizes with m_max > 0,
    and its standard error (None with fewer than three sizes); (0, None) below two."""
    pts = [(n, v) for n, v in zip(Ns, m_max) if v > 0]
    if len(pts) < 2:
        return 0.0, None
    x, y = np.log([n for n, _ in pts]), np.log([v for _, v in pts])
    slope, icpt = np.polyfit(x, y, 1)
    if len(pts) < 3:
        return float(slope), None
    resid = y - (slope * x + icpt)
    se = np.sqrt(np.sum(resid**2) / (len(pts) - 2) / np.sum((x - x.mean()) ** 2))
    return float(slope), float(se)


def _exponent_run(kinetics: str, size: str, seed: int, ctx: Context):
    Ns = SIZES[size]["caps"]
    slope, se = fit_exponent(Ns, [_m_max(kinetics, N, size, seed, ctx) for N in Ns])
    out = [Measurement("capacity_exponent", slope, "", True)]
    if se is not None:
        out.append(Measurement("capacity_exponent_stderr", se, "", False))
    return out


def cases(size: str) -> list[Case]:
    s = SIZES[size]
    seed = 0
    out = []
    for kin in KINETICS:
        common = dict(kinetics=kin, empty_prob=EMPTY_PROB)
        if kin == "metropolis":
            common.update(proposal="neighbour", neighbour_prob=NEIGHBOUR_PROB,
                          sweeps=s["sweeps"])  # fmt: skip
        else:
            common.update(proposal="uniform", time_per_N=s["time"],
                          events_per_site=EVENTS_PER_SITE)  # fmt: skip
        grid = dict(N=s["N"], m=M_PHASE, eps=_csv(s["eps"]), delta=_csv(s["delta"]),
                    seeds=s["seeds"])  # fmt: skip
        for phase in PHASES:
            run = functools.partial(_phase_run, kin, phase, size, seed)
            out.append(Case(f"phases {kin} N={s['N']} {phase}", "molcomp", "physical",
                            {**common, **grid, "phase": phase}, run, 1, seed))  # fmt: skip
        cap = dict(ms=_csv(s["ms"]), runs=s["runs"], epsilon=EPS_CAPACITY,
                   mu=-(EPS_CAPACITY + DELTA_CAPACITY), threshold=LEVEL)  # fmt: skip
        if kin == "gillespie":
            cap["events_per_site"] = EVENTS_PER_SITE_CAPACITY
        for N in s["caps"]:
            run = functools.partial(_capacity_run, kin, N, size, seed)
            out.append(Case(f"m_max {kin} N={N}", "molcomp", "physical",
                            {**common, **cap, "N": N}, run, 1, seed))  # fmt: skip
        rec = dict(m=1, runs=s["runs"], epsilon=EPS_CAPACITY, segments=RECALL_SEGMENTS,
                   mu=-(EPS_CAPACITY + DELTA_CAPACITY))  # fmt: skip
        if kin == "gillespie":
            rec["events_per_site"] = EVENTS_PER_SITE_CAPACITY  # per segment
        for N in s["caps"]:
            run = functools.partial(_recall_time, kin, N, size, seed)
            out.append(Case(f"recall time {kin} N={N}", "molcomp", "physical",
                            {**common, **rec, "N": N}, run, 1, seed))  # fmt: skip
        run = functools.partial(_exponent_run, kin, size, seed)
        out.append(Case(f"capacity exponent {kin}", "molcomp", "physical",
                        {**common, **cap, "Ns": _csv(s["caps"]), "n_points": len(s["caps"])},
                        run, 1, seed))  # fmt: skip
    return out
