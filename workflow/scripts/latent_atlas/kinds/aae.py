"""aae: an adversarial autoencoder (Makhzani et al. 2016): a discriminator pushes the codes
towards N(0, I), so its decoder is a GAN generator; trained in alternating phases."""

from collections.abc import Mapping, Sequence
from typing import Any

from ._base import Kind


def build(spec: Mapping, input_dim: int, image_shape: Sequence[int], channels: int) -> Any:
    from ..models import adversarial_autoencoder

    return adversarial_autoencoder(
        input_dim, spec["latent_dim"], spec["hidden"], spec.get("discriminator", [256, 256])
    )


def epochs() -> type:
    from ..adversarial import AdversarialEpochs

    return AdversarialEpochs


KIND = Kind(
    name="aae",
    build=build,
    epochs=epochs,
    description="adversarial autoencoder",
    fields=("discriminator",),
    adversarial=True,
)
