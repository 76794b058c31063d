"""Where prometheus_client keeps the counts of several processes (adapters.metrics), checked
at start without loading prometheus_client: a command that only reads goes without it."""

from __future__ import annotations

import os

from engine.errors import InvalidArgumentError

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_VARIABLE) or None


def check_multiprocess_dir() -> None:
    """Refuse to start when PROMETHEUS_MULTIPROC_DIR names no directory this process can
    write: every count would fail (the engine would log each failure and go on)."""
    folder = multiprocess_dir()
    if folder is not None and not (os.path.isdir(folder) and os.access(folder, os.W_OK)):
        raise InvalidArgumentError(
            f"{MULTIPROCESS_VARIABLE} {folder!r} is not a directory this process can write "
            "(create it, empty, before the server starts)",
            details={"field": MULTIPROCESS_VARIABLE})
