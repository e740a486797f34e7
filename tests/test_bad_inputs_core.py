"""Bad calls into molcomp's lattice core (samplers, models, lattices, files, exact
enumeration) and into `learning`: each raises the expected exception type, naming the
argument, before any work starts: the exception is raised by the argument checks, not
from inside a JAX trace or a compiled run (no frame of the traceback lies in JAX's
tracing or execution machinery)."""

import re

import jax
import numpy as np
import optax
import pytest

import learning
import molcomp
from molcomp import lattice

# JAX's tracing and execution machinery: a check raised from there came after work began.
_INSIDE_JAX = re.compile(r"jax[/\\]_src[/\\](interpreters|pjit|lax[/\\]control_flow|api\.py)")


@pytest.fixture(autouse=True)
def _full_tracebacks():
    """JAX hides its own frames from tracebacks by default; show them, so that the
    traceback rule above can see them (restored after each test)."""
    before = jax.config.jax_traceback_filtering
    jax.config.update("jax_traceback_filtering", "off")
    yield
    jax.config.update("jax_traceback_filtering", before)


def _model(q=3):
    """A 3x3 periodic Potts model with q species and an empty state."""
    return molcomp.PottsModel(
        lattice.square(3), molcomp.Couplings.symmetric(np.eye(q)), mu=np.zeros(q), empty=True
    )


M = _model()
KEY = jax.random.key(0)
ZEROS = np.zeros(9, np.int32)
GIBBS = molcomp.BlockGibbs()
NEIGHBOUR = molcomp.Metropolis(proposal="neighbour")
BM = learning.neural.BoltzmannMachine.random(KEY, 4)
DATA = np.zeros((8, 4), np.int32)
SEQ = learning.neural.SequentialGibbs()
HOP = learning.memory.Hopfield.hebbian(np.sign(np.random.default_rng(0).normal(size=(2, 16))))


def _big_values():
    x = np.zeros(9, np.int64)
    x[4] = 2**32 + 1  # wraps to 1 in an int32 cast: must be refused before it
    return x


def _sample(sampler=GIBBS, state=None, **kw):
    state = GIBBS.init(M, ZEROS) if state is None else state
    return lambda: molcomp.sample(kw.pop("key", KEY), M, sampler, state, kw.pop("steps", 2), **kw)


def _fit(**kw):
    args = dict(key=KEY, model=BM, sampler=SEQ, data=DATA, optimizer=optax.sgd(0.1), steps=2)
    extra = {k: kw.pop(k) for k in list(kw) if k not in args}
    args.update(kw)
    return lambda: learning.fit(*args.values(), **extra)


def _corrupt_file(tmp):
    path = tmp / "m.eqx"
    molcomp.save(path, M)
    raw = bytearray(path.read_bytes())
    raw[-2] ^= 1
    path.write_bytes(bytes(raw))
    return lambda: molcomp.load(path)


