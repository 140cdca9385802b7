"""What a data format declares (see :mod:`latent_atlas.formats`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AtlasError
from ..io import sha256_file


@dataclass(frozen=True)
class Sources:
    """What a reader is handed: the files it reads (``Format.files``, or the ``resources``
    another rule made) and the workflow's config (for settings outside the dataset entry)."""

    files: Sequence[str]
    config: Mapping = field(default_factory=dict)


def source_path(spec: Mapping) -> Path:
    """The entry's ``path`` with ``~`` expanded (relative paths are from the working directory)."""
    if not spec.get("path"):
        raise AtlasError(f"datasets: format {spec['format']!r} needs `path:` (a file or folder)")
    return Path(os.path.expanduser(str(spec["path"])))


def existing_file(spec: Mapping) -> list[str]:
    """``Format.files`` of a one-file format: the file at ``path``, checked to exist."""
    path = source_path(spec)
    if not path.exists():
        raise AtlasError(f"datasets: {path} (format {spec['format']}) does not exist; fix `path:`")
    if not path.is_file():
        raise AtlasError(f"datasets: {path} must be a file ({spec['format']})")
    return [str(path)]


def existing_folder(spec: Mapping, holds: str) -> Path:
    """The folder at ``path``, checked to exist; ``holds`` says what it should hold."""
    path = source_path(spec)
    if not path.exists():
        raise AtlasError(f"datasets: {path} (format {spec['format']}) does not exist; fix `path:`")
    if not path.is_dir():
        raise AtlasError(f"datasets: {path} must be a folder holding {holds}")
    return path


def file_provenance(spec: Mapping, files: Sequence[str]) -> dict[str, np.ndarray]:
    """The format and path, and the SHA-256 of every source file."""
    return {
        "source": np.array(f"{spec['format']}: {spec.get('path', '')}"),
        "source_files": np.array(list(files)),
        "source_sha256": np.array([sha256_file(f) for f in files]),
    }


def pins_by_name(spec: Mapping, files: Sequence[str]) -> dict[str, Path]:
    """``sha256:`` pins name source files by their file name."""
    return {Path(f).name: Path(f) for f in files}


@dataclass(frozen=True)
class Format:
    """One data format of a ``datasets:`` entry.

    ``read(spec, sources)`` returns the arrays of data.npz (x_train, y_train, x_test, y_test,
    image_shape, channels, class_names; :func:`latent_atlas.data.check_arrays` checks them).
    ``files(spec)`` lists the user's files it reads, checked to exist when the workflow is
    planned (they become the normalise rule's inputs); None = a built-in dataset with no files
    of the user's, which is always defined under its format's name. ``resources`` are files
    another rule makes (MNIST's download). ``codes`` = the data's vectors are the codes
    (model ``none``: no training). ``provenance`` and ``pin_index`` feed the report and the
    ``sha256:`` pins. ``labelled(spec)`` says whether an entry's data have class labels,
    read when the workflow is planned (an unlabelled dataset's codes are clustered instead);
    None = always labelled.
    """

    name: str
    read: Callable[[Mapping, Sources], dict[str, np.ndarray]]
    files: Callable[[Mapping], list[str]] | None = None
    resources: tuple[str, ...] = ()
    codes: bool = False
    provenance: Callable[[Mapping, Sequence[str]], dict[str, np.ndarray]] = file_provenance
    pin_index: Callable[[Mapping, Sequence[str]], dict[str, Path]] = pins_by_name
    description: str = ""
    #: (train, test, classes) of an entry when known without reading it (built-in datasets):
    #: the planning then checks settings that depend on the data's size before any job
    size: Callable[[Mapping], tuple[int, int, int]] | None = None
    labelled: Callable[[Mapping], bool] | None = None

    @property
    def builtin(self) -> bool:
        return self.files is None
