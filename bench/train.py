"""Training speed: the seed tutorial's exact `Model.fit` against latent-atlas' trainer.

Both run in this one process, one after the other, on the same normalised MNIST (build it first
with `snakemake results/mnist/data.npz`), with the same model, optimiser, loss, epochs and batch
size. Prints seconds per epoch (total wall time / epochs, compilation included), the ratio and
both final val_losses.

    .venv/bin/python bench/train.py [--epochs 50] [--data results/mnist/data.npz] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import _markdown

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))


def seed_fit(x_train, x_test, epochs: int) -> tuple[float, float]:
    """The tutorial's code, verbatim apart from verbosity (seconds, final val_loss)."""
    from tensorflow.keras.layers import Dense, Input
    from tensorflow.keras.models import Model

    input_dim = x_train.shape[1]
    encoding_dim = 32
    input_layer = Input(shape=(input_dim,))
    encoded = Dense(encoding_dim, activation="relu")(input_layer)
    decoded = Dense(input_dim, activation="sigmoid")(encoded)
    autoencoder = Model(input_layer, decoded)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    start = time.perf_counter()
    hist = autoencoder.fit(
        x_train,
        x_train,
        epochs=epochs,
        batch_size=256,
        shuffle=True,
        validation_data=(x_test, x_test),
        verbose=0,
    )
    return time.perf_counter() - start, hist.history["val_loss"][-1]


def ours(data, epochs: int) -> tuple[float, float, float]:
    """latent-atlas' trainer as the train rule runs it (op determinism, checkpoints included)."""
    import tensorflow as tf
    from latent_atlas import training

    tf.config.experimental.enable_op_determinism()
    spec = {
        "kind": "dense",
        "latent_dim": 32,
        "hidden": [],
        "epochs": epochs,
        "batch_size": 256,
        "learning_rate": 0.001,
        "seed": 42,
        "validation": "test",
        "xla": "auto",
    }
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        hist = training.train(spec, data, f"{tmp}/model.keras", f"{tmp}/history.csv", f"{tmp}/ckpt")
        total = time.perf_counter() - start
    return total, float(hist["val_loss"].iloc[-1]), float(hist["seconds"].iloc[1:].median())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--data", default="results/mnist/data.npz")
    _markdown.add_argument(ap, "train")
    args = ap.parse_args()

    import tensorflow as tf
    from latent_atlas.data import load_data

    data = load_data(args.data)
    gpus = tf.config.list_physical_devices("GPU")
    setup = [
        f"TensorFlow {tf.__version__}; {os.cpu_count()} CPUs; GPU: {gpus or 'none'}",
        f"data {args.data}: train {data['x_train'].shape}, test {data['x_test'].shape}",
        f"epochs {args.epochs}, batch 256, Adam(1e-3), binary cross-entropy",
    ]
    print("\n".join(setup), flush=True)

    seed_s, seed_val = seed_fit(data["x_train"], data["x_test"], args.epochs)
    print(f"seed  Model.fit : {seed_s / args.epochs:7.3f} s/epoch  final val_loss {seed_val:.5f}")
    ours_s, ours_val, steady = ours(data, args.epochs)
    print(
        f"ours  trainer   : {ours_s / args.epochs:7.3f} s/epoch  final val_loss {ours_val:.5f}"
        f"  (steady state {steady:.3f} s/epoch)"
    )
    ratio = seed_s / ours_s
    rel = (ours_val - seed_val) / seed_val
    print(f"ratio (seed / ours): {ratio:.2f}x; val_loss difference {rel:+.2%}")
    if args.markdown:
        body = markdown_body(setup, args.epochs, (seed_s, seed_val), (ours_s, ours_val, steady))
        _markdown.write_block(args.markdown, "train", _markdown.block("Training speed", body))


def markdown_body(
    setup: list[str], epochs: int, seed: tuple[float, float], ours: tuple[float, float, float]
) -> list[str]:
    """The printed results as markdown: seconds per epoch and final val_loss of both sides."""
    (seed_s, seed_val), (ours_s, ours_val, steady) = seed, ours
    rows = [
        ["seed tutorial's `Model.fit`", f"{seed_s / epochs:.3f}", "—", f"{seed_val:.5f}"],
        ["latent-atlas' trainer", f"{ours_s / epochs:.3f}", f"{steady:.3f}", f"{ours_val:.5f}"],
    ]
    header = ["trainer", "s/epoch (wall / epochs)>", "s/epoch (steady)>", "final val_loss>"]
    return [
        "; ".join(setup) + ".",
        _markdown.table(header, rows),
        f"Wall, seed / ours: **{seed_s / ours_s:.2f}x**; final val_loss, ours against the "
        f"seed's: {(ours_val - seed_val) / seed_val:+.2%}.",
    ]


if __name__ == "__main__":
    main()
