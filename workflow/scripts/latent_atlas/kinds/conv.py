"""conv: strided conv encoder, transposed-conv decoder (``hidden`` = filters per layer)."""

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import AtlasError
from ._base import Kind


def build(spec: Mapping, input_dim: int, image_shape: Sequence[int], channels: int) -> Any:
    from ..models import conv_autoencoder

    if len(image_shape) != 2:
        raise AtlasError(
            f"conv model: the data has no image shape ({list(image_shape)}: vectors?); "
            "use a dense model"
        )
    if int(image_shape[0]) * int(image_shape[1]) * channels != input_dim:
        raise AtlasError(
            f"conv model: image_shape {list(image_shape)} x {channels} channel(s) "
            f"!= {input_dim} inputs"
        )
    return conv_autoencoder(image_shape, spec["latent_dim"], spec["hidden"], channels)


KIND = Kind(
    name="conv",
    build=build,
    xla=False,  # XLA's CPU convolutions are much slower than oneDNN's (measured)
    thread_dependent=True,  # its weights change with the thread count (tested)
    description="convolutional autoencoder",
)
