"""TensorFlow set-up shared by the rules that need it (train, encode): threads and determinism.

Must run before TensorFlow executes its first op; importing this module does not import TF.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def configure(threads: int, seed: int | None = None, deterministic: bool = True) -> None:
    """Quiet TF's C++ logging, pin its thread pools to ``threads`` and seed everything.

    Determinism: ``keras.utils.set_random_seed`` seeds Python, NumPy and TF;
    ``enable_op_determinism`` makes TF pick deterministic kernels. Results then repeat exactly
    on the same machine, software and thread count, not across CPU types or thread counts
    (reduction order changes with both).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    except RuntimeError:  # TF already initialised (e.g. a second call in one test process)
        log.debug("TensorFlow already initialised; thread settings unchanged")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    gpus = tf.config.list_physical_devices("GPU")
    log.info(
        "TensorFlow %s, Keras %s, threads %d, %s",
        tf.__version__,
        keras.__version__,
        threads,
        f"GPU: {[g.name for g in gpus]}" if gpus else "no GPU visible (CPU)",
    )
