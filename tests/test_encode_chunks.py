"""encode works in chunks (bounded memory) and gives the very numbers of one big pass."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
from latent_atlas import encoding
from test_training import ENCODE_PARAMS, digits, make_spec, run_train  # noqa: F401 (fixture)


def test_chunked_encode_equals_one_pass(tmp_path, digits, monkeypatch):  # noqa: F811
    run_train(tmp_path, make_spec("dense", epochs=1), digits)
    model = tmp_path / "model.keras"
    monkeypatch.setattr(encoding, "PREDICT_BATCH", 128)
    monkeypatch.setattr(encoding, "CHUNK", 10**9)  # one pass, the way encode used to run
    whole = encoding.encode(model, digits, tmp_path / "whole.npz", ENCODE_PARAMS)
    monkeypatch.setattr(encoding, "CHUNK", 256)  # 1437 train rows: 6 chunks, the last partial
    parts = encoding.encode(model, digits, tmp_path / "parts.npz", ENCODE_PARAMS)
    for key in encoding.LATENT_KEYS:
        np.testing.assert_array_equal(parts[key], whole[key], err_msg=key)


def test_chunked_applies_per_chunk():
    x = np.arange(10)
    seen = []
    out = encoding.chunked(lambda rows: seen.append(len(rows)) or rows * 2, x, 4)
    assert seen == [4, 4, 2]
    np.testing.assert_array_equal(out, x * 2)
