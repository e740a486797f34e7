"""Smoke runs of md_throughput and gradient_memory through the harness: every record
the issue lists is emitted with sane values."""

from benchmarks import gradient_memory, md_throughput


def test_md_throughput_smoke(smoke_records):
    records = smoke_records(md_throughput.NAME)
    assert {r["metric"] for r in records} == {"particle_steps_per_s"}
    for r in records:
        assert r["value"] > 0 and r["higher_is_better"]
        assert {"dim", "N", "dt", "density", "cutoff"} <= set(r["params"])


def test_gradient_memory_smoke(smoke_records):
    records = smoke_records(gradient_memory.NAME)
    mem = {
        r["params"]["checkpointing"]: r["value"]
        for r in records
        if r["metric"] == "peak_memory_bytes"
    }
    assert set(mem) == {False, True}
    # Checkpointing over blocks stores one state per block instead of every step.
    assert 0 < mem[True] < mem[False]
    assert all(r["value"] > 0 for r in records if r["metric"] == "grad_wall_s")
