"""Send an entry script's stdout, stderr and the libraries' logging to the rule's log file.

The libraries' own progress output (openTSNE's and umap-learn's ``verbose``, pynndescent's) is
printed to stdout: in the log, ``tail -f`` on a long job's log answers "how far"."""

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
    """Redirect stdout and stderr (fds 1 and 2 too) and logging to ``path`` (append) while a
    rule's script runs.

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
    old_stderr, old_stdout = sys.stderr, sys.stdout
    saved_fd = saved_out = None
    if close:
        # Native libraries (TensorFlow's C++ logging, numba) write to fds 1 and 2 directly.
        sys.stderr.flush()
        sys.stdout.flush()
        saved_fd, saved_out = os.dup(2), os.dup(1)
        os.dup2(stream.fileno(), 2)
        os.dup2(stream.fileno(), 1)
        sys.stdout = stream
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
        sys.stderr, sys.stdout = old_stderr, old_stdout
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
        if saved_out is not None:
            os.dup2(saved_out, 1)
            os.close(saved_out)
        if close:
            stream.close()


class Progress:
    """Progress of a long loop in the job's log: "what: done/total (share), rate, time left",
    at most once every ``every`` seconds (default EVERY) and at the end, so a million-row job is
    never silent."""

    EVERY = 10.0

    def __init__(
        self, what: str, total: int, unit: str = "rows", every: float | None = None
    ) -> None:
        import time

        self.what, self.total, self.unit = what, max(int(total), 1), unit
        self.every = self.EVERY if every is None else every
        self._clock = time.perf_counter
        self.start = self.last = self._clock()

    def update(self, done: int) -> None:
        """Log if ``every`` seconds passed since the last line, or at the end."""
        now = self._clock()
        if done < self.total and now - self.last < self.every:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        left = (self.total - done) / rate if rate > 0 else float("inf")
        log.info(
            "%s: %d/%d %s (%.0f%%), %.0f %s/s, %.0f s left",
            self.what,
            done,
            self.total,
            self.unit,
            100.0 * done / self.total,
            rate,
            self.unit,
            left,
        )
