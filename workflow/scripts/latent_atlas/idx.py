"""Read IDX files (the MNIST format) by their magic number and declared shape.

Layout: two zero bytes, a type code, the number of dimensions, one big-endian uint32 per
dimension, then the data in C order. We check every part so that a corrupt or truncated file is
named and explained instead of surfacing later as a reshape error or silently wrong pixels.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from .errors import AtlasError

# type code -> big-endian dtype
IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


DOWNLOADED = "delete it and rerun snakemake to fetch a verified copy"
USERS = "replace it with a whole copy (the workflow cannot fetch your own files)"


def read_idx(path: str | os.PathLike[str], expect_ndim: int | None = None) -> np.ndarray:
    """Parse one uncompressed IDX file into a native-endian array; raise AtlasError if corrupt."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise AtlasError(f"{p}: IDX file not found") from None
    return parse_idx(raw, p, expect_ndim)


def parse_idx(
    raw: bytes, p: str | os.PathLike[str], expect_ndim: int | None = None, hint: str = DOWNLOADED
) -> np.ndarray:
    """Parse the bytes of one IDX file (``p`` names it in errors) into a native-endian array;
    ``hint`` is the fix an error gives (a downloaded file is fetched again, a user's is not)."""
    if len(raw) < 4:
        raise AtlasError(f"{p}: {len(raw)} bytes, too short for an IDX header; {hint}")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in IDX_DTYPES:
        raise AtlasError(
            f"{p}: wrong magic number 0x{raw[:4].hex()} (expected 0x0000 + a type code in "
            f"{sorted(hex(c) for c in IDX_DTYPES)} + ndim); not an uncompressed IDX file "
            f"(gzipped? decompress it first); {hint}"
        )
    if ndim == 0 or (expect_ndim is not None and ndim != expect_ndim):
        want = f", expected {expect_ndim}" if expect_ndim is not None else ""
        raise AtlasError(f"{p}: header declares {ndim} dimensions{want}; {hint}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise AtlasError(f"{p}: truncated header ({len(raw)} of {header} bytes); {hint}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = len(raw) - header
    if body != expected:
        what = "truncated" if body < expected else "has trailing bytes"
        raise AtlasError(
            f"{p}: body {what}: {body} bytes, but the header declares shape {shape} of "
            f"{dtype.name} = {expected} bytes; {hint}"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def read_idx_pair(
    images: str | os.PathLike[str], labels: str | os.PathLike[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file (N, rows, cols) and its labels (N,), checking that the counts agree."""
    x = read_idx(images, expect_ndim=3)
    y = read_idx(labels, expect_ndim=1)
    if x.shape[0] != y.shape[0]:
        raise AtlasError(
            f"{images} holds {x.shape[0]} images but {labels} holds {y.shape[0]} labels; "
            "the two files do not belong together"
        )
    return x, y
