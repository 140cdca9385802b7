"""The Python that runs the jobs, checked when the workflow is planned.

A `snakemake` from another environment (a system install, a conda base) plans the study fine
and then fails job after job with ``ModuleNotFoundError``. Checked first, a missing package is
one error naming it and the fix, before any job runs; a version other than the pinned one is a
warning, since maps and metrics are reproducible only with the pinned versions. This runs
before anything else of the package, so it imports only the standard library and `packaging`
(Snakemake's own dependency) to read requirement lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# requirements.in's top-level pins that the jobs do not import: the engine and developers' tools.
TOOLS = frozenset(
    {
        "snakemake",
        "snakemake-executor-plugin-slurm",
        "snakemake-executor-plugin-slurm-jobstep",
        "snakefmt",
        "pytest",
        "pytest-timeout",
        "pytest-randomly",
        "pytest-xdist",
        "coverage",
        "playwright",
        "ruff",
    }
)
# Other distributions that provide the same import (a GPU build of TensorFlow).
ALTERNATIVES = {"tensorflow-cpu": ("tensorflow",)}


def _requirements(path: Path) -> list[Requirement]:
    """The requirement lines of a pip requirements file (comments and options skipped)."""
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            try:
                found.append(Requirement(line))
            except InvalidRequirement:
                continue
    return found


def installed(name: str) -> str | None:
    """The installed version of distribution ``name`` (or of an alternative), None if absent."""
    for candidate in (name, *ALTERNATIVES.get(name, ())):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None


def pins(lock: Path) -> dict[str, str]:
    """Canonical name -> pinned version of a pip lock file (``name==version`` lines)."""
    if not lock.is_file():
        return {}
    found = {}
    for req in _requirements(lock):
        exact = [spec.version for spec in req.specifier if spec.operator == "=="]
        if exact:
            found[canonicalize_name(req.name)] = exact[0]
    return found


def runtime(top_level: Path) -> list[str]:
    """What the jobs import: the packages of ``top_level`` (requirements.in) less TOOLS."""
    if not top_level.is_file():
        return []
    return [r.name for r in _requirements(top_level) if canonicalize_name(r.name) not in TOOLS]


def check(lock: Path, names: Iterable[str] | None = None) -> tuple[str | None, list[str]]:
    """(an error message if a package is missing, else None; warnings for versions that differ
    from the lock file's pins). ``names`` defaults to requirements.in's (beside ``lock``)."""
    if names is None:
        names = runtime(lock.with_suffix(".in"))
    pinned = pins(lock)
    missing, warnings = [], []
    for name in names:
        version = installed(name)
        if version is None:
            missing.append(name)
        elif pinned.get(canonicalize_name(name), version) != version:
            warnings.append(
                f"{name} {version} is installed, {lock.name} pins "
                f"{pinned[canonicalize_name(name)]}: maps and metrics may differ from a pinned "
                "run's"
            )
    if not missing:
        return None, warnings
    return (
        f"this Python ({sys.executable}) lacks {', '.join(missing)}, which the workflow's jobs "
        "import. Run the workflow with the project's environment: `make run` (builds .venv from "
        "requirements.txt), then `.venv/bin/snakemake ...`; or let each rule build its own "
        "conda environment with `--sdm conda`.",
        warnings,
    )
