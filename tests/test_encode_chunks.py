"""encode works in chunks (bounded memory) and gives the very numbers of one big pass."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ENCODE_PARAMS

pytest.importorskip("tensorflow")
from latent_atlas import encoding
from latent_atlas.data import open_data
from latent_atlas.errors import AtlasError
from latent_atlas.io import NpzRows, save_npz


def test_chunked_encode_equals_one_pass(tmp_path, digits, dense_model, monkeypatch):
    model = dense_model
    monkeypatch.setattr(encoding, "PREDICT_BATCH", 128)
    monkeypatch.setattr(encoding, "CHUNK", 10**9)  # one pass, the way encode used to run
    whole = encoding.encode(model, digits, tmp_path / "whole.npz", ENCODE_PARAMS, "dense")
    monkeypatch.setattr(encoding, "CHUNK", 256)  # 1437 train rows: 6 chunks, the last partial
    parts = encoding.encode(model, digits, tmp_path / "parts.npz", ENCODE_PARAMS, "dense")
    for key in encoding.LATENT_KEYS:
        np.testing.assert_array_equal(parts[key], whole[key], err_msg=key)


def test_row_chunks_of_arrays_and_streams(tmp_path):
    x = np.arange(30, dtype=np.float32).reshape(10, 3) / 30
    np.savez_compressed(tmp_path / "d.npz", x_train=x)
    stream = NpzRows(tmp_path / "d.npz", "x_train")
    assert stream.shape == (10, 3) and len(stream) == 10
    for source in (x, stream):
        blocks = list(encoding.row_chunks(source, 4))
        assert [len(b) for b in blocks] == [4, 4, 2]
        np.testing.assert_array_equal(np.concatenate(blocks), x)


def test_streamed_encode_equals_in_memory(tmp_path, digits, dense_model):
    """encode over data.npz streamed from disk gives the numbers of the loaded arrays."""
    model = dense_model
    save_npz(tmp_path / "data.npz", digits)
    loaded = encoding.encode(model, digits, tmp_path / "a.npz", ENCODE_PARAMS, "dense")
    streamed = encoding.encode(
        model, open_data(tmp_path / "data.npz"), tmp_path / "b.npz", ENCODE_PARAMS, "dense"
    )
    for key in encoding.LATENT_KEYS:
        np.testing.assert_array_equal(streamed[key], loaded[key], err_msg=key)


def test_truncated_stream_names_the_file(tmp_path):
    x = np.random.default_rng(0).random((5000, 64), dtype=np.float32)
    np.save(tmp_path / "x_train.npy", x)
    import zipfile

    raw = (tmp_path / "x_train.npy").read_bytes()
    with zipfile.ZipFile(tmp_path / "d.npz", "w") as zf:  # stored, cut in the middle
        zf.writestr("x_train.npy", raw[: len(raw) // 2])
    stream = NpzRows(tmp_path / "d.npz", "x_train")
    with pytest.raises(AtlasError, match=r"d\.npz: x_train ends after .* rows \(truncated\)"):
        list(stream.chunks(1000))


def test_out_of_range_pixels_are_refused(tmp_path):
    np.savez_compressed(tmp_path / "d.npz", x_train=np.full((3, 2), 2.0, np.float32))
    with pytest.raises(AtlasError, match="outside \\[0, 1\\]"):
        list(encoding.row_chunks(NpzRows(tmp_path / "d.npz", "x_train")))


def test_missing_member_names_the_file(tmp_path):
    np.savez_compressed(tmp_path / "d.npz", y=np.zeros(3))
    with pytest.raises(AtlasError, match="cannot read 'x_train'"):
        NpzRows(tmp_path / "d.npz", "x_train")


def test_open_data_checks_what_load_data_checks(tmp_path, digits):
    bad = {**digits, "y_test": digits["y_test"][:-1]}
    np.savez_compressed(tmp_path / "d.npz", **bad)
    with pytest.raises(AtlasError, match=r"y_test .* does not match x_test"):
        open_data(tmp_path / "d.npz")
    np.savez_compressed(tmp_path / "d.npz", **{**digits, "x_test": digits["x_test"].astype(float)})
    with pytest.raises(AtlasError, match="x_test must be float32"):
        open_data(tmp_path / "d.npz")


@pytest.mark.parametrize("kind", ["dense", "conv", "vae", "aae", "lstm", "transformer"])
def test_batched_predict_equals_keras_predict(kind, monkeypatch):
    """encoding.predict (predict_on_batch per batch) gives Keras' predict numbers exactly, for
    every model kind, both halves, list outputs (the VAE's) and a partial last batch."""
    from latent_atlas import kinds, models

    monkeypatch.setattr(encoding, "PREDICT_BATCH", 64)
    spec = {"kind": kind, "latent_dim": 8, "hidden": [16] if kind != "conv" else [8, 16]}
    if kind == "transformer":
        spec |= {"patch_size": 4, "blocks": 1, "heads": 2}
    model = kinds.build_model(spec, 64, (8, 8))
    x = np.random.default_rng(0).random((150, 64), dtype=np.float32)
    enc, dec = models.encoder_of(model), models.decoder_of(model)
    for net, data in ((enc, x), (dec, np.random.default_rng(1).normal(size=(150, 8)))):
        want = net.predict(data.astype(np.float32), batch_size=64, verbose=0)
        got = encoding.predict(net, data.astype(np.float32))
        for w, g in zip(
            want if isinstance(want, list) else [want],
            got if isinstance(got, list) else [got],
            strict=True,
        ):
            np.testing.assert_array_equal(g, w)


def test_batched_predict_of_no_rows_has_the_output_shape():
    """No rows in, no rows out, with each output's width (a VAE with prior_samples: 0)."""
    from latent_atlas import kinds, models

    model = kinds.build_model({"kind": "vae", "latent_dim": 8, "hidden": [16]}, 64, (8, 8))
    codes = encoding.predict(models.encoder_of(model), np.zeros((0, 64), np.float32))
    assert [c.shape for c in codes] == [(0, 8), (0, 8)]
    images = encoding.predict(models.decoder_of(model), np.zeros((0, 8), np.float32))
    assert images.shape == (0, 64)
