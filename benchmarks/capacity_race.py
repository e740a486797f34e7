"""Capacity race: alpha = p_max / N of each associative memory under one recall criterion.

Every entrant is searched with the same code (`learning.memory.capacity`: bisection over
the load p in 1..p_cap), the same cue and the same success rule: the first `PROBES`
stored patterns (16 in quick runs; all of them when fewer are stored) are each
corrupted in exactly round(0.1 N) units, recalled, and the load succeeds when the mean
overlap of the recalled states with their sources is >= 0.95. p_max is the largest
load that succeeds; alpha = p_max / N is capacity per unit: patterns per neuron,
structures per species.

- Neural (kind `neural`, params `rule`): `hebbian`, `pseudo_inverse`, `storkey`
  (classical +-1 `learning.memory.Hopfield`, 10% of the spins flipped), `potts`
  (`learning.memory.PottsHopfield`, q = 3, 10% of the units set to another state),
  `dense` (`learning.memory.DenseHopfield`, F(x) = x^3), `modern`
  (`learning.memory.ModernHopfield`, beta = 1, one update); `SWEEPS` asynchronous
  sweeps (one update for `modern`); the overlap is the spin (Potts) overlap.
- Physical (kind `physical`, params `rule` = `mixture`, `kinetics`): the lattice
  mixture memory `analog.memory.MixtureMemory` storing p random permutation
  structures of the N species of an open sqrt(N) x sqrt(N) lattice (clipped-OR
  couplings, bond energy epsilon = 9 kT, mu = -13 kT for every species: the retrieval
  point of the `multifarious` benchmark). The cue is a stored structure with 10% of its
  sites emptied; recall runs the kinetics (`metropolis`: neighbour-proposal Metropolis,
  `MIX_SWEEPS` sweeps; `gillespie`: rejection-free continuous time, `MIX_TIME` x N time
  units); the overlap is the bond overlap with the source structure. Partner lists hold
  p_cap entries, so every load tried proposes every designed partner.

The search stops at p_cap (2N for the networks, N / 4 for the mixture, whose recall
has long failed there); params `lower_bound` is set by the search: true only when
p_cap itself succeeded (alpha is then a lower bound), with `p_max` and `loads_tried`.
(`multifarious` measures the mixture's m_max under its own criterion: recall from a
small seed, 90 % of runs with error < 0.05.)

Quick: every entrant at N = 100 (the networks at N = 200, 500 and 1000 too in full runs,
the mixture at N = 400); smoke: N = 24 (mixture N = 16), six geometrically spaced loads.
Run alone: `python -m benchmarks run --only capacity_race [--quick | --smoke]`.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import analog
import learning
import molcomp

from ._harness import Case, Context, Measurement
from ._timing import timed

NAME = "capacity_race"
DESCRIPTION = (
    "associative-memory capacity p_max / N at 10% cue noise, overlap >= 0.95: "
    "Hopfield family vs the lattice mixture"
)
PLOTS = {"capacity_race.png": "capacity_alpha"}
FRACTION, THRESHOLD, SWEEPS, Q = 0.1, 0.95, 10, 3
PROBES = {"smoke": 8, "quick": 16, "full": 32}  # stored patterns probed per load
RULES = ("hebbian", "pseudo_inverse", "storkey", "potts", "dense", "modern")
SIZES = {"smoke": (24,), "quick": (100,), "full": (100, 200, 500, 1000)}
# The mixture: lattice sizes N (squares), kinetics, retrieval point, budgets.
KINETICS = ("metropolis", "gillespie")
MIX_SIZES = {"smoke": (16,), "quick": (100,), "full": (100, 400)}
MIX_EPSILON, MIX_MU = 9.0, -13.0
MIX_SWEEPS = {"smoke": 40, "quick": 200, "full": 200}  # Metropolis budget, sweeps
MIX_TIME = 10  # Gillespie budget, x N time units (one attempt per site per unit)
MIX_EVENTS = 100  # Gillespie event cap per run, x N


def _spins(key, p, n):
    return jnp.where(jax.random.bernoulli(key, 0.5, (p, n)), 1.0, -1.0)


def _builder(rule: str, n: int):
    """build(key, p), jitted with p static: one fused compile per load instead of one
    per eager operation."""
    return eqx.filter_jit(_build(rule, n))


def _build(rule: str, n: int):
    classical = {
        "hebbian": learning.memory.Hopfield.hebbian,
        "pseudo_inverse": learning.memory.Hopfield.pseudo_inverse,
        "storkey": learning.memory.Hopfield.storkey,
    }
    if rule in classical:
        return lambda key, p: classical[rule](_spins(key, p, n))
    if rule == "potts":
        return lambda key, p: learning.memory.PottsHopfield.hebbian(
            jax.random.randint(key, (p, n), 0, Q), Q
        )
    if rule == "dense":
        return lambda key, p: learning.memory.DenseHopfield(_spins(key, p, n), 3)
    return lambda key, p: learning.memory.ModernHopfield(_spins(key, p, n), 1.0)


_jitted = eqx.filter_jit(learning.memory.recall_overlaps)


def _evaluate(rule: str):
    """Jitted recall_overlaps. The classical and Potts networks recall from their
    couplings alone, so their `patterns` are only the probes' sources: they are padded
    to `probes` rows (the k = min(probes, p) probed patterns, repeated) so that one
    compilation serves every load, and only the first k overlaps are kept."""

    def evaluate(key, memory, fraction, steps, probes):
        if rule in ("dense", "modern"):  # the patterns are the network
            return _jitted(key, memory, fraction, steps, probes)
        k = min(probes, memory.n_patterns)
        rows = jnp.arange(probes) % k
        memory = eqx.tree_at(lambda m: m.patterns, memory, memory.patterns[rows])
        return _jitted(key, memory, fraction, steps, probes)[:k]

    return evaluate


# ---- the mixture entrant ----------------------------------------------------------------
def _mixture_builder(n: int, kinetics: str, p_cap: int):
    """build(key, p) -> a `MixtureMemory` of p random structures. The sampler keeps
    p_cap partners at every load (static), so one compilation serves the search."""
    side = int(round(n**0.5))
    lat = molcomp.lattice.square(side, periodic=False)
    if kinetics == "metropolis":
        sampler = molcomp.Metropolis(
            proposal="neighbour", neighbour_prob=0.5, empty_prob=0.1, partners=p_cap
        )
    else:
        sampler = molcomp.Gillespie(empty_prob=0.1, partners=p_cap)

    def build(key, p):
        structs = molcomp.structures.random(key, lat, n, p)
        J = learning.hebbian.clipped_or(structs, 1.0)  # epsilon enters as beta
        model = molcomp.PottsModel(lat, J, jnp.full(n, MIX_MU), MIX_EPSILON, empty=True)
        return analog.memory.MixtureMemory(model, sampler, structs, max_events=MIX_EVENTS * n)

    return build


@eqx.filter_jit
def _kinetic_runs(keys, model, sampler, cues, steps, max_events):
    """Recalls from a batch of cues, vmapped (shapes fixed across loads: one compile)."""

    def one(key, cue):
        return analog.memory.run_kinetics(key, model, sampler, cue, steps, max_events)[0]

    return jax.vmap(one)(keys, cues)


def _empty_sites(key, pattern, fraction: float, empty: int):
    """The cue: `pattern` with exactly round(fraction * n) random sites emptied."""
    n = pattern.shape[-1]
    chosen = jax.random.permutation(key, n) < jnp.round(fraction * n)
    return jnp.where(chosen, empty, pattern).astype(pattern.dtype)


def _mixture_evaluate(key, memory, fraction, steps, probes, mesh=None):
    """Bond overlap of each probed structure's recall with that structure.

    Always runs `probes` recalls (rows beyond the k = min(probes, p) probed structures
    repeat them and are dropped), so the batch shape does not change with the load. With
    a `mesh` (from `run --devices`) the recalls are split over its devices."""
    k = min(probes, memory.n_patterns)
    rows = jnp.arange(probes) % k
    k_cue, k_run = jax.random.split(key)
    empty = memory.model.empty_state
    targets = memory.patterns[rows]
    cues = jax.vmap(_empty_sites, (0, 0, None, None))(
        jax.random.split(k_cue, probes), targets, fraction, empty
    )
    keys = jax.random.split(k_run, probes)
    if mesh is not None:
        keys, cues = molcomp.sharding.shard_batch((keys, cues), mesh)
    configs = _kinetic_runs(keys, memory.model, memory.sampler, cues, steps, memory.max_events)
    overlaps = jax.vmap(memory.overlaps)(configs)  # (probes, p)
    return overlaps[jnp.arange(k), jnp.arange(k)]


# ---- the search ----------------------------------------------------------------------------
def _loads(cap: int, coarse: bool) -> list[int]:
    """Every load 1..cap, or (smoke) 6 geometrically spaced ones: fewer compiles."""
    if not coarse:
        return list(range(1, cap + 1))
    return sorted({int(round(p)) for p in np.geomspace(1, cap, 6)})


def search(key, build, n, loads, *, steps, probes, evaluate):
    """`learning.memory.capacity` with this race's cue and threshold.

    **Returns:** `(alpha, seen, lower_bound)`: alpha = p_max / n, `seen` = {load: mean
    overlap} of every load tried, `lower_bound` = whether the largest load succeeded.
    """
    alpha, seen = learning.memory.capacity(
        key,
        build,
        n,
        loads,
        fraction=FRACTION,
        threshold=THRESHOLD,
        steps=steps,
        probes=probes,
        evaluate=evaluate,
    )
    return alpha, seen, bool(seen[max(loads)] >= THRESHOLD)


def _measure(alpha: float, seen: dict, lower_bound: bool, n: int) -> list[Measurement]:
    found = {
        "lower_bound": lower_bound,
        "p_max": int(round(alpha * n)),
        "loads_tried": ",".join(str(p) for p in sorted(seen)),
    }
    return [Measurement("capacity_alpha", alpha, "patterns/unit", True, found)]


def _costs(key, build, evaluate, p: int, steps: int, probes: int, patterns_count: bool):
    """Costs at load p (compiled during the search, so compilation is excluded):
    `n_parameters` (the numbers recall reads: couplings, or the stored patterns of the
    dense and modern networks), `train_wall_s` (storing p patterns) and
    `inference_s_per_example` (one recall from a cue)."""
    k_build, k_run = jax.random.split(key)
    memory = jax.block_until_ready(build(k_build, p))
    arrays = jax.tree.leaves(eqx.filter(memory, eqx.is_inexact_array))
    n_params = sum(np.size(a) for a in arrays)
    if not patterns_count and jnp.issubdtype(memory.patterns.dtype, jnp.inexact):
        n_params -= memory.patterns.size
    t_build = timed(lambda: build(k_build, p))
    t_recall = timed(lambda: evaluate(k_run, memory, FRACTION, steps, probes))
    return [
        Measurement("n_parameters", int(n_params), "parameters", False, {"at_load": p}),
        Measurement("train_wall_s", t_build, "s", False, {"at_load": p}),
        Measurement(
            "inference_s_per_example", t_recall / min(probes, p), "s", False, {"at_load": p}
        ),
    ]


def _run(rule: str, n: int, probes: int, seed: int, ctx: Context, coarse: bool = False):
    loads = _loads(2 * n, coarse)
    steps = 1 if rule == "modern" else SWEEPS
    build, evaluate = _builder(rule, n), _evaluate(rule)
    key = jax.random.key(seed)
    alpha, seen, lower = search(key, build, n, loads, steps=steps, probes=probes, evaluate=evaluate)
    ctx.cache[NAME, rule, n] = seen
    p = max(1, int(round(alpha * n)))
    dense = rule in ("dense", "modern")
    return _measure(alpha, seen, lower, n) + _costs(key, build, evaluate, p, steps, probes, dense)


def _run_mixture(kinetics: str, n: int, size: str, seed: int, ctx: Context):
    p_cap = _mixture_cap(n)
    steps = MIX_SWEEPS[size] if kinetics == "metropolis" else MIX_TIME * n
    build = _mixture_builder(n, kinetics, p_cap)
    evaluate = functools.partial(_mixture_evaluate, mesh=ctx.mesh_for(PROBES[size]))
    key = jax.random.key(seed)
    alpha, seen, lower = search(
        key,
        build,
        n,
        _loads(p_cap, size == "smoke"),
        steps=steps,
        probes=PROBES[size],
        evaluate=evaluate,
    )
    ctx.cache[NAME, "mixture", kinetics, n] = seen
    p = max(1, int(round(alpha * n)))
    costs = _costs(key, build, evaluate, p, steps, PROBES[size], False)
    return _measure(alpha, seen, lower, n) + costs


def _mixture_cap(n: int) -> int:
    return max(4, n // 4)


def _common(size: str, n: int, p_cap: int) -> dict:
    return dict(
        N=n,
        p_cap=p_cap,
        cue_noise=FRACTION,
        threshold=THRESHOLD,
        probes=PROBES[size],
        search="bisection" if size != "smoke" else "bisection, 6 loads",
    )


def cases(size: str) -> list[Case]:
    seed = 0
    out = []
    for n in SIZES[size]:
        for rule in RULES:
            params = dict(
                rule=rule,
                **_common(size, n, 2 * n),
                sweeps=1 if rule == "modern" else SWEEPS,
                update="async",
                overlap="spin",
            )
            if rule == "potts":
                params["q"] = Q
            if rule == "dense":
                params["power"] = 3
            if rule == "modern":
                params["beta"] = 1.0
            run = functools.partial(_run, rule, n, PROBES[size], seed, coarse=size == "smoke")
            out.append(Case(f"{rule} N={n}", "molcomp", "neural", params, run, 1, seed))
    for n in MIX_SIZES[size]:
        for kinetics in KINETICS:
            p_cap = _mixture_cap(n)
            budget = (
                dict(sweeps=MIX_SWEEPS[size])
                if kinetics == "metropolis"
                else dict(T=MIX_TIME * n, max_events=MIX_EVENTS * n)
            )
            params = dict(
                rule="mixture",
                kinetics=kinetics,
                **_common(size, n, p_cap),
                **budget,
                L=int(round(n**0.5)),
                epsilon=MIX_EPSILON,
                mu=MIX_MU,
                partners=p_cap,
                overlap="bond",
            )
            run = functools.partial(_run_mixture, kinetics, n, size, seed)
            out.append(
                Case(f"mixture {kinetics} N={n}", "molcomp", "physical", params, run, 1, seed)
            )
    return out
