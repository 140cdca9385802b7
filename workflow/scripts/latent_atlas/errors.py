"""One exception type for bad input, so that entry scripts can print a clean message."""


class AtlasError(Exception):
    """A user-facing error: names the file or setting at fault and how to fix it."""
