"""Lattice sampler throughput: molcomp vs thrml on the same models, L, chains and sweeps.

Metrics: `site_updates_per_s` (L * L * chains * sweeps / seconds, median of repeats,
warm-up excluded), `build_s` (model construction at L = 1024) and the reference
`rng_uniforms_per_s` (three generators, see `_rng_case`; the first, float32 uniforms
from the generator molcomp's heat bath uses, is the reference of the `/rng` columns).
molcomp is timed through `molcomp.sample`, i.e. exactly the kernels the
exact-enumeration tests check. With `run --devices`, molcomp's multi-chain cases split
their chains over the devices (`molcomp.sharding`) when the chain count allows it.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import molcomp
from molcomp import interactions, lattice
from molcomp.samplers import threefry_words, uniform16_pairs
from molcomp.sharding import shard_chains

from ._harness import Case, Context, Measurement
from ._timing import median_time

NAME = "sampler_throughput"
DESCRIPTION = "site updates per second of molcomp's samplers vs thrml; build time; RNG rate"
RELATIVE_TO = {"site_updates_per_s": "rng_uniforms_per_s"}
PLOTS = {"sampler_throughput.png": "site_updates_per_s"}

BETA_ISING = 0.4  # below beta_c = 0.4407: fast-mixing, disordered side
BETA_POTTS = 1.0  # q = 8: beta_c = ln(1 + sqrt(8)) = 1.343
J_DESIGNED, MU_SPECIES, MULTIFARIOUS_M = -8.0, -12.0, 4
RATE = "site updates/s"
# Uniforms per RNG call: one colour block of the L = 256 lattice, where issue targets
# compare the heat bath with the random-number-bound rate.
RNG_BATCH = 1 << 15
GENERATORS = ("threefry-rbg-f32", "threefry-rbg-u16", "jax-uniform-f32")

# Per size: (L, chains, sweeps) for block Gibbs Ising; (L, q, sweeps) Potts; Metropolis
# lattice side and sweeps for q = 2 / many species / neighbour proposal; build side;
# uniforms per RNG call; timing repeats (median); repeats of the slow thrml build.
SIZES = {
    "smoke": dict(
        ising=[(8, 1, 4)],
        chains=(8, 4, 2),
        potts=(8, 8, 2),
        metro=(6, 10, 4, 4),
        build=8,
        rng=4096,
        repeats=3,
        build_repeats=1,
    ),
    "quick": dict(
        # ~40-60 ms per timed call: `sample`'s fixed cost per call (~1-4 ms: key split,
        # dispatch, argument checks) stays a few percent of the rate.
        # L = 1024 (thrml's build alone takes ~20 s) runs at full size only.
        ising=[(64, 1, 1500), (256, 1, 200)],
        chains=(64, 32, 120),
        potts=(256, 8, 20),
        # Many-species runs build a 41 MB coupling table once per call (~35 ms): enough
        # sweeps that the rate measures sweeps, as in a real run, not that set-up (at
        # 1000 sweeps it was 20 % of the q = 1601 time and the q = 1601 / q = 2 ratio
        # read 3.3 instead of the 1.7 of the sweeps alone).
        metro=(40, 4000, 4000, 600),
        build=256,
        rng=1 << 22,
        repeats=3,
        build_repeats=1,
    ),
    "full": dict(
        ising=[(64, 1, 2000), (256, 1, 300), (1024, 1, 30)],
        chains=(64, 32, 200),
        potts=(256, 8, 50),
        metro=(40, 10000, 10000, 2000),
        build=1024,
        rng=1 << 24,
        repeats=5,
        build_repeats=3,
    ),
}


def cases(size: str) -> list[Case]:
    """The cases of one size, in run order (molcomp, then thrml, per case)."""
    s = SIZES[size]
    # The first `rng_uniforms_per_s` record is the reference of the `/rng` columns.
    out = [_rng_case(s["rng"], max(s["repeats"], 10), g) for g in GENERATORS]
    big = s["build"]
    for L, chains, sweeps in s["ising"]:
        if L == big:  # builds first, so thrml's big program is built (and timed) once
            out += _build_cases(big, s["repeats"], s["build_repeats"])
        out += _pair("ising", L, 2, chains, sweeps, s["repeats"])
    L, chains, sweeps = s["chains"]
    out += _pair("ising", L, 2, chains, sweeps, s["repeats"])
    L, q, sweeps = s["potts"]
    out += _pair("potts", L, q, 1, sweeps, s["repeats"])
    if not any(L == big for L, _, _ in s["ising"]):
        out += _build_cases(big, s["repeats"], s["build_repeats"])
    L, sw2, swq, swn = s["metro"]
    out.append(_metropolis_case("ising", L, 2, "uniform", sw2, s["repeats"]))
    out.append(_metropolis_case("multifarious", L, L * L + 1, "uniform", swq, s["repeats"]))
    out.append(_metropolis_case("multifarious", L, L * L + 1, "neighbour", swn, s["repeats"]))
    return out


# ---- models ---------------------------------------------------------------------
def _model(kind: str, L: int, q: int, periodic: bool = True):
    """molcomp's model of each case (lattice + couplings + model)."""
    if kind == "ising":
        lat = lattice.square(L, periodic=periodic)
        return molcomp.PottsModel(lat, interactions.ising(1.0), beta=BETA_ISING)
    if kind == "potts":
        return molcomp.PottsModel(lattice.square(L), interactions.potts(1.0, q), beta=BETA_POTTS)
    raise ValueError(kind)


