"""The benchmark harness: record schema, resume rule, missing peers, tables and plots.

A fake benchmark (no JAX work) checks the resume rule case by case; one smoke run of
`sampler_throughput` at tiny sizes (first without thrml, then with it, then again)
checks the real records, the peer notice, the ratio column and that a rerun skips.
"""

import contextlib
import io
import json
import sys
import types

import pytest

from benchmarks import _harness, _report
from benchmarks._harness import RECORD_FIELDS, Case, Measurement
from benchmarks._runner import main, run

THRML = _harness.peer_available("thrml")


# ---- a fake benchmark: resume semantics without compiling anything -------------------
def _fake(calls: list, sizes: dict, fail: str | None = None):
    def make(label, learner, kind):
        def go(ctx):
            calls.append((label, learner))
            if label == fail:
                raise RuntimeError("boom")
            return [Measurement("site_updates_per_s", sizes[label] * 10.0, "site updates/s", True)]

        return Case(label, learner, kind, {"model": "ising", "L": sizes[label]}, go)

    def cases(size):
        return [
            make("a", "molcomp", "physical"),
            make("a", "fakepeer", "peer"),
            make("b", "molcomp", "physical"),
        ]

    return types.SimpleNamespace(
        NAME="fake", DESCRIPTION="fake", cases=cases, PLOTS={"fake.png": "site_updates_per_s"}
    )


def _quiet(fn, *args, **kwargs):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = fn(*args, **kwargs)
    return rc, buf.getvalue()


def test_rerun_skips_only_matching_keys(tmp_path, monkeypatch):
    calls, sizes = [], {"a": 4, "b": 8}
    bench = {"fake": _fake(calls, sizes)}
    monkeypatch.setattr(_harness, "source_hash", lambda: "v1")  # immune to edits meanwhile
    assert _quiet(run, None, "smoke", tmp_path, benchmarks=bench, progress=False)[0] == 0
    assert len(calls) == 3
    first = json.loads((tmp_path / "results.json").read_text())

    calls.clear()
    _quiet(run, None, "smoke", tmp_path, benchmarks=bench, progress=False)
    assert calls == []  # every key matches: nothing reruns
    again = json.loads((tmp_path / "results.json").read_text())
    assert again["records"] == first["records"]

    sizes["b"] = 16  # new params for case b only
    _quiet(run, None, "smoke", tmp_path, benchmarks=bench, progress=False)
    assert calls == [("b", "molcomp")]
    recs = json.loads((tmp_path / "results.json").read_text())["records"]
    assert [r["params"]["L"] for r in recs if r["case"] == "b"] == [16]  # replaced, not added
    assert len(recs) == 3

    calls.clear()  # a new code version reruns everything
    monkeypatch.setattr(_harness, "source_hash", lambda: "v2")
    _quiet(run, None, "smoke", tmp_path, benchmarks=bench, progress=False)
    assert len(calls) == 3
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_failed_case_is_reported_and_the_rest_is_kept(tmp_path):
    calls = []
    bench = {"fake": _fake(calls, {"a": 4, "b": 8}, fail="a")}
    with contextlib.redirect_stderr(io.StringIO()):
        rc, out = _quiet(run, None, "smoke", tmp_path, benchmarks=bench, progress=False)
    assert rc == 1 and "FAILED" in out
    recs = json.loads((tmp_path / "results.json").read_text())["records"]
    assert {r["case"] for r in recs} == {"b"}


def test_unwritable_out_fails_before_any_case(tmp_path, capsys):
    # `--out` must be a folder this process can write (made if missing), checked before
    # any case runs; the error names the path as the caller gave it.
    calls = []
    bench = {"fake": _fake(calls, {"a": 4, "b": 8})}
    afile = tmp_path / "results.txt"
    afile.write_text("not a folder")
    for bad in (afile, afile / "sub"):
        with pytest.raises(ValueError, match=f"out='{bad}' is not a"):
            run(None, "smoke", bad, benchmarks=bench, progress=False)
    assert calls == []
    with pytest.raises(SystemExit) as e:
        main(["run", "--smoke", "--only", "md_throughput", "--out", str(afile)])
    assert e.value.code == 2
    assert f"argument --out: out='{afile}' is not a folder" in capsys.readouterr().err
    # a missing folder is created, and the run goes ahead
    fresh = tmp_path / "new" / "dir"
    assert _quiet(run, None, "smoke", fresh, benchmarks=bench, progress=False)[0] == 0
    assert (fresh / "results.json").exists() and len(calls) == 3


def test_list_names_benchmarks_and_cases():
    rc, out = _quiet(main, ["list"])
    assert rc == 0
    assert "sampler_throughput" in out and "ising gibbs L=256 [thrml]" in out


