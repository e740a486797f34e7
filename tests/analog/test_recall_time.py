"""First-passage times of recall (`analog.memory.recall_times`), with the documented
parameters of test_memory.py (open 6 x 6 lattice, N = 36, epsilon = 8 kT, mu = -10,
3 x 3 seeds): seeded runs finish within the budget, a complete structure is retrieved
at the first readout, a dispersing mixture never is; Gillespie on the common clock;
bad input. Every Metropolis batch has RUNS runs and one segment length: one
compilation serves them all."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import learning
import molcomp
from analog import memory as am

L, N, EPS, MU, RUNS, SEG, SEGS = 6, 36, 8.0, -10.0, 4, 40, 10


def _setup(mu=MU, m=1):
    lat = molcomp.lattice.square(L, periodic=False)
    s = molcomp.structures.random(jax.random.key(10 + m), lat, N, m)
    model = molcomp.PottsModel(lat, learning.hebbian.clipped_or(s, EPS), jnp.full(N, mu),
                               empty=True)  # fmt: skip
    return s, model


@pytest.fixture(scope="module")
def metro():
    return molcomp.Metropolis(proposal="neighbour")


def test_seeded_runs_finish_within_the_budget(metro):
    s, model = _setup()
    cues = jnp.stack([am.seed(s, 0, 3)] * RUNS)
    t = am.recall_times(jax.random.key(0), s, model, metro, cues, np.zeros(RUNS, int), SEG,
                        SEGS)  # fmt: skip
    assert np.all(np.isfinite(t)) and np.all(t <= SEG * SEGS), t
    assert np.all(t % SEG == 0) and np.all(t >= SEG)
    again = am.recall_times(jax.random.key(0), s, model, metro, cues, np.zeros(RUNS, int), SEG,
                            SEGS)  # fmt: skip
    np.testing.assert_array_equal(t, again)  # same key, same times


def test_a_complete_structure_is_retrieved_at_once_and_a_dispersion_never(metro):
    """The whole structure as cue: removing a site costs >= 2 * 8 - 10 = 6 kT, so it is
    still there after one segment. At mu = -30 even a complete structure dissolves: a
    perimeter site's two or three bonds (-16 or -24 kT) do not pay for -mu = 30."""
    s, model = _setup()
    full = jnp.stack([s.configuration(0)] * 2 + [am.seed(s, 0, 3)] * 2)
    zeros = np.zeros(RUNS, int)
    t = am.recall_times(jax.random.key(1), s, model, metro, full, zeros, SEG, SEGS)
    assert np.all(t[:2] == SEG), t
    _, cold = _setup(mu=-30.0)
    t = am.recall_times(jax.random.key(2), s, cold, metro, full, zeros, SEG, SEGS)
    assert np.all(np.isinf(t)), t


def test_wrong_structure_does_not_count(metro):
    """m = 2: runs seeded with structure 0 but asked for structure 1 never finish."""
    s, model = _setup(m=2)
    cues = jnp.stack([am.seed(s, 0, 3)] * RUNS)
    alphas = np.arange(RUNS) % 2
    t = am.recall_times(jax.random.key(3), s, model, metro, cues, alphas, SEG, SEGS)
    assert np.all(np.isfinite(t[alphas == 0])) and np.all(np.isinf(t[alphas == 1])), t


def test_gillespie_on_the_common_clock():
    """Same budget as test_memory's Gillespie recall (2000 attempts per site), read in
    10 segments; at rate 2 that is 1000 units of physical time, and the times still
    count attempts per site."""
    s, model = _setup()
    cues = jnp.stack([am.seed(s, 0, 3)] * RUNS)
    g = molcomp.Gillespie(partners=1, rate=2.0)
    t = am.recall_times(jax.random.key(4), s, model, g, cues, np.zeros(RUNS, int), 200.0, 10)
    assert np.all(np.isfinite(t)) and np.all(t % 200 == 0) and t.max() <= 2000, t


def test_bad_input(metro):
    s, model = _setup()
    cues = jnp.stack([am.seed(s, 0, 3)] * 2)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="alphas must have shape"):
        am.recall_times(key, s, model, metro, cues, np.zeros(3, int), SEG, SEGS)
    with pytest.raises(ValueError, match="alphas must lie in"):
        am.recall_times(key, s, model, metro, cues, np.array([0, 1]), SEG, SEGS)
    with pytest.raises(ValueError, match="segments must be"):
        am.recall_times(key, s, model, metro, cues, np.zeros(2, int), SEG, 0)
    with pytest.raises(ValueError, match="segment must be an integer >= 1"):
        am.recall_times(key, s, model, metro, cues, np.zeros(2, int), 2.5, SEGS)
    with pytest.raises(ValueError, match="segment must be finite"):
        am.recall_times(key, s, model, molcomp.Gillespie(partners=1), cues, np.zeros(2, int),
                        float("nan"), SEGS)  # fmt: skip
