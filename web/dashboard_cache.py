"""What the dashboard computed, kept until the data changes (issue 12, item 9).

A dashboard page, each of its chart images and each CSV is a request of its own, and each
needs the same figures. They are computed once and kept, keyed by the data's revision (a
counter every commit that changes data adds one to, adapters.sql.unit_of_work), the
programme file's stamp, the disclosure threshold and the request's own choices (pathway,
outcome, split). A change to any of them is a new key: figures are never older than the
data they are shown with. The cache is small and per process; what it holds are aggregates
already under disclosure control, plus the notes the computation left on `g`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, g

from web.security import application

T = TypeVar("T")
SIZE = 16  # entries: a few pathways x outcomes x splits; each holds one pathway's figures
_NOTES = ("unloadable",)  # what a computation leaves on g for the page to say


class FigureCache:
    """A bounded, least-recently-used map from a key to computed figures."""

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[Any, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[Any, dict[str, Any]] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Any, notes: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = (value, notes)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def _cache() -> FigureCache:
    found: FigureCache | None = current_app.extensions.get("pathways_figures")
    if found is None:
        found = current_app.extensions.setdefault("pathways_figures", FigureCache())
    return found


def programme_stamp() -> tuple[int, int] | None:
    """The programme file's modification time and size (None: no file)."""
    path = Path(application().settings.definitions_dir) / "programmes" / "peterborough.yaml"
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


def revision_key() -> tuple[Any, ...]:
    """What every cached figure depends on besides the request's choices; read once per
    request (the revision first, so figures computed after it are never older)."""
    if "figures_key" not in g:
        application_ = application()
        g.figures_key = (application_.engine.data_revision(), programme_stamp(),
                         application_.settings.disclosure_threshold)
    key: tuple[Any, ...] = g.figures_key
    return key


def cached(name: str, choices: tuple[Hashable, ...], compute: Callable[[], T],
           aliases: Callable[[T], list[tuple[Hashable, ...]]] | None = None) -> T:
    """compute(), or what it gave for the same choices at the same revision; the notes it
    left on g come back with it. `aliases` names other choices that give the same value
    (e.g. no outcome named, and the outcome that is the default)."""
    key = (name, *revision_key(), *choices)
    found = _cache().get(key)
    if found is not None:
        value, notes = found
        for note, entries in notes.items():
            g.setdefault(note, {}).update(entries)
        result: T = value
        return result
    before = {note: dict(g.get(note, {})) for note in _NOTES}
    value = compute()
    notes = {note: {k: v for k, v in g.get(note, {}).items() if k not in before[note]}
             for note in _NOTES}
    _cache().put(key, value, notes)
    for other in aliases(value) if aliases is not None else ():
        if other != choices:
            _cache().put((name, *revision_key(), *other), value, notes)
    return value


def alongside(compute: Callable[[], T]) -> Callable[[], T]:
    """compute() started in another thread, while this one goes on; the returned function
    waits for its value (or raises what it raised). A cold dashboard page needs figures that
    read the database independently (the cohorts' results, a pathway's figures): side by
    side, the database works on one while Python works on the other. The thread sees this
    request's app and what it has put on g (the data's revision the figures are keyed by,
    the programme read), and the notes it leaves on g come back with its value."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    revision_key()  # read before the thread starts: both parts are keyed by one revision
    shared = dict(g.__dict__)

    def run() -> tuple[T, dict[str, dict[Any, Any]]]:
        with app.app_context():
            g.__dict__.update(shared)
            for note in _NOTES:
                g.pop(note, None)
            value = compute()
            return value, {note: dict(g.get(note, {})) for note in _NOTES}

    future: Future[tuple[T, dict[str, dict[Any, Any]]]] = _pool(app).submit(run)

    def result() -> T:
        value, notes = future.result()
        for note, entries in notes.items():
            if entries:
                g.setdefault(note, {}).update(entries)
        return value

    return result


def _pool(app: Flask) -> ThreadPoolExecutor:
    """The app's threads for figures computed alongside a request's own (a few: each one
    holds a database connection while it works)."""
    found: ThreadPoolExecutor | None = app.extensions.get("pathways_alongside")
    if found is None:
        found = app.extensions.setdefault(
            "pathways_alongside",
            ThreadPoolExecutor(max_workers=4, thread_name_prefix="pathways-figures"))
    return found
