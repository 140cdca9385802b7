"""Bring your own data: each format read into data.npz, and every bad input refused early with
a message naming the problem, leaving nothing at the output path."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from byod import (
    class_images,
    idx_bytes,
    make_idx_gz,
    make_png_folder,
    make_rgb_npz,
    make_vectors,
)
from conftest import plan, snakemake
from latent_atlas import datasets
from latent_atlas.data import load_data
from latent_atlas.errors import AtlasError
from snakemake.exceptions import WorkflowError


def spec(fmt: str, path: Path, **kw: object) -> dict:
    return {"format": fmt, "path": str(path), "test_fraction": 0.2, "seed": 0, **kw}


def build(s: dict, tmp_path: Path) -> dict[str, np.ndarray]:
    out = tmp_path / "out" / "data.npz"
    datasets.normalise("mine", s, {}, None, out)
    return load_data(out)


def refused(s: dict, tmp_path: Path, *needles: str) -> str:
    """normalise must raise naming every needle and leave no data.npz behind."""
    out = tmp_path / "out" / "data.npz"
    with pytest.raises(AtlasError) as err:
        datasets.normalise("mine", s, {}, None, out)
    msg = str(err.value)
    for needle in needles:
        assert needle in msg, msg
    assert not out.exists()
    assert not list(out.parent.glob(".data.npz*")) if out.parent.exists() else True
    return msg


# --- each format -------------------------------------------------------------------------


def test_idx_gz_folder(tmp_path):
    d = make_idx_gz(tmp_path / "fashion", n_train=50, n_test=20)
    a = build(spec("idx", d, class_names=[str(i) for i in range(10)]), tmp_path)
    assert a["x_train"].shape == (50, 784) and a["x_test"].shape == (20, 784)
    assert a["image_shape"].tolist() == [28, 28] and int(a["channels"]) == 1
    assert a["x_train"].dtype == np.float32 and a["x_train"].max() <= 1
    assert str(a["kind"]) == "images" and len(a["source_sha256"]) == 4


def test_idx_plain_dotted_spelling(tmp_path):
    d = make_idx_gz(tmp_path / "gz", n_train=20, n_test=10)
    plain = tmp_path / "plain"
    plain.mkdir()
    for f in d.iterdir():
        name = f.name.removesuffix(".gz").replace("-idx", ".idx")
        (plain / name).write_bytes(gzip.decompress(f.read_bytes()))
    a = build(spec("idx", plain), tmp_path)
    b = build(spec("idx", d), tmp_path / "b")
    np.testing.assert_array_equal(a["x_train"], b["x_train"])


def test_rgb_npz_keeps_channels_and_names(tmp_path):
    a = build(spec("npz", make_rgb_npz(tmp_path / "rgb.npz")), tmp_path)
    assert a["image_shape"].tolist() == [32, 32] and int(a["channels"]) == 3
    assert a["x_train"].shape == (240, 32 * 32 * 3)
    assert a["class_names"].tolist() == ["red", "green", "blue"]


def test_npz_flat_float_with_image_shape_and_split(tmp_path):
    x, y = class_images(100, (6, 4), 2, seed=0)
    p = tmp_path / "flat.npz"
    np.savez(p, x=x.reshape(100, -1) / 255.0, y=y)
    a = build(spec("npz", p, image_shape=[6, 4], class_names=["a", "b"]), tmp_path)
    assert a["image_shape"].tolist() == [6, 4]
    assert len(a["y_train"]) == 80 and len(a["y_test"]) == 20  # stratified 20 %
    assert np.bincount(a["y_test"]).tolist() == [10, 10]


def test_png_folder(tmp_path):
    a = build(spec("images", make_png_folder(tmp_path / "pngs")), tmp_path)
    assert a["class_names"].tolist() == ["circle", "cross", "square"]
    assert a["image_shape"].tolist() == [16, 16] and int(a["channels"]) == 1
    assert len(a["x_train"]) + len(a["x_test"]) == 90
    assert str(a["source_files"][0]).endswith("tree digest)")


def test_png_folder_resized_rgb(tmp_path):
    from PIL import Image

    root = tmp_path / "photos"
    for i, (cls, size) in enumerate([("a", (20, 10)), ("a", (30, 30)), ("b", (8, 8))] * 4):
        d = root / cls
        d.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (i * 20, 100, 50)).save(d / f"{i}.jpg")
    a = build(spec("images", root, image_shape=[12, 12], test_fraction=0.5), tmp_path)
    assert a["image_shape"].tolist() == [12, 12] and int(a["channels"]) == 3
    assert len(a["x_train"]) == 6 and len(a["x_test"]) == 6


def test_vectors_parquet(tmp_path):
    a = build(spec("vectors", make_vectors(tmp_path / "emb.parquet")), tmp_path)
    assert a["image_shape"].tolist() == [64] and str(a["kind"]) == "vectors"
    assert a["class_names"].tolist() == ["bird", "cat", "dog", "fish"]
    assert len(a["x_test"]) == 80 and len(a["x_train"]) == 320
    assert a["x_train"].min() >= 0 and a["x_train"].max() <= 1


def test_vectors_scaling_keeps_neighbours(tmp_path):
    import pandas as pd

    p = make_vectors(tmp_path / "emb.parquet", n=60, dim=8)
    raw = pd.read_parquet(p)
    a = build(spec("vectors", p), tmp_path)
    train = raw[raw["split"] == "train"].filter(regex=r"^e\d+$").to_numpy()
    d_raw = np.linalg.norm(train[0] - train[1:], axis=1)
    d_new = np.linalg.norm(a["x_train"][0] - a["x_train"][1:], axis=1)
    np.testing.assert_allclose(d_new / d_new[0], d_raw / d_raw[0], rtol=1e-4)


def test_sha256_pin(tmp_path):
    p = make_rgb_npz(tmp_path / "rgb.npz")
    good = hashlib.sha256(p.read_bytes()).hexdigest()
    build(spec("npz", p, sha256={"rgb.npz": good}), tmp_path)
    bad = spec("npz", p, sha256={"rgb.npz": "0" * 64})
    msg = refused(bad, tmp_path / "r", "rgb.npz", good)
    assert "0" * 64 in msg


def test_codes_from_data(tmp_path):
    p = make_vectors(tmp_path / "emb.parquet", n=50, dim=5)
    build(spec("vectors", p), tmp_path)
    datasets.codes_from_data(tmp_path / "out/data.npz", tmp_path / "none/latent.npz")
    with np.load(tmp_path / "none/latent.npz") as z:
        assert z["z_train"].shape == (40, 5) and z["y_test"].shape == (10,)


# --- bad input: clear, early, nothing written -----------------------------------------------


def test_missing_folder(tmp_path):
    refused(spec("idx", tmp_path / "nowhere"), tmp_path, "nowhere", "does not exist")


def test_idx_missing_file(tmp_path):
    d = make_idx_gz(tmp_path / "d", n_train=20, n_test=10)
    (d / "t10k-labels-idx1-ubyte.gz").unlink()
    refused(spec("idx", d), tmp_path, "t10k-labels-idx1-ubyte")


def test_idx_truncated_gzip(tmp_path):
    d = make_idx_gz(tmp_path / "d", n_train=20, n_test=10)
    f = d / "train-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:-40])
    refused(spec("idx", d), tmp_path, "train-images-idx3-ubyte.gz")


def test_empty_class_folder(tmp_path):
    root = make_png_folder(tmp_path / "pngs")
    (root / "train" / "empty").mkdir()
    refused(spec("images", root), tmp_path, "empty", "empty class folder")


def test_non_image_file(tmp_path):
    root = make_png_folder(tmp_path / "pngs")
    (root / "train" / "circle" / "notes.txt").write_text("not an image")
    refused(spec("images", root), tmp_path, "notes.txt", "not an image")


def test_unreadable_image(tmp_path):
    root = make_png_folder(tmp_path / "pngs")
    f = next((root / "train" / "square").glob("*.png"))
    f.write_bytes(f.read_bytes()[:30])
    refused(spec("images", root), tmp_path, f.name)


def test_images_of_different_sizes(tmp_path):
    from PIL import Image

    root = make_png_folder(tmp_path / "pngs")
    Image.new("L", (20, 16)).save(root / "train" / "cross" / "wide.png")
    refused(spec("images", root), tmp_path, "wide.png", "image_shape")


def test_label_image_count_mismatch(tmp_path):
    d = make_idx_gz(tmp_path / "d", n_train=20, n_test=10)
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(9, np.uint8))))
    refused(spec("idx", d), tmp_path, "10 images", "9 labels", "t10k-labels-idx1-ubyte.gz")


def test_npz_label_count_mismatch(tmp_path):
    p = tmp_path / "bad.npz"
    x, y = class_images(30, (4, 4), 3, seed=0)
    np.savez(p, x_train=x[:20], y_train=y[:19], x_test=x[20:], y_test=y[20:])
    refused(spec("npz", p), tmp_path, "20 train images", "19 train labels")


def test_labels_outside_class_names(tmp_path):
    d = make_idx_gz(tmp_path / "d", n_train=30, n_test=10)
    refused(spec("idx", d, class_names=["a", "b", "c"]), tmp_path, "outside class_names")
    p = make_vectors(tmp_path / "v.parquet", n=40, dim=4)
    refused(spec("vectors", p, class_names=["cat", "dog"]), tmp_path, "bird", "class_names")


def test_vectors_nan(tmp_path):
    import pandas as pd

    p = make_vectors(tmp_path / "v.parquet", n=40, dim=4)
    frame = pd.read_parquet(p)
    frame.loc[7, "e2"] = np.inf
    frame.to_parquet(p)
    refused(spec("vectors", p), tmp_path, "NaN/inf", "row 7", "e2")


def test_a_one_column_table_is_refused_naming_the_file_and_its_column(tmp_path):
    """One vector component cannot be mapped to two dimensions: refused at normalise (not a
    scikit-learn traceback inside the PCA job), naming the file and the column."""
    p = make_vectors(tmp_path / "v.parquet", n=40, dim=1)
    msg = refused(spec("vectors", p), tmp_path, str(p), "1 component", "['e0']")
    assert "at least two numeric columns" in msg


def test_vectors_without_label_are_one_unlabelled_class(tmp_path):
    """(What that changes downstream: tests/test_labels.py.)"""
    import pandas as pd

    p = tmp_path / "v.parquet"
    pd.DataFrame({"a": [1.0, 2.0, 0.0, 5.0, 1.0], "b": [3.0, 4.0, 1.0, 2.0, 2.0]}).to_parquet(p)
    a = build(spec("vectors", p), tmp_path)
    assert a["class_names"].tolist() == ["unlabelled"] and not bool(a["labelled"])


def test_test_class_absent_from_train(tmp_path):
    import pandas as pd

    p = make_vectors(tmp_path / "v.parquet", n=40, dim=4)
    frame = pd.read_parquet(p)
    frame.loc[frame["label"] == "fish", "split"] = "test"
    frame.to_parquet(p)
    refused(spec("vectors", p), tmp_path, "fish", "training split lacks")


def test_float_images_out_of_range(tmp_path):
    p = tmp_path / "f.npz"
    x, y = class_images(30, (4, 4), 3, seed=0)
    np.savez(p, x_train=x[:20] * 1.0, y_train=y[:20], x_test=x[20:] * 1.0, y_test=y[20:])
    refused(spec("npz", p), tmp_path, "[0, 1]", "255")


def test_flat_images_need_image_shape(tmp_path):
    p = tmp_path / "f.npz"
    x, y = class_images(30, (15,), 3, seed=0)
    np.savez(p, x_train=x[:20], y_train=y[:20], x_test=x[20:], y_test=y[20:])
    refused(spec("npz", p), tmp_path, "image_shape")


# --- the workflow refuses bad datasets before any job ----------------------------------------


@pytest.mark.parametrize(
    ("override", "needles"),
    [
        (["study={datasets: [mine]}"], ["mine", "not defined under `datasets`"]),
        (
            ["study={datasets: [mine]}", "datasets={mine: {format: idx, path: nowhere}}"],
            ["nowhere", "does not exist"],
        ),
        (
            ["study={datasets: [mine]}", "datasets={mine: {format: tiff, path: x}}"],
            ["tiff"],
        ),
        (["study={datasets: [mine]}", "datasets={mine: {format: npz}}"], ["path"]),
        (["models={none: {kind: dense}}"], ["none"]),
    ],
)
def test_bad_dataset_config_fails_while_planning(override, needles):
    """Planned in-process as the Snakefile plans it (tests/test_workflow.py runs snakemake
    itself on bad configs: the same errors, before any job)."""
    with pytest.raises((WorkflowError, AtlasError)) as err:
        plan(*override)
    for needle in needles:
        assert needle in str(err.value), str(err.value)


def test_too_few_points_for_tsne_named(workflow_dir: Path, tmp_path: Path):
    """Fewer points than 3 x perplexity + 1: the neighbors job says so (vectors: no training)."""
    p = make_vectors(tmp_path / "v.parquet", n=40, dim=4)
    cfg = tmp_path / "few.yaml"
    cfg.write_text(
        f"study: {{datasets: [few], methods: [tsne]}}\n"
        f"datasets: {{few: {{format: vectors, path: {p}}}}}\n"
        "methods: {tsne: {perplexity: 30}}\n"
    )
    target = "results/few/none/neighbors.npz"
    proc = snakemake(workflow_dir, target, "--configfile", str(cfg), check=False)
    log = (workflow_dir / "logs/few/none/neighbors.log").read_text()
    assert proc.returncode != 0
    assert "too few points" in log and "perplexity" in log
    assert not (workflow_dir / "results/few/none/neighbors.npz").exists()
