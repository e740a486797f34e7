"""Seeded recall, sleep-wake training and trajectory gradients of patchy-particle
mixtures, at sizes where the answer is known: seeds hold what they should, a fully
seeded structure under strong couplings stays (success 1) and falls apart without them
(success 0), the lattice reads by the same criterion, the sleep-wake step moves the
couplings the way the contact statistics say, and the gradient through a checkpointed
trajectory equals finite differences."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import analog
import learning
import molcomp
from molcomp import particles

BOX = (6.0, 6.0)
KW = dict(scale=10.0, patch_width=0.785, alpha=3.0)


@pytest.fixture(scope="module")
def structs():
    lat = molcomp.lattice.square(2, periodic=False)
    return molcomp.structures.from_arrays(lat, np.array([[0, 1, 2, 3], [3, 2, 1, 0]]))


@pytest.fixture(scope="module")
def sampler():
    return particles.Brownian(dt=2e-3, dr_threshold=1.0)


def test_particle_seed(structs, getkey):
    species, configs = analog.memory.particle_seed(getkey(), structs, 1, 2, 2, BOX, chains=3)
    np.testing.assert_array_equal(species, np.repeat(np.arange(4), 2))
    assert configs.shape == (3, 8, 3)
    # the first copy of each species sits where structure 1 puts it, all chains alike
    J = learning.hebbian.clipped_or(structs, 1.0)
    model = particles.PatchyMixture(J, jnp.asarray(species), BOX, **KW)
    seed = configs[:, ::2]
    np.testing.assert_array_equal(seed[0], seed[2])
    partners = np.asarray(model.patch_bonds(jnp.asarray(configs[0])))
    out = particles.patch_readout(structs, species, partners)
    assert out.coverage[1] == 1.0  # 4 particles, 4 bonds of structure 1
    # the free copies are inside the box, >= 1.5 sigma from every seed particle
    free = configs[:, 1::2, :2]
    assert np.all((free >= 0) & (free < 6.0))
    d = np.linalg.norm(free[:, :, None] - seed[:, None, :, :2], axis=-1)
    assert d.min() >= 1.5 - 1e-5
    with pytest.raises(ValueError, match="room"):
        analog.memory.particle_seed(getkey(), structs, 0, 2, 40, BOX)


def test_full_seed_is_kept_with_bonds_and_lost_without(structs, sampler):
    # k = 2 seeds the whole 2 x 2 structure. At 10 kT per bond (each particle holds two)
    # 400 steps (0.8 time units) keep every run assembled; with J = 0 the same runs
    # diffuse apart (rms displacement 2.5 sigma, D = 1) and none keeps 90 % of it.
    J = learning.hebbian.clipped_or(structs, 1.0)
    common = dict(runs=2, steps=400, k=2, copies=1, box=BOX, chunk=200, **KW)
    held = analog.memory.seeded_particle_recalls(jax.random.key(0), structs, J, sampler, **common)
    assert held.fraction == 1.0 and held.success.shape == (4,)
    np.testing.assert_array_equal(held.crosstalk, 0)  # each holds only its own bonds
    np.testing.assert_array_equal(held.alphas, [0, 0, 1, 1])
    zero = molcomp.Couplings.oriented(jnp.zeros_like(J.params))
    lost = analog.memory.seeded_particle_recalls(jax.random.key(0), structs, zero, sampler,
                                                 **common)  # fmt: skip
    assert lost.fraction == 0.0 and lost.coverage.max() < 0.9


def test_crosstalk_bonds_of_a_placed_structure(structs):
    # structure 1 is structure 0 turned by 180 degrees: none of its 4 oriented bonds is
    # one of structure 0's, so all 4 are crosstalk when structure 0 is sought, none
    # when structure 1 is
    J = learning.hebbian.clipped_or(structs, 1.0)
    species, config = particles.structure_configuration(structs, 1, BOX)
    model = particles.PatchyMixture(J, jnp.asarray(species), BOX, **KW)
    partners = np.asarray(model.patch_bonds(jnp.asarray(config)))
    assert analog.memory.crosstalk_bonds(structs, species, partners, 0) == 4
    assert analog.memory.crosstalk_bonds(structs, species, partners, 1) == 0
    with pytest.raises(ValueError, match="alpha"):
        analog.memory.crosstalk_bonds(structs, species, partners, 2)


def test_lattice_coverage(structs):
    lat = molcomp.lattice.square(4, periodic=False)
    big = molcomp.structures.from_arrays(lat, structs.arrangements, patch=(2, 2))
    configs = np.stack([big.configuration(0), big.configuration(1), analog.memory.seed(big, 0, 1)])
    cover = analog.memory.lattice_coverage(big, configs, [0, 0, 0])
    np.testing.assert_allclose(cover, [1.0, 0.25, 0.25])  # structure 1 shares no bond of 0


@pytest.mark.slow  # PCD chains through molcomp.sample: 7-130 s on 2 busy cores
def test_sleep_wake_step_follows_the_contact_statistics(structs, sampler):
    # From J = 0 the model's chains (started at the placed structures) drift apart, so
    # <W>_model < <W>_data = 1 on every designed bond: one SGD step of the sleep-wake
    # gradient scale (<W>_data - <W>_model) makes every designed coupling attractive.
    # Placed structures have no undesigned contacts (W = 0), so no undesigned coupling
    # can become attractive.
    J = learning.hebbian.clipped_or(structs, 1.0)
    zero = molcomp.Couplings.oriented(jnp.zeros_like(J.params))
    model = particles.PatchyMixture(zero, jnp.arange(4), BOX, **KW)  # particle i: species i
    placed = [particles.structure_configuration(structs, a, BOX) for a in range(2)]
    data = np.stack([config[np.argsort(species)] for species, config in placed])
    phase = learning.Observed(data)
    np.testing.assert_allclose(phase.init(None, model), jax.vmap(model.statistics)(data).mean(0))
    pcd = learning.PCD(sampler, chains=4, sweeps=150, start="rows")
    trained, hist = analog.memory.train_patch_couplings(
        jax.random.key(2), model, data, pcd, optax.sgd(0.01), 1
    )
    P = np.asarray(trained.couplings.params)
    designed = np.asarray(J.params) < 0
    assert np.all(P[designed] < 0) and np.all(P[~designed] >= -1e-6)  # float rounding
    assert len(hist.grad_norm) == 1 and hist.grad_norm[0] > 0
    # With start="rows" the persistent chains start at the data rows in turn (one per
    # structure here), so the model phase holds each structure as often as the data:
    # after one Brownian step (rms displacement 0.06 sigma) the contacts barely change
    # and the gradient is small (norm 1.6-3.3 measured over 6 keys). Rows drawn with
    # replacement start both chains in one structure half the time: then the other
    # structure's 4 bonds see scale * (1/2 - 0) = 5 and the norm is about 12 (11.9-13.0
    # measured); 6 splits them.
    hebb = particles.PatchyMixture(J, jnp.arange(4), BOX, **KW)
    one = learning.PCD(sampler, chains=2, sweeps=1, start="rows")
    for seed in range(3):
        bounded, hist = analog.memory.train_patch_couplings(
            jax.random.key(seed), hebb, data, one, optax.sgd(0.01), 1, bound=0.9
        )
        assert hist.grad_norm[0] < 6.0, hist.grad_norm
        # the box |J| <= 0.9 holds (up to one float rounding): the Hebbian -1 is clipped
        P = np.asarray(bounded.couplings.params)
        assert np.abs(P).max() <= 0.9 + 1e-6 and P.min() < -0.9 + 1e-6


@pytest.mark.slow  # two reverse-mode compiles: 16-170 s on 2 busy cores
def test_gradient_through_a_checkpointed_trajectory(structs, sampler):
    # d(final energy)/dJ through 20 Brownian steps with fixed noise, in checkpointed
    # blocks of 5 steps, equals plain reverse mode (to float32 rounding) and a central
    # finite difference along a random direction (h = 1e-3 in float32: agreement to
    # 2 %, the trajectory is smooth in J over this range).
    J = learning.hebbian.clipped_or(structs, 1.0)
    species, config = particles.structure_configuration(structs, 0, BOX)
    model = particles.PatchyMixture(J, jnp.asarray(species), BOX, **KW)
    state = sampler.init(model, config, extra_capacity=8)
    key = jax.random.key(3)

    def loss(m, start, final):
        return m.energy(final.position)

    @eqx.filter_jit
    def run(p, every):
        m = eqx.tree_at(lambda m: m.couplings.params, model, p)
        value, grads = learning.response.trajectory_grad(
            key, m, sampler, state, 20, loss, checkpoint_every=every
        )
        return value, grads.couplings.params

    _, grad = run(J.params, 5)
    _, plain = run(J.params, None)
    np.testing.assert_allclose(grad, plain, rtol=1e-4, atol=1e-4)
    v = jax.random.normal(jax.random.key(4), J.params.shape)
    h = 1e-3
    fd = (run(J.params + h * v, 5)[0] - run(J.params - h * v, 5)[0]) / (2 * h)
    assert float(jnp.sum(grad * v)) == pytest.approx(float(fd), rel=0.02)
    assert abs(float(fd)) > 1.0  # a non-trivial derivative
