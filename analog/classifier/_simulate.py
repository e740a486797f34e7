"""Full-simulation readout of a nucleation classifier: run the mixture and see which
structure assembles.

The mixture is a `molcomp.PottsModel` with an empty (solvent) state, clipped Hebbian
couplings (`learning.hebbian.clipped_or`: J = -epsilon on every designed bond) and
the chemical potentials the input map sets. Starting from an empty lattice, Metropolis
sweeps run while the binding strength beta ramps up linearly (an anneal: cooling at
fixed concentrations). The class of one run is, with `readout="final"`, the structure
with the largest correctly bonded cluster at the end, or, with `readout="first"`, the
structure whose largest cluster first reaches `critical` sites (cluster sizes checked
every `check_every` sweeps): the structure that nucleates first, which is what the
window surrogate estimates; later growth on a small lattice at fixed concentrations
is a race for space that adds noise. Over R runs (vmapped) the majority wins.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int

import learning
import molcomp
from molcomp.checks import as_finite_float, check_key, check_positive_int, check_real, is_concrete
from molcomp.sharding import shard_batch
from molcomp.structures import Structures

from ._classifier import NucleationClassifier, check_classifier
from ._maps import check_features


def mixture(classifier: NucleationClassifier, x, epsilon=8.0, beta=1.0) -> molcomp.PottsModel:
    """The `PottsModel` of one image: clipped-OR couplings -epsilon, mu = input_map(x).

    **Arguments:**

    - `classifier`: a `NucleationClassifier`.
    - `x`: one image (F,) or (h, w).
    - `epsilon`: bond energy of designed bonds in kT (> 0 attracts).
    - `beta`: binding strength (scales the couplings only).

    **Returns:** `molcomp.PottsModel(lattice, J, mu, beta, empty=True)`.
    """
    check_classifier(classifier)
    if is_concrete(epsilon):
        check_real("epsilon", epsilon, minimum=0.0, strict=True)
    if is_concrete(beta):
        check_real("beta", beta, minimum=0.0)
    x = check_features(x, classifier.n_features)
    if x.ndim != 1:
        raise ValueError(f"x must be one image, got shape {x.shape}")
    J = learning.hebbian.clipped_or(classifier.structures, epsilon)
    return molcomp.PottsModel(classifier.structures.lattice, J, classifier.mu(x), beta, empty=True)


def cluster_sizes(structs: Structures, config: Int[Array, " n"]) -> Int[Array, " m"]:
    """Sites of the largest cluster of each structure: connected sites joined by bonds
    that structure alpha designs (anywhere on the lattice), (m,). 0 when none formed.

    Connected components by min-label propagation with pointer jumping under
    `lax.while_loop` (JAX: vmaps over configurations), on lattices with bond
    directions.
    """
    lat = structs.lattice
    if lat.n_directions is None:
        raise ValueError("cluster_sizes needs a lattice with bond directions")
    D = lat.n_directions // 2
    N, n = structs.n_species, lat.n_sites
    nb, mask = lat.neighbours[:, :D], lat.mask[:, :D]  # forward slots
    config = jnp.asarray(config)
    a = jnp.minimum(config, N - 1)
    want = structs.partners()[:, jnp.arange(D)[None, :], a[:, None]]  # (m, n, D)
    ok = mask & (config < N)[:, None] & (config[nb] == want) & (want >= 0)
    return jax.vmap(lambda o: _largest_component(o, nb, n))(ok)


def _largest_component(ok, nb, n: int):
    """Largest component (in sites) of the graph of bonds (x, nb[x, d]) where ok.

    Every label is a site of its own component, at most its own index; each round
    takes the minimum across every bond, both ways, then jumps each label to its
    label's label. The fixed point is the component minimum everywhere, reached in
    far fewer rounds than the component's diameter."""
    touched = jnp.zeros(n, bool).at[nb].max(ok) | jnp.any(ok, axis=1)
    labels = jnp.where(touched, jnp.arange(n), n)  # n: not in any bond (never read)

    def sweep(lab):
        for d in range(nb.shape[1]):
            y = nb[:, d]
            lab = jnp.where(ok[:, d], jnp.minimum(lab, lab[y]), lab)
            lab = lab.at[y].min(jnp.where(ok[:, d], lab, n))
        return jnp.append(lab, n)[lab]  # pointer jumping

    def cond(c):
        return c[1]

    def body(c):
        lab, _ = c
        new = sweep(lab)
        return new, jnp.any(new != lab)

    labels, _ = jax.lax.while_loop(cond, body, (labels, jnp.array(True)))
    return jnp.max(jnp.zeros(n + 1, jnp.int32).at[labels].add(1)[:n])


