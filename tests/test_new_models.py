"""The GAN (adversarial autoencoder), LSTM and Transformer latent spaces: builders' shapes and
sizes for grey and colour images of any size, training, determinism, resume, safe-mode files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")
from conftest import kill_and_resume, run_train  # noqa: E402
from latent_atlas import kinds, models, training  # noqa: E402
from latent_atlas.errors import AtlasError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SPECS = {
    "aae": {"kind": "aae", "latent_dim": 8, "hidden": [16], "discriminator": [12]},
    "lstm": {"kind": "lstm", "latent_dim": 8, "hidden": []},
    "transformer": {
        "kind": "transformer",
        "latent_dim": 8,
        "hidden": [16],
        "patch_size": 3,
        "blocks": 1,
        "heads": 2,
    },
}


def lstm_params(inp: int, units: int) -> int:
    return 4 * units * (inp + units + 1)


def block_params(d: int) -> int:
    ln, attention, mlp = 2 * d, 4 * d * d + 4 * d, d * 2 * d + 2 * d + 2 * d * d + d
    return 2 * ln + attention + mlp


# (kind, image_shape, channels, expected parameter count)
CASES = [
    # 64-16-8 encoder, 8-16-64 decoder, 8-12-1 discriminator (weights + biases)
    (
        "aae",
        (8, 8),
        1,
        (64 * 16 + 16 + 16 * 8 + 8) + (8 * 16 + 16 + 16 * 64 + 64) + (8 * 12 + 12 + 13),
    ),
    ("aae", (5, 7), 3, None),
    # encoder LSTM(8) over rows of 8 pixels; decoder LSTM(8) -> Dense(8) per row
    ("lstm", (8, 8), 1, lstm_params(8, 8) + lstm_params(8, 8) + 8 * 8 + 8),
    ("lstm", (5, 7), 3, lstm_params(21, 8) + lstm_params(8, 8) + 8 * 21 + 21),
    # 8x8 padded to 9x9 = 9 patches of 9 pixels, width 16
    (
        "transformer",
        (8, 8),
        1,
        (9 * 16 + 9 * 16)  # embedding + positions
        + block_params(16)
        + 2 * 16  # final layer norm
        + 16 * 8
        + 8  # code
        + (8 * 9 * 16 + 9 * 16)  # expand
        + (16 * 16 + 9 * 16)  # decoder positions
        + block_params(16)
        + 2 * 16
        + 16 * 9
        + 9,  # per-token pixels
    ),
    ("transformer", (5, 7), 3, None),
]


@pytest.mark.parametrize(("kind", "shape", "channels", "params"), CASES)
def test_builder_shapes_and_size(kind, shape, channels, params):
    dim = shape[0] * shape[1] * channels
    m = kinds.build_model(SPECS[kind], dim, shape, channels)
    assert m.input_shape == (None, dim)
    assert models.encoder_of(m).output_shape == (None, 8)
    assert models.decoder_of(m).output_shape == (None, dim)
    x = np.random.default_rng(0).random((3, dim), dtype=np.float32)
    recon = models.decoder_of(m)(models.encoder_of(m)(x))
    recon = keras.ops.convert_to_numpy(recon)
    assert recon.shape == (3, dim) and (recon >= 0).all() and (recon <= 1).all()
    assert models.graph_capabilities(m)["adversarial"] == (kind == "aae")
    assert kinds.get(kind).has_prior == (kind == "aae")
    if params is not None:
        assert m.count_params() == params


def test_lstm_code_is_the_final_hidden_state():
    m = kinds.build_model(SPECS["lstm"], 64, (8, 8))
    x = np.random.default_rng(0).random((2, 64), dtype=np.float32)
    layer = models.encoder_of(m).get_layer("code_lstm")
    _, h, _c = layer(x.reshape(2, 8, 8))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(models.encoder_of(m)(x)), keras.ops.convert_to_numpy(h)
    )


def test_transformer_reconstructs_every_pixel_in_place():
    """Patchify and unpatchify are inverse: the decoder's pixel order is the input's."""
    m = kinds.build_model({**SPECS["transformer"], "patch_size": 2}, 4 * 6 * 3, (4, 6), 3)
    enc = models.encoder_of(m)
    x = np.arange(72, dtype=np.float32)[None] / 72
    patches = keras.Model(enc.inputs, enc.get_layer("patches").output)
    p = keras.ops.convert_to_numpy(patches(x))[0]
    img = x.reshape(4, 6, 3)
    np.testing.assert_array_equal(p[1], img[0:2, 2:4].reshape(-1))  # second patch of row 0


def test_bad_transformer_settings_are_named():
    with pytest.raises(AtlasError, match="must divide by heads"):
        kinds.build_model({**SPECS["transformer"], "heads": 3}, 64, (8, 8))
    with pytest.raises(AtlasError, match="one number, the token width"):
        kinds.build_model({**SPECS["transformer"], "hidden": [16, 16]}, 64, (8, 8))
    with pytest.raises(AtlasError, match="need image_shape"):
        kinds.build_model(SPECS["lstm"], 64, (64,))


@pytest.mark.parametrize("kind", list(SPECS))
def test_safe_mode_round_trip(tmp_path, kind):
    m = kinds.build_model(SPECS[kind], 64, (8, 8))
    m.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    x = np.random.default_rng(1).random((2, 64), dtype=np.float32)
    for a, b in zip(m.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        models.encoder_of(m).predict(x, verbose=0), models.encoder_of(back).predict(x, verbose=0)
    )


def train_spec(kind: str, epochs: int = 4) -> dict:
    return {
        **SPECS[kind],
        "epochs": epochs,
        "batch_size": 128,
        "learning_rate": 0.005,
        "seed": 3,
        "validation": "test",
        "xla": "auto",
    }


@pytest.mark.slow(reason="trains each new kind twice")
@pytest.mark.parametrize("kind", list(SPECS))
def test_training_lowers_loss_and_repeats_exactly(tmp_path, digits, kind):
    spec = train_spec(kind)
    hist = run_train(tmp_path / "a", spec, digits)
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0]
    assert hist["val_loss"].iloc[-1] < hist["val_loss"].iloc[0]
    run_train(tmp_path / "b", spec, digits)
    wa = training.load_model(tmp_path / "a/model.keras").get_weights()
    wb = training.load_model(tmp_path / "b/model.keras").get_weights()
    for a, b in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow(reason="trains an AAE 30 epochs")
def test_aae_codes_stay_spread_and_near_the_prior(tmp_path, digits):
    """Codes neither collapse to a point nor drift away from N(0, I) (measured on digits:
    per-unit std 0.21, mean offset 0.37 after 30 epochs at learning rate 0.001; at 0.005 the
    adversarial game collapses the codes on this tiny set, a known GAN instability)."""
    run_train(tmp_path, {**train_spec("aae", epochs=30), "learning_rate": 0.001}, digits)
    m = training.load_model(tmp_path / "model.keras")
    z = models.encoder_of(m).predict(digits["x_train"], verbose=0)
    assert np.abs(z.mean(axis=0)).mean() < 1.0
    assert 0.05 < z.std(axis=0).mean() < 2.0


def test_colour_data_trains(tmp_path):
    rng = np.random.default_rng(0)
    d = {
        "x_train": rng.random((40, 5 * 7 * 3), dtype=np.float32),
        "y_train": (np.arange(40) % 4).astype(np.uint8),
        "x_test": rng.random((10, 5 * 7 * 3), dtype=np.float32),
        "y_test": (np.arange(10) % 4).astype(np.uint8),
        "image_shape": np.array([5, 7]),
        "channels": np.int64(3),
    }
    hist = run_train(tmp_path, {**train_spec("transformer", epochs=1), "batch_size": 16}, d)
    assert len(hist) == 1
    assert training.load_model(tmp_path / "model.keras").input_shape == (None, 105)


@pytest.mark.slow(reason="trains an AAE in three processes, one killed")
def test_aae_resumes_after_kill_with_identical_weights(tmp_path):
    """Discriminator, encoder, decoder and the shared optimiser state all survive a SIGKILL."""
    killed, clean = kill_and_resume(tmp_path, train_spec("aae", epochs=3))
    wk = training.load_model(killed / "model.keras").get_weights()
    wc = training.load_model(clean / "model.keras").get_weights()
    assert len(wk) == len(wc)
    for a, b in zip(wk, wc, strict=True):
        np.testing.assert_array_equal(a, b)


ENCODE_PARAMS = {
    "samples_per_class": 1,
    "worst": 2,
    "interpolate": [[1, 7]],
    "interpolation_steps": 3,
    "prior_samples": 2,
    "seed": 0,
}
USE_PARAMS = {"anomaly_class": 0, "fewshot_per_class": 5, "generated_samples": 30, "seed": 0}


@pytest.mark.slow(reason="trains two models per kind")
@pytest.mark.parametrize("kind", ["lstm", "aae"])
def test_use_inputs_of_a_new_kind(tmp_path, digits, kind):
    """Prior samples (N(0, I) for the AAE, a fitted Gaussian otherwise), the holdout model's
    test errors, and the LSTM's cell states; then every use's number."""
    from latent_atlas import encoding, uses

    spec = train_spec(kind, epochs=2)
    run_train(tmp_path / "full", spec, digits)
    held = uses.without_class(digits, 0)
    run_train(tmp_path / "held", spec, held)
    assert training.load_model(tmp_path / "held/model.keras") is not None
    latent = encoding.encode(
        tmp_path / "full/model.keras", digits, tmp_path / "latent.npz", ENCODE_PARAMS, kind
    )
    out = uses.use_inputs(
        tmp_path / "full/model.keras",
        tmp_path / "held/model.keras",
        latent,
        digits,
        USE_PARAMS,
        tmp_path / "uses.npz",
        kind,
    )
    assert out["generated"].shape == (30, 64)
    assert str(out["prior"]) == (
        "N(0, I) prior" if kind == "aae" else "Gaussian fitted to the training codes"
    )
    assert out["holdout_error_test"].shape == (360,)
    assert out["cell_train"].shape == ((1437, 8) if kind == "lstm" else (0, 0))
    back = uses.load_use_inputs(tmp_path / "uses.npz")
    judge = uses.fit_judge(digits, tmp_path / "judge.npz")
    values = uses.use_metrics(latent, back, judge, USE_PARAMS)
    assert 0.0 <= values["anomaly_auc"] <= 1.0
    assert ("linear_probe_acc_hidden_cell" in values) == (kind == "lstm")


@pytest.mark.parametrize("kind", ["aae", "dense"])
def test_generation_figure_shows_the_samples_the_uses_scored(tmp_path, digits, kind, monkeypatch):
    """The generation figure's N(0, I) row is the first of the uses' generated samples (the AAE
    has a prior, as the VAE has; the dense model has none, so no such row)."""
    from latent_atlas import encoding, plotting, uses

    spec = SPECS.get(kind, {"kind": kind, "latent_dim": 8, "hidden": [16]})
    kinds.build_model(spec, 64, (8, 8)).save(tmp_path / "model.keras")  # untrained will do
    latent = encoding.encode(
        tmp_path / "model.keras", digits, tmp_path / "l.npz", ENCODE_PARAMS, kind
    )
    uses.use_inputs(
        tmp_path / "model.keras", None, latent, digits, USE_PARAMS, tmp_path / "u.npz", kind
    )
    scored = uses.load_use_inputs(tmp_path / "u.npz")
    drawn = []

    def grid(rows: list, *args: object, **kw: object) -> object:
        drawn.append(rows)
        return plotting.plt.figure()

    monkeypatch.setattr(plotting, "image_grid", grid)
    history = pd.DataFrame({"epoch": [1], "loss": [1.0], "val_loss": [1.0]})
    shown = 2  # interpolation lines are 3 images wide (ENCODE_PARAMS): at most 3 are shown
    plotting.model_figures(
        history, latent, digits["x_test"], "t", use_inputs=scored, prior_samples=shown
    )
    label, images = drawn[-1][-1]  # the generation figure's last row
    if kind == "aae":
        assert bool(scored["from_prior"]) and str(scored["prior"]) == "N(0, I) prior"
        assert label == "N(0, I)"
        np.testing.assert_array_equal(images, scored["generated"][:shown])
    else:
        assert not bool(scored["from_prior"]) and label != "N(0, I)"
    plotting.plt.close("all")


THREADS_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {scripts!r})
from latent_atlas import tfsetup
tfsetup.configure({threads}, seed=5)
import numpy as np
from latent_atlas import data, training
d = data.digits_arrays(0.2, seed=0)
base = dict(epochs=2, batch_size=128, learning_rate=0.005, seed=5, validation="test", xla="auto")
specs = {{
    "dense": dict(kind="dense", latent_dim=8, hidden=[16]),
    "conv": dict(kind="conv", latent_dim=8, hidden=[8, 16]),
    "vae": dict(kind="vae", latent_dim=8, hidden=[16]),
    **{specs!r},
}}
for name, spec in specs.items():
    out = {tmp!r} + f"/{{name}}-{threads}"
    training.train({{**base, **spec}}, d, out + ".keras", out + ".csv", out + ".resume")
    weights = training.load_model(out + ".keras").get_weights()
    print(name, hashlib.sha256(b"".join(np.asarray(w).tobytes() for w in weights)).hexdigest())
"""


