"""Projections, metrics and figures on synthetic codes with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import blobs, metric_params
from latent_atlas import map_plots, maps, measures, metrics, neighbors, plotting, projections
from latent_atlas.errors import AtlasError

METHOD_PARAMS = {
    "pca": {"seed": 0},
    "tsne": {"backend": "opentsne", "perplexity": 10, "n_iter": 250, "seed": 0},
    "tsne_sklearn": {"backend": "sklearn", "perplexity": 10, "n_iter": 250, "seed": 0},
    "umap": {"n_neighbors": 10, "min_dist": 0.1, "deterministic": True, "seed": 0},
}


@pytest.fixture(scope="module")
def latent():
    return blobs()


@pytest.fixture(scope="module")
def graph(latent, tmp_path_factory):
    out = tmp_path_factory.mktemp("g") / "neighbors.npz"
    return neighbors.build(latent, {"k": 31, "max_points": None, "seed": 0}, 1, out)


def test_graph_is_exact_with_self_first(latent, graph):
    z = latent["z_train"]
    d = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    assert (graph["train_ind"][:, 0] == np.arange(len(z))).all()
    want = np.sort(np.sqrt(d), axis=1)[:, :31]
    np.testing.assert_allclose(graph["train_dist"], want, rtol=1e-4, atol=1e-4)
    assert graph["test_ind"].shape == (100, 31)


def test_duplicate_codes_keep_self_first():
    z = np.zeros((20, 2), np.float32)  # every point is a duplicate of every other
    g = neighbors.knn_graph(z, z[:3], 5, 1)
    assert (g["train_ind"][:, 0] == np.arange(20)).all()
    assert all(len(set(row)) == 5 for row in g["train_ind"])


def test_stratified_subsample_keeps_proportions(latent, tmp_path):
    g = neighbors.build(latent, {"k": 10, "max_points": 100, "seed": 1}, 1, tmp_path / "g.npz")
    assert len(g["train_index"]) == 80 and len(g["test_index"]) == 20
    assert np.bincount(latent["y_train"][g["train_index"]]).tolist() == [16] * 5
    again = neighbors.build(latent, {"k": 10, "max_points": 100, "seed": 1}, 1, tmp_path / "h.npz")
    np.testing.assert_array_equal(g["train_index"], again["train_index"])


def test_too_few_points_for_k(latent, tmp_path):
    with pytest.raises(AtlasError, match=r"80 training points.*k=200"):
        neighbors.build(latent, {"k": 200, "max_points": 100, "seed": 1}, 1, tmp_path / "g.npz")


@pytest.mark.parametrize("name", ["pca", "tsne", "tsne_sklearn", "umap"])
def test_test_points_land_in_their_train_cluster(tmp_path, latent, graph, name):
    method = "tsne" if name.startswith("tsne") else name
    frame = projections.project(
        method, latent, graph, METHOD_PARAMS[name], 1, tmp_path / f"{name}.parquet"
    )
    assert list(frame.columns) == ["x", "y", "label", "split", "index"]
    assert (frame["split"] == "train").sum() == 400 and (frame["split"] == "test").sum() == 100
    back, info = maps.read_map(tmp_path / f"{name}.parquet")
    pd.testing.assert_frame_equal(back, frame)
    assert info["method"] == method and info["fit_seconds"] >= 0
    if name == "tsne_sklearn":
        assert "fitted together" in info["placement"]
    train = frame[frame.split == "train"]
    test = frame[frame.split == "test"]
    # the nearest train point (in the map) of each test point belongs to its cluster
    d = ((test[["x", "y"]].to_numpy()[:, None] - train[["x", "y"]].to_numpy()[None]) ** 2).sum(-1)
    nearest = train["label"].to_numpy()[d.argmin(axis=1)]
    assert (nearest == test["label"].to_numpy()).mean() >= 0.95


def test_deterministic_methods_repeat_exactly(tmp_path, latent, graph):
    for name in ("tsne", "umap"):
        a = projections.project(name, latent, graph, METHOD_PARAMS[name], 1, tmp_path / "a.parquet")
        b = projections.project(name, latent, graph, METHOD_PARAMS[name], 1, tmp_path / "b.parquet")
        pd.testing.assert_frame_equal(a, b)


def test_opentsne_map_is_the_same_for_any_thread_count(tmp_path, latent, graph):
    """project_threads gives t-SNE half the cores; the map must not depend on how many, nor on
    the BLAS threads the job's environment sets."""
    from threadpoolctl import threadpool_limits

    params = METHOD_PARAMS["tsne"]
    with threadpool_limits(1):  # as a one-thread job: snakemake sets OPENBLAS_NUM_THREADS
        one = projections.project("tsne", latent, graph, params, 1, tmp_path / "a.parquet")
    with threadpool_limits(2):
        two = projections.project("tsne", latent, graph, params, 2, tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(one, two)


def test_unknown_method(tmp_path, latent, graph):
    with pytest.raises(AtlasError, match="unknown projection method 'no-such-method'"):
        projections.project("no-such-method", latent, graph, {}, 1, tmp_path / "x.parquet")


def test_corrupt_map_is_named(tmp_path):
    (tmp_path / "umap.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(AtlasError, match=r"umap.parquet: not a readable map"):
        maps.read_map(tmp_path / "umap.parquet")


def frame_of(train_xy, y_train, test_xy, y_test) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": np.r_[train_xy[:, 0], test_xy[:, 0]],
            "y": np.r_[train_xy[:, 1], test_xy[:, 1]],
            "label": np.r_[y_train, y_test],
            "split": ["train"] * len(train_xy) + ["test"] * len(test_xy),
            "index": np.r_[np.arange(len(train_xy)), np.arange(len(test_xy))],
        }
    )


