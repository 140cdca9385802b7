"""Training step of the adversarial autoencoder (Makhzani et al. 2016), in two phases per batch.

1. Reconstruction: encoder and decoder take an Adam step on the reconstruction's binary
   cross-entropy (the same loss as the other autoencoders, so the histories compare).
2. Regularisation: the discriminator learns to tell N(0, I) samples (label 1) from the
   encoder's codes (label 0), and the encoder, as the GAN's generator, learns to make its codes
   pass as prior samples (non-saturating loss). Both take their step from the same batch.

One Adam optimiser holds the state of every weight (it is the model's optimiser, so checkpoints
and resumes carry it); phase 1 and phase 2 each apply it to their own weights. The prior samples
of batch j in epoch e are drawn from a stateless seed (seed, e, j): runs and resumes repeat.
The epoch loop itself is :class:`latent_atlas.training.Epochs`' (XLA-compiled while_loop).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .epochs import Epochs
from .models import decoder_of, encoder_of


def reconstruction_loss(
    model: keras.Model, x: tf.Tensor, noise_seed: tf.Tensor | None
) -> tf.Tensor:
    """Per-sample binary cross-entropy of decoder(encoder(x)), mean over pixels."""
    training = noise_seed is not None
    recon = decoder_of(model)(encoder_of(model)(x, training=training), training=training)
    return keras.losses.binary_crossentropy(x, recon)


class AdversarialEpochs(Epochs):
    """The epoch loop of :mod:`latent_atlas.training` with the two-phase AAE step."""

    per_sample_loss = staticmethod(reconstruction_loss)

    def __init__(self, model: keras.Model, *args: object, **kwargs: object) -> None:
        self.encoder = encoder_of(model)
        self.decoder = decoder_of(model)
        self.discriminator = model.get_layer("discriminator")
        if not model.optimizer.built:  # both phases' weights must be known to the optimiser
            model.optimizer.build(model.trainable_variables)
        super().__init__(model, *args, **kwargs)

    def _step(self, xb: tf.Tensor, noise_seed: tf.Tensor) -> tf.Tensor:
        enc, dec, disc = self.encoder, self.decoder, self.discriminator
        ae_weights = enc.trainable_variables + dec.trainable_variables
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(
                keras.losses.binary_crossentropy(xb, dec(enc(xb, training=True), training=True))
            )
        self.opt.apply(tape.gradient(loss, ae_weights), ae_weights)

        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        with tf.GradientTape(persistent=True) as tape:
            codes = enc(xb, training=True)
            prior = tf.random.stateless_normal(tf.shape(codes), seed=noise_seed)
            real, fake = disc(prior, training=True), disc(codes, training=True)
            d_loss = bce(tf.ones_like(real), real) + bce(tf.zeros_like(fake), fake)
            g_loss = bce(tf.ones_like(fake), fake)
        d_weights, g_weights = disc.trainable_variables, enc.trainable_variables
        grads = tape.gradient(d_loss, d_weights) + tape.gradient(g_loss, g_weights)
        del tape
        self.opt.apply(grads, d_weights + g_weights)
        return loss
