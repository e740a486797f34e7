"""Continuous particle mixtures in periodic boxes, built on jax-md.

Each pair of particles i, j (species a, b) at distance r interacts through a soft
repulsive core, the same for every pair, plus a binding well whose depth depends on the
species pair:

$$u_{ab}(r) = S(r) \\left[\\frac{\\epsilon}{2}\\left(1 - \\frac{r}{\\sigma}\\right)^2
\\Theta(\\sigma - r) - D_{ab}\\, w(r)\\right],\\qquad
w(r) = \\begin{cases} 1 & r \\le \\sigma \\\\
1 - (1 - e^{-\\alpha (r - \\sigma)})^2 & r > \\sigma \\end{cases}$$

w is the attractive branch of a Morse well with its minimum at sigma, flattened inside
the core (so overlapping particles feel a bounded energy, and E is linear in D). The
core vanishes at r >= sigma with zero slope, so the pair minimum is at r = sigma with
energy exactly -D_ab (the sign table: depth D_ab >= 0). S(r) is jax-md's C^1
multiplicative cutoff, 1 below `onset` (> sigma) and 0 beyond `cutoff`. Energies are
in kT. The physics is one pair function; `smap` lifts it to the system (all pairs or a
neighbour list from `partition`); the dynamics live in `_brownian` and `_langevin`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax_md import energy as md_energy
from jax_md import partition, smap, space
from jaxtyping import Array, Float, Int

from .._model import AbstractEnergyModel
from ..checks import as_finite_float, check_fraction, check_key, check_real, is_concrete

Positions = Float[Array, "n dim"]


def _positive(name, value) -> float:
    return check_real(name, value, minimum=0.0, strict=True)


def positive_param(name: str, value):
    """A float32 model parameter, checked > 0 when concrete (a traced value, e.g. under
    `jax.grad`, passes unchecked)."""
    value = _positive(name, value) if is_concrete(value) else value
    return jnp.asarray(value, jnp.float32)


def check_species(species, q: int, source: str):
    """`species` as int32 after checking (outside a trace) that it is a 1-D integer
    array with values in [0, q); `source` says where q comes from (for the message)."""
    if is_concrete(species):
        s = np.asarray(species)
        if s.ndim != 1 or s.size < 1 or not np.issubdtype(s.dtype, np.integer):
            raise ValueError(f"species must be a 1-D integer array, got {s.dtype} shape {s.shape}")
        if s.min() < 0 or s.max() >= q:
            raise ValueError(
                f"species must lie in [0, q) with q = {q} ({source}), got values in "
                f"[{s.min()}, {s.max()}]"
            )
    return jnp.asarray(species, jnp.int32)


def check_geometry(box, cutoff, sigma, onset, dims: tuple[int, ...]):
    """(box, cutoff, onset) of a particle model in a periodic box: `dims` the allowed
    numbers of sides, every side at least twice the cutoff (minimum image), and
    sigma < onset < cutoff (the well minimum at sigma untouched by the cutoff; onset
    defaults to (sigma + cutoff) / 2)."""
    b = as_finite_float("box", box)
    if b.ndim != 1 or b.shape[0] not in dims:
        allowed = " or ".join(str(d) for d in dims)
        raise ValueError(f"box must list {allowed} side lengths, got shape {b.shape}")
    cutoff = _positive("cutoff", cutoff)
    if np.any(b < 2 * cutoff):
        raise ValueError(
            f"box sides must be at least twice the cutoff ({2 * cutoff}), got box={b.tolist()}"
        )
    sig = _positive("sigma", sigma) if is_concrete(sigma) else None
    onset = 0.5 * (sig + cutoff) if onset is None and sig else onset
    onset = _positive("onset", onset)
    if sig is not None and not sig < onset < cutoff:
        raise ValueError(
            f"need sigma < onset < cutoff (the well minimum at sigma must be untouched by the "
            f"cutoff), got sigma={sig}, onset={onset}, cutoff={cutoff}"
        )
    return tuple(float(x) for x in b), cutoff, onset


def well_shape(r, sigma, alpha):
    """w(r): 1 inside the core, the attractive Morse branch beyond sigma (in [0, 1])."""
    x = jnp.exp(-alpha * jnp.maximum(r - sigma, 0.0))
    return 1.0 - (1.0 - x) ** 2


class ParticleMixture(AbstractEnergyModel):
    """A mixture of n particles of q species in a periodic box (2D or 3D).

    $$E(x) = \\sum_{i<j} u_{s_i s_j}(|x_i - x_j|)$$ (see the module docstring).

    A continuous energy model: a configuration is the positions, `state_shape` =
    (n, dim), `n_states` = None. `tempered(t)` scales the well depths and the core by t.

    **Arguments:**

    - `depth`: (q, q) symmetric well depths D_ab >= 0 in kT (trainable).
    - `species`: (n,) integer species of each particle, in [0, q).
    - `box`: side lengths, length 2 or 3 (static: it fixes the cell-list layout);
      every side must exceed twice `cutoff` (minimum-image convention).
    - `sigma`: core diameter and well position. `core`: core stiffness epsilon (kT).
    - `alpha`: Morse steepness (range ~ 1 / alpha beyond sigma).
    - `cutoff`, `onset`: the smooth cutoff S(r) (static); sigma < onset < cutoff.

    **Example:**

    ```python
    model = ParticleMixture(jnp.full((2, 2), 3.0), species, box=(10.0, 10.0))
    e = model.energy(positions)
    ```
    """

    depth: Float[Array, "q q"]
    species: Int[Array, " n"]
    sigma: Float[Array, ""]
    core: Float[Array, ""]
    alpha: Float[Array, ""]
    box: tuple[float, ...] = eqx.field(static=True)
    cutoff: float = eqx.field(static=True)
    onset: float = eqx.field(static=True)

    def __init__(
        self,
        depth,
        species,
        box,
        *,
        sigma=1.0,
        core=50.0,
        alpha=4.0,
        cutoff: float = 2.0,
        onset: float | None = None,
    ):
        if is_concrete(depth):
            d = as_finite_float("depth", depth)
            if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] < 1:
                raise ValueError(f"depth must be a square (q, q) matrix, got shape {d.shape}")
            if np.any(d < 0):
                a, b = np.argwhere(d < 0)[0]
                raise ValueError(
                    f"depth must be >= 0 (D_ab is the well depth; energy -D_ab at the "
                    f"minimum), got depth[{a},{b}]={d[a, b]}"
                )
            if np.abs(d - d.T).max() > 1e-6:
                raise ValueError("depth must be symmetric: depth[a, b] == depth[b, a]")
        self.depth = jnp.asarray(depth, jnp.float32)
        q = self.depth.shape[0]
        self.species = check_species(species, q, "the size of depth")
        self.box, self.cutoff, self.onset = check_geometry(box, cutoff, sigma, onset, (2, 3))
        self.sigma = jnp.asarray(sigma, jnp.float32)
        self.core, self.alpha = positive_param("core", core), positive_param("alpha", alpha)

    @property
    def n_species(self) -> int:
        """q, the number of species (the size of `depth`)."""
        return self.depth.shape[0]

    @property
    def n_particles(self) -> int:
        """n, the number of particles."""
        return self.species.shape[0]

    @property
    def dim(self) -> int:
        """Spatial dimension (2 or 3)."""
        return len(self.box)

    @property
    def state_shape(self) -> tuple[int, int]:
        """(n, dim): the positions of one configuration."""
        return (self.n_particles, self.dim)

    @property
    def n_states(self) -> None:
        """None: positions are continuous."""
        return None

    def tempered(self, t) -> ParticleMixture:
        """The mixture with energy t * E: well depths and core stiffness times t (E is
        linear in both, and the smooth cutoff multiplies the whole pair energy).

        A subclass that changes `energy` cannot be tempered this way (TypeError)."""
        if type(self).energy is not ParticleMixture.energy:
            raise TypeError(
                f"{type(self).__name__} overrides energy, so scaling depth and core "
                "does not temper it; define its own `tempered`"
            )
        if is_concrete(t):
            check_fraction("t", t)
        t = jnp.asarray(t, jnp.float32)
        return eqx.tree_at(lambda m: (m.depth, m.core), self, (t * self.depth, t * self.core))

    def space(self):
        """jax-md's periodic (displacement, shift) for this box."""
        return space.periodic(jnp.asarray(self.box, jnp.float32))

    def pair_energy(self, r, depth):
        """u(r) for distances r with matching well depths (broadcast)."""
        sigma = self.sigma

        def u(dr, depth):
            core = md_energy.soft_sphere(dr, sigma, self.core, 2)
            return core - depth * well_shape(dr, sigma, self.alpha)

        return md_energy.multiplicative_isotropic_cutoff(u, self.onset, self.cutoff)(r, depth)

    def _pair_fn(self):
        depth = 0.5 * (self.depth + self.depth.T)  # gradients stay symmetric
        return lambda dr, depth, **_: self.pair_energy(dr, depth), depth

    def energy(self, positions: Positions, neighbors: partition.NeighborList | None = None):
        """E(x) in kT: all pairs (O(n^2), for small systems and tests) or, given a jax-md
        neighbour list built with this model's cutoff, only listed pairs.

        NaN when any coordinate is NaN or infinite: the cutoff would otherwise drop the
        pairs of a non-finite particle and return a finite number, hiding the failure.
        """
        displacement, _ = self.space()
        fn, depth = self._pair_fn()
        if neighbors is None:
            dr = space.distance(space.map_product(displacement)(positions, positions))
            u = fn(dr, depth[self.species[:, None], self.species[None, :]])
            off_diagonal = 1.0 - jnp.eye(self.n_particles, dtype=u.dtype)
            e = 0.5 * jnp.sum(u * off_diagonal)
        else:
            # reduce_axis=(): per-pair energies (already halved); summed here in float32
            # (jax-md's own reduction asks for float64 and warns when x64 is off).
            pair = smap.pair_neighbor_list(
                fn, space.metric(displacement), species=self.species, reduce_axis=(), depth=depth
            )
            e = jnp.sum(pair(positions, neighbors))
        return jnp.where(jnp.all(jnp.isfinite(positions)), e, jnp.nan)

    def max_curvature(self) -> Float[Array, ""]:
        """k = max u''(r) over every pair potential, in kT / sigma^2: the soft core's
        `core / sigma^2` (inside sigma) or the well's `2 alpha^2 max D_ab` (its minimum).

        The stiffest pair mode: the particle samplers compare their time step with it
        (`Brownian.stable_dt`, `Langevin.stable_dt`). It ignores the smooth cutoff,
        whose curvature is far smaller, and any energy a subclass adds.
        """
        well = 2.0 * self.alpha**2 * jnp.max(self.depth)
        return jnp.maximum(self.core / self.sigma**2, well)

    def force(self, positions: Positions, neighbors: partition.NeighborList | None = None):
        """F = -dE/dx, shape (n, dim).

        With a Dense neighbour list (every pair listed from both ends) the pair forces
        are summed row by row, $F_i = -\\sum_j u'(r_{ij})\\, (x_i - x_j) / r_{ij}$: gathers
        only, where reverse-mode through `energy` would scatter-add into every
        neighbour (several times slower on CPU). A subclass that changes `energy`, or no
        Dense list, gets `-jax.grad(energy)`, so the force always belongs to the energy.
        """
        dense = neighbors is not None and neighbors.format is partition.Dense
        if not dense or type(self).energy is not ParticleMixture.energy:
            return -jax.grad(self.energy)(positions, neighbors)
        n = positions.shape[0]
        fn, depth = self._pair_fn()
        idx = neighbors.idx
        j = jnp.minimum(idx, n - 1)
        box = jnp.asarray(self.box, positions.dtype)
        d = positions[:, None, :] - positions[j]
        d = d - box * jnp.round(d / box)  # minimum image (cheaper than jax-md's mod)
        listed = idx < n
        r = jnp.sqrt(jnp.where(listed, jnp.sum(d**2, axis=-1), 1.0))
        pair_depth = depth[self.species[:, None], self.species[j]]
        slope = jax.jvp(lambda r: fn(r, pair_depth), (r,), (jnp.ones_like(r),))[1]
        weight = jnp.where(listed, -slope / r, 0.0)
        return jnp.sum(weight[..., None] * d, axis=1)

    def check_state(self, positions, name: str = "positions"):
        """Validate positions: shape (n, dim) or (chains, n, dim), finite, inside the box
        (values are checked only outside a trace). Returns them as float32."""
        shape = (self.n_particles, self.dim)
        if not is_concrete(positions):
            if jnp.ndim(positions) not in (2, 3) or jnp.shape(positions)[-2:] != shape:
                raise ValueError(
                    f"{name} must have shape {shape} or (chains, {shape[0]}, {shape[1]}), "
                    f"got {jnp.shape(positions)}"
                )
            return jnp.asarray(positions, jnp.float32)
        arr = as_finite_float(name, positions)
        if arr.ndim not in (2, 3) or arr.shape[-2:] != shape:
            raise ValueError(
                f"{name} must have shape {shape} or (chains, {shape[0]}, {shape[1]}) to match "
                f"{self.n_particles} species labels in a {self.dim}-D box, got {arr.shape}"
            )
        box = np.asarray(self.box)
        if np.any(arr < 0) or np.any(arr >= box):
            bad = np.argwhere((arr < 0) | (arr >= box))[0].tolist()
            raise ValueError(
                f"{name} must lie inside the box [0, L) per axis, box={list(self.box)}; "
                f"{name}{bad} = {arr[tuple(bad)]}"
            )
        return jnp.asarray(arr, jnp.float32)


