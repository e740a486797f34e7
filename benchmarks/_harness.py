"""The benchmark contract: cases, records, run metadata, resume keys and atomic writes.

A benchmark module declares `cases(size)`; each `Case` is one unit of work for one
learner and returns `Measurement`s, which the harness turns into records with the exact
schema of the results file. Results are rewritten atomically after every case, so an
interrupted run loses at most the case in flight, and a rerun skips every case whose
key (benchmark, case, learner, params, repeats, code version) is already stored.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from molcomp import atomic_write as write_atomic

RECORD_FIELDS = (
    "benchmark",
    "case",
    "learner",
    "kind",
    "metric",
    "value",
    "unit",
    "higher_is_better",
    "seed",
    "wall_s",
    "params",
)
KINDS = ("physical", "neural", "peer", "reference")
SIZES = ("smoke", "quick", "full")
# Peers are optional: their cases are skipped with a notice when the import fails.
PEERS = ("thrml", "openmm")
# Packages whose sources define the code version (the ones installed here are hashed).
CODE_PACKAGES = ("molcomp", "learning", "analog", "benchmarks")


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One measured number; the harness adds the case's identity to make a record.

    `params`: what the run found out about this number (e.g. whether a capacity is
    only a lower bound), merged over the case's params in the record; not part of the
    resume key, which is known before the case runs.
    """

    metric: str
    value: float
    unit: str
    higher_is_better: bool
    params: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Case:
    """One unit of work: a labelled measurement of one learner.

    - `label`: readable, unique within the benchmark together with `learner`.
    - `learner`: exact lowercase name (`molcomp`, `thrml`, ...).
    - `kind`: physical | neural | peer | reference.
    - `params`: flat dict with the issue's exact keys (`model`, `L`, `q`, ...).
    - `run(ctx) -> list[Measurement]`: does the work; `ctx` is a `Context`.
    - `repeats`: timing repeats (the median is reported); part of the resume key.
    - `seed`: the case's `jax.random.key(seed)`.
    """

    label: str
    learner: str
    kind: str
    params: dict
    run: Callable[[Context], list[Measurement]]
    repeats: int = 3
    seed: int = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.learner != self.learner.lower():
            raise ValueError(f"learner names are lowercase, got {self.learner!r}")


@dataclasses.dataclass
class Context:
    """Per-run scratch space handed to every case (never global).

    `cache` lets cases share expensive objects within one run (e.g. a peer's model
    built once by a `build_s` case and reused by a throughput case); `out` is the run's
    output folder, for cases that write extra plots (e.g. learning curves); `mesh` is
    the device mesh of `run --devices` (a `molcomp.sharding.chain_mesh`), over which
    cases may shard their chains, or None (one device).
    """

    cache: dict = dataclasses.field(default_factory=dict)
    out: Path | None = None
    mesh: object = None

    def partial(self, benchmark: str, size: str) -> Partial:
        """The run's store of finished sub-case batches of `benchmark` at `size` (one
        per run, shared by its cases); see `Partial`."""
        key = ("partial", benchmark, size)
        if key not in self.cache:
            path = None if self.out is None else self.out / f"{benchmark}_progress.json"
            self.cache[key] = Partial(path, f"{source_hash()}|{size}|")
        return self.cache[key]

    def mesh_for(self, batch: int):
        """The mesh when a batch of `batch` entries splits evenly over it, else None
        (that batch then runs on one device, and says so once per size)."""
        if self.mesh is None:
            return None
        if batch % self.mesh.size == 0:
            return self.mesh
        if ("unsharded", batch) not in self.cache:
            self.cache[("unsharded", batch)] = True
            print(f"notice: a batch of {batch} does not split over {self.mesh.size} devices")
        return None


class Partial:
    """Finished work below the level of a case, for cases that share expensive batches
    (e.g. one phase-diagram column serves several records): kept in
    `DIR/<benchmark>_progress.json`, keyed by code version and size like the case
    keys of `Store`, rewritten atomically after each `put`, so a rerun after an
    interruption skips finished batches. Without an output folder nothing is written.
    """

    def __init__(self, path: Path | None, prefix: str):
        self.path, self.prefix, self.data = path, prefix, {}
        if path is not None and path.exists():
            try:
                self.data = json.loads(path.read_text())
            except ValueError:
                print(f"notice: ignoring unreadable {path}; starting afresh")

    def get(self, key: str):
        """The stored value of `key` for this code version and size, or None."""
        return self.data.get(self.prefix + key)

    def put(self, key: str, value) -> None:
        """Store a JSON-serialisable `value` under `key` and write the file."""
        self.data[self.prefix + key] = value
        if self.path is not None:
            write_atomic(self.path, json.dumps(self.data, indent=0))


