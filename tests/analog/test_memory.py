"""Recall in a multifarious mixture: seeded retrieval at m = 1 and m = 2, dispersion far
below the binding scale, Gillespie recall, capacity interpolation, the phase of
hand-built configurations, bad input.

Documented parameters: an open 6 x 6 lattice, N = 36 species (each structure a random
permutation filling the lattice), clipped-OR couplings epsilon = 8 kT, mu = -10 for
every species, a centred 3 x 3 seed, 400 Metropolis sweeps with neighbour proposals.
There a species joining with one designed bond costs 8 - 10 = +2 kT and with two gains
6 kT, while removing an edge site of the structure costs >= 6 kT: seeds grow, wrong
species do not stick. All runs share one compiled recall (same shapes)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import analog
import learning
import molcomp
from analog import memory as am

L, N, EPS, MU, K, SWEEPS, RUNS = 6, 36, 8.0, -10.0, 3, 400, 8


def _memory(m, mu=MU, sampler=None):
    lat = molcomp.lattice.square(L, periodic=False)
    s = molcomp.structures.random(jax.random.key(10 + m), lat, N, m)
    model = molcomp.PottsModel(
        lat, learning.hebbian.clipped_or(s, EPS), jnp.full(N, mu), empty=True
    )
    return am.MixtureMemory(model, sampler or molcomp.Metropolis(proposal="neighbour"), s)


def _cues(memory):
    s = memory.structures
    return jnp.stack([am.seed(s, a % s.m, K) for a in range(RUNS)]), np.arange(RUNS) % s.m


def test_seeded_retrieval_m1():
    mem = _memory(1)
    cues, alphas = _cues(mem)
    _, out = am.mixture_recall(jax.random.key(0), mem, cues, SWEEPS)
    assert np.all(out.error < am.SUCCESS), out.error
    assert np.all(out.retrieved == alphas) and not out.chimera.any()


def test_seeded_retrieval_m2():
    """Each of the two structures is retrieved from its own seed. A finite run can end
    trapped (a chimera or a partial structure), so 7 of 8 seeded runs must succeed."""
    mem = _memory(2)
    cues, alphas = _cues(mem)
    finals, out = am.mixture_recall(jax.random.key(1), mem, cues, SWEEPS)
    ok = out.success & (out.retrieved == alphas)
    assert ok.sum() >= 7, (out.error, out.retrieved)
    assert set(out.retrieved[ok].tolist()) == {0, 1}
    # seeded_recalls seeds run r with structure r mod m, as _cues does: the same batch,
    # and success_fraction is its fraction of runs retrieving their own structure.
    seeded = am.seeded_recalls(jax.random.key(1), mem, RUNS, SWEEPS, K)
    np.testing.assert_array_equal(seeded.configs, np.asarray(finals))
    np.testing.assert_array_equal(seeded.alphas, alphas)
    np.testing.assert_array_equal(seeded.elapsed, np.full(RUNS, SWEEPS))
    assert seeded.fraction == ok.mean()
    assert am.success_fraction(jax.random.key(1), mem, RUNS, SWEEPS, K) == ok.mean()


def test_far_below_the_binding_scale_nothing_assembles():
    """mu = -30: even a site with four designed bonds (-32 kT) barely binds, so the seed
    dissolves and the lattice stays (almost) empty."""
    mem = _memory(1, mu=-30.0)
    cues, _ = _cues(mem)
    _, out = am.mixture_recall(jax.random.key(2), mem, cues, SWEEPS)
    assert np.all(out.occupancy < 0.1) and np.all(out.error > 0.9)
    assert not out.success.any()


def test_gillespie_recall_m1():
    """Continuous-time kinetics on the common clock: 2000 sweeps' worth of physical time
    (each site attempts a uniformly proposed move at rate 1)."""
    mem = _memory(1, sampler=molcomp.Gillespie(partners=1))
    cues, _ = _cues(mem)
    _, out = am.mixture_recall(jax.random.key(3), mem, cues[:4], 2000)
    assert np.all(out.error < am.SUCCESS), out.error


def test_phase_of_hand_built_configurations():
    """The assembled structure, the empty lattice, a random dense packing (a contact is
    designed with probability about m / N, so its order is far below 1/2) and two
    half-structures side by side (each half internally designed, the seam not)."""
    s = _memory(2).structures
    half = N // 2
    configs = jnp.stack(
        [
            s.configuration(0),
            jnp.full(N, N),
            jax.random.permutation(jax.random.key(5), N),
            jnp.concatenate([s.configuration(0)[:half], s.configuration(1)[half:]]),
        ]
    )
    out = am.readout(s, configs)
    assert out.order[0] == 1.0 and out.order[2] < 0.2 and out.order[3] > 0.8
    assert out.occupancy.tolist() == [1.0, 0.0, 1.0, 1.0] and out.error[3] > 0.5
    assert am.phase(out, N) == ["assembly", "dispersion", "liquid", "chimera"]
    # The thresholds are honoured: a stricter order threshold makes the halves a liquid.
    assert am.phase(out, N, ordered=0.95)[3] == "liquid"


def test_protocol_and_helpers():
    mem = _memory(1)
    assert isinstance(mem, learning.memory.AbstractMemory) and mem.n_patterns == 1
    np.testing.assert_allclose(mem.overlaps(mem.patterns[0]), [1.0])
    cue = mem.corrupt(jax.random.key(0), mem.patterns[0], 0.5)
    assert 0.1 < float(jnp.mean(cue == N)) < 0.9
    hot = am.enrich(mem.model, mem.structures, 0, 2, 3.0)
    assert int(jnp.sum(hot.mu > MU)) == 4
    assert am.crossing([1, 2, 3, 4], [1.0, 1.0, 0.8, 0.2]) == pytest.approx(2.5)
    assert am.crossing([1, 2], [1.0, 0.95]) == 2.0 and am.crossing([1, 2], [0.5, 0.0]) == 0.0
    assert analog.memory.mixture_recall is am.mixture_recall


def test_bad_input():
    mem = _memory(1)
    with pytest.raises(ValueError, match="k must be"):
        am.seed(mem.structures, 0, 7)
    with pytest.raises(ValueError, match="alpha"):
        am.seed(mem.structures, 1, 2)
    with pytest.raises(ValueError, match="cue"):
        am.mixture_recall(jax.random.key(0), mem, jnp.zeros(5, int), 10)
    with pytest.raises(ValueError, match="ms"):
        am.mixture_capacity(jax.random.key(0), lambda k, m: mem, [])
