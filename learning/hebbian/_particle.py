"""Hebbian exposure in continuous space: well depths D_ab grow with the time species a
and b spend at contact distance.

The continuous analogue of the lattice exposure rule (`exposure_increment`). With the
concentration fields C_a(x, t) = sum_{i of species a} delta(x - x_i(t)), the rule is

$$\\Delta D_{ab} = \\frac{\\eta}{1 + \\delta_{ab}} \\int dt \\iint dx\\, dy\\;
C_a(x, t)\\, C_b(y, t)\\, K(|x - y|)\\quad(\\text{self-pairs } i = j \\text{ excluded}),$$

the cross-correlation of C_a and C_b smoothed by a kernel K centred at the contact
distance. For trajectories of frames it is a sum over frames and pairs,
Delta D_ab = eta sum_t dt_t sum_{unordered pairs {i, j} of species {a, b}} K(r_ij):
each contact counted once, like `molcomp.particles.contact_matrix` (which it equals
for a box kernel). Distances are periodic (jax-md's `space`). With eta > 0 contacts
deepen wells (depth D_ab >= 0 attracts), the sign of the lattice rule's J -= ...
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax_md import space
from jaxtyping import Array, Float

from molcomp.checks import check_real
from molcomp.particles import ParticleMixture


def contact_kernel(r, contact, width):
    """K(r) = (1 - u^2)^2 for |u| < 1, u = (r - contact) / width, else 0.

    A smooth (C^1) bump: 1 at the contact distance, exactly 0 beyond `width` from it,
    so far-apart pairs contribute nothing at all.
    """
    u = (r - contact) / width
    return jnp.where(jnp.abs(u) < 1.0, (1.0 - u**2) ** 2, 0.0)


def particle_exposure_increment(
    model: ParticleMixture,
    positions: Float[Array, "T n dim"],
    dt,
    eta,
    *,
    contact=None,
    width=None,
) -> Float[Array, "q q"]:
    """Delta D_ab = eta sum_t dt_t sum_{pairs {i, j} of species {a, b}} K(|r_ij(t)|).

    Cost O(T n^2 q) (all pairs per frame, one frame at a time).

    **Arguments:**

    - `model`: the `ParticleMixture` (species labels, periodic box, q).
    - `positions`: (T, n, dim) frames shown (e.g. a trajectory), or one frame (n, dim).
    - `dt`: (T,) or scalar, how long each frame was shown (>= 0).
    - `eta`: learning rate (finite).
    - `contact`: the distance K is centred at (default: the well minimum, `model.sigma`).
    - `width`: half-width of K (default: 2 / `model.alpha`, where the Morse attraction
      has fallen to a quarter).

    **Returns:** the symmetric (q, q) increment of the well depths, to add to
    `model.depth` (e.g. `eqx.tree_at(lambda m: m.depth, model, model.depth + dD)`).
    """
    if not isinstance(model, ParticleMixture):
        raise TypeError(f"model must be a ParticleMixture, got {type(model).__name__}")
    eta = check_real("eta", eta)
    contact = _positive("contact", model.sigma if contact is None else contact)
    width = _positive("width", 2.0 / model.alpha if width is None else width)
    frames, dt = exposure_frames(model, positions, dt, "positions")
    return _increment(model, frames, dt, jnp.float32(eta), jnp.float32(contact), jnp.float32(width))


def exposure_frames(model, configs, dt, name: str):
    """(frames, dt): the frames a mixture was shown, validated by the model as (T, ...)
    (one configuration becomes T = 1), and how long each was shown, a (T,) array of
    finite durations >= 0 (a scalar applies to every frame)."""
    frames = model.check_state(configs, name)
    frames = frames[None] if frames.ndim == 2 else frames
    dt = np.asarray(dt, np.float32)
    if dt.ndim > 1 or (dt.ndim == 1 and dt.shape[0] != frames.shape[0]):
        raise ValueError(f"dt must be a scalar or have shape ({frames.shape[0]},), got {dt.shape}")
    if not np.all(np.isfinite(dt) & (dt >= 0)):
        raise ValueError(f"dt must be finite and >= 0, got {dt}")
    return frames, jnp.broadcast_to(jnp.asarray(dt), frames.shape[:1])


@eqx.filter_jit
def _increment(model, frames, dt, eta, contact, width):
    # compiled once per model structure and frame shape: op by op it costs seconds
    displacement, _ = model.space()
    q, n = model.n_species, model.n_particles
    onehot = jax.nn.one_hot(model.species, q, dtype=jnp.float32)
    others = 1.0 - jnp.eye(n, dtype=jnp.float32)

    def frame(x):
        r = space.distance(space.map_product(displacement)(x, x))
        return onehot.T @ (contact_kernel(r, contact, width) * others) @ onehot

    seen = jnp.tensordot(dt, jax.lax.map(frame, frames), axes=1)
    seen = 0.5 * (seen + seen.T)  # exactly symmetric (float sums differ in order)
    # ordered pairs: a != b seen once in [a, b] and once in [b, a]; a == b twice in [a, a]
    return eta * seen / (1.0 + jnp.eye(q))


def _positive(name, value):
    return check_real(name, value, minimum=0.0, strict=True)
