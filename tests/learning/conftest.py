"""Fixtures of the learning tests: small models shared across a session (same static
shapes, so jitted functions compile once)."""

import jax
import pytest
from learning_helpers import exact_samples, random_ising


@pytest.fixture(scope="session")
def ising16():
    """(target, data): the 16-spin random Ising target and 20000 exact samples of it."""
    target = random_ising(jax.random.key(16), 16)
    return target, exact_samples(jax.random.key(17), target, 20000)
