"""Tasks completed month on month, by caseworker and by organisation: the dashboard's
activity table. Pure functions over task_completed events (or their counts per user and month,
kept as events are written); engine.outcomes.protected_tables decides what of it may be shown."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.model import Event
from engine.outcomes.case_events import utc

NO_USER = "(no user)"
UNKNOWN_ORGANISATION = "(unknown)"
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "level", "name", "organisation", "month", "tasks", "previous", "change", "change_pct")


@dataclass(frozen=True)
class MonthActivity:
    """Tasks completed by one caseworker or organisation in one calendar month (UTC), and
    the change from the month before (None in the first month; `change_pct` also None when
    the month before had none)."""

    level: str  # 'caseworker' or 'organisation'
    name: str
    organisation: str | None
    month: str  # 'YYYY-MM'
    tasks: int
    previous: int | None
    change: int | None
    change_pct: float | None


@dataclass(frozen=True)
class Activity:
    months: tuple[str, ...]  # every calendar month from the first task to the last
    caseworkers: tuple[MonthActivity, ...]
    organisations: tuple[MonthActivity, ...]

    def rows(self) -> list[dict[str, Any]]:
        return [{column: getattr(row, column) for column in ACTIVITY_COLUMNS}
                for row in (*self.organisations, *self.caseworkers)]


def activity_by_month(events: Iterable[Event], organisations: Mapping[str, str]
                      ) -> Activity:
    """Tasks completed (task_completed events) per caseworker (the event's actor) and per
    organisation (`organisations` maps username -> organisation id) in each calendar month,
    month on month. Every month from the first to the last task appears for everyone, with 0
    where they completed none. An event without an actor counts as '(no user)', a user not
    in `organisations` under organisation '(unknown)'."""
    counts: dict[tuple[str | None, str], int] = defaultdict(int)
    for event in events:
        if event.type == "task_completed":
            moment = utc(event.at)
            counts[(event.actor, f"{moment.year:04d}-{moment.month:02d}")] += 1
    return activity_from_counts(((actor, month, tasks) for (actor, month), tasks
                                 in counts.items()), organisations)


def activity_from_counts(counts: Iterable[tuple[str | None, str, int]],
                         organisations: Mapping[str, str]) -> Activity:
    """activity_by_month from tasks completed per (actor, month 'YYYY-MM')."""
    per_user: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_org: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    user_org: dict[str, str] = {}
    seen: set[str] = set()
    for actor, month, tasks in counts:
        user = actor or NO_USER
        organisation = organisations.get(actor or "", UNKNOWN_ORGANISATION)
        user_org[user] = organisation
        per_user[user][month] += tasks
        per_org[organisation][month] += tasks
        seen.add(month)
    months = _month_range(min(seen), max(seen)) if seen else ()

    def series(level: str, counts: Mapping[str, Mapping[str, int]],
               org_of: Mapping[str, str] | None) -> tuple[MonthActivity, ...]:
        rows = []
        for name in sorted(counts):
            previous: int | None = None
            for month in months:
                tasks = counts[name].get(month, 0)
                change = None if previous is None else tasks - previous
                pct = (None if previous is None or previous == 0 or change is None
                       else change / previous * 100)
                rows.append(MonthActivity(level, name,
                                          org_of[name] if org_of is not None else name,
                                          month, tasks, previous, change, pct))
                previous = tasks
        return tuple(rows)

    return Activity(months, series("caseworker", per_user, user_org),
                    series("organisation", per_org, None))


def _month_range(first: str, last: str) -> tuple[str, ...]:
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)
