"""Memory and time of gradients through Brownian trajectories, with and without
checkpointing over blocks of steps.

Metrics: `peak_memory_bytes` (XLA's memory analysis of the compiled gradient:
temporaries + arguments + outputs) and `grad_wall_s` (median seconds per gradient,
compilation excluded). Loss: mean squared displacement after T steps; parameters: the
well depths. Same model and skin as md_throughput (2D, 3 species), started on its grid.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

import learning
from molcomp import particles

from ._harness import Case, Context, Measurement
from ._timing import median_time
from .md_throughput import DT, SKIN, mixture

NAME = "gradient_memory"
DESCRIPTION = "memory and wall time of jax.grad through Brownian trajectories"
PLOTS = {"gradient_memory.png": "peak_memory_bytes"}

BLOCK = 10  # steps per checkpointed block

# Per size: N, trajectory lengths T, timing repeats.
SIZES = {"smoke": (64, (20,), 1), "quick": (1000, (50, 200), 3), "full": (1000, (200, 1000), 3)}


def cases(size: str) -> list[Case]:
    n, lengths, repeats = SIZES[size]
    out = []
    for T in lengths:
        for ckpt in (False, True):
            params = dict(model="ternary_soft_core_morse", dim=2, N=n, T=T, checkpointing=ckpt)
            params |= dict(dt=DT, sampler="brownian")
            label = f"grad 2D N={n} T={T} " + ("checkpointed" if ckpt else "plain")
            run = functools.partial(_run, n, T, ckpt, repeats)
            out.append(Case(label, "molcomp", "physical", params, run, repeats))
    return out


def _msd(model, start, final):
    displacement, _ = model.space()
    d = jax.vmap(displacement)(final.position, start.position)
    return jnp.mean(jnp.sum(d**2, axis=-1))


def _run(n, T, ckpt, repeats, ctx: Context, seed=0):
    model, x = mixture(2, n)
    sampler = particles.Brownian(dt=DT, dr_threshold=SKIN)
    key = jax.random.key(seed)
    # Size the neighbour list by a forward run (which reallocates on overflow): an
    # overflow inside the differentiated trajectory cannot be redone, only raised.
    # Shared by the plain and checkpointed cases of one T.
    sized = ("gradient_memory.state", n, T, seed)
    if sized not in ctx.cache:
        start = sampler.init(model, x)
        forward = particles.run(key, model, sampler, start, T, block=T)
        room = forward.state.neighbors.max_occupancy - start.neighbors.max_occupancy + 4
        ctx.cache[sized] = sampler.init(model, x, extra_capacity=room)
    state = ctx.cache[sized]

    def grad(m):
        every = BLOCK if ckpt else None
        return learning.trajectory_grad(key, m, sampler, state, T, _msd, checkpoint_every=every)

    compiled = jax.jit(grad).lower(model).compile()
    mem = compiled.memory_analysis()
    peak = mem.temp_size_in_bytes + mem.argument_size_in_bytes + mem.output_size_in_bytes
    t = median_time(lambda: compiled(model), repeats)
    return [
        Measurement("peak_memory_bytes", float(peak), "bytes", False),
        Measurement("grad_wall_s", t, "s", False),
    ]
