"""Engagement: the share of cases still worked on a set number of days after they started,
overall and by version, for the dashboard. Pure functions over cases and their events (or
the per-case facts kept as events are written)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.errors import InvalidArgumentError
from engine.model import CaseRecord, Event
from engine.outcomes.case_events import by_case, started, utc
from engine.outcomes.estimates import Proportion, measure_row, proportion_ci
from engine.summary_ports import CaseFacts, CaseGroup


@dataclass(frozen=True)
class Engagement:
    """The share of cases still engaged `days` after they started (see `engagement`)."""

    days: int
    as_of: datetime | None
    overall: Proportion
    by_version: tuple[tuple[int, Proportion], ...]
    too_recent: int  # cases left out: started less than `days` before as_of

    def rows(self) -> list[dict[str, Any]]:
        measure = f"engaged after {self.days} days"
        rows = [measure_row("engagement", "all", measure, self.overall, None, None)]
        rows.extend(measure_row("engagement", f"version {version}", measure, share, None, None)
                    for version, share in self.by_version)
        return rows


def engagement(cases: Iterable[CaseRecord], events: Iterable[Event], days: int = 30, *,
               as_of: datetime | None = None) -> Engagement:
    """Share of cases still engaged `days` after they started.

    A case started when its case_started event was recorded (else at its created_at; a case
    with neither is left out). It counts as engaged when it has at least one task_completed
    event at or after start + `days` days: someone still did work on it a month on. A case
    that ended, was cancelled, or went quiet before then is not engaged. With `as_of`, cases
    started less than `days` before it are left out (they could not have got there yet) and
    counted in `too_recent`; task completions after `as_of` are ignored."""
    grouped = by_case(events)

    def engaged(case: CaseRecord, mark: datetime) -> bool:
        return any(e.type == "task_completed" and utc(e.at) >= mark
                   and (as_of is None or utc(e.at) <= utc(as_of))
                   for e in grouped.get(case.id or 0, []))

    return _engagement(cases, days, as_of,
                       lambda case: started(case, grouped.get(case.id or 0, [])), engaged)


def engagement_from(cases: Iterable[CaseRecord], facts: Iterable[CaseFacts], days: int = 30
                    ) -> Engagement:
    """engagement (without as_of) from each case's first start and last task completed."""
    by_id = {fact.case_id: fact for fact in facts}

    def start_of(case: CaseRecord) -> datetime | None:
        fact = by_id.get(case.id or 0)
        return fact.started_at if fact is not None and fact.started_at else case.created_at

    def engaged(case: CaseRecord, mark: datetime) -> bool:
        fact = by_id.get(case.id or 0)
        last = fact.last_completed_at if fact is not None else None
        return last is not None and utc(last) >= mark

    return _engagement(cases, days, None, start_of, engaged)


def _engagement(cases: Iterable[CaseRecord], days: int, as_of: datetime | None,
                start_of: Callable[[CaseRecord], datetime | None],
                engaged: Callable[[CaseRecord, datetime], bool]) -> Engagement:
    """The shares, given where a case's start is found and how to tell it was engaged by a
    moment: the one counting both ways (from events, from the kept facts) share."""
    if days < 0:
        raise InvalidArgumentError("days must not be negative", details={"days": days})
    window = timedelta(days=days)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    too_recent = 0
    for case in cases:
        if case.id is None:
            continue
        start = start_of(case)
        if start is None:
            continue
        mark = utc(start) + window
        if as_of is not None and mark > utc(as_of):
            too_recent += 1
            continue
        totals[case.version][0] += int(engaged(case, mark))
        totals[case.version][1] += 1
    return _shares(days, as_of, totals, too_recent)


def engagement_of_groups(groups: Iterable[CaseGroup], days: int) -> Engagement:
    """engagement_from, from the cases counted in groups (CaseGroup.engaged, counted by the
    database for the same `days`)."""
    if days < 0:
        raise InvalidArgumentError("days must not be negative", details={"days": days})
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for group in groups:
        if group.engaged is not None:
            totals[group.version][0] += group.cases if group.engaged else 0
            totals[group.version][1] += group.cases
    return _shares(days, None, totals, 0)


def _shares(days: int, as_of: datetime | None, totals: dict[int, list[int]],
            too_recent: int) -> Engagement:
    """Engaged cases of all cases counted, overall and per version (totals: version ->
    [engaged, counted])."""
    overall = proportion_ci(sum(t[0] for t in totals.values()),
                            sum(t[1] for t in totals.values()))
    return Engagement(days, as_of, overall,
                      tuple((v, proportion_ci(*totals[v])) for v in sorted(totals)),
                      too_recent)
