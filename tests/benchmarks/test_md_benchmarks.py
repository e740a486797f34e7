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
        (r["params"]["T"], r["params"]["checkpointing"]): r["value"]
        for r in records
        if r["metric"] == "peak_memory_bytes"
    }
    lengths = gradient_memory.SIZES["smoke"][1]
    assert set(mem) == {(T, c) for T in lengths for c in (False, True)}
    short, long = min(lengths), max(lengths)
    # Plain reverse mode stores every step: memory grows with T. Blocks of sqrt(T)
    # steps store T / b + b states instead, so at the longer T they need less.
    assert mem[long, False] > mem[short, False]
    assert 0 < mem[long, True] < mem[long, False]
    (exponent,) = [r["value"] for r in records if r["metric"] == "memory_exponent"]
    # Plain memory is linear in T (slope ~1); sqrt(T) blocks give slope <= 1/2 plus
    # fixed costs, which only lower it.
    assert exponent < 0.75
    assert all(r["value"] > 0 for r in records if r["metric"] == "grad_wall_s")
