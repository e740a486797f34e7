"""Build the documentation site in strict mode: `python docs/build.py` (needs `.[docs]`).

1. Notebooks: a notebook whose code cells already carry outputs (CI's test step runs
   them with `pytest --nbmake --overwrite` in its throwaway clone) is rendered as it is;
   the others are executed at small size (`MOLCOMP_SMOKE=1`, as the tests run them) into
   a temporary copy, so the committed notebooks stay without outputs.
2. `mkdocs build --strict` into `build/site` (mkdocs.yml): a broken reference, a public
   name without a docstring or a notebook that raises fails the build.

Options: `--execute auto|always|never` (default auto: only notebooks without outputs;
never: render them without outputs, for a quick check of the pages), `--jobs N`
notebooks at once (default: the number of CPUs), `--require-outputs` (fail if a
notebook that is not executed here has no outputs: CI's check that `--overwrite` wrote
them), `--site-dir DIR`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_ENV = "MOLCOMP_DOCS_NOTEBOOKS"  # read by docs/hooks.py


def has_outputs(path: Path) -> bool:
    """Whether every code cell of the notebook at `path` has been executed."""
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    return all(c.get("execution_count") is not None for c in code)


def execute(src: Path, dest: Path, timeout: int = 600) -> float:
    """Run the notebook `src` at small size in its own folder; write it with outputs to
    `dest`. Returns the seconds it took."""
    import nbformat
    from nbclient import NotebookClient

    start = time.perf_counter()
    nb = nbformat.read(src, as_version=4)
    os.environ.setdefault("MOLCOMP_SMOKE", "1")  # the kernel inherits it
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": src.parent}}
    )
    client.execute()
    nbformat.write(nb, dest)
    return time.perf_counter() - start


def prepare_notebooks(folder: Path, mode: str, jobs: int, require_outputs: bool) -> None:
    """Copy `notebooks/*.ipynb` into `folder`, executing those that `mode` selects."""
    folder.mkdir(parents=True)
    todo = []
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        executed = has_outputs(src)
        if mode == "always" or (mode == "auto" and not executed):
            todo.append(src)
            continue
        if require_outputs and not executed:
            raise SystemExit(f"error: {src.relative_to(ROOT)} has no outputs to render")
        shutil.copy(src, folder / src.name)
    if not todo:
        return
    print(f"executing {len(todo)} notebook(s) at small size, {jobs} at a time", flush=True)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {src: pool.submit(execute, src, folder / src.name) for src in todo}
        for src, future in futures.items():
            try:
                print(f"  {src.name}: {future.result():.1f} s", flush=True)
            except Exception as error:  # a cell raised: nbclient's message shows which
                print(error, file=sys.stderr)
                raise SystemExit(f"error: notebook {src.name} failed to execute") from None


def main(argv: list[str] | None = None) -> int:
    """Parse the options, prepare the notebooks, run `mkdocs build --strict`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--require-outputs", action="store_true")
    parser.add_argument("--site-dir", default=None)
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")

    with tempfile.TemporaryDirectory() as tmp:
        notebooks = Path(tmp) / "notebooks"
        prepare_notebooks(notebooks, args.execute, args.jobs, args.require_outputs)
        # NO_MKDOCS_2_WARNING: mkdocs-material's banner about a future MkDocs 2
        env = {"NO_MKDOCS_2_WARNING": "1", **os.environ, NOTEBOOKS_ENV: str(notebooks)}
        site = Path(args.site_dir).resolve() if args.site_dir else ROOT / "build" / "site"
        cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml"]
        cmd += ["--site-dir", str(site)]
        start = time.perf_counter()
        status = subprocess.call(cmd, cwd=ROOT, env=env)
        print(f"mkdocs build --strict: {time.perf_counter() - start:.1f} s, exit {status}")
        if status == 0 and (leaks := machine_paths(site, (str(ROOT), tmp, sys.prefix))):
            print("error: the site names machine paths:\n" + "\n".join(leaks), file=sys.stderr)
            status = 1
    return status


def machine_paths(site: Path, paths: tuple[str, ...]) -> list[str]:
    """The pages of `site` that contain one of `paths` (it must not name this machine)."""
    pages = [*site.rglob("*.html"), *site.rglob("*.json")]  # the search index too
    return [
        str(page.relative_to(site))
        for page in sorted(pages)
        if any(p in page.read_text(errors="replace") for p in paths)
    ]


if __name__ == "__main__":
    sys.exit(main())
