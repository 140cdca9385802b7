"""A user's data is read strictly: a layout the reader does not recognise, columns that are not
numbers, one class, missing labels or a cut file is an error at normalise naming the file and a
fix that fits (a user's file cannot be fetched again); class names are drawn as text."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from latent_atlas import datasets, plotting
from latent_atlas.errors import AtlasError
from PIL import Image


def normalise(spec: dict, tmp_path: Path) -> Path:
    out = tmp_path / "out" / "data.npz"
    datasets.normalise("mine", {"test_fraction": 0.2, "seed": 0, **spec}, {}, None, out)
    return out


def refused(spec: dict, tmp_path: Path, *needles: str) -> str:
    with pytest.raises(AtlasError) as err:
        normalise(spec, tmp_path)
    msg = str(err.value)
    for needle in needles:
        assert needle in msg, msg
    assert not (tmp_path / "out" / "data.npz").exists()
    return msg


def image_folder(root: Path, layout: dict[str, list[str]], n: int = 4) -> Path:
    rng = np.random.default_rng(0)
    for split, classes in layout.items():
        for c in classes:
            d = root / split / c if split else root / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (8, 8), np.uint8)).save(d / f"{i}.png")
    return root


def test_a_train_folder_without_test_is_refused_not_read_as_a_class(tmp_path: Path):
    root = image_folder(tmp_path / "imgs", {"train": ["cat", "dog"]})
    refused({"format": "images", "path": str(root)}, tmp_path, "train/", "no test/", "test/<class>")


def test_class_folders_directly_are_split(tmp_path: Path):
    root = image_folder(tmp_path / "imgs", {"": ["cat", "dog"]}, n=10)
    out = normalise({"format": "images", "path": str(root)}, tmp_path)
    with np.load(out) as npz:
        assert npz["class_names"].tolist() == ["cat", "dog"]


def test_one_class_is_refused(tmp_path: Path):
    root = image_folder(tmp_path / "imgs", {"": ["cat"]}, n=10)
    refused({"format": "images", "path": str(root)}, tmp_path, "one class", "cat", "two")


def vectors(tmp_path: Path, **extra: object) -> Path:
    rng = np.random.default_rng(1)
    table = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    table["label"] = np.arange(60) % 3
    for name, values in extra.items():
        table[name] = values
    path = tmp_path / "v.parquet"
    table.to_parquet(path)
    return path


def test_text_columns_of_a_vectors_table_are_an_error_naming_them(tmp_path: Path):
    path = vectors(tmp_path, note=["x"] * 60, flag=[True] * 60)
    refused({"format": "vectors", "path": str(path)}, tmp_path, "note", "flag", "ignore_columns")


def test_ignore_columns_leaves_them_out_with_a_warning(tmp_path: Path, caplog):
    path = vectors(tmp_path, note=["x"] * 60)
    out = normalise({"format": "vectors", "path": str(path), "ignore_columns": ["note"]}, tmp_path)
    with np.load(out) as npz:
        assert npz["x_train"].shape[1] == 3
    assert "note" in caplog.text
    spec = {"format": "vectors", "path": str(path), "ignore_columns": ["nope"]}
    refused(spec, tmp_path / "again", "nope")


def test_missing_labels_are_named_not_blamed_on_class_sizes(tmp_path: Path):
    labels = pd.array([0, 1, 2] * 19 + [None, None, 1], dtype="Int64")
    path = vectors(tmp_path)
    table = pd.read_parquet(path).assign(label=labels)
    table.to_parquet(path)
    msg = refused({"format": "vectors", "path": str(path)}, tmp_path, "2 rows have no label")
    assert "at least 2 samples" not in msg


def test_a_cut_idx_file_of_the_user_is_not_told_to_be_fetched(tmp_path: Path):
    from byod import make_idx_gz

    folder = make_idx_gz(tmp_path / "fashion")
    victim = folder / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(victim.read_bytes())
    victim.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    msg = refused({"format": "idx", "path": str(folder)}, tmp_path, "truncated", "whole copy")
    assert "fetch" not in msg.replace("cannot fetch", "")


@pytest.mark.parametrize("name", ["$x^$", r"$\nosuch$", "$5", "50% $x"])  # the first two crash TeX
def test_class_names_are_drawn_as_text(tmp_path: Path, name: str):
    assert plotting.as_text(plotting.as_text(name)) == plotting.as_text(name)
    x = np.random.default_rng(2).random((20, 64), dtype=np.float32)
    y = np.arange(20) % 2
    fig = plotting.data_figure(x, y, np.array([8, 8]), [name, "plain"], 1)
    plotting.save(fig, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000
