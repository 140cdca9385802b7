"""Scale: approximate kNN graph above a size (recall measured and stored), O(n^2) metrics on
seeded subsamples above the same size. Small data with the threshold set low."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import metric_params, plan
from latent_atlas import measures, metrics, neighbors
from latent_atlas.errors import AtlasError
from snakemake.exceptions import WorkflowError


def mixture(n_train: int = 3000, n_test: int = 300, dim: int = 16, seed: int = 0):
    """A seeded gaussian mixture in code space."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (10, dim)).astype(np.float32)
    y_train, y_test = rng.integers(0, 10, n_train), rng.integers(0, 10, n_test)
    return {
        "z_train": centres[y_train] + rng.normal(0, 1, (n_train, dim)).astype(np.float32),
        "z_test": centres[y_test] + rng.normal(0, 1, (n_test, dim)).astype(np.float32),
        "y_train": y_train.astype(np.uint8),
        "y_test": y_test.astype(np.uint8),
    }


LOW = {"k": 16, "max_points": None, "seed": 3, "exact_max_points": 1000, "recall_sample": 200}


@pytest.fixture(scope="module")
def latent():
    return mixture()


@pytest.fixture(scope="module")
def approx(latent, tmp_path_factory):
    return neighbors.build(latent, LOW, 1, tmp_path_factory.mktemp("a") / "g.npz")


def test_below_threshold_is_exact_with_recall_one(latent, tmp_path):
    g = neighbors.build(latent, {**LOW, "exact_max_points": 5000}, 1, tmp_path / "g.npz")
    assert int(g["approximate"]) == 0
    assert float(g["train_recall"]) == float(g["test_recall"]) == 1.0
    plain = neighbors.knn_graph(latent["z_train"], latent["z_test"], 16, 1)
    np.testing.assert_array_equal(g["train_ind"], plain["train_ind"])


def test_the_faiss_search_finds_the_same_neighbours(latent, tmp_path):
    """The pixels' graph is searched by faiss: the same neighbours as sklearn's brute force,
    self first, the same distances to float32 precision."""
    g = neighbors.build(
        latent, {**LOW, "exact_max_points": 5000}, 1, tmp_path / "g.npz", neighbors.faiss_knn_graph
    )
    plain = neighbors.knn_graph(latent["z_train"], latent["z_test"], 16, 1)
    for part in ("train", "test"):
        same = [
            len(set(a) & set(b)) / 16
            for a, b in zip(g[f"{part}_ind"], plain[f"{part}_ind"], strict=True)
        ]
        assert np.mean(same) > 0.999, part  # ties at the k-th distance may differ
        np.testing.assert_allclose(g[f"{part}_dist"], plain[f"{part}_dist"], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(g["train_ind"][:, 0], np.arange(len(latent["z_train"])))


def test_above_threshold_is_approximate_and_measured(latent, approx, tmp_path, caplog):
    assert int(approx["approximate"]) == 1
    assert approx["train_ind"].shape == (3000, 16)
    assert approx["test_ind"].shape == (300, 16)
    np.testing.assert_array_equal(approx["train_ind"][:, 0], np.arange(3000))  # self first
    assert np.all(np.diff(approx["train_dist"][:, 1:], axis=1) >= -1e-5)  # sorted
    # Recall as stored = recall measured independently on all rows, up to sampling noise.
    exact = neighbors.knn_graph(latent["z_train"], latent["z_test"], 16, 1)
    full_test = np.mean(
        [
            len(np.intersect1d(a, b)) / 16
            for a, b in zip(approx["test_ind"], exact["test_ind"], strict=True)
        ]
    )
    assert 0.9 < float(approx["test_recall"]) <= 1.0
    assert 0.9 < float(approx["train_recall"]) <= 1.0
    assert abs(float(approx["test_recall"]) - full_test) < 0.05
    with caplog.at_level(logging.INFO):
        again = neighbors.build(latent, LOW, 1, tmp_path / "again.npz")
    assert "approximate (faiss HNSW" in caplog.text and "recall" in caplog.text
    stored = np.load(tmp_path / "again.npz")
    assert float(stored["test_recall"]) == float(approx["test_recall"])
    # Seeded: the same codes give the same graph.
    np.testing.assert_array_equal(again["train_ind"], approx["train_ind"])
    np.testing.assert_array_equal(again["test_ind"], approx["test_ind"])


def test_recall_of_a_broken_graph_is_low(latent, approx):
    shuffled = np.random.default_rng(0).permutation(approx["test_ind"])
    r = neighbors.recall(latent["z_train"], latent["z_test"], shuffled, 200, 0, 1, False)
    assert r < 0.2
    exact = neighbors.recall(
        latent["z_train"], latent["z_train"], approx["train_ind"], 50, 0, 1, True
    )
    assert exact > 0.9


def _map_frame(latent, xy_train, xy_test):
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "x": xy_train[:, 0],
                    "y": xy_train[:, 1],
                    "label": latent["y_train"],
                    "split": "train",
                }
            ),
            pd.DataFrame(
                {"x": xy_test[:, 0], "y": xy_test[:, 1], "label": latent["y_test"], "split": "test"}
            ),
        ],
        ignore_index=True,
    )


