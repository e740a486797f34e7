"""Generative modelling: one sleep-wake rule trains a Potts mixture and an RBM on the
same configurations of stored structures; held-out log-likelihood by AIS, exact KL.

The task (per seed): m = 3 random permutation structures of the N = 6 species of an open
2 x 3 lattice, stored in a teacher mixture (`molcomp.PottsModel` with an empty state,
clipped-OR couplings -4 kT on designed bonds, mu = -4 kT): its equilibrium holds whole
structures, fragments, shifted fragments and chimeras. Its 7^6 = 117649
configurations are enumerated, so the data are exact samples (`molcomp.exact.sample`:
`TRAIN` training and `HELDOUT` held-out configurations) and every KL is exact.

Learners, each trained by `learning.fit` (persistent chains, the same optimizer, steps,
chains and data):

- `potts_mixture` (kind `physical`): a `molcomp.PottsModel` of the same lattice and
  species, oriented couplings (one 6 x 6 table per bond direction) and mu, from zero;
  sampled by `molcomp.BlockGibbs`.
- `rbm` (kind `neural`): `learning.neural.RBM` over the one-hot code of a configuration
  (6 sites x 6 species = 36 visible units, an empty site all zeros) with `HIDDEN`
  hidden units; `learning.neural.AlternatingGibbs`, data through `ClampedChains`.
- `independent_sites` (kind `reference`): a categorical distribution per site (the
  training frequencies, plus one half pseudo-count): exact, no sampling.
- `teacher` (kind `reference`): the data's own distribution, the ceiling.

Records per learner (means over `seeds` tasks; the same seeds for every learner):
`heldout_log_likelihood` (AIS, `learning.AIS`, nats per held-out configuration;
`heldout_log_likelihood_stderr`: standard error over the seeds; `ais_stderr`: AIS's
own error bar, root mean square over the seeds), `heldout_log_likelihood_exact` (ln Z
by enumeration: the Potts model's 7^6 states, the RBM's 2^HIDDEN hidden states),
`kl_exact` (KL(teacher || model), nats), and the costs `n_parameters`,
`train_wall_s` (per seed, compilation included) and `inference_s_per_example` (seconds
per held-out configuration to score it: the AIS run and the energies, divided by
`HELDOUT`). The physical row also carries `paired_difference` (its exact held-out
log-likelihood minus the RBM's, seed by seed) and `paired_difference_stderr`.

Run alone: `python -m benchmarks run --only generative_modelling [--quick | --smoke]`.
"""

from __future__ import annotations

import functools
import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import learning
import molcomp

from ._harness import Case, Context, Measurement

NAME = "generative_modelling"
DESCRIPTION = (
    "held-out log-likelihood of configurations of stored structures: Potts mixture vs RBM, "
    "both trained by learning.fit"
)
PLOTS = {"generative_modelling.png": "kl_exact"}
SHAPE, SPECIES, STRUCTURES = (2, 3), 6, 3
EPSILON, MU = 4.0, -4.0  # teacher: bond energy and chemical potential (kT)
HIDDEN = 8
N_VISIBLE = SHAPE[0] * SHAPE[1] * SPECIES  # one-hot code: a unit per (site, species)
TRAIN, HELDOUT = 2000, 1000
LEARNERS = ("potts_mixture", "rbm", "independent_sites", "teacher")
KINDS = {"potts_mixture": "physical", "rbm": "neural"}
# seeds (tasks), training steps, PCD chains, adam learning rate, AIS chains and steps
SIZES = {
    "smoke": dict(seeds=2, steps=20, chains=32, lr=0.05, ais_chains=16, ais_steps=50),
    "quick": dict(seeds=3, steps=300, chains=64, lr=0.05, ais_chains=64, ais_steps=300),
    "full": dict(seeds=5, steps=1000, chains=128, lr=0.03, ais_chains=128, ais_steps=1000),
}


def task(seed: int):
    """(teacher, structures, train, heldout) of one seed: exact samples of the teacher."""
    k_struct, k_train, k_held = jax.random.split(jax.random.key(seed), 3)
    lat = molcomp.lattice.square(SHAPE, periodic=False)
    structs = molcomp.structures.random(k_struct, lat, SPECIES, STRUCTURES)
    J = learning.hebbian.clipped_or(structs, EPSILON)
    teacher = molcomp.PottsModel(lat, J, jnp.full(SPECIES, MU), empty=True)
    train = molcomp.exact.sample(k_train, teacher, TRAIN)
    heldout = molcomp.exact.sample(k_held, teacher, HELDOUT)
    return teacher, structs, jnp.asarray(train), jnp.asarray(heldout)


