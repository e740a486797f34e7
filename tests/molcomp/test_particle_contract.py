"""The sampler contract for the particle samplers (`Brownian`, `Langevin`) through
`molcomp.sample`, on a small 2D mixture: the same key gives the same result, jit equals
eager for `step`, chains batched in one state equal single-chain runs, a new well depth
does not recompile, a neighbour-list overflow is recovered, and non-finite positions
stop the run at the step they appear."""

import dataclasses
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp
from molcomp import particles

DEPTH = np.array([[3.0, 1.0], [1.0, 0.5]])
N, SIDE = 16, 6.0  # a 4 x 4 grid of spacing 1.5: 8 neighbours within cutoff + skin each
STEPS, CHUNK = 60, 30
AMPLE = N - 1  # extra_capacity giving a list of width n - 1: every pair fits, never overflows

# capacity_multiplier=1.0: a fresh list has no headroom, so `tight` lists overflow soon.
SAMPLERS = {
    "brownian": particles.Brownian(dt=1e-3, dr_threshold=0.3, capacity_multiplier=1.0),
    "langevin": particles.Langevin(dt=0.01, dr_threshold=0.3, capacity_multiplier=1.0),
}


class CountingPositions:
    """A trace_fn that counts its calls; it only runs while `sample` is being traced."""

    def __init__(self):
        self.calls = 0

    def __call__(self, model, positions):
        self.calls += 1
        return positions


positions_trace = CountingPositions()  # one object, so compilations are shared


@pytest.fixture(scope="module")
def mixture():
    """The model and two chains' starting positions (a grid, and the grid shifted)."""
    m = particles.ParticleMixture(DEPTH, np.arange(N) % 2, (SIDE, SIDE))
    x = particles.lattice_positions(m)
    return m, jnp.stack([x, jnp.mod(x + 0.4, SIDE)])


def _init(name, m, xs, extra_capacity=AMPLE, momenta=None):
    sampler = SAMPLERS[name]
    kw = {"extra_capacity": extra_capacity}
    if name == "langevin":
        kw |= {"key": jax.random.key(1)} if momenta is None else {"momenta": momenta}
    return sampler, sampler.init(m, xs, **kw)


def _sample(key, m, sampler, state):
    return molcomp.sample(key, m, sampler, state, STEPS, chunk=CHUNK, trace_fn=positions_trace)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_same_key_same_result(mixture, name):
    m, xs = mixture
    sampler, state = _init(name, m, xs)
    a = _sample(jax.random.key(0), m, sampler, state)
    b = _sample(jax.random.key(0), m, sampler, state)
    c = _sample(jax.random.key(1), m, sampler, state)
    assert a.trace.shape == (STEPS, 2, N, 2)
    assert isinstance(a.info, particles.ParticleInfo) and a.info.rebuilt.shape == (2,)
    np.testing.assert_array_equal(a.trace, b.trace)
    np.testing.assert_array_equal(a.state.position, b.state.position)
    assert not np.array_equal(a.state.position, c.state.position)
    assert not np.array_equal(a.trace[:, 0], a.trace[:, 1])  # the chains differ
    assert a.recoveries == 0 and float(a.info.overflow[0]) == 0.0
    assert int(a.state.steps) == STEPS  # the clock: steps since init


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_jit_equals_eager_step(mixture, name):
    # The same operations, fused or op by op: float32 rounding only (1e-5 on
    # coordinates of order 1); the rebuild decision and overflow flag agree exactly.
    m, xs = mixture
    sampler, state = _init(name, m, xs)
    key = jax.random.key(2)
    eager, info = sampler.step(key, m, state)
    jitted, jinfo = eqx.filter_jit(sampler.step)(key, m, state)
    np.testing.assert_allclose(eager.position, jitted.position, atol=1e-5)
    np.testing.assert_array_equal(info.rebuilt, jinfo.rebuilt)
    np.testing.assert_array_equal(info.overflow, jinfo.overflow)
    assert not np.array_equal(jitted.position, state.position)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_batched_chains_equal_single_chain_runs(mixture, name):
    # A batched state moves every chain in one step with one rebuild decision (any
    # chain's particle moved more than skin / 2): a chain may be rebuilt when it alone
    # would not be. The docs guarantee only that every list holds all pairs within the
    # cutoff, so forces, and positions, agree up to float32 summation order (the lists
    # differ in order and padding): 20 steps, 1e-5 on coordinates of order 1.
    m, xs = mixture
    sampler, batched = _init(name, m, xs)
    momenta = batched.momentum if name == "langevin" else [None, None]
    singles = [_init(name, m, xs[c], momenta=momenta[c])[1] for c in range(2)]
    step = eqx.filter_jit(sampler.step)
    shared_differs = False
    for k in jax.random.split(jax.random.key(3), 20):
        batched, info = step(k, m, batched)
        for c, kc in enumerate(jax.random.split(k, 2)):  # how a step splits its key
            singles[c], one = step(kc, m, singles[c])
            shared_differs |= bool(one.rebuilt) != bool(info.rebuilt[c])
    for c in range(2):
        np.testing.assert_allclose(batched.position[c], singles[c].position, atol=1e-5)
    assert shared_differs  # the shared rebuild decision was exercised


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_new_depth_does_not_recompile(mixture, name):
    m, xs = mixture
    sampler, state = _init(name, m, xs)
    a = _sample(jax.random.key(4), m, sampler, state)
    calls = positions_trace.calls
    assert calls > 0
    deeper = particles.ParticleMixture(2 * DEPTH, m.species, m.box)
    b = _sample(jax.random.key(4), deeper, sampler, state)
    assert positions_trace.calls == calls  # no new trace, so no recompilation
    assert not np.allclose(a.state.position, b.state.position)  # the depth was used


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_overflow_is_recovered(mixture, name):
    # A list sized exactly for the grid overflows once some particle gains a neighbour;
    # `sample` reallocates at the chunk's start and redoes it with the same keys. The
    # reference list holds every pair (width n - 1) and never overflows. Same keys, the
    # same pairs within the cutoff: positions agree up to float32 summation order
    # (60 steps, 1e-4, far below the noise per step, sqrt(2 dt) >= 0.045).
    m, xs = mixture
    sampler, tight = _init(name, m, xs, extra_capacity=0)
    assert tight.neighbors.max_occupancy < AMPLE
    out = _sample(jax.random.key(5), m, sampler, tight)
    assert out.recoveries > 0
    assert out.state.neighbors.max_occupancy > tight.neighbors.max_occupancy
    ref = _sample(jax.random.key(5), m, sampler, _init(name, m, xs)[1])
    assert ref.recoveries == 0
    np.testing.assert_allclose(out.trace, ref.trace, atol=1e-4)


