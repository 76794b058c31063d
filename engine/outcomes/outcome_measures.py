"""Outcome measures, configured as data, and the cohorts they count over.

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
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Literal, TypeVar, get_args

from engine.errors import InvalidArgumentError
from engine.model import Client, ComparisonSubject, OutcomeEvent
from engine.numbers import refusal

MeasureType = Literal["binary", "frequency"]
MEASURE_TYPES: tuple[str, ...] = get_args(MeasureType)
# Which way an outcome is good news: more people with it (housed, employed) or fewer
# (reconvicted). Exports that count "positive" outcomes (INDIGO) read it.
Direction = Literal["higher_is_better", "lower_is_better"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)
WINDOW_STARTS = ("release", "enrolment")  # the client field <start>_date the window runs from

OUTCOME_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""What an outcome (and a measure's kind) may be called: lower_snake_case."""
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


_Person = TypeVar("_Person", bound=Hashable)  # a client id, or a comparison group's subject
_Key = TypeVar("_Key", bound=Hashable)  # what a value to read as a date is kept under


@lru_cache(maxsize=1 << 16)
def iso_date(text: str) -> date | None:
    """The date text writes as YYYY-MM-DD (None: it is not one); kept per text, as a
    cohort's 100,000 clients share a few thousand dates."""
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@lru_cache(maxsize=1 << 16)
def add_months(start: date, months: int) -> date:
    """start plus whole calendar months, the day clipped to the end of a shorter month.
    Kept for the days asked again: a cohort's follow-up and measure ask it for every
    member's window, and members share their start days."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


# -- measures ------------------------------------------------------------------------------


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
        problem = _naming_problem(self) or _window_problem(self)
        if problem is not None:
            raise problem

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
            raise refusal(unknown[0], "is not a field of an outcome measure")
        for required in ("kind", "type"):
            if required not in config:
                raise refusal(required, "is required")
        fields = dict(config)
        if "step_outcomes" in fields:
            names = fields["step_outcomes"]
            if not isinstance(names, list | tuple):
                raise refusal("step_outcomes",
                              "must be a list of outcome names in lower_snake_case")
            fields["step_outcomes"] = tuple(names)
        return cls(**fields)

    def counts(self, start: date, occurred_on: date, recorded_on: date) -> bool:
        """Whether an event counts for a person whose window starts on start."""
        return counted_in(start, self.window_ends(start), occurred_on, recorded_on)

    def window_ends(self, start: date) -> tuple[date, date | None]:
        """The first day after the window an event must occur in, and after the one it must
        be recorded in (None: no limit), for a window starting on start."""
        return (add_months(start, self.window_months),
                None if self.recorded_within_months is None
                else add_months(start, self.recorded_within_months))


def counted_in(start: date, ends: tuple[date, date | None], occurred_on: date,
               recorded_on: date) -> bool:
    """Whether an event counts in the windows from start that end at `ends` (window_ends):
    the test per event of many, with the ends worked out once per start day."""
    occurred_end, recorded_end = ends
    return start <= occurred_on < occurred_end and (recorded_end is None
                                                    or recorded_on < recorded_end)


def _naming_problem(m: OutcomeMeasure) -> InvalidArgumentError | None:
    """What is wrong with the measure's names and choices (None: nothing)."""
    if not isinstance(m.kind, str) or not OUTCOME_NAME.match(m.kind):
        return refusal("kind", "must be an outcome name in lower_snake_case")
    if m.type not in MEASURE_TYPES:
        return refusal("type", f"must be one of {', '.join(MEASURE_TYPES)}")
    if m.window_from not in WINDOW_STARTS:
        return refusal("window_from", f"must be one of {', '.join(WINDOW_STARTS)}")
    if m.direction not in DIRECTIONS:
        return refusal("direction", f"must be one of {', '.join(DIRECTIONS)}")
    if not isinstance(m.step_outcomes, tuple) or not all(
            isinstance(name, str) and OUTCOME_NAME.match(name) for name in m.step_outcomes):
        return refusal("step_outcomes", "must be a list of outcome names in lower_snake_case")
    return None


def _window_problem(m: OutcomeMeasure) -> InvalidArgumentError | None:
    """What is wrong with the measure's windows (None: nothing)."""
    if isinstance(m.window_months, bool) or not isinstance(m.window_months, int) \
            or m.window_months < 1:
        return refusal("window_months", "must be a whole number of months, 1 or more")
    within = m.recorded_within_months
    if within is not None and (isinstance(within, bool) or not isinstance(within, int)
                               or within < m.window_months):
        return refusal("recorded_within_months",
                       "must be a whole number of months, at least window_months")
    return None


