"""Send an entry script's stderr and the libraries' logging to the rule's log file."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

from .errors import AtlasError

log = logging.getLogger("latent_atlas")


@contextlib.contextmanager
def rule_log(path: str | os.PathLike[str] | None) -> Iterator[logging.Logger]:
    """Redirect stderr (fd 2 too) and logging to ``path`` (append) while a rule's script runs.

    A user-facing :class:`AtlasError` is logged as one clear line (no traceback) and re-raised
    so that Snakemake marks the job failed and shows the log. What is logged to
    ``latent_atlas.console`` (a result that is not what was asked) goes to the log and also to
    the console the job was started from, where the user sees it without opening the log.
    """
    if path is None:
        stream = sys.stderr
        close = False
    else:
        os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
        stream = open(path, "a", buffering=1)  # noqa: SIM115 - closed below
        close = True
    old_stderr = sys.stderr
    saved_fd = None
    if close:
        # Native libraries (TensorFlow's C++ logging, numba) write to fd 2 directly.
        sys.stderr.flush()
        saved_fd = os.dup(2)
        os.dup2(stream.fileno(), 2)
    sys.stderr = stream
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    console = logging.getLogger("latent_atlas.console")
    shown = None
    if saved_fd is not None:  # the console the job was started from
        shown = logging.StreamHandler(os.fdopen(os.dup(saved_fd), "w", buffering=1))
        shown.setFormatter(
            logging.Formatter(f"latent-atlas %(levelname)s (log: {os.fspath(path)}): %(message)s")
        )
        console.addHandler(shown)
    try:
        yield log
    except AtlasError as exc:
        log.error("%s", exc)
        raise
    except Exception:
        log.exception("rule script failed")
        raise
    finally:
        root.removeHandler(handler)
        if shown is not None:
            console.removeHandler(shown)
            shown.stream.close()
        sys.stderr = old_stderr
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
        if close:
            stream.close()
