"""Outcomes: events imported from outside or recorded by pathway steps, cohorts, measures.

The `Outcomes` service stores imports through the ports and measures cohorts over them; the
pure rules are engine.outcomes.outcome_csv (reading an outcomes file or a matched comparison
group) and engine.outcomes.outcome_measures (measures, their windows, cohorts). The package's
__init__ is the outcomes' public surface.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from engine.errors import ConflictError, InvalidArgumentError
from engine.model import ComparisonRate, ComparisonSubject, OutcomeEvent, OutcomeImport
from engine.numbers import refusal
from engine.outcomes.outcome_csv import (
    IMPORT_KINDS,
    RECONVICTION,
    RowError,
    expected_columns,
    parse_matched_group_csv,
    parse_outcome_csv,
)
from engine.outcomes.outcome_measures import (
    OUTCOME_NAME,
    Cohort,
    MeasureResult,
    OutcomeMeasure,
    dates_in,
    measure_group,
    measure_occurrences,
    starts_of,
)
from engine.ports import Clock, UnitOfWork, UnitOfWorkFactory

Progress = Callable[[int, int], None]


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
    found = []
    for event, client in uow.events.recorded_outcomes(kind=kind, client_id=client_id):
        outcome, value = event.data.get("outcome"), event.data.get("value")
        if not isinstance(outcome, str) or value is None or value is False:
            continue
        if kind is not None and outcome != kind:
            continue
        day = event.at.date()
        found.append(OutcomeEvent(
            id=None, client_id=client, kind=outcome, occurred_on=day,
            recorded_on=day, source=f"case:{event.case_id}",
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
        """Within the block, each field of the clients and each kind's events are read once,
        however many cohorts and measures ask (figures over several cohorts, from one read
        each: issue 12, item 9). For reads only: nothing written inside the block is seen
        by them."""
        if _READ_ONCE.get() is not None:  # inside a block already: its reads are kept
            yield
            return
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

    def client_dates(self, field: str) -> dict[int, date]:
        """Each client's date in `field`, parsed once per read-once block and field (every
        cohort and measure of a dashboard reads the same two fields of 100,000 clients)."""
        def read() -> dict[int, date]:
            with self._uow(read_only=True) as uow:  # a date is text: read as text
                by_text = uow.clients.clients_by_text(field)
            found: dict[int, date] = {}
            for text, day in dates_in({text: text for text in by_text}).items():
                found.update(dict.fromkeys(by_text[text], day))
            return found
        found: dict[int, date] = self._once(("dates", field), read)
        return found

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _check_extracted_on(self, extracted_on: date | None) -> None:
        """An extraction date is a date, not after the day it is imported."""
        if extracted_on is None:
            return
        if not isinstance(extracted_on, date) or isinstance(extracted_on, datetime):
            raise refusal("extracted_on", "must be a date (YYYY-MM-DD)")
        today = self._clock.now().date()
        if extracted_on > today:
            raise refusal("extracted_on", (
                f"{extracted_on.isoformat()} is after the import day {today.isoformat()}: "
                "data cannot have been extracted in the future"))

    def import_csv(self, filename: str, data: bytes, kind: str, actor: str | None = None,
                   progress: Progress | None = None, *, extracted_on: date | None = None
                   ) -> ImportReport:
        """Import a file of outcome events, all or nothing (see parse_outcome_csv).

        extracted_on is the day the file's data was extracted (not after the import day;
        every event must be recorded on or before it); None: not said, so the data's
        extraction date stays unknown (engine.outcomes.followup: no cohort is complete on it).
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

    def imported_kinds(self) -> set[str]:
        """The kinds of outcome imported events are of (one small read)."""
        with self._uow(read_only=True) as uow:
            return uow.outcomes.kinds()

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
        return cohort.members_by_date(self.client_dates(cohort.field))

    def cohort_starts(self, cohort: Cohort, outcome_measure: OutcomeMeasure) -> dict[int, date]:
        """client id -> the day the measure's windows start, for the cohort's members that
        have it (the people measure_cohort counts)."""
        with self.reading_once():  # the clients read once for both fields
            return starts_of(self.client_dates(outcome_measure.start_field),
                             self.cohort_members(cohort))

    def measure_cohort(self, cohort: Cohort, outcome_measure: OutcomeMeasure) -> CohortMeasure:
        """The measure over a cohort, each member's windows starting from their own
        `<window_from>_date`; members without that date are left out and listed."""
        with self.reading_once():  # the clients read once for both fields
            members = self.cohort_members(cohort)
            starts = starts_of(self.client_dates(outcome_measure.start_field), members)
        return CohortMeasure(cohort=cohort,
                             result=measure_occurrences(
                                 starts,
                                 self.occurrences(outcome_measure.kind), outcome_measure),
                             without_start=sorted(set(members) - set(starts)))

    def occurrences(self, kind: str) -> list[tuple[int, date, date]]:
        """The events of `kind`, imported and recorded by pathway steps, as (client,
        occurred_on, recorded_on): what a measure counts (the events() records, without
        reading each imported event whole)."""
        def read() -> list[tuple[int, date, date]]:
            with self._uow(read_only=True) as uow:
                return [*uow.outcomes.occurrences(kind),
                        *((e.client_id, e.occurred_on, e.recorded_on)
                          for e in _case_outcomes(uow, None, kind))]
        found: list[tuple[int, date, date]] = self._once(("occurrences", kind), read)
        return found

    # -- comparison groups -----------------------------------------------------------------

    def set_comparison_rates(self, cohort: str, kind: str, *, group_size: int,
                             per_100: float | None = None, binary_rate: float | None = None,
                             source: str = "", actor: str | None = None) -> ComparisonRate:
        """Record a comparison group given as rates for a cohort and outcome kind."""
        problems: dict[str, list[str]] = {}
        if not cohort.strip():
            problems["cohort"] = ["is required"]
        if not OUTCOME_NAME.match(kind):
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
            raise refusal("group", "is required")
        self._check_extracted_on(extracted_on)
        if isinstance(subjects, bytes):
            parsed = parse_matched_group_csv(subjects, group, kind, extracted_on)
            if not parsed.ok:
                return GroupReport(group, kind, 0, 0, False, parsed.errors, extracted_on)
            given = parsed.subjects
        else:
            given = list(subjects)
            _check_extracted_by(given, extracted_on)
        _check_subjects(given)
        now = self._clock.now()
        chosen = sorted((ComparisonSubject(group=group, subject=s.subject, kind=kind,
                                           release_date=s.release_date, events=s.events,
                                           imported_at=now, actor=actor,
                                           extracted_on=extracted_on)
                         for s in given), key=lambda s: s.subject)
        events = sum(len(s.events) for s in chosen)
        with self._uow() as uow:
            held = uow.outcomes.subjects(group)
            if held:
                dated = _same_group_again(uow, group, held, chosen, extracted_on)
                return GroupReport(group, kind, len(held), events, True, [], dated)
            uow.outcomes.add_subjects(chosen)
            uow.commit()
        return GroupReport(group, kind, len(chosen), events, False, [], extracted_on)

    def matched_group(self, group: str) -> list[ComparisonSubject]:
        with self._uow(read_only=True) as uow:
            return uow.outcomes.subjects(group)

    def measure_matched_group(self, group: str, outcome_measure: OutcomeMeasure
                              ) -> MeasureResult:
        return measure_group(self.matched_group(group), outcome_measure)


