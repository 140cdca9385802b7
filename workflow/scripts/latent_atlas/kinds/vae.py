"""vae: a dense variational autoencoder; its maps use the mean code."""

from collections.abc import Mapping, Sequence
from typing import Any

from ._base import Kind


def build(spec: Mapping, input_dim: int, image_shape: Sequence[int], channels: int) -> Any:
    from ..models import vae

    return vae(input_dim, spec["latent_dim"], spec["hidden"])


def epochs() -> type:
    from ..epochs import VariationalEpochs

    return VariationalEpochs


KIND = Kind(
    name="vae", build=build, epochs=epochs, description="variational autoencoder", variational=True
)
