"""The benchmarks `python -m benchmarks` knows, by name, in run order, and the main job.

A read-only mapping built from an explicit module list: adding a benchmark means adding
its module here, nothing registers itself at import time.

The main job, `python -m benchmarks run --quick` without `--only`, runs every benchmark
except those in `FULL_ONLY`: each of them takes several minutes even at its quick size,
so in the main job they run only at full size (`python -m benchmarks run`); their quick
size still runs alone (`--quick --only NAME`).
"""

from __future__ import annotations

import types
from collections.abc import Mapping

from . import (
    capacity_race,
    cluster_design,
    digits_classification,
    generative_modelling,
    gpu,
    gradient_memory,
    md_throughput,
    multifarious,
    nucleation_classifier,
    particle_memory,
    sampler_throughput,
    sleep_wake_training,
)

BENCHMARKS = types.MappingProxyType(
    {
        module.NAME: module
        for module in (
            sampler_throughput,
            sleep_wake_training,
            generative_modelling,
            digits_classification,
            capacity_race,
            md_throughput,
            gradient_memory,
            cluster_design,
            multifarious,
            nucleation_classifier,
            particle_memory,
            gpu,
        )
    }
)

# Quick sizes measured on 2 shared CPU cores (benchmarks/README.md): minutes each.
FULL_ONLY = types.MappingProxyType(
    {
        "gradient_memory": "plain reverse mode up to T = 1600: about 20 min",
        "multifarious": "phase grid and capacity curves: about 10 min",
        "cluster_design": "gradient estimators and designs: about 1.5 min",
        "nucleation_classifier": "16 x 16 digits, hill climbing and simulation: about 1.5 min",
        "particle_memory": "patchy-particle recalls, 16 species, m = 1 to 4: about 9 min",
    }
)


def default_names(benchmarks: Mapping, size: str) -> list[str]:
    """The benchmarks a run without `--only` runs: all of `benchmarks`, except at the
    quick size those in `FULL_ONLY` (the main job), with a notice naming them.

    **Arguments:**

    - `benchmarks`: name -> module mapping (the registry, or a test's own).
    - `size`: "smoke", "quick" or "full".

    **Returns:** names in registry order.
    """
    names = list(benchmarks)
    if size != "quick":
        return names
    skipped = [n for n in names if n in FULL_ONLY]
    if skipped:
        print(
            "notice: the quick main job leaves out "
            + "; ".join(f"{n} ({FULL_ONLY[n]})" for n in skipped)
            + ". They run at full size, or alone: --quick --only NAME."
        )
    return [n for n in names if n not in FULL_ONLY]
