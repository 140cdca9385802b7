"""The four uses against known answers on synthetic data: separable blobs give AUC and probe
accuracy near 1, shuffled labels near chance."""

from __future__ import annotations

import numpy as np
import pytest
from latent_atlas import uses
from latent_atlas.errors import AtlasError


def clusters(n: int = 600, dim: int = 8, classes: int = 3, spread: float = 0.3, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 5, (classes, dim))
    y = np.arange(n) % classes
    return centres[y] + rng.normal(0, spread, (n, dim)), y


def test_compression_ratio_of_the_seed_model():
    assert uses.compression_ratio(784, 32) == pytest.approx(6.125)
    assert uses.compression_ratio(64, 8) == pytest.approx(2.0)


def test_anomaly_auc_separable_and_chance():
    rng = np.random.default_rng(0)
    labels = np.arange(2000) % 10
    separated = rng.random(2000) + 2.0 * (labels == 3)
    assert uses.anomaly_auc(separated, labels, 3) == pytest.approx(1.0)
    assert uses.anomaly_auc(-separated, labels, 3) == pytest.approx(0.0)
    assert abs(uses.anomaly_auc(rng.random(2000), labels, 3) - 0.5) < 0.06
    assert np.isnan(uses.anomaly_auc(rng.random(20), np.zeros(20), 3))


def test_probe_on_blobs_and_on_shuffled_labels():
    z, y = clusters()
    assert uses.probe_accuracy(z[:400], y[:400], z[400:], y[400:]) > 0.99
    shuffled = np.random.default_rng(1).permutation(y)
    acc = uses.probe_accuracy(z[:400], shuffled[:400], z[400:], shuffled[400:])
    assert abs(acc - 1 / 3) < 0.1


def test_fewshot_index_is_seeded_and_balanced():
    y = np.repeat(np.arange(4), [50, 50, 50, 3])
    idx = uses.fewshot_index(y, 10, seed=5)
    assert np.bincount(y[idx]).tolist() == [10, 10, 10, 3]
    np.testing.assert_array_equal(idx, uses.fewshot_index(y, 10, seed=5))
    assert not np.array_equal(idx, uses.fewshot_index(y, 10, seed=6))


def test_classifier_score_bounds():
    confident_spread = np.eye(10)[np.arange(1000) % 10]
    assert uses.classifier_score(confident_spread) == pytest.approx(10.0, rel=1e-6)
    one_class = np.eye(10)[np.zeros(1000, int)]
    assert uses.classifier_score(one_class) == pytest.approx(1.0, rel=1e-6)
    unsure = np.full((1000, 10), 0.1)
    assert uses.classifier_score(unsure) == pytest.approx(1.0, rel=1e-6)


def test_judge_scores_real_blobs_high_and_noise_low(tmp_path):
    z, y = clusters(n=900, dim=16, classes=3)
    x = (z - z.min()) / (z.max() - z.min())
    d = {"x_train": x[:600], "y_train": y[:600], "x_test": x[600:], "y_test": y[600:]}
    judge = uses.fit_judge(d, tmp_path / "judge.npz")
    assert float(judge["test_accuracy"]) > 0.99
    back = uses.load_judge(tmp_path / "judge.npz")
    real = uses.classifier_score(uses.softmax_proba(x[600:], back["coef"], back["intercept"]))
    assert real > 2.4  # 3 classes (max 3), told apart with confidence
    mean_image = np.repeat(x.mean(axis=0, keepdims=True), 300, axis=0)
    blurry = uses.classifier_score(uses.softmax_proba(mean_image, back["coef"], back["intercept"]))
    assert blurry < 1.5


def test_use_metrics_rows():
    z, y = clusters(n=900)
    rng = np.random.default_rng(0)
    latent = {
        "z_train": z[:600],
        "z_test": z[600:],
        "y_train": y[:600],
        "y_test": y[600:],
        "recon_error_test": np.full(300, 0.1),
    }
    inputs = {
        "generated": rng.random((50, 16)),
        "real_test": rng.random((50, 16)),
        "holdout_error_test": rng.random(300) + (y[600:] == 0),
        "cell_train": np.zeros((0, 0)),
        "cell_test": np.zeros((0, 0)),
    }
    judge = {"coef": rng.normal(size=(3, 16)), "intercept": np.zeros(3)}
    params = {"anomaly_class": 0, "fewshot_per_class": 10, "seed": 0}
    out = uses.use_metrics(latent, inputs, judge, params)
    assert set(out) == {
        "compression_ratio",
        "reconstruction_bce",
        "anomaly_auc",
        "linear_probe_acc",
        "fewshot_probe_acc",
        "sample_classifier_score",
        "sample_classifier_score_real",
    }
    assert out["compression_ratio"] == pytest.approx(16 / 32)
    assert out["linear_probe_acc"] > 0.99 and out["fewshot_probe_acc"] > 0.95
    assert out["anomaly_auc"] > 0.8
    no_holdout = {**inputs, "holdout_error_test": np.zeros(0)}
    assert "anomaly_auc" not in uses.use_metrics(latent, no_holdout, judge, params)


def test_without_class_and_bad_class():
    d = {
        "x_train": np.zeros((6, 2), np.float32),
        "y_train": np.array([0, 1, 2, 0, 1, 2]),
        "x_test": np.zeros((3, 2), np.float32),
        "y_test": np.array([0, 1, 2]),
    }
    out = uses.without_class(d, 1)
    assert out["y_train"].tolist() == [0, 2, 0, 2] and out["y_test"].tolist() == [0, 2]
    with pytest.raises(AtlasError, match=r"anomaly_class = 7 must be one of the classes"):
        uses.without_class(d, 7)


def test_judge_does_not_depend_on_the_blas_threads(tmp_path):
    """fit_judge stops L-BFGS early (tol 1e-3); it runs BLAS on one thread so that where it
    stops, and so the sample scores, do not move with the job's BLAS thread count."""
    from threadpoolctl import threadpool_limits

    z, y = clusters(n=3000, dim=200, classes=10)
    x = (z - z.min()) / (z.max() - z.min())
    d = {"x_train": x[:2500], "y_train": y[:2500], "x_test": x[2500:], "y_test": y[2500:]}
    judges = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            judges.append(uses.fit_judge(d, tmp_path / f"judge{threads}.npz"))
    for key in uses.JUDGE_KEYS:
        np.testing.assert_array_equal(judges[0][key], judges[1][key])
