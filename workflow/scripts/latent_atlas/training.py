"""Train an autoencoder fast, reproducibly, and resumably.

Why not ``Model.fit``: for models this small, Keras' per-step Python and ``tf.data`` overhead
costs more than the arithmetic. We run each epoch as one XLA-compiled loop over minibatches
(indices gathered per step from the data held as a tensor), which is several times faster on a
CPU (``bench/train.py`` measures it) with the same model, optimiser, loss, batch size and
per-epoch shuffling as the seed's ``fit``.

Reproducible and resumable: the shuffle of epoch ``e`` and the VAE's noise are derived from
``(seed, e)``, and after every epoch the model with its optimiser state is checkpointed outside
the rule's outputs. A killed job therefore resumes from its last finished epoch and ends with
the same weights as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from . import kinds
from .errors import AtlasError
from .io import atomic_open, atomic_path
from .models import decoder_of, encoder_of, graph_capabilities

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ["epoch", "loss", "val_loss", "seconds"]


def spec_fingerprint(spec: Mapping, data_shape: tuple[int, ...]) -> str:
    """Identify a training run so that a checkpoint of another config is never resumed."""
    blob = json.dumps({"spec": dict(spec), "data": list(data_shape)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def validation_split(
    data: Mapping[str, np.ndarray], validation: str | float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows): the test set as the seed does, or a seeded holdout."""
    x = data["x_train"]
    if validation == "test":
        return x, data["x_test"]
    frac = float(validation)
    n_val = max(1, round(frac * len(x)))
    order = np.random.default_rng([seed, 1]).permutation(len(x))
    return x[np.sort(order[n_val:])], x[np.sort(order[:n_val])]


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffle of one epoch, a function of (seed, epoch) alone: resumes repeat it exactly."""
    return np.random.default_rng([seed, 0, epoch]).permutation(n).astype(np.int32)


def use_xla(spec: Mapping) -> bool:
    """XLA-compile the epoch loop? ``auto``: yes for dense models, VAEs and AAEs (about 3x
    faster here), no for conv models, whose XLA CPU convolutions compile and run far slower than
    TensorFlow's oneDNN kernels (measured: minutes per epoch against 21 s on MNIST), and no for
    lstm and transformer (measured on MNIST, 2 cores: 13.7 s against 9.1 s per epoch for the
    LSTM, 16.3 s against 11.1 s for the transformer, same losses)."""
    setting = spec.get("xla", "auto")
    return kinds.get(spec["kind"]).xla if setting == "auto" else bool(setting)


def _compile(model: keras.Model, learning_rate: float) -> None:
    # Compiled so that model.save() stores the optimiser state with the weights (for resuming).
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")


class Checkpoint:
    """Per-epoch checkpoints in a folder outside the rule's outputs.

    ``state.json`` is the commit point: it names the model file of the last finished epoch and
    holds the history so far. It is written atomically after that model file, so a kill at any
    moment leaves a consistent checkpoint (or the previous one).
    """

    def __init__(self, folder: str | os.PathLike[str], fingerprint: str) -> None:
        self.dir = Path(folder)
        self.fingerprint = fingerprint
        self.state_file = self.dir / "state.json"

    def load(self) -> tuple[keras.Model, list[dict]] | None:
        """The checkpointed model and history, or None when there is none for this run."""
        if not self.state_file.is_file():
            return None
        try:
            state = json.loads(self.state_file.read_text())
            if state.get("fingerprint") != self.fingerprint:
                log.info("checkpoint in %s is from another config: starting over", self.dir)
                self.clear()
                return None
            model = keras.models.load_model(self.dir / state["model"], safe_mode=True)
        except Exception as exc:  # a damaged checkpoint costs the epochs, not the run
            log.warning("checkpoint in %s is unreadable (%s): starting over", self.dir, exc)
            self.clear()
            return None
        return model, list(state["history"])

    def save(self, model: keras.Model, history: list[dict]) -> None:
        """Checkpoint after epoch ``len(history)``; remove the previous epoch's model file."""
        self.dir.mkdir(parents=True, exist_ok=True)
        epoch = len(history)
        name = f"epoch-{epoch:04d}.keras"
        with atomic_path(self.dir / name, suffix=".keras") as tmp:
            model.save(tmp)
        state = {"fingerprint": self.fingerprint, "model": name, "history": history}
        with atomic_open(self.state_file, "w") as fh:
            json.dump(state, fh)
        for old in self.dir.glob("epoch-*.keras"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove the checkpoint folder (after a completed run, or when it is stale)."""
        shutil.rmtree(self.dir, ignore_errors=True)


def train(
    spec: Mapping,
    data: Mapping[str, np.ndarray],
    model_path: str | os.PathLike[str],
    history_path: str | os.PathLike[str],
    checkpoint_dir: str | os.PathLike[str],
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> pd.DataFrame:
    """Train the model ``spec`` describes on ``data``; write the model and its history.

    ``on_epoch_end(epoch, row)`` runs after each epoch's checkpoint is safely written.
    """
    x_train, x_val = validation_split(data, spec["validation"], spec["seed"])
    fingerprint = spec_fingerprint(spec, tuple(data["x_train"].shape))
    ckpt = Checkpoint(checkpoint_dir, fingerprint)
    restored = ckpt.load()
    if restored is not None:
        model, history = restored
        log.info("resuming from the checkpoint after epoch %d in %s", len(history), ckpt.dir)
    else:
        keras.utils.set_random_seed(spec["seed"])
        model = kinds.build_model(
            spec, data["x_train"].shape[1], data["image_shape"], int(data.get("channels", 1))
        )
        _compile(model, spec["learning_rate"])
        history = []
    log.info(
        "%s: %d weights; train on %d rows, validate on %d (%s), %d epochs, batch %d",
        spec["kind"],
        model.count_params(),
        len(x_train),
        len(x_val),
        spec["validation"],
        spec["epochs"],
        spec["batch_size"],
    )
    runner = kinds.get(spec["kind"]).epochs()(
        model, x_train, x_val, spec["batch_size"], use_xla(spec)
    )
    for epoch in range(len(history) + 1, spec["epochs"] + 1):
        start = time.perf_counter()
        perm = epoch_permutation(spec["seed"], epoch, len(x_train))
        loss = float(runner.train_epoch(tf.constant(perm), tf.constant(epoch, tf.int64)))
        val_loss = float(runner.val_loss())
        seconds = time.perf_counter() - start
        if not (math.isfinite(loss) and math.isfinite(val_loss)):
            raise AtlasError(
                f"training diverged at epoch {epoch} (loss {loss}, val_loss {val_loss}); "
                f"lower learning_rate (now {spec['learning_rate']})"
            )
        row = {"epoch": epoch, "loss": loss, "val_loss": val_loss, "seconds": seconds}
        history.append(row)
        log.info(
            "epoch %d/%d: loss %.5f val_loss %.5f (%.2f s)",
            epoch,
            spec["epochs"],
            loss,
            val_loss,
            seconds,
        )
        ckpt.save(model, history)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)
    frame = pd.DataFrame(history, columns=HISTORY_COLUMNS)
    with atomic_path(model_path, suffix=".keras") as tmp:
        model.save(tmp)
    with atomic_open(history_path, "w") as fh:
        frame.to_csv(fh, index=False)
    ckpt.clear()
    return frame


def check_kind(model: keras.Model, kind: kinds.Kind, path: str | os.PathLike[str]) -> None:
    """Refuse a model file whose graph is not what its kind declares (a file of another run)."""
    shown = graph_capabilities(model)
    declared = {name: bool(getattr(kind, name)) for name in shown}
    if shown != declared:
        differ = sorted(name for name in shown if shown[name] != declared[name])
        raise AtlasError(
            f"{path}: not a {kind.name} model (the graph disagrees on {', '.join(differ)}); "
            "delete it and rerun snakemake to retrain"
        )


def load_model(path: str | os.PathLike[str], kind: str | None = None) -> keras.Model:
    """Load a trained model with Keras' safe mode; name the file and the fix when it fails.
    With ``kind``, the graph must be what that kind declares (:func:`check_kind`)."""
    p = Path(path)
    if not p.is_file():
        raise AtlasError(f"{p}: model file not found; run `snakemake {p}` to train it")
    try:
        model = keras.models.load_model(p, safe_mode=True, compile=False)
    except Exception as exc:
        raise AtlasError(
            f"{p}: not a loadable Keras model ({type(exc).__name__}: {exc}); "
            f"delete it and rerun snakemake to retrain"
        ) from exc
    try:
        encoder_of(model)
        decoder_of(model)
    except ValueError:
        raise AtlasError(
            f"{p}: has no 'encoder'/'decoder' sub-models; not a latent-atlas model"
        ) from None
    if kind is not None:
        check_kind(model, kinds.get(kind), p)
    return model
