"""Outcomes: events imported from outside or recorded by pathway steps, cohorts, measures.

Pure rules first (parsing an outcomes CSV, selecting a cohort, counting a measure within
its windows), then the `Outcomes` service that stores imports through the ports.

The Peterborough measure (see the domain notes): reconviction events for offences committed
within 12 months of release and convicted within those 12 months or 6 months after, counted
per 100 people. Windows run from the start date (the release date) to the same day
`window_months` later, that day excluded: released 2024-01-15, an offence on 2025-01-14 counts
and one on 2025-01-15 does not; a conviction on 2025-07-14 counts, on 2025-07-15 it does not.
A month later than the end of a shorter month ends on its last day (31 Aug + 6 months = 28/29
Feb). An event before the start date never counts.

A frequency measure counts events per 100 people, an event being a distinct date on which
the outcome was recorded for the person: for reconvictions, a court appearance ending in a
conviction, however many offences it convicted. A binary measure counts the people with at
least one event, as a percentage.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal, get_args

from engine.errors import ConflictError, InvalidArgumentError
from engine.model import (
    Client,
    ComparisonEvent,
    ComparisonRate,
    ComparisonSubject,
    OutcomeEvent,
    OutcomeImport,
)
from engine.numbers import MAX_ID, parse_int
from engine.ports import Clock, UnitOfWork, UnitOfWorkFactory
from engine.text import is_json, parse_json

RECONVICTION = "reconviction"
OTHER = "other"  # a file of other outcomes: each row names its outcome
IMPORT_KINDS = (RECONVICTION, OTHER)

RECONVICTION_COLUMNS = ("client", "offence_date", "conviction_date")
OTHER_COLUMNS = ("client", "outcome", "date", "value")
MATCHED_GROUP_COLUMNS = ("subject", "release_date", "offence_date", "conviction_date")

MeasureType = Literal["binary", "frequency"]
MEASURE_TYPES: tuple[str, ...] = get_args(MeasureType)
# Which way an outcome is good news: more people with it (housed, employed) or fewer
# (reconvicted). Exports that count "positive" outcomes (INDIGO) read it.
Direction = Literal["higher_is_better", "lower_is_better"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)
WINDOW_STARTS = ("release", "enrolment")  # the client field <start>_date the window runs from

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_ENCODING_ERRORS = 100  # a file in another encoding has bad bytes on most lines

Progress = Callable[[int, int], None]


# -- parsing -------------------------------------------------------------------------------


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


def expected_columns(kind: str) -> tuple[str, ...]:
    if kind == RECONVICTION:
        return RECONVICTION_COLUMNS
    if kind == OTHER:
        return OTHER_COLUMNS
    raise InvalidArgumentError(
        f"unknown import kind {kind!r}: expected one of {', '.join(IMPORT_KINDS)}",
        details={"fields": {"kind": [f"must be one of {', '.join(IMPORT_KINDS)}"]}})


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
    if _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.append(RowError(line, column,
                           f"{value!r} is not a date: expected YYYY-MM-DD, e.g. 2024-03-31"))
    return None


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


def _rows(data: bytes, columns: Sequence[str], errors: list[RowError]
          ) -> tuple[list[tuple[int, dict[str, str]]], int]:
    """The file's data rows as (line, {column: text}), after checking encoding and header."""
    encoding = _encoding_errors(data, columns)
    if encoding:
        errors.extend(encoding)
        return [], 0
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                missing = [c for c in columns if c not in header]
                for name in missing:
                    errors.append(RowError(line, name, (
                        f"missing column {name!r}: the header must name "
                        f"{','.join(columns)}")))
                if missing:
                    return [], 0
                continue
            if len(record) != len(header):
                errors.append(RowError(line, None, (
                    f"{len(record)} field(s) where the header has {len(header)}")))
                rows.append((line, {}))
                continue
            rows.append((line, dict(zip(header, record, strict=True))))
    except csv.Error as err:
        errors.append(RowError(reader.line_num, None, f"not valid CSV: {err}"))
        return [], 0
    if header is None:
        errors.append(RowError(1, None, f"empty file: expected a header {','.join(columns)}"))
    elif not rows:
        errors.append(RowError(1, None, "no data rows after the header"))
    return rows, len(rows)