@pytest.mark.slow(reason="trains every kind on one and on two threads")
def test_trained_weights_do_not_depend_on_the_thread_count(tmp_path):
    """The rules give TensorFlow half the cores (one on a 2-core laptop): that is only safe if a
    kind trains to the very same weights on one thread as on two. Every kind does but conv
    (convolution kernels split their sums by thread), which keeps every core (tf_threads)."""
    procs = {  # both at once: the weights do not depend on what else runs
        threads: subprocess.Popen(
            [
                sys.executable,
                "-c",
                THREADS_SCRIPT.format(
                    scripts=str(REPO / "workflow" / "scripts"),
                    threads=threads,
                    specs=SPECS,
                    tmp=str(tmp_path),
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for threads in (1, 2)
    }
    runs = {}
    for threads, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        runs[threads] = dict(line.split() for line in out.splitlines() if line.strip())
    assert set(runs[1]) == {"dense", "conv", "vae", "aae", "lstm", "transformer"}
    assert {k: v for k, v in runs[1].items() if k != "conv"} == {
        k: v for k, v in runs[2].items() if k != "conv"
    }
    assert runs[1]["conv"] != runs[2]["conv"]  # why conv keeps its threads; if this ever
    # fails, TensorFlow's conv became thread-invariant and tf_threads can drop its exception
