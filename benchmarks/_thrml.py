"""thrml (the peer) on the same periodic square-lattice models molcomp benchmarks.

Imported only when thrml is installed. Site i is thrml node i and molcomp site i
(row-major), the two checkerboard colours are thrml's two free blocks, and the energies
match molcomp's sign table:

- Ising: thrml's `IsingEBM` has E = -beta sum J s_i s_j; with J = 1 this is molcomp's
  `PottsModel(square(L), ising(1.0), beta)` (states 0/1 <-> spins False/True).
- Potts: thrml's categorical factor has E = -sum W[c_i, c_j]; W = beta * identity is
  molcomp's `PottsModel(square(L), potts(1.0, q), beta)` (J = -1 on equal neighbours).

The fair configuration: one jitted call of `thrml.sample_states` (a `lax.scan` over
sweeps) with only the final state observed, array leaves of the program passed as jit
arguments and the static structure closed over (so no per-call hashing of a million
nodes), chains by `vmap`, warm-up call excluded from the timing.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import thrml
from thrml.models import (
    CategoricalGibbsConditional,
    IsingEBM,
    IsingSamplingProgram,
    SquareCategoricalEBMFactor,
)


@dataclasses.dataclass
class ThrmlModel:
    program: object
    blocks: list  # the two checkerboard colours, as thrml Blocks
    sites: list[np.ndarray]  # molcomp site index of each block's nodes
    dtype: object  # state dtype of a node


def _grid(L: int):
    """Bonds of the periodic L x L square lattice (each once) and the checkerboard."""
    idx = np.arange(L * L).reshape(L, L)
    u = np.concatenate([idx.ravel(), idx.ravel()])
    v = np.concatenate([np.roll(idx, -1, axis=1).ravel(), np.roll(idx, -1, axis=0).ravel()])
    colour = (np.indices((L, L)).sum(axis=0) % 2).ravel()
    sites = [np.flatnonzero(colour == c) for c in (0, 1)]
    return u.tolist(), v.tolist(), sites


def build_ising(L: int, beta: float) -> ThrmlModel:
    """thrml's own Ising model and sampling program (nodes, edges, factors, blocks)."""
    u, v, sites = _grid(L)
    nodes = [thrml.SpinNode() for _ in range(L * L)]
    edges = [(nodes[a], nodes[b]) for a, b in zip(u, v)]
    ebm = IsingEBM(nodes, edges, jnp.zeros(L * L), jnp.ones(len(edges)), jnp.asarray(beta))
    blocks = [thrml.Block([nodes[i] for i in s.tolist()]) for s in sites]
    program = IsingSamplingProgram(ebm, blocks, [])
    jax.block_until_ready(eqx.filter(program, eqx.is_array))
    return ThrmlModel(program, blocks, sites, jnp.bool_)


def build_potts(L: int, q: int, beta: float) -> ThrmlModel:
    """A q-state Potts model from thrml's categorical nodes and factors."""
    u, v, sites = _grid(L)
    nodes = [thrml.CategoricalNode() for _ in range(L * L)]
    weights = jnp.broadcast_to(beta * jnp.eye(q, dtype=jnp.float32), (len(u), q, q))
    factor = SquareCategoricalEBMFactor(
        [thrml.Block([nodes[i] for i in u]), thrml.Block([nodes[i] for i in v])], weights
    )
    blocks = [thrml.Block([nodes[i] for i in s.tolist()]) for s in sites]
    dtype = jnp.uint8 if q <= 256 else jnp.uint16
    spec = thrml.BlockGibbsSpec(
        blocks, [], {thrml.CategoricalNode: jax.ShapeDtypeStruct((), dtype)}
    )
    program = thrml.FactorSamplingProgram(
        spec, [CategoricalGibbsConditional(q) for _ in blocks], [factor], []
    )
    jax.block_until_ready(eqx.filter(program, eqx.is_array))
    return ThrmlModel(program, blocks, sites, dtype)


def sampler(model: ThrmlModel, sweeps: int, chains: int):
    """A jitted `(key, config) -> final block states` running `sweeps` full sweeps.

    `config` is molcomp's (n,) or (chains, n) configuration, so both libraries start from
    the same state. `n_warmup = sweeps, n_samples = 1` runs exactly `sweeps` sweeps and
    observes once, at the end.
    """
    schedule = thrml.SamplingSchedule(n_warmup=sweeps, n_samples=1, steps_per_sample=1)
    params, static = eqx.partition(model.program, eqx.is_array)
    blocks = model.blocks

    def one(params, key, init):
        program = eqx.combine(params, static)
        return thrml.sample_states(key, program, schedule, init, [], blocks)

    batched = jax.vmap(one, in_axes=(None, 0, 0)) if chains > 1 else one
    run = jax.jit(batched)

    def call(key, config):
        keys = jax.random.split(key, chains) if chains > 1 else key
        init = [jnp.asarray(config[..., s]).astype(model.dtype) for s in model.sites]
        return lambda: run(params, keys, init)

    return call