def _after_extraction(recorded: date | None, extracted_on: date | None, line: int,
                      column: str, errors: list[RowError]) -> None:
    """An event recorded after the data was extracted cannot be in the extract."""
    if recorded is not None and extracted_on is not None and recorded > extracted_on:
        errors.append(RowError(line, column, (
            f"{recorded.isoformat()} is after the data's extraction date "
            f"{extracted_on.isoformat()}: an extract cannot hold an event recorded after it "
            "was taken")))


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
    rows: list[OutcomeRow] = []
    seen: dict[tuple[int, str, date, date], int] = {}
    for line, cells in raw:
        if not cells:
            continue  # a wrong number of fields, reported already
        before = len(errors)
        client_id = _parse_client(cells["client"], known, line, errors)
        if kind == RECONVICTION:
            occurred = _parse_date(cells["offence_date"], "offence_date", line, errors)
            recorded = _parse_date(cells["conviction_date"], "conviction_date", line, errors)
            outcome = RECONVICTION
            detail: dict[str, Any] = {"line": line}
            if occurred and recorded and recorded < occurred:
                errors.append(RowError(line, "conviction_date", (
                    f"conviction {recorded.isoformat()} is before the offence "
                    f"{occurred.isoformat()}")))
            _after_extraction(recorded, extracted_on, line, "conviction_date", errors)
        else:
            outcome = cells["outcome"].strip()
            if not outcome:
                errors.append(RowError(line, "outcome", "is required"))
            elif not _NAME.match(outcome):
                errors.append(RowError(line, "outcome", (
                    f"{outcome!r} is not an outcome name: lower_snake_case, e.g. "
                    f"employment_sustained")))
            occurred = recorded = _parse_date(cells["date"], "date", line, errors)
            _after_extraction(recorded, extracted_on, line, "date", errors)
            detail = {"line": line, "value": _parse_value(cells["value"], line, errors)}
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


@dataclass(frozen=True)
class GroupParseResult:
    subjects: list[ComparisonSubject]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors


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
        if not cells:
            continue
        subject = cells["subject"].strip()
        before = len(errors)
        if not subject:
            errors.append(RowError(line, "subject", "is required"))
        release = _parse_date(cells["release_date"], "release_date", line, errors)
        offence_text, conviction_text = (cells["offence_date"].strip(),
                                         cells["conviction_date"].strip())
        occurred = recorded = None
        if offence_text or conviction_text:
            occurred = _parse_date(offence_text, "offence_date", line, errors)
            recorded = _parse_date(conviction_text, "conviction_date", line, errors)
            if occurred and recorded and recorded < occurred:
                errors.append(RowError(line, "conviction_date", (
                    f"conviction {recorded.isoformat()} is before the offence "
                    f"{occurred.isoformat()}")))
        _after_extraction(release, extracted_on, line, "release_date", errors)
        _after_extraction(recorded, extracted_on, line, "conviction_date", errors)
        if len(errors) > before or release is None:
            continue
        if subject in releases and releases[subject][0] != release:
            errors.append(RowError(line, "release_date", (
                f"subject {subject!r} has release date {releases[subject][0].isoformat()} "
                f"on line {releases[subject][1]}")))
            continue
        releases.setdefault(subject, (release, line))
        events.setdefault(subject, [])
        if occurred is not None and recorded is not None:
            key = (subject, occurred, recorded)
            if key in seen:
                errors.append(RowError(line, None, f"duplicates line {seen[key]}"))
                continue
            seen[key] = line
            events[subject].append(ComparisonEvent(occurred, recorded))
    if errors:
        return GroupParseResult([], sorted(errors, key=lambda e: e.line))
    return GroupParseResult([
        ComparisonSubject(group=group, subject=name, kind=kind, release_date=release,
                          events=tuple(sorted(events[name], key=lambda e: (e.occurred_on,
                                                                           e.recorded_on))))
        for name, (release, _) in sorted(releases.items())], [])


