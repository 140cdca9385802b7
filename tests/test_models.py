"""Model builders: shapes, parameter counts, safe-mode round trip."""

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from latent_atlas import kinds, models  # noqa: E402
from latent_atlas.errors import AtlasError  # noqa: E402


def spec(kind: str, latent: int = 32, hidden: list[int] | None = None) -> dict:
    return {"kind": kind, "latent_dim": latent, "hidden": hidden or []}


def test_seed_model_has_50992_weights():
    m = kinds.build_model(spec("dense"), 784, (28, 28))
    assert m.count_params() == 50_992
    assert [layer.name for layer in m.layers][1:] == ["encoder", "decoder"]
    assert models.encoder_of(m).output_shape == (None, 32)
    assert m.output_shape == (None, 784)


@pytest.mark.parametrize(
    ("kind", "hidden", "dim", "shape", "params"),
    [
        # 784-128-64-32 and mirror: weights + biases of six dense layers
        ("dense", [128, 64], 784, (28, 28), 100_480 + 8_256 + 2_080 + 2_112 + 8_320 + 101_136),
        ("dense", [], 64, (8, 8), 64 * 32 + 32 + 32 * 64 + 64),
        ("conv", [32, 64], 784, (28, 28), None),
        ("conv", [16, 32], 64, (8, 8), None),
        ("vae", [256], 784, (28, 28), None),
        ("vae", [16], 64, (8, 8), None),
    ],
)
def test_builders_take_input_size_from_data(kind, hidden, dim, shape, params):
    m = kinds.build_model(spec(kind, 32, hidden), dim, shape)
    assert m.input_shape == (None, dim)
    assert m.output_shape == (None, dim)
    out = m.predict(np.random.default_rng(0).random((3, dim), dtype=np.float32), verbose=0)
    assert out.shape == (3, dim)
    assert (out >= 0).all() and (out <= 1).all()
    if params is not None:
        assert m.count_params() == params
    enc = models.encoder_of(m)
    if kinds.get(kind).variational:
        assert [o.shape for o in enc.outputs] == [(None, 32), (None, 32)]
    else:
        assert enc.output_shape == (None, 32)


def test_conv_rejects_image_that_does_not_halve():
    with pytest.raises(AtlasError, match=r"must divide by 2\*\*len\(hidden\) = 8"):
        kinds.build_model(spec("conv", 8, [8, 8, 8]), 28 * 28, (28, 28))


def test_unknown_kind():
    with pytest.raises(AtlasError, match="unknown model kind"):
        kinds.build_model(spec("no-such-kind"), 64, (8, 8))


def test_safe_mode_round_trip(tmp_path: Path):
    m = kinds.build_model(spec("vae", 4, [8]), 64, (8, 8))
    m.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert models.graph_capabilities(back)["variational"]
    x = np.random.default_rng(1).random((2, 64), dtype=np.float32)
    np.testing.assert_array_equal(m.predict(x, verbose=0), back.predict(x, verbose=0))
