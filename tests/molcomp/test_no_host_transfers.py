"""No host round trips inside the hot loop: the compiled chunk of `molcomp.sample` (a
`lax.scan` over steps) holds no callback to Python and no device transfer, for every
kind of sampler. The host is touched only between chunks (`recover`).

The check walks the traced program (jaxpr) of one chunk, descending into every
sub-program (pjit, cond branches, while loops, custom derivatives), and lists the
primitives inside the scan. A positive control shows that the walk sees a host
callback that an observable puts in the loop.
"""

import jax
import jax.numpy as jnp
import pytest

import molcomp
from molcomp import interactions, lattice, particles
from molcomp.samplers._driver import _none, _run

HOST = {"pure_callback", "io_callback", "debug_callback", "debug_print", "callback", "device_put"}


def _subjaxprs(value):
    if isinstance(value, jax.extend.core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, jax.extend.core.Jaxpr):
        yield value
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _subjaxprs(v)


def _primitives(jaxpr, inside_scan=False, found=None):
    """{primitive name: inside a scan?} for every equation, recursively."""
    found = {} if found is None else found
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        found[name] = found.get(name, False) or inside_scan
        for value in eqn.params.values():
            for sub in _subjaxprs(value):
                _primitives(sub, inside_scan or name == "scan", found)
    return found


def _loop_primitives(model, sampler, state, trace_fn=_none, steps=3):
    keys = jax.random.split(jax.random.key(0), steps)
    jaxpr = jax.make_jaxpr(lambda k, s: _run(k, model, sampler, s, trace_fn, _none))(keys, state)
    found = _primitives(jaxpr.jaxpr)
    assert "scan" in found
    return {name for name, in_loop in found.items() if in_loop}


def _potts():
    return molcomp.PottsModel(lattice.square(4), interactions.potts(0.5, 3), beta=1.0)


def _first(model, config):
    return config.reshape(-1)[0]


def _cases():
    potts = _potts()
    configs = jnp.zeros((2, 16), jnp.int32)
    yield "BlockGibbs", potts, molcomp.BlockGibbs(), configs
    yield "Metropolis", potts, molcomp.Metropolis(), configs
    yield "Gillespie", potts, molcomp.Gillespie(), configs
    ladder = molcomp.ReplicaExchange(molcomp.BlockGibbs(), betas=jnp.linspace(0.5, 1.0, 3))
    yield "ReplicaExchange", potts, ladder, jnp.zeros((3, 16), jnp.int32)
    mixture = particles.ParticleMixture(jnp.full((2, 2), 2.0), jnp.array([0, 1] * 8), (8.0, 8.0))
    yield "Brownian", mixture, particles.Brownian(dt=1e-3), particles.lattice_positions(mixture)
    yield "Langevin", mixture, particles.Langevin(dt=1e-3), particles.lattice_positions(mixture)


CASES = list(_cases())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_no_host_transfer_in_the_loop(case):
    _, model, sampler, config = case
    state = sampler.init(model, config)
    in_loop = _loop_primitives(model, sampler, state, trace_fn=_first)
    assert not (in_loop & HOST), sorted(in_loop & HOST)
    assert in_loop  # the loop body was walked


def test_walk_sees_a_callback_in_the_loop():
    """Positive control: an observable that prints from the loop is found."""
    model, sampler = _potts(), molcomp.BlockGibbs()
    state = sampler.init(model, jnp.zeros((2, 16), jnp.int32))

    def noisy(model, config):
        jax.debug.print("{x}", x=config[0])
        return config[0]

    in_loop = _loop_primitives(model, sampler, state, trace_fn=noisy)
    assert "debug_print" in in_loop