# (id, factory of the bad call, exception type, text the message must contain)
ROWS = [
    # ---- keys
    ("sample-key", lambda t: _sample(key=0), TypeError, "key"),
    ("sample-key-shape", lambda t: _sample(key=np.zeros(3, np.uint32)), TypeError, "key"),
    ("gibbs-step-key", lambda t: lambda: GIBBS.step(1, M, GIBBS.init(M, ZEROS)), TypeError, "key"),
    (
        "run_for-key",
        lambda t: (
            lambda: molcomp.Gillespie().run_for("k", M, molcomp.Gillespie().init(M, ZEROS), 1.0, 10)
        ),
        TypeError,
        "key",
    ),
    ("exact-sample-key", lambda t: lambda: molcomp.exact.sample(None, M, 4), TypeError, "key"),
    ("exact-uniform-key", lambda t: lambda: molcomp.exact.uniform(7, M, 4), TypeError, "key"),
    (
        "structures-key",
        lambda t: lambda: molcomp.structures.random(3, lattice.square(3), 9, 2),
        TypeError,
        "key",
    ),
    ("fit-key", lambda t: _fit(key=3), TypeError, "key"),
    (
        "estimate_grad-key",
        lambda t: (
            lambda: learning.estimate_grad(1, BM, learning.Observed(DATA), learning.PCD(SEQ), None)
        ),
        TypeError,
        "key",
    ),
    ("bm-random-key", lambda t: lambda: learning.neural.RBM.random(1, 4, 2), TypeError, "key"),
    ("recall-key", lambda t: lambda: learning.memory.recall(1, HOP, np.ones(16)), TypeError, "key"),
    (
        "ais-key",
        lambda t: lambda: learning.AIS(4, 4).log_partition(0, BM, SEQ),
        TypeError,
        "key",
    ),
    # ---- configurations
    ("init-wraps", lambda t: lambda: GIBBS.init(M, _big_values()), ValueError, "config"),
    ("check_state-wraps", lambda t: lambda: M.check_state(_big_values()), ValueError, "state"),
    ("init-float", lambda t: lambda: GIBBS.init(M, np.zeros(9)), TypeError, "config"),
    ("init-shape", lambda t: lambda: GIBBS.init(M, np.zeros(8, int)), ValueError, "config"),
    (
        "sample-other-model",
        lambda t: _sample(state=GIBBS.init(_model(9), np.full(9, 8))),
        ValueError,
        "state",
    ),
    (
        "sample-other-sampler",
        lambda t: _sample(state=NEIGHBOUR.init(M, ZEROS)),
        TypeError,
        "state was initialised by Metropolis(proposal='neighbour')",
    ),
    ("sample-plain-state", lambda t: _sample(sampler=NEIGHBOUR), TypeError, "BlockGibbs"),
    ("sample-not-a-state", lambda t: _sample(state=ZEROS), TypeError, "state"),
    (
        "sample-sampler",
        lambda t: lambda: molcomp.sample(KEY, M, "gibbs", 0, 2),
        TypeError,
        "sampler",
    ),
    ("sample-steps", lambda t: _sample(steps=0), ValueError, "steps"),
    ("sample-chunk", lambda t: _sample(chunk=-1), ValueError, "chunk"),
    # ---- settings of samplers, models and lattices
    ("metropolis-proposal", lambda t: lambda: molcomp.Metropolis("x"), ValueError, "proposal"),
    (
        "metropolis-prob",
        lambda t: lambda: molcomp.Metropolis(neighbour_prob=1.5),
        ValueError,
        "neighbour_prob",
    ),
    ("gillespie-rate", lambda t: lambda: molcomp.Gillespie(rate=0.0), ValueError, "rate"),
    ("gillespie-events", lambda t: lambda: molcomp.Gillespie(events=0), ValueError, "events"),
    (
        "couplings-asymmetric",
        lambda t: lambda: molcomp.Couplings.symmetric(np.triu(np.ones((3, 3)))),
        ValueError,
        "J",
    ),
    (
        "mu-nan",
        lambda t: (
            lambda: molcomp.PottsModel(
                lattice.square(3), molcomp.Couplings.symmetric(np.eye(2)), mu=[0.0, np.nan]
            )
        ),
        ValueError,
        "mu",
    ),
    ("exact-uniform-n", lambda t: lambda: molcomp.exact.uniform(KEY, M, 0), ValueError, "n"),
    # ---- files
    ("save-non-model", lambda t: lambda: molcomp.save(t / "x.eqx", ZEROS), TypeError, "model"),
    ("load-corrupted", _corrupt_file, ValueError, "checksum"),
    ("save-unwritable", lambda t: lambda: molcomp.save(t, M), OSError, "cannot write"),
    # ---- learning: objects of the wrong kind and numeric settings
    ("fit-optimizer", lambda t: _fit(optimizer="adam"), TypeError, "optimizer"),
    ("fit-evaluate", lambda t: _fit(evaluate="kl"), TypeError, "evaluate"),
    ("fit-model_phase", lambda t: _fit(model_phase="pcd"), TypeError, "model_phase"),
    ("fit-data", lambda t: _fit(data="data.npy"), TypeError, "data"),
    ("fit-steps", lambda t: _fit(steps=0), ValueError, "steps"),
    ("fit-check_finite", lambda t: _fit(check_finite="yes"), TypeError, "check_finite"),
    ("ais-chains", lambda t: lambda: learning.AIS(chains=0), ValueError, "chains"),
    (
        "ais-schedule",
        lambda t: lambda: learning.AIS(schedule=[0, 0.5, 0.4, 1]),
        ValueError,
        "schedule",
    ),
    ("evaluation-every", lambda t: lambda: learning.Evaluation(0), ValueError, "every"),
    ("evaluation-ais", lambda t: lambda: learning.Evaluation(1, ais="ais"), TypeError, "ais"),
    (
        "recall-fraction",
        lambda t: lambda: learning.memory.recall_overlaps(KEY, HOP, fraction=1.5),
        ValueError,
        "fraction",
    ),
    (
        "recall-steps",
        lambda t: lambda: learning.memory.recall(KEY, HOP, np.ones(16), steps=-1),
        ValueError,
        "steps",
    ),
    (
        "capacity-threshold",
        lambda t: lambda: learning.memory.capacity(KEY, lambda k, p: HOP, 16, [1], threshold=2),
        ValueError,
        "threshold",
    ),
    (
        "capacity-probes",
        lambda t: lambda: learning.memory.capacity(KEY, lambda k, p: HOP, 16, [1], probes=0),
        ValueError,
        "probes",
    ),
    (
        "capacity-loads",
        lambda t: lambda: learning.memory.capacity(KEY, lambda k, p: HOP, 16, [0, 2]),
        ValueError,
        "ps",
    ),
    (
        "capacity-build",
        lambda t: lambda: learning.memory.capacity(KEY, "hopfield", 16, [1]),
        TypeError,
        "build",
    ),
    (
        "corrupt-fraction",
        lambda t: lambda: HOP.corrupt(KEY, np.ones(16), -0.1),
        ValueError,
        "fraction",
    ),
    (
        "eqprop-step_size",
        lambda t: lambda: learning.backprop.relax(None, None, None, None, 0.0, 5, step_size=0.0),
        ValueError,
        "step_size",
    ),
    (
        "hebbian-eta",
        lambda t: (lambda s: lambda: learning.hebbian.exposure(s, np.inf))(
            molcomp.structures.random(KEY, lattice.square(3), 9, 1)
        ),
        ValueError,
        "eta",
    ),
]


@pytest.mark.parametrize("factory, exc, text", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_call_is_refused_up_front(tmp_path, factory, exc, text):
    call = factory(tmp_path)
    with pytest.raises(exc) as info:
        call()
    assert text in str(info.value), str(info.value)
    inside = [e.path for e in info.traceback if _INSIDE_JAX.search(str(e.path))]
    assert not inside, f"raised from inside a JAX trace or run: {inside}"


def test_the_table_is_broad():
    assert len(ROWS) >= 25
    assert len({r[0] for r in ROWS}) == len(ROWS)


def test_a_check_inside_a_trace_is_seen():
    """Positive control of the traceback rule: an error raised while JAX traces is caught."""

    def late(x):
        raise ValueError("x checked too late")

    with pytest.raises(ValueError) as info:
        jax.jit(late)(np.zeros(3))
    assert any(_INSIDE_JAX.search(str(e.path)) for e in info.traceback)
