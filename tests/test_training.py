"""Training and encoding on digits: loss goes down, runs repeat exactly, kills resume cleanly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")
from conftest import ENCODE_PARAMS, kill_and_resume, run_train
from latent_atlas import encoding, training
from latent_atlas.errors import AtlasError


def make_spec(kind: str = "dense", epochs: int = 4, **kw) -> dict:
    base = {
        "kind": kind,
        "latent_dim": 8,
        "hidden": {"dense": [], "conv": [8, 16], "vae": [16]}[kind],
        "epochs": epochs,
        "batch_size": 128,
        "learning_rate": 0.01,
        "seed": 3,
        "validation": "test",
        "xla": "auto",
    }
    return {**base, **kw}


@pytest.mark.parametrize("kind", ["dense", "conv", "vae"])
def test_short_training_lowers_the_loss(tmp_path, digits, kind):
    hist = run_train(tmp_path, make_spec(kind, epochs=5), digits)
    assert list(hist.columns) == ["epoch", "loss", "val_loss", "seconds"]
    assert hist["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0]
    assert hist["val_loss"].iloc[-1] < hist["val_loss"].iloc[0]
    assert (tmp_path / "model.keras").is_file()
    assert not (tmp_path / ".resume").exists()  # a completed run leaves no checkpoint
    on_disk = pd.read_csv(tmp_path / "history.csv")
    pd.testing.assert_frame_equal(on_disk, hist, check_dtype=False)


def test_holdout_validation_split(digits):
    x, xv = training.validation_split(digits, 0.25, seed=1)
    assert len(xv) == round(0.25 * 1437)
    assert len(x) + len(xv) == 1437
    x2, xv2 = training.validation_split(digits, "test", seed=1)
    assert xv2 is digits["x_test"] and x2 is digits["x_train"]


def test_same_seed_same_weights(tmp_path, digits):
    spec = make_spec("vae", epochs=3)
    run_train(tmp_path / "a", spec, digits)
    run_train(tmp_path / "b", spec, digits)
    wa = training.load_model(tmp_path / "a/model.keras").get_weights()
    wb = training.load_model(tmp_path / "b/model.keras").get_weights()
    for a, b in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(a, b)


def test_stale_checkpoint_of_other_config_is_ignored(tmp_path, digits):
    class Stop(Exception):
        pass

    def stop_after_1(epoch: int, row: dict) -> None:
        raise Stop

    with pytest.raises(Stop):
        run_train(
            tmp_path, make_spec(epochs=3, learning_rate=0.02), digits, on_epoch_end=stop_after_1
        )
    assert (tmp_path / ".resume/state.json").is_file()
    hist = run_train(tmp_path, make_spec(epochs=2), digits)  # another config: starts over
    assert hist["epoch"].tolist() == [1, 2]


@pytest.mark.slow(reason="trains in three processes, one killed")
def test_resume_after_kill(tmp_path):
    """Train 3 epochs, SIGKILL after epoch 2, rerun: 3 epochs of history, no duplicates, and the
    same weights as a run that was never interrupted."""
    killed, clean = kill_and_resume(tmp_path, make_spec("dense", epochs=3))
    hist = pd.read_csv(killed / "history.csv")
    assert hist["epoch"].tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(
        hist.drop(columns="seconds"), pd.read_csv(clean / "history.csv").drop(columns="seconds")
    )
    wk = training.load_model(killed / "model.keras").get_weights()
    wc = training.load_model(clean / "model.keras").get_weights()
    for a, b in zip(wk, wc, strict=True):
        np.testing.assert_array_equal(a, b)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(AtlasError, match=r"model.keras: model file not found; run `snakemake"):
        training.load_model(tmp_path / "model.keras")


def test_corrupt_model_is_a_clear_error(tmp_path, dense_model):
    p = tmp_path / "model.keras"
    p.write_bytes(dense_model.read_bytes()[: dense_model.stat().st_size // 2])
    with pytest.raises(AtlasError, match=r"model.keras: not a loadable Keras model .*retrain"):
        training.load_model(p)


def test_diverging_training_names_the_fix(tmp_path, digits):
    bad = {k: v * np.float32(np.nan) if k == "x_train" else v for k, v in digits.items()}
    with pytest.raises(AtlasError, match="lower learning_rate"):
        run_train(tmp_path, make_spec(epochs=1), bad)


@pytest.mark.parametrize("kind", ["dense", "vae"])
def test_encode_writes_codes_and_report_images(tmp_path, digits, kind):
    run_train(tmp_path, make_spec(kind, epochs=2), digits)
    out = encoding.encode(
        tmp_path / "model.keras", digits, tmp_path / "latent.npz", ENCODE_PARAMS, kind
    )
    assert out["z_train"].shape == (1437, 8) and out["z_train"].dtype == np.float32
    assert out["z_test"].shape == (360, 8)
    assert out["recon_error_test"].shape == (360,)
    assert out["sample_index"].shape == (20,)
    assert out["sample_reconstruction"].shape == (20, 64)
    assert out["interp_images"].shape == (2, 5, 64)
    errs = out["recon_error_test"]
    assert errs[out["worst_index"]].tolist() == sorted(errs, reverse=True)[:3]
    assert out["worst_reconstruction"].shape == (3, 64)
    with np.load(tmp_path / "latent.npz", allow_pickle=False) as npz:
        assert set(encoding.LATENT_KEYS) <= set(npz.files)


def test_encode_rejects_model_of_other_dataset(tmp_path, digits, dense_model):
    other = {
        **digits,
        "x_train": np.zeros((5, 784), np.float32),
        "x_test": np.zeros((2, 784), np.float32),
    }
    with pytest.raises(AtlasError, match="expects 64 inputs but the data has 784"):
        encoding.encode(dense_model, other, tmp_path / "latent.npz", ENCODE_PARAMS, "dense")
    assert not (tmp_path / "latent.npz").exists()


def test_bce_matches_keras():
    import keras

    rng = np.random.default_rng(0)
    x = rng.random((4, 10), dtype=np.float32)
    p = rng.random((4, 10), dtype=np.float32)
    want = keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(x, p))
    np.testing.assert_allclose(encoding.per_sample_bce(x, p), want, rtol=1e-5)


def test_interpolation_pairs_the_data_lacks_are_named_in_the_log(caplog):
    """A user dataset's classes are known only once it is read: a pair naming a class it lacks
    is left out with a warning in the encode job's log naming the pair and the classes."""
    from latent_atlas.encoding import interpolate

    y = np.arange(30) % 3
    z = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    with caplog.at_level("WARNING"):
        pairs, lines = interpolate(lambda c: c, z, y, [[0, 1], [0, 99]], 4)
    assert pairs.tolist() == [[0, 1]] and lines.shape == (1, 4, 4)
    assert "[[0, 99]]" in caplog.text and "[0, 1, 2]" in caplog.text
