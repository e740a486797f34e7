"""Smoke runs of the physical-vs-neural benchmarks (digits_classification, capacity_race)
through the harness: every record the issue lists is emitted, with sane values."""

import pytest

pytest.importorskip("sklearn")

from benchmarks import _phase_boundary, capacity_race, digits_classification  # noqa: E402

COSTS = {"n_parameters", "train_wall_s", "inference_s_per_example"}


def test_digits_smoke(smoke_records, tmp_path):
    records = smoke_records(digits_classification.NAME)
    by = {}
    for r in records:
        by.setdefault(r["learner"], {})[r["metric"]] = r
    assert set(by) == set(digits_classification.LEARNERS)
    for learner, got in by.items():
        assert {"test_accuracy", "test_accuracy_stderr"} | COSTS <= set(got), learner
        assert 0.0 <= got["test_accuracy"]["value"] <= 1.0
        assert got["test_accuracy_stderr"]["value"] > 0, learner
        assert got["train_wall_s"]["value"] > 0 and got["inference_s_per_example"]["value"] > 0
        assert got["n_parameters"]["value"] >= 650  # logistic regression: 64 x 10 + 10
        assert got["test_accuracy"]["params"]["split_seed"] == digits_classification.SPLIT_SEED
    assert by["logistic_regression"]["n_parameters"]["value"] == 650
    # Ten epochs on 256 images already beat chance (0.1) by a wide margin for the MLP.
    assert by["lagrangian_mlp"]["test_accuracy"]["value"] > 0.3
    # the phase-boundary classifier is a physical learner read out by simulation; the
    # surrogate's figure has its own name, and the baselines are references
    pb = by["phase_boundary"]
    assert {r["kind"] for r in pb.values()} == {"physical"}
    assert by["linear_map"]["test_accuracy"]["kind"] == "reference"
    assert by["logistic_regression"]["test_accuracy"]["kind"] == "reference"
    params = pb["test_accuracy"]["params"]
    assert params["readout"] == "simulation" and params["m"] == 10
    smoke = digits_classification.SIZES["smoke"]
    assert params["n_simulated"] == smoke["pb_sim"]
    assert 0.0 <= pb["surrogate_test_accuracy"]["value"] <= 1.0
    assert 0.0 <= pb["surrogate_agreement"]["value"] <= 1.0
    for other in ("linear_map", "logistic_regression"):
        d = pb[f"paired_difference_vs_{other}"]
        assert -1.0 <= d["value"] <= 1.0 and d["params"]["versus"] == other
        assert pb[f"paired_difference_vs_{other}_stderr"]["value"] >= 0
    # trained on the window of the critical nucleus at the simulation's parameters
    assert params["k"] == _phase_boundary.window(smoke["pb_sweeps"]).k == 2
    assert (tmp_path / "digits_classification.png").exists()


def test_digits_paired_and_accuracy_errors():
    import numpy as np

    # one seed: binomial standard error; paired: standard error of the per-image mean
    a, se = digits_classification.accuracy([np.array([1, 1, 0, 1])])
    assert a == 0.75 and se == pytest.approx((0.75 * 0.25 / 4) ** 0.5)
    d, dse = digits_classification.paired([np.array([1.0, 0.0, 0.0, -1.0])])
    assert d == 0.0 and dse == pytest.approx(np.std([1, 0, 0, -1], ddof=1) / 2)
    # several seeds add the spread of the seed means
    _, se2 = digits_classification.accuracy([np.array([1, 1, 0, 1]), np.array([1, 0, 0, 1])])
    assert se2 > (0.625 * 0.375 / 4) ** 0.5


def test_linear_map_readout_is_linear_in_the_image():
    import jax.numpy as jnp
    import numpy as np

    xtr, ytr, xte, _ = digits_classification.load(200)
    clf, _ = _phase_boundary.fit(0, 5, 200, xtr, ytr)
    readout = _phase_boundary.linear_readout(clf, xtr, ytr)
    assert readout.shape[0] == 10 and np.allclose(np.asarray(readout).sum(axis=1), 1.0)
    sums = _phase_boundary._window_sums(clf, jnp.asarray(xte[:3]))
    # the score of every structure is affine in x: f(x + y) - f(y) = f(x) - f(0)
    score = lambda x: jnp.sum(_phase_boundary._window_sums(clf, x) * readout[None], -1)  # noqa: E731
    x, y, z = jnp.asarray(xte[:1]), jnp.asarray(xte[1:2]), jnp.zeros((1, 64))
    assert np.allclose(score(x + y) - score(y), score(x) - score(z), atol=1e-3)
    assert sums.shape[:2] == (3, 10)
    pred = _phase_boundary.linear_predict(clf, readout, xte[:3])
    assert pred.shape == (3,) and set(pred.tolist()) <= set(range(10))


