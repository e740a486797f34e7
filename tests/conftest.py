"""Shared fixtures: fixed-seed keys and small models reused across test modules.

Models are session-scoped so that jitted samplers compiled for one test are reused by
the next (equinox caches on the model's structure, not on its values).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import lattice

SEED = 0


class _GetKey:
    """Each call returns a fresh key, all derived from one fixed seed."""

    def __init__(self, seed: int):
        self.key = jax.random.key(seed)

    def __call__(self):
        self.key, sub = jax.random.split(self.key)
        return sub


@pytest.fixture
def getkey():
    return _GetKey(SEED)


def random_couplings(rng, q: int, n_directions: int | None, scale: float = 1.0):
    """Gaussian couplings: symmetric when `n_directions` is None, else oriented."""
    if n_directions is None:
        J = rng.normal(scale=scale, size=(q, q))
        return molcomp.Couplings.symmetric((J + J.T) / 2)
    return molcomp.Couplings.oriented(rng.normal(scale=scale, size=(n_directions // 2, q, q)))


@pytest.fixture(scope="session")
def make_couplings():
    return random_couplings


@pytest.fixture(scope="session")
def potts3x3():
    """q = 3 on a periodic 3x3 square lattice: {(oriented, empty): PottsModel}, mu = 0.

    Moderate random couplings (|J| ~ 1 kT): far from uniform, yet chains mix in tens of
    sweeps. Use `with_mu` for the variants with chemical potentials.
    """
    rng = np.random.default_rng(1)
    lat = lattice.square(3)
    models = {}
    for oriented in (False, True):
        for empty in (False, True):
            c = random_couplings(rng, 3, 4 if oriented else None)
            models[oriented, empty] = molcomp.PottsModel(lat, c, empty=empty)
    return models


MU3 = jnp.array([0.6, -0.4, 0.9])


@pytest.fixture(scope="session")
def with_mu():
    """Same model, chemical potentials replaced (same structure: no recompilation)."""

    def replace(model, mu=MU3):
        return molcomp.PottsModel(
            model.lattice, model.couplings, mu=mu, beta=model.beta, empty=model.empty
        )

    return replace


@pytest.fixture(scope="session")
def place3x3():
    """The place model: 9 species, each once, on an OPEN 3x3 lattice (sites are not
    equivalent by symmetry), with oriented random couplings."""
    rng = np.random.default_rng(2)
    lat = lattice.square(3, periodic=False)
    return molcomp.PlaceModel(lat, random_couplings(rng, 9, 4))