def one_hot(configs) -> jax.Array:
    """(..., n) Potts configurations -> (..., n * N) visible states 0/1 (empty: zeros)."""
    return jax.nn.one_hot(configs, SPECIES, dtype=jnp.int32).reshape(*configs.shape[:-1], -1)


def rbm_log_partition(rbm: learning.neural.RBM) -> jax.Array:
    """ln Z of an RBM by enumerating its 2^n_hidden hidden states (visibles summed out
    in closed form: units are spins +-1)."""
    bits = (np.arange(2**rbm.n_hidden)[:, None] >> np.arange(rbm.n_hidden)) & 1
    h = jnp.asarray(2.0 * bits - 1.0, jnp.float32)  # (2^H, H)
    field = rbm.beta * (rbm.visible_bias[None, :] + h @ rbm.weights.T)  # (2^H, nv)
    log_cosh = jnp.logaddexp(field, -field)  # ln(2 cosh)
    return jax.nn.logsumexp(rbm.beta * h @ rbm.hidden_bias + jnp.sum(log_cosh, axis=1))


def _kl(teacher_lp, model_lp):
    return float(learning.exact.kl_divergence(teacher_lp, model_lp))


def _train(key, model, sampler, data, s: dict):
    t0 = time.perf_counter()
    model, _ = learning.fit(
        key,
        model,
        sampler,
        data,
        optax.adam(s["lr"]),
        s["steps"],
        model_phase=learning.PCD(sampler, s["chains"]),
        progress=False,
    )
    jax.block_until_ready(model)
    return model, time.perf_counter() - t0


def _count(model) -> int:
    leaves = jax.tree.leaves(eqx.filter(model, model.trainable()))
    return int(sum(np.size(x) for x in leaves))


def _potts(seed: int, s: dict, teacher, train, heldout, teacher_lp) -> dict:
    lat = teacher.lattice
    start = molcomp.PottsModel(
        lat, molcomp.Couplings.oriented(np.zeros((2, SPECIES, SPECIES))), empty=True
    )
    sampler = molcomp.BlockGibbs()
    model, secs = _train(jax.random.key(seed + 1000), start, sampler, train, s)
    t0 = time.perf_counter()
    ais = learning.AIS(s["ais_chains"], s["ais_steps"])
    ll, info = eqx.filter_jit(ais.log_likelihood)(jax.random.key(seed + 2000), model, sampler, heldout)
    ll = float(ll)
    infer = (time.perf_counter() - t0) / HELDOUT
    lp = molcomp.exact.log_probabilities(model)
    exact = float(jnp.mean(lp[molcomp.exact.configuration_index(model, heldout)]))
    return dict(
        ll=ll, ais_se=float(info.stderr), exact=exact, kl=_kl(teacher_lp, lp), train_s=secs,
        infer_s=infer, n_params=_count(start),
    )  # fmt: skip


def _rbm(seed: int, s: dict, teacher, train, heldout, teacher_lp) -> dict:
    rbm = learning.neural.RBM.random(jax.random.key(seed + 3000), N_VISIBLE, HIDDEN)
    sampler = learning.neural.AlternatingGibbs()
    data = learning.ClampedChains(one_hot(train), rbm.visible, sampler, batch_size=s["chains"])
    model, secs = _train(jax.random.key(seed + 1000), rbm, sampler, data, s)
    t0 = time.perf_counter()
    ais = learning.AIS(s["ais_chains"], s["ais_steps"])
    vis = one_hot(heldout)
    ll, info = eqx.filter_jit(ais.log_likelihood)(
        jax.random.key(seed + 2000), model, sampler, vis, marginal=model.marginal()
    )
    ll = float(ll)
    infer = (time.perf_counter() - t0) / HELDOUT
    log_z = rbm_log_partition(model)
    free = jax.vmap(model.free_energy)
    exact = float(jnp.mean(-free(vis)) - log_z)
    all_lp = -free(one_hot(molcomp.exact.configurations(teacher))) - log_z
    return dict(
        ll=ll, ais_se=float(info.stderr), exact=exact, kl=_kl(teacher_lp, all_lp), train_s=secs,
        infer_s=infer, n_params=_count(rbm),
    )  # fmt: skip


