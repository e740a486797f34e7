"""The sampler contract over every exported molcomp lattice sampler, with each model it
applies to: exact enumeration, same key same samples, jit == eager, vmap == loop, and
no recompilation when parameter values change (checks in `sampler_contract.py`).

Systems: a grand-canonical mixture of two species and an empty state on an open 3 x 2
square lattice (3^6 = 729 configurations; a square lattice with an even number of
columns runs BlockGibbs' checkerboard kernel), and a place model of two species and an
empty state, two sites each, on the same lattice (90 arrangements). Oriented random
couplings of about 1 kT: far from uniform, yet chains mix within a few steps. The
chains start from exact draws (`molcomp.exact.sample`), so no burn-in is discarded;
tolerances are those of `sampler_contract`. The long enumeration runs of larger systems
are in tests/molcomp/test_samplers.py, test_checkerboard.py, test_tempering.py and
test_gillespie.py.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sampler_contract as contract

import molcomp

CHAINS, STEPS = 64, 400
LATTICE = molcomp.lattice.square((3, 2), periodic=False)


def _couplings(seed, q):
    return molcomp.Couplings.oriented(np.random.default_rng(seed).normal(size=(2, q, q)))


@functools.cache
def potts():
    return molcomp.PottsModel(LATTICE, _couplings(0, 2), jnp.array([0.4, -0.3]), empty=True)


@functools.cache
def place():
    return molcomp.PlaceModel(LATTICE, _couplings(1, 2), empty=True, composition=(2, 2, 2))


def place_variants(model, sampler):
    """beta and J changed (values only)."""
    return [
        (eqx.tree_at(lambda m: m.beta, model, model.beta * 1.7), sampler),
        (eqx.tree_at(lambda m: m.couplings.params, model, model.couplings.params - 0.5), sampler),
    ]


def potts_variants(model, sampler):
    """beta, J and mu changed."""
    return [
        *place_variants(model, sampler),
        (eqx.tree_at(lambda m: m.mu, model, model.mu + 1.0), sampler),
    ]


def ladder_variants(model, sampler):
    """The ladders' values changed, and J."""
    out = [(model, eqx.tree_at(lambda s: s.betas, sampler, sampler.betas * 1.5))]
    if sampler.mus is not None:
        out.append((model, eqx.tree_at(lambda s: s.mus, sampler, sampler.mus - 0.5)))
    out.append(place_variants(model, sampler)[1])
    return out


BETAS = jnp.array([0.5, 1.2])


def _replica_case(name, model, inner, **ladders):
    sampler = molcomp.ReplicaExchange(inner, **ladders)
    targets = tuple(sampler.replica(model, r) for r in range(sampler.n_replicas))
    return contract.Case(name, model, sampler, ladder_variants, targets)


@functools.cache
def cases():
    p, pl = potts(), place()
    mus = p.mu[None, :] + jnp.array([-0.4, 0.4])[:, None]
    return {
        c.name: c
        for c in [
            contract.Case("gibbs-checkerboard", p, molcomp.BlockGibbs(), potts_variants),
            contract.Case(
                "gibbs-generic", p, molcomp.BlockGibbs(checkerboard=False), potts_variants
            ),
            contract.Case("metropolis-uniform", p, molcomp.Metropolis(), potts_variants),
            contract.Case(
                "metropolis-neighbour",
                p,
                molcomp.Metropolis(proposal="neighbour", empty_prob=0.2),
                potts_variants,
            ),
            contract.Case("swap", pl, molcomp.SwapMetropolis(), place_variants),
            contract.Case("gillespie", p, molcomp.Gillespie(partners=2, events=3), potts_variants),
            _replica_case("replicas-gibbs", p, molcomp.BlockGibbs(), betas=BETAS, mus=mus),
            _replica_case("replicas-swap", pl, molcomp.SwapMetropolis(), betas=BETAS),
        ]
    }


NAMES = list(cases())
_RUNS = {}


@pytest.fixture(scope="module")
def runs():
    def get(name):
        if name not in _RUNS:
            _RUNS[name] = contract.make_runs(cases()[name], CHAINS, STEPS)
        return _RUNS[name]

    return get


def test_cases_cover_every_exported_lattice_sampler():
    exported = {
        v
        for v in vars(molcomp.samplers).values()
        if isinstance(v, type)
        and issubclass(v, molcomp.AbstractSampler)
        and not v.__name__.startswith("Abstract")
    }
    covered = {type(c.sampler) for c in cases().values()}
    covered |= {
        type(c.sampler.sampler)
        for c in cases().values()
        if isinstance(c.sampler, molcomp.ReplicaExchange)
    }
    assert exported <= covered, exported - covered
    # both BlockGibbs paths run
    gibbs = molcomp.BlockGibbs()
    assert gibbs.uses_checkerboard(potts())
    assert not molcomp.BlockGibbs(checkerboard=False).uses_checkerboard(potts())


@pytest.mark.parametrize("name", NAMES)
def test_matches_exact_enumeration(runs, name):
    assert contract.check_exact(runs(name)) <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_same_key_same_samples(runs, name):
    contract.check_same_key(runs(name))


@pytest.mark.parametrize("name", NAMES)
def test_jit_equals_eager(runs, name):
    contract.check_jit_equals_eager(cases()[name], runs(name).state, jax.random.key(7))


@pytest.mark.parametrize("name", NAMES)
def test_vmap_over_chains_equals_loop(runs, name):
    contract.check_vmap_equals_loop(cases()[name], runs(name).state, jax.random.key(8))


@pytest.mark.parametrize("name", NAMES)
def test_parameter_changes_do_not_recompile(runs, name):
    contract.check_no_recompile(runs(name), STEPS)


def test_trace_counter_sees_a_new_program(runs):
    """Positive control of `check_no_recompile`: a new number of steps is a new program,
    and the counting trace_fn sees it."""
    r = runs("gibbs-generic")
    before = contract.TRACE.calls
    contract.sample(r.case, jax.random.key(0), r.state, STEPS + 1)
    assert contract.TRACE.calls > before
