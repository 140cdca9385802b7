"""Atomic writes: a final path holds a complete file or nothing, never a half-written one."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
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


# Write errors a user fixes outside the workflow: a full disk or quota, a read-only folder, no
# permission to create a file there.
_FULL = {errno.ENOSPC, errno.EDQUOT}
_REFUSED = {errno.EROFS, errno.EACCES, errno.EPERM}


def write_error(final: Path, exc: OSError) -> AtlasError:
    """The message for a file that could not be written: which file, why, the space left, and
    that a rerun continues (the partial file is removed; finished outputs are kept)."""
    try:
        free = f"{shutil.disk_usage(final.parent).free / 2**20:,.0f} MB free there"
    except OSError:
        free = "its free space unknown"
    if exc.errno in _FULL:
        fix = "free some space (or write results/ to a larger disk)"
    else:
        fix = f"make {final.parent} writable"
    return AtlasError(
        f"{final}: could not be written: {exc.strerror or exc} ({free}); nothing half-written "
        f"was left. {fix[0].upper()}{fix[1:]}, then rerun the same command: finished results "
        "are kept and the run continues from this job"
    )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary file lives in the same directory so that the final ``os.replace`` is atomic.
    ``suffix`` keeps libraries that infer a format from the extension (Keras, matplotlib) happy.
    A full disk or a read-only folder is an AtlasError naming ``path`` (see write_error).
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{final.name}.", suffix=f".tmp{suffix}", dir=final.parent
        )
    except OSError as exc:
        if exc.errno in _FULL | _REFUSED:
            raise write_error(final, exc) from None
        raise
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, final)
    except OSError as exc:
        if exc.errno in _FULL or exc.errno == errno.EROFS:
            raise write_error(final, exc) from None
        raise
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


def save_npz(
    path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], compress: bool = True
) -> None:
    """Write arrays to an ``.npz`` atomically; object arrays are refused (no pickle).

    ``compress=False`` for arrays that barely compress and sit on the critical path (the kNN
    graph: 4 s of zlib for a quarter off its 52 MB on MNIST, measured).
    """
    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise TypeError(f"array {name!r} has dtype object, which would need pickle")
    with atomic_open(path) as fh:
        write = np.savez_compressed if compress else np.savez
        write(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def save_pickle(path: str | os.PathLike[str], obj: object) -> None:
    """Pickle ``obj`` atomically: a method's fitted object, which only Python can hold.

    Pickles run code when loaded: the workflow reads back only the files its own jobs wrote.
    """
    import pickle

    with atomic_open(path) as fh:
        pickle.dump(obj, fh, protocol=5)


def load_pickle(path: str | os.PathLike[str]) -> object:
    """An object :func:`save_pickle` wrote; a damaged or foreign file names the fix."""
    import pickle

    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
        raise AtlasError(
            f"{path}: not a readable fitted object ({type(exc).__name__}: {exc}); delete it and "
            "rerun snakemake (its project job writes it again)"
        ) from exc


def load_npz(
    path: str | os.PathLike[str], required: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Load the arrays of an ``.npz`` (all but ``skip``) without pickle; name the file and the
    missing keys if any."""
    p = Path(path)
    if not p.is_file():
        raise AtlasError(f"{p}: file not found; rerun the rule that makes it (snakemake {p}).")
    try:
        with np.load(p, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if k not in skip}
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


class NpzRows:
    """One 2-D array of an ``.npz``, read row chunk by row chunk, never whole.

    ``np.load`` decompresses a member in one piece; a job that only streams over the rows (encode
    over 60,000 MNIST images: 188 MB as float32) can instead hold one chunk at a time. Only the
    header is read on construction, so a wrong key or a damaged file fails early.
    """

    def __init__(self, path: str | os.PathLike[str], key: str) -> None:
        self.path, self.key = Path(path), key
        with self._open() as fh:
            self.shape, self.dtype = self._header(fh)
        if len(self.shape) != 2:
            raise AtlasError(f"{self.path}: {key} has shape {self.shape}, expected (rows, columns)")

    def __len__(self) -> int:
        return self.shape[0]

    def _open(self) -> contextlib.AbstractContextManager[IO[bytes]]:
        import zipfile

        try:
            zf = zipfile.ZipFile(self.path)
            member = zf.open(f"{self.key}.npy")
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            raise AtlasError(
                f"{self.path}: cannot read {self.key!r} ({type(exc).__name__}: {exc}); delete "
                "it and rerun snakemake to rebuild it."
            ) from exc

        @contextlib.contextmanager
        def both() -> Iterator[IO[bytes]]:
            with zf, member:
                yield member

        return both()

    def _header(self, fh: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
        fmt = np.lib.format
        version = fmt.read_magic(fh)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read(fh)
        if fortran or dtype.hasobject:
            raise AtlasError(f"{self.path}: {self.key} is not a C-ordered numeric array")
        return shape, dtype

    def chunks(self, rows: int) -> Iterator[np.ndarray]:
        """Consecutive blocks of ``rows`` rows (the last one shorter), as read-only arrays."""
        n, width = self.shape
        row_bytes = width * self.dtype.itemsize
        with self._open() as fh:
            self._header(fh)
            for start in range(0, n, rows):
                count = min(rows, n - start)
                buf = fh.read(count * row_bytes)
                if len(buf) != count * row_bytes:
                    raise AtlasError(
                        f"{self.path}: {self.key} ends after {start} of {n} rows (truncated); "
                        "delete it and rerun snakemake to rebuild it."
                    )
                yield np.frombuffer(buf, self.dtype).reshape(count, width)


def data_uri(path: str | os.PathLike[str]) -> str:
    """A PNG/SVG file as a data: URI, so the report needs no other file."""
    import base64

    p = Path(path)
    mime = {".png": "image/png", ".svg": "image/svg+xml"}[p.suffix]
    return f"data:{mime};base64,{base64.b64encode(p.read_bytes()).decode()}"