def default_sampler(structs: Structures) -> molcomp.Metropolis:
    """Metropolis with neighbour proposals that keeps a partner slot for every structure.

    Under clipped-OR couplings a species binds one partner per structure in each
    direction, all equally strongly; a partner table shorter than m (the sampler's
    default is 8) drops some structures' partners at random, so neighbour moves would
    never propose them and those structures would grow more slowly than the surrogate
    assumes. A longer table proposes the same moves (only real partners are drawn) at
    a higher cost per move, so it holds exactly m.

    **Arguments:**

    - `structs`: the classifier's `Structures`.

    **Returns:** `molcomp.Metropolis(proposal="neighbour", partners=m)`.
    """
    if not isinstance(structs, Structures):
        raise TypeError(f"structs must be molcomp Structures, got {type(structs).__name__}")
    return molcomp.Metropolis(proposal="neighbour", partners=int(structs.m))


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """Outcome of `simulate` (numpy), one row per image.

    - `classes`: (b,) majority structure over the repeats (ties: larger summed
      clusters), -1 when no run grew a cluster of `min_cluster` sites.
    - `votes`: (b, m) runs won by each structure.
    - `sizes`: (b, R, m) largest correctly bonded cluster of each structure per run.
    - `configs`: (b, R, n) final configurations.
    - `first_sweep`: (b, R) sweeps done when a cluster first reached `critical` sites
      (checked every `check_every` sweeps), -1 if none did.
    """

    classes: np.ndarray
    votes: np.ndarray
    sizes: np.ndarray
    configs: np.ndarray
    first_sweep: np.ndarray