def _check_extracted_by(subjects: Sequence[ComparisonSubject], extracted_on: date | None
                        ) -> None:
    """No subject released, and no event recorded, after the data was extracted."""
    late = [s.subject for s in subjects if extracted_on is not None and (
        s.release_date > extracted_on
        or any(e.recorded_on > extracted_on for e in s.events))]
    if late:
        raise refusal("extracted_on", (
            f"subject {late[0]!r} has a release or an event after the data's "
            f"extraction date {extracted_on}"))


def _check_subjects(subjects: Sequence[ComparisonSubject]) -> None:
    """A matched group has subjects, each once."""
    if not subjects:
        raise refusal("subjects", "a matched group needs at least one subject")
    names = [s.subject for s in subjects]
    if len(set(names)) != len(names):
        raise refusal("subjects", "subjects must be unique in a group")


def _same_group_again(uow: UnitOfWork, group: str, held: Sequence[ComparisonSubject],
                      chosen: Sequence[ComparisonSubject], extracted_on: date | None
                      ) -> date | None:
    """A group imported again: its extraction date (a group imported undated takes the one
    given now). Other members under the same name are a ConflictError."""
    def content(items: Iterable[ComparisonSubject]) -> list[tuple[Any, ...]]:
        return sorted((s.subject, s.kind, s.release_date, tuple(s.events)) for s in items)

    if content(held) != content(chosen):
        raise ConflictError(f"a matched group {group!r} with other members exists "
                            f"already", details={"group": group})
    dated = held[0].extracted_on
    if dated is None and extracted_on is not None:  # imported undated
        uow.outcomes.set_group_extracted_on(group, extracted_on)
        uow.commit()
        dated = extracted_on
    return dated
