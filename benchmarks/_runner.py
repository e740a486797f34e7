"""`python -m benchmarks list` and `python -m benchmarks run [--quick | --smoke] [--only NAME ...]
[--out DIR] [--devices all | N]`."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from molcomp.sharding import chain_mesh

from . import _report
from ._harness import (
    PEERS,
    SIZES,
    Context,
    Store,
    case_key,
    collect_meta,
    environment,
    make_records,
    peer_available,
    slot,
    write_atomic,
)


def check_out_dir(out: str | os.PathLike) -> Path:
    """`out` as a Path once it is a folder this process can write (created if missing);
    else a ValueError naming `out` as given. Run before any case, so a typo in `--out`
    costs nothing."""
    if not isinstance(out, str | os.PathLike):
        raise TypeError(f"out must be a folder path (str or Path), got {type(out).__name__}")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"out={str(out)!r} is not a folder (a file of that name exists)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):  # the one sure test of writability
            pass
    except OSError as e:
        raise ValueError(f"out={str(out)!r} is not a writable folder: {e.strerror or e}") from e
    return path


def run(
    names: Sequence[str] | None = None,
    size: str = "full",
    out: str | Path = "results",
    *,
    benchmarks: Mapping | None = None,
    progress: bool | None = None,
    devices: str | int | None = None,
) -> int:
    """Run benchmarks into `out`; returns 0, or 1 if any case failed.

    **Arguments:**

    - `names`: benchmarks to run (default: all, in registry order).
    - `size`: "smoke" (seconds, for CI), "quick" (minutes) or "full".
    - `out`: folder for results.json, results.md and the PNG plots (created if missing;
      ValueError before any case runs unless it is a writable folder).
    - `benchmarks`: name -> module mapping (default: the registry).
    - `progress`: tqdm bar over cases; default: when stderr is a terminal.
    - `devices`: "all" or a device count: cases that can shard their chains do so over
      a mesh of that many devices (`Context.mesh`; recorded as `meta["mesh_devices"]`
      and in the resume key); default: one device, no mesh.
    """
    if benchmarks is None:
        from ._registry import BENCHMARKS as benchmarks
    if not names:  # the main job: at the quick size, without the FULL_ONLY benchmarks
        from ._registry import default_names

        names = default_names(benchmarks, size)
    names = list(names)
    unknown = [n for n in names if n not in benchmarks]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; known: {sorted(benchmarks)}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    out = check_out_dir(out)
    mesh = None if devices is None else chain_mesh(None if devices == "all" else int(devices))
    meta = collect_meta(size)
    env = environment()
    if mesh is not None:
        meta["mesh_devices"] = env["mesh_devices"] = mesh.size
    store = Store(out, meta)
    failed = 0
    t_start = time.perf_counter()
    for name in names:
        module = benchmarks[name]
        cases = module.cases(size)
        missing = {c.learner for c in cases if c.learner in PEERS and not peer_available(c.learner)}
        for peer in sorted(missing):
            n = sum(c.learner == peer for c in cases)
            print(f"notice: {peer} is not installed; skipping its {n} {name} case(s)")
        todo = [c for c in cases if c.learner not in missing]
        ctx = Context(out=out, mesh=mesh)
        bar = tqdm(todo, desc=name, unit="case", disable=None if progress is None else not progress)
        for case in bar:
            bar.set_postfix_str(f"{case.label} [{case.learner}]")
            sid, key = (
                slot(name, case.label, case.learner),
                case_key(name, case, meta["code_version"], env),
            )
            if store.done(sid, key):
                tqdm.write(f"  stored  {case.label} [{case.learner}]")
                continue
            t0 = time.perf_counter()
            try:
                ms = case.run(ctx)
                records = make_records(name, case, ms, time.perf_counter() - t0)
            except Exception:
                failed += 1
                tqdm.write(f"  FAILED  {case.label} [{case.learner}]:\n{traceback.format_exc()}")
                continue
            store.put(sid, key, records)
            shown = ", ".join(f"{r['metric']} {_report.fmt(r['value'])}" for r in records)
            tqdm.write(
                f"  done    {case.label} [{case.learner}]: {shown} ({records[0]['wall_s']:.1f} s)"
            )
        bar.close()
        for file, metric in getattr(module, "PLOTS", {}).items():
            ref = getattr(module, "RELATIVE_TO", {}).get(metric)
            _report.bar_chart(store.records, name, metric, out / file, ref)
    store.save()
    sections = [
        _report.table(n, store.records, getattr(benchmarks[n], "RELATIVE_TO", None))
        for n in benchmarks
        if any(r["benchmark"] == n for r in store.records)
    ]
    write_atomic(out / "results.md", _report.markdown(meta, sections).encode())
    for n in names:
        print()
        print(_report.table(n, store.records, getattr(benchmarks[n], "RELATIVE_TO", None)))
    print(
        f"wrote {out / 'results.json'} and {out / 'results.md'} "
        f"in {time.perf_counter() - t_start:.1f} s"
        + (f"; {failed} case(s) FAILED" if failed else "")
    )
    from ._summary import report  # "physical vs neural": summary.md, summary.png

    report(store.records, out)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    from ._registry import BENCHMARKS

    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the benchmarks and their quick cases")
    p = sub.add_parser("run", help="run benchmarks, write DIR/results.json, results.md, *.png")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="minutes on 2 CPU cores")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (CI)")
    p.add_argument("--only", nargs="+", metavar="NAME", choices=list(BENCHMARKS))
    p.add_argument("--out", default="results", metavar="DIR", help="default: results/")
    p.add_argument(
        "--devices",
        type=_devices,
        metavar="all|N",
        help="shard chains over all (or N) visible devices (default: one device)",
    )
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, module in BENCHMARKS.items():
            print(f"{name}: {module.DESCRIPTION}")
            for case in module.cases("quick"):
                print(f"  {case.label} [{case.learner}]")
        return 0
    size = "smoke" if args.smoke else "quick" if args.quick else "full"
    try:
        check_out_dir(args.out)
    except ValueError as e:
        p.error(f"argument --out: {e}")  # exit status 2, before any case runs
    try:
        chain_mesh(None if args.devices in (None, "all") else args.devices)
    except ValueError as e:
        p.error(f"argument --devices: {e}")
    return run(args.only, size, args.out, devices=args.devices)


def _devices(text: str) -> str | int:
    """`--devices`: "all" or a positive device count."""
    if text == "all":
        return text
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected 'all' or a positive integer, got {text!r}")
    return n
