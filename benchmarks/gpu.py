"""The GPU section: lattice and particle throughput on one accelerator, and what limits it.

Runs only when a GPU is visible (`jax.devices()[0].platform == "gpu"`); elsewhere it
has no cases and says so. Everything is timed through `molcomp.sample` (one chain, all
sweeps in one compiled scan, warm-up excluded, median of repeats).

- `flips_per_ns`: 2D Ising block-Gibbs site updates per nanosecond, L up to 16384 (an
  L skipped when its estimate of device memory, `BYTES_PER_SITE` per site, exceeds half
  the card's). Anchors: Preis et al. (2009) about 8 flips/ns on a GTX 280; NVIDIA's
  multispin-coded CUDA Ising about 766 flips/ns on two V100s. Goal: 200 on one H100.
- `bandwidth_fraction`: the state traffic of a sweep (every site's int8 state read
  twice, once as a neighbour and once as itself, and written once: 3 bytes per site
  update, the least any kernel moves) times the rate, over the card's peak memory
  bandwidth (`PEAK_BANDWIDTH`, looked up from the device kind: H100, H200, A100;
  absent for other cards). Compared with `rng_words_per_ns` (32-bit words of the
  kernel's generator per ns, one per two site updates), it says whether a sweep is
  bound by memory or by random numbers.
- `potts q=8`: the same for q = 8 Potts (site updates per ns).
- `particle_steps_per_s`: Brownian dynamics (the `md_throughput` model, 2D) up to
  N = 10^6, and the patchy mixture of `particle_memory` (`model` = "patchy") at the
  same sizes, for the patchy / isotropic ratio on the card.

`meta` of the run names the device (`device.kind`). Test the script on CPU with
`cases(size, force=True)` at smoke size (seconds).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

import molcomp
from molcomp import interactions, lattice, particles
from molcomp.samplers import threefry_words

from . import _patchy_throughput, md_throughput
from ._harness import Case, Context, Measurement
from ._timing import median_time

NAME = "gpu"
DESCRIPTION = "one GPU: Ising flips/ns up to L = 16384, Potts q = 8, particle steps/s, bandwidth"

BETA_ISING, BETA_POTTS = 0.4, 1.0
STATE_BYTES_PER_UPDATE = 3  # int8 state: read as neighbour, read, written
BYTES_PER_SITE = 16  # device memory estimate of a checkerboard run (state, planes, words)

# Peak memory bandwidth in bytes/s by device kind (first matching key wins; vendor data
# sheets): H200 141 GB HBM3e 4.8 TB/s; H100 SXM 3.35 TB/s, PCIe 2.0 TB/s; A100 80 GB
# SXM 2.039 TB/s, 80 GB PCIe 1.935 TB/s, 40 GB 1.555 TB/s.
PEAK_BANDWIDTH = (
    ("H200", 4.8e12),
    ("H100 PCIe", 2.0e12),
    ("H100", 3.35e12),
    ("A100-SXM4-80GB", 2.039e12),
    ("A100 80GB PCIe", 1.935e12),
    ("A100", 1.555e12),
)

# Per size: Ising L list, Potts q = 8 L list, particle N list, site updates per timed
# call (sweeps = this / L^2, at least 2), particle steps per call, repeats.
SIZES = {
    "smoke": dict(ising=[16, 32], potts=[16], n=[256], updates=1 << 14, steps=10, repeats=2),
    "quick": dict(
        ising=[1024, 4096],
        potts=[1024],
        n=[10_000, 100_000],
        updates=1 << 32,
        steps=50,
        repeats=3,
    ),
    "full": dict(
        ising=[1024, 4096, 8192, 16384],
        potts=[1024, 4096],
        n=[10_000, 100_000, 1_000_000],
        updates=1 << 36,
        steps=100,
        repeats=5,
    ),
}


def gpu_visible() -> bool:
    """Whether JAX's default device is a GPU."""
    return jax.devices()[0].platform == "gpu"


def peak_bandwidth(kind: str) -> float | None:
    """Peak memory bandwidth (bytes/s) of a device kind, or None when not in the table."""
    for name, bandwidth in PEAK_BANDWIDTH:
        if name.lower() in kind.lower():
            return bandwidth
    return None


def cases(size: str, force: bool = False) -> list[Case]:
    """The cases of one size; none (with a notice) unless a GPU is visible or `force`."""
    if not (force or gpu_visible()):
        print("notice: gpu: no GPU visible; skipping the GPU section")
        return []
    s = SIZES[size]
    out = []
    for L in s["ising"]:
        out.append(_lattice_case("ising", L, 2, s["updates"], s["repeats"]))
        out.append(_rng_case(L, s["updates"], s["repeats"]))
    out += [_lattice_case("potts", L, 8, s["updates"], s["repeats"]) for L in s["potts"]]
    out += [_particle_case(n, s["steps"], s["repeats"]) for n in s["n"]]
    out += [_patchy_case(n, s["steps"], s["repeats"]) for n in s["n"]]
    return out