class Pushed(particles.ParticleMixture):
    """The mixture plus a constant force -20 along x on particle 3 and a term whose
    force is NaN once that particle passes x = 0.45 (it starts at 0.75): its position
    becomes non-finite some steps into the run."""

    def energy(self, positions, neighbors=None):
        x3 = positions[3, 0]
        return super().energy(positions, neighbors) + 20.0 * x3 + jnp.sqrt(x3 - 0.45)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_non_finite_positions_stop_the_run_at_their_step(mixture, name):
    # `sample` checks once per chunk, yet names the exact step: a step from a
    # non-finite state leaves it (and the clock) as they are, so the chunk ends on the
    # first non-finite configuration, where only the particle that broke is NaN.
    # Stepping by hand with the keys `sample` uses finds the same step.
    m, xs = mixture
    pushed = Pushed(m.depth, m.species, m.box)
    sampler, state = _init(name, pushed, xs)
    key = jax.random.key(6)
    with pytest.raises(FloatingPointError, match="particle 3 \\(species 1\\) of chain") as e:
        molcomp.sample(key, pushed, sampler, state, STEPS, chunk=CHUNK)
    assert "more" not in str(e.value) and "check_finite=False" in str(e.value)
    reported = int(re.search(r"non-finite at step (\d+)", str(e.value)).group(1))

    def broken(st):  # per particle: a non-finite coordinate (or momentum: Langevin)
        values = [st.position] + ([st.momentum] if name == "langevin" else [])
        return np.any([~np.isfinite(np.asarray(v)).all(-1) for v in values], axis=0)

    step, by_hand, first = eqx.filter_jit(sampler.step), state, None
    for t, k in enumerate(jax.random.split(key, STEPS), start=1):
        by_hand, _ = step(k, pushed, by_hand)
        if first is None and broken(by_hand).any():
            first = t
    assert first is not None and 1 < first < STEPS
    assert reported == first and int(by_hand.steps) == first  # frozen since
    assert broken(by_hand).sum() == 1  # one particle of one chain

    # switched off, the run goes on (and NaN spreads through the forces)
    off = dataclasses.replace(sampler, check_finite=False)
    out = molcomp.sample(key, pushed, off, state, STEPS, chunk=CHUNK)
    assert broken(out.state).sum() > 1 and int(out.state.steps) == STEPS
