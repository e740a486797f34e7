"""Smoke runs of the neural benchmarks (digits_classification, capacity_race) through
the harness: every record the issue lists is emitted, with sane values."""

import pytest

pytest.importorskip("sklearn")

from benchmarks import capacity_race, digits_classification  # noqa: E402


def test_digits_smoke(smoke_records, tmp_path):
    records = smoke_records(digits_classification.NAME)
    for learner in ("lagrangian_mlp", "equilibrium_propagation", "rbm_linear", "phase_boundary"):
        got = {r["metric"]: r for r in records if r["learner"] == learner}
        extra = (
            {"test_accuracy_simulated", "surrogate_agreement"}
            if learner == "phase_boundary"
            else set()
        )
        assert set(got) == {"test_accuracy", "train_wall_s"} | extra
        assert 0.0 <= got["test_accuracy"]["value"] <= 1.0
        assert got["train_wall_s"]["value"] > 0
        assert got["test_accuracy"]["params"]["split_seed"] == digits_classification.SPLIT_SEED
    # Ten epochs on 256 images already beat chance (0.1) by a wide margin for the MLP.
    mlp = [
        r for r in records if r["learner"] == "lagrangian_mlp" and r["metric"] == "test_accuracy"
    ]
    assert mlp[0]["value"] > 0.3
    # the phase-boundary classifier is a physical learner read out by its surrogate
    # (test_accuracy) and by simulating a stated subset (test_accuracy_simulated)
    pb = [r for r in records if r["learner"] == "phase_boundary"]
    assert {r["kind"] for r in pb} == {"physical"}
    assert pb[0]["params"]["m"] == 10 and pb[0]["params"]["n_simulated"] > 0
    assert "test_accuracy_simulated: full simulation" in pb[0]["params"]["readout"]
    # trained on the window of the critical nucleus at the simulation's parameters
    smoke = digits_classification.SIZES["smoke"]
    assert pb[0]["params"]["k"] == digits_classification._pb_window(smoke).k == 2
    pb_metrics = {r["metric"]: r["value"] for r in pb}
    assert 0.0 <= pb_metrics["surrogate_agreement"] <= 1.0
    assert (tmp_path / "digits_classification.png").exists()


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
    alpha = {r["params"]["rule"]: r for r in records if r["metric"] == "capacity_alpha"}
    assert set(alpha) == set(capacity_race.RULES)
    for rule, r in alpha.items():
        assert 0.0 <= r["value"] <= 2.0, rule
        assert r["params"]["N"] == capacity_race.SIZES["smoke"][0]
    # Orderings that hold at any size: the dense and modern networks reach the cap or
    # near it; pseudo-inverse stores more than Hebbian.
    assert alpha["pseudo_inverse"]["value"] >= alpha["hebbian"]["value"]
    assert alpha["modern"]["value"] == 2.0 and alpha["modern"]["params"]["lower_bound"]
    assert alpha["dense"]["value"] > alpha["hebbian"]["value"]
    assert (tmp_path / "capacity_race.png").exists()
