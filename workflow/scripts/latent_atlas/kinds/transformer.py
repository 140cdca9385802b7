"""transformer: a ViT-style autoencoder (patches, self-attention, mean-pooled code)."""

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import AtlasError
from ._base import Kind


def build(spec: Mapping, input_dim: int, image_shape: Sequence[int], channels: int) -> Any:
    from ..sequence_models import image_dims, transformer_autoencoder

    image_dims(image_shape, channels, input_dim)
    hidden = list(spec.get("hidden") or [64])
    if len(hidden) != 1:
        raise AtlasError(
            f"transformer: hidden must be one number, the token width (e.g. [64]); got {hidden}"
        )
    heads = int(spec.get("heads", 4))
    if hidden[0] % heads:
        raise AtlasError(f"transformer: token width {hidden[0]} must divide by heads = {heads}")
    return transformer_autoencoder(
        image_shape,
        channels,
        spec["latent_dim"],
        hidden[0],
        int(spec.get("patch_size", 4)),
        int(spec.get("blocks", 2)),
        heads,
    )


KIND = Kind(
    name="transformer",
    build=build,
    xla=False,  # 1.5x slower with XLA on MNIST (measured)
    description="ViT-style transformer autoencoder",
    fields=("patch_size", "blocks", "heads"),
)
