"""Log lines: as Python writes them by default, or one JSON object per line for a log
pipeline (PATHWAYS_LOG_FORMAT=json), or text lines with the same context (=text).

Every line written under a request carries its context: `request_id` (the X-Request-ID the
request came with when it is well formed, else one made here; web/observability echoes it),
`user` (the signed-in username, or null) and `case` (the case the request concerns: the
case id in its address, else the first case a command of the request ran on; or null).
Lines outside a request (the CLI, the worker) have the same keys, null where unknown. Only
what the code puts in a message or in `extra={"fields": {...}}` is written: never a form,
a request body, a header or a query string.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, TextIO

from engine.errors import InvalidArgumentError

FORMATS = ("json", "text")
LEVELS = ("debug", "info", "warning", "error")
CONTEXT_KEYS = ("request_id", "user", "case")

_context: ContextVar[dict[str, Any] | None] = ContextVar("pathways_log_context", default=None)


def open_context(**fields: Any) -> Token[dict[str, Any] | None]:
    """A fresh context (request_id, user, case) for the lines written until
    close_context(token): a request's before and teardown hooks."""
    return _context.set({key: None for key in CONTEXT_KEYS} | fields)


def close_context(token: Token[dict[str, Any] | None]) -> None:
    try:
        _context.reset(token)
    except ValueError:  # opened in another context (a server that switched): just end it
        _context.set(None)


def context() -> dict[str, Any]:
    """The context of the lines written now: request_id, user and case (None if unknown)."""
    current = _context.get()
    return {key: (current or {}).get(key) for key in CONTEXT_KEYS}


def note(**fields: Any) -> None:
    """Set fields of the current context (nothing outside one)."""
    current = _context.get()
    if current is not None:
        current.update(fields)


def note_case(case_id: int | None) -> None:
    """The case a command ran on, kept as the context's case unless it has one already."""
    current = _context.get()
    if current is not None and current.get("case") is None and case_id is not None:
        current["case"] = case_id


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": _time(record), "level": record.levelname.lower(),
                                 "logger": record.name, "message": record.getMessage()}
        entry |= context()
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry |= fields
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextLines(logging.Formatter):
    """time level logger: message, then key=value for the context and extra fields set."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {**context(), **(getattr(record, "fields", None) or {})}
        tail = " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)
        line = f"{_time(record)} {record.levelname} {record.name}: {record.getMessage()}"
        line += f" [{tail}]" if tail else ""
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when the line is written (a test may swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        return None


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise InvalidArgumentError(f"PATHWAYS_LOG_FORMAT {name!r} is not one of "
                                   f"{', '.join(FORMATS)}",
                                   details={"field": "PATHWAYS_LOG_FORMAT"})
    return name


def check_level(name: str) -> str:
    if name not in LEVELS:
        raise InvalidArgumentError(f"PATHWAYS_LOG_LEVEL {name!r} is not one of "
                                   f"{', '.join(LEVELS)}",
                                   details={"field": "PATHWAYS_LOG_LEVEL"})
    return name


def from_environment(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """(format or None, level) from PATHWAYS_LOG_FORMAT and PATHWAYS_LOG_LEVEL, checked."""
    log_format = environ.get("PATHWAYS_LOG_FORMAT", "").strip().lower()
    level = environ.get("PATHWAYS_LOG_LEVEL", "").strip().lower() or "info"
    return (check_format(log_format) if log_format else None), check_level(level)


def configure(log_format: str | None, level: str = "info") -> logging.Handler | None:
    """Send every log line to stderr in the format (json or text) from `level` up; None
    leaves Python's logging as it is (warnings and errors on stderr, bare). Called again,
    it replaces the handler it installed before. Returns the handler installed."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StandardError)]:
        root.removeHandler(handler)
    if log_format is None:
        return None
    handler = _StandardError()
    handler.setFormatter(JsonLines() if log_format == "json" else TextLines())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
