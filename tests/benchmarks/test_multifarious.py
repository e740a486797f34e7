"""The multifarious benchmark at smoke size: every record the issue lists, with the
exact metric names and params, phase counts that add up, and the phase-map PNG."""

import contextlib
import io
import json

import pytest

from benchmarks import _harness, multifarious
from benchmarks._runner import main


@pytest.mark.slow
def test_smoke_run_emits_every_record(tmp_path, monkeypatch):
    monkeypatch.setattr(_harness, "source_hash", lambda: "fixed")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["run", "--smoke", "--only", "multifarious", "--out", str(tmp_path)])
    assert rc == 0, buf.getvalue()
    recs = json.loads((tmp_path / "results.json").read_text())["records"]
    size = multifarious.SIZES["smoke"]
    for kin in multifarious.KINETICS:
        phase = [
            r for r in recs if r["metric"] == "phase_points" and r["params"]["kinetics"] == kin
        ]
        assert {r["params"]["phase"] for r in phase} == set(multifarious.PHASES)
        assert all(r["params"]["N"] == size["N"] and r["params"]["m"] == 4 for r in phase)
        assert sum(r["value"] for r in phase) == size["grid"] ** 2
        m_max = [r for r in recs if r["metric"] == "m_max" and r["params"]["kinetics"] == kin]
        assert sorted(r["params"]["N"] for r in m_max) == sorted(size["caps"])
        assert all(0 <= r["value"] <= max(size["ms"]) for r in m_max)
        exp = [r for r in recs if r["metric"] == "capacity_exponent"]
        assert {r["params"]["kinetics"] for r in exp} == set(multifarious.KINETICS)
    assert (tmp_path / "multifarious_phases.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
