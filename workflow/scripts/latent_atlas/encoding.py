"""Encode a dataset with a trained model: the codes every map is made from, plus what the
report shows of the model (reconstructions, worst reconstructions, interpolations, samples).

Everything the report needs from the decoder is computed here, so the report rule never
imports TensorFlow.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .errors import AtlasError
from .io import save_npz
from .models import decoder_of, encoder_of, is_variational
from .training import load_model

log = logging.getLogger(__name__)

LATENT_KEYS = (
    "z_train",
    "z_test",
    "y_train",
    "y_test",
    "recon_error_train",
    "recon_error_test",
    "sample_index",
    "sample_reconstruction",
    "worst_index",
    "worst_reconstruction",
    "interp_pairs",
    "interp_images",
    "prior_images",
    "image_shape",
)
PREDICT_BATCH = 2048


def per_sample_bce(x: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Binary cross-entropy per sample (mean over pixels), as the training loss measures it."""
    p = np.clip(recon.astype(np.float64), 1e-7, 1 - 1e-7)
    return (-(x * np.log(p) + (1 - x) * np.log1p(-p))).mean(axis=1).astype(np.float32)


def recon_errors(
    decode: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    z: np.ndarray,
    chunk_values: int = 1 << 24,
) -> np.ndarray:
    """Per-sample BCE of the decoded codes, chunk by chunk: the reconstructions of a whole
    split (as large as the data) are never held at once. Chunks are whole predict batches
    of about ``chunk_values`` values, so the results equal those of one big predict."""
    per_row = max(int(np.prod(x.shape[1:])), 1)
    chunk = PREDICT_BATCH * max(1, chunk_values // (PREDICT_BATCH * per_row))
    out = np.empty(len(x), np.float32)
    for i in range(0, len(x), chunk):
        out[i : i + chunk] = per_sample_bce(x[i : i + chunk], decode(z[i : i + chunk]))
    return out


def fixed_samples(labels: np.ndarray, per_class: int) -> np.ndarray:
    """The first ``per_class`` test images of each class, class by class (stable across runs)."""
    picks = [np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]
    return np.concatenate(picks).astype(np.int64)


def interpolate(
    decode: Callable[[np.ndarray], np.ndarray],
    z: np.ndarray,
    y: np.ndarray,
    pairs: Sequence[Sequence[int]],
    steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``steps`` points on the straight line between two class centroids in latent space."""
    present = set(np.unique(y).tolist())
    usable = [(a, b) for a, b in pairs if a in present and b in present]
    if not usable:
        return np.zeros((0, 2), np.int64), np.zeros((0, steps, 0), np.float32)
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    lines = []
    for a, b in usable:
        ca, cb = z[y == a].mean(axis=0), z[y == b].mean(axis=0)
        lines.append(decode((1 - t) * ca + t * cb))
    return np.array(usable, np.int64), np.stack(lines).astype(np.float32)


def encode(
    model_path: str | os.PathLike[str],
    data: Mapping[str, np.ndarray],
    out_path: str | os.PathLike[str],
    params: Mapping,
) -> dict[str, np.ndarray]:
    """Write ``latent.npz``: float32 codes (the VAE's mean), labels, errors and report images."""
    model = load_model(model_path)
    dim = model.input_shape[-1]
    if data["x_train"].shape[1] != dim:
        raise AtlasError(
            f"{model_path} expects {dim} inputs but the data has {data['x_train'].shape[1]}: "
            "the model was trained on another dataset; delete it and rerun snakemake"
        )
    encoder, decoder = encoder_of(model), decoder_of(model)

    def codes(x: np.ndarray) -> np.ndarray:
        out = encoder.predict(x, batch_size=PREDICT_BATCH, verbose=0)
        return np.asarray(out[0] if is_variational(model) else out, dtype=np.float32)

    def decode(z: np.ndarray) -> np.ndarray:
        return np.asarray(decoder.predict(z, batch_size=PREDICT_BATCH, verbose=0), np.float32)

    z_train, z_test = codes(data["x_train"]), codes(data["x_test"])
    samples = fixed_samples(data["y_test"], params["samples_per_class"])
    errors_test = recon_errors(decode, data["x_test"], z_test)
    # The seed's anomaly-detection use: the test images the model reconstructs worst.
    worst = np.argsort(errors_test, kind="stable")[::-1][: params["worst"]].astype(np.int64)
    pairs, interp = interpolate(
        decode, z_train, data["y_train"], params["interpolate"], params["interpolation_steps"]
    )
    if is_variational(model):
        rng = np.random.default_rng(params["seed"])
        z_prior = rng.standard_normal((params["prior_samples"], z_train.shape[1]))
        prior = decode(z_prior.astype(np.float32))
    else:
        prior = np.zeros((0, dim), np.float32)
    arrays = {
        "z_train": z_train,
        "z_test": z_test,
        "y_train": data["y_train"],
        "y_test": data["y_test"],
        "recon_error_train": recon_errors(decode, data["x_train"], z_train),
        "recon_error_test": errors_test,
        "sample_index": samples,
        "sample_reconstruction": decode(z_test[samples]),
        "worst_index": worst,
        "worst_reconstruction": decode(z_test[worst]),
        "interp_pairs": pairs,
        "interp_images": interp,
        "prior_images": prior,
        "image_shape": data["image_shape"],
        "channels": np.int64(data.get("channels", 1)),
    }
    if not (np.isfinite(z_train).all() and np.isfinite(z_test).all()):
        raise AtlasError(f"{model_path}: codes contain NaN/inf; retrain with a lower learning_rate")
    save_npz(out_path, arrays)
    log.info(
        "%s: codes %s / %s, mean test reconstruction BCE %.5f, %d dead code units",
        out_path,
        z_train.shape,
        z_test.shape,
        float(arrays["recon_error_test"].mean()),
        int((z_train.std(axis=0) == 0).sum()),
    )
    return arrays
