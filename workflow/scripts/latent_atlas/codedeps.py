"""Which package modules an entry script runs, read from its imports, so that a rule's ``code=``
input is derived, never written by hand.

Snakemake reruns a job when its script changes, not when a module the script imports does. Each
rule therefore lists, as inputs, every module of this package that its script imports, directly
or through other modules (imports inside functions included: they run when the job calls them),
with the ``__init__`` of every package on the way. A registry package (one whose ``__init__``
discovers its modules with :mod:`pkgutil`) brings the modules of the entries the job uses
(``entries``: its method, its model's kind, its dataset's format), with whatever they import, and
all of its modules only where the job names none. Editing a file reruns exactly the jobs that
use it; adding an entry reruns only the jobs that use every entry of its registry.
"""

from __future__ import annotations

import ast
import functools
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

PACKAGE = "latent_atlas"
ROOT = Path(__file__).resolve().parent  # the package folder


def _module_file(name: str) -> Path | None:
    """The file of a dotted module name inside the package, or None (not a module of ours)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    path = ROOT.joinpath(*parts[1:])
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def _name_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [PACKAGE, *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(tree: ast.AST, current: str | None, is_package: bool) -> set[str]:
    """Dotted names of the modules an AST imports (``from x import y`` counts x and x.y)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if current is None:
                    continue
                base = current.split(".")
                up = node.level - 1 if is_package else node.level
                base = base[: len(base) - up] if up else base
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.cache
def _direct(path: Path) -> frozenset[Path]:
    """The package files that ``path`` (a module of ours) imports by name."""
    name = _name_of(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return frozenset(_resolve(_imported_names(tree, name, path.name == "__init__.py"), False))


@functools.cache
def registry_entries(path: Path) -> tuple[str, ...] | None:
    """The entry modules' names of a registry package's ``__init__`` (every module of its folder
    whose name does not start with ``_``), or None where ``path`` is not a registry's."""
    if path.name != "__init__.py":
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    if not {"pkgutil", f"{PACKAGE}.registry"} & _imported_names(tree, _name_of(path), True):
        return None
    return tuple(sorted(p.stem for p in path.parent.glob("*.py") if not p.stem.startswith("_")))


def _registry_files(path: Path, entries: Mapping[str, Collection[str]]) -> set[Path]:
    """The entry modules a job brings from the registry whose ``__init__`` is ``path``: those
    ``entries`` names for it (by the registry's short name: ``methods``), else all of them."""
    found = registry_entries(path)
    if found is None:
        return set()
    wanted = entries.get(path.parent.name)
    names = found if wanted is None else [n for n in found if n in wanted]
    return {path.parent / f"{n}.py" for n in names}


def _resolve(names: set[str], parents: bool = True) -> set[Path]:
    """The files of these module names; with ``parents``, the packages' ``__init__`` too
    (Python runs them before the module)."""
    files = set()
    for n in names:
        for candidate in [*_parents(n), n] if parents else [n]:
            f = _module_file(candidate)
            if f is not None:
                files.add(f)
    return files


def _deps(path: Path) -> set[Path]:
    found = set(_direct(path))
    for f in [*found, path]:
        found |= _resolve({_name_of(f)})
    return found


def script_modules(
    script: str | os.PathLike[str],
    relative_to: str | os.PathLike[str] | None = None,
    entries: Mapping[str, Collection[str]] | None = None,
) -> list[str]:
    """Every package file an entry script imports, transitively, as sorted paths: relative to
    ``relative_to`` (the working directory) where they lie inside it, so that a study moved or
    copied to another folder does not see another set of inputs and rerun. ``entries`` names,
    per registry (``{"methods": ["umap"]}``), the entries the job uses; a registry it does not
    name brings all of its modules."""
    entries = entries or {}
    path = Path(script)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    todo = list(_resolve(_imported_names(tree, None, False)))
    seen: set[Path] = set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend((_deps(f) | _registry_files(f, entries)) - seen)
    base = Path(relative_to).resolve() if relative_to is not None else None
    return sorted(_shown(f, base) for f in seen)


def package_files(
    names: Sequence[str], relative_to: str | os.PathLike[str] | None = None
) -> list[str]:
    """Files of the package by their path inside it (templates), placed as script_modules."""
    base = Path(relative_to).resolve() if relative_to is not None else None
    return [_shown(ROOT / name, base) for name in names]


def _shown(path: Path, base: Path | None) -> str:
    if base is not None and path.is_relative_to(base):
        return str(path.relative_to(base))
    return str(path)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports, a registry its entries (for the test that the
    package has no cycle)."""
    graph = {}
    for f in ROOT.rglob("*.py"):
        graph[_name_of(f)] = {_name_of(d) for d in _direct(f) | _registry_files(f, {}) if d != f}
    return graph
