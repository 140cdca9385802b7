"""Encode a dataset with a trained model: the codes every map is made from, plus what the
report shows of the model (reconstructions, worst reconstructions, interpolations).

Everything the report needs from the decoder is computed here or in ``use_inputs`` (whose
generated samples the generation figure shows, so that it shows the samples the uses scored),
so the report rule never imports TensorFlow.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .data import check_rows
from .errors import AtlasError
from .io import NpzRows, save_npz

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
    "image_shape",
)
PREDICT_BATCH = 2048
# Rows per chunk of encode/decode + error: a multiple of PREDICT_BATCH, so Keras sees the very
# same batches as one big predict (same numbers), while the float64 error temporaries stay at
# tens of MB instead of GBs (measured 3.1 GB peak before chunking on MNIST).
CHUNK = 2 * PREDICT_BATCH


def per_sample_bce(x: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Binary cross-entropy per sample (mean over pixels), as the training loss measures it."""
    p = np.clip(recon.astype(np.float64), 1e-7, 1 - 1e-7)
    return (-(x * np.log(p) + (1 - x) * np.log1p(-p))).mean(axis=1).astype(np.float32)


def row_chunks(x: np.ndarray | NpzRows, chunk: int | None = None) -> Iterator[np.ndarray]:
    """Blocks of ``chunk`` (default CHUNK) rows of an array, or of a streamed ``.npz`` member."""
    chunk = chunk or CHUNK
    if isinstance(x, NpzRows):
        for block in x.chunks(chunk):
            yield check_rows(block, f"{x.path}: {x.key}")
        return
    for i in range(0, len(x), chunk):
        yield x[i : i + chunk]


def predict(model: Any, x: np.ndarray) -> np.ndarray | list[np.ndarray]:
    """``model.predict(x, batch_size=PREDICT_BATCH)``, batch by batch with ``predict_on_batch``.

    The same compiled step on the same batches, so the same numbers (tested), without the
    tf.data pipeline ``predict`` builds on every call: about 50 ms a call, which over encode's
    40 calls on MNIST was half of its work.
    """
    batches = [x[i : i + PREDICT_BATCH] for i in range(0, len(x), PREDICT_BATCH)]
    # No rows (e.g. an empty chunk), on which Keras' predict fails: one zero row gives each
    # output's width, and [:0] keeps none of it.
    outs = [model.predict_on_batch(b) for b in batches or [np.zeros((1, *x.shape[1:]), x.dtype)]]
    rows = len(x)
    if isinstance(outs[0], (list, tuple)):
        return [np.concatenate([o[j] for o in outs])[:rows] for j in range(len(outs[0]))]
    return np.concatenate(outs)[:rows]


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
    skipped = [[a, b] for a, b in pairs if (a, b) not in usable]
    if skipped:
        log.warning(
            "encode.interpolate: pairs %s name classes the data lacks (its classes: %s), so "
            "they are not drawn; set encode.interpolate to pairs of those classes, or [] for none",
            skipped,
            sorted(present),
        )
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
    kind: str,
) -> dict[str, np.ndarray]:
    """Write ``latent.npz``: float32 codes (a variational kind's mean), labels, errors and
    report images. ``kind`` is the model's kind (its spec's ``kind``)."""
    # Imported here, not at the top: the figure rules read LATENT_KEYS and per_sample_bce from
    # this module and must not pay TensorFlow's import (seconds, 600 MB) for them.
    from . import kinds
    from .models import decoder_of, encoder_of
    from .training import load_model

    model = load_model(model_path, kind)
    variational = kinds.get(kind).variational
    dim = model.input_shape[-1]
    if data["x_train"].shape[1] != dim:
        raise AtlasError(
            f"{model_path} expects {dim} inputs but the data has {data['x_train'].shape[1]}: "
            "the model was trained on another dataset; delete it and rerun snakemake"
        )
    encoder, decoder = encoder_of(model), decoder_of(model)

    def codes(x: np.ndarray) -> np.ndarray:
        out = predict(encoder, x)
        return np.asarray(out[0] if variational else out, dtype=np.float32)

    def decode(z: np.ndarray) -> np.ndarray:
        return np.asarray(predict(decoder, z), np.float32)

    def encode_and_score(x_all: np.ndarray | NpzRows) -> tuple[np.ndarray, np.ndarray]:
        """Codes and per-image reconstruction errors in one pass over the images, chunk by
        chunk: only one chunk of images and of reconstructions is ever held."""
        zs, errs = [], []
        for x in row_chunks(x_all):
            z = codes(x)
            zs.append(z)
            errs.append(per_sample_bce(x, decode(z)))
        return np.concatenate(zs), np.concatenate(errs)

    z_train, errors_train = encode_and_score(data["x_train"])
    z_test, errors_test = encode_and_score(data["x_test"])
    samples = fixed_samples(data["y_test"], params["samples_per_class"])
    # The seed's anomaly-detection use: the test images the model reconstructs worst.
    worst = np.argsort(errors_test, kind="stable")[::-1][: params["worst"]].astype(np.int64)
    pairs, interp = interpolate(
        decode, z_train, data["y_train"], params["interpolate"], params["interpolation_steps"]
    )
    arrays = {
        "z_train": z_train,
        "z_test": z_test,
        "y_train": data["y_train"],
        "y_test": data["y_test"],
        "recon_error_train": errors_train,
        "recon_error_test": errors_test,
        "sample_index": samples,
        "sample_reconstruction": decode(z_test[samples]),
        "worst_index": worst,
        "worst_reconstruction": decode(z_test[worst]),
        "interp_pairs": pairs,
        "interp_images": interp,
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