def peer_available(name: str) -> bool:
    """True when the peer library imports (a `None` entry in `sys.modules` counts as absent)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _version(name: str) -> str | None:
    if name in PEERS and not peer_available(name):
        return None
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _package_dir(name: str) -> Path | None:
    if name == "benchmarks":
        return Path(__file__).resolve().parent
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    path = getattr(module, "__file__", None)
    return Path(path).resolve().parent if path else None


def source_hash() -> str:
    """sha256 over the .py sources of the code packages (uncommitted edits count)."""
    h = hashlib.sha256()
    for name in CODE_PACKAGES:
        root = _package_dir(name)
        if root is None:
            continue
        for path in sorted(root.rglob("*.py")):
            h.update(f"{name}/{path.relative_to(root).as_posix()}".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def environment() -> dict:
    """What, beyond our sources, changes a measurement: JAX and the device."""
    import jax

    dev = jax.devices()
    return {
        "jax": _version("jax"),
        "jaxlib": _version("jaxlib"),
        "platform": dev[0].platform,
        "device_kind": dev[0].device_kind,
        "device_count": len(dev),
    }


def collect_meta(size: str) -> dict:
    """Run metadata: git commit, versions, devices, CPU count, date."""
    env = environment()
    status = _git("status", "--porcelain")
    return {
        "git_commit": _git("rev-parse", "HEAD") or "unknown",
        "git_dirty": None if status is None else bool(status),
        "code_version": source_hash(),
        "size": size,
        "versions": {
            "python": platform.python_version(),
            "jax": env["jax"],
            "jaxlib": env["jaxlib"],
            "jax_md": _version("jax-md"),
            "equinox": _version("equinox"),
            "numpy": _version("numpy"),
            "molcomp": _version("molcomp"),
            "thrml": _version("thrml"),
        },
        "device": {
            "platform": env["platform"],
            "kind": env["device_kind"],
            "count": env["device_count"],
        },
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
    }


def case_key(benchmark: str, case: Case, code: str, env: dict) -> str:
    """The resume key: a case is skipped only if all of this matches a stored result."""
    payload = {
        "benchmark": benchmark,
        "case": case.label,
        "learner": case.learner,
        "params": case.params,
        "repeats": case.repeats,
        "seed": case.seed,
        "code": code,
        "env": env,
        "peer": _version(case.learner) if case.learner in PEERS else None,
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def slot(benchmark: str, label: str, learner: str) -> str:
    """Where a case's records live: one set per (benchmark, case, learner)."""
    return f"{benchmark}|{label}|{learner}"


def make_records(benchmark: str, case: Case, ms: list[Measurement], wall_s: float) -> list[dict]:
    out = []
    for m in ms:
        value = float(m.value)
        if value != value:  # NaN is a failed measurement, never a result
            raise ValueError(f"{benchmark}/{case.label}: {m.metric} is NaN")
        out.append(
            {
                "benchmark": benchmark,
                "case": case.label,
                "learner": case.learner,
                "kind": case.kind,
                "metric": m.metric,
                "value": value,
                "unit": m.unit,
                "higher_is_better": bool(m.higher_is_better),
                "seed": case.seed,
                "wall_s": round(float(wall_s), 4),
                "params": {**case.params, **m.params},
            }
        )
    return out


class Store:
    """`DIR/results.json` = {"meta": {...}, "records": [...]}, rewritten atomically.

    `meta["case_keys"]` maps each stored slot (benchmark|case|learner) to the key of the
    case that produced its records; the rest of `meta` describes the latest run.
    """

    def __init__(self, out_dir: Path, meta: dict):
        self.path = Path(out_dir) / "results.json"
        self.records: list[dict] = []
        self.keys: dict[str, str] = {}
        if self.path.exists():
            try:
                old = json.loads(self.path.read_text())
                self.records = list(old["records"])
                self.keys = dict(old["meta"].get("case_keys", {}))
            except (ValueError, KeyError, TypeError) as e:
                print(f"notice: ignoring unreadable {self.path} ({e}); starting afresh")
        self.meta = meta

    def done(self, slot_id: str, key: str) -> bool:
        return self.keys.get(slot_id) == key

    def put(self, slot_id: str, key: str, records: list[dict]) -> None:
        """Replace the slot's records (in place, so tables keep their row order)."""
        mine = [slot(r["benchmark"], r["case"], r["learner"]) == slot_id for r in self.records]
        at = mine.index(True) if any(mine) else len(self.records)
        kept = [r for r, m in zip(self.records, mine) if not m]
        self.records = kept[:at] + list(records) + kept[at:]
        self.keys[slot_id] = key
        self.save()

    def save(self) -> None:
        doc = {"meta": {**self.meta, "case_keys": self.keys}, "records": self.records}
        write_atomic(self.path, json.dumps(doc, indent=1, sort_keys=False).encode())
