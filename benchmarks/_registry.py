"""The benchmarks `python -m benchmarks` knows, by name, in run order.

A read-only mapping built from an explicit module list: adding a benchmark means adding
its module here, nothing registers itself at import time.
"""

from __future__ import annotations

import types

from . import (
    capacity_race,
    cluster_design,
    digits_classification,
    gradient_memory,
    md_throughput,
    multifarious,
    nucleation_classifier,
    sampler_throughput,
    sleep_wake_training,
)

BENCHMARKS = types.MappingProxyType(
    {
        module.NAME: module
        for module in (
            sampler_throughput,
            sleep_wake_training,
            digits_classification,
            capacity_race,
            md_throughput,
            gradient_memory,
            cluster_design,
            multifarious,
            nucleation_classifier,
        )
    }
)
