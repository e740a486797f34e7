"""Memory and time of gradients through Brownian trajectories, with and without
checkpointing over blocks of steps.

Metrics: `peak_memory_bytes` (XLA's memory analysis of the compiled gradient:
temporaries + arguments + outputs) and `grad_wall_s` (median seconds per gradient,
compilation excluded), params `T` and `checkpointing`; `memory_exponent` (log-log slope
of the checkpointed peak memory against T). Loss: mean squared displacement after T
steps; parameters: the well depths. Same model and skin as md_throughput (2D, 3
species), started on its grid.

Checkpointed blocks are sqrt(T) steps long: the backward pass then holds T / b block
states plus the b steps of the block it recomputes, 2 sqrt(T) states at the optimum, so
memory grows like sqrt(T). The plain gradient's memory is read from the compiled
function for every T, but it is run (and timed) only while it fits in half the
machine's memory.
"""

from __future__ import annotations

import functools
import math
import os

import jax
import jax.numpy as jnp
import numpy as np

import learning
import molcomp
from molcomp import particles

from ._harness import Case, Context, Measurement
from ._timing import median_time
from .md_throughput import DT, SKIN, mixture

NAME = "gradient_memory"
DESCRIPTION = "memory and wall time of jax.grad through Brownian trajectories"
PLOTS = {"gradient_memory.png": "peak_memory_bytes"}

# Per size: N, trajectory lengths T (perfect squares: blocks of sqrt(T) steps), repeats.
SIZES = {
    "smoke": (64, (16, 64), 1),
    "quick": (1000, (100, 400, 1600, 6400), 3),
    "full": (1000, (100, 400, 1600, 6400, 25600), 3),
}


def block_length(T: int) -> int:
    """Steps per checkpointed block: sqrt(T), which minimises T / b + b."""
    b = math.isqrt(T)
    if b * b != T:
        raise ValueError(f"T must be a perfect square, got {T}")
    return b


def cases(size: str) -> list[Case]:
    n, lengths, repeats = SIZES[size]
    common = dict(model="ternary_soft_core_morse", dim=2, N=n, dt=DT, sampler="brownian")
    out = []
    for T in lengths:
        for ckpt in (False, True):
            params = common | dict(T=T, checkpointing=ckpt)
            params |= dict(block=block_length(T) if ckpt else 0)
            label = f"grad 2D N={n} T={T} " + ("checkpointed" if ckpt else "plain")
            run = functools.partial(_run, n, T, ckpt, repeats, max(lengths))
            out.append(Case(label, "molcomp", "physical", params, run, repeats))
    params = common | dict(checkpointing=True, T_min=min(lengths), T_max=max(lengths))
    run = functools.partial(_exponent, n, lengths)
    out.append(Case(f"memory exponent N={n} checkpointed", "molcomp", "physical", params, run, 1))
    return out


def _msd(model, start, final):
    displacement, _ = model.space()
    d = jax.vmap(displacement)(final.position, start.position)
    return jnp.mean(jnp.sum(d**2, axis=-1))


def _compiled(n, T, ckpt, longest, ctx: Context, seed=0):
    """The compiled gradient and its peak memory, cached per (N, T, checkpointing)."""
    done = ("gradient_memory.compiled", n, T, ckpt, seed)
    if done in ctx.cache:
        return ctx.cache[done]
    model, x = mixture(2, n)
    sampler = particles.Brownian(dt=DT, dr_threshold=SKIN)
    key = jax.random.key(seed)
    # Size the neighbour list by a forward run (which reallocates on overflow): an
    # overflow inside the differentiated trajectory cannot be redone, only raised.
    # One size for every T, from the longest run: clusters form and neighbour counts
    # grow with T, and a list sized per T would mix that growth into memory vs T.
    sized = ("gradient_memory.state", n, longest, seed)
    if sized not in ctx.cache:
        start = sampler.init(model, x)
        forward = molcomp.sample(key, model, sampler, start, longest, chunk=math.gcd(longest, 400))
        room = forward.state.neighbors.max_occupancy - start.neighbors.max_occupancy + 4
        ctx.cache[sized] = sampler.init(model, x, extra_capacity=room)
    state = ctx.cache[sized]
    every = block_length(T) if ckpt else None

    def grad(m):
        return learning.response.trajectory_grad(
            key, m, sampler, state, T, _msd, checkpoint_every=every
        )

    compiled = jax.jit(grad).lower(model).compile()
    mem = compiled.memory_analysis()
    peak = mem.temp_size_in_bytes + mem.argument_size_in_bytes + mem.output_size_in_bytes
    ctx.cache[done] = (compiled, model, float(peak))
    return ctx.cache[done]


def _fits(peak: float) -> bool:
    """Whether a gradient needing `peak` bytes fits in half of this machine's memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return True
    return peak < total / 2


def _run(n, T, ckpt, repeats, longest, ctx: Context, seed=0):
    compiled, model, peak = _compiled(n, T, ckpt, longest, ctx, seed)
    out = [Measurement("peak_memory_bytes", peak, "bytes", False)]
    if _fits(peak):  # else: the memory analysis alone (the plain gradient at large T)
        t = median_time(lambda: compiled(model), repeats)
        out.append(Measurement("grad_wall_s", t, "s", False))
    return out


def _exponent(n, lengths, ctx: Context, seed=0):
    """Log-log slope of the checkpointed peak memory against T (1/2: sqrt(T))."""
    peaks = [_compiled(n, T, True, max(lengths), ctx, seed)[2] for T in lengths]
    slope = np.polyfit(np.log(lengths), np.log(peaks), 1)[0]
    return [Measurement("memory_exponent", float(slope), "", False)]
