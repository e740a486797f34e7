"""The GPU section (benchmarks/gpu.py): skipped with a notice without a GPU, and the
same script run on CPU at smoke size (seconds), so it is known to work before it meets
a GPU."""

import contextlib
import io
import json
import types

import pytest

from benchmarks import gpu
from benchmarks._runner import run


def test_no_gpu_no_cases(capsys):
    if gpu.gpu_visible():
        pytest.skip("a GPU is visible")
    assert gpu.cases("full") == []
    assert "no GPU visible" in capsys.readouterr().out


def test_peak_bandwidth_lookup():
    assert gpu.peak_bandwidth("NVIDIA H200") == 4.8e12
    assert gpu.peak_bandwidth("NVIDIA H100 80GB HBM3") == 3.35e12
    assert gpu.peak_bandwidth("NVIDIA H100 PCIe") == 2.0e12
    assert gpu.peak_bandwidth("NVIDIA A100-SXM4-80GB") == 2.039e12
    assert gpu.peak_bandwidth("NVIDIA A100-SXM4-40GB") == 1.555e12
    assert gpu.peak_bandwidth("cpu") is None


@pytest.mark.slow
def test_script_runs_on_cpu_at_smoke_size(tmp_path, monkeypatch):
    forced = types.SimpleNamespace(
        NAME=gpu.NAME,
        DESCRIPTION=gpu.DESCRIPTION,
        cases=lambda size: gpu.cases(size, force=True),
    )
    # Pretend to be an H200 for the bandwidth record (the rate itself is the CPU's).
    monkeypatch.setattr(gpu, "peak_bandwidth", lambda kind: 4.8e12)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        rc = run(["gpu"], "smoke", tmp_path, benchmarks={"gpu": forced}, progress=False)
    assert rc == 0, log.getvalue()
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    by = {(r["case"], r["metric"]): r for r in records}
    for L in gpu.SIZES["smoke"]["ising"]:
        flips = by[f"ising L={L}", "flips_per_ns"]["value"]
        frac = by[f"ising L={L}", "bandwidth_fraction"]
        assert frac["value"] == pytest.approx(flips * 1e9 * 3 / 4.8e12)
        assert frac["params"]["peak_bytes_per_s"] == 4.8e12
        assert by[f"rng words L={L}", "rng_words_per_ns"]["value"] > 0
    assert by["potts q=8 L=16", "flips_per_ns"]["value"] > 0
    assert by["brownian 2D N=256", "particle_steps_per_s"]["value"] > 0
    assert by["patchy brownian 2D N=256", "particle_steps_per_s"]["value"] > 0
    assert by["potts q=8 L=16", "bandwidth_fraction"]["value"] > 0
    # Per Ising L: flips, bandwidth, rng words; Potts: flips, bandwidth; one particle N,
    # isotropic and patchy.
    assert len(records) == 3 * len(gpu.SIZES["smoke"]["ising"]) + 2 + 2
