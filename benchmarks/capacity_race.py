"""Capacity race: alpha = p_max / N of each associative memory under one recall criterion.

p_max is the largest number p of random patterns (uniform +-1, or uniform over q = 3
states for Potts) for which recall from a cue with 10% of the units changed ends with
mean overlap >= 0.95 with the source pattern (`learning.memory.capacity`: bisection over p in
1..p_cap, the first `PROBES` (16 in quick runs) stored patterns probed, `SWEEPS`
asynchronous sweeps).
Rules (kind `neural`): `hebbian`, `pseudo_inverse`, `storkey` (classical +-1
`learning.memory.Hopfield`), `potts` (`learning.memory.PottsHopfield`, q = 3), `dense`
(`learning.memory.DenseHopfield`, F(x) = x^3), `modern` (`learning.memory.ModernHopfield`, beta = 1,
one update). The search stops at p_cap = 2N; when p_cap passes (dense and modern,
whose capacities grow as N^2 and exponentially) the value is a lower bound: params
`p_cap` and `lower_bound` say so. Quick: N = 100, 200, 500 (every load searched);
full adds 1000; smoke: N = 24, six geometrically spaced loads.

Run alone: `python -m benchmarks run --only capacity_race [--quick | --smoke]`.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import learning

from ._harness import Case, Context, Measurement

NAME = "capacity_race"
DESCRIPTION = "associative-memory capacity p_max / N at 10% cue noise, overlap >= 0.95"
PLOTS = {"capacity_race.png": "capacity_alpha"}
FRACTION, THRESHOLD, SWEEPS, Q = 0.1, 0.95, 10, 3
PROBES = {"smoke": 8, "quick": 16, "full": 32}  # stored patterns probed per load
RULES = ("hebbian", "pseudo_inverse", "storkey", "potts", "dense", "modern")
SIZES = {"smoke": (24,), "quick": (100, 200, 500), "full": (100, 200, 500, 1000)}


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
    """Jitted recall_overlaps; the classical and Potts networks recall from their
    couplings alone, so only the probed patterns are kept (one compile for all p)."""

    def evaluate(key, memory, fraction, steps, probes):
        if rule not in ("dense", "modern"):
            memory = eqx.tree_at(lambda m: m.patterns, memory, memory.patterns[:probes])
        return _jitted(key, memory, fraction, steps, probes)

    return evaluate


def _loads(cap: int, coarse: bool) -> list[int]:
    """Every load 1..cap, or (smoke) 6 geometrically spaced ones: fewer compiles."""
    if not coarse:
        return list(range(1, cap + 1))
    return sorted({int(round(p)) for p in np.geomspace(1, cap, 6)})


def _run(rule: str, n: int, probes: int, seed: int, ctx: Context, coarse: bool = False):
    cap = 2 * n
    alpha, seen = learning.memory.capacity(
        jax.random.key(seed),
        _builder(rule, n),
        n,
        _loads(cap, coarse),
        fraction=FRACTION,
        threshold=THRESHOLD,
        steps=1 if rule == "modern" else SWEEPS,
        probes=probes,
        evaluate=_evaluate(rule),
    )
    ctx.cache[NAME, rule, n] = seen
    return [Measurement("capacity_alpha", alpha, "patterns/unit", True)]


def cases(size: str) -> list[Case]:
    seed = 0
    out = []
    for n in SIZES[size]:
        for rule in RULES:
            params = dict(
                rule=rule,
                N=n,
                p_cap=2 * n,
                lower_bound=rule in ("dense", "modern"),
                cue_noise=FRACTION,
                threshold=THRESHOLD,
                probes=PROBES[size],
                sweeps=1 if rule == "modern" else SWEEPS,
                update="async",
            )
            if rule == "potts":
                params["q"] = Q
            if rule == "dense":
                params["power"] = 3
            if rule == "modern":
                params["beta"] = 1.0
            run = functools.partial(_run, rule, n, PROBES[size], seed, coarse=size == "smoke")
            out.append(Case(f"{rule} N={n}", "molcomp", "neural", params, run, 1, seed))
    return out
