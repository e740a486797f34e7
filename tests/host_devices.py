"""Run a script in a subprocess that sees several host CPU devices.

The device count is fixed when JAX starts, so multi-device checks run their script in
a fresh interpreter with `XLA_FLAGS=--xla_force_host_platform_device_count=N`; the
script prints one line `RESULT<json>`, which is returned parsed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_on_host_devices(script: str, devices: int = 4, timeout: int = 600) -> dict:
    """The JSON the script printed after `RESULT`, run with `devices` host devices."""
    env = {
        **os.environ,
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert run.returncode == 0, run.stderr[-4000:]
    line = [x for x in run.stdout.splitlines() if x.startswith("RESULT")][-1]
    return json.loads(line.removeprefix("RESULT"))
