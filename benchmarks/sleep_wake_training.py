"""Sleep-wake training: seconds for a 16-spin Boltzmann machine to learn a random Ising
target to exact KL(target || model) < 0.05 nats, molcomp's loop vs thrml's.

The task (issue 5): target w_ij ~ Normal(0, 0.3^2), b_i ~ Normal(0, 0.1^2); data = exact
samples of it; both learners start from the same small random machine and use the same
optax optimizer and learning-rate schedule, the same number of chains, samples and
sweeps per step, with beta = 1 so energies and learning rates mean the same thing.

- `molcomp`: `learning.fit` with the `FreshChains` model phase, i.e. thrml's protocol:
  every step new chains from uniform random states, `warmup` sweeps, then `samples`
  records `sweeps_per_sample` apart (SequentialGibbs: a sweep updates the 16 spins in
  turn, exactly like thrml's 16 single-node blocks of a complete graph).
- `thrml`: `thrml.models.estimate_kl_grad` on an `IsingEBM` over the complete graph,
  positive phase read from the data, `SamplingSchedule(warmup, samples, sweeps)`.
- `molcomp` case "... pcd" (full size only): the same budget spent on persistent
  chains (fit's default), for reference; thrml's estimator has no persistent chains.

Both loops run jitted chunks of `eval_every` steps (a `fori_loop`), step keys
`fold_in(key, step)`; compilation is excluded (an untimed warm-up chunk); exact KL is
evaluated between chunks, outside the timed region, and no enumeration enters the
training. Metrics (medians over `runs` training keys): `time_to_kl_s` (training
seconds until the first evaluation with KL < 0.05; inf if never), `final_kl` (nats,
after all steps), `steps_to_kl`, and the costs `n_parameters` (couplings and biases)
and `train_wall_s` (all steps, compilation excluded); there is no inference step to
time. The molcomp row pairs its runs with thrml's (run r of both uses training key r):
`paired_difference_vs_thrml` (mean of the per-run differences of `time_to_kl_s`, with
`_stderr`) and `speedup_vs_thrml` (geometric mean of thrml's time over molcomp's, with
the standard error of its logarithm, `speedup_vs_thrml_log_stderr`).

Every run also draws the KL-vs-step and KL-vs-seconds plot (`DIR/sleep_wake_training_curves.png`):
`python -m benchmarks run --only sleep_wake_training [--quick | --smoke]`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import learning
import molcomp

from ._harness import Case, Context, Measurement, write_atomic

NAME = "sleep_wake_training"
DESCRIPTION = "seconds to learn a 16-spin random Ising target to KL < 0.05: molcomp vs thrml"
PLOTS = {"sleep_wake_training.png": "time_to_kl_s"}
CURVES = "sleep_wake_training_curves.png"
THRESHOLD = 0.05  # nats

# Per size: n spins, m data samples, chains, warmup sweeps, samples per chain, sweeps
# between samples, training steps, evaluation interval (steps), peak learning rate
# (cosine decay), training runs (different training keys; metrics are their medians).
KEYS = ("n", "m", "chains", "warmup", "samples", "sweeps", "steps", "eval_every", "lr", "runs")
ROWS = {
    "smoke": (8, 2000, 16, 4, 4, 1, 60, 10, 0.1, 1),
    "quick": (16, 20000, 64, 10, 8, 2, 200, 5, 0.05, 3),
    "full": (16, 20000, 64, 10, 8, 2, 400, 5, 0.05, 15),
}
SIZES = {size: dict(zip(KEYS, row)) for size, row in ROWS.items()}


@dataclasses.dataclass
class Task:
    target: learning.neural.BoltzmannMachine
    start: learning.neural.BoltzmannMachine
    data: jax.Array  # (m, n) states 0/1
    configs: jax.Array  # all 2^n configurations
    target_log_probs: jax.Array


def _task(s: dict, seed: int, ctx: Context) -> Task:
    """The shared target, data and start (built once per run, for both learners)."""
    key = ("sleep_wake_task", s["n"], s["m"], seed)
    if key not in ctx.cache:
        k_w, k_b, k_data, k_start = jax.random.split(jax.random.key(seed), 4)
        n = s["n"]
        target = learning.neural.BoltzmannMachine(
            0.3 * jax.random.normal(k_w, (n * (n - 1) // 2,)), 0.1 * jax.random.normal(k_b, (n,))
        )
        configs = molcomp.exact.configurations(target)
        lp = molcomp.exact.log_probabilities(target)
        data = molcomp.exact.sample(k_data, target, s["m"])  # exact data (inverse CDF)
        start = learning.neural.BoltzmannMachine.random(k_start, n, scale=0.01)
        ctx.cache[key] = Task(target, start, data, configs, lp)
    return ctx.cache[key]


def _optimizer(s: dict):
    return optax.adam(optax.cosine_decay_schedule(s["lr"], s["steps"], alpha=0.05))


@eqx.filter_jit
def _kl(task_lp, configs, weights, biases):
    model = learning.neural.BoltzmannMachine(weights, biases)
    return learning.exact.kl_divergence(task_lp, molcomp.exact.log_probabilities(model))


def _params(s: dict, rule: str) -> dict:
    return dict(
        model="boltzmann_random_ising",
        sampler="sequential_gibbs",
        rule=rule,
        N=s["n"],
        m=s["m"],
        chains=s["chains"],
        sweeps=s["warmup"] + (s["samples"] - 1) * s["sweeps"],  # per step, per chain
        samples=s["samples"],
        sweeps_per_sample=s["sweeps"],
        warmup=s["warmup"],
        steps=s["steps"],
        eval_every=s["eval_every"],
        optimizer=f"adam cosine {s['lr']}",
        runs=s["runs"],
        T=1.0,
    )


def _train_key(seed: int, run: int):
    """The training key of one run: the same for both learners (their streams differ)."""
    return jax.random.fold_in(jax.random.key(seed + 1), run)


def _first_hit(c: dict, key: str) -> float:
    hit = np.flatnonzero(np.asarray(c["kl"]) < THRESHOLD)
    return c[key][hit[0]] if hit.size else math.inf


def _measure(curves: list[dict], s: dict) -> list[Measurement]:
    """Medians over the training runs (same task, different training keys)."""
    times = [_first_hit(c, "seconds") for c in curves]
    steps = [_first_hit(c, "step") for c in curves]
    final = [c["kl"][-1] for c in curves]
    n = s["n"]
    return [
        Measurement("time_to_kl_s", float(np.median(times)), "s", False),
        Measurement("final_kl", float(np.median(final)), "nats", False),
        Measurement("steps_to_kl", float(np.median(steps)), "steps", False),
        Measurement("n_parameters", n * (n - 1) // 2 + n, "parameters", False),
        Measurement(
            "train_wall_s", float(np.median([c["seconds"][-1] for c in curves])), "s", False
        ),
    ]


def _paired(mine: list[dict], theirs: list[dict]) -> list[Measurement]:
    """molcomp minus thrml, run by run (the same training key index): seconds to the
    KL goal, and the speed-up as the geometric mean of the time ratios."""
    a = np.array([_first_hit(c, "seconds") for c in mine])
    b = np.array([_first_hit(c, "seconds") for c in theirs])
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or a.size < 2:
        return []
    d = a - b
    log_ratio = np.log(b / a)
    extra = {"versus": "thrml", "of": "time_to_kl_s", "runs": int(a.size)}
    se = float(np.std(d, ddof=1) / math.sqrt(d.size))
    gse = float(np.std(log_ratio, ddof=1) / math.sqrt(d.size))
    return [
        Measurement("paired_difference_vs_thrml", float(np.mean(d)), "s", False, extra),
        Measurement("paired_difference_vs_thrml_stderr", se, "s", False, extra),
        Measurement("speedup_vs_thrml", float(np.exp(np.mean(log_ratio))), "x", True, extra),
        Measurement("speedup_vs_thrml_log_stderr", gse, "ln units", False, extra),
    ]


def _keep(ctx: Context, label: str, learner: str, curve: dict) -> None:
    curves = ctx.cache.setdefault("sleep_wake_curves", {})
    curves[label, learner] = curve
    if ctx.out is not None:
        plot_curves(curves, Path(ctx.out) / CURVES)


# ---- molcomp -------------------------------------------------------------------------
def _run_molcomp(s: dict, seed: int, label: str, persistent: bool, ctx: Context):
    task = _task(s, seed, ctx)
    sampler = learning.neural.SequentialGibbs()
    phase_cls = learning.PCD if persistent else learning.FreshChains
    # Sweeps per step as thrml's schedule: warmup, then one record every `sweeps`, the
    # first one at the end of the warmup.
    phase = phase_cls(
        sampler,
        s["chains"],
        warmup=s["warmup"] - s["sweeps"],
        samples=s["samples"],
        sweeps=s["sweeps"],
    )
    opt = _optimizer(s)

    def run(key, steps):
        return learning.fit(
            key,
            task.start,
            sampler,
            task.data,
            opt,
            steps,
            model_phase=phase,
            evaluate=learning.Evaluation(s["eval_every"], target=task.target_log_probs, ais=None),
            progress=False,
        )[1]

    run(jax.random.key(seed), s["eval_every"])  # warm-up: compiles the chunk (same statics)
    curves = []
    for r in range(s["runs"]):
        history = run(_train_key(seed, r), s["steps"])
        curves.append({"step": history.eval_step, "kl": history.kl, "seconds": history.train_s})
    _keep(ctx, label, "molcomp", curves[0])
    peer = ctx.cache.get(("sleep_wake_runs", label, "thrml"))
    return _measure(curves, s) + ([] if peer is None else _paired(curves, peer))


# ---- thrml ---------------------------------------------------------------------------
def _thrml_chunk(s: dict, optimizer):
    """A jitted chunk of `eval_every` training steps with thrml's estimate_kl_grad."""
    import thrml
    from thrml.models import IsingEBM, IsingTrainingSpec, estimate_kl_grad

    n, chains = s["n"], s["chains"]
    nodes = [thrml.SpinNode() for _ in range(n)]
    iu, ju = np.triu_indices(n, 1)  # the order of BoltzmannMachine.weights
    edges = [(nodes[i], nodes[j]) for i, j in zip(iu.tolist(), ju.tolist())]
    free = [thrml.Block([v]) for v in nodes]  # a complete graph needs n colours
    data_blocks = [thrml.Block(nodes)]
    positive = thrml.SamplingSchedule(0, 1, 1)  # unused: the positive phase reads the data
    negative = thrml.SamplingSchedule(s["warmup"], s["samples"], s["sweeps"])

    def step(params, opt_state, key, data):
        w, b = params
        ebm = IsingEBM(nodes, edges, b, w, jnp.float32(1.0))
        spec = IsingTrainingSpec(ebm, data_blocks, [], [], free, positive, negative)
        k_init, k_grad = jax.random.split(key)
        init = [jax.random.bernoulli(k, 0.5, (chains, 1)) for k in jax.random.split(k_init, n)]
        gw, gb, _, _ = estimate_kl_grad(k_grad, spec, nodes, edges, [data], [], [], init)
        updates, opt_state = optimizer.update((gw, gb), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    @jax.jit
    def chunk(params, opt_state, key, start, data):
        def body(i, carry):
            return step(*carry, jax.random.fold_in(key, start + i), data)

        return jax.lax.fori_loop(0, s["eval_every"], body, (params, opt_state))

    return chunk


def _run_thrml(s: dict, seed: int, label: str, ctx: Context):
    task = _task(s, seed, ctx)
    opt = _optimizer(s)
    chunk = _thrml_chunk(s, opt)
    params = (task.start.weights, task.start.biases)
    data = task.data.astype(jnp.bool_)  # thrml spins: True is +1
    jax.block_until_ready(chunk(params, opt.init(params), jax.random.key(seed), 0, data))
    curves = []
    for r in range(s["runs"]):
        key, p, opt_state = _train_key(seed, r), params, opt.init(params)
        curve = {"step": [], "kl": [], "seconds": []}
        elapsed = 0.0
        for start in range(0, s["steps"], s["eval_every"]):
            t0 = time.perf_counter()
            p, opt_state = jax.block_until_ready(chunk(p, opt_state, key, start, data))
            elapsed += time.perf_counter() - t0
            curve["step"].append(start + s["eval_every"])
            curve["kl"].append(float(_kl(task.target_log_probs, task.configs, *p)))
            curve["seconds"].append(elapsed)
        curves.append(curve)
    _keep(ctx, label, "thrml", curves[0])
    ctx.cache["sleep_wake_runs", label, "thrml"] = curves
    return _measure(curves, s)


def cases(size: str) -> list[Case]:
    """thrml first, so molcomp's case can pair its runs with thrml's; the persistent-
    chain variant (for reference) runs at full size only."""
    s = SIZES[size]
    label = f"random ising n={s['n']}"
    seed = 0
    restart = _params(s, "sleep_wake_restart")
    out = [
        Case(
            label, "thrml", "peer", restart, functools.partial(_run_thrml, s, seed, label), 1, seed
        ),
        Case(
            label,
            "molcomp",
            "neural",
            restart,
            functools.partial(_run_molcomp, s, seed, label, False),
            1,
            seed,
        ),
    ]
    if size != "quick":
        out.append(
            Case(
                f"{label} pcd",
                "molcomp",
                "neural",
                _params(s, "sleep_wake_pcd"),
                functools.partial(_run_molcomp, s, seed, f"{label} pcd", True),
                1,
                seed,
            )
        )
    return out


# ---- the curve plot ---------------------------------------------------------------------
def plot_curves(curves: dict, path: Path) -> Path:
    """KL versus step and versus training seconds, one line per (case, learner)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    by_step, by_time = fig.subplots(1, 2)
    for (label, learner), c in curves.items():
        name = f"{learner}: {label}"
        by_step.plot(c["step"], c["kl"], marker=".", label=name)
        by_time.plot(c["seconds"], c["kl"], marker=".", label=name)
    for ax, xlabel in (
        (by_step, "training step"),
        (by_time, "training seconds (compile excluded)"),
    ):
        ax.axhline(THRESHOLD, color="k", ls="--", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("exact KL(target || model) (nats)")
    by_time.legend(fontsize=8)
    fig.suptitle(f"{NAME}: KL < {THRESHOLD} nats is the goal")
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_atomic(path, buf.getvalue())
    return path
