"""Patchy particles in a periodic 2-D box: a soft isotropic core plus oriented patches
whose depths come from the same oriented `Couplings` as the lattice Potts model.

A configuration is one array (n, 3) of (x, y, theta): the position of each particle
and the angle of its body frame (radians, counter-clockwise from +x). Particles of
every species carry K patches (K = 4 for square structures, 6 for triangular ones);
patch d points along the body angle theta + 2 pi d / K, which is the angle of lattice
direction d in `Lattice.coords` for both the square (+x, +y, -x, -y) and the triangular
lattice (0, 60, ..., 300 degrees). A pair i, j (species a, b) at separation r, whose
bond i -> j makes the angle psi_i with the nearest patch d of i and psi_j with the
nearest patch d' of j, has the energy

$$u = S(r)\\left[\\frac{\\epsilon}{2}\\left(1 - \\frac{r}{\\sigma}\\right)^2
\\Theta(\\sigma - r) + s\\, J_d[a, b]\\, w(r)\\, g(\\psi_i)\\, g(\\psi_j)\\,
[d' = \\bar d]\\right],\\qquad g(\\psi) = \\max\\left(\\frac{\\cos\\psi - \\cos\\delta}
{1 - \\cos\\delta}, 0\\right)^2,$$

with \\bar d = d + K/2 mod K the opposite patch, w the flat-bottomed Morse branch of
`well_shape` (w = 1 for r <= sigma), S jax-md's C^1 multiplicative cutoff and s the
depth `scale`. g is C^1, g(0) = 1, and it vanishes for |psi| >= delta = `patch_width`
<= pi / K, so at most one patch of a particle faces a given neighbour and a placed
lattice structure (contact at r = sigma, patches aligned) has exactly s times the
lattice bond energy (the sign table: J < 0 attracts). The energy is linear in the
couplings: E = E_core + s <params, statistics>.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax_md import energy as md_energy
from jax_md import partition, space
from jaxtyping import Array, Float, Int

from .._model import AbstractEnergyModel
from ..checks import as_finite_float, check_fraction, check_real, is_concrete
from ..interactions._interactions import Couplings
from ._particles import check_geometry, check_species, positive_param, well_shape
from ._patchy_kernels import nearest_patch, pair_rows, row_force

Configuration = Float[Array, "n 3"]
PATCH_COUNTS = (4, 6)


class PatchyMixture(AbstractEnergyModel):
    """n patchy particles of q species in a periodic 2-D box (see the module docstring).

    $$E = \\sum_{i<j} u(x_i, \\theta_i, x_j, \\theta_j) = E_{core} + s \\langle
    \\text{params}, \\text{statistics} \\rangle$$

    A continuous energy model: `state_shape` = (n, 3) with columns (x, y, theta),
    `n_states` = None. Only `couplings.params` train (`trainable`), exactly as on the
    lattice; `statistics` are the patch-contact weights in the shape of the params.

    **Arguments:**

    - `couplings`: an oriented `molcomp.Couplings` with K = 4 (square) or 6
      (triangular) directions: patch d of species a binds patch d + K/2 of species b
      with energy `scale * J_d[a, b]` at perfect contact.
    - `species`: (n,) integer species in [0, q).
    - `box`: two side lengths (static), each at least twice `cutoff`.
    - `scale`: depth scale s > 0 (kT per unit of J).
    - `sigma`: core diameter and bond length. `core`: core stiffness epsilon (kT).
    - `alpha`: Morse steepness of the radial well w.
    - `patch_width`: angular half-width delta of a patch (radians, static), in
      (0, pi / K]; default pi / (2 K).
    - `cutoff`, `onset`: the smooth radial cutoff (static), sigma < onset < cutoff;
      onset defaults to (sigma + cutoff) / 2.

    **Example:**

    ```python
    couplings = molcomp.Couplings.oriented(-4.0 * jnp.ones((2, 2, 2)))
    model = particles.PatchyMixture(couplings, jnp.array([0, 1]), box=(6.0, 6.0))
    e = model.energy(jnp.array([[1.0, 1.0, 0.0], [2.0, 1.0, 0.0]]))  # -4 (bonded)
    ```
    """

    couplings: Couplings
    species: Int[Array, " n"]
    scale: Float[Array, ""]
    sigma: Float[Array, ""]
    core: Float[Array, ""]
    alpha: Float[Array, ""]
    box: tuple[float, ...] = eqx.field(static=True)
    patch_width: float = eqx.field(static=True)
    cutoff: float = eqx.field(static=True)
    onset: float = eqx.field(static=True)

    def __init__(
        self,
        couplings,
        species,
        box,
        *,
        scale=1.0,
        sigma=1.0,
        core=50.0,
        alpha=4.0,
        patch_width: float | None = None,
        cutoff: float = 2.0,
        onset: float | None = None,
    ):
        if not isinstance(couplings, Couplings):
            raise TypeError(
                f"couplings must be a molcomp.Couplings, got {type(couplings).__name__}"
            )
        if not couplings.is_oriented or couplings.n_directions not in PATCH_COUNTS:
            raise ValueError(
                f"couplings must be oriented with K = 4 (square) or 6 (triangular) "
                f"directions, one per patch (Couplings.oriented(J_forward) with J_forward "
                f"of shape (K/2, q, q)), got n_directions={couplings.n_directions}"
            )
        self.couplings = couplings
        self.species = check_species(species, couplings.q, "the couplings' species")
        self.box, self.cutoff, self.onset = check_geometry(box, cutoff, sigma, onset, (2,))
        k = couplings.n_directions
        width = np.pi / (2 * k) if patch_width is None else patch_width
        self.patch_width = check_real("patch_width", width, minimum=0.0, strict=True)
        if self.patch_width > np.pi / k * (1 + 1e-6):
            raise ValueError(
                f"patch_width must be in (0, pi / K] = (0, {np.pi / k:.4g}] for K = {k} "
                f"patches (wider patches would overlap), got {self.patch_width}"
            )
        self.scale, self.sigma = positive_param("scale", scale), positive_param("sigma", sigma)
        self.core, self.alpha = positive_param("core", core), positive_param("alpha", alpha)

    # ---- structure ----------------------------------------------------------------
    @property
    def n_species(self) -> int:
        """q, the number of species."""
        return self.couplings.q

    @property
    def n_patches(self) -> int:
        """K, the patches per particle (the couplings' directions)."""
        return self.couplings.n_directions

    @property
    def n_particles(self) -> int:
        """n, the number of particles."""
        return self.species.shape[0]

    @property
    def dim(self) -> int:
        """Spatial dimension: 2 (the position columns of a configuration)."""
        return 2

    @property
    def state_shape(self) -> tuple[int, int]:
        """(n, 3): x, y, theta of each particle."""
        return (self.n_particles, 3)

    @property
    def n_states(self) -> None:
        """None: configurations are continuous."""
        return None

    def space(self):
        """jax-md's periodic (displacement, shift) over the columns (x, y, theta), with
        the box extended by theta's period 2 pi: the shift wraps positions into the box
        and angles into [0, 2 pi)."""
        return space.periodic(jnp.asarray([*self.box, 2 * np.pi], jnp.float32))

    def trainable(self):
        """Filter spec: only `couplings.params` train (the core, sigma, alpha, scale
        and species are fixed), as for the lattice model."""
        spec = jax.tree_util.tree_map(lambda _: False, self)
        return eqx.tree_at(lambda m: m.couplings.params, spec, replace=True)

    def tempered(self, t) -> PatchyMixture:
        """Energy t * E: `scale` and `core` times t (E is linear in both).

        A subclass that changes `energy` cannot be tempered this way (TypeError)."""
        if type(self).energy is not PatchyMixture.energy:
            raise TypeError(
                f"{type(self).__name__} overrides energy, so scaling scale and core does "
                "not temper it; define its own `tempered`"
            )
        if is_concrete(t):
            check_fraction("t", t)
        t = jnp.asarray(t, jnp.float32)
        return eqx.tree_at(lambda m: (m.scale, m.core), self, (t * self.scale, t * self.core))

    # ---- pair terms -----------------------------------------------------------------
    def _cut(self, r):
        one = md_energy.multiplicative_isotropic_cutoff(
            lambda dr, **_: jnp.ones_like(dr), self.onset, self.cutoff
        )
        return one(r)

    def radial(self, r):
        """(core, well) of separations r, both times the smooth cutoff: the core's
        S(r) epsilon / 2 (1 - r / sigma)^2 Theta(sigma - r) and the well's S(r) w(r)."""
        cut = self._cut(r)
        core = md_energy.soft_sphere(r, self.sigma, self.core, 2)
        return cut * core, cut * well_shape(r, self.sigma, self.alpha)

    def angular(self, d, ui, uj, listed):
        """(g(psi_i) g(psi_j) where the nearest patches d, d' of i and j are opposite
        (else 0), d) per ordered pair: `d` (..., 2) the separation x_j - x_i (nonzero),
        `ui`, `uj` (..., 2) the unit orientations (cos theta, sin theta)."""
        r = jnp.sqrt(jnp.sum(d**2, axis=-1))
        ex, ey = d[..., 0] / r, d[..., 1] / r  # the unit bond i -> j
        ci, si, cj, sj = ui[..., 0], ui[..., 1], uj[..., 0], uj[..., 1]
        k, w = self.n_patches, self.patch_width
        di, g_i, _ = nearest_patch(ex * ci + ey * si, ey * ci - ex * si, k, w)
        dj, g_j, _ = nearest_patch(-(ex * cj + ey * sj), ex * sj - ey * cj, k, w)
        engaged = listed & (dj == (di + k // 2) % k)
        return jnp.where(engaged, g_i * g_j, 0.0), di

    def _safe(self, d, listed):
        # pairs not listed (padding, i = j) get a separation beyond the cutoff: zero
        # energy with zero (not NaN) gradients
        far = jnp.asarray([2.0 * self.cutoff, 0.0], d.dtype)
        return jnp.where(listed[..., None], d, far)

    def pair_terms(self, d, ui, uj, listed):
        """Per ordered pair i -> j (broadcast shapes): (core energy, patch weight
        W = S w g(psi_i) g(psi_j) [opposite patches], patch index d of i).

        `d`: (..., 2) minimum-image separation x_j - x_i; `ui`, `uj`: (..., 2) unit
        orientations (cos theta, sin theta); `listed`: which pairs are real (others
        give zeros with zero gradients)."""
        d = self._safe(d, listed)
        core, well = self.radial(jnp.sqrt(jnp.sum(d**2, axis=-1)))
        g, di = self.angular(d, ui, uj, listed)
        return jnp.where(listed, core, 0.0), well * g, di

    def _rows(self, config, neighbors):
        return pair_rows(self, config, neighbors)

    def _coupling(self, d, a, b):
        """J_d[a, b] per pair, by one flat gather (cheaper on CPU than three indices)."""
        q = self.n_species
        return self.couplings.matrices().reshape(-1)[(d * q + a) * q + b]

    def _pair_energy(self, d, ui, uj, si, sj, listed):
        core, w, di = self.pair_terms(d, ui, uj, listed)
        J = self._coupling(di, si, sj)
        return core + self.scale * J * w

    # ---- energy, force, statistics -----------------------------------------------
    def energy(self, config: Configuration, neighbors: partition.NeighborList | None = None):
        """E in kT: all pairs (O(n^2), small systems and tests), or only the pairs of a
        jax-md Dense neighbour list built on the (x, y) columns with this model's cutoff.

        NaN when any entry of `config` is NaN or infinite."""
        e = 0.5 * jnp.sum(self._pair_energy(*self._rows(config, neighbors)))
        return jnp.where(jnp.all(jnp.isfinite(config)), e, jnp.nan)

    def force(self, config: Configuration, neighbors: partition.NeighborList | None = None):
        """The generalised force -dE/d(x, y, theta), shape (n, 3) (force, torque).

        With a Dense list (every pair listed from both ends) it is summed row by row:
        u(x_i, x_j) = u(x_j, x_i), so F_i = -sum_j du(x_i, x_j)/dx_i, the derivative
        taken per listed pair with x_j held fixed (gathers only, where reverse mode
        through `energy` would scatter-add into every neighbour). A subclass that changes
        `energy`, or no Dense list, gets `-jax.grad(energy)`. Equal to it up to float32
        rounding (tested against `jax.grad`)."""
        dense = neighbors is not None and neighbors.format is partition.Dense
        if not dense or type(self).energy is not PatchyMixture.energy:
            return -jax.grad(self.energy)(config, neighbors)
        return row_force(self, *self._rows(config, neighbors))

    def core_energy(self, config: Configuration, neighbors=None):
        """The core part of the energy, E - scale * <params, statistics>."""
        d, ui, uj, _, _, listed = self._rows(config, neighbors)
        return 0.5 * jnp.sum(self.pair_terms(d, ui, uj, listed)[0])

    has_statistics = True

    def statistics(self, config: Configuration, neighbors=None) -> Float[Array, "h q q"]:
        """Patch-contact weights per (forward direction d < K/2, species a, species b),
        the shape of `couplings.params`: the sum of W over bonds whose patch d of an a
        binds the opposite patch of a b (a bond seen from its backward end, patch
        d + K/2 of a binding patch d of b, is counted at [d, b, a]: the transpose rule).

        So E = `core_energy` + scale * <params, statistics>, and dE/dparams = scale *
        statistics exactly."""
        d, ui, uj, si, sj, listed = self._rows(config, neighbors)
        _, w, di = self.pair_terms(d, ui, uj, listed)
        h, q = self.n_patches // 2, self.n_species
        forward = di < h
        d = jnp.where(forward, di, di - h)
        a = jnp.where(forward, si, sj)
        b = jnp.where(forward, sj, si)
        return jnp.zeros((h, q, q), jnp.float32).at[d, a, b].add(0.5 * w)

    def energy_from_statistics(self, stats) -> Float[Array, ""]:
        """scale * <params, stats>: the coupling part of the energy (the core does not
        depend on the couplings, so the sleep-wake gradients of `couplings.params`, the
        only trainable leaf, are exact; the gap it reports omits the core)."""
        return self.scale * jnp.sum(self.couplings.params * stats)

    def patch_bonds(
        self, config: Configuration, threshold: float = 0.5, neighbors=None
    ) -> Int[Array, "n K"]:
        """For each particle and patch, the particle bound there (W > `threshold`, the
        strongest if several), else -1. Symmetric: if patch d of i holds j, patch
        d + K/2 of j holds i. Works on one configuration (vmap for chains)."""
        d, ui, uj, si, sj, listed = self._rows(config, neighbors)
        _, w, di = self.pair_terms(d, ui, uj, listed)
        n = config.shape[0]
        j = jnp.broadcast_to(jnp.arange(n), w.shape) if neighbors is None else None
        j = j if j is not None else jnp.where(listed, neighbors.idx, n)
        per_patch = jnp.where(di[..., None] == jnp.arange(self.n_patches), w[..., None], 0.0)
        best = jnp.argmax(per_patch, axis=1)  # (n, K)
        value = jnp.take_along_axis(per_patch, best[:, None, :], axis=1)[:, 0]
        partner = jnp.take_along_axis(j, best, axis=1)
        return jnp.where(value > threshold, partner, -1).astype(jnp.int32)

    # ---- stiffness -----------------------------------------------------------------
    def max_curvature(self) -> Float[Array, ""]:
        """Translational stiffness k (kT / sigma^2) for the samplers' `stable_dt`: the
        largest of the core's core / sigma^2, the radial well's 2 alpha^2 s max|J| and
        the lateral (angular) one 4 s max|J| / ((1 - cos delta) sigma^2) ~ 8 s max|J| /
        (delta sigma)^2 of a bond, whose both patches turn away from a sideways step."""
        depth = self.scale * jnp.max(jnp.abs(self.couplings.params))
        well = 2.0 * self.alpha**2 * depth
        lateral = 4.0 * depth / ((1.0 - np.cos(self.patch_width)) * self.sigma**2)
        return jnp.maximum(jnp.maximum(self.core / self.sigma**2, well), lateral)

    def max_rotational_curvature(self) -> Float[Array, ""]:
        """Rotational stiffness of one bond, 2 s max|J| / (1 - cos delta) ~ 4 s max|J| /
        delta^2 (kT / rad^2): the curvature of g at its peak times the depth. A particle
        with several bonds is stiffer (necessary, not sufficient, as for
        `max_curvature`)."""
        depth = self.scale * jnp.max(jnp.abs(self.couplings.params))
        return 2.0 * depth / (1.0 - np.cos(self.patch_width))

    def check_state(self, config, name: str = "config"):
        """Validate a configuration: shape (n, 3) or (chains, n, 3), finite, (x, y)
        inside the box [0, L) per axis; theta any finite real (the energy is 2 pi
        periodic in it; the samplers keep it in [0, 2 pi)). Returns float32."""
        shape = self.state_shape
        if not is_concrete(config):
            if jnp.ndim(config) not in (2, 3) or jnp.shape(config)[-2:] != shape:
                raise ValueError(
                    f"{name} must have shape {shape} or (chains, {shape[0]}, 3), got "
                    f"{jnp.shape(config)}"
                )
            return jnp.asarray(config, jnp.float32)
        arr = as_finite_float(name, config)
        if arr.ndim not in (2, 3) or arr.shape[-2:] != shape:
            raise ValueError(
                f"{name} must have shape {shape} or (chains, {shape[0]}, 3): columns x, y, "
                f"theta of {self.n_particles} particles, got {arr.shape}"
            )
        xy = arr[..., :2]
        box = np.asarray(self.box)
        if np.any(xy < 0) or np.any(xy >= box):
            bad = np.argwhere((xy < 0) | (xy >= box))[0].tolist()
            raise ValueError(
                f"{name} positions (columns x, y) must lie inside the box [0, L) per axis, "
                f"box={list(self.box)}; {name}{bad} = {xy[tuple(bad)]}"
            )
        return jnp.asarray(arr, jnp.float32)