def test_table_ratio_and_reference_fraction():
    def rec(case, learner, metric, value):
        return dict(
            benchmark="x",
            case=case,
            learner=learner,
            metric=metric,
            value=value,
            unit="u",
            higher_is_better=True,
        )

    recs = [
        rec("rng", "molcomp", "rng_uniforms_per_s", 200.0),
        rec("c", "molcomp", "site_updates_per_s", 100.0),
        rec("c", "thrml", "site_updates_per_s", 40.0),
    ]
    md = _report.table("x", recs, {"site_updates_per_s": "rng_uniforms_per_s"})
    head = next(line for line in md.splitlines() if line.startswith("| case"))
    row = next(line for line in md.splitlines() if line.startswith("| c |"))
    cells = dict(zip(_cells(head), _cells(row)))
    assert cells["molcomp/thrml"] == "2.5"
    assert cells["molcomp/rng"] == "0.500" and cells["thrml/rng"] == "0.200"


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


# ---- the real benchmark at smoke size --------------------------------------------------
@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Runs: without thrml; with thrml (if installed); an identical rerun.
    Each is (exit code, printed log, results.json)."""
    out = tmp_path_factory.mktemp("bench")
    args = ["run", "--smoke", "--only", "sampler_throughput", "--out", str(out)]

    def go():
        rc, log = _quiet(main, args)
        return rc, log, json.loads((out / "results.json").read_text())

    with pytest.MonkeyPatch.context() as mp:
        # One code version for all three runs, even if sources are edited meanwhile
        # (test_rerun_skips_only_matching_keys checks that a new version reruns).
        mp.setattr(_harness, "source_hash", lambda: "fixed")
        with pytest.MonkeyPatch.context() as no_thrml:
            no_thrml.setitem(sys.modules, "thrml", None)  # "not installed": import fails
            runs = [go()]
        if THRML:
            runs.append(go())
        runs.append(go())
    for rc, log, _ in runs:
        assert rc == 0, log
    return out, runs


@pytest.mark.slow
def test_missing_thrml_gives_a_notice(smoke):
    _, runs = smoke
    _, log, doc = runs[0]
    assert "notice: thrml is not installed" in log
    assert doc["meta"]["versions"]["thrml"] is None
    assert {r["learner"] for r in doc["records"]} == {"molcomp", "jax"}


@pytest.mark.slow
def test_records_follow_the_schema(smoke):
    _, runs = smoke
    doc = runs[-1][2]
    meta = doc["meta"]
    for key in ("git_commit", "code_version", "versions", "device", "cpu_count", "date"):
        assert key in meta
    for pkg in ("python", "jax", "jaxlib", "jax_md", "equinox", "thrml"):
        assert pkg in meta["versions"]
    assert meta["device"]["count"] >= 1
    metrics = set()
    for r in doc["records"]:
        assert tuple(r) == RECORD_FIELDS
        assert r["benchmark"] == "sampler_throughput"
        assert r["learner"] in {"molcomp", "thrml", "jax"}
        assert r["kind"] in _harness.KINDS
        assert isinstance(r["value"], float) and r["value"] > 0
        assert r["higher_is_better"] == (r["metric"] != "build_s")
        assert isinstance(r["params"], dict) and r["wall_s"] >= 0
        metrics.add(r["metric"])
        if r["metric"] == "site_updates_per_s":
            assert {"model", "sampler", "L", "q", "chains", "sweeps"} <= set(r["params"])
        if r["metric"] == "rng_uniforms_per_s":
            assert r["kind"] == "reference"
    assert metrics == {"site_updates_per_s", "build_s", "rng_uniforms_per_s"}
    samplers = {r["params"].get("sampler") for r in doc["records"]}
    assert {"block_gibbs", "metropolis_uniform", "metropolis_neighbour"} <= samplers


@pytest.mark.slow
@pytest.mark.skipif(not THRML, reason="thrml is not installed")
def test_peer_rows_ratio_and_resume(smoke):
    out, runs = smoke
    (_, _, without), (_, _, with_peer), (_, log, rerun) = runs
    ours = [r for r in with_peer["records"] if r["learner"] == "molcomp"]
    # molcomp's cases (and the jax reference) were stored, not rerun
    assert [r for r in with_peer["records"] if r["learner"] != "thrml"] == without["records"]
    assert "done" not in log and "stored" in log
    assert rerun["records"] == with_peer["records"]
    peer = {(r["case"], r["metric"]): r for r in rerun["records"] if r["learner"] == "thrml"}
    assert {m for _, m in peer} == {"site_updates_per_s", "build_s"}
    for (case, metric), p in peer.items():  # same model sizes for both libraries
        mine = next(r for r in ours if r["case"] == case and r["metric"] == metric)
        assert mine["params"] == p["params"]
    md = (out / "results.md").read_text()
    head = next(line for line in md.splitlines() if line.startswith("| case"))
    case = next(c for c, m in peer if m == "site_updates_per_s")
    row = next(line for line in md.splitlines() if line.startswith(f"| {case} |"))
    cells = dict(zip(_cells(head), _cells(row)))
    mine = next(r for r in ours if r["case"] == case)["value"]
    assert cells["molcomp/thrml"] == f"{mine / peer[case, 'site_updates_per_s']['value']:.3g}"
    assert (out / "sampler_throughput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
