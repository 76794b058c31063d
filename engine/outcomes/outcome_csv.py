"""Reading outcome files: events of the programme's clients, and matched comparison groups.

All or nothing: every problem is reported by line and column, and a file with any problem
gives no rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.errors import InvalidArgumentError
from engine.model import ComparisonEvent, ComparisonSubject
from engine.numbers import MAX_ID, parse_int
from engine.outcomes.outcome_measures import OUTCOME_NAME, iso_date
from engine.text import is_json, parse_json

RECONVICTION = "reconviction"
OTHER = "other"  # a file of other outcomes: each row names its outcome
IMPORT_KINDS = (RECONVICTION, OTHER)

RECONVICTION_COLUMNS = ("client", "offence_date", "conviction_date")
OTHER_COLUMNS = ("client", "outcome", "date", "value")
MATCHED_GROUP_COLUMNS = ("subject", "release_date", "offence_date", "conviction_date")

MAX_ENCODING_ERRORS = 100  # a file in another encoding has bad bytes on most lines

Cells = dict[str, str]
"""A data line: column name -> its text ({} when it has the wrong number of fields)."""


@dataclass(frozen=True)
class RowError:
    """What is wrong with one line of a file; column is the CSV column's name, or None for
    the line (or file) as a whole."""

    line: int
    column: str | None
    message: str


@dataclass(frozen=True)
class OutcomeRow:
    line: int
    client_id: int
    kind: str
    occurred_on: date
    recorded_on: date
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str, date, date]:
        return (self.client_id, self.kind, self.occurred_on, self.recorded_on)


@dataclass(frozen=True)
class ParseResult:
    """Rows, or (all or nothing) the errors: with any error there are no rows."""

    rows: list[OutcomeRow]
    errors: list[RowError]
    data_rows: int  # data lines in the file (blank lines not counted)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class GroupParseResult:
    subjects: list[ComparisonSubject]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors


def expected_columns(kind: str) -> tuple[str, ...]:
    if kind == RECONVICTION:
        return RECONVICTION_COLUMNS
    if kind == OTHER:
        return OTHER_COLUMNS
    raise InvalidArgumentError(
        f"unknown import kind {kind!r}: expected one of {', '.join(IMPORT_KINDS)}",
        details={"fields": {"kind": [f"must be one of {', '.join(IMPORT_KINDS)}"]}})


# -- outcome events --------------------------------------------------------------------------


def parse_outcome_csv(data: bytes, kind: str, known_clients: Iterable[int] | None,
                      extracted_on: date | None = None) -> ParseResult:
    """Parse an outcomes file, all or nothing.

    kind "reconviction": columns client,offence_date,conviction_date (one row per offence
    convicted); kind "other": client,outcome,date,value (outcome a lower_snake_case name,
    value optional: JSON if it parses, else text). Other columns are ignored; header names
    are not case-sensitive; a UTF-8 byte order mark is allowed. Every problem is reported
    by line and column: bytes that are not UTF-8 (with their byte offset), missing columns,
    dates that are not YYYY-MM-DD, client ids not in known_clients (None: any), a conviction
    before its offence, a row repeating an earlier one, an event recorded after the data's
    extraction date (extracted_on, when given).
    """
    columns = expected_columns(kind)
    errors: list[RowError] = []
    known = None if known_clients is None else frozenset(known_clients)
    raw, count = _rows(data, columns, errors)
    parse_event = _reconviction_event if kind == RECONVICTION else _other_event
    rows: list[OutcomeRow] = []
    seen: dict[tuple[int, str, date, date], int] = {}
    for line, cells in raw:
        if not cells:
            continue  # a wrong number of fields, reported already
        before = len(errors)
        client_id = _parse_client(cells["client"], known, line, errors)
        outcome, occurred, recorded, detail = parse_event(cells, line, extracted_on, errors)
        if len(errors) > before or client_id is None or occurred is None or recorded is None:
            continue
        row = OutcomeRow(line, client_id, outcome, occurred, recorded, detail)
        if row.key in seen:
            errors.append(RowError(line, None, f"duplicates line {seen[row.key]} (same client, "
                                               f"outcome and dates)"))
            continue
        seen[row.key] = line
        rows.append(row)
    errors.sort(key=lambda e: e.line)  # stable: a line's problems stay in column order
    return ParseResult(rows=[] if errors else rows, errors=errors, data_rows=count)


_Event = tuple[str, date | None, date | None, dict[str, Any]]
"""A line's outcome, the dates it occurred and was recorded on, and its detail."""


