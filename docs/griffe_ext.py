"""Griffe extension for the API reference (loaded by mkdocstrings, see mkdocs.yml).

- `from ._x import Name as Name` in a package's `__init__.py` is the layout's public
  re-export (the README's "each folder's `__init__.py` is its public surface"): mark such
  redundant aliases public, so that mkdocstrings documents them.
- Every public module, every public class and function of a public module and every
  public method or property of those classes (unless it overrides a documented one)
  must have a docstring: a missing one is logged as a warning, which
  `mkdocs build --strict` turns into a failure.
"""

from __future__ import annotations

import ast

import griffe

logger = griffe.get_logger("griffe_molcomp")


def _redundant(node: ast.AST, name: str) -> bool:
    """Whether the import statement `node` binds `name` as `import name as name`."""
    if not isinstance(node, (ast.Import, ast.ImportFrom)):
        return False
    return any(a.asname == name and a.name.rsplit(".", 1)[-1] == name for a in node.names)


def _public_module(mod: griffe.Module) -> bool:
    return not any(part.startswith("_") for part in mod.path.split("."))


def _objects(mod: griffe.Module):
    """(public name, object) for the classes and functions `mod` defines or re-exports."""
    for name, member in mod.members.items():
        if name.startswith("_") or (member.is_alias and not member.public):
            continue  # private, or a plain import (`import jax`): not the surface
        try:
            target = member.final_target if member.is_alias else member
        except griffe.AliasResolutionError:
            continue  # another package's object; checked where it is defined
        if target.is_class or target.is_function:
            yield name, target


def _undocumented_methods(cls: griffe.Class):
    """Public methods and properties that `cls` defines without a docstring (an override
    of a documented method of a base class inherits its docstring)."""
    for name, member in cls.members.items():
        if name.startswith("_") or member.is_alias:
            continue
        if not (member.is_function or "property" in member.labels) or member.has_docstring:
            continue
        inherited = False
        try:
            inherited = any(
                name in base.members and base.members[name].has_docstring for base in cls.mro()
            )
        except (griffe.AliasResolutionError, ValueError):
            pass  # an unresolvable base (another package): report the method
        if not inherited:
            yield name


class PublicSurface(griffe.Extension):
    """Redundant aliases are public; public classes and functions need docstrings."""

    def on_alias_instance(self, *, node, alias, agent, **kwargs) -> None:
        if isinstance(node, ast.AST) and _redundant(node, alias.name):
            alias.public = True

    def on_package(self, *, pkg: griffe.Module, loader, **kwargs) -> None:
        modules = [pkg]
        while modules:
            mod = modules.pop()
            modules.extend(m for m in mod.modules.values() if not m.is_alias)
            if not _public_module(mod):
                continue
            if not mod.has_docstring:
                logger.warning("%s: public module without a docstring", mod.path)
            for name, obj in _objects(mod):
                if not obj.has_docstring:
                    logger.warning("%s.%s: public name without a docstring", mod.path, name)
                if obj.is_class:
                    for method in _undocumented_methods(obj):
                        logger.warning(
                            "%s.%s.%s: public method without a docstring", mod.path, name, method
                        )
