"""The raw-pixel reference, once per dataset: same numbers as the per-model computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from latent_atlas import metrics, neighbors, pixels
from latent_atlas.errors import AtlasError


def data(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_train, y_test = rng.integers(0, 4, 600), rng.integers(0, 4, 150)
    centres = rng.random((4, 64)).astype(np.float32)
    return {
        "x_train": centres[y_train] + 0.3 * rng.random((600, 64), dtype=np.float32),
        "x_test": centres[y_test] + 0.3 * rng.random((150, 64), dtype=np.float32),
        "y_train": y_train.astype(np.uint8),
        "y_test": y_test.astype(np.uint8),
    }


@pytest.mark.parametrize("max_points", [None, 300])
def test_per_dataset_pixels_equal_per_model_rows(tmp_path, max_points):
    d = data()
    latent = {"z_train": d["x_train"][:, :8], "z_test": d["x_test"][:, :8], **d}
    graph = neighbors.build(
        latent, {"k": 10, "max_points": max_points, "seed": 4}, 1, tmp_path / "g.npz"
    )
    per_model = metrics.reference_metrics(latent, graph, d, [1, 5], 1)["pixels"]
    once = pixels.pixel_reference(d, [1, 5], max_points, 4, 1)
    assert once == per_model
    table = tmp_path / "p.csv"
    metrics.write_csv(pd.DataFrame(list(once.items()), columns=["metric", "value"]), table)
    assert pixels.rows_for_model(pd.read_csv(table)) == once  # exact through the CSV


def test_bad_pixel_table_is_named():
    with pytest.raises(AtlasError, match="metric,value"):
        pixels.rows_for_model(pd.DataFrame({"a": [1]}))


@pytest.mark.parametrize("max_points", [None, 300])
def test_the_pixel_graph_gives_the_same_reference_and_an_approximate_one_none(tmp_path, max_points):
    """Where the study builds the pixels' kNN graph (to compare spaces with the pixels), the
    reference votes among its test points' neighbours: the same numbers as a search."""
    d = data(1)
    pixel_space = {"z_train": d["x_train"], "z_test": d["x_test"], **d}
    params = {"k": 16, "max_points": max_points, "seed": 4}
    graph = neighbors.build(
        pixel_space, params, 1, tmp_path / "g.npz", exact=neighbors.faiss_knn_graph
    )
    searched = pixels.pixel_reference(d, [1, 5, 10], max_points, 4, 1)
    assert pixels.reference_from_graph(d, graph, [1, 5, 10]) == searched
    assert pixels.reference_from_graph(d, {**graph, "approximate": np.array(1)}, [1]) is None


def test_wide_data_are_searched_by_faiss_with_the_same_neighbours():
    """Pixels (128-D and wider) go to faiss's exact flat index: the neighbours scikit-learn's
    search finds, and so the same accuracies."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(3)
    train, test = rng.random((800, 196), np.float32), rng.random((120, 196), np.float32)
    ours = metrics.nearest_train(train, test, 7, 1)
    theirs = NearestNeighbors(n_neighbors=7).fit(train).kneighbors(test, return_distance=False)
    np.testing.assert_array_equal(ours, theirs)


def test_a_vectors_table_is_not_searched_twice(workflow_dir, tmp_path):
    """A vectors dataset's raw vectors are its codes: no pixel_reference job (a second k-NN
    search of the same vectors); its model's reference job reports the latent rows as the raw
    ones. An image dataset beside it keeps its pixel search."""
    from byod import make_vectors
    from conftest import dry_run_jobs

    cfg = tmp_path / "vec.yaml"
    table = make_vectors(tmp_path / "emb.parquet")
    cfg.write_text(
        "study: {datasets: [digits, emb], models: [ae32], methods: [pca]}\n"
        f"datasets: {{emb: {{format: vectors, path: {table}}}}}\n"
        "metrics: {pixels_reference: true}\n"
    )
    jobs = dry_run_jobs(workflow_dir, "--configfile", str(cfg))
    searched = [w["dataset"] for rule, w in jobs if rule == "pixel_reference"]
    assert searched == ["digits"]
    refs = {w["dataset"]: w["model"] for rule, w in jobs if rule == "reference_metrics"}
    assert refs == {"digits": "ae32", "emb": "none"}
    latent = {"knn_acc_1": 0.9, "knn_acc_5": 0.95}
    assert pixels.same_as_codes(latent) == latent