def _reconviction_event(cells: Cells, line: int, extracted_on: date | None,
                        errors: list[RowError]) -> _Event:
    occurred, recorded = _offence_and_conviction(cells["offence_date"],
                                                 cells["conviction_date"], line, errors)
    _after_extraction(recorded, extracted_on, line, "conviction_date", errors)
    return RECONVICTION, occurred, recorded, {"line": line}


def _other_event(cells: Cells, line: int, extracted_on: date | None,
                 errors: list[RowError]) -> _Event:
    outcome = cells["outcome"].strip()
    if not outcome:
        errors.append(RowError(line, "outcome", "is required"))
    elif not OUTCOME_NAME.match(outcome):
        errors.append(RowError(line, "outcome", (
            f"{outcome!r} is not an outcome name: lower_snake_case, e.g. "
            f"employment_sustained")))
    occurred = _parse_date(cells["date"], "date", line, errors)
    _after_extraction(occurred, extracted_on, line, "date", errors)
    return outcome, occurred, occurred, {"line": line,
                                         "value": _parse_value(cells["value"], line, errors)}


# -- matched comparison groups ---------------------------------------------------------------


def parse_matched_group_csv(data: bytes, group: str, kind: str = RECONVICTION,
                            extracted_on: date | None = None) -> GroupParseResult:
    """A matched comparison group, one row per event: subject,release_date,offence_date,
    conviction_date; a subject without events has one row with both event dates empty.
    Rows of one subject must give the same release date; no release or conviction may be
    after the data's extraction date (extracted_on, when given). All or nothing, like
    parse_outcome_csv."""
    errors: list[RowError] = []
    raw, _ = _rows(data, MATCHED_GROUP_COLUMNS, errors)
    releases: dict[str, tuple[date, int]] = {}
    events: dict[str, list[ComparisonEvent]] = {}
    seen: dict[tuple[str, date, date], int] = {}
    for line, cells in raw:
        row = _group_row(cells, line, extracted_on, errors) if cells else None
        if row is None:
            continue
        subject, release, event = row
        if subject in releases and releases[subject][0] != release:
            errors.append(RowError(line, "release_date", (
                f"subject {subject!r} has release date {releases[subject][0].isoformat()} "
                f"on line {releases[subject][1]}")))
            continue
        releases.setdefault(subject, (release, line))
        events.setdefault(subject, [])
        if event is None:
            continue
        key = (subject, event.occurred_on, event.recorded_on)
        if key in seen:
            errors.append(RowError(line, None, f"duplicates line {seen[key]}"))
            continue
        seen[key] = line
        events[subject].append(event)
    if errors:
        return GroupParseResult([], sorted(errors, key=lambda e: e.line))
    return GroupParseResult([
        ComparisonSubject(group=group, subject=name, kind=kind, release_date=release,
                          events=tuple(sorted(events[name], key=lambda e: (e.occurred_on,
                                                                           e.recorded_on))))
        for name, (release, _) in sorted(releases.items())], [])


def _group_row(cells: Cells, line: int, extracted_on: date | None, errors: list[RowError]
               ) -> tuple[str, date, ComparisonEvent | None] | None:
    """(subject, release date, the event if the line has one); None: the line is wrong."""
    subject = cells["subject"].strip()
    before = len(errors)
    if not subject:
        errors.append(RowError(line, "subject", "is required"))
    release = _parse_date(cells["release_date"], "release_date", line, errors)
    offence_text, conviction_text = (cells["offence_date"].strip(),
                                     cells["conviction_date"].strip())
    occurred = recorded = None
    if offence_text or conviction_text:
        occurred, recorded = _offence_and_conviction(offence_text, conviction_text, line,
                                                     errors)
    _after_extraction(release, extracted_on, line, "release_date", errors)
    _after_extraction(recorded, extracted_on, line, "conviction_date", errors)
    if len(errors) > before or release is None:
        return None
    event = (ComparisonEvent(occurred, recorded)
             if occurred is not None and recorded is not None else None)
    return subject, release, event


# -- lines and cells -------------------------------------------------------------------------


def _rows(data: bytes, columns: Sequence[str], errors: list[RowError]
          ) -> tuple[list[tuple[int, Cells]], int]:
    """The file's data rows as (line, {column: text}), after checking encoding and header."""
    encoding = _encoding_errors(data, columns)
    if encoding:
        errors.extend(encoding)
        return [], 0
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, Cells]] = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = _header(record, columns, line, errors)
                if header is None:
                    return [], 0
            elif len(record) != len(header):
                errors.append(RowError(line, None, (
                    f"{len(record)} field(s) where the header has {len(header)}")))
                rows.append((line, {}))
            else:
                rows.append((line, dict(zip(header, record, strict=True))))
    except csv.Error as err:
        errors.append(RowError(reader.line_num, None, f"not valid CSV: {err}"))
        return [], 0
    if header is None:
        errors.append(RowError(1, None, f"empty file: expected a header {','.join(columns)}"))
    elif not rows:
        errors.append(RowError(1, None, "no data rows after the header"))
    return rows, len(rows)