def _multifarious(L: int, seed: int):
    """A multifarious-like mixture: N = L * L species plus an empty state on an open
    L x L lattice, J[d][a, b] = -8 on the bonds of M random permutation structures
    (oriented), mu = -12 for every species. Dense J: 4 * (N + 1)^2 float32 (41 MB at N =
    1600)."""
    n = L * L
    rng = np.random.default_rng(seed)
    J = np.zeros((2, n, n), np.float32)  # forward directions +x (next column), +y (next row)
    for _ in range(MULTIFARIOUS_M):
        p = rng.permutation(n).reshape(L, L)
        J[0, p[:, :-1].ravel(), p[:, 1:].ravel()] = J_DESIGNED
        J[1, p[:-1, :].ravel(), p[1:, :].ravel()] = J_DESIGNED
    couplings = interactions.Couplings.oriented(J)
    mu = np.full(n, MU_SPECIES, np.float32)
    return molcomp.PottsModel(lattice.square(L, periodic=False), couplings, mu, empty=True)


def _config(seed: int, L: int, q: int, chains: int):
    """The shared initial configuration: uniform random states, (n,) or (chains, n)."""
    shape = (L * L,) if chains == 1 else (chains, L * L)
    return jax.random.randint(jax.random.key(seed), shape, 0, q, jnp.int32)


def _params(model, sampler, L, q, chains, sweeps, T, **extra) -> dict:
    return dict(model=model, sampler=sampler, L=L, q=q, chains=chains, sweeps=sweeps, T=T, **extra)


def _label(model: str, L: int, q: int, chains: int, sampler: str = "gibbs") -> str:
    name = model if model == "ising" else f"{model} q={q}"
    return f"{name} {sampler} " + (f"{chains}x L={L}" if chains > 1 else f"L={L}")


# ---- cases ----------------------------------------------------------------------
def _pair(model: str, L: int, q: int, chains: int, sweeps: int, repeats: int) -> list[Case]:
    T = 1.0 / (BETA_ISING if model == "ising" else BETA_POTTS)
    params = _params(model, "block_gibbs", L, q, chains, sweeps, T)
    label = _label(model, L, q, chains)
    ours = functools.partial(_run_molcomp, model, L, q, chains, sweeps, repeats, "block_gibbs")
    peer = functools.partial(_run_thrml, model, L, q, chains, sweeps, repeats)
    return [
        Case(label, "molcomp", "physical", params, ours, repeats),
        Case(label, "thrml", "peer", params, peer, repeats),
    ]


def _metropolis_case(model, L, q, proposal, sweeps, repeats) -> Case:
    sampler = f"metropolis_{proposal}"
    extra = {"N": q - 1, "m": MULTIFARIOUS_M} if model == "multifarious" else {}
    T = 1.0 / BETA_ISING if model == "ising" else 1.0
    params = _params(model, sampler, L, q, 1, sweeps, T, **extra)
    label = _label(model, L, q, 1, "metropolis" if proposal == "uniform" else "metropolis-nbr")
    run = functools.partial(_run_molcomp, model, L, q, 1, sweeps, repeats, sampler)
    return Case(label, "molcomp", "physical", params, run, repeats)


