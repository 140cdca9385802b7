"""Refresh docs/performance.md: every benchmark in turn, each writing its own section.

Each benchmark runs with the arguments its docs give (its defaults; bench/atlas.py with
--runs 5, as the README's atlas budgets are measured; study and scale under `nice -n 10`)
plus --markdown docs/performance.md, one after another so that none slows another down. A
benchmark that fails leaves its section as it was; the others still run, and the exit status
is 1. The benchmarks read what the default study builds (a bare `snakemake`); bench/atlas.py
also needs Chromium.

    .venv/bin/python bench/refresh_docs.py [--only study train ...] [--dry-run]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import _markdown

REPO = Path(__file__).resolve().parents[1]
NICE = ("nice", "-n", "10")
# name (the script's stem, its markers' name) -> (prefix, arguments): docs/performance.md order
BENCHES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "study": (NICE, ()),
    "train": ((), ()),
    "project": ((), ()),
    "field": ((), ()),
    "atlas-default": ((), ("--runs", "5")),
    "atlas-five-models": ((), ("--study", "five-models", "--runs", "3")),
    "atlas-vectors": ((), ("--study", "vectors", "--runs", "3")),
    "atlas-million": ((), ("--study", "million", "--runs", "3")),
    "scale": (NICE, ()),
    "end_to_end-1000000": (NICE, ("--points", "1000000")),
    "end_to_end-300000": (NICE, ("--points", "300000", "--guard")),
}


def script(name: str) -> str:
    """The bench script of a section: ``atlas-vectors`` -> ``atlas``."""
    return name.split("-", 1)[0]


def copies(name: str, main: Path) -> list[Path]:
    """Other pages under docs/ that show the same section (docs/atlas.md: the atlas's)."""
    start, _ = _markdown.markers(name)
    return [
        p
        for p in sorted((REPO / "docs").glob("*.md"))
        if p.resolve() != main and start in p.read_text(encoding="utf-8")
    ]


def _python() -> str:
    """This interpreter as the docs spell it (``.venv/bin/python`` when run from the venv)."""
    exe = Path(sys.executable)
    return exe.relative_to(REPO).as_posix() if exe.is_relative_to(REPO) else str(exe)


def commands(names: list[str], markdown: str) -> list[list[str]]:
    """The command line of each named benchmark, to run from the repository root."""
    out = []
    for name in names:
        prefix, args = BENCHES[name]
        out.append([*prefix, _python(), f"bench/{script(name)}.py", *args, "--markdown", markdown])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", nargs="+", choices=list(BENCHES), metavar="NAME", help="these only")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--markdown", default="docs/performance.md", metavar="PATH")
    args = ap.parse_args()
    names = [n for n in BENCHES if n in (args.only or BENCHES)]
    path = Path(args.markdown).resolve()
    shown = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)
    todo = commands(names, shown)
    if args.dry_run:
        print("\n".join(shlex.join(cmd) for cmd in todo))
        return
    try:  # every section's markers before the first benchmark, not after an hour
        for name in names:
            _markdown.check_markers(path, name)
    except _markdown.MarkerError as err:
        raise SystemExit(str(err)) from None
    failed = []
    for name, cmd in zip(names, todo, strict=True):
        print(f"\n$ {shlex.join(cmd)}", flush=True)
        if subprocess.run(cmd, cwd=REPO).returncode != 0:
            failed.append(name)
            continue
        text = path.read_text(encoding="utf-8")
        start, end = _markdown.markers(name)
        block = text[text.index(start) + len(start) : text.index(end)]
        for other in copies(name, path):
            _markdown.write_block(other, name, block.strip("\n") + "\n")
    if failed:
        raise SystemExit(f"failed (their sections left as they were): {', '.join(failed)}")
    print(f"\n{shown}: {', '.join(names)} refreshed")


if __name__ == "__main__":
    main()