def _independent(train, heldout, teacher, teacher_lp) -> dict:
    t0 = time.perf_counter()
    counts = jax.vmap(lambda col: jnp.bincount(col, length=SPECIES + 1))(train.T) + 0.5
    log_p = jnp.log(counts / counts.sum(axis=1, keepdims=True))  # (n, S)
    secs = time.perf_counter() - t0

    def score(configs):
        return jnp.sum(jnp.take_along_axis(log_p, configs.T, axis=1), axis=0)

    t0 = time.perf_counter()
    exact = float(jnp.mean(score(heldout)))
    infer = (time.perf_counter() - t0) / HELDOUT
    all_lp = score(molcomp.exact.configurations(teacher))
    n = SHAPE[0] * SHAPE[1]
    return dict(
        ll=exact, ais_se=0.0, exact=exact, kl=_kl(teacher_lp, all_lp), train_s=secs,
        infer_s=infer, n_params=n * SPECIES,
    )  # fmt: skip


def _teacher(heldout, teacher, teacher_lp) -> dict:
    exact = float(jnp.mean(teacher_lp[molcomp.exact.configuration_index(teacher, heldout)]))
    n_params = 0
    return dict(ll=exact, ais_se=0.0, exact=exact, kl=0.0, train_s=0.0, infer_s=0.0,
                n_params=n_params)  # fmt: skip


def results(size: str, ctx: Context) -> dict:
    """{learner: [per-seed dicts]}: every learner on every seed (cached for the run)."""
    key = (NAME, size)
    if key in ctx.cache:
        return ctx.cache[key]
    s = SIZES[size]
    out = {name: [] for name in LEARNERS}
    for seed in range(s["seeds"]):
        teacher, _, train, heldout = task(seed)
        teacher_lp = molcomp.exact.log_probabilities(teacher)
        out["potts_mixture"].append(_potts(seed, s, teacher, train, heldout, teacher_lp))
        out["rbm"].append(_rbm(seed, s, teacher, train, heldout, teacher_lp))
        out["independent_sites"].append(_independent(train, heldout, teacher, teacher_lp))
        out["teacher"].append(_teacher(heldout, teacher, teacher_lp))
    ctx.cache[key] = out
    return out


def mean_se(values) -> tuple[float, float]:
    """Mean and its standard error (sample standard deviation / sqrt(n); 0 for n = 1)."""
    v = np.asarray(values, float)
    se = float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
    return float(np.mean(v)), se


def _run(learner: str, size: str, ctx: Context) -> list[Measurement]:
    rows = results(size, ctx)
    mine = rows[learner]
    ll, ll_se = mean_se([r["ll"] for r in mine])
    out = [
        Measurement("heldout_log_likelihood", ll, "nats/example", True),
        Measurement("heldout_log_likelihood_stderr", ll_se, "nats/example", False),
        Measurement(
            "ais_stderr", math.sqrt(np.mean([r["ais_se"] ** 2 for r in mine])), "nats", False
        ),
        Measurement(
            "heldout_log_likelihood_exact", mean_se([r["exact"] for r in mine])[0],
            "nats/example", True,
        ),  # fmt: skip
        Measurement("kl_exact", mean_se([r["kl"] for r in mine])[0], "nats", False),
        Measurement("n_parameters", mine[0]["n_params"], "parameters", False),
        Measurement("train_wall_s", mean_se([r["train_s"] for r in mine])[0], "s", False),
        Measurement(
            "inference_s_per_example", mean_se([r["infer_s"] for r in mine])[0], "s", False
        ),
    ]
    if learner == "potts_mixture":
        diff = [a["exact"] - b["exact"] for a, b in zip(mine, rows["rbm"])]
        d, d_se = mean_se(diff)
        extra = {"versus": "rbm", "of": "heldout_log_likelihood_exact"}
        out += [
            Measurement("paired_difference", d, "nats/example", True, extra),
            Measurement("paired_difference_stderr", d_se, "nats/example", False, extra),
        ]
    return out


def cases(size: str) -> list[Case]:
    s = SIZES[size]
    base = dict(
        model="structures_2x3", L="2x3", N=SPECIES, m=STRUCTURES, epsilon=EPSILON, mu=MU,
        train=TRAIN, heldout=HELDOUT, seeds=s["seeds"], steps=s["steps"], chains=s["chains"],
        optimizer=f"adam {s['lr']}", ais=f"{s['ais_chains']} chains x {s['ais_steps']} steps",
    )  # fmt: skip
    extra = {
        "potts_mixture": dict(sampler="block_gibbs", rule="sleep_wake_pcd"),
        "rbm": dict(sampler="alternating_gibbs", rule="sleep_wake_pcd", dim=f"{N_VISIBLE}-{HIDDEN}"),
        "independent_sites": dict(rule="frequencies + 0.5"),
        "teacher": dict(rule="exact"),
    }
    return [
        Case(
            f"structures 2x3 m={STRUCTURES}",
            learner,
            KINDS.get(learner, "reference"),
            {**base, **extra[learner]},
            functools.partial(_run, learner, size),
            1,
            0,
        )
        for learner in LEARNERS
    ]
