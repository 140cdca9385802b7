"""Model builders, one small function per kind, in the style of the Keras examples.

Every model is a plain functional ``keras.Model`` named ``autoencoder`` that nests two
sub-models, ``encoder`` and ``decoder``, so that it saves to one ``.keras`` file and loads back
with ``safe_mode=True`` (no custom classes, no lambdas). For the VAE the encoder returns
``[z_mean, z_log_var]``; the saved model reconstructs from ``z_mean`` and the reparameterisation
trick lives in the training step (:mod:`latent_atlas.training`), which keeps the file simple.
The adversarial autoencoder's model has a second output, the discriminator's logit for its own
code, so that the discriminator (and its optimiser state) travels in the same file.

Images arrive flattened as (rows, cols, channels) in C order; ``channels`` is 1 for grey data.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from .errors import AtlasError


def _dense_stack(x: keras.KerasTensor, sizes: Sequence[int], prefix: str) -> keras.KerasTensor:
    for i, units in enumerate(sizes):
        x = layers.Dense(units, activation="relu", name=f"{prefix}_{i}")(x)
    return x


def dense_autoencoder(input_dim: int, latent_dim: int, hidden: Sequence[int]) -> keras.Model:
    """input -> hidden (relu) -> latent (relu) -> mirrored hidden -> input (sigmoid).

    With ``hidden=[]`` and ``latent_dim=32`` this is exactly the seed tutorial's model.
    """
    inp = keras.Input((input_dim,), name="pixels")
    code = layers.Dense(latent_dim, activation="relu", name="code")(
        _dense_stack(inp, hidden, "enc")
    )
    encoder = keras.Model(inp, code, name="encoder")
    z = keras.Input((latent_dim,), name="z")
    out = layers.Dense(input_dim, activation="sigmoid", name="reconstruction")(
        _dense_stack(z, list(reversed(hidden)), "dec")
    )
    decoder = keras.Model(z, out, name="decoder")
    return keras.Model(inp, decoder(encoder(inp)), name="autoencoder")


def conv_autoencoder(
    image_shape: Sequence[int], latent_dim: int, filters: Sequence[int], channels: int = 1
) -> keras.Model:
    """Strided 3x3 convolutions down to a dense code, transposed convolutions back up.

    Each entry of ``filters`` halves the image side, so the side must divide by 2**len(filters).
    """
    rows, cols = (int(s) for s in image_shape)
    factor = 2 ** len(filters)
    if not filters or rows % factor or cols % factor:
        raise AtlasError(
            f"conv model: image {rows}x{cols} must divide by 2**len(hidden) = {factor} "
            f"(hidden = {list(filters)}); use fewer conv layers"
        )
    inp = keras.Input((rows * cols * channels,), name="pixels")
    x = layers.Reshape((rows, cols, channels))(inp)
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}")(x)
    x = layers.Flatten()(x)
    code = layers.Dense(latent_dim, activation="relu", name="code")(x)
    encoder = keras.Model(inp, code, name="encoder")

    z = keras.Input((latent_dim,), name="z")
    small = (rows // factor, cols // factor, filters[-1])
    y = layers.Dense(small[0] * small[1] * small[2], activation="relu", name="expand")(z)
    y = layers.Reshape(small)(y)
    for i, f in enumerate(reversed(filters)):
        y = layers.Conv2DTranspose(
            f, 3, strides=2, padding="same", activation="relu", name=f"deconv_{i}"
        )(y)
    y = layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name="reconstruction")(y)
    decoder = keras.Model(z, layers.Flatten()(y), name="decoder")
    return keras.Model(inp, decoder(encoder(inp)), name="autoencoder")


def vae(input_dim: int, latent_dim: int, hidden: Sequence[int]) -> keras.Model:
    """Dense VAE: the encoder gives mean and log-variance; the saved model decodes the mean."""
    inp = keras.Input((input_dim,), name="pixels")
    h = _dense_stack(inp, hidden, "enc")
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    encoder = keras.Model(inp, [z_mean, z_log_var], name="encoder")
    z = keras.Input((latent_dim,), name="z")
    out = layers.Dense(input_dim, activation="sigmoid", name="reconstruction")(
        _dense_stack(z, list(reversed(hidden)), "dec")
    )
    decoder = keras.Model(z, out, name="decoder")
    return keras.Model(inp, decoder(encoder(inp)[0]), name="autoencoder")


def adversarial_autoencoder(
    input_dim: int, latent_dim: int, hidden: Sequence[int], critic: Sequence[int]
) -> keras.Model:
    """Adversarial autoencoder (Makhzani et al. 2016): a dense autoencoder with a linear code,
    plus a discriminator (``critic`` hidden units, one logit) that tells codes from N(0, I)
    samples. Training pushes the codes towards the prior, so the decoder is a generator.

    The model's outputs are [reconstruction, discriminator logit of the code].
    """
    inp = keras.Input((input_dim,), name="pixels")
    code = layers.Dense(latent_dim, name="code")(_dense_stack(inp, hidden, "enc"))
    encoder = keras.Model(inp, code, name="encoder")
    z = keras.Input((latent_dim,), name="z")
    out = layers.Dense(input_dim, activation="sigmoid", name="reconstruction")(
        _dense_stack(z, list(reversed(hidden)), "dec")
    )
    decoder = keras.Model(z, out, name="decoder")
    zd = keras.Input((latent_dim,), name="z")
    logit = layers.Dense(1, name="logit")(_dense_stack(zd, critic, "critic"))
    discriminator = keras.Model(zd, logit, name="discriminator")
    codes = encoder(inp)
    return keras.Model(inp, [decoder(codes), discriminator(codes)], name="autoencoder")


def encoder_of(model: keras.Model) -> keras.Model:
    """The encoder sub-model (for a VAE it returns [z_mean, z_log_var])."""
    return model.get_layer("encoder")


def decoder_of(model: keras.Model) -> keras.Model:
    """The decoder sub-model, z -> flattened image in [0, 1]."""
    return model.get_layer("decoder")


def graph_capabilities(model: keras.Model) -> dict[str, bool]:
    """The capabilities of :class:`latent_atlas.kinds.Kind` as the saved graph shows them. For
    checks only: every rule asks the model's kind, which declares them."""
    encoder = encoder_of(model)
    return {
        "variational": len(encoder.outputs) == 2,
        "adversarial": any(layer.name == "discriminator" for layer in model.layers),
        "cell_state": any(layer.name == "code_lstm" for layer in encoder.layers),
    }