PARAMS = metric_params(
    knn_k=[1, 5],
    trustworthiness_points=10_000,
    trustworthiness_k=5,
    silhouette_sample=None,
    seed=0,
)


def test_metrics_perfect_separation():
    rng = np.random.default_rng(0)
    y_tr, y_te = np.arange(1000) % 10, np.arange(300) % 10
    centres = np.stack([np.cos(np.arange(10)), np.sin(np.arange(10))], 1) * 100
    tr = centres[y_tr] + rng.normal(0, 1, (1000, 2))
    te = centres[y_te] + rng.normal(0, 1, (300, 2))
    m = measures.map_metrics(frame_of(tr, y_tr, te, y_te), {"fit_seconds": 1.5}, tr, PARAMS, 1)
    assert m["knn_acc_1"] == 1.0 and m["knn_acc_5"] == 1.0
    assert m["trustworthiness"] == pytest.approx(1.0)  # the map is the data itself
    assert m["silhouette"] > 0.9
    assert m["fit_seconds"] == 1.5 and np.isnan(m["transform_seconds"])


def test_metrics_shuffled_labels_are_chance():
    rng = np.random.default_rng(1)
    tr, te = rng.normal(size=(6000, 2)), rng.normal(size=(2000, 2))
    y_tr, y_te = rng.integers(0, 10, 6000), rng.integers(0, 10, 2000)
    m = measures.map_metrics(frame_of(tr, y_tr, te, y_te), {}, tr, PARAMS, 1)
    assert m["knn_acc_1"] == pytest.approx(0.1, abs=0.03)
    assert m["knn_acc_5"] == pytest.approx(0.1, abs=0.03)
    assert abs(m["silhouette"]) < 0.1


def test_trustworthiness_drops_for_a_scrambled_map():
    rng = np.random.default_rng(2)
    high = rng.normal(size=(500, 5))
    assert metrics.trustworthiness(high, high[:, :2]) > metrics.trustworthiness(
        high, rng.normal(size=(500, 2))
    )


def test_vote_matches_sklearn_including_ties(latent, graph):
    from sklearn.neighbors import KNeighborsClassifier

    for k in (1, 2, 4, 5):
        ours = metrics.knn_accuracy_from_graph(
            graph["test_ind"], latent["y_train"], latent["y_test"], k
        )
        clf = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(
            latent["z_train"], latent["y_train"]
        )
        assert ours == pytest.approx(clf.score(latent["z_test"], latent["y_test"]))
    assert metrics.vote(np.array([[3, 1, 1, 3], [2, 2, 0, 0]])).tolist() == [1, 0]


def test_tidy_and_aggregate(tmp_path: Path):
    t = metrics.tidy({"umap": {"knn_acc_1": 0.9, "silhouette": 0.5}}, "mnist", "ae32")
    assert t.columns.tolist() == ["dataset", "model", "method", "metric", "value"]
    metrics.write_csv(t, tmp_path / "a.csv")
    metrics.write_csv(t.assign(model="vae"), tmp_path / "b.csv")
    both = metrics.aggregate([tmp_path / "a.csv", tmp_path / "b.csv"], tmp_path / "all.csv")
    assert len(both) == 4 and set(both["model"]) == {"ae32", "vae"}


