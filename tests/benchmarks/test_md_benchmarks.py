"""Smoke runs of md_throughput and gradient_memory through the harness: every record
the issue lists is emitted with sane values."""

import contextlib
import io
import json

from benchmarks import gradient_memory, md_throughput
from benchmarks._runner import run


def _run(name, tmp_path):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = run([name], "smoke", tmp_path, progress=False)
    assert rc == 0, buf.getvalue()
    return json.loads((tmp_path / "results.json").read_text())["records"]


def test_md_throughput_smoke(tmp_path):
    records = _run(md_throughput.NAME, tmp_path)
    assert {r["metric"] for r in records} == {"particle_steps_per_s"}
    for r in records:
        assert r["value"] > 0 and r["higher_is_better"]
        assert {"dim", "N", "dt", "density", "cutoff"} <= set(r["params"])


def test_gradient_memory_smoke(tmp_path):
    records = _run(gradient_memory.NAME, tmp_path)
    mem = {
        r["params"]["checkpointing"]: r["value"]
        for r in records
        if r["metric"] == "peak_memory_bytes"
    }
    assert set(mem) == {False, True}
    # Checkpointing over blocks stores one state per block instead of every step.
    assert 0 < mem[True] < mem[False]
    assert all(r["value"] > 0 for r in records if r["metric"] == "grad_wall_s")
