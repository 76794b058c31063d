"""Records as plain JSON-ready values: what the access log, exports and the API write."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any


def to_plain(value: Any) -> Any:
    """Dataclasses as dicts, dates and datetimes as ISO 8601 text, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value