def test_map_figure_is_written_and_not_blank(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(3)
    y = np.arange(2000) % 10
    xy = np.stack([np.cos(y), np.sin(y)], 1) * 10 + rng.normal(0, 1, (2000, 2))
    frame = frame_of(xy[:1500], y[:1500], xy[1500:], y[1500:])
    fig = map_plots.map_figure(
        frame, "umap", {"knn_acc_5": 0.97}, [str(i) for i in range(10)], "test subtitle"
    )
    assert fig.axes[0].get_title().startswith("UMAP — 5-NN test accuracy 0.970")
    assert fig.axes[0].get_aspect() == 1.0
    plotting.save(fig, tmp_path / "umap.png", tmp_path / "umap.svg")
    img = np.asarray(Image.open(tmp_path / "umap.png").convert("RGB"), dtype=float)
    assert img.shape[0] > 500 and img.shape[1] > 500
    non_white = (img.sum(axis=2) < 740).mean()
    assert non_white > 0.02  # points drawn, not an empty frame
    colours = {tuple(c) for c in img.reshape(-1, 3)[::97].astype(int)}
    assert len(colours) > 50  # ten classes in several shades, not a single colour
    svg = (tmp_path / "umap.svg").read_text()
    assert "<image" in svg  # the point cloud is rasterised inside the SVG
    assert svg.count("<path") < 2000  # ... not 2,000 vector markers


def test_report_benchmarks_are_the_given_jobs_named_by_their_path(tmp_path):
    from latent_atlas import report

    files = []
    for rel in ("download_mnist.tsv", "mnist/normalise.tsv", "mnist/ae32/train.tsv"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("s\th:m:s\tmax_rss\n1.5\t0:00:01\t100.0\n")
        files.append(p)
    (tmp_path / "mnist/vae").mkdir()
    (tmp_path / "mnist/vae/train.tsv").write_text("")  # not given: not read
    b = report.benchmarks(files, tmp_path)
    assert sorted(b["job"]) == ["download_mnist", "mnist/ae32/train", "mnist/normalise"]
    assert b["seconds"].tolist() == [1.5, 1.5, 1.5]
    assert b["max_rss_mb"].tolist() == [100.0] * 3


@pytest.mark.parametrize("seed", [0, 1])
def test_fast_trustworthiness_equals_sklearn(seed):
    from sklearn.manifold import trustworthiness as sk

    rng = np.random.default_rng(seed)
    high = rng.normal(size=(700, 12))
    low = high[:, :2] + rng.normal(scale=0.7, size=(700, 2))
    ours = metrics.trustworthiness(high, low, n=600, k=5, chunk=128)
    assert ours == pytest.approx(sk(high[:600], low[:600], n_neighbors=5), abs=1e-12)


@pytest.mark.parametrize("sample", [None, 300])
def test_fast_silhouette_equals_sklearn(sample):
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(4)
    labels = np.arange(900) % 7
    labels[0] = 7  # a singleton cluster scores 0, as in scikit-learn
    xy = rng.normal(size=(900, 2)) + labels[:, None] * 0.8
    ours = metrics.silhouette(xy, labels, sample, seed=3)
    if sample is None:
        assert ours == pytest.approx(silhouette_score(xy, labels), abs=1e-10)
    else:
        keep = np.random.default_rng(3).choice(900, sample, replace=False)
        assert ours == pytest.approx(silhouette_score(xy[keep], labels[keep]), abs=1e-10)


def test_silhouette_with_unordered_labels_and_gaps():
    """The grouped kernel sorts by label: shuffled labels, and labels absent from the data."""
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(7)
    labels = rng.choice([0, 2, 5, 9], 700)
    xy = rng.normal(size=(700, 2)) + labels[:, None] * 0.3
    assert metrics.silhouette(xy, labels, None, 0) == pytest.approx(
        silhouette_score(xy, labels), abs=1e-10
    )


@pytest.mark.parametrize("dim", [2, 30])
def test_knn_accuracies_from_one_search_equal_a_classifier_per_k(dim):
    rng = np.random.default_rng(dim)
    y_train, y_test = rng.integers(0, 5, 800), rng.integers(0, 5, 200)
    x_train = rng.normal(size=(800, dim)) + y_train[:, None] * 0.4
    x_test = rng.normal(size=(200, dim)) + y_test[:, None] * 0.4
    ks = [1, 4, 5, 10]  # 4 and 10: even k, where ties between labels go to the smallest
    once = metrics.knn_accuracies(x_train, y_train, x_test, y_test, ks)
    assert once == {
        f"knn_acc_{k}": metrics.knn_accuracy(x_train, y_train, x_test, y_test, k) for k in ks
    }
    assert 0.3 < once["knn_acc_10"] < 1.0  # neither trivial nor chance
