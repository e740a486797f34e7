"""Input maps of a phase-boundary classifier: features x -> chemical potentials mu.

Two maps, both Modules with `__call__(x) -> mu` on one image (vmap for a batch):

- `AssignmentMap`: each feature f drives the concentration of one species s(f),
  c_s(f) = c_base (1 + a x_f), the others stay at c_base; so
  mu_s = mu_base + ln(1 + a x_f) with mu = ln(c / c0). The assignment is injective
  (one feature per species), as when pixel intensities set the dosing of tiles.
- `LinearMap`: mu = W x + b, any linear dosing of the N species by the F features.

Features are intensities in [0, 1] (pixels); an image of shape (h, w) is flattened.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from molcomp.checks import as_finite_float, check_positive_int, check_real, is_concrete


def check_features(x, n_features: int, name: str = "x") -> Float[Array, "... F"]:
    """`x` as float32 (..., F): images (..., h, w) with h w = F are flattened.

    Raises `ValueError` naming `name` when the size is wrong or (for concrete values)
    an intensity lies outside [0, 1].
    """
    x = jnp.asarray(x, jnp.float32)
    if x.ndim >= 1 and x.shape[-1] == n_features:
        pass
    elif x.ndim >= 2 and x.shape[-1] * x.shape[-2] == n_features:
        x = x.reshape(x.shape[:-2] + (n_features,))
    else:
        raise ValueError(
            f"{name} must have {n_features} features per image (shape (..., {n_features}) "
            f"or (..., h, w) with h * w = {n_features}), got shape {x.shape}"
        )
    if is_concrete(x):
        arr = np.asarray(x)
        if not np.all(np.isfinite(arr)) or arr.min(initial=0.0) < 0 or arr.max(initial=0.0) > 1:
            raise ValueError(
                f"{name} must hold intensities in [0, 1], got values in "
                f"[{np.nanmin(arr):.3g}, {np.nanmax(arr):.3g}]"
            )
    return x


def check_assignment(species, n_species: int, name: str = "species") -> np.ndarray:
    """An injective feature -> species assignment as an int32 numpy array (F,)."""
    arr = np.asarray(species)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be a non-empty 1-D integer array, got {arr!r}")
    if arr.size > n_species:
        raise ValueError(
            f"{name} assigns {arr.size} features but there are only {n_species} species "
            f"(more features than species)"
        )
    if arr.min() < 0 or arr.max() >= n_species:
        raise ValueError(
            f"{name} must hold species in [0, {n_species}), got {arr.min()}..{arr.max()}"
        )
    values, counts = np.unique(arr, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(
            f"{name} is not injective: species {values[counts > 1][:5].tolist()} receive "
            f"more than one feature"
        )
    return arr.astype(np.int32)


class AssignmentMap(eqx.Module):
    """Feature f sets the concentration of species `species[f]`.

    $$c_{s(f)} = c_\\mathrm{base}(1 + a x_f), \\qquad
      \\mu_s = \\mu_\\mathrm{base} + \\ln(1 + a x_{s^{-1}(s)})$$

    (species without a feature keep mu_base).

    **Arguments:**

    - `species`: (F,) distinct species, one per feature (F <= N).
    - `n_species`: N.
    - `amplitude`: a > 0; x = 1 raises mu by ln(1 + a).
    - `mu_base`: ln(c_base / c0) of every species at x = 0.

    **Example:**

    ```python
    imap = AssignmentMap(jnp.arange(36), 36, amplitude=20.0, mu_base=-10.0)
    mu = imap(image)  # (36,)
    ```
    """

    species: Int[Array, " F"]
    amplitude: Float[Array, ""]
    mu_base: Float[Array, ""]
    n_species: int = eqx.field(static=True)

    def __init__(self, species, n_species: int, *, amplitude=20.0, mu_base=-10.0):
        self.n_species = check_positive_int("n_species", n_species)
        self.species = jnp.asarray(check_assignment(species, self.n_species))
        amplitude = check_real("amplitude", amplitude, minimum=0, strict=True)
        self.amplitude = jnp.asarray(amplitude, jnp.float32)
        self.mu_base = jnp.asarray(as_finite_float("mu_base", mu_base, ()), jnp.float32)

    @property
    def n_features(self) -> int:
        """F, the number of features."""
        return int(self.species.shape[0])

    def concentrations(self, x: Float[Array, " F"]) -> Float[Array, " N"]:
        """c / c_base per species: 1 + a x_f at assigned species, 1 elsewhere."""
        x = check_features(x, self.n_features)
        return jnp.ones(self.n_species).at[self.species].set(1.0 + self.amplitude * x)

    def __call__(self, x: Float[Array, " F"]) -> Float[Array, " N"]:
        """mu of the N species for one image (F,) or (h, w)."""
        return self.mu_base + jnp.log(self.concentrations(x))


class LinearMap(eqx.Module):
    """mu = W x + b: a linear dosing of the N species by the F features.

    **Arguments:**

    - `weights`: (N, F) W.
    - `bias`: (N,) b (the mu of every species at x = 0).
    """

    weights: Float[Array, "N F"]
    bias: Float[Array, " N"]

    def __init__(self, weights, bias):
        w = as_finite_float("weights", weights)
        if w.ndim != 2:
            raise ValueError(f"weights must have shape (N, F), got {w.shape}")
        self.weights = jnp.asarray(w, jnp.float32)
        self.bias = jnp.asarray(as_finite_float("bias", bias, (w.shape[0],)), jnp.float32)

    @property
    def n_species(self) -> int:
        """N, the number of species."""
        return int(self.weights.shape[0])

    @property
    def n_features(self) -> int:
        """F, the number of features."""
        return int(self.weights.shape[1])

    @classmethod
    def from_assignment(cls, imap: AssignmentMap, slope: float | None = None) -> LinearMap:
        """The linearisation ln(1 + a x) ~ slope x of an assignment (slope defaults to
        ln(1 + a), exact at x = 0 and x = 1)."""
        if not isinstance(imap, AssignmentMap):
            raise TypeError(f"imap must be an AssignmentMap, got {type(imap).__name__}")
        a = float(imap.amplitude)
        s = np.log1p(a) if slope is None else check_real("slope", slope)
        w = np.zeros((imap.n_species, imap.n_features), np.float32)
        w[np.asarray(imap.species), np.arange(imap.n_features)] = s
        return cls(w, np.full(imap.n_species, float(imap.mu_base), np.float32))

    def __call__(self, x: Float[Array, " F"]) -> Float[Array, " N"]:
        """mu = W x + b for one image (F,) or (h, w)."""
        return self.weights @ check_features(x, self.n_features) + self.bias
