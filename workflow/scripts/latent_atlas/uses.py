"""The tutorial's four uses of a latent space, measured: compression, anomaly detection,
generation and transfer learning. One row per number in ``metrics/uses.csv`` (method ``uses``).

- compression: bytes of the float32 code against bytes of the 8-bit image, with the test
  reconstruction error that ratio costs (``compression_ratio``, ``reconstruction_bce``);
- anomaly detection: a copy of the model trained without class k scores every test image by its
  reconstruction error; ROC AUC of that score for "is class k" (``anomaly_auc``);
- transfer: a logistic-regression probe on standardised codes, fitted on all training codes
  (``linear_probe_acc``) or on ``fewshot_per_class`` per class (``fewshot_probe_acc``), scored
  on the test codes;
- generation: the classifier score of decoded prior samples (``sample_classifier_score``), see
  :func:`classifier_score` (N(0, I) for a kind with a prior, else a Gaussian fitted to the
  codes; the report's generation figure shows the first of these same samples); the same
  score of real test images is the ceiling (``sample_classifier_score_real``).

The TensorFlow half (holdout errors, prior samples, LSTM cell states) is :func:`use_inputs`,
run by its own rule; everything else here is scikit-learn and NumPy.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import numpy as np

from .errors import AtlasError
from .io import load_npz, save_npz

log = logging.getLogger(__name__)

USES_KEYS = ("generated", "prior", "from_prior", "holdout_error_test", "cell_train", "cell_test")
JUDGE_KEYS = ("coef", "intercept", "test_accuracy")


# ---------------------------------------------------------------- numbers (no TensorFlow)


def compression_ratio(input_dim: int, latent_dim: int, pixel_bytes: int = 1) -> float:
    """Bytes of an image (``pixel_bytes`` per value; 8-bit for MNIST) over bytes of its float32
    code: 784 / (32 * 4) = 6.125 for the seed's model."""
    return float(input_dim * pixel_bytes) / float(latent_dim * 4)


def anomaly_auc(errors: np.ndarray, labels: np.ndarray, anomaly_class: int) -> float:
    """ROC AUC of ``errors`` as a score for ``labels == anomaly_class`` (1 = perfect, 0.5 =
    chance). NaN when the test set lacks the class or has nothing else."""
    from sklearn.metrics import roc_auc_score

    positive = np.asarray(labels) == anomaly_class
    if positive.all() or not positive.any():
        return float("nan")
    return float(roc_auc_score(positive, np.asarray(errors, np.float64)))


def probe_accuracy(
    z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, y_test: np.ndarray
) -> float:
    """Test accuracy of a multinomial logistic regression on standardised codes (a linear probe,
    as representation-learning papers measure transfer)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(y_train)) < 2:
        return float("nan")
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probe.fit(np.asarray(z_train, np.float64), y_train)
    return float(probe.score(np.asarray(z_test, np.float64), y_test))


def fewshot_index(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """A seeded draw of ``per_class`` training rows of every class (all of a smaller class)."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        picks.append(np.sort(rng.choice(rows, min(per_class, len(rows)), replace=False)))
    return np.concatenate(picks)


def softmax_proba(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Class probabilities of a (multinomial) logistic regression from its weights."""
    logits = np.asarray(x, np.float64) @ coef.T + intercept
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def classifier_score(proba: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))): the Inception Score's formula with a classifier of the
    dataset itself (Salimans et al. 2016). High when each sample is confidently one class and
    the samples spread over the classes; between 1 and the number of classes.

    Why this one: it needs no downloaded weights, it is cheap, and it punishes the two failures
    of decoders sampled from a prior — blurry in-between images (unconfident) and a few repeated
    classes (low spread). A nearest-training-neighbour distance would reward exactly the blurry
    averages, which are close to many images in pixel space.
    """
    p = np.clip(np.asarray(proba, np.float64), 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(marginal))).sum(axis=1).mean()))


def fit_judge(data: Mapping[str, np.ndarray], out_path: str | os.PathLike[str]) -> dict:
    """The dataset's pixel classifier for :func:`classifier_score`: logistic regression on the
    training images, stored as plain weights (no pickle)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    clf = LogisticRegression(max_iter=300, tol=1e-3)
    # One BLAS thread: L-BFGS stops at tol 1e-3, and where it stops moved with the BLAS thread
    # count (sample_classifier_score 4.64 on two threads, 4.81 on one, measured on MNIST).
    with threadpool_limits(limits=1, user_api="blas"):
        clf.fit(data["x_train"], data["y_train"])
    classes = clf.classes_.astype(np.int64)
    coef = np.zeros((int(classes.max()) + 1, clf.coef_.shape[1]), np.float64)
    intercept = np.full(len(coef), -1e9)  # classes missing from the training labels: never
    coef[classes], intercept[classes] = clf.coef_, clf.intercept_
    acc = float(clf.score(data["x_test"], data["y_test"]))
    arrays = {"coef": coef, "intercept": intercept, "test_accuracy": np.float64(acc)}
    save_npz(out_path, arrays)
    log.info("%s: pixel logistic regression, test accuracy %.4f", out_path, acc)
    return arrays


def use_metrics(
    latent: Mapping[str, np.ndarray],
    inputs: Mapping[str, np.ndarray],
    judge: Mapping[str, np.ndarray],
    params: Mapping,
) -> dict[str, float]:
    """Every use's numbers for one model, from its codes, its use inputs and the judge."""
    z_train, z_test = latent["z_train"], latent["z_test"]
    y_train, y_test = latent["y_train"], latent["y_test"]
    input_dim = int(inputs["generated"].shape[1]) if inputs["generated"].size else None
    if input_dim is None:
        raise AtlasError("use inputs hold no generated samples; rerun the use_inputs rule")
    out = {
        "compression_ratio": compression_ratio(input_dim, z_train.shape[1]),
        "reconstruction_bce": float(np.mean(latent["recon_error_test"])),
    }
    if inputs["holdout_error_test"].size:
        out["anomaly_auc"] = anomaly_auc(
            inputs["holdout_error_test"], y_test, params["anomaly_class"]
        )
    out["linear_probe_acc"] = probe_accuracy(z_train, y_train, z_test, y_test)
    few = fewshot_index(y_train, params["fewshot_per_class"], params["seed"])
    out["fewshot_probe_acc"] = probe_accuracy(z_train[few], y_train[few], z_test, y_test)
    coef, intercept = judge["coef"], judge["intercept"]
    out["sample_classifier_score"] = classifier_score(
        softmax_proba(inputs["generated"], coef, intercept)
    )
    out["sample_classifier_score_real"] = classifier_score(
        softmax_proba(inputs["real_test"], coef, intercept)
    )
    if inputs["cell_train"].size:  # LSTM: what the cell state adds to the hidden-state code
        c_train, c_test = inputs["cell_train"], inputs["cell_test"]
        out["linear_probe_acc_cell"] = probe_accuracy(c_train, y_train, c_test, y_test)
        out["linear_probe_acc_hidden_cell"] = probe_accuracy(
            np.hstack([z_train, c_train]), y_train, np.hstack([z_test, c_test]), y_test
        )
    return out


