"""molcomp benchmarks: `python -m benchmarks list` / `python -m benchmarks run --quick`.

Each benchmark module defines `NAME`, `DESCRIPTION`, `cases(size) -> list[Case]` and
optionally `RELATIVE_TO` (metric -> reference metric, shown as a fraction column) and
`PLOTS` (file name -> metric for a bar chart). See benchmarks/README.md for the results
format.
"""

from ._harness import Case as Case
from ._harness import Context as Context
from ._harness import Measurement as Measurement
from ._runner import main as main
from ._runner import run as run
