"""Benchmarks write their own results into docs/performance.md.

A figure copied by hand from a terminal loses where and how it was measured and goes stale
without anyone noticing; each bench script's ``--markdown PATH`` instead writes a block with
the date, the machine and the exact command, between that script's markers:

    <!-- bench:NAME:start -->
    ... replaced on every run ...
    <!-- bench:NAME:end -->

Everything outside the markers stays byte for byte as it was.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = ".venv/bin/python"  # how the docs spell the interpreter in every command


class MarkerError(ValueError):
    """A markdown file lacks a benchmark's markers (or has them twice, or out of order)."""


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of benchmark ``name`` (a bench script's stem)."""
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def _span(text: str, name: str, source: str) -> tuple[int, int]:
    """Where the text between ``name``'s markers starts and ends in ``text``."""
    start, end = markers(name)
    for marker in (start, end):
        count = text.count(marker)
        if count != 1:
            what = "no" if count == 0 else f"{count} copies of the"
            raise MarkerError(f"{source}: {what} marker {marker} (benchmark {name!r})")
    begin, stop = text.index(start) + len(start), text.index(end)
    if stop < begin:
        raise MarkerError(f"{source}: marker {end} comes before {start}")
    return begin, stop


def replace_between(text: str, name: str, content: str, source: str = "<text>") -> str:
    """``text`` with what lies between ``name``'s markers replaced by ``content`` (on lines of
    its own); the rest unchanged. ``source`` names the file in errors."""
    begin, stop = _span(text, name, source)
    return text[:begin] + "\n" + content.strip("\n") + "\n" + text[stop:]


def check_markers(path: str | os.PathLike[str], name: str) -> None:
    """Fail now, not after a long benchmark, when ``path`` cannot take ``name``'s block."""
    path = Path(path)
    if not path.is_file():
        raise MarkerError(f"{path}: no such file (benchmark {name!r})")
    _span(path.read_bytes().decode("utf-8"), name, str(path))


def write_block(path: str | os.PathLike[str], name: str, content: str) -> None:
    """Put ``content`` between ``name``'s markers in the markdown file ``path``."""
    path = Path(path)
    text = path.read_bytes().decode("utf-8")  # bytes: line endings kept as they are
    path.write_bytes(replace_between(text, name, content, str(path)).encode("utf-8"))
    print(f"wrote the {name} results into {path}", flush=True)


def add_argument(ap: argparse.ArgumentParser, name: str) -> None:
    """``--markdown PATH`` on a bench script, its markers checked when the arguments are
    parsed (a usage error before the benchmark starts)."""

    def existing(value: str) -> Path:
        try:
            check_markers(value, name)
        except MarkerError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        return Path(value)

    ap.add_argument(
        "--markdown",
        type=existing,
        metavar="PATH",
        help=f"also write the results between the bench:{name} markers of this markdown file "
        "(e.g. docs/performance.md)",
    )


def _first(path: str, prefix: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine(cpuinfo: str = "/proc/cpuinfo", meminfo: str = "/proc/meminfo") -> str:
    """Cores, CPU model and memory in one line, e.g. ``2 cores, AMD EPYC 7B13, 7.8 GiB RAM``."""
    model = _first(cpuinfo, "model name") or "unknown CPU"
    total = _first(meminfo, "MemTotal")  # "8048392 kB"
    memory = f"{int(total.split()[0]) / 2**20:.1f} GiB RAM" if total else "unknown RAM"
    return f"{os.cpu_count()} cores, {model}, {memory}"


def command(argv: Sequence[str] | None = None) -> str:
    """The command as typed from the repository root: ``.venv/bin/python bench/x.py ...``."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0])
    if script.is_absolute() and script.resolve().is_relative_to(REPO):
        script = script.resolve().relative_to(REPO)
    return shlex.join([PYTHON, script.as_posix(), *argv[1:]])


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table; a header ending in ``>`` is right-aligned (numbers), without it."""
    names = [h.removesuffix(">") for h in header]
    rule = ["---:" if h.endswith(">") else "---" for h in header]
    lines = ["| " + " | ".join(names) + " |", "| " + " | ".join(rule) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", r"\|") for c in row) + " |")
    return "\n".join(lines)


def block(
    heading: str,
    body: str | Iterable[str],
    *,
    argv: Sequence[str] | None = None,
    now: datetime | None = None,
    machine_line: str | None = None,
    level: int = 3,
) -> str:
    """One result block: a heading, when (UTC), where and how it was measured, then ``body``
    (markdown, or its parts: tables and lines, joined by blank lines)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    parts = [body] if isinstance(body, str) else list(body)
    return "\n".join(
        [
            f"{'#' * level} {heading}",
            "",
            f"- date: {now:%Y-%m-%d %H:%M} UTC",
            f"- machine: {machine_line or machine()}",
            f"- command: `{command(argv)}`",
            "",
            "\n\n".join(p.strip("\n") for p in parts),
            "",
        ]
    )