# ---------------------------------------------------------------- TensorFlow half


def without_class(data: Mapping[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    """The dataset with class ``k`` removed from both splits (the anomaly model's data)."""
    out = dict(data)
    for split in ("train", "test"):
        keep = data[f"y_{split}"] != k
        out[f"x_{split}"], out[f"y_{split}"] = data[f"x_{split}"][keep], data[f"y_{split}"][keep]
    if not len(out["x_train"]) or len(out["x_train"]) == len(data["x_train"]):
        present = sorted(np.unique(data["y_train"]).tolist())
        raise AtlasError(
            f"uses.anomaly_class = {k} must be one of the classes the data has ({present}) and "
            "not its only class; change it in the config"
        )
    return out


def use_inputs(
    model_path: str | os.PathLike[str],
    holdout_path: str | os.PathLike[str] | None,
    latent: Mapping[str, np.ndarray],
    data: Mapping[str, np.ndarray],
    params: Mapping,
    out_path: str | os.PathLike[str],
    kind: str,
) -> dict[str, np.ndarray]:
    """What the use metrics need from TensorFlow, in ``uses.npz``: generated samples (which the
    generation figure shows too), the holdout model's test errors and, for a kind with a cell
    state, its final cell states. ``kind`` is the model's kind (its spec's ``kind``)."""
    from . import kinds
    from .encoding import per_sample_bce, predict
    from .models import decoder_of, encoder_of
    from .training import load_model

    model_kind = kinds.get(kind)
    model = load_model(model_path, kind)
    decoder = decoder_of(model)
    rng = np.random.default_rng(params["seed"])
    n, z_train = params["generated_samples"], latent["z_train"].astype(np.float64)
    if model_kind.has_prior:
        z = rng.standard_normal((n, z_train.shape[1]))
        prior = "N(0, I) prior"
    else:  # ex-post density estimation (Ghosh et al. 2020): a Gaussian fitted to the codes
        z = rng.multivariate_normal(z_train.mean(axis=0), np.cov(z_train, rowvar=False), n)
        prior = "Gaussian fitted to the training codes"
    generated = np.asarray(predict(decoder, z.astype(np.float32)), np.float32)
    holdout_err = np.zeros(0, np.float32)
    if holdout_path is not None:
        held = load_model(holdout_path, kind)
        enc, dec = encoder_of(held), decoder_of(held)
        codes = predict(enc, data["x_test"])
        codes = codes[0] if model_kind.variational else codes
        recon = predict(dec, codes)
        holdout_err = per_sample_bce(data["x_test"], recon)
    if model_kind.cell_state:
        cells = lstm_cell_states(model, data)
    else:
        cells = (np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32))
    arrays = {
        "generated": generated,
        "prior": np.array(prior),
        "from_prior": np.bool_(model_kind.has_prior),
        "holdout_error_test": holdout_err,
        "cell_train": cells[0],
        "cell_test": cells[1],
        "real_test": data["x_test"][: min(n, len(data["x_test"]))],
        "image_shape": latent["image_shape"],
        "channels": np.int64(int(data.get("channels", 1))),
    }
    save_npz(out_path, arrays)
    log.info(
        "%s: %d samples from the %s; holdout errors %s; cell states %s",
        out_path,
        len(generated),
        prior,
        holdout_err.shape,
        cells[0].shape,
    )
    return arrays


def lstm_cell_states(
    model: object, data: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The code LSTM's final cell states of train and test images (a ``cell_state`` kind's)."""
    import keras

    from .encoding import predict
    from .models import encoder_of

    encoder = encoder_of(model)
    cell = keras.Model(encoder.inputs, encoder.get_layer("code_lstm").output[2])
    return tuple(np.asarray(predict(cell, data[f"x_{s}"]), np.float32) for s in ("train", "test"))


def load_use_inputs(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read ``uses.npz``."""
    return load_npz(path, (*USES_KEYS, "real_test"))


def load_judge(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read ``judge.npz``."""
    return load_npz(path, JUDGE_KEYS)
