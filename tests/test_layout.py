"""The README's layout section matches the tree, so it cannot go stale: every path it names
exists, and every top-level entry, rule file and benchmark of the repository is named."""

from __future__ import annotations

import re
import subprocess

from conftest import REPO

IGNORED = {"results/", "resources/", "logs/", "benchmarks/"}  # outputs, git-ignored
# tracked files a user never needs to read about (tooling, licence, catalog metadata)
UNLISTED = {".ci", ".gitignore", ".snakemake-workflow-catalog.yml", "LICENSE", "pyproject.toml"}


def layout() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Layout\n", 1)[1]
    return re.search(r"```\n(.*?)```", section, flags=re.S).group(1)


def named_paths(block: str) -> list[str]:
    """The paths the block's left column names (before the description)."""
    paths = []
    for line in block.splitlines():
        if not line or line.startswith(" "):
            continue
        # the left column: up to a run of spaces, else the first 31 characters (aligned)
        m = re.match(r"(.*?\S)\s{2,}", line)
        left = m.group(1) if m else line[:31]
        paths += [p.strip(",") for p in left.split() if p.strip(",")]
    return paths


def test_every_named_path_exists():
    for path in named_paths(layout()):
        if path in IGNORED:
            continue
        assert list(REPO.glob(path.rstrip("/"))), f"README layout names {path}, which is not there"


def test_every_top_level_entry_rule_file_and_benchmark_is_named():
    block = layout()
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    tops = {p.split("/")[0] for p in tracked} - UNLISTED
    named = " ".join(named_paths(block))
    for top in sorted(tops):
        assert re.search(rf"(^|\s){re.escape(top)}(/|\s|$)", named), f"layout misses {top}"
    for smk in sorted((REPO / "workflow/rules").glob("*.smk")):
        assert re.search(rf"\b{smk.stem}\b", block), f"layout misses workflow/rules/{smk.name}"
    for script in sorted((REPO / "bench").glob("[!_]*.py")):
        assert script.name in block, f"layout misses bench/{script.name}"
