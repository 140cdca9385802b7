"""Sequence autoencoders: an image read as a sequence of rows (LSTM) or of patches (ViT-style).

Same contract as :mod:`latent_atlas.models`: a functional ``keras.Model`` named ``autoencoder``
nesting ``encoder`` and ``decoder`` sub-models, flattened pixels in and out, built-in layers
only (loads with ``safe_mode=True``). Any image size and channel count works: rows are LSTM
steps of ``cols * channels`` values; images are zero-padded to a whole number of patches for
the transformer and the padding is cropped off the reconstruction.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from .errors import AtlasError


def image_dims(image_shape: Sequence[int], channels: int, input_dim: int) -> tuple[int, int, int]:
    """(rows, cols, channels), checked against the flattened input size."""
    if len(image_shape) != 2:
        raise AtlasError(
            f"sequence models need image_shape (rows, cols), got {list(image_shape)}; "
            "vector datasets have no rows or patches: use kind dense, vae or aae"
        )
    rows, cols = (int(s) for s in image_shape)
    if rows * cols * int(channels) != input_dim:
        raise AtlasError(
            f"image_shape {rows}x{cols} x {channels} channel(s) != {input_dim} inputs; "
            "rebuild data.npz"
        )
    return rows, cols, int(channels)


def lstm_autoencoder(
    image_shape: Sequence[int],
    channels: int,
    latent_dim: int,
    hidden: Sequence[int],
) -> keras.Model:
    """Sequence autoencoder: LSTMs read the image row by row; the code is the last LSTM's final
    hidden state (``latent_dim`` units; its cell state is the layer's third output). The decoder
    repeats the code once per row and an LSTM stack (``hidden`` reversed, or one LSTM of
    ``latent_dim`` units when ``hidden`` is empty) emits each row's pixels.
    """
    rows, cols, ch = image_dims(image_shape, channels, _prod(image_shape) * channels)
    inp = keras.Input((rows * cols * ch,), name="pixels")
    x = layers.Reshape((rows, cols * ch), name="rows")(inp)
    for i, units in enumerate(hidden):
        x = layers.LSTM(units, return_sequences=True, name=f"enc_lstm_{i}")(x)
    _, h, _c = layers.LSTM(latent_dim, return_state=True, name="code_lstm")(x)
    encoder = keras.Model(inp, h, name="encoder")

    z = keras.Input((latent_dim,), name="z")
    y = layers.RepeatVector(rows, name="per_row")(z)
    for i, units in enumerate(list(reversed(hidden)) or [latent_dim]):
        y = layers.LSTM(units, return_sequences=True, name=f"dec_lstm_{i}")(y)
    y = layers.Dense(cols * ch, activation="sigmoid", name="reconstruction")(y)
    decoder = keras.Model(z, layers.Flatten(name="flat")(y), name="decoder")
    return keras.Model(inp, decoder(encoder(inp)), name="autoencoder")


def _prod(shape: Sequence[int]) -> int:
    out = 1
    for s in shape:
        out *= int(s)
    return out


def _block(x: keras.KerasTensor, heads: int, dim: int, name: str) -> keras.KerasTensor:
    """Pre-norm transformer block: x + MHA(LN(x)), then x + MLP(LN(x)) with a 2x GELU MLP."""
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ln1")(x)
    h = layers.MultiHeadAttention(heads, max(1, dim // heads), name=f"{name}_attention")(h, h)
    x = layers.Add(name=f"{name}_res1")([x, h])
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ln2")(x)
    h = layers.Dense(2 * dim, activation="gelu", name=f"{name}_mlp1")(h)
    h = layers.Dense(dim, name=f"{name}_mlp2")(h)
    return layers.Add(name=f"{name}_res2")([x, h])


def transformer_autoencoder(
    image_shape: Sequence[int],
    channels: int,
    latent_dim: int,
    dim: int,
    patch: int,
    blocks: int,
    heads: int,
) -> keras.Model:
    """ViT-style autoencoder: patches -> linear embedding + learned positions -> ``blocks``
    self-attention blocks -> mean-pooled tokens -> linear ``latent_dim`` code. The decoder
    expands the code to one token per patch (+ positions), runs one block and maps each token
    to its patch's pixels.

    The embedding is an ``EinsumDense`` with a bias per (token, feature): a shared linear map of
    the patch plus a learned position embedding, in one built-in layer.
    """
    rows, cols, ch = image_dims(image_shape, channels, _prod(image_shape) * channels)
    if patch < 1:
        raise AtlasError(f"transformer: patch_size must be >= 1, got {patch}")
    pr, pc = -(-rows // patch), -(-cols // patch)  # patches per column / row, padded
    tokens, pix = pr * pc, patch * patch * ch
    pad_r, pad_c = pr * patch - rows, pc * patch - cols

    inp = keras.Input((rows * cols * ch,), name="pixels")
    x = layers.Reshape((rows, cols, ch), name="image")(inp)
    if pad_r or pad_c:
        x = layers.ZeroPadding2D(((0, pad_r), (0, pad_c)), name="pad")(x)
    x = layers.Reshape((pr, patch, pc, patch, ch), name="split")(x)
    x = layers.Permute((1, 3, 2, 4, 5), name="patch_order")(x)
    x = layers.Reshape((tokens, pix), name="patches")(x)
    x = layers.EinsumDense("btp,pd->btd", (tokens, dim), bias_axes="td", name="embed")(x)
    for i in range(blocks):
        x = _block(x, heads, dim, f"enc_block_{i}")
    x = layers.LayerNormalization(epsilon=1e-6, name="enc_ln")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    code = layers.Dense(latent_dim, name="code")(x)
    encoder = keras.Model(inp, code, name="encoder")

    z = keras.Input((latent_dim,), name="z")
    y = layers.Dense(tokens * dim, name="expand")(z)
    y = layers.Reshape((tokens, dim), name="tokens")(y)
    y = layers.EinsumDense("btd,de->bte", (tokens, dim), bias_axes="te", name="positions")(y)
    y = _block(y, heads, dim, "dec_block_0")
    y = layers.LayerNormalization(epsilon=1e-6, name="dec_ln")(y)
    y = layers.Dense(pix, activation="sigmoid", name="reconstruction")(y)
    y = layers.Reshape((pr, pc, patch, patch, ch), name="unsplit")(y)
    y = layers.Permute((1, 3, 2, 4, 5), name="image_order")(y)
    y = layers.Reshape((pr * patch, pc * patch, ch), name="padded_image")(y)
    if pad_r or pad_c:
        y = layers.Cropping2D(((0, pad_r), (0, pad_c)), name="crop")(y)
    decoder = keras.Model(z, layers.Flatten(name="flat")(y), name="decoder")
    return keras.Model(inp, decoder(encoder(inp)), name="autoencoder")
