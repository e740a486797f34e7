"""Run the notebooks at smoke size under pytest (`pytest notebooks --nbmake`).

The kernel that nbmake starts inherits this environment; run interactively, a
notebook uses its (still small) default sizes.
"""

import os

os.environ.setdefault("MOLCOMP_SMOKE", "1")
