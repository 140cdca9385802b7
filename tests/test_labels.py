"""Labels on the maps: a table without labels (one class, its label-based measures not
measured), clusters on its codes (HDBSCAN on a seeded sample, the rest by nearest sampled
point), each map's labels at their densest place with their purity, and density contours."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from byod import make_vectors
from conftest import blobs, metric_params, plan
from latent_atlas import clusters, datasets, labels, measures, metrics, pixels, report
from latent_atlas.data import is_labelled, load_data
from latent_atlas.errors import AtlasError

LABEL_PARAMS = {"grid": 64, "smoothing": 2.0, "density_masses": [0.5, 0.9]}
CLUSTER_PARAMS = {"sample": 10000, "min_cluster_share": 0.05, "min_samples": 5, "seed": 0}


def unlabelled_table(path, n=300, dim=16, with_split=False):
    """make_vectors' table without its label column."""
    make_vectors(path, n=n, dim=dim, with_split=with_split)
    pd.read_parquet(path).drop(columns="label").to_parquet(path)
    return path


def frame_of(xy: np.ndarray, label: np.ndarray, n_train: int | None = None) -> pd.DataFrame:
    n = len(xy)
    n_train = n if n_train is None else n_train
    return pd.DataFrame(
        {
            "x": xy[:, 0].astype(np.float32),
            "y": xy[:, 1].astype(np.float32),
            "label": np.asarray(label, np.uint8),
            "split": pd.Categorical(["train"] * n_train + ["test"] * (n - n_train)),
            "index": np.concatenate([np.arange(n_train), np.arange(n - n_train)]),
        }
    )


# -- a table without labels ----------------------------------------------------------------------


def test_a_vectors_table_without_labels_is_one_unlabelled_class(tmp_path):
    spec = {"format": "vectors", "path": str(unlabelled_table(tmp_path / "v.parquet"))}
    spec |= {"test_fraction": 0.2, "seed": 0}
    datasets.normalise("plain", spec, {}, None, tmp_path / "data.npz")
    a = load_data(tmp_path / "data.npz")
    assert a["class_names"].tolist() == ["unlabelled"]
    assert not is_labelled(a) and bool(a["labelled"]) is False
    assert set(a["y_train"].tolist()) == set(a["y_test"].tolist()) == {0}
    assert len(a["y_train"]) == 240 and len(a["y_test"]) == 60  # split seeded, not stratified
    datasets.codes_from_data(tmp_path / "data.npz", tmp_path / "latent.npz")
    with np.load(tmp_path / "latent.npz") as z:
        assert not is_labelled(z)
    # a labelled table's files carry no flag: they are as they were
    labelled = {"format": "vectors", "path": str(make_vectors(tmp_path / "l.parquet"))}
    datasets.normalise("mine", labelled, {}, None, tmp_path / "l.npz")
    with np.load(tmp_path / "l.npz") as npz:
        assert "labelled" not in npz.files and is_labelled(npz)


def test_class_names_without_a_label_column_are_refused(tmp_path):
    spec = {"format": "vectors", "path": str(unlabelled_table(tmp_path / "v.parquet"))}
    spec |= {"test_fraction": 0.2, "seed": 0, "class_names": ["a", "b"]}
    with pytest.raises(AtlasError, match="class_names are given but the table has no `label`"):
        datasets.normalise("plain", spec, {}, None, tmp_path / "data.npz")
    assert not (tmp_path / "data.npz").exists()


def test_the_plan_clusters_only_a_dataset_without_labels(tmp_path):
    plain = unlabelled_table(tmp_path / "v.parquet")
    emb = make_vectors(tmp_path / "e.parquet")
    p = plan(
        "study={'datasets': ['digits', 'plain', 'emb']}",
        f"datasets={{'plain': {{'format': 'vectors', 'path': '{plain}'}}, "
        f"'emb': {{'format': 'vectors', 'path': '{emb}'}}}}",
    )
    assert [p.clustered(d) for d in ("digits", "plain", "emb")] == [False, True, False]
    assert p.cluster_params()["seed"] == p.config["projection"]["seed"]
    (tmp_path / "bad.parquet").write_text("not a table")
    with pytest.raises(AtlasError, match=r"bad\.parquet: not a readable Parquet file"):
        plan(
            "study={'datasets': ['bad']}",
            f"datasets={{'bad': {{'format': 'vectors', 'path': '{tmp_path / 'bad.parquet'}'}}}}",
        )


def test_label_based_measures_say_not_measured_without_labels(caplog):
    latent = blobs(n_train=200, n_test=50)
    z, y = latent["z_train"], latent["y_train"]
    frame = frame_of(
        np.concatenate([z[:, :2], latent["z_test"][:, :2]]),
        np.concatenate([y, latent["y_test"]]),
        len(z),
    )
    params = metric_params(
        knn_k=[1, 5],
        trustworthiness_points=200,
        trustworthiness_k=5,
        silhouette_sample=None,
        structure_points=200,
        structure_pairs=1000,
        seed=0,
        exact_max_points=None,
    )
    labelled = measures.map_metrics(frame, {}, z, params, 1)
    with caplog.at_level(logging.INFO):
        unlabelled = measures.map_metrics(frame, {}, z, params, 1, labelled=False)
    by_labels = {k for m in measures.REGISTRY.values() if m.needs_labels for k in m.columns(params)}
    assert by_labels == {"knn_acc_1", "knn_acc_5", "silhouette", "spearman_centroids"}
    for key, value in unlabelled.items():
        if key in by_labels:
            assert np.isnan(value), key
        else:
            assert value == labelled[key] or (np.isnan(value) and np.isnan(labelled[key])), key
    assert "not measured: no labels" in caplog.text


