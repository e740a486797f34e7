"""`python -m benchmarks run --devices all`: the smoke run of sampler_throughput on four
host devices shards molcomp's multi-chain case and writes the same records (names and
params) as the run on one device, with the mesh size in `meta`.

Each run is a subprocess (the device count is fixed when JAX starts) that counts the
calls of `molcomp.sharding.shard_chains` and runs the CLI module as `python -m` does;
thrml is hidden to keep it short (its cases are skipped with a notice either way).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, runpy, sys
sys.modules["thrml"] = None
import jax
import molcomp.sharding as sharding

placed = []
plain = sharding.shard_chains

def counting(tree, mesh, chains=None):
    out = plain(tree, mesh, chains)
    placed.append(len(out.config.sharding.device_set))
    return out

sharding.shard_chains = counting
sys.argv = ["benchmarks", "run", "--smoke", "--only", "sampler_throughput", *sys.argv[1:]]
try:
    runpy.run_module("benchmarks", run_name="__main__")
except SystemExit as e:
    code = e.code
print("PLACED" + json.dumps({"devices": len(jax.devices()), "placed": placed, "code": code}))
"""


def _run(out: Path, devices: int, *args: str) -> tuple[dict, list]:
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, "--out", str(out), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    line = [x for x in run.stdout.splitlines() if x.startswith("PLACED")][-1]
    got = json.loads(line.removeprefix("PLACED"))
    assert got["code"] == 0, run.stdout[-3000:]
    assert got["devices"] == devices
    return json.loads((out / "results.json").read_text()), got["placed"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(results.json, shard_chains device counts) on one device and on four."""
    one = _run(tmp_path_factory.mktemp("one"), 1)
    four = _run(tmp_path_factory.mktemp("four"), 4, "--devices", "all")
    return one, four


def _identity(records):
    return [(r["case"], r["learner"], r["metric"], r["params"]) for r in records]


@pytest.mark.slow
def test_same_records_sharded_over_four_devices(runs):
    (one, placed_one), (four, placed_four) = runs
    assert _identity(one["records"]) == _identity(four["records"])
    assert placed_one == []  # no --devices: nothing is placed
    # The smoke "ising gibbs 4x" case: 4 chains, one per device (repeats share the state).
    assert placed_four == [4]
    assert four["meta"]["mesh_devices"] == 4 and four["meta"]["device"]["count"] == 4
    assert "mesh_devices" not in one["meta"]
    assert all(r["value"] > 0 for r in four["records"])


def test_devices_flag_rejects_nonsense(tmp_path):
    from benchmarks._runner import main

    with pytest.raises(SystemExit) as e:
        main(["run", "--smoke", "--devices", "0", "--out", str(tmp_path)])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["run", "--smoke", "--devices", "64", "--out", str(tmp_path)])
    assert e.value.code == 2
    assert not (tmp_path / "results.json").exists()
