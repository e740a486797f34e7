"""Smoke run of the nucleation_classifier benchmark through the harness: every record
the issue lists, for both learners, with sane values; the 2D toy's phase map; the data
(resized digits, perturbed copies and other writers' digits as held-out images)."""

import contextlib
import io
import json

import numpy as np
import pytest

pytest.importorskip("sklearn")

from benchmarks import nucleation_classifier as nc  # noqa: E402
from benchmarks._runner import run  # noqa: E402

METRICS = {
    "train_correct",
    "heldout_accuracy",
    "surrogate_heldout_accuracy",
    "worst_margin",
    "model_evaluations",
    "train_wall_s",
    "surrogate_agreement",
    "surrogate_agreement_train",
}


def test_nucleation_classifier_smoke(tmp_path):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = run([nc.NAME], "smoke", tmp_path, progress=False)
    assert rc == 0, buf.getvalue()
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    s = nc.SIZES["smoke"]
    n_train = len(nc.DIGITS) * s["per_class"]
    evals = {}
    for learner in nc.LEARNERS:
        got = {
            r["metric"]: r["value"]
            for r in records
            if r["learner"] == learner and r["case"] != "toy 2d"
        }
        assert set(got) == METRICS, learner
        assert 0 <= got["train_correct"] <= n_train
        fractions = ("heldout_accuracy", "surrogate_heldout_accuracy", "surrogate_agreement",
                     "surrogate_agreement_train")  # fmt: skip
        for metric in fractions:
            assert 0.0 <= got[metric] <= 1.0, metric
        assert got["train_wall_s"] > 0
        evals[learner] = got["model_evaluations"]
    # budgets: steps gradients (2 b each) vs HILL_BUDGET x 2 steps proposals (b each),
    # plus the initial loss of the climb and the final check of each
    b = n_train
    assert evals["gradient"] == 2 * b * s["steps"] + b
    assert evals["hill_climb"] == b * (2 * nc.HILL_BUDGET * s["steps"] + 1) + b
    # the surrogate's window is the critical nucleus at the simulation's parameters
    params = next(r["params"] for r in records if r["learner"] == "gradient")
    assert params["k"] == nc.nucleation(s).k == 2
    # the 2D toy: three separated clusters, a linear dosing of 3 structures: all right
    toy = {r["metric"]: r["value"] for r in records if r["case"] == "toy 2d"}
    assert toy["train_accuracy"] == 1.0
    assert (tmp_path / nc.PHASE_MAP).stat().st_size > 0
    assert (tmp_path / "nucleation_classifier.png").exists()


def test_heldout_images_are_perturbed_copies_and_other_writers():
    xtr, ytr, xh, yh = nc.load(px=16, per_class=2, variants=3, others=2)
    assert xtr.shape == (6, 256) and xh.shape == (6 * 3 + 3 * 2, 256)
    assert xtr.min() >= 0 and xtr.max() <= 1 and xh.min() >= 0 and xh.max() <= 1
    np.testing.assert_array_equal(yh[:18], np.repeat(ytr, 3))
    np.testing.assert_array_equal(yh[18:], np.repeat(np.arange(3), 2))
    assert np.all(np.abs(xh[:18] - np.repeat(xtr, 3, axis=0)).max(axis=1) > 0)  # perturbed
    # the other writers' digits are none of the training images
    dist = np.abs(xh[18:, None, :] - xtr[None]).max(axis=-1)
    assert dist.min() > 0.1


def test_resize_is_bilinear():
    rng = np.random.default_rng(0)
    img = rng.random((8, 8))
    np.testing.assert_allclose(nc.resize(img, 8), img)  # same size: identity
    up = nc.resize(img, 30)
    assert up.shape == (30, 30)
    assert up.min() >= img.min() - 1e-12 and up.max() <= img.max() + 1e-12  # convex weights
    ramp = np.tile(np.linspace(0, 1, 8), (8, 1))  # a linear ramp stays linear inside
    row = nc.resize(ramp, 16)[0, 1:-1]
    np.testing.assert_allclose(np.diff(row), np.diff(row)[0], atol=1e-12)
