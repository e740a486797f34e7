"""The per-pair kernels of `PatchyMixture`: the nearest patch of a bond and its
angular factor, and the row-wise force (a hand-written chain rule, see `row_force`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax_md import partition


def nearest_patch(bx, by, k: int, width: float):
    """(index d, g(psi_d), dg/dpsi_d) for the patch d nearest to the unit bond
    (bx, by) given in the body frame, without arctan2: the patch axis (a line through
    two opposite patches) with the largest |projection|, then the patch on the
    bond's side of it. g is evaluated from sin psi (a cross product) as
    max(1 - sin^2 psi / ((1 + cos psi)(1 - cos delta)), 0)^2, the same function as
    `patch_shape` but exact to float32 near psi = 0, where 1 - cos psi would lose
    its digits."""
    # An unrolled running maximum over the K/2 axes: elementwise selects that fuse
    # into one loop (an argmax is a variadic reduction, several times slower on
    # CPU), outside autodiff (the choice is piecewise constant); cos and sin of psi
    # are then linear in the bond.
    bx0, by0 = jax.lax.stop_gradient(bx), jax.lax.stop_gradient(by)
    axis = jnp.zeros(bx.shape, jnp.int32)
    proj, ca, sa = bx0, jnp.ones_like(bx0), jnp.zeros_like(bx0)
    for p in range(1, k // 2):
        cp, sp = np.cos(2 * np.pi * p / k), np.sin(2 * np.pi * p / k)
        c = bx0 * cp + by0 * sp
        better = jnp.abs(c) > jnp.abs(proj)
        axis, proj = jnp.where(better, p, axis), jnp.where(better, c, proj)
        ca, sa = jnp.where(better, cp, ca), jnp.where(better, sp, sa)
    sign = jnp.where(proj < 0, -1.0, 1.0)  # the patch d + K/2 points along -axis
    d = jnp.where(proj < 0, axis + k // 2, axis)
    ca, sa = sign * ca, sign * sa
    cos_psi, sin_psi = bx * ca + by * sa, by * ca - bx * sa
    inv_k = 1.0 / (1.0 - np.cos(width))
    h = jnp.maximum(1.0 - inv_k * sin_psi**2 / (1.0 + cos_psi), 0.0)
    return d, jnp.square(h), (-2.0 * inv_k) * h * sin_psi


def row_force(model, d, ui, uj, si, sj, listed):
    """The generalised force (n, 3) of a `PatchyMixture` from the rows of a Dense
    neighbour list (`PatchyMixture.force`): separations d (n, m, 2) = x_j - x_i,
    orientations ui (n, 1, 2), uj (n, m, 2), species, and which slots are listed."""
    k, w = model.n_patches, model.patch_width
    d = model._safe(d, listed)
    # A hand-written chain rule (XLA's fusion of the reverse-mode pass recomputed
    # the angular factors several times over, 3x slower on CPU). Per pair,
    # u = C(r) + A(r) G with G = s J g(psi_i) g(psi_j), psi_i = phi - theta_i - a_d
    # and psi_j = phi + pi - theta_j - a_d', phi the bond angle, so
    # du/dd = (C' + A' G) e + A dG/dphi e_perp / r and du/dtheta_i = -A s J g'_i g_j.
    r = jnp.sqrt(jnp.sum(d**2, axis=-1))
    (_, well), (d_core, d_well) = jax.jvp(model.radial, (r,), (jnp.ones_like(r),))
    ex, ey = d[..., 0] / r, d[..., 1] / r
    ci, si_, cj, sj_ = ui[..., 0], ui[..., 1], uj[..., 0], uj[..., 1]
    di, g_i, gp_i = nearest_patch(ex * ci + ey * si_, ey * ci - ex * si_, k, w)
    dj, g_j, gp_j = nearest_patch(-(ex * cj + ey * sj_), ex * sj_ - ey * cj, k, w)
    engaged = listed & (dj == (di + k // 2) % k)
    sJ = jnp.where(engaged, model.scale * model._coupling(di, si, sj), 0.0)
    along = d_core + d_well * sJ * g_i * g_j
    across = well * sJ * (gp_i * g_j + g_i * gp_j) / r
    # d = x_j - x_i, so F_i = -sum_j du/dx_i = sum_j du/dd; torque = -du/dtheta_i
    fx = jnp.sum(along * ex - across * ey, axis=1)
    fy = jnp.sum(along * ey + across * ex, axis=1)
    torque = jnp.sum(well * sJ * gp_i * g_j, axis=1)
    return jnp.stack([fx, fy, torque], axis=1)


def patch_shape(psi, width):
    """g(psi) = max((cos psi - cos width) / (1 - cos width), 0)^2: the angular factor
    of a patch, psi the angle between the patch and the bond. 1 at psi = 0 (curvature
    -2 / (1 - cos width) ~ -4 / width^2 there), C^1, zero for |psi| >= width."""
    # evaluated from sin psi as in the pair energy: exact to float32 near psi = 0
    c = jnp.cos(psi)
    rel = jnp.where(c > 0, jnp.sin(psi) ** 2 / ((1.0 + jnp.abs(c)) * (1.0 - np.cos(width))), 1.0)
    return jnp.square(jnp.maximum(1.0 - rel, 0.0))


def pair_rows(model, config, neighbors):
    """The pairs of a `PatchyMixture` configuration: (d, ui, uj, si, sj, listed), each
    (n, m[, 2]): every pair (m = n) or the rows of a Dense neighbour list, both ends of
    every pair listed; ui is (n, 1, 2)."""
    n = config.shape[0]
    if neighbors is None:
        idx = jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (n, n))
        listed = idx != jnp.arange(n)[:, None]
    else:
        if neighbors.format is not partition.Dense:
            raise ValueError(
                f"neighbors must be a Dense jax-md neighbour list, got {neighbors.format}"
            )
        idx = neighbors.idx
        listed = idx < n
    j = jnp.minimum(idx, n - 1)
    # cos and sin once per particle: XLA would otherwise fuse them into the gather
    # u[j] and evaluate them once per listed pair (1.3x the Brownian step at
    # N = 10^4 on CPU). A product with the identity is exact at "highest"
    # precision (no TF32 on a GPU), and XLA fuses no dot into a gather; an
    # optimization_barrier is dropped before fusion on CPU.
    xy = config[:, :2]
    u = jnp.matmul(_unit(config[:, 2]), jnp.eye(2, dtype=config.dtype), precision="highest")
    box = jnp.asarray(model.box, config.dtype)
    d = xy[j] - xy[:, None, :]
    d = d - box * jnp.round(d / box)  # minimum image
    return d, u[:, None, :], u[j], model.species[:, None], model.species[j], listed


def _unit(theta):
    return jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=-1)
