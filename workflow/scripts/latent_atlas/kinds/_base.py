"""What a model kind declares (see :mod:`latent_atlas.kinds`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def plain_epochs() -> type:
    """The ordinary training loop (reconstruction loss)."""
    from ..epochs import Epochs

    return Epochs


# The ``models:`` keys every kind reads; a kind's own keys are its ``fields``.
SHARED_FIELDS = (
    "kind", "latent_dim", "hidden", "epochs", "batch_size", "learning_rate", "seed", "validation",
    "xla",
)  # fmt: skip


@dataclass(frozen=True)
class Kind:
    """One model kind (the ``kind:`` of a ``models:`` entry).

    ``build(spec, input_dim, image_shape, channels)`` returns the Keras autoencoder (an
    ``encoder`` and a ``decoder`` sub-model; TensorFlow is imported inside it, so the planning
    never loads it). ``epochs()`` returns its training loop class. ``xla`` is what ``xla: auto``
    means for it (measured per kind). ``thread_dependent`` kinds give other weights on another
    thread count: their jobs keep every core (up to the rule's most) so that results stay those
    of earlier runs on the same machine; the others take half the cores. ``fields`` are the
    ``models:`` keys of its own (the transformer's ``heads``): only its models' jobs get them, so
    a field added for one kind reruns no other kind's jobs.

    Its capabilities are declared here, and every rule asks them of the kind (the rules that
    need one get the kind's name as a param), never of the saved Keras graph: ``variational``
    encoders give [z_mean, z_log_var] (the codes are the mean); ``adversarial`` models carry a
    discriminator; ``cell_state`` encoders end in an LSTM whose final cell state the uses probe
    as a second code. :attr:`has_prior` follows from them.
    """

    name: str
    build: Callable[[Mapping, int, Sequence[int], int], Any]
    epochs: Callable[[], type] = plain_epochs
    xla: bool = True
    thread_dependent: bool = False
    description: str = ""
    variational: bool = False
    adversarial: bool = False
    cell_state: bool = False
    fields: tuple[str, ...] = ()  # the spec's keys that only this kind reads (SHARED_FIELDS: all)

    @property
    def has_prior(self) -> bool:
        """The codes were trained towards N(0, I), so decoding prior samples generates."""
        return self.variational or self.adversarial
