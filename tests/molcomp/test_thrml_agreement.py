"""thrml (the peer of the sampler benchmark) and molcomp sample the same models.

The benchmark compares their speeds on "the same" periodic square-lattice Ising and
Potts models; this checks that the two really are the same distribution: thrml's chains,
built from thrml's own nodes, factors and programs, and molcomp's heat bath give the
same mean energy per site (each measured with molcomp's energy function), within five
standard errors of the difference. The thrml models mirror the benchmark's
construction: site i is thrml node i, the checkerboard colours are its two blocks, the
Ising factor is E = -beta sum s_i s_j (states 0/1 <-> spins False/True) and the Potts
factor E = -sum W[c_i, c_j] with W = beta * identity.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import molcomp

thrml = pytest.importorskip("thrml")
thrml_models = pytest.importorskip("thrml.models")

L, CHAINS, WARMUP, SAMPLES = 8, 64, 100, 40


def _grid():
    idx = np.arange(L * L).reshape(L, L)
    u = np.concatenate([idx.ravel(), idx.ravel()])
    v = np.concatenate([np.roll(idx, -1, axis=1).ravel(), np.roll(idx, -1, axis=0).ravel()])
    colour = (np.indices((L, L)).sum(axis=0) % 2).ravel()
    return u.tolist(), v.tolist(), [np.flatnonzero(colour == c) for c in (0, 1)]


def _thrml_ising(beta):
    u, v, sites = _grid()
    nodes = [thrml.SpinNode() for _ in range(L * L)]
    edges = [(nodes[a], nodes[b]) for a, b in zip(u, v, strict=True)]
    ebm = thrml_models.IsingEBM(
        nodes, edges, jnp.zeros(L * L), jnp.ones(len(edges)), jnp.asarray(beta)
    )
    blocks = [thrml.Block([nodes[i] for i in s.tolist()]) for s in sites]
    return thrml_models.IsingSamplingProgram(ebm, blocks, []), blocks, sites, jnp.bool_


def _thrml_potts(q, beta):
    u, v, sites = _grid()
    nodes = [thrml.CategoricalNode() for _ in range(L * L)]
    weights = jnp.broadcast_to(beta * jnp.eye(q, dtype=jnp.float32), (len(u), q, q))
    factor = thrml_models.SquareCategoricalEBMFactor(
        [thrml.Block([nodes[i] for i in u]), thrml.Block([nodes[i] for i in v])], weights
    )
    blocks = [thrml.Block([nodes[i] for i in s.tolist()]) for s in sites]
    spec = thrml.BlockGibbsSpec(
        blocks, [], {thrml.CategoricalNode: jax.ShapeDtypeStruct((), jnp.uint8)}
    )
    program = thrml.FactorSamplingProgram(
        spec, [thrml_models.CategoricalGibbsConditional(q) for _ in blocks], [factor], []
    )
    return program, blocks, sites, jnp.uint8


def _thrml_energies(model, built, key):
    """Energy per site (molcomp's) of thrml's samples: (CHAINS, SAMPLES)."""
    program, blocks, sites, dtype = built
    schedule = thrml.SamplingSchedule(n_warmup=WARMUP, n_samples=SAMPLES, steps_per_sample=2)
    k0, k1 = jax.random.split(key)
    start = jax.random.randint(k0, (CHAINS, L * L), 0, model.n_states)
    init = [start[:, s].astype(dtype) for s in sites]

    def one(k, init):
        return thrml.sample_states(k, program, schedule, init, [], blocks)

    states = eqx.filter_jit(jax.vmap(one))(jax.random.split(k1, CHAINS), init)
    config = jnp.zeros((CHAINS, SAMPLES, L * L), jnp.int32)
    for s, block in zip(sites, states, strict=True):
        config = config.at[..., s].set(jnp.asarray(block).astype(jnp.int32))
    return np.asarray(jax.vmap(jax.vmap(model.energy))(config)) / (L * L)


def _molcomp_energies(model, key):
    sampler = molcomp.BlockGibbs()
    k0, k1, k2 = jax.random.split(key, 3)
    state = sampler.init(model, jax.random.randint(k0, (CHAINS, L * L), 0, model.n_states))
    state = molcomp.sample(k1, model, sampler, state, WARMUP).state
    out = molcomp.sample(
        k2, model, sampler, state, 2 * SAMPLES, trace_fn=lambda m, c: m.energy(c) / (L * L)
    )
    return np.asarray(out.trace)[1::2].T  # every second sweep, as thrml: (CHAINS, SAMPLES)


def _mean_se(e):
    """Mean and standard error from the chain means (independent chains)."""
    per_chain = e.mean(axis=1)
    return per_chain.mean(), per_chain.std(ddof=1) / np.sqrt(per_chain.size)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ising", "potts3"])
def test_thrml_and_molcomp_sample_the_same_model(kind):
    if kind == "ising":
        beta = 0.35
        model = molcomp.PottsModel(
            molcomp.lattice.square(L), molcomp.interactions.ising(1.0), beta=beta
        )
        built = _thrml_ising(beta)
    else:
        beta = 0.8
        model = molcomp.PottsModel(
            molcomp.lattice.square(L), molcomp.interactions.potts(1.0, q=3), beta=beta
        )
        built = _thrml_potts(3, beta)
    m_thrml, se_thrml = _mean_se(_thrml_energies(model, built, jax.random.key(0)))
    m_ours, se_ours = _mean_se(_molcomp_energies(model, jax.random.key(1)))
    se = np.hypot(se_thrml, se_ours)
    assert se < 0.02 * abs(m_ours), "run too short to resolve 2 %"
    assert abs(m_thrml - m_ours) < 5 * se, (m_thrml, m_ours, se)
