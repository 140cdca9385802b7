"""Atomic writes: a final path holds a complete file or nothing, never a half-written one."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import numpy as np

from .errors import AtlasError

# mkstemp creates files readable by the owner only; final files get the usual umask mode.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
CHUNK = 1 << 20  # read/copy block size


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary file lives in the same directory so that the final ``os.replace`` is atomic.
    ``suffix`` keeps libraries that infer a format from the extension (Keras, matplotlib) happy.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".tmp{suffix}", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, final)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; it replaces ``path`` on success."""
    with atomic_path(path) as tmp, open(tmp, mode) as fh:
        yield fh


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks (MNIST's largest file is 47 MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def save_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Write arrays to a compressed ``.npz`` atomically; object arrays are refused (no pickle)."""
    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise TypeError(f"array {name!r} has dtype object, which would need pickle")
    with atomic_open(path) as fh:
        np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def load_npz(path: str | os.PathLike[str], required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` without pickle; name the file and the missing keys if any."""
    p = Path(path)
    if not p.is_file():
        raise AtlasError(f"{p}: file not found; rerun the rule that makes it (snakemake {p}).")
    try:
        with np.load(p, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError, EOFError ...
        raise AtlasError(
            f"{p}: not a readable .npz ({type(exc).__name__}: {exc}); delete it and rerun "
            f"snakemake to rebuild it."
        ) from exc
    missing = [k for k in required if k not in arrays]
    if missing:
        raise AtlasError(
            f"{p}: missing arrays {missing} (has {sorted(arrays)}); it was written by another "
            "version of the workflow: delete it and rerun snakemake."
        )
    return arrays
