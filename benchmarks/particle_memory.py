"""Multifarious memory in continuous space: patchy particles that store m structures of
N species, recall each from a seed, with Hebbian or sleep-wake-trained couplings, and
the lattice model at the same couplings and concentrations point by point.

Model (`molcomp.particles.PatchyMixture`): 2-D, 4 patches per particle, bond energy
`EPS` kT per designed bond at perfect contact (couplings in units of EPS, J = -1 on
designed bonds for the Hebbian clipped-OR rule), patch half-width pi / 4, Morse
steepness 3 / sigma. Structures: m random permutations of N species on a
sqrt(N) x sqrt(N) square (`molcomp.structures.random`, one structure set per m).

Recall (`analog.memory.seeded_particle_recalls`): a box of side `box` sigma holds
`copies` particles of every species; for run r the first copies of the species of
the central k x k block of structure alpha = r mod m start assembled at the centre,
the rest at random places and orientations. Brownian dynamics (dt = DT, D = 1,
D_rot = 3) for `steps` steps - the stated budget, steps * DT time units. Success: the
largest cluster correctly bonded by alpha's bonds (patch-bond graph, lattice
definitions) covers at least 90 % of the N species.

Rules: `hebbian`: clipped OR, J = -1 on every designed bond. `sleep_wake`: the same
couplings trained by `analog.memory.train_patch_couplings` - data: every structure
placed and thermalised (`thermal` Brownian steps under the Hebbian couplings, 4 per
structure); model phase: `learning.PCD` particle chains (CHAINS per structure, started
at the data rows in turn: `start="rows"`, `samples` records `sweeps` steps apart per
update; 1200 steps = 2.4 time units, so the edges of an assembled structure fluctuate
between records - at 100 steps the records were nearly copies and the gradient mostly
noise: m = 4 then scored 0.19 against Hebbian's 0.47 from the same starts); `train`
plain SGD updates (learning rate LR: a coupling moves LR * EPS per update per unit
difference of contact frequency, so small gradients give small steps; adam would move
every coupling by about LR whatever its gradient), couplings kept in [-BOUND, BOUND],
started at the Hebbian couplings (sleep-wake refines them toward the data).

Lattice counterpart (`lattice_recall_success`): the same couplings on a box/sigma
square lattice (open), the structures on its centred sqrt(N) x sqrt(N) patch, beta =
EPS (matched bond energy), mu = ln(copies sigma^2 / box^2) for every species (the
ideal-gas chemical potential at the same concentration per site), Metropolis
(neighbour proposal) for `sweeps_lattice` sweeps from the same k x k seed, read by
the same coverage criterion (`analog.memory.lattice_coverage`).

Throughput: the `_patchy_throughput` cases (`particle_steps_per_s`, `model` patchy /
isotropic, dim 2, N = 1000 and 10^4).

Run alone: `python -m benchmarks run --only particle_memory [--quick | --smoke]`.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

import analog
import learning
import molcomp
from molcomp import particles

from . import _patchy_throughput
from ._harness import Case, Context, Measurement

NAME = "particle_memory"
DESCRIPTION = "patchy-particle multifarious memory: seeded recall, Hebbian vs sleep-wake"
RULES = ("hebbian", "sleep_wake")
EPS, WIDTH, ALPHA, DT, SKIN = 8.0, 0.785, 3.0, 2e-3, 1.0
LR, BOUND, CHAINS = 0.01, 1.5, 4
LEVEL = 0.9
# N species; ms structures; runs per structure; steps: recall budget (x DT time
# units); box side (sigma); copies per species; k seed side; thermal / train / sweeps /
# samples: sleep-wake data thermalisation, updates, PCD steps between records, records
# per update; sweeps_lattice.
SIZES = {
    "smoke": dict(N=4, ms=(2,), runs=1, steps=100, box=6.0, copies=1, k=1, thermal=20,
                  train=1, sweeps=10, samples=1, sweeps_lattice=10),
    "quick": dict(N=16, ms=(1, 2, 3, 4), runs=6, steps=180_000, box=8.0, copies=1, k=3,
                  thermal=2000, train=30, sweeps=1200, samples=5, sweeps_lattice=2000),
    "full": dict(N=36, ms=(1, 2, 3, 4), runs=10, steps=400_000, box=11.0, copies=1, k=4,
                 thermal=4000, train=60, sweeps=2400, samples=5, sweeps_lattice=5000),
}  # fmt: skip


def _kwargs():
    return dict(scale=EPS, patch_width=WIDTH, alpha=ALPHA)


def _say(msg: str) -> None:
    tqdm.write(f"    {NAME}: {msg}")


def _structures(N: int, m: int, seed: int):
    side = int(round(N**0.5))
    lat = molcomp.lattice.square(side, periodic=False)
    return molcomp.structures.random(jax.random.fold_in(jax.random.key(seed), m), lat, N, m)


def couplings(rule: str, structs, size: str, seed: int, ctx: Context):
    """The rule's couplings for `structs` (cached per run: both cases of a rule and m
    share them)."""
    key = (NAME, "couplings", rule, structs.m, structs.n_species, size, seed)
    if key in ctx.cache:
        return ctx.cache[key]
    J = learning.hebbian.clipped_or(structs, 1.0)
    if rule == "sleep_wake":
        s = SIZES[size]
        sampler = particles.Brownian(dt=DT, dr_threshold=SKIN)
        box = (s["box"], s["box"])
        model, data = analog.memory.thermalised_structures(
            jax.random.key(seed + 11), structs, J, sampler, steps=s["thermal"], box=box,
            chains=4, **_kwargs(),
        )  # fmt: skip
        phase = learning.PCD(sampler, chains=CHAINS * structs.m, sweeps=s["sweeps"],
                             samples=s["samples"], start="rows")  # fmt: skip
        model, _ = analog.memory.train_patch_couplings(
            jax.random.key(seed + 13), model, data, phase, optax.sgd(LR), s["train"],
            bound=BOUND,
        )  # fmt: skip
        J = model.couplings
    ctx.cache[key] = J
    return J


def _lattice_success(structs, J, size: str, seed: int) -> float:
    s = SIZES[size]
    side = int(round(s["box"]))
    h = int(round(structs.n_species**0.5))
    lat = molcomp.lattice.square(side, periodic=False)
    big = molcomp.structures.from_arrays(lat, structs.arrangements, patch=(h, h))
    mu = jnp.full(J.q, float(np.log(s["copies"] / side**2)))
    model = molcomp.PottsModel(lat, J, mu, EPS, empty=True)
    sampler = molcomp.Metropolis(proposal="neighbour", neighbour_prob=0.5, empty_prob=0.1,
                                 partners=structs.m)  # fmt: skip
    memory = analog.memory.MixtureMemory(model, sampler, big)
    runs = s["runs"] * structs.m
    res = analog.memory.seeded_recalls(
        jax.random.key(seed + 17), memory, runs, s["sweeps_lattice"], s["k"]
    )
    cover = analog.memory.lattice_coverage(big, res.configs, res.alphas)
    return float(np.mean(cover >= LEVEL - 1e-9))


def _run(rule: str, m: int, size: str, seed: int, ctx: Context):
    s = SIZES[size]
    t0 = time.perf_counter()
    structs = _structures(s["N"], m, seed)
    J = couplings(rule, structs, size, seed, ctx)
    t1 = time.perf_counter()
    out = analog.memory.seeded_particle_recalls(
        jax.random.key(seed + 7919 * m), structs, J, particles.Brownian(dt=DT, dr_threshold=SKIN),
        runs=s["runs"], steps=s["steps"], k=s["k"], copies=s["copies"], box=(s["box"],) * 2,
        level=LEVEL, chunk=max(1, s["steps"] // 10), **_kwargs(),
    )  # fmt: skip
    t2 = time.perf_counter()
    lattice = _lattice_success(structs, J, size, seed)
    _say(
        f"{rule} N={s['N']} m={m}: success {out.fraction:.2f} (median coverage "
        f"{np.median(out.coverage):.2f}, chimeras {out.chimera.mean():.2f}, crosstalk bonds "
        f"{out.crosstalk.mean():.1f}), lattice "
        f"{lattice:.2f}; couplings {t1 - t0:.0f} s, recalls {t2 - t1:.0f} s"
    )
    # per-run outcomes (params are scalars: comma-separated strings): both rules
    # recall from the same starts (same key), so they are compared run by run (paired)
    extra = {"median_coverage": float(np.median(out.coverage)),
             "chimera_fraction": float(out.chimera.mean()),
             "successes": ",".join(map(str, out.success.astype(int).tolist())),
             "crosstalk_bonds": ",".join(map(str, out.crosstalk.tolist()))}  # fmt: skip
    return [
        Measurement("recall_success", out.fraction, "fraction", True, extra),
        Measurement("lattice_recall_success", lattice, "fraction", True),
    ]


def cases(size: str) -> list[Case]:
    s = SIZES[size]
    seed = 0
    common = dict(N=s["N"], runs=s["runs"], steps=s["steps"], dt=DT, epsilon=EPS,
                  patch_width=WIDTH, box=s["box"], copies=s["copies"], k=s["k"],
                  threshold=LEVEL)  # fmt: skip
    out = []
    for rule in RULES:
        for m in s["ms"]:
            params = {**common, "rule": rule, "m": m}
            if rule == "sleep_wake":
                params.update(
                    train=s["train"],
                    sweeps=s["sweeps"],
                    samples=s["samples"],
                    chains=CHAINS,
                    optimizer="sgd",
                    lr=LR,
                    bound=BOUND,
                )
            run = functools.partial(_run, rule, m, size, seed)
            out.append(Case(f"{rule} N={s['N']} m={m}", "molcomp", "physical", params, run, 1,
                            seed))  # fmt: skip
    out.extend(_patchy_throughput.throughput_cases(size))  # particle_steps_per_s
    return out
