"""Is a finished result file whole? Cheap structural checks, run on every existing target when
the workflow is planned, so that a damaged file (cut short by a full disk, a bad copy, an
editor) stops the run before any job reads it, rather than failing the job that reads it, which
would cost that job's previous outputs.

Every writer of the workflow writes atomically, so a job that dies leaves nothing half-written at
a final path; these checks catch what happens to a file afterwards. They read a file's ends
only (a zip's central directory, Parquet's footer, PNG's end chunk, the last line of a table, a
pickle's STOP opcode),
never the whole file.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

PNG_END = b"IEND\xaeB`\x82"
TAIL = 4096


def _tail(path: Path, n: int = TAIL) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - n))
        return fh.read()


def _zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as z:
            size = path.stat().st_size
            for info in z.infolist():
                if info.header_offset + info.compress_size > size:
                    return f"its member {info.filename} runs past the end of the file"
    except (zipfile.BadZipFile, OSError) as exc:
        return f"not a readable zip archive ({exc})"
    return None


def _parquet(path: Path) -> str | None:
    size = path.stat().st_size
    if size < 12:
        return "too short for a Parquet file"
    with open(path, "rb") as fh:
        head = fh.read(4)
    tail = _tail(path, 8)
    (footer,) = struct.unpack("<I", tail[:4])
    if head != b"PAR1" or tail[4:] != b"PAR1" or footer > size - 12:
        return "not a whole Parquet file (its footer is missing or cut)"
    return None


def _ends_with(marker: bytes, what: str) -> Callable[[Path], str | None]:
    def check(path: Path) -> str | None:
        if marker not in _tail(path, 64 if marker == PNG_END else TAIL):
            return f"{what} is cut short"
        return None

    return check


def _pickle(path: Path) -> str | None:
    if _tail(path, 1) != b".":  # every pickle ends with its STOP opcode
        return "a pickle cut short (its STOP opcode is missing)"
    return None


def _table(path: Path) -> str | None:
    tail = _tail(path, 1)
    if not tail or tail != b"\n":
        return "a table cut short (its last line is incomplete)"
    return None


CHECKS = {
    ".npz": _zip,
    ".keras": _zip,
    ".parquet": _parquet,
    ".png": _ends_with(PNG_END, "the PNG image"),
    ".svg": _ends_with(b"</svg>", "the SVG image"),
    ".html": _ends_with(b"</html>", "the HTML page"),
    ".csv": _table,
    ".pkl": _pickle,
}


def problem(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with an existing result file, or None when it looks whole (or is of a
    kind without a check)."""
    p = Path(path)
    check = CHECKS.get(p.suffix)
    if check is None or not p.is_file():
        return None
    if p.stat().st_size == 0:
        return "empty"
    return check(p)


def damaged(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, str]]:
    """(path, problem) of every existing file among ``paths`` that is not whole."""
    found = []
    for path in dict.fromkeys(str(p) for p in paths):
        why = problem(path)
        if why:
            found.append((path, why))
    return found


def damage_message(found: list[tuple[str, str]]) -> str:
    """The planning error: what is damaged, that nothing ran, and the command that rebuilds it."""
    lines = [f"  {path}: {why}" for path, why in found]
    files = " ".join(path for path, _ in found)
    return (
        "damaged result file(s); nothing has been run, and no finished result was touched:\n"
        + "\n".join(lines)
        + f"\nDelete them and rerun the same command; the workflow rebuilds them and whatever "
        f"depends on them:\n  rm {files}"
    )
