"""The documentation build (mkdocs.yml, docs/): strict mode catches what it promises to.

The site itself is built by `python docs/build.py` (a step of .ci/run). These tests
build a one-page site around a tiny throwaway package with the site's own mkdocstrings
and markdown settings, and check that a public name without a docstring and a broken
cross-reference each fail the strict build while the documented package passes: the
negative controls of the real build. They need the `docs` extra.
"""

import importlib
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")
yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
# docs/hooks.py, the site's page generator, loaded by path (docs/ is not a package)
_spec = importlib.util.spec_from_file_location("molcomp_docs_hooks", ROOT / "docs" / "hooks.py")
hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hooks)

TINY = '''
"""A tiny package."""

from ._impl import Model as Model
from ._impl import helper as helper


def documented(x):
    """Return `x`."""
    return x
'''


def _site(tmp_path: Path, impl: str, page: str) -> list[str]:
    """A mkdocs project in `tmp_path`: the site's markdown and mkdocstrings settings
    (mkdocs.yml), one page `page`, the package `tinypkg` whose private `_impl` module
    is `impl`. Returns the command that builds it in strict mode."""
    pkg = tmp_path / "tinypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(TINY)
    (pkg / "_impl.py").write_text(textwrap.dedent(impl))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(page)

    real = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    [mkdocstrings] = [p["mkdocstrings"] for p in real["plugins"] if "mkdocstrings" in p]
    python = mkdocstrings["handlers"]["python"]
    python["paths"] = [str(tmp_path)]
    python["options"]["extensions"] = [str(ROOT / "docs" / "griffe_ext.py")]
    config = {
        "site_name": "tiny",
        "docs_dir": "docs",
        "site_dir": "site",
        "theme": real["theme"],
        "markdown_extensions": real["markdown_extensions"],
        "plugins": ["autorefs", {"mkdocstrings": mkdocstrings}],
    }
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    # not -q: it hides the warnings, and strict mode then passes
    return [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml"]


def _build(tmp_path, impl, page="# tiny\n\n::: tinypkg\n"):
    cmd = _site(tmp_path, impl, page)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)


DOCUMENTED = '''
def helper(y):
    """Return `y` twice.

    **Arguments:**

    - `y`: anything.
    """
    return (y, y)


class Model:
    """A documented class."""

    def energy(self, x):
        """$$E(x) = x$$"""
        return x
'''


def test_documented_package_builds(tmp_path):
    run = _build(tmp_path, DOCUMENTED)
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "site" / "index.html").read_text()
    assert "tinypkg.helper" in html and "Return <code>y</code> twice" in html
    assert '<div class="arithmatex">\\[E(x) = x\\]</div>' in html  # math for MathJax


UNDOCUMENTED = '''
def helper(y):
    return (y, y)


class Model:
    """A documented class with an undocumented method."""

    def energy(self, x):
        return x
'''


def test_missing_docstring_fails_strict_build(tmp_path):
    # `helper` is public through the `from ._impl import helper as helper` re-export
    run = _build(tmp_path, UNDOCUMENTED)
    assert run.returncode != 0
    assert "tinypkg.helper: public name without a docstring" in run.stderr
    assert "tinypkg.Model.energy: public method without a docstring" in run.stderr


def test_broken_reference_fails_strict_build(tmp_path):
    page = "# tiny\n\nSee [the helper][tinypkg.no_such_name].\n\n::: tinypkg\n"
    run = _build(tmp_path, DOCUMENTED, page)
    assert run.returncode != 0
    assert "tinypkg.no_such_name" in run.stderr


def test_every_public_module_has_a_page():
    """The generated API pages cover the public modules test_layout walks."""
    import pkgutil

    expected = set()
    for package in ("molcomp", "learning", "analog"):
        expected.add(package)
        mod = importlib.import_module(package)
        for info in pkgutil.walk_packages(mod.__path__, prefix=f"{package}."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                expected.add(info.name)
    assert set(hooks.public_modules(ROOT)) == expected


def _fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_getting_started_shows_the_readme_commands_and_example():
    """docs/getting-started.md repeats the README's commands and example verbatim."""
    readme = (ROOT / "README.md").read_text()
    page = (ROOT / "docs" / "getting-started.md").read_text()
    quick = readme.split("## Quick start")[1].split("\n## ")[0]
    example = readme.split("## Example")[1].split("\n## ")[0]
    blocks = _fenced(quick, "bash") + _fenced(example, "python")
    assert len(blocks) >= 4
    for block in blocks:
        assert block in page, block


def test_ci_builds_the_docs_with_the_readme_command():
    """README's Documentation section names the build command that .ci/run runs (a
    `sh` block: test_readme counts the two quick-start `bash` commands)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Documentation")[1].split("\n## ")[0]
    [command] = _fenced(section, "sh")
    install, build = (part.strip().replace(".venv/bin/", "") for part in command.split("&&"))
    assert install == 'pip install -e ".[docs]"' and build == "python docs/build.py"
    ci = (ROOT / ".ci" / "run").read_text()
    assert '-e ".[test,docs]"' in ci and "docs/build.py" in ci


def test_concepts_page_has_the_readme_sign_table():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Signs and units")[1].split("\n#")[0]
    table = [line for line in section.splitlines() if "|" in line]
    page = (ROOT / "docs" / "concepts.md").read_text()
    assert table and all(line in page for line in table)