def _header(record: list[str], columns: Sequence[str], line: int, errors: list[RowError]
            ) -> list[str] | None:
    """The header's column names (None: it lacks some of columns, each reported)."""
    header = [cell.strip().lower() for cell in record]
    missing = [c for c in columns if c not in header]
    for name in missing:
        errors.append(RowError(line, name, (
            f"missing column {name!r}: the header must name {','.join(columns)}")))
    return None if missing else header


def _encoding_errors(data: bytes, columns: Sequence[str]) -> list[RowError]:
    """Every byte sequence that is not UTF-8 (up to MAX_ENCODING_ERRORS), located."""
    errors: list[RowError] = []
    position = 0
    while position < len(data) and len(errors) < MAX_ENCODING_ERRORS:
        try:
            data[position:].decode("utf-8")
            break
        except UnicodeDecodeError as err:
            offset = position + err.start
            line_start = data.rfind(b"\n", 0, offset) + 1
            line = data.count(b"\n", 0, offset) + 1
            index = data[line_start:offset].count(b",")
            column = columns[index] if line > 1 and index < len(columns) else None
            errors.append(RowError(line, column, (
                f"not UTF-8: byte 0x{data[offset]:02X} at byte offset {offset} "
                f"(save the file as UTF-8)")))
            position = position + max(err.end, err.start + 1)
    return errors


def _parse_date(text: str, column: str, line: int, errors: list[RowError]) -> date | None:
    value = text.strip()
    if not value:
        errors.append(RowError(line, column, "is required"))
        return None
    parsed = iso_date(value)
    if parsed is None:
        errors.append(RowError(line, column,
                               f"{value!r} is not a date: expected YYYY-MM-DD, e.g. 2024-03-31"))
    return parsed


def _offence_and_conviction(offence: str, conviction: str, line: int, errors: list[RowError]
                            ) -> tuple[date | None, date | None]:
    """The offence's and the conviction's dates; a conviction before its offence is wrong."""
    occurred = _parse_date(offence, "offence_date", line, errors)
    recorded = _parse_date(conviction, "conviction_date", line, errors)
    if occurred and recorded and recorded < occurred:
        errors.append(RowError(line, "conviction_date", (
            f"conviction {recorded.isoformat()} is before the offence "
            f"{occurred.isoformat()}")))
    return occurred, recorded


def _after_extraction(recorded: date | None, extracted_on: date | None, line: int,
                      column: str, errors: list[RowError]) -> None:
    """An event recorded after the data was extracted cannot be in the extract."""
    if recorded is not None and extracted_on is not None and recorded > extracted_on:
        errors.append(RowError(line, column, (
            f"{recorded.isoformat()} is after the data's extraction date "
            f"{extracted_on.isoformat()}: an extract cannot hold an event recorded after it "
            "was taken")))


def _parse_client(text: str, known_clients: Iterable[int] | None, line: int,
                  errors: list[RowError]) -> int | None:
    value = text.strip()
    if not value:
        errors.append(RowError(line, "client", "is required"))
        return None
    if not value.isdigit():
        errors.append(RowError(line, "client", f"{value!r} is not a client id (a whole number)"))
        return None
    try:  # bounded: a 40-digit id would reach the database, '²' is a digit but no number
        client_id = parse_int(value, field="client", minimum=1, maximum=MAX_ID)
    except InvalidArgumentError:
        errors.append(RowError(line, "client", f"{value[:30]!r} is not a client id (a whole "
                                               f"number from 1 to {MAX_ID})"))
        return None
    if known_clients is not None and client_id not in known_clients:
        errors.append(RowError(line, "client", f"no client {client_id}"))
        return None
    return client_id


def _parse_value(text: str, line: int, errors: list[RowError]) -> Any:
    value = text.strip()
    if not value:
        return None
    if not is_json(value):
        return value  # text
    try:  # the API's strict JSON: no NaN, 1e400, 5,000-digit integers or deep nesting
        return parse_json(value, field="value")
    except InvalidArgumentError as err:
        errors.append(RowError(line, "value", next(iter(err.details["fields"].values()))[0]))
        return None
