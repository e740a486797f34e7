"""Smoke run of the nucleation_classifier benchmark through the harness: every record
the issue lists, for both learners, with sane values."""

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
    "worst_margin",
    "model_evaluations",
    "train_wall_s",
    "surrogate_agreement",
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
        got = {r["metric"]: r["value"] for r in records if r["learner"] == learner}
        assert set(got) == METRICS, learner
        assert 0 <= got["train_correct"] <= n_train
        assert 0.0 <= got["heldout_accuracy"] <= 1.0
        assert 0.0 <= got["surrogate_agreement"] <= 1.0
        assert got["train_wall_s"] > 0
        evals[learner] = got["model_evaluations"]
    # equal budgets: steps gradients (2 b each) vs 2 steps proposals (b each), plus the
    # initial loss of the climb and the final check of each
    b = n_train
    assert evals["gradient"] == 2 * b * s["steps"] + b
    assert evals["hill_climb"] == b * (2 * s["steps"] + 1) + b


def test_heldout_images_are_perturbed_training_images():
    xtr, ytr, xh, yh = nc.load(up=2, per_class=2, variants=3)
    assert xtr.shape == (6, 256) and xh.shape == (18, 256)
    assert xtr.min() >= 0 and xtr.max() <= 1 and xh.min() >= 0 and xh.max() <= 1
    np.testing.assert_array_equal(yh, np.repeat(ytr, 3))
    assert np.all(np.abs(xh - np.repeat(xtr, 3, axis=0)).max(axis=1) > 0)  # all perturbed