def outcome_directions(measures: Iterable[OutcomeMeasure]) -> dict[str, str]:
    """Outcome name -> direction, for each measure's kind and the step outcomes it names:
    what an export counting recorded outcomes needs to tell good news from bad. Two
    measures that disagree on one outcome's direction are refused."""
    directions: dict[str, str] = {}
    for m in measures:
        for name in (m.kind, *m.step_outcomes):
            if directions.setdefault(name, m.direction) != m.direction:
                raise refusal("step_outcomes", (
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


def measure_occurrences(starts: Mapping[_Person, date],
                        occurrences: Iterable[tuple[_Person, date, date]],
                        measure: OutcomeMeasure) -> MeasureResult:
    """The measure over people (key -> window start) and their events (key, occurred,
    recorded); events of people not in starts are ignored."""
    counted: dict[_Person, set[date]] = {}
    ends: dict[date, tuple[date, date | None]] = {}  # per start day: people share them
    for key, occurred, recorded in occurrences:
        start = starts.get(key)
        if start is None:
            continue
        if counted_in(start, _window(start, measure, ends), occurred, recorded):
            counted.setdefault(key, set()).add(recorded)
    people = len(starts)
    events = sum(len(dates) for dates in counted.values())
    return MeasureResult(
        kind=measure.kind, type=measure.type, people=people,
        people_with_events=len(counted), events=events,
        binary_rate=round(100 * len(counted) / people, 4) if people else None,
        per_100=round(100 * events / people, 4) if people else None)


def values_per_person(people: Iterable[tuple[int, str | None]],
                      occurrences: Iterable[tuple[int, date, date]],
                      measure: OutcomeMeasure) -> dict[tuple[int, str | None], int | None]:
    """Each (client, text of its start date)'s value of a frequency measure, as
    measure_occurrences counts it for one person: its events (distinct recorded dates) in
    the windows from that start; None when the text is not a date, 0 for client 0 (nobody
    with events) or a client with none. The dashboard measures tens of thousands of clients
    at once: each distinct pair is measured once, only the events of the clients asked for
    are kept, each distinct text is parsed once and each start day's window ends worked out
    once."""
    wanted = set(people)
    starts = dates_in({text: text for _, text in wanted if text is not None})
    events = _events_of({client for client, _ in wanted if client}, occurrences)
    ends: dict[date, tuple[date, date | None]] = {}
    found: dict[tuple[int, str | None], int | None] = {}
    for client, text in wanted:
        start = starts.get(text) if text is not None else None
        found[client, text] = (None if start is None
                               else _counted(start, events.get(client, []), measure, ends))
    return found


def _events_of(clients: set[int], occurrences: Iterable[tuple[int, date, date]]
               ) -> dict[int, list[tuple[date, date]]]:
    """(occurred, recorded) of each of `clients`' events."""
    events: dict[int, list[tuple[date, date]]] = {}
    for client, occurred, recorded in occurrences:
        if client in clients:
            events.setdefault(client, []).append((occurred, recorded))
    return events


def _counted(start: date, events: list[tuple[date, date]], measure: OutcomeMeasure,
             ends: dict[date, tuple[date, date | None]]) -> int:
    """The distinct recorded dates of `events` in the windows from `start` (`ends`: each
    start day's window ends, worked out once and kept)."""
    if not events:
        return 0
    window = _window(start, measure, ends)
    return len({recorded for occurred, recorded in events
                if counted_in(start, window, occurred, recorded)})


def _window(start: date, measure: OutcomeMeasure, ends: dict[date, tuple[date, date | None]]
            ) -> tuple[date, date | None]:
    """measure.window_ends(start), worked out once per start day and kept in `ends`: many
    people share a start day."""
    window = ends.get(start)
    if window is None:
        window = ends[start] = measure.window_ends(start)
    return window


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
    if isinstance(value, str):
        return iso_date(value.strip())
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
            raise refusal("name", "is required")
        if self.end < self.start:
            raise refusal("end", f"{self.end.isoformat()} is before the start "
                                 f"{self.start.isoformat()}")

    def members(self, clients: Iterable[Client]) -> dict[int, date]:
        """client id -> the client's date in the cohort's field, for members."""
        return self.members_by_date(client_dates(clients, self.field))

    def members_by_date(self, dates: Mapping[int, date]) -> dict[int, date]:
        """members() from each client's date in the cohort's field (client_dates), read
        once for every cohort on that field."""
        start, end = self.start, self.end
        return {client: value for client, value in dates.items() if start <= value <= end}


def client_dates(clients: Iterable[Client], field: str) -> dict[int, date]:
    """client id -> the client's date in `field`, for clients that have one."""
    return dates_in({client.id: client.fields.get(field) for client in clients
                     if client.id is not None})


def dates_in(values: Mapping[_Key, Any]) -> dict[_Key, date]:
    """key (a client id, a text) -> the date each value is (a date, or YYYY-MM-DD text),
    where it is one."""
    found: dict[_Key, date] = {}
    for client, value in values.items():
        parsed = _as_date(value)
        if parsed is not None:
            found[client] = parsed
    return found


def starts_of(dates: Mapping[int, date], members: Iterable[int]) -> dict[int, date]:
    """client id -> the date the measure's windows start from, for members that have it,
    from each client's date in the measure's start field."""
    return {member: dates[member] for member in members if member in dates}