def test_digits_phase_boundary_anneal_is_structure_specific():
    # The anneal must end where one bond does not pay for any dosed species
    # (beta epsilon < -mu_hi: else a chimeric aggregate fills the lattice), two bonds
    # pay for the densest dosed species (2 beta epsilon > -mu_hi) and not for the
    # sparsest (2 beta epsilon < -mu_lo).
    import numpy as np

    pb, sim = digits_classification.PHASE_BOUNDARY, digits_classification.PB_SIM
    mu_hi, mu_lo = pb["mu_base"] + np.log(11.0), pb["mu_base"] - np.log(11.0)
    bond = sim["epsilon"] * sim["beta"][1]
    assert bond < -mu_hi < 2 * bond < -mu_lo


def test_digits_split_is_stratified_70_30():
    xtr, ytr, xte, yte = digits_classification.load()
    assert len(xtr) + len(xte) == 1797
    assert abs(len(xte) / 1797 - 0.3) < 0.01
    assert xtr.max() <= 1.0 and xtr.min() >= 0.0
    import numpy as np

    # stratified: class fractions agree between train and test to within one image
    ftr = np.bincount(ytr, minlength=10) / len(ytr)
    fte = np.bincount(yte, minlength=10) / len(yte)
    assert np.max(np.abs(ftr - fte)) < 2 / len(yte)


def test_capacity_race_smoke(smoke_records, tmp_path):
    records = smoke_records(capacity_race.NAME)
    alpha = [r for r in records if r["metric"] == "capacity_alpha"]
    rules = {r["params"]["rule"]: r for r in alpha if r["params"]["rule"] != "mixture"}
    assert set(rules) == set(capacity_race.RULES)
    mixture = {r["params"]["kinetics"]: r for r in alpha if r["params"]["rule"] == "mixture"}
    assert set(mixture) == set(capacity_race.KINETICS)
    for r in alpha:
        p = r["params"]
        assert 0.0 <= r["value"] <= p["p_cap"] / p["N"]
        assert (
            p["threshold"] == capacity_race.THRESHOLD and p["cue_noise"] == capacity_race.FRACTION
        )
        assert p["probes"] == capacity_race.PROBES["smoke"]  # one criterion for all
        # lower_bound comes from the search: true exactly when the cap itself passed
        tried = [int(v) for v in p["loads_tried"].split(",")]
        assert max(tried) == p["p_cap"]
        assert p["lower_bound"] == (p["p_max"] == p["p_cap"])
        assert p["p_max"] == round(r["value"] * p["N"])
        assert p["p_max"] == 0 or p["p_max"] in tried
    for r in rules.values():
        assert r["kind"] == "neural" and r["params"]["N"] == capacity_race.SIZES["smoke"][0]
    for r in mixture.values():
        assert r["kind"] == "physical" and r["params"]["N"] == capacity_race.MIX_SIZES["smoke"][0]
        assert r["value"] > 0  # one structure is recalled from a 90 % cue
    # Orderings that hold at any size: the dense and modern networks reach the cap or
    # near it; pseudo-inverse stores more than Hebbian.
    assert rules["pseudo_inverse"]["value"] >= rules["hebbian"]["value"]
    assert rules["modern"]["value"] == 2.0 and rules["modern"]["params"]["lower_bound"]
    assert not rules["hebbian"]["params"]["lower_bound"]
    assert rules["dense"]["value"] > rules["hebbian"]["value"]
    costs = {r["case"] for r in records if r["metric"] in COSTS}
    assert costs == {r["case"] for r in alpha}
    assert (tmp_path / "capacity_race.png").exists()


def test_capacity_search_sets_lower_bound_from_the_loads():
    """A fake memory whose overlap falls below the threshold above a known load."""
    import jax
    import jax.numpy as jnp

    def evaluate(key, memory, fraction, steps, probes):
        return jnp.full(3, 1.0 if memory <= 7 else 0.5)

    build = lambda key, p: p  # noqa: E731
    alpha, seen, lower = capacity_race.search(
        jax.random.key(0), build, 10, range(1, 21), steps=1, probes=3, evaluate=evaluate
    )
    assert alpha == 0.7 and not lower and 20 in seen
    alpha, _, lower = capacity_race.search(
        jax.random.key(0), build, 10, range(1, 6), steps=1, probes=3, evaluate=evaluate
    )
    assert alpha == 0.5 and lower
