"""The layout the README promises: packages use each other's public names only, files
stay small, `learning`'s top level stays short, and every public name is documented."""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("molcomp", "learning", "analog")
MAX_LINES = 400


def _sources():
    for folder in (*PACKAGES, "benchmarks", "tests", "notebooks"):
        yield from (ROOT / folder).rglob("*.py")
        yield from (ROOT / folder).rglob("*.ipynb")


@pytest.mark.parametrize("package", PACKAGES)
def test_no_private_imports_from_outside(package):
    """Nothing outside `package` reaches into one of its private modules. The package's
    own white-box tests (tests/<package>/, e.g. of a hand-written kernel) may."""
    private = re.compile(rf"\b{package}(\.[a-z]\w*)*\._[a-z]\w*")
    relative = re.compile(rf"from {package}(\.[a-z]\w*)* import _[a-z]")
    bad = []
    for path in _sources():
        mine = (ROOT / package, ROOT / "tests" / package)
        if any(path.is_relative_to(p) for p in mine) or path == Path(__file__):
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if private.search(line) or relative.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_files_stay_small():
    long = []
    for folder in (*PACKAGES, "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            n = len(path.read_text().splitlines())
            if n > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not long, "\n".join(long)


def test_learning_top_level_is_short():
    import learning

    names = [n for n in dir(learning) if not n.startswith("_")]
    assert len(names) <= 25, names


def _public_modules():
    for package in PACKAGES:
        mod = importlib.import_module(package)
        yield mod
        for info in pkgutil.walk_packages(mod.__path__, prefix=f"{package}."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                yield importlib.import_module(info.name)


def test_every_public_name_has_a_docstring():
    missing = []
    for mod in _public_modules():
        if not inspect.getdoc(mod):
            missing.append(mod.__name__)
        for name in vars(mod):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if _undocumented(obj):
                missing.append(f"{mod.__name__}.{name}")
    assert not missing, missing


def _undocumented(obj) -> bool:
    """No docstring, or only the one dataclasses (equinox Modules too) fill in for a
    class without one: its signature, "Name(field: type, ...)"."""
    doc = (obj.__doc__ or "").strip()
    return not doc or (inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("))


def test_a_signature_docstring_counts_as_missing():
    import equinox as eqx

    class Bare(eqx.Module):
        x: int

    class Documented(eqx.Module):
        """What it is."""

        x: int

    assert Bare.__doc__  # equinox gave it one...
    assert _undocumented(Bare)  # ...which the rule does not accept
    assert not _undocumented(Documented)
