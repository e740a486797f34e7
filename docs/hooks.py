"""MkDocs hooks (see `hooks:` in mkdocs.yml): pages that come from the rest of the tree.

- **API reference**: one generated page per public module of molcomp, learning and
  analog (every package folder and every module whose dotted path has no `_` part),
  each a mkdocstrings `::: module` block, so a new public module gets a page without an
  edit here. The griffe extension `docs/griffe_ext.py` makes a missing docstring a
  warning.
- **Tutorials**: every `notebooks/*.ipynb`, rendered by mkdocs-jupyter without executing
  them. `docs/build.py` executes notebooks without outputs into a temporary folder first
  and points `MOLCOMP_DOCS_NOTEBOOKS` at it.
- **Benchmark results**: `benchmarks/README.md` as the page `benchmarks.md`.

Relative links in pages taken from the tree (`docs/*.md`, `benchmarks/README.md`) are
written as repository paths for readers of the repository (`../docs/figures/x.png`);
they are rewritten to the site's layout, and a link to a file that is not part of the
site is left alone, so that strict mode reports it.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

PACKAGES = ("molcomp", "learning", "analog")
NOTEBOOKS_ENV = "MOLCOMP_DOCS_NOTEBOOKS"
BENCHMARKS = "benchmarks.md"  # site path of benchmarks/README.md
_LINK = re.compile(r"(\]\()([^)\s#]+)((?:#[^)\s]*)?\))")


def _root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def public_modules(root: Path) -> list[str]:
    """Dotted names of the public modules of `PACKAGES` under `root`, sorted."""
    names = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not any(p.startswith("_") for p in parts):
                names.append(".".join(parts))
    return sorted(names, key=lambda n: (PACKAGES.index(n.split(".")[0]), n))


def _notebooks(root: Path) -> list[Path]:
    folder = Path(os.environ.get(NOTEBOOKS_ENV) or root / "notebooks")
    if folder.name != "notebooks":
        raise ValueError(f"{NOTEBOOKS_ENV} must name a folder called notebooks, got {folder}")
    return sorted(folder.glob("*.ipynb"))


def _api_page(module: str) -> str:
    return f"api/{module}.md"


def reexports(root: Path, module: str) -> dict[str, str]:
    """{name: where it is documented} for the names a package's `__init__.py` re-exports
    from one of its public submodules (`from .potts import PottsModel as PottsModel`)."""
    init = root.joinpath(*module.split(".")) / "__init__.py"
    if not init.exists():
        return {}
    found = {}
    for node in ast.parse(init.read_text()).body:
        if not (isinstance(node, ast.ImportFrom) and node.level == 1 and node.module):
            continue
        if any(part.startswith("_") for part in node.module.split(".")):
            continue
        for alias in node.names:
            if alias.asname == alias.name:
                found[alias.name] = f"{module}.{node.module}.{alias.name}"
    return found


def api_markdown(root: Path, module: str) -> str:
    """The generated page of one public module: its own names in full, re-exports as links."""
    elsewhere = reexports(root, module)
    lines = [f"# `{module}`", "", f"::: {module}"]
    if elsewhere:
        names = "|".join(sorted(elsewhere))
        lines += ["    options:", f'      filters: ["!^_", "!^({names})$"]', ""]
        lines += ["## Re-exported names", "", "Documented in the submodule that defines them:", ""]
        lines += [f"- [`{module}.{n}`][{t}]" for n, t in elsewhere.items()]
    return "\n".join(lines) + "\n"


def on_config(config):
    """Fill the `Tutorials` and `API reference` entries of the nav."""
    root = _root(config)
    for entry in config.nav:
        if not isinstance(entry, dict):
            continue
        if "Tutorials" in entry:
            entry["Tutorials"] = [f"notebooks/{p.name}" for p in _notebooks(root)]
        if "API reference" in entry:
            groups: dict[str, list] = {}
            for module in public_modules(root):
                groups.setdefault(module.split(".")[0], []).append({module: _api_page(module)})
            entry["API reference"] = [{name: pages} for name, pages in groups.items()]
    return config


@event_priority(100)  # before mkdocs-jupyter wraps the notebooks
def on_files(files, config):
    """Add the generated API pages, the notebooks and the benchmark page."""
    root = _root(config)
    for module in public_modules(root):
        content = api_markdown(root, module)
        files.append(File.generated(config, _api_page(module), content=content))
    for path in _notebooks(root):
        # a real src_dir (not File.generated): mkdocs-jupyter's wrapper reads it
        src_dir = str(path.parent.parent)
        files.append(
            File(f"notebooks/{path.name}", src_dir, config.site_dir, config.use_directory_urls)
        )
    readme = root / "benchmarks" / "README.md"
    files.append(File.generated(config, BENCHMARKS, abs_src_path=str(readme)))
    return files


def _repo_path(page_src: str) -> str | None:
    """The repository path of a page taken from the tree, or None for generated ones."""
    if page_src == BENCHMARKS:
        return "benchmarks/README.md"
    if page_src.startswith(("api/", "notebooks/")):
        return None
    return f"docs/{page_src}"


def _site_path(repo_path: str) -> str | None:
    if repo_path == "benchmarks/README.md":
        return BENCHMARKS
    if repo_path.startswith("docs/"):
        return repo_path.removeprefix("docs/")
    return None


_SITE_PACKAGES = re.compile(r"/[^\s\"'<>:]*/((?:site|dist)-packages)/")


def on_page_content(html, page, config, files):
    """Drop machine paths from rendered pages (notebook warnings name installed files)."""
    html = _SITE_PACKAGES.sub(r"\1/", html)
    for folder, shown in ((os.environ.get(NOTEBOOKS_ENV), "notebooks"), (_root(config), ".")):
        if folder:
            html = html.replace(str(folder), shown)
    return html


def on_page_markdown(markdown, page, config, files):
    """Rewrite repository-relative links of pages from the tree to site paths."""
    repo = _repo_path(page.file.src_uri)
    if repo is None:
        return markdown
    here = posixpath.dirname(page.file.src_uri)

    def rewrite(match: re.Match) -> str:
        target = match.group(2)
        if "://" in target or target.startswith(("/", "mailto:")):
            return match.group(0)
        site = _site_path(posixpath.normpath(posixpath.join(posixpath.dirname(repo), target)))
        if site is None:
            return match.group(0)  # not part of the site: strict mode reports it
        new = posixpath.relpath(site, here or ".")
        return match.group(1) + new + match.group(3)

    return _LINK.sub(rewrite, markdown)