def test_references_are_not_measured_without_labels():
    latent = {**blobs(n_train=60, n_test=20), "labelled": np.bool_(False)}
    graph = {
        "train_index": np.arange(60),
        "test_index": np.arange(20),
        "test_ind": np.zeros((20, 5), np.int32),
    }
    refs = metrics.reference_metrics(latent, graph, None, [1, 5], 1)
    assert set(refs) == {"latent"} and all(np.isnan(v) for v in refs["latent"].values())
    data = {
        "x_train": latent["z_train"],
        "x_test": latent["z_test"],
        "y_train": latent["y_train"],
        "y_test": latent["y_test"],
        "labelled": np.bool_(False),
    }
    values = pixels.pixel_reference(data, [1, 5], None, 0, 1)
    assert list(values) == ["knn_acc_1", "knn_acc_5"] and all(np.isnan(list(values.values())))
    assert pixels.reference_from_graph(data, graph, [1]) is None


def test_the_report_says_no_labels_where_not_measured():
    wide = pd.DataFrame(
        {
            "dataset": ["plain", "plain", "digits"],
            "model": ["none", "none", "ae32"],
            "method": ["pca", "reference", "pca"],
            "knn_acc_1": [np.nan, np.nan, 0.9],
            "trustworthiness": [0.95, np.nan, 0.9],
        }
    )
    table = report.metrics_table(wide, {"knn_k": [1]}, ["plain"])
    texts = {r["label"]: [c["text"] for c in r["cells"]] for r in table["ours"]}
    columns = table["columns"]
    acc, trust = columns.index("1-NN acc."), columns.index("trustworthiness")
    assert texts["plain / none / pca"][acc] == report.NO_LABELS
    assert texts["plain / none / pca"][trust] == "0.9500"
    assert texts["digits / ae32 / pca"][acc] == "0.9000"
    assert table["no_labels"]
    assert not report.metrics_table(wide, {"knn_k": [1]})["no_labels"]


# -- clusters on the codes -----------------------------------------------------------------------


def test_clusters_are_numbered_by_size_noise_kept():
    got = clusters.by_size(np.array([2, 2, -1, 0, 1, 1, 1, 2, 2]))
    assert got.tolist() == [0, 0, -1, 2, 1, 1, 1, 0, 0]
    assert clusters.by_size(np.array([-1, -1])).tolist() == [-1, -1]


def test_medoid_is_the_point_nearest_the_others_in_sum():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [10.0, 0.0]])
    assert clusters.medoid(pts) == 1


def test_blobs_are_found_whole_sampled_or_not(caplog):
    latent = blobs(n_train=800, n_test=200, classes=4)
    z = np.concatenate([latent["z_train"], latent["z_test"]])
    truth = np.concatenate([latent["y_train"], latent["y_test"]])
    full, info = clusters.cluster_codes(z, CLUSTER_PARAMS)
    assert info["sampled"] == 1000 and full.max() == 3
    # each cluster is one blob (noise aside), and the numbering is by size
    for c in range(4):
        assert len(set(truth[full == c].tolist())) == 1
    assert info["sizes"] == sorted(info["sizes"], reverse=True)
    assert sum(info["sizes"]) + info["noise"] == 1000
    for c, row in enumerate(info["medoid_rows"]):
        assert full[row] == c
    with caplog.at_level(logging.INFO):
        sampled, sinfo = clusters.cluster_codes(z, {**CLUSTER_PARAMS, "sample": 300})
    assert sinfo["sampled"] == 300 and "seeded sample of 300 of 1000" in caplog.text
    assert "assigned 700/700" in caplog.text
    clustered = sampled >= 0
    assert clustered.mean() > 0.9
    for c in range(int(sampled.max()) + 1):  # every point's cluster is its blob's
        assert len(set(truth[sampled == c].tolist())) == 1
    again, _ = clusters.cluster_codes(z, {**CLUSTER_PARAMS, "sample": 300})
    np.testing.assert_array_equal(sampled, again)  # seeded: the same clusters