# -- measures ------------------------------------------------------------------------------


def add_months(start: date, months: int) -> date:
    """start plus whole calendar months, the day clipped to the end of a shorter month."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def _problem(field_name: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{field_name}: {message}",
                                details={"fields": {field_name: [message]}})


@dataclass(frozen=True)
class OutcomeMeasure:
    """An outcome measure, configured as data. `kind` is the outcome counted; `type` binary
    (people with any event, %) or frequency (events per 100 people); events count when they
    occurred within window_months of the window's start (the client's `<window_from>_date`)
    and, unless recorded_within_months is None, were recorded within that many months of
    the start. The defaults are the Peterborough measure's windows. `direction` says
    whether more of the outcome is better (the default) or fewer (reconvictions).
    `step_outcomes` names the outcomes pathway steps record (the DSL's `record ... outcome:`)
    that report this measure's outcome (`reconvicted` for `reconviction`): exports that
    count the event log's outcomes (INDIGO) give them this measure's direction."""

    kind: str
    type: str
    window_from: str = "release"
    window_months: int = 12
    recorded_within_months: int | None = 18
    direction: str = "higher_is_better"
    step_outcomes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not _NAME.match(self.kind):
            raise _problem("kind", "must be an outcome name in lower_snake_case")
        if self.type not in MEASURE_TYPES:
            raise _problem("type", f"must be one of {', '.join(MEASURE_TYPES)}")
        if self.window_from not in WINDOW_STARTS:
            raise _problem("window_from", f"must be one of {', '.join(WINDOW_STARTS)}")
        if self.direction not in DIRECTIONS:
            raise _problem("direction", f"must be one of {', '.join(DIRECTIONS)}")
        if not isinstance(self.step_outcomes, tuple) or not all(
                isinstance(name, str) and _NAME.match(name) for name in self.step_outcomes):
            raise _problem("step_outcomes",
                           "must be a list of outcome names in lower_snake_case")
        if isinstance(self.window_months, bool) or not isinstance(self.window_months, int) \
                or self.window_months < 1:
            raise _problem("window_months", "must be a whole number of months, 1 or more")
        within = self.recorded_within_months
        if within is not None and (isinstance(within, bool) or not isinstance(within, int)
                                   or within < self.window_months):
            raise _problem("recorded_within_months",
                           "must be a whole number of months, at least window_months")

    @property
    def start_field(self) -> str:
        return f"{self.window_from}_date"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OutcomeMeasure:
        """A measure from configuration (JSON or YAML): the fields above by name."""
        known = {"kind", "type", "window_from", "window_months", "recorded_within_months",
                 "direction", "step_outcomes"}
        unknown = sorted(set(config) - known)
        if unknown:
            raise _problem(unknown[0], "is not a field of an outcome measure")
        for required in ("kind", "type"):
            if required not in config:
                raise _problem(required, "is required")
        fields = dict(config)
        if "step_outcomes" in fields:
            names = fields["step_outcomes"]
            if not isinstance(names, list | tuple):
                raise _problem("step_outcomes",
                               "must be a list of outcome names in lower_snake_case")
            fields["step_outcomes"] = tuple(names)
        return cls(**fields)

    def counts(self, start: date, occurred_on: date, recorded_on: date) -> bool:
        """Whether an event counts for a person whose window starts on start."""
        if not start <= occurred_on < add_months(start, self.window_months):
            return False
        return (self.recorded_within_months is None
                or recorded_on < add_months(start, self.recorded_within_months))


def outcome_directions(measures: Iterable[OutcomeMeasure]) -> dict[str, str]:
    """Outcome name -> direction, for each measure's kind and the step outcomes it names:
    what an export counting recorded outcomes needs to tell good news from bad. Two
    measures that disagree on one outcome's direction are refused."""
    directions: dict[str, str] = {}
    for m in measures:
        for name in (m.kind, *m.step_outcomes):
            if directions.setdefault(name, m.direction) != m.direction:
                raise _problem("step_outcomes", (
                    f"outcome {name!r} is {directions[name]} in one measure and "
                    f"{m.direction} in another"))
    return directions


@dataclass(frozen=True)
class MeasureResult:
    kind: str
    type: str
    people: int  # in the cohort (or group)
    people_with_events: int
    events: int  # distinct recorded dates per person, within the windows
    binary_rate: float | None  # % of people with an event (None for nobody)
    per_100: float | None  # events per 100 people (None for nobody)

    @property
    def value(self) -> float | None:
        """The measure's own figure: binary_rate or per_100, by type."""
        return self.binary_rate if self.type == "binary" else self.per_100


def measure_occurrences(starts: Mapping[Hashable, date],
                        occurrences: Iterable[tuple[Hashable, date, date]],
                        measure: OutcomeMeasure) -> MeasureResult:
    """The measure over people (key -> window start) and their events (key, occurred,
    recorded); events of people not in starts are ignored."""
    counted: dict[Hashable, set[date]] = {}
    for key, occurred, recorded in occurrences:
        start = starts.get(key)
        if start is not None and measure.counts(start, occurred, recorded):
            counted.setdefault(key, set()).add(recorded)
    people = len(starts)
    events = sum(len(dates) for dates in counted.values())
    return MeasureResult(
        kind=measure.kind, type=measure.type, people=people,
        people_with_events=len(counted), events=events,
        binary_rate=round(100 * len(counted) / people, 4) if people else None,
        per_100=round(100 * events / people, 4) if people else None)


def measure(cohort_members: Mapping[int, date], events: Iterable[OutcomeEvent],
            outcome_measure: OutcomeMeasure) -> MeasureResult:
    """The measure over clients (id -> window start, e.g. release date) and outcome events
    (those of other kinds or other clients are ignored)."""
    starts: dict[Hashable, date] = {key: value for key, value in cohort_members.items()}
    return measure_occurrences(
        starts,
        ((e.client_id, e.occurred_on, e.recorded_on) for e in events
         if e.kind == outcome_measure.kind),
        outcome_measure)


def measure_group(subjects: Iterable[ComparisonSubject],
                  outcome_measure: OutcomeMeasure) -> MeasureResult:
    """The measure over a matched comparison group (windows from each release date)."""
    chosen = list(subjects)
    return measure_occurrences(
        {s.subject: s.release_date for s in chosen},
        ((s.subject, e.occurred_on, e.recorded_on) for s in chosen if s.kind ==
         outcome_measure.kind for e in s.events),
        outcome_measure)


# -- cohorts -------------------------------------------------------------------------------


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Cohort:
    """The clients whose date `field` (e.g. release_date, enrolment_date) falls between
    start and end, both included."""

    name: str
    start: date
    end: date
    field: str = "release_date"

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise _problem("name", "is required")
        if self.end < self.start:
            raise _problem("end", f"{self.end.isoformat()} is before the start "
                                  f"{self.start.isoformat()}")

    def members(self, clients: Iterable[Client]) -> dict[int, date]:
        """client id -> the client's date in the cohort's field, for members."""
        found: dict[int, date] = {}
        for client in clients:
            value = _as_date(client.fields.get(self.field))
            if client.id is not None and value is not None and self.start <= value <= self.end:
                found[client.id] = value
        return found


def window_starts(clients: Iterable[Client], members: Iterable[int],
                  outcome_measure: OutcomeMeasure) -> dict[int, date]:
    """client id -> the date the measure's windows start from, for members that have it."""
    wanted = set(members)
    starts: dict[int, date] = {}
    for client in clients:
        if client.id in wanted:
            value = _as_date(client.fields.get(outcome_measure.start_field))
            if value is not None:
                starts[client.id] = value
    return starts


def extraction_date(imports: Iterable[OutcomeImport], holding: Iterable[int | None]
                    ) -> date | None:
    """The latest extraction date among the imports whose ids are in holding (None: none
    of them said when its data was extracted)."""
    wanted = set(holding)
    dates = [i.extracted_on for i in imports if i.id in wanted and i.extracted_on is not None]
    return max(dates) if dates else None


# -- the service ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    filename: str
    sha256: str
    kind: str
    already_imported: bool  # the same bytes were imported before: nothing was done
    rows: int  # data rows in the file
    imported: int  # events added
    duplicates: list[int]  # lines whose event was held already (skipped)
    errors: list[RowError]  # with any, nothing was imported
    import_id: int | None = None
    extracted_on: date | None = None  # when the file's data was extracted (None: not said)

    @property
    def rejected(self) -> bool:
        return bool(self.errors)


@dataclass(frozen=True)
class GroupReport:
    group: str
    kind: str
    subjects: int
    events: int
    already_imported: bool
    errors: list[RowError]
    extracted_on: date | None = None


@dataclass(frozen=True)
class CohortMeasure:
    cohort: Cohort
    result: MeasureResult
    without_start: list[int]  # members lacking the date the windows start from


def _case_outcomes(uow: UnitOfWork, client_id: int | None, kind: str | None
                   ) -> list[OutcomeEvent]:
    """outcome_recorded events of cases (the DSL's `record` steps) as outcome events, dated
    the day they were recorded. Only those that happened count: a value of False or None
    (an outcome whose value could not be worked out) is left out."""
    cases = {case.id: case for case in uow.cases.list(client_id=client_id)}
    found = []
    for event in uow.events.list_all(types=("outcome_recorded",)):
        case = cases.get(event.case_id)
        if case is None:
            continue
        outcome, value = event.data.get("outcome"), event.data.get("value")
        if not isinstance(outcome, str) or value is None or value is False:
            continue
        if kind is not None and outcome != kind:
            continue
        day = event.at.date()
        found.append(OutcomeEvent(
            id=None, client_id=case.client_id, kind=outcome, occurred_on=day,
            recorded_on=day, source=f"case:{case.id}",
            detail={"value": value, "step": event.step, "seq": event.seq},
            created_at=event.at))
    return found


# what reading_once keeps: each read made once inside the block (per thread and context)
_READ_ONCE: ContextVar[dict[Hashable, Any] | None] = ContextVar("outcomes_read_once",
                                                                default=None)


class Outcomes:
    """Importing outcome events and comparison groups; cohorts and measures over them."""

    @staticmethod
    @contextmanager
    def reading_once() -> Iterator[None]:
        """Within the block, the clients and each kind's events are read once, however many
        cohorts and measures ask (figures over several cohorts, from one read each: issue
        12, item 9). For reads only: nothing written inside the block is seen by them."""
        token = _READ_ONCE.set({})
        try:
            yield
        finally:
            _READ_ONCE.reset(token)

    @staticmethod
    def _once(key: Hashable, read: Callable[[], Any]) -> Any:
        kept = _READ_ONCE.get()
        if kept is None:
            return read()
        if key not in kept:
            kept[key] = read()
        return kept[key]

    def _clients(self) -> list[Any]:
        def read() -> list[Any]:
            with self._uow(read_only=True) as uow:
                return uow.clients.list()
        found: list[Any] = self._once("clients", read)
        return found

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _check_extracted_on(self, extracted_on: date | None) -> None:
        """An extraction date is a date, not after the day it is imported."""
        if extracted_on is None:
            return
        if not isinstance(extracted_on, date) or isinstance(extracted_on, datetime):
            raise _problem("extracted_on", "must be a date (YYYY-MM-DD)")
        today = self._clock.now().date()
        if extracted_on > today:
            raise _problem("extracted_on", (
                f"{extracted_on.isoformat()} is after the import day {today.isoformat()}: "
                "data cannot have been extracted in the future"))

    def import_csv(self, filename: str, data: bytes, kind: str, actor: str | None = None,
                   progress: Progress | None = None, *, extracted_on: date | None = None
                   ) -> ImportReport:
        """Import a file of outcome events, all or nothing (see parse_outcome_csv).

        extracted_on is the day the file's data was extracted (not after the import day;
        every event must be recorded on or before it); None: not said, so the data's
        extraction date stays unknown (engine.followup: no cohort is complete on it).
        The same bytes imported again change nothing (already_imported), their extraction
        date included. Rows whose event is held already (same client, outcome and dates,
        from any source) are skipped and reported as duplicates. progress(done, total) is
        called as rows are stored."""
        expected_columns(kind)
        self._check_extracted_on(extracted_on)
        sha256 = hashlib.sha256(data).hexdigest()

        def report(**values: Any) -> ImportReport:
            base: dict[str, Any] = {"filename": filename, "sha256": sha256, "kind": kind,
                                    "already_imported": False, "rows": 0, "imported": 0,
                                    "duplicates": [], "errors": [],
                                    "extracted_on": extracted_on}
            return ImportReport(**{**base, **values})

        with self._uow() as uow:
            earlier = uow.outcomes.import_by_sha256(sha256)
            if earlier is not None:
                return self._imported_before(uow, earlier, data, extracted_on, report)
            parsed = parse_outcome_csv(data, kind,
                                       [c.id for c in uow.clients.list() if c.id is not None],
                                       extracted_on)
            if not parsed.ok:
                return report(rows=parsed.data_rows, errors=parsed.errors)
            now = self._clock.now()
            record = uow.outcomes.add_import(OutcomeImport(
                id=None, sha256=sha256, filename=filename, kind=kind, rows=parsed.data_rows,
                imported=0, imported_at=now, actor=actor, extracted_on=extracted_on))
            if record is None or record.id is None:  # imported meanwhile by someone else
                return report(already_imported=True, rows=parsed.data_rows)
            duplicates: list[int] = []
            total = len(parsed.rows)
            for done, row in enumerate(parsed.rows, start=1):
                added = uow.outcomes.add_event(OutcomeEvent(
                    id=None, client_id=row.client_id, kind=row.kind,
                    occurred_on=row.occurred_on, recorded_on=row.recorded_on,
                    source=f"import:{sha256}", detail=row.detail, import_id=record.id,
                    created_at=now))
                if added is None:
                    duplicates.append(row.line)
                if progress is not None:
                    progress(done, total)
            imported = total - len(duplicates)
            uow.outcomes.set_import_count(record.id, imported)
            uow.commit()
        return report(rows=parsed.data_rows, imported=imported, duplicates=duplicates,
                      import_id=record.id)

    @staticmethod
    def _imported_before(uow: UnitOfWork, earlier: OutcomeImport, data: bytes,
                         extracted_on: date | None, report: Callable[..., ImportReport]
                         ) -> ImportReport:
        """The same bytes again: nothing changes, except that a file imported without its
        extraction date takes the one given now, if its events allow it."""
        held = report(already_imported=True, kind=earlier.kind, rows=earlier.rows,
                      import_id=earlier.id, extracted_on=earlier.extracted_on)
        if earlier.extracted_on is not None or extracted_on is None or earlier.id is None:
            return held
        # its clients were checked when it was imported: only the date is new
        parsed = parse_outcome_csv(data, earlier.kind, None, extracted_on)
        if not parsed.ok:
            return report(kind=earlier.kind, rows=earlier.rows, errors=parsed.errors)
        uow.outcomes.set_import_extracted_on(earlier.id, extracted_on)
        uow.commit()
        return replace(held, extracted_on=extracted_on)

    def imports(self) -> list[OutcomeImport]:
        with self._uow(read_only=True) as uow:
            return uow.outcomes.imports()

    def extraction_date(self, kind: str) -> date | None:
        """The date the data of an outcome kind was extracted: the latest extraction date
        of the imports holding it (a `kind` file, or an `other` file that named it), the
        latest extract covering the data up to then. None: no such import said."""
        with self._uow(read_only=True) as uow:
            imports = uow.outcomes.imports()
            if kind in IMPORT_KINDS:
                holding = {i.id for i in imports if i.kind == kind}
            else:  # an `other` file holds the outcomes its rows name
                holding = {e.import_id for e in uow.outcomes.events(kind=kind)}
        return extraction_date(imports, holding)

    def events(self, client_id: int | None = None, kind: str | None = None, *,
               include_cases: bool = True) -> list[OutcomeEvent]:
        """Imported events and (with include_cases) those recorded by pathway steps, by
        client, then date."""
        found: list[OutcomeEvent] = self._once(
            ("events", client_id, kind, include_cases),
            lambda: self._read_events(client_id, kind, include_cases))
        return list(found)

    def _read_events(self, client_id: int | None, kind: str | None, include_cases: bool
                     ) -> list[OutcomeEvent]:
        with self._uow(read_only=True) as uow:
            found = uow.outcomes.events(client_id=client_id, kind=kind)
            if include_cases:
                found += _case_outcomes(uow, client_id, kind)
        return sorted(found, key=lambda e: (e.client_id, e.occurred_on, e.recorded_on,
                                            e.kind, e.source))

    # -- cohorts and measures --------------------------------------------------------------

    def cohort_members(self, cohort: Cohort) -> dict[int, date]:
        return cohort.members(self._clients())

    def cohort_starts(self, cohort: Cohort, outcome_measure: OutcomeMeasure) -> dict[int, date]:
        """client id -> the day the measure's windows start, for the cohort's members that
        have it (the people measure_cohort counts)."""
        clients = self._clients()
        return window_starts(clients, cohort.members(clients), outcome_measure)

    def measure_cohort(self, cohort: Cohort, outcome_measure: OutcomeMeasure) -> CohortMeasure:
        """The measure over a cohort, each member's windows starting from their own
        `<window_from>_date`; members without that date are left out and listed."""
        clients = self._clients()
        members = cohort.members(clients)
        starts = window_starts(clients, members, outcome_measure)
        events = self.events(kind=outcome_measure.kind)
        return CohortMeasure(cohort=cohort,
                             result=measure(starts, events, outcome_measure),
                             without_start=sorted(set(members) - set(starts)))

    # -- comparison groups -----------------------------------------------------------------

    def set_comparison_rates(self, cohort: str, kind: str, *, group_size: int,
                             per_100: float | None = None, binary_rate: float | None = None,
                             source: str = "", actor: str | None = None) -> ComparisonRate:
        """Record a comparison group given as rates for a cohort and outcome kind."""
        problems: dict[str, list[str]] = {}
        if not cohort.strip():
            problems["cohort"] = ["is required"]
        if not _NAME.match(kind):
            problems["kind"] = ["must be an outcome name in lower_snake_case"]
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
            problems["group_size"] = ["must be a whole number, 1 or more"]
        if per_100 is None and binary_rate is None:
            problems["per_100"] = ["give per_100 or binary_rate (or both)"]
        if per_100 is not None and per_100 < 0:
            problems["per_100"] = ["must not be negative"]
        if binary_rate is not None and not 0 <= binary_rate <= 100:
            problems["binary_rate"] = ["must be a percentage, 0 to 100"]
        if problems:
            raise InvalidArgumentError("invalid comparison rates", details={"fields": problems})
        with self._uow() as uow:
            stored = uow.outcomes.set_rate(ComparisonRate(
                id=None, cohort=cohort, kind=kind, group_size=group_size, per_100=per_100,
                binary_rate=binary_rate, source=source, set_at=self._clock.now(),
                set_by=actor))
            uow.commit()
        return stored

    def comparison_rates(self, cohort: str | None = None, kind: str | None = None
                         ) -> list[ComparisonRate]:
        """The rates in force: the last set for each cohort and kind."""
        with self._uow(read_only=True) as uow:
            rates = uow.outcomes.rates(cohort=cohort, kind=kind)
        latest = {(r.cohort, r.kind): r for r in rates}
        return [latest[key] for key in sorted(latest)]

    def import_matched_group(self, group: str, subjects: Sequence[ComparisonSubject] | bytes,
                             kind: str = RECONVICTION, actor: str | None = None, *,
                             extracted_on: date | None = None) -> GroupReport:
        """Store a matched comparison group: subjects, or a CSV (parse_matched_group_csv).

        extracted_on: the day the group's data was extracted (as for import_csv; the group's
        own follow-up is complete only when its members' windows closed by then).
        Importing a group again with the same members changes nothing (already_imported);
        a group of that name with other members is a ConflictError."""
        if not group.strip():
            raise _problem("group", "is required")
        self._check_extracted_on(extracted_on)
        if isinstance(subjects, bytes):
            parsed = parse_matched_group_csv(subjects, group, kind, extracted_on)
            if not parsed.ok:
                return GroupReport(group, kind, 0, 0, False, parsed.errors, extracted_on)
            chosen = parsed.subjects
        else:
            chosen = list(subjects)
            late = [s.subject for s in chosen if extracted_on is not None and (
                s.release_date > extracted_on
                or any(e.recorded_on > extracted_on for e in s.events))]
            if late:
                raise _problem("extracted_on", (
                    f"subject {late[0]!r} has a release or an event after the data's "
                    f"extraction date {extracted_on}"))
        if not chosen:
            raise _problem("subjects", "a matched group needs at least one subject")
        names = [s.subject for s in chosen]
        if len(set(names)) != len(names):
            raise _problem("subjects", "subjects must be unique in a group")
        now = self._clock.now()
        chosen = sorted((ComparisonSubject(group=group, subject=s.subject, kind=kind,
                                           release_date=s.release_date, events=s.events,
                                           imported_at=now, actor=actor,
                                           extracted_on=extracted_on)
                         for s in chosen), key=lambda s: s.subject)
        events = sum(len(s.events) for s in chosen)

        def content(items: Iterable[ComparisonSubject]) -> list[tuple[Any, ...]]:
            return sorted((s.subject, s.kind, s.release_date, tuple(s.events)) for s in items)

        with self._uow() as uow:
            held = uow.outcomes.subjects(group)
            if held:
                if content(held) == content(chosen):
                    dated = held[0].extracted_on
                    if dated is None and extracted_on is not None:  # imported undated
                        uow.outcomes.set_group_extracted_on(group, extracted_on)
                        uow.commit()
                        dated = extracted_on
                    return GroupReport(group, kind, len(held), events, True, [], dated)
                raise ConflictError(f"a matched group {group!r} with other members exists "
                                    f"already", details={"group": group})
            uow.outcomes.add_subjects(chosen)
            uow.commit()
        return GroupReport(group, kind, len(chosen), events, False, [], extracted_on)

    def matched_group(self, group: str) -> list[ComparisonSubject]:
        with self._uow(read_only=True) as uow:
            return uow.outcomes.subjects(group)

    def measure_matched_group(self, group: str, outcome_measure: OutcomeMeasure
                              ) -> MeasureResult:
        return measure_group(self.matched_group(group), outcome_measure)