def _run_molcomp(model, L, q, chains, sweeps, repeats, sampler, ctx: Context, seed=0):
    if model == "multifarious":
        m = _multifarious(L, seed)
    else:  # Metropolis compares q = 2 with many species on the same open lattice
        m = _model(model, L, q, periodic=sampler == "block_gibbs")
    if sampler == "block_gibbs":
        s = molcomp.BlockGibbs()
    else:
        s = molcomp.Metropolis(proposal=sampler.removeprefix("metropolis_"))
    state = s.init(m, _config(seed, L, q, chains))
    if ctx.mesh is not None and chains > 1 and chains % ctx.mesh.size == 0:
        state = shard_chains(state, ctx.mesh)
    key = jax.random.key(seed + 1)
    t = median_time(lambda: molcomp.sample(key, m, s, state, sweeps, progress=False).state, repeats)
    return [Measurement("site_updates_per_s", L * L * chains * sweeps / t, RATE, True)]


def _run_thrml(model, L, q, chains, sweeps, repeats, ctx: Context, seed=0):
    from . import _thrml

    cached = ctx.cache.pop(("thrml", model, L, q), None)
    if cached is not None:
        tm = cached
    elif model == "ising":
        tm = _thrml.build_ising(L, BETA_ISING)
    else:
        tm = _thrml.build_potts(L, q, BETA_POTTS)
    call = _thrml.sampler(tm, sweeps, chains)(jax.random.key(seed + 1), _config(seed, L, q, chains))
    t = median_time(call, repeats)
    return [Measurement("site_updates_per_s", L * L * chains * sweeps / t, RATE, True)]


def _build_cases(L: int, repeats: int, peer_repeats: int) -> list[Case]:
    params = dict(model="ising", L=L, q=2)
    label = f"ising build L={L}"
    ours = functools.partial(_build_molcomp, L, repeats)
    peer = functools.partial(_build_thrml, L, peer_repeats)
    return [
        Case(label, "molcomp", "physical", params, ours, repeats),
        Case(label, "thrml", "peer", params, peer, peer_repeats),
    ]


def _build_molcomp(L: int, repeats: int, ctx: Context):
    t = median_time(lambda: _model("ising", L, 2), repeats, warmup=True)
    return [Measurement("build_s", t, "s", False)]


def _build_thrml(L: int, repeats: int, ctx: Context):
    from . import _thrml

    def build():
        # Keep only the latest build (each holds a million Python node objects).
        ctx.cache["thrml", "ising", L, 2] = None
        ctx.cache["thrml", "ising", L, 2] = _thrml.build_ising(L, BETA_ISING)

    # No warm-up: one build at this size costs ~20 s, and earlier thrml cases have already
    # paid the one-off costs (imports, small eager-op compiles). The last build is reused
    # by the L x L throughput case.
    t = median_time(build, repeats, warmup=False)
    return [Measurement("build_s", t, "s", False)]


def _rng_case(n: int, repeats: int, generator: str) -> Case:
    """`rng_uniforms_per_s` (kind reference) of a generator, drawn as a sweep draws them.

    - "threefry-rbg-f32": the generator molcomp's checkerboard kernel uses (XLA's native
      ThreeFry RngBitGenerator), one float32 uniform per 32-bit word: the machine's
      random-number-bound rate of a sweep that draws one uniform per site update, the
      reference of the `/rng` columns (learner molcomp).
    - "threefry-rbg-u16": the same words split into two 16-bit uniforms each, as the
      kernel consumes them (learner molcomp).
    - "jax-uniform-f32": `jax.random.uniform` float32 from the default threefry key
      (learner jax).
    """
    batch = min(n, RNG_BATCH)
    params = {"generator": generator, "dtype": "float32", "batch": batch, "draws": n}
    learner = "jax" if generator.startswith("jax") else "molcomp"
    run = functools.partial(_run_rng, n, batch, repeats, generator)
    return Case(f"{generator} uniforms", learner, "reference", params, run, repeats)


def _run_rng(n: int, batch: int, repeats: int, generator: str, ctx: Context, seed=0):
    """Uniforms per second: a `lax.scan` over split keys, `batch` uniforms per step kept
    as the carry (written, like a lattice state)."""
    steps = n // batch

    def uniforms(k):
        if generator == "jax-uniform-f32":
            return jax.random.uniform(k, (batch,), jnp.float32)
        if generator == "threefry-rbg-f32":  # 24 random bits per float32, midpoints
            words = threefry_words(k, (batch,))
            return ((words >> 8).astype(jnp.float32) + 0.5) * np.float32(2.0**-24)
        return jnp.concatenate(uniform16_pairs(k, (batch // 2,)))

    @jax.jit
    def draw(key):
        return jax.lax.scan(
            lambda _, k: (uniforms(k), None), jnp.zeros(batch), jax.random.split(key, steps)
        )[0]

    key = jax.random.key(seed)
    t = median_time(lambda: draw(key), repeats)
    return [Measurement("rng_uniforms_per_s", steps * batch / t, "uniforms/s", True)]
