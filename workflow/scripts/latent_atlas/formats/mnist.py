"""mnist: MNIST's four IDX files, downloaded and verified by the download_mnist rule (settings
under ``mnist:``), checked again here: a resource file changed after download is refused with
the fix (only the download rule fetches)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .. import download
from ..data import mnist_arrays
from ._base import Format, Sources
from ._common import IDX_FILES

RESOURCES = tuple(f"resources/mnist/{f}" for pair in IDX_FILES.values() for f in pair)


def read(spec: Mapping, sources: Sources) -> dict[str, np.ndarray]:
    folder = Path(sources.files[0]).parent
    download.verify(folder)
    return {**mnist_arrays(folder), "channels": np.int64(1)}


def provenance(spec: Mapping, files: Sequence[str]) -> dict[str, np.ndarray]:
    from ._base import file_provenance

    return {**file_provenance(spec, files), "source": np.array("MNIST (pinned SHA-256s)")}


FORMAT = Format(
    name="mnist",
    read=read,
    resources=RESOURCES,
    provenance=provenance,
    description="MNIST, downloaded and verified",
    size=lambda spec: (60_000, 10_000, 10),
)