def test_the_clusters_table_follows_the_maps_rows(tmp_path):
    latent = blobs(n_train=300, n_test=100, classes=3)
    graph = {"train_index": np.arange(0, 300, 2), "test_index": np.arange(0, 100, 2)}
    out = tmp_path / "clusters.parquet"
    frame = clusters.write(latent, graph, CLUSTER_PARAMS, 1, out)
    read, info = clusters.read(out)
    assert list(read.columns) == ["split", "index", "cluster"]
    assert read["split"].astype(str).tolist() == ["train"] * 150 + ["test"] * 50
    assert read["index"].tolist() == [*range(0, 300, 2), *range(0, 100, 2)]
    assert read["cluster"].tolist() == frame["cluster"].tolist()
    assert len(info["medoids"]) == read["cluster"].max() + 1
    for c, medoid in enumerate(info["medoids"]):
        split, index = medoid.split(":")
        row = read[(read["split"] == split) & (read["index"] == int(index))]
        assert row["cluster"].tolist() == [c]
    with pytest.raises(AtlasError, match="not a clusters table"):
        from latent_atlas.maps import write_map

        write_map(read, {}, tmp_path / "other.parquet")
        clusters.read(tmp_path / "other.parquet")


def test_too_few_points_to_cluster_is_named():
    with pytest.raises(AtlasError, match="too few to cluster"):
        clusters.cluster_codes(np.zeros((4, 3), np.float32), CLUSTER_PARAMS)


# -- labels, purity and contours -----------------------------------------------------------------


def two_groups(overlap: bool = False, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.normal([0.0, 0.0], 0.5, (n, 2))
    b = rng.normal([0.0, 0.0] if overlap else [10.0, 0.0], 0.5, (n, 2))
    return np.concatenate([a, b]), np.repeat([0, 1], n)


def test_each_class_is_labelled_at_its_densest_place_with_its_purity():
    xy, y = two_groups()
    table, _ = labels.map_labels(frame_of(xy, y), ["left", "right"], LABEL_PARAMS)
    assert list(table.columns) == list(labels.COLUMNS)
    assert table["name"].tolist() == ["left", "right"]
    assert set(table["kind"]) == {"class"} and table["medoid"].tolist() == ["", ""]
    assert table["points"].tolist() == [400, 400]
    np.testing.assert_allclose(table[["x", "y"]].to_numpy(), [[0, 0], [10, 0]], atol=0.6)
    assert (table["purity"] > 0.99).all()  # nothing else near either
    mixed, _ = labels.map_labels(frame_of(*two_groups(overlap=True)), ["a", "b"], LABEL_PARAMS)
    assert ((mixed["purity"] > 0.3) & (mixed["purity"] < 0.7)).all()  # about half and half


def test_purity_is_the_groups_share_of_the_gaussian_weight_at_its_label():
    # no smoothing: a's peak cell holds 3 of a and 1 of b; b's peak (2 points) only b
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    table, _ = labels.map_labels(frame_of(xy, y), ["a", "b"], {**LABEL_PARAMS, "smoothing": 0})
    assert table.set_index("name")["purity"].to_dict() == {"a": 0.75, "b": 1.0}


def test_clusters_are_labelled_with_their_size_and_medoid():
    xy, y = two_groups()
    frame = frame_of(xy, np.zeros(len(y)))
    found = frame[["split", "index"]].copy()
    found["cluster"] = np.where(np.arange(len(y)) % 10 == 0, -1, y)  # a tenth noise
    info = {"medoids": ["train:3", "train:401"]}
    table, _ = labels.map_labels(frame, ["unlabelled"], LABEL_PARAMS, (found, info))
    assert table["name"].tolist() == ["cluster 0", "cluster 1"]
    assert set(table["kind"]) == {"cluster"}
    assert table["points"].tolist() == [360, 360]
    assert table["medoid"].tolist() == ["train:3", "train:401"]
    assert (table["purity"] > 0.8).all() and (table["purity"] < 0.95).all()  # noise around
    with pytest.raises(AtlasError, match="not the map's"):
        labels.map_labels(frame, ["unlabelled"], LABEL_PARAMS, (found.iloc[::-1], info))


def test_density_contours_hold_their_share_and_close(tmp_path):
    xy, y = two_groups()
    table, density = labels.map_labels(frame_of(xy, y), ["a", "b"], LABEL_PARAMS)
    assert density["masses"] == [0.9, 0.5]
    assert density["levels"] == [c["level"] for c in density["contours"]]
    assert density["levels"][0] < density["levels"][1]  # the wider share, the lower level
    for c in density["contours"]:
        assert len(c["paths"]) == 2  # one ring around each group
        for path in c["paths"]:
            assert path[0] == path[-1]  # closed
            pts = np.array(path)
            assert pts[:, 0].min() > -3 and pts[:, 0].max() < 13
    lo, hi = (np.array(p) for p in density["contours"][1]["paths"])
    inner = [(xy[:, 0] - cx) ** 2 + xy[:, 1] ** 2 < 1 for cx in (0, 10)]
    assert all(k.sum() > 0 for k in inner) and len(lo) > 3 and len(hi) > 3
    labels.write(table, density, tmp_path / "m.labels.csv", tmp_path / "m.density.json")
    back = labels.read(tmp_path / "m.labels.csv")
    assert back["medoid"].tolist() == ["", ""] and back["name"].tolist() == ["a", "b"]
    assert json.loads((tmp_path / "m.density.json").read_text()) == json.loads(json.dumps(density))
    (tmp_path / "bad.csv").write_text("name,x\na,1\n")
    with pytest.raises(AtlasError, match="delete it and rerun"):
        labels.read(tmp_path / "bad.csv")
