"""The multifarious benchmark at smoke size: every record the issue lists, with the
exact metric names and flat params, phase counts that add up, recall times within the
budget, the phase-map PNG and the progress file a rerun resumes from; the exponent fit
on exact power laws."""

import json

import numpy as np
import pytest
import scipy.stats

from benchmarks import multifarious


@pytest.mark.slow
def test_smoke_run_emits_every_record(smoke_records, tmp_path):
    recs = smoke_records(multifarious.NAME)
    size = multifarious.SIZES["smoke"]
    n_points = len(size["eps"]) * len(size["delta"])
    for r in recs:  # the contract: flat params (no lists or dicts)
        assert all(isinstance(v, str | int | float) for v in r["params"].values()), r
    for kin in multifarious.KINETICS:
        mine = [r for r in recs if r["params"]["kinetics"] == kin]
        phase = [r for r in mine if r["metric"] == "phase_points"]
        assert {r["params"]["phase"] for r in phase} == set(multifarious.PHASES)
        assert all(r["params"]["N"] == size["N"] and r["params"]["m"] == 4 for r in phase)
        assert sum(r["value"] for r in phase) == n_points
        m_max = [r for r in mine if r["metric"] == "m_max"]
        assert sorted(r["params"]["N"] for r in m_max) == sorted(size["caps"])
        assert all(0 <= r["value"] <= max(size["ms"]) for r in m_max)
        assert len([r for r in mine if r["metric"] == "capacity_exponent"]) == 1
        # First-passage times of m = 1 recall: within the budget, a whole segment each.
        unfinished = [r for r in mine if r["metric"] == "recall_unfinished"]
        assert sorted(r["params"]["N"] for r in unfinished) == sorted(size["caps"])
        assert all(0 <= r["value"] <= size["runs"] for r in unfinished)
        for r in mine:
            if r["metric"] in ("recall_time", "recall_time_max"):
                N = r["params"]["N"]
                budget = size["sweeps"] if kin == "metropolis" else size["time"] * N
                seg = budget / multifarious.RECALL_SEGMENTS
                assert seg <= r["value"] <= budget, r
                assert r["value"] / seg == pytest.approx(round(r["value"] / seg)), r
    assert (tmp_path / "multifarious_phases.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    progress = json.loads((tmp_path / "multifarious_progress.json").read_text())
    n_batches = len(size["eps"]) + len(size["caps"]) * (len(size["ms"]) + 1)
    assert len(progress) == len(multifarious.KINETICS) * n_batches


def test_exponent_fit():
    Ns = [64, 144, 256, 400]
    slope, se = multifarious.fit_exponent(Ns, [0.3 * n**0.5 for n in Ns])
    assert slope == pytest.approx(0.5) and se == pytest.approx(0.0, abs=1e-6)
    noisy = [0.3 * n**0.5 * f for n, f in zip(Ns, [1.1, 0.9, 1.05, 0.95])]
    slope, se = multifarious.fit_exponent(Ns, noisy)
    fit = scipy.stats.linregress(np.log(Ns), np.log(noisy))
    assert slope == pytest.approx(fit.slope) and se == pytest.approx(fit.stderr)
    # Sizes with m_max = 0 are left out; fewer than three points give no error bar.
    slope, se = multifarious.fit_exponent(Ns, [0, 0, 2.0, 4.0])
    assert slope == pytest.approx(np.log(2) / np.log(400 / 256)) and se is None
    assert multifarious.fit_exponent(Ns, [0, 0, 0, 2.0]) == (0.0, None)
