"""lstm: a sequence autoencoder reading the image row by row; the code is its final hidden
state."""

from collections.abc import Mapping, Sequence
from typing import Any

from ._base import Kind


def build(spec: Mapping, input_dim: int, image_shape: Sequence[int], channels: int) -> Any:
    from ..sequence_models import image_dims, lstm_autoencoder

    image_dims(image_shape, channels, input_dim)
    return lstm_autoencoder(image_shape, channels, spec["latent_dim"], spec["hidden"])


KIND = Kind(
    name="lstm",
    build=build,
    xla=False,  # 1.5x slower with XLA on MNIST (measured)
    description="LSTM sequence autoencoder",
    cell_state=True,
)
