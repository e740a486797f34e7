"""Smoke run of the sleep_wake_training benchmark through the harness."""

import contextlib
import io
import json
import math

from benchmarks import _harness, sleep_wake_training
from benchmarks._runner import run


def test_sleep_wake_benchmark_smoke(tmp_path):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = run([sleep_wake_training.NAME], "smoke", tmp_path, progress=False)
    assert rc == 0, buf.getvalue()
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    learners = {"molcomp"} | ({"thrml"} if _harness.peer_available("thrml") else set())
    case = "random ising n=8"
    for learner in learners:
        got = {r["metric"]: r for r in records if r["learner"] == learner and r["case"] == case}
        assert {"time_to_kl_s", "final_kl"} <= set(got)
        assert got["time_to_kl_s"]["params"]["chains"] == 16
        assert 0 < got["final_kl"]["value"] < 0.2  # it learnt (start: 1.5 nats)
    ours = {
        r["metric"]: r["value"] for r in records if r["learner"] == "molcomp" and r["case"] == case
    }
    assert math.isfinite(ours["time_to_kl_s"]) and ours["final_kl"] < 0.05
    assert (tmp_path / "sleep_wake_training.png").exists()


def test_curve_plot(tmp_path):
    curve = {"step": [10, 20], "kl": [0.3, 0.02], "seconds": [0.1, 0.2]}
    path = sleep_wake_training.plot_curves({("case", "molcomp"): curve}, tmp_path / "c.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
