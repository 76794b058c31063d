"""Small facts read from a case's events, shared by the dashboard's statistics
(engine.outcomes.analysis, engine.outcomes.engagement, engine.outcomes.activity): each case's events
in order, when it started, the arm a randomised split gave it, whether a step happened. Pure
functions over `Event` records; nothing here touches storage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from engine.model import CaseRecord, Event


def ids(cases: Iterable[CaseRecord]) -> list[int]:
    """The ids of the cases that have one (a case not yet stored has none)."""
    return [case.id for case in cases if case.id is not None]


def ordered(events: Iterable[Event]) -> list[Event]:
    """The events case by case, each case's in the order they were written."""
    return sorted(events, key=lambda e: (e.case_id, e.seq))


def by_case(events: Iterable[Event]) -> dict[int, list[Event]]:
    """Each case's events, in the order they were written, by case id."""
    grouped: dict[int, list[Event]] = defaultdict(list)
    for event in ordered(events):
        grouped[event.case_id].append(event)
    return grouped


def started(case: CaseRecord, events: Sequence[Event]) -> datetime | None:
    """When the case started: its case_started event, else its created_at."""
    for event in events:
        if event.type == "case_started":
            return event.at
    return case.created_at


def hours(start: datetime, end: datetime) -> float:
    """The time from start to end in hours (the unit every duration is reported in)."""
    return (end - start).total_seconds() / 3600


def split_arm(events: Sequence[Event]) -> int | None:
    """The version a randomised split allocated the case to (None: not allocated by one)."""
    for event in events:
        if event.type == "version_allocated" and event.data.get("policy") == "split":
            version = event.data.get("version")
            return version if isinstance(version, int) else None
    return None


def happened(events: Sequence[Event], step: str) -> bool:
    """Whether `step` happened: a task of it completed, or an outcome of that name recorded
    true (e.g. 'met_at_gate')."""
    for event in events:
        if event.type == "task_completed" and event.step == step:
            return True
        if (event.type == "outcome_recorded" and event.data.get("outcome") == step
                and bool(event.data.get("value"))):
            return True
    return False


def utc(moment: datetime) -> datetime:
    """Aware times in UTC; naive times are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
