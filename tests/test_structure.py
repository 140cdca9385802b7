"""The map measures of latent_atlas.structure: known answers and naive reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import metric_params
from latent_atlas import structure
from sklearn.manifold import trustworthiness


def naive_ranks(x: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    n = len(x)
    r = np.zeros((n, n), int)
    for i in range(n):
        for j in range(n):
            if i != j:
                r[i, j] = 1 + sum(1 for m in range(n) if m != i and d[i, m] < d[i, j])
    return r


def naive_rnx(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """R_NX(K) from its definition as neighbourhood overlap (Lee & Verleysen):
    Q_NX(K) = mean_i |N_K(i) in codes & N_K(i) in map| / K."""
    rh, rl = naive_ranks(high), naive_ranks(low)
    n = len(high)
    out = []
    for k in range(1, n - 1):
        common = [
            len(
                set(np.flatnonzero((rh[i] >= 1) & (rh[i] <= k)))
                & set(np.flatnonzero((rl[i] >= 1) & (rl[i] <= k)))
            )
            for i in range(n)
        ]
        qnx = np.mean(common) / k
        out.append(((n - 1) * qnx - k) / (n - 1 - k))
    return np.array(out)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    high = rng.normal(size=(60, 5))
    low = high[:, :2] + 0.3 * rng.normal(size=(60, 2))
    return high, low


def test_perfect_map_scores_one():
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(200, 2))
    rot = np.array([[0.6, -0.8], [0.8, 0.6]])
    low = 3.0 * xy @ rot + 5.0  # a similarity: every rank and neighbourhood kept
    labels = np.arange(200) % 4
    assert structure.knn_recall(structure._map_neighbors(xy, 10), low) == pytest.approx(1.0)
    assert structure.continuity(xy, low, 200, 5) == pytest.approx(1.0)
    assert structure.rnx_auc(structure.rnx_curve(structure.coranking(xy, low))) == pytest.approx(
        1.0
    )
    assert structure.spearman_pairs(xy, low, 5000, 0) == pytest.approx(1.0)
    assert structure.spearman_centroids(xy, low, labels) == pytest.approx(1.0)


def test_random_map_scores_about_zero():
    rng = np.random.default_rng(2)
    high, low = rng.normal(size=(400, 8)), rng.normal(size=(400, 2))
    assert abs(structure.rnx_auc(structure.rnx_curve(structure.coranking(high, low)))) < 0.05
    assert abs(structure.spearman_pairs(high, low, 20_000, 0)) < 0.05
    # recall of an unrelated map: about k / (n - 1)
    assert structure.knn_recall(structure._map_neighbors(high, 10), low) < 0.1


def test_coranking_matches_neighbourhood_overlap_definition(data):
    high, low = data
    high, low = high[:25], low[:25]
    q = structure.coranking(high, low)
    assert q.sum() == 25 * 24
    np.testing.assert_allclose(structure.rnx_curve(q), naive_rnx(high, low), atol=1e-12)


def test_rnx_auc_weights_small_k_by_one_over_k():
    rnx = np.array([1.0, 0.0, 0.0])  # K = 1, 2, 3
    assert structure.rnx_auc(rnx) == pytest.approx(1.0 / (1 + 1 / 2 + 1 / 3))


def test_continuity_equals_sklearn_trustworthiness_with_roles_swapped(data):
    high, low = data
    for k in (1, 5, 10):
        ours = structure.continuity(high, low, 60, k, chunk=7)
        assert ours == pytest.approx(trustworthiness(low, high, n_neighbors=k), abs=1e-12)
    # only the first n points count
    assert structure.continuity(high, low, 40, 5) == pytest.approx(
        trustworthiness(low[:40], high[:40], n_neighbors=5), abs=1e-12
    )


def test_knn_recall_against_sets(data):
    high, low = data
    hi = structure._map_neighbors(high, 10)
    lo = structure._map_neighbors(low, 10)
    expected = np.mean([len(set(hi[i]) & set(lo[i])) / 10 for i in range(len(high))])
    assert structure.knn_recall(hi, low) == pytest.approx(expected)
    with pytest.raises(structure.AtlasError, match="code-space neighbours"):
        structure.knn_recall(hi[:, :5], low)


def test_spearman_centroids_known_answer():
    # centroids at 0, 1, 3 in the codes and 0, 2, 3 in the map: distances (1, 3, 2) vs (2, 3, 1)
    labels = np.repeat([0, 1, 2], 4)
    high = np.repeat([[0.0], [1.0], [3.0]], 4, axis=0)
    low = np.hstack([np.repeat([[0.0], [2.0], [3.0]], 4, axis=0), np.zeros((12, 1))])
    assert structure.spearman_centroids(high, low, labels) == pytest.approx(0.5)
    assert np.isnan(structure.spearman_centroids(high, low, labels % 2))


def test_spearman_pairs_matches_scipy_on_the_same_pairs(data):
    from scipy.stats import spearmanr

    high, low = data
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, 60, 500), rng.integers(0, 60, 500)
    keep = i != j
    i, j = i[keep], j[keep]
    expected = spearmanr(
        np.linalg.norm(high[i] - high[j], axis=1), np.linalg.norm(low[i] - low[j], axis=1)
    ).statistic
    assert structure.spearman_pairs(high, low, 500, 3) == pytest.approx(expected)


def test_structure_measures_use_the_graph_and_subsample(data):
    from latent_atlas import measures

    high, low = data
    ind = np.column_stack([np.arange(60), structure._map_neighbors(high, 15)])
    params = metric_params(
        seed=0,
        trustworthiness_points=60,
        trustworthiness_k=5,
        structure_points=30,
        structure_pairs=1000,
    )
    labels = np.arange(60) % 3
    names = ["knn_recall", "continuity", "rnx_auc", "spearman_pairs", "spearman_centroids"]

    def run(graph):
        m = measures.MapData(high, low, low[:0], labels, labels[:0], params, graph=graph)
        out = {}
        for name in names:
            out.update(measures.REGISTRY[name].compute(m))
        return out

    with_graph = run({"train_ind": ind})
    assert with_graph == run(None)
    assert set(with_graph) == set(STRUCTURE)
    keep = structure.subsample(60, 30, 0)
    assert len(keep) == 30
    assert with_graph["rnx_auc"] == pytest.approx(
        structure.rnx_auc(structure.rnx_curve(structure.coranking(high[keep], low[keep])))
    )


STRUCTURE = ["knn_recall_10", "continuity", "rnx_auc", "spearman_pairs", "spearman_centroids"]


def test_every_map_gets_the_structure_measures():
    """metrics.map_metrics (what the map_metrics rule writes) includes all five, by name."""
    import pandas as pd
    from latent_atlas import measures

    rng = np.random.default_rng(4)
    z = rng.normal(size=(300, 6))
    xy = z[:, :2]
    frame = pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "label": np.arange(300) % 5,
            "split": ["train"] * 250 + ["test"] * 50,
            "index": np.arange(300),
        }
    )
    params = metric_params(
        knn_k=[1],
        trustworthiness_points=250,
        trustworthiness_k=5,
        silhouette_sample=None,
        structure_points=100,
        structure_pairs=2000,
        seed=0,
    )
    out = measures.map_metrics(frame, {}, z[:250], params, 1)
    for name in STRUCTURE:
        assert 0.0 < out[name] < 1.0, name
