"""Seeded recall in continuous space: a patchy-particle mixture storing m structures
grows one of them from a seed fragment.

The box holds a k x k seed of structure alpha, perfectly assembled at the centre, and
`copies` free particles of every one of the N species (the concentrations: copies per
species in the box) at random places and orientations. The mixture runs through
`molcomp.sample` with a particle sampler (`molcomp.particles.Brownian` or `Langevin`)
for a stated number of steps; its patch-bond graph is read out with the lattice's
definitions (`molcomp.particles.patch_readout`). A run succeeds when the largest
cluster correctly bonded by structure alpha's bonds covers at least `level` (90 %) of
its N species.

The lattice counterpart (`lattice_coverage`) reads lattice configurations the same
way, every contact of two occupied sites counted as a bond, so the two descriptions
are compared by one criterion.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import molcomp
from molcomp import particles
from molcomp import structures as st
from molcomp.checks import check_fraction, check_key, check_positive_int

LEVEL = 0.9  # success: the largest correctly bonded cluster covers >= 90 % of the target


def seed_sites(structs: st.Structures, k: int) -> np.ndarray:
    """Indices into the patch sites of the central k x k block (row-major patch)."""
    if structs.patch_shape is None:
        raise ValueError("a seed needs structures on a rectangular patch of a square lattice")
    h, w = structs.patch_shape
    k = check_positive_int("k", k)
    if not 1 <= k <= min(h, w):
        raise ValueError(f"k must be in [1, {min(h, w)}] for a {h} x {w} patch, got {k}")
    r0, c0 = (h - k) // 2, (w - k) // 2
    rows, cols = np.meshgrid(np.arange(r0, r0 + k), np.arange(c0, c0 + k), indexing="ij")
    return (rows * w + cols).ravel()


def particle_seed(key, structs: st.Structures, alpha: int, k: int, copies: int, box, *,
                  sigma: float = 1.0, chains: int = 1):  # fmt: skip
    """Start configurations of a seeded recall: `copies` particles of each of the N
    species in the box; the first copy of each species of the central k x k block of
    structure `alpha` sits in that block, assembled at the centre of the box, the others
    on random cells of a grid of spacing 1.25 sigma (at least 1.5 sigma from the seed)
    with uniform random orientations.

    The species (the concentrations: `copies` per species in the box) do not depend on
    `alpha` or `k`, so recalls of every structure share one model.

    **Arguments:**

    - `key`: a `jax.random` key.
    - `structs`: the stored `Structures` (a rectangular patch of a square lattice).
    - `alpha`: the structure seeded; `k`: the seed's side.
    - `copies`: particles per species (>= 1).
    - `box`: the box's two side lengths; `sigma`: the bond length.
    - `chains`: independent starts (different free particles, the same seed).

    **Returns:** `(species (n,), configs (chains, n, 3))`, n = copies * N, species
    `repeat(arange(N), copies)`.
    """
    check_key("key", key)
    copies = check_positive_int("copies", copies)
    chains = check_positive_int("chains", chains)
    which = seed_sites(structs, k)
    seed_species, seed_config = particles.structure_configuration(
        structs, alpha, box, sigma=sigma, which=which
    )
    N = structs.n_species
    species = np.repeat(np.arange(N), copies).astype(np.int32)
    seeded = np.asarray(seed_species) * copies  # the first copy of each seed species
    free = np.setdiff1d(np.arange(species.size), seeded)
    box = np.asarray(box, np.float64)
    step = 1.25 * sigma
    gx, gy = np.meshgrid(*(np.arange(0.5 * step, b - 0.5 * step, step) for b in box))
    cells = np.stack([gx.ravel(), gy.ravel()], 1)
    d = cells[:, None, :] - seed_config[None, :, :2]
    d -= box * np.round(d / box)
    cells = cells[np.min(np.linalg.norm(d, axis=-1), axis=1) >= 1.5 * sigma]
    if cells.shape[0] < free.size:
        raise ValueError(
            f"box {box.tolist()} has room for {cells.shape[0]} free particles away from the "
            f"seed, but {free.size} are free; enlarge the box or lower copies"
        )
    out = np.zeros((chains, species.size, 3), np.float32)
    out[:, seeded] = seed_config
    for c, ck in enumerate(jax.random.split(key, chains)):
        k_cell, k_angle = jax.random.split(ck)
        pick = np.asarray(jax.random.choice(k_cell, cells.shape[0], (free.size,), replace=False))
        out[c, free, :2] = cells[pick]
        out[c, free, 2] = np.asarray(jax.random.uniform(k_angle, (free.size,), maxval=2 * np.pi))
    return species, out


@dataclasses.dataclass(frozen=True)
class ParticleRecalls:
    """What `seeded_particle_recalls` ran (numpy, one entry per run).

    - `alphas`: the structure each run was seeded with.
    - `configs`: (runs, n, 3) final configurations; `species`: (n,) (shared).
    - `coverage`: (runs,) fraction of the seeded structure in its largest correctly
      bonded cluster; `error`, `chimera`: as in `molcomp.particles.patch_readout`.
    - `success`: coverage >= level; `fraction`: their mean (`recall_success`).
    - `crosstalk`: (runs,) bonds designed by another stored structure but not by the
      seeded one (`crosstalk_bonds`): wrong attachments the couplings themselves favour.
    """

    alphas: np.ndarray
    configs: np.ndarray
    species: np.ndarray
    coverage: np.ndarray
    error: np.ndarray
    chimera: np.ndarray
    success: np.ndarray
    fraction: float
    crosstalk: np.ndarray


def seeded_particle_recalls(
    key, structs: st.Structures, couplings, sampler, *, runs: int, steps: int, k: int,
    copies: int, box, level: float = LEVEL, chunk: int | None = None, **model_kwargs,
) -> ParticleRecalls:  # fmt: skip
    """`runs` seeded recalls of every stored structure in a patchy-particle mixture.

    For each structure alpha, `runs` chains start from `particle_seed` (`copies`
    particles per species, its k x k seed assembled) and all m * runs chains run
    `steps` steps of `sampler` as one batch through `molcomp.sample` (one model: the
    species do not depend on the seed).

    **Arguments:**

    - `key`: a `jax.random` key.
    - `structs`: the stored `Structures`; `couplings`: the mixture's oriented
      `molcomp.Couplings` (e.g. `learning.hebbian.clipped_or(structs, 1.0)`, with the
      bond energy in `scale`).
    - `sampler`: `molcomp.particles.Brownian` or `Langevin`.
    - `runs`: recalls per structure; `steps`: sampler steps (the budget is
      steps * dt); `k`: seed side; `copies`: free particles per species; `box`.
    - `level`: coverage needed for success (0.9).
    - `chunk`: steps per `molcomp.sample` chunk (overflow checks between chunks).
    - `model_kwargs`: the `PatchyMixture`'s scale, sigma, core, alpha, patch_width,
      cutoff, onset.

    **Returns:** a `ParticleRecalls` (runs * m entries, structure-major).

    **Example:**

    ```python
    out = analog.memory.seeded_particle_recalls(
        key, structs, J, particles.Brownian(dt=2e-3), runs=8, steps=20_000, k=2, copies=1,
        box=(10.0, 10.0), scale=8.0)
    out.fraction
    ```
    """
    check_key("key", key)
    if not isinstance(structs, st.Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    runs = check_positive_int("runs", runs)
    steps = check_positive_int("steps", steps)
    level = check_fraction("level", level)
    sigma = float(model_kwargs.get("sigma", 1.0))
    species, starts = None, []
    for alpha in range(structs.m):
        species, start = particle_seed(
            jax.random.fold_in(key, alpha),
            structs,
            alpha,
            k,
            copies,
            box,
            sigma=sigma,
            chains=runs,
        )
        starts.append(start)
    alphas = np.repeat(np.arange(structs.m), runs)
    model = particles.PatchyMixture(couplings, jnp.asarray(species), box, **model_kwargs)
    state = sampler.init(model, np.concatenate(starts))
    k_run = jax.random.fold_in(key, structs.m)
    final = molcomp.sample(k_run, model, sampler, state, steps, chunk=chunk, progress=False)
    configs = np.asarray(final.state.position)
    partners = np.asarray(jax.vmap(model.patch_bonds)(jnp.asarray(configs)))
    reads = [particles.patch_readout(structs, species, p) for p in partners]
    coverage = np.array([r.coverage[a] for r, a in zip(reads, alphas)])
    success = coverage >= level - 1e-9
    return ParticleRecalls(
        alphas=alphas,
        configs=configs,
        species=species,
        coverage=coverage,
        error=np.array([r.error for r in reads]),
        chimera=np.array([r.chimera for r in reads]),
        success=success,
        fraction=float(np.mean(success)),
        crosstalk=np.array(
            [crosstalk_bonds(structs, species, p, a) for p, a in zip(partners, alphas)]
        ),
    )


def crosstalk_bonds(structs: st.Structures, species, partners, alpha: int) -> int:
    """The bonds of a patchy configuration that another stored structure designs but
    structure `alpha` does not: a particle held at a wrong place by a bond that the
    couplings make as strong as a right one (a stored bond is a stored bond).

    **Arguments:**

    - `structs`: the stored `Structures`; `species`: (n,) species of the particles.
    - `partners`: (n, K) partner at each patch or -1 (`PatchyMixture.patch_bonds`).
    - `alpha`: the structure sought.

    **Returns:** the number of such bonds (each bond counted once).
    """
    if not 0 <= int(alpha) < structs.m:
        raise ValueError(f"alpha must be in [0, {structs.m}), got {alpha}")
    _, _, member = particles.patch_bond_list(structs, species, partners)
    return int(np.sum(member.any(axis=1) & ~member[:, int(alpha)]))


def lattice_coverage(structs: st.Structures, configs, alphas) -> np.ndarray:
    """Coverage of structure `alphas[r]` by lattice configuration r, read like a patchy
    one (every contact between occupied neighbours is a bond; `patch_readout`).

    **Arguments:**

    - `structs`: the stored `Structures`; `configs`: (runs, n_sites) lattice
      configurations (state N empty); `alphas`: (runs,) the structure each run seeks.

    **Returns:** (runs,) coverage in [0, 1].
    """
    configs = np.atleast_2d(np.asarray(configs))
    out = []
    for config, alpha in zip(configs, np.asarray(alphas)):
        species, partners = particles.lattice_patch_bonds(
            structs.lattice, config, structs.n_species
        )
        out.append(particles.patch_readout(structs, species, partners).coverage[int(alpha)])
    return np.asarray(out)
