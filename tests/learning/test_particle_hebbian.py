"""Hebbian exposure in continuous space: exact kernel values on a hand-built frame,
symmetry, a brute-force loop, and recovery of a shown structure's contacts."""

import itertools

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

from learning.hebbian import contact_kernel, particle_exposure_increment
from molcomp.particles import ParticleMixture

BOX = 10.0


def _model(species, depth=None):
    q = int(np.max(species)) + 1
    depth = np.zeros((q, q)) if depth is None else depth
    return ParticleMixture(depth, np.asarray(species), (BOX, BOX))


def test_only_the_touching_pair_grows():
    # Species 0 and 1 touch across the periodic boundary (x = 0.4 and 9.5: r = 0.9,
    # then r = 1.2 in a second frame); species 2, 2 and 3 are far from everything.
    # Kernel: contact 1, width 0.3: K(0.9) = (1 - 1/9)^2, K(1.2) = (1 - 4/9)^2.
    m = _model([0, 1, 2, 2, 3])
    far = [[5.0, 5.0], [5.0, 8.0], [2.0, 2.0]]
    frames = jnp.array(
        [[[0.4, 3.0], [9.5, 3.0], *far], [[0.4, 3.0], [9.2, 3.0], *far]], jnp.float32
    )
    dt, eta = jnp.array([0.5, 2.0]), 0.1
    dD = particle_exposure_increment(m, frames, dt, eta, contact=1.0, width=0.3)
    expected = eta * (0.5 * (8 / 9) ** 2 + 2.0 * (5 / 9) ** 2)
    want = np.zeros((4, 4))
    want[0, 1] = want[1, 0] = expected
    np.testing.assert_allclose(dD, want, rtol=1e-5, atol=0)  # zeros exactly zero
    # a same-species contact counts once, in the diagonal
    same = frames.at[:, 3].set(frames[:, 2] + jnp.array([1.0, 0.0]))
    dD = particle_exposure_increment(m, same, dt, eta, contact=1.0, width=0.3)
    assert float(dD[2, 2]) == pytest.approx(eta * 2.5, rel=1e-5)


def _brute_force(species, frames, dt, eta, contact, width):
    q = max(species) + 1
    out = np.zeros((q, q))
    for x, t in zip(np.asarray(frames, np.float64), dt):
        for i, j in itertools.combinations(range(len(species)), 2):
            d = x[i] - x[j]
            d -= BOX * np.round(d / BOX)
            u = (np.linalg.norm(d) - contact) / width
            k = (1 - u * u) ** 2 if abs(u) < 1 else 0.0
            a, b = species[i], species[j]
            out[a, b] += eta * t * k
            if a != b:
                out[b, a] += eta * t * k
    return out


def test_symmetric_and_equal_to_brute_force(getkey):
    # 30 particles of 3 species, 4 random frames: dense enough for many contacts.
    species = [i % 3 for i in range(30)]
    m = _model(species)
    frames = jax.random.uniform(getkey(), (4, 30, 2)) * BOX
    dt = np.array([0.1, 0.2, 0.3, 0.4])
    dD = particle_exposure_increment(m, frames, dt, 0.7, contact=1.0, width=0.5)
    np.testing.assert_array_equal(dD, dD.T)
    ref = _brute_force(species, frames, dt, 0.7, 1.0, 0.5)
    assert ref.min() > 0  # every species pair met
    np.testing.assert_allclose(dD, ref, rtol=1e-5)
    # default contact and width: the model's sigma and 2 / alpha
    np.testing.assert_allclose(particle_exposure_increment(m, frames, dt, 0.7), ref, rtol=1e-5)


def test_shown_structure_is_learned(getkey):
    # A 7-species hexagonal patch (centre + ring, spacing 1: 12 contacts among 21
    # species pairs, non-contacts at >= sqrt(3)), shown for 20 frames at random places,
    # jittered by 0.05, among a gas of 14 random particles (2 per species). The gas
    # gives chance contacts to every pair (~0.1 per frame in expectation); the patch
    # gives its 12 pairs ~1 per frame. The top 12 pairs must be the patch's contacts.
    angles = np.arange(6) * np.pi / 3
    patch = np.vstack([[0.0, 0.0], np.stack([np.cos(angles), np.sin(angles)], 1)])
    target = nx.Graph()
    for i, j in itertools.combinations(range(7), 2):
        if abs(np.linalg.norm(patch[i] - patch[j]) - 1) < 1e-6:
            target.add_edge(i, j)
    assert target.number_of_edges() == 12
    species = list(range(7)) + [i % 7 for i in range(14)]
    m = _model(species)
    T = 20
    centres = jax.random.uniform(getkey(), (T, 1, 2), minval=2.0, maxval=8.0)
    shown = centres + patch + 0.05 * jax.random.normal(getkey(), (T, 7, 2))
    gas = jax.random.uniform(getkey(), (T, 14, 2)) * BOX
    frames = jnp.mod(jnp.concatenate([shown, gas], 1), BOX)
    dD = np.asarray(particle_exposure_increment(m, frames, 0.5, 1.0))
    iu, ju = np.triu_indices(7, k=1)
    top = np.argsort(-dD[iu, ju])[:12]
    learned = {tuple(sorted((int(iu[t]), int(ju[t])))) for t in top}
    assert learned == {tuple(sorted(e)) for e in target.edges}
    assert dD[iu, ju][top].min() > 2 * np.sort(dD[iu, ju])[-13]  # a clear margin


def test_kernel_shape():
    r = jnp.array([0.5, 0.7, 1.0, 1.15, 1.3, 2.0])
    np.testing.assert_allclose(contact_kernel(r, 1.0, 0.3), [0, 0, 1, 0.5625, 0, 0], atol=1e-6)


def test_bad_input():
    m = _model([0, 1])
    x = jnp.array([[1.0, 1.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="inside the box"):
        particle_exposure_increment(m, x - 1.5, 1.0, 0.1)
    with pytest.raises(ValueError, match="positions must have shape"):
        particle_exposure_increment(m, jnp.zeros((3, 2)), 1.0, 0.1)
    with pytest.raises(ValueError, match="dt must be"):
        particle_exposure_increment(m, x, -1.0, 0.1)
    with pytest.raises(ValueError, match="dt must be a scalar or have shape"):
        particle_exposure_increment(m, x[None], jnp.ones(3), 0.1)
    with pytest.raises(ValueError, match="width must be > 0"):
        particle_exposure_increment(m, x, 1.0, 0.1, width=0.0)
    with pytest.raises(TypeError, match="ParticleMixture"):
        particle_exposure_increment(object(), x, 1.0, 0.1)