def _fits(n_sites: int, per_site: int) -> bool:
    """Whether `n_sites` * `per_site` bytes take at most half the device memory (True
    when the device does not report its memory)."""
    stats = jax.devices()[0].memory_stats() or {}
    limit = stats.get("bytes_limit")
    return limit is None or n_sites * per_site <= limit // 2


def _sweeps(L: int, updates: int) -> int:
    return max(2, updates // (L * L))


def _lattice_case(kind: str, L: int, q: int, updates: int, repeats: int) -> Case:
    sweeps = _sweeps(L, updates)
    params = dict(model=kind, sampler="block_gibbs", L=L, q=q, chains=1, sweeps=sweeps)
    label = f"{kind} q={q} L={L}" if kind == "potts" else f"ising L={L}"
    run = functools.partial(_run_lattice, kind, L, q, sweeps, repeats)
    return Case(label, "molcomp", "physical", params, run, repeats)


def _run_lattice(kind, L, q, sweeps, repeats, ctx: Context, seed=0):
    if not _fits(L * L, BYTES_PER_SITE):
        print(f"notice: gpu: {kind} L={L} would not fit in device memory; skipped")
        return []
    if kind == "ising":
        model = molcomp.PottsModel(lattice.square(L), interactions.ising(1.0), beta=BETA_ISING)
    else:
        model = molcomp.PottsModel(lattice.square(L), interactions.potts(1.0, q), beta=BETA_POTTS)
    sampler = molcomp.BlockGibbs()
    config = jax.random.randint(jax.random.key(seed), (L * L,), 0, q, jnp.int32)
    state = sampler.init(model, config)
    key = jax.random.key(seed + 1)
    t = median_time(
        lambda: molcomp.sample(key, model, sampler, state, sweeps, progress=False).state,
        repeats,
    )
    rate = L * L * sweeps / t
    ms = [Measurement("flips_per_ns", rate * 1e-9, "site updates/ns", True)]
    peak = peak_bandwidth(jax.devices()[0].device_kind)
    if peak is not None:
        moved = STATE_BYTES_PER_UPDATE * rate
        ms.append(
            Measurement(
                "bandwidth_fraction",
                moved / peak,
                "of peak",
                True,
                {"bytes_per_update": STATE_BYTES_PER_UPDATE, "peak_bytes_per_s": peak},
            )
        )
    return ms


def _rng_case(L: int, updates: int, repeats: int) -> Case:
    sweeps = _sweeps(L, updates)
    params = dict(generator="threefry-rbg", words=L * L // 2, calls=sweeps)
    run = functools.partial(_run_rng, L * L // 2, sweeps, repeats)
    return Case(f"rng words L={L}", "molcomp", "reference", params, run, repeats)


def _run_rng(words: int, calls: int, repeats: int, ctx: Context, seed=0):
    """32-bit words per ns of the checkerboard kernel's generator, drawn as a sweep does
    (one block per step, kept as the carry)."""
    if not _fits(words, 8):
        return []

    @jax.jit
    def draw(key):
        step = lambda c, k: (c ^ threefry_words(k, (words,)), None)  # noqa: E731
        zero = jnp.zeros(words, jnp.uint32)
        return jax.lax.scan(step, zero, jax.random.split(key, calls))[0]

    key = jax.random.key(seed)
    t = median_time(lambda: draw(key), repeats)
    return [Measurement("rng_words_per_ns", words * calls / t * 1e-9, "words/ns", True)]


def _particle_case(n: int, steps: int, repeats: int) -> Case:
    params = dict(model="ternary_soft_core_morse", sampler="brownian", dim=2, N=n, sweeps=steps)
    run = functools.partial(_run_particles, n, steps, repeats)
    return Case(f"brownian 2D N={n}", "molcomp", "physical", params, run, repeats)


def _patchy_case(n: int, steps: int, repeats: int) -> Case:
    params = dict(model="patchy", sampler="brownian", dim=2, N=n, sweeps=steps)
    run = functools.partial(_patchy_throughput.steps_per_s, "patchy", n, steps, 0, repeats)
    return Case(f"patchy brownian 2D N={n}", "molcomp", "physical", params, run, repeats)


def _run_particles(n, steps, repeats, ctx: Context, seed=0):
    model, start = md_throughput.relaxed(2, n, steps, steps, ctx, seed)
    sampler = particles.Brownian(dt=md_throughput.DT, dr_threshold=md_throughput.SKIN)
    state = sampler.init(model, start.position)
    key = jax.random.key(seed)

    def call():
        return molcomp.sample(key, model, sampler, state, steps, chunk=steps, progress=False)

    t = median_time(lambda: call().state.position, repeats)
    return [Measurement("particle_steps_per_s", n * steps / t, "particle steps/s", True)]
