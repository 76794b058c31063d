"""One worker per SQLite database: a lock file beside the database, held with flock.

SQLite serializes its writers (BEGIN IMMEDIATE) and has no row locks to share out due work,
so a second worker would only queue behind the first, contend for the write lock with the web
server, and fire nothing the first would not. PostgreSQL needs no lock: its workers claim
disjoint cases (repositories.due_work). The operating system releases an flock when its
process ends, however it ends (kill -9 included), so a stopped worker leaves no stale lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.errors import ConflictError

LOCK_SUFFIX = ".worker.lock"


class WorkerAlreadyRunning(ConflictError):
    """Another worker holds the SQLite database's worker lock."""


def lock_path(url: str) -> Path | None:
    """The worker lock file of a SQLite database file; None for PostgreSQL or an in-memory
    database (no other process can reach it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + LOCK_SUFFIX)


@contextmanager
def one_worker(url: str) -> Iterator[Path | None]:
    """Hold the database's worker lock while the block runs (yields the lock file, None if
    the database needs none); WorkerAlreadyRunning if another process holds it."""
    path = lock_path(url)
    if path is None:
        yield None
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise WorkerAlreadyRunning(
                f"another worker (process {holder}) already runs on this SQLite database "
                f"(it holds {path}); SQLite takes one worker: stop it first, or run several "
                "workers on PostgreSQL", details={"lock": str(path), "process": holder}) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
