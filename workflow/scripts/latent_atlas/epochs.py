"""The compiled training loop of the autoencoders: one epoch as one TensorFlow function, and the
validation loss. A model kind with another loss or step (the VAE's :class:`VariationalEpochs`,
the AAE's :mod:`latent_atlas.adversarial`) subclasses :class:`Epochs` and names it as its kind's
``epochs``: the kind, not the saved graph, says which loop a model trains with."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .models import decoder_of, encoder_of

EVAL_BATCH = 2048


def reconstruction_loss(
    model: keras.Model, x: tf.Tensor, noise_seed: tf.Tensor | None
) -> tf.Tensor:
    """BCE per sample (mean over pixels) of the model's reconstruction."""
    return keras.losses.binary_crossentropy(x, model(x, training=noise_seed is not None))


def negative_elbo(model: keras.Model, x: tf.Tensor, noise_seed: tf.Tensor | None) -> tf.Tensor:
    """Negative ELBO per sample of a VAE.

    z is sampled with the reparameterisation trick when ``noise_seed`` is given (training) and
    is the mean otherwise (validation), so validation loss is deterministic.
    """
    z_mean, z_log_var = encoder_of(model)(x, training=noise_seed is not None)
    z = z_mean
    if noise_seed is not None:
        eps = tf.random.stateless_normal(tf.shape(z_mean), seed=noise_seed)
        z = z_mean + tf.exp(0.5 * z_log_var) * eps
    recon = decoder_of(model)(z, training=noise_seed is not None)
    dim = tf.cast(tf.shape(x)[1], x.dtype)
    rec = keras.losses.binary_crossentropy(x, recon) * dim
    kl = -0.5 * tf.reduce_sum(1.0 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var), axis=1)
    return rec + kl


class Epochs:
    """The compiled epoch and validation functions for one model and one dataset.

    Subclasses replace ``per_sample_loss`` (:class:`VariationalEpochs`) or ``_step`` too
    (:mod:`latent_atlas.adversarial`); the choice is made once, in Python, by the model's kind.
    """

    per_sample_loss = staticmethod(reconstruction_loss)

    def __init__(
        self, model: keras.Model, x: np.ndarray, x_val: np.ndarray, batch: int, jit: bool
    ) -> None:
        self.model = model
        self.opt = model.optimizer
        self.x = tf.constant(x)
        self.x_val = tf.constant(x_val)
        self.n = len(x)
        self.batch = batch
        self.n_full = self.n // batch
        self.rest = self.n % batch
        self.train_epoch = tf.function(self._train_epoch, jit_compile=jit)
        self.val_loss = tf.function(self._val_loss, jit_compile=jit)

    def _step(self, xb: tf.Tensor, noise_seed: tf.Tensor) -> tf.Tensor:
        weights = self.model.trainable_variables
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(self.per_sample_loss(self.model, xb, noise_seed))
        self.opt.apply(tape.gradient(loss, weights), weights)
        return loss

    def _train_epoch(self, perm: tf.Tensor, epoch_seed: tf.Tensor) -> tf.Tensor:
        """One pass over the data in minibatches; returns the sample-weighted mean loss."""
        total = tf.constant(0.0)
        if self.n_full:
            idx = tf.reshape(perm[: self.n_full * self.batch], (self.n_full, self.batch))

            def body(j: tf.Tensor, acc: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                seed = tf.stack([epoch_seed, tf.cast(j, tf.int64)])
                loss = self._step(tf.gather(self.x, idx[j]), seed)
                return j + 1, acc + loss * self.batch

            _, total = tf.while_loop(lambda j, _: j < self.n_full, body, (0, total))
        if self.rest:
            seed = tf.stack([epoch_seed, tf.constant(self.n_full, tf.int64)])
            total += self._step(tf.gather(self.x, perm[self.n_full * self.batch :]), seed) * float(
                self.rest
            )
        return total / float(self.n)

    def _val_loss(self) -> tf.Tensor:
        parts = [
            tf.reduce_sum(self.per_sample_loss(self.model, self.x_val[i : i + EVAL_BATCH], None))
            for i in range(0, int(self.x_val.shape[0]), EVAL_BATCH)
        ]
        return tf.add_n(parts) / float(self.x_val.shape[0])


class VariationalEpochs(Epochs):
    """The epoch loop of a VAE: the same loop on the negative ELBO."""

    per_sample_loss = staticmethod(negative_elbo)
