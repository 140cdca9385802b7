"""vectors: a Parquet table of precomputed embeddings: an optional ``label``, an optional
``split`` (train/test) and the vector in the other numeric columns. No training: its codes are the
model ``none``. A table without labels is one class (UNLABELLED, ``labelled`` False in data.npz):
its label-based measures are not computed and its codes are clustered instead."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from ..errors import AtlasError
from ._base import Format, Sources, existing_file, source_path
from ._common import SPLITS, UNLABELLED, finish, split

log = logging.getLogger(__name__)
MAP_DIMENSIONS = 2  # every map is 2-D: a table needs at least this many vector components


def has_labels(spec: Mapping) -> bool:
    """Whether the entry's table has a ``label`` column (its schema only, read when the workflow
    is planned: an unlabelled dataset gets the clusters rule)."""
    import pyarrow.parquet as pq

    path = source_path(spec)
    try:
        names = pq.read_schema(path).names
    except Exception as exc:
        raise AtlasError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})"
        ) from None
    return "label" in names


def read(spec: Mapping, sources: Sources) -> dict[str, np.ndarray]:
    """A Parquet table: optional ``label``, optional ``split`` (train/test), numeric vector
    columns. Without ``label`` every row is of the one class UNLABELLED and the split (when the
    table has none) is seeded but not stratified.

    The vectors are scaled by one global affine map into [0, 1] (the range every later rule
    expects); distances keep their ratios, so neighbours, maps and metrics are unchanged.
    """
    import pyarrow.parquet as pq

    path = source_path(spec)
    where = str(path)
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise AtlasError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})"
        ) from None
    labelled = "label" in table.column_names
    if not labelled and spec.get("class_names"):
        raise AtlasError(
            f"{where}: class_names are given but the table has no `label` column (columns: "
            f"{table.column_names[:10]}); add the labels to the table or drop class_names"
        )
    import pyarrow.types as pat

    types = {f.name: f.type for f in table.schema}
    ignored = list(spec.get("ignore_columns") or [])
    unknown = sorted(set(ignored) - set(table.column_names))
    if unknown:
        raise AtlasError(f"{where}: ignore_columns names {unknown}, which the table lacks")
    rest = [n for n in table.column_names if n not in ("label", "split", *ignored)]
    numeric = {n for n in rest if pat.is_integer(types[n]) or pat.is_floating(types[n])}
    other = [n for n in rest if n not in numeric]
    if other:
        raise AtlasError(
            f"{where}: columns {other[:10]} are not numbers ({types[other[0]]}), so they cannot "
            "be vector components; drop them from the table or list them under "
            "`ignore_columns:` in the dataset entry"
        )
    if ignored:
        log.warning("%s: leaving out columns %s (ignore_columns)", where, ignored)
    cols = [n for n in rest if n in numeric]
    if not cols:
        raise AtlasError(f"{where}: no numeric vector columns besides label/split")
    if len(cols) < MAP_DIMENSIONS:
        raise AtlasError(
            f"{where}: the vectors have {len(cols)} component ({cols}), fewer than the "
            f"{MAP_DIMENSIONS} dimensions of a map, so there is nothing to project; give the "
            "table at least two numeric columns besides label/split"
        )
    if labelled and table.column("label").null_count:
        first = int(
            np.flatnonzero(table.column("label").is_null().to_numpy(zero_copy_only=False))[0]
        )
        raise AtlasError(
            f"{where}: {table.column('label').null_count} rows have no label (first: row "
            f"{first}); give every row a label or drop the unlabelled rows"
        )
    if labelled:
        labels = table.column("label").to_numpy(zero_copy_only=False)
    else:
        labels = np.zeros(table.num_rows, np.uint8)
        log.info("%s: no `label` column: one class %r, clustered instead", where, UNLABELLED)
    if "split" in table.column_names:
        sp = table.column("split").to_numpy(zero_copy_only=False).astype(str)
        odd = sorted(set(sp.tolist()) - set(SPLITS))
        if odd:
            raise AtlasError(f"{where}: split values {odd[:5]}; use only 'train' and 'test'")
        rows = {s: np.flatnonzero(sp == s) for s in SPLITS}
    else:
        index = np.arange(table.num_rows)
        parts = split(index, labels, spec["test_fraction"], spec["seed"], where, labelled)
        rows = {"train": parts[0], "test": parts[1]}
    # Each split's matrix is filled column by column from the table: the vectors are held
    # once (plus the table), never as a whole matrix and its split copies.
    x = {s: np.empty((len(r), len(cols)), np.float32) for s, r in rows.items()}
    for j, n in enumerate(cols):
        column = table.column(n).to_numpy(zero_copy_only=False)
        for s, r in rows.items():
            x[s][:, j] = column[r]
        bad = ~np.isfinite(column)
        if bad.any():
            raise AtlasError(
                f"{where}: {int(bad.sum())} NaN/inf values in column {n!r} (first in row "
                f"{int(np.flatnonzero(bad)[0])}); drop or impute those rows"
            )
    y = {s: labels[r] for s, r in rows.items()}
    out = finish(x, y, spec.get("class_names"), where, labelled)
    lo = min(float(x[s].min()) for s in SPLITS)
    hi = max(float(x[s].max()) for s in SPLITS)
    scale = np.float32(1.0 / (hi - lo)) if hi > lo else np.float32(1.0)
    for s in SPLITS:
        v = x[s]
        v -= np.float32(lo)
        v *= scale
        np.clip(v, 0, 1, out=v)
        out[f"x_{s}"] = v
    return {**out, "image_shape": np.array([len(cols)], np.int64), "channels": np.int64(1)}


FORMAT = Format(
    name="vectors",
    read=read,
    files=existing_file,
    codes=True,
    description="a Parquet table of embeddings (no model: the vectors are the codes)",
    labelled=has_labels,
)