PARAMS = metric_params(
    knn_k=[1],
    trustworthiness_points=500,
    trustworthiness_k=5,
    silhouette_sample=None,
    seed=7,
)


def test_metrics_below_cap_unchanged_above_cap_seeded_subsamples(latent, caplog):
    xy_train, xy_test = latent["z_train"][:, :2], latent["z_test"][:, :2]
    frame = _map_frame(latent, xy_train, xy_test)
    z = latent["z_train"]
    below = measures.map_metrics(frame, {}, z, {**PARAMS, "exact_max_points": 5000}, 1)
    assert below == measures.map_metrics(frame, {}, z, {**PARAMS, "exact_max_points": None}, 1)
    assert below["trustworthiness"] == metrics.trustworthiness(z, xy_train, 500, 5)
    assert below["silhouette"] == metrics.silhouette(xy_train, latent["y_train"], None, 7)
    with caplog.at_level(logging.INFO):
        above = measures.map_metrics(frame, {}, z, {**PARAMS, "exact_max_points": 1000}, 1)
    assert "seeded sample" in caplog.text
    keep = np.sort(np.random.default_rng(7).choice(3000, 500, replace=False))
    assert above["trustworthiness"] == metrics.trustworthiness(z[keep], xy_train[keep], 500, 5)
    assert above["silhouette"] == metrics.silhouette(xy_train, latent["y_train"], 1000, 7)
    assert above["silhouette"] == pytest.approx(below["silhouette"], abs=0.05)  # same map
    assert above["knn_acc_1"] == below["knn_acc_1"]  # linear: never subsampled


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("projection={'knn_exact_max_points': 5}", "knn_exact_max_points"),
        ("projection={'knn_recall_sample': 'many'}", "many"),
    ],
)
def test_bad_scale_config_fails_early(override: str, needle: str):
    """Planned in-process as the Snakefile plans it (conftest.plan)."""
    with pytest.raises((WorkflowError, AtlasError)) as err:
        plan(override)
    assert needle in str(err.value)


def test_the_approximate_graph_is_deterministic_and_logs_its_progress(latent, tmp_path, caplog):
    """Built twice, on two threads and on one: the same graph, bit for bit (the index is built
    on one thread, the search only reads it); the log tells how far the index and the searches
    have come."""
    with caplog.at_level(logging.INFO):
        a = neighbors.build(latent, LOW, 2, tmp_path / "a.npz")
    b = neighbors.build(latent, LOW, 1, tmp_path / "b.npz")  # any thread count
    for key in ("train_ind", "train_dist", "test_ind", "test_dist"):
        np.testing.assert_array_equal(a[key], b[key])
    assert "HNSW index: 3000/3000 rows (100%)" in caplog.text
    assert "HNSW search, test rows (k=16): 300/300 rows (100%)" in caplog.text


