"""dense: a fully connected autoencoder; ``hidden: []`` is the seed tutorial's 784-32-784."""

from collections.abc import Mapping, Sequence
from typing import Any

from ._base import Kind


def build(spec: Mapping, input_dim: int, image_shape: Sequence[int], channels: int) -> Any:
    from ..models import dense_autoencoder

    return dense_autoencoder(input_dim, spec["latent_dim"], spec["hidden"])


KIND = Kind(name="dense", build=build, description="fully connected autoencoder")