def random_positions(key, model: ParticleMixture):
    """Uniform positions in the box (overlaps are not removed: relax before measuring).

    **Arguments:** `key`, a `jax.random` key; `model`, the `ParticleMixture`.

    **Returns:** (n, dim) positions.
    """
    check_key("key", key)
    if not isinstance(model, ParticleMixture):
        raise TypeError(f"model must be a ParticleMixture, got {type(model).__name__}")
    return jax.random.uniform(key, (model.n_particles, model.dim)) * jnp.asarray(model.box)


def lattice_positions(model: ParticleMixture, spacing: float | None = None):
    """Particles on a simple square/cubic grid filling the box (no overlaps when the
    box is dilute enough): a relaxed, reproducible starting state."""
    if not isinstance(model, ParticleMixture):
        raise TypeError(f"model must be a ParticleMixture, got {type(model).__name__}")
    if spacing is not None:
        spacing = check_real("spacing", spacing, minimum=0.0, strict=True)
    n, dim = model.n_particles, model.dim
    box = np.asarray(model.box)
    per_side = int(np.ceil(n ** (1.0 / dim)))
    grid = np.stack(np.meshgrid(*[np.arange(per_side)] * dim, indexing="ij"), -1)
    grid = grid.reshape(-1, dim)[:n].astype(np.float64)
    step = box / per_side if spacing is None else np.full(dim, spacing)
    if np.any(step * per_side > box + 1e-9):
        raise ValueError(f"spacing={spacing} does not fit {n} particles in box {list(box)}")
    return jnp.asarray((grid + 0.5) * step, jnp.float32)
