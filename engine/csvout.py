"""The one CSV writer: every CSV the app writes (CLI exports, dashboard downloads) goes here.

A spreadsheet opening a CSV takes a text cell that starts with `=`, `+`, `-` or `@` (or a tab
or carriage return before one) for a formula, so a client's name or a form answer such as
`=HYPERLINK("http://x")` would run in the reader's spreadsheet (CSV or formula injection).
Text cells starting with any of those get a leading apostrophe, which spreadsheets show as
text. Numbers the app itself computed (int, float, Decimal) are written as numbers and never
changed, so a negative difference stays a number; only text is neutralised. RFC 4180: a
header row, quotes where needed, CRLF line ends.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# A cell a spreadsheet would read as a formula: text starting with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as the text of a CSV cell: None empty, booleans true/false, numbers as
    numbers, dates ISO 8601, lists and mappings as JSON, and text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return text_cell(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    return text_cell(str(value))


def text_cell(text: str) -> str:
    """Text with a leading apostrophe when a spreadsheet would take it for a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A header row and the rows, every value through `cell`."""
    return "".join(csv_chunks(header, rows))


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]], *, size: int = 16384
               ) -> Iterator[str]:
    """csv_text as it comes: the text of whole rows, about `size` characters at a time (an
    export of every case writes them as they are read, in constant memory)."""
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: quotes where needed, CRLF line ends
    writer.writerow([text_cell(str(name)) for name in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
        if out.tell() >= size:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def dict_csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows of mappings as CSV: `columns` (else the first row's keys) in that order; a key a
    row lacks is an empty cell."""
    header = list(columns) if columns is not None else list(rows[0]) if rows else []
    return csv_text(header, ([row.get(column) for column in header] for row in rows))
