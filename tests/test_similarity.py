"""Similarity of two latent spaces: known answers (a rotated, scaled, moved copy; independent
spaces), the permutation null's calibration, and debiased CKA against the published
Gram-matrix formula."""

from __future__ import annotations

import numpy as np
import pytest
from latent_atlas import similarity
from latent_atlas.errors import AtlasError
from scipy.stats import ortho_group
from sklearn.neighbors import NearestNeighbors


def space(codes: np.ndarray, k: int = 10) -> similarity.Space:
    ind = NearestNeighbors(n_neighbors=k + 1).fit(codes).kneighbors(return_distance=False)
    return similarity.Space(codes, ind[:, :k])


def clusters(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (5, d))
    return centres[np.arange(n) % 5] + rng.normal(size=(n, d))


def test_a_rotated_scaled_moved_copy_is_identical_in_every_measure():
    x = clusters(300, 8, 0)
    y = 3.5 * x @ ortho_group.rvs(8, random_state=1) + 7.0
    scores, points = similarity.compare(space(x), space(y), 20, 0)
    for m in similarity.MEASURES:
        assert scores[m]["raw"] == pytest.approx(1.0, abs=1e-9), m
        assert scores[m]["calibrated"] == pytest.approx(1.0, abs=1e-9), m
        assert scores[m]["p_value"] == pytest.approx(1 / 21), m
    assert points.min() == 1.0


def test_independent_spaces_calibrate_to_zero_with_uniform_p_values():
    calibrated, p = {m: [] for m in similarity.MEASURES}, {m: [] for m in similarity.MEASURES}
    for seed in range(20):
        rng = np.random.default_rng(seed)
        x, y = rng.normal(size=(200, 6)), rng.normal(size=(200, 12))
        scores, _ = similarity.compare(space(x), space(y), 50, seed)
        for m in similarity.MEASURES:
            calibrated[m].append(scores[m]["calibrated"])
            p[m].append(scores[m]["p_value"])
    for m in similarity.MEASURES:
        assert abs(np.mean(calibrated[m])) < 0.02, (m, calibrated[m])
        assert 0.3 < np.mean(p[m]) < 0.7, (m, p[m])  # uniform: mean 1/2
        assert np.mean(np.array(p[m]) < 0.1) < 0.3, (m, p[m])  # not piled up at 0


def test_a_shared_structure_is_significant_and_between_chance_and_identity():
    x = clusters(300, 8, 0)
    rng = np.random.default_rng(5)
    y = np.hstack([x[:, :3], rng.normal(0, 4, (300, 5))])  # keeps 3 of 8 directions
    scores, _ = similarity.compare(space(x), space(y), 50, 0)
    for m in similarity.MEASURES:
        assert scores[m]["p_value"] == pytest.approx(1 / 51), m
        assert 0.05 < scores[m]["calibrated"] < 0.99, (m, scores[m])


def test_debiased_cka_equals_the_gram_matrix_formula():
    """Song et al. (2012)'s unbiased HSIC written on the n x n Gram matrices, as published; the
    debiased CKA of Kornblith et al.'s notebook divides it by the two unbiased self-HSICs."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(50, 9))
    y[:, :4] += 2 * x

    def hsic1(k: np.ndarray, lg: np.ndarray) -> float:
        n = len(k)
        k, lg = k - np.diag(np.diag(k)), lg - np.diag(np.diag(lg))
        one = np.ones(n)
        return (
            np.trace(k @ lg)
            + (one @ k @ one) * (one @ lg @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ k @ lg @ one
        ) / (n * (n - 3))

    k, lg = x @ x.T, y @ y.T
    want = hsic1(k, lg) / np.sqrt(hsic1(k, k) * hsic1(lg, lg))
    assert similarity.cka_debiased(x, y) == pytest.approx(want, abs=1e-9)


def test_procrustes_is_one_minus_half_the_squared_distance():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(80, 3)), rng.normal(size=(80, 3))
    ux, uy = similarity._unit(x), similarity._unit(y)
    u, _, vt = np.linalg.svd(ux.T @ uy)
    distance2 = np.sum((ux @ (u @ vt) - uy) ** 2)  # the best rotation of x onto y
    assert similarity.procrustes(x, y) == pytest.approx(1 - distance2 / 2, abs=1e-12)


def test_mutual_knn_counts_shared_neighbours_per_point():
    a = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    same = np.array([[3, 2, 1], [3, 0, 2], [1, 3, 0], [2, 0, 1]])  # the same sets, reordered
    assert similarity.mutual_knn_points(a, same).tolist() == [1.0, 1.0, 1.0, 1.0]
    other = np.array([[1, 8, 7], [9, 8, 7], [9, 8, 3], [9, 1, 2]])
    assert similarity.mutual_knn_points(a, other).tolist() == [1 / 3, 0.0, 1 / 3, 2 / 3]


def test_table_has_every_pair_and_measure_in_order():
    spaces = {name: space(clusters(60, 4, s)) for s, name in enumerate(["pixels", "ae", "vae"])}
    frame, points = similarity.table(spaces, 5, 0)
    assert list(frame.columns) == list(similarity.COLUMNS)
    pairs = list(dict.fromkeys(zip(frame["a"], frame["b"], strict=True)))
    assert pairs == [("pixels", "ae"), ("pixels", "vae"), ("ae", "vae")]
    assert len(frame) == 3 * len(similarity.MEASURES)
    assert set(points) == {"pixels~ae", "pixels~vae", "ae~vae"}
    assert all(len(v) == 60 for v in points.values())
    assert (frame["points"] == 60).all() and (frame["permutations"] == 5).all()


def test_spaces_of_other_points_are_refused():
    with pytest.raises(AtlasError, match="same points"):
        similarity.compare(space(clusters(50, 3, 0)), space(clusters(40, 3, 0)), 5, 0)
    with pytest.raises(AtlasError, match="permutations"):
        similarity.compare(space(clusters(50, 3, 0)), space(clusters(50, 3, 1)), 0, 0)