def simulate(
    key,
    classifier: NucleationClassifier,
    x,
    *,
    epsilon=8.0,
    beta=(0.5, 1.0),
    sweeps: int = 300,
    repeats: int = 8,
    min_cluster: int = 4,
    readout: str = "final",
    critical: int = 16,
    check_every: int = 10,
    sampler: molcomp.Metropolis | None = None,
    mesh=None,
) -> SimulationResult:
    """Classify images by simulating the mixture they dose (see the module docstring).

    **Arguments:**

    - `key`: a `jax.random` key.
    - `classifier`: a `NucleationClassifier` (its structures and input map).
    - `x`: one image or a batch (b, F) / (b, h, w) of intensities in [0, 1].
    - `epsilon`: designed bond energy (kT) of the clipped-OR couplings.
    - `beta`: (start, end) of the linear binding-strength ramp over the sweeps.
    - `sweeps`: Metropolis sweeps per run; `repeats`: R independent runs per image.
    - `min_cluster`: a run votes only when its largest cluster has this many sites
      (`readout="final"`).
    - `readout`: "final" (largest cluster after the anneal) or "first" (the first
      structure whose largest cluster reaches `critical` sites; runs where none does
      do not vote).
    - `check_every`: sweeps between cluster-size checks (must divide `sweeps`).
    - `sampler`: default `default_sampler(classifier.structures)`.
    - `mesh`: a `molcomp.sharding.chain_mesh` to spread the images (and their runs)
      over its devices; the number of images must be a multiple of its size. The same
      key gives the same classes with or without it.

    **Returns:** a `SimulationResult`.
    """
    check_key("key", key)
    check_classifier(classifier)
    check_real("epsilon", epsilon, minimum=0.0, strict=True)
    x = check_features(x, classifier.n_features)
    single = x.ndim == 1
    x = jnp.atleast_2d(x)
    sweeps = check_positive_int("sweeps", sweeps)
    repeats = check_positive_int("repeats", repeats)
    check_positive_int("min_cluster", min_cluster)
    check_positive_int("critical", critical)
    check_every = check_positive_int("check_every", check_every)
    if sweeps % check_every:
        raise ValueError(f"check_every = {check_every} must divide sweeps = {sweeps}")
    if readout not in ("final", "first"):
        raise ValueError(f'readout must be "final" or "first", got {readout!r}')
    b0, b1 = (float(v) for v in as_finite_float("beta", beta, (2,)))
    if not (b0 >= 0 and b1 >= 0):
        raise ValueError(f"beta must be two non-negative numbers, got {beta!r}")
    sampler = default_sampler(classifier.structures) if sampler is None else sampler
    if not isinstance(sampler, molcomp.Metropolis):
        raise TypeError(f"sampler must be a molcomp.Metropolis, got {type(sampler).__name__}")
    template = mixture(classifier, x[0], epsilon)
    betas = jnp.linspace(b0, b1, sweeps, dtype=jnp.float32)
    keys = jax.random.split(key, (x.shape[0], repeats))
    mus = jax.vmap(classifier.mu)(x)
    if mesh is not None:  # one block of images per device; jit follows the placement
        keys, mus = shard_batch((keys, mus), mesh)
    configs, traj = _run(
        keys, template, sampler, mus, betas.reshape(-1, check_every), classifier.structures
    )
    traj = np.asarray(traj)  # (b, R, checks, m)
    sizes = traj[:, :, -1]
    reached = traj.max(axis=-1) >= critical  # (b, R, checks)
    hit = reached.argmax(axis=-1)  # first check reaching critical (0 if none)
    any_hit = reached.any(axis=-1)
    first_sweep = np.where(any_hit, (hit + 1) * check_every, -1)
    if readout == "final":
        best = sizes.argmax(axis=-1)
        counted = sizes.max(axis=-1) >= min_cluster
    else:
        at_hit = np.take_along_axis(traj, hit[..., None, None], axis=2)[:, :, 0]
        best, counted = at_hit.argmax(axis=-1), any_hit
    m = sizes.shape[-1]
    votes = np.stack([np.sum((best == a) & counted, axis=1) for a in range(m)], axis=1)
    tiebreak = sizes.sum(axis=1) / (sizes.sum(axis=(1, 2))[:, None] + 1.0)  # in [0, 1)
    classes = np.where(votes.sum(axis=1) > 0, np.argmax(votes + tiebreak, axis=1), -1)
    out = SimulationResult(classes, votes, sizes, np.asarray(configs), first_sweep)
    if single:
        out = SimulationResult(*(v[0] for v in dataclasses.astuple(out)))
    return out


@eqx.filter_jit
def _run(keys, template, sampler, mus, betas, structs):
    """Runs of every (image, repeat); betas (checks, check_every). Returns the final
    configurations (b, R, n) and the cluster sizes after each check (b, R, checks, m).

    The anneal is a schedule of models, one per sweep (beta an array: no recompiles);
    each sweep is one `molcomp.sample` step of the sampler at that sweep's model."""
    empty = jnp.full(template.lattice.n_sites, template.empty_state)

    def one(key, mu):
        model = molcomp.PottsModel(
            template.lattice, template.couplings, mu, betas[-1, -1], empty=True
        )
        state = sampler.init(model, empty)

        def body(st, inp):
            k, beta = inp
            at = eqx.tree_at(lambda m: m.beta, model, beta)
            return molcomp.sample(k, at, sampler, st, 1, progress=False).state, None

        def chunk(st, inp):  # check_every sweeps, then the cluster sizes
            st, _ = jax.lax.scan(body, st, inp)
            return st, cluster_sizes(structs, st.config)

        ks = jax.random.split(key, betas.shape).reshape(betas.shape)
        state, traj = jax.lax.scan(chunk, state, (ks, betas))
        return state.config, traj

    # one vmap over the (image, repeat) pairs: half the compile time of a nested vmap
    b, R = keys.shape
    flat_mu = jnp.repeat(mus, R, axis=0)
    configs, traj = jax.vmap(one)(keys.reshape(b * R), flat_mu)
    return configs.reshape(b, R, -1), traj.reshape((b, R) + traj.shape[1:])
