"""The phase-boundary classifier: a mixture storing m structures classifies an input by
which structure nucleates first; the input sets the species' concentrations.

`NucleationClassifier` = structures + an input map (`AssignmentMap` or `LinearMap`);
its class scores are the window nucleation surrogate (`window_scores`). `predict`
classifies with the surrogate, `analog.classifier.simulate` by running the mixture.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from molcomp.structures import Structures

from ._maps import AssignmentMap, LinearMap, check_features
from ._surrogate import WINDOW, _scores, check_window


class NucleationClassifier(eqx.Module):
    """Structures whose nucleation race classifies the input: class alpha = structure
    alpha.

    **Arguments:**

    - `structures`: `molcomp.structures.Structures` on a rectangular patch.
    - `input_map`: `AssignmentMap` or `LinearMap` (features -> mu of the N species).
    - `k`: nucleation window side of the surrogate (default 5).

    `classifier.scores(x)` gives the surrogate class scores of one image, (m,).
    """

    structures: Structures
    input_map: AssignmentMap | LinearMap
    k: int = eqx.field(static=True, default=WINDOW)

    def __check_init__(self):
        check_window(self.structures, self.k)
        if not isinstance(self.input_map, AssignmentMap | LinearMap):
            raise TypeError(
                f"input_map must be an AssignmentMap or LinearMap, got "
                f"{type(self.input_map).__name__}"
            )
        if self.input_map.n_species != self.structures.n_species:
            raise ValueError(
                f"input_map drives {self.input_map.n_species} species but the structures "
                f"have {self.structures.n_species}"
            )

    @property
    def n_features(self) -> int:
        """F, the features of one image."""
        return self.input_map.n_features

    def mu(self, x: Float[Array, " F"]) -> Float[Array, " N"]:
        """Chemical potentials of the species for one image."""
        return self.input_map(x)

    def scores(self, x: Float[Array, " F"]) -> Float[Array, " m"]:
        """Surrogate class scores (log nucleation rates, up to a constant) of one image."""
        s = self.structures
        return _scores(s.arrangements, s.patch_shape, self.mu(x), self.k)


def check_classifier(classifier, name: str = "classifier") -> NucleationClassifier:
    """`classifier` if it is a `NucleationClassifier`, else a TypeError."""
    if not isinstance(classifier, NucleationClassifier):
        raise TypeError(f"{name} must be a NucleationClassifier, got {type(classifier).__name__}")
    return classifier


def batch_scores(classifier: NucleationClassifier, x) -> Float[Array, "b m"]:
    """Surrogate scores of a batch of images (b, F) or (b, h, w).

    **Returns:** (b, m) class scores.
    """
    check_classifier(classifier)
    x = check_features(x, classifier.n_features)
    return jax.vmap(classifier.scores)(jnp.atleast_2d(x))


def predict(classifier: NucleationClassifier, x) -> Int[Array, " b"]:
    """Surrogate class (argmax of the nucleation scores) of each image of a batch.

    **Returns:** (b,) classes in [0, m).
    """
    return jnp.argmax(batch_scores(classifier, x), axis=-1)
