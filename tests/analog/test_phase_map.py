"""Phase maps of a mixture memory: the majority rule, `phase_map` equal to recalling
and classifying point by point (and physically right at two points), and
`site_structures` on hand-built configurations; bad input is refused.

The mixture is that of tests/analog/test_memory.py (open 6 x 6 lattice, N = 36, one
structure, clipped-OR couplings of 8 kT, a centred 3 x 3 seed, neighbour-proposal
Metropolis), so the recall kernel is the one compiled there. Its documented retrieval
point is mu = -10 (a seed grows, wrong species do not stick); at mu = -30 even four
designed bonds barely bind, so the seed dissolves."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import learning
import molcomp
from analog import memory as am

L, N, EPS, K, SWEEPS, RUNS = 6, 36, 8.0, 3, 400, 8


def _memory(m, mu):
    lat = molcomp.lattice.square(L, periodic=False)
    s = molcomp.structures.random(jax.random.key(10 + m), lat, N, m)
    model = molcomp.PottsModel(
        lat, learning.hebbian.clipped_or(s, EPS), jnp.full(N, mu), empty=True
    )
    return am.MixtureMemory(model, molcomp.Metropolis(proposal="neighbour"), s)


def _cues(memory):
    s = memory.structures
    return jnp.stack([am.seed(s, a % s.m, K) for a in range(RUNS)])


def test_majority_phase():
    assert am.majority_phase(["chimera", "assembly", "chimera"]) == "chimera"
    assert am.majority_phase(("dispersion",)) == "dispersion"
    # a tie goes to the phase listed first in PHASES (assembly, chimera, liquid, ...)
    assert am.majority_phase(["dispersion", "liquid"]) == "liquid"
    assert am.majority_phase(["chimera", "assembly"]) == "assembly"


def test_phase_map_is_recall_then_phase_at_every_point():
    points = [-10.0, -30.0]
    cues = _cues(_memory(1, -10.0))
    grid = am.phase_map(jax.random.key(0), lambda mu: _memory(1, mu), points, cues, SWEEPS)
    assert list(grid) == points
    for i, mu in enumerate(points):
        mem = _memory(1, mu)
        _, out = am.mixture_recall(jax.random.fold_in(jax.random.key(0), i), mem, cues, SWEEPS)
        np.testing.assert_array_equal(grid[mu].readout.error, out.error)
        assert grid[mu].phases == tuple(am.phase(out, N))
        assert grid[mu].phase == am.majority_phase(grid[mu].phases)
    # the physics: the seed grows at the retrieval point and dissolves far below it
    assert grid[-10.0].phase == "assembly" and grid[-30.0].phases == ("dispersion",) * RUNS


def test_site_structures_of_hand_built_configurations():
    mem = _memory(2, -10.0)
    s = mem.structures
    zero, one = np.asarray(s.configuration(0)), np.asarray(s.configuration(1))
    np.testing.assert_array_equal(am.site_structures(s, zero), np.zeros(N, int))
    np.testing.assert_array_equal(am.site_structures(s, np.full(N, N)), np.full(N, -1))
    # half of each structure: the left half reads 0, the right half 1 (except where the
    # two structures happen to put the same species on a site: then 0, the smaller)
    half = np.concatenate([zero[: N // 2], one[N // 2 :]])
    got = am.site_structures(s, half)
    want = np.where(zero == one, 0, np.r_[np.zeros(N // 2, int), np.ones(N - N // 2, int)])
    np.testing.assert_array_equal(got, want)
    # a species that no structure places on its site reads m; an emptied site reads -1
    wrong = np.flatnonzero(zero != one)[0]
    bad = zero.copy()
    bad[wrong] = next(a for a in range(N) if a != zero[wrong] and a != one[wrong])
    bad[wrong + 1 if wrong + 1 < N else wrong - 1] = N
    out = am.site_structures(s, bad)
    assert out[wrong] == 2 and (out == -1).sum() == 1 and (out == 0).sum() == N - 2


def test_bad_input():
    mem = _memory(1, -10.0)
    cues = _cues(mem)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="phases is empty"):
        am.majority_phase([])
    with pytest.raises(ValueError, match="phases must be names"):
        am.majority_phase(["assembled"])
    with pytest.raises(TypeError, match="phases must be a sequence"):
        am.majority_phase("assembly")
    with pytest.raises(ValueError, match="points is empty"):
        am.phase_map(key, lambda p: mem, [], cues, SWEEPS)
    with pytest.raises(ValueError, match="points must be distinct"):
        am.phase_map(key, lambda p: mem, [1.0, 1.0], cues, SWEEPS)
    with pytest.raises(ValueError, match="cues must have shape"):
        am.phase_map(key, lambda p: mem, [1.0], cues[0], SWEEPS)
    with pytest.raises(TypeError, match="must return a MixtureMemory"):
        am.phase_map(key, lambda p: mem.model, [1.0], cues, SWEEPS)
    with pytest.raises(TypeError, match="build must be a function"):
        am.phase_map(key, mem, [1.0], cues, SWEEPS)
    with pytest.raises(ValueError, match="steps"):
        am.phase_map(key, lambda p: mem, [1.0], cues, 0)
    with pytest.raises(ValueError, match="config must have shape"):
        am.site_structures(mem.structures, np.zeros(N + 1, int))
    with pytest.raises(TypeError, match="structs must be"):
        am.site_structures(mem, np.zeros(N, int))