def test_the_exact_graph_in_chunks_is_the_graph_of_one_query(latent, monkeypatch, caplog):
    """Queried in chunks (a progress line each): the same neighbours and distances, bit for
    bit, as one query of every row."""
    from sklearn.neighbors import NearestNeighbors

    z, q = latent["z_train"], latent["z_test"]
    nn = NearestNeighbors(n_neighbors=16, algorithm="brute").fit(z)
    whole = nn.kneighbors(z)
    monkeypatch.setattr(neighbors, "QUERY_CHUNK", 512)
    monkeypatch.setattr(neighbors.Progress, "EVERY", 0.0)  # a line for every chunk
    with caplog.at_level(logging.INFO):
        chunked = neighbors.knn_graph(z, q, 16, 1)
    test_dist, test_ind = nn.kneighbors(q)
    one = neighbors._self_first(whole[1], whole[0], test_ind, test_dist)
    for key in ("train_ind", "train_dist", "test_ind", "test_dist"):
        np.testing.assert_array_equal(chunked[key], one[key])
    assert caplog.text.count("exact kNN, train rows:") == 6  # 3000 rows, 512 a chunk
    assert "exact kNN, train rows: 3000/3000 rows (100%)" in caplog.text


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_large_data_get_the_large_data_schedule(latent, approx, tmp_path, method):
    """Above knn_exact_max_points (an approximate graph) t-SNE and UMAP run their large_data
    schedules; below it, the configured ones (the map records which)."""
    from latent_atlas import maps, projections

    params = {
        "tsne": {
            "backend": "opentsne",
            "perplexity": 5,
            "n_iter": 60,
            "seed": 0,
            "large_data": {"early_exaggeration_iter": 20, "n_iter": 50},
        },
        "umap": {
            "n_neighbors": 15,
            "min_dist": 0.1,
            "deterministic": True,
            "seed": 0,
            "large_data": {"n_epochs": 30, "init": "pca"},
        },
    }[method]
    exact = neighbors.build(latent, {**LOW, "exact_max_points": None}, 1, tmp_path / "e.npz")
    infos = {}
    for name, graph in (("large", approx), ("small", exact)):
        projections.project(method, latent, graph, params, 1, tmp_path / f"{name}.parquet")
        infos[name] = maps.read_map(tmp_path / f"{name}.parquet")[1]
    if method == "tsne":
        assert infos["large"]["iterations"] == "20 early exaggeration + 50"
        assert infos["small"]["iterations"] == "250 early exaggeration + 60"
    else:
        assert (infos["large"]["epochs"], infos["large"]["init"]) == (30, "pca")
        assert infos["small"]["epochs"] == "umap-learn's default"
        assert infos["small"]["init"] == "umap-learn's default (spectral)"


def test_a_vectors_tables_graph_takes_both_cores():
    """Nothing of a vectors table's own runs beside its graph: two threads; a trained model's
    graph runs beside the dataset's other jobs on half the cores."""
    from latent_atlas.scheduling import Schedule

    schedule = Schedule(plan(), 2)
    assert schedule.neighbors_threads("none") == 2
    assert schedule.neighbors_threads("ae32") == 1
    assert Schedule(plan(), 1).neighbors_threads("none") == 1


def test_a_maps_measures_each_log_a_progress_line(latent, caplog):
    """On a large map the measures job runs for minutes: a line per measure says how far."""
    frame = _map_frame(latent, latent["z_train"][:, :2], latent["z_test"][:, :2])
    with caplog.at_level(logging.INFO):
        measures.map_metrics(frame, {}, latent["z_train"], dict(PARAMS), 1)
    n = len(measures.REGISTRY)
    assert caplog.text.count(f"/{n} done: ") == n
    assert f"measure {n}/{n} done: " in caplog.text


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("umap", {"n_neighbors": 5, "min_dist": 0.1, "deterministic": True, "seed": 0}),
        ("tsne", {"backend": "opentsne", "perplexity": 3, "n_iter": 60, "seed": 0}),
    ],
)
def test_a_map_job_reads_only_its_methods_columns_and_draws_the_same_map(
    latent, tmp_path, method, params
):
    """The project rule loads only the graph columns its method reads (so a map job on a large
    table holds less); the map is bit-identical to one fitted with the whole graph."""
    from latent_atlas import maps, methods, projections

    path = tmp_path / "g.npz"
    neighbors.build(latent, {**LOW, "k": 24, "exact_max_points": None}, 1, path)
    columns = methods.get(method).neighbors(params)  # umap 5; t-SNE 16 (its placement's 15)
    narrow, whole = neighbors.load(path, columns), neighbors.load(path)
    assert narrow["train_ind"].shape[1] == narrow["test_dist"].shape[1] == columns < 24
    assert narrow["train_ind"].flags.c_contiguous
    np.testing.assert_array_equal(narrow["train_dist"], whole["train_dist"][:, :columns])
    xy = {}
    for name, graph in (("narrow", narrow), ("whole", whole)):
        projections.project(method, latent, graph, params, 1, tmp_path / f"{name}.parquet")
        xy[name] = maps.read_map(tmp_path / f"{name}.parquet")[0][["x", "y"]].to_numpy()
    np.testing.assert_array_equal(xy["narrow"], xy["whole"])
