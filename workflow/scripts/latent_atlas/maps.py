"""The map file: one Parquet table per map (x, y, label, split, index) with the method's
parameters, timings and placement as JSON in its schema metadata. Readers of maps (metrics,
figures, report, atlas, sweeps) need only this module, not the projection algorithms."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .errors import AtlasError
from .io import atomic_path

COLUMNS = ("x", "y", "label", "split", "index")


def write_map(frame: pd.DataFrame, info: Mapping, out_path: str | os.PathLike[str]) -> None:
    """Parquet with ``info`` as JSON in the schema metadata, written atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {**(table.schema.metadata or {}), b"latent_atlas": json.dumps(info).encode()}
    with atomic_path(out_path, suffix=".parquet") as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)


def _read(path: str | os.PathLike[str], what: str, columns: tuple[str, ...]) -> tuple:
    """A Parquet table of ours and its info; a missing or damaged file is named with the fix."""
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        table = pq.read_table(p)
    except Exception as exc:
        raise AtlasError(
            f"{p}: not a readable {what} ({type(exc).__name__}: {exc}); delete it and rerun "
            "snakemake"
        ) from exc
    missing = set(columns) - set(table.column_names)
    if missing:
        raise AtlasError(f"{p}: missing columns {sorted(missing)}; delete it and rerun snakemake")
    info = json.loads((table.schema.metadata or {}).get(b"latent_atlas", b"{}"))
    return table.to_pandas(), info


def read_map(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict]:
    """A map and its info; a missing or damaged file is named with the fix."""
    return _read(path, "map", COLUMNS)


LOCAL_COLUMNS = ("split", "index")


def write_local(table: pd.DataFrame, info: Mapping, out_path: str | os.PathLike[str]) -> None:
    """A map's per-point quality (one row per map row, same order), info as in a map."""
    write_map(table, info, out_path)


def read_local(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict]:
    """Per-point quality written by :func:`write_local`; a damaged file is named with the fix."""
    table, info = _read(path, "table", LOCAL_COLUMNS)
    if "computed_on" not in info:
        raise AtlasError(f"{path}: not a local-quality table; delete it and rerun snakemake")
    return table, info
