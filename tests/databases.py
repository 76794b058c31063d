"""Opening a migrated database in a test: for the fixtures in the conftest files and for tests
that need a database of their own (one file, one backend, one module's worth)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from adapters.sql import make_engine, upgrade


@contextmanager
def migrated_engine(url: str) -> Iterator[Engine]:
    """An Engine on the database at url, brought to the newest revision first; disposed on
    leaving, so no test leaves connections open behind it."""
    upgrade(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
