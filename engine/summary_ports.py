"""The dashboard's summaries: the port the figures read them through (engine.ports'
Repositories.summaries), and what it gives.

Kept as events are written (adapters.sql.summaries), so a dashboard view reads a few
statements' worth of counts whatever the number of cases (issue 12, item 9).
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.model import CaseRecord


@dataclass(frozen=True)
class HiddenSteps:
    """What a pathway's per-step figures leave out (engine.access.privacy's rule as the dashboard
    applies it): every event of a case on a version in `versions` (its definition cannot be
    loaded); an event of a step in `steps[version]`; an event whose data names (a start: or
    completed: prefix taken off) one of `steps[version]` or of `everywhere` (sensitive
    pathways)."""

    versions: frozenset[int] = frozenset()
    steps: Mapping[int, frozenset[str]] = field(default_factory=dict)
    everywhere: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CaseFacts:
    """One case as the dashboard's figures need it, summarised from its events.

    From every event: `started_at` (its first case_started event) and `last_completed_at`
    (its last task_completed). From the events the figures may show (HiddenSteps): `arm`
    (the version its first split allocation chose), `outcome` (the last value recorded for
    the outcome asked for: a bool, or a whole count) and `happened` (the step asked for was
    completed, or recorded as an outcome with a true value)."""

    case_id: int
    started_at: datetime | None
    last_completed_at: datetime | None
    arm: int | None
    outcome: bool | int | None
    happened: bool


@dataclass(frozen=True)
class CaseGroup:
    """How many of a pathway's cases (`cases`) share every fact the figures count or split
    by: the version, status and CaseFacts' arm, outcome and happened of each; `answer`, the
    label of the answer the figures are split by (engine.outcomes.tally.answer_label: 'true',
    '3', 'text', '(missing)'; None: no split asked for); and
    `engaged`, whether a task was completed `days` or more after the case started (its first
    case_started event, else its created_at; None: neither)."""

    version: int
    status: str
    arm: int | None
    outcome: bool | int | None
    happened: bool
    answer: str | None
    engaged: bool | None
    cases: int


@dataclass(frozen=True)
class StepCounts:
    """One step in one group of cases: cases that reached it and completed it, completed
    tasks (`completions`) with their hours (median, mean), and the median hours from a
    case's start to its first completion of the step."""

    reached: int
    done: int
    completions: int
    median_hours: float | None
    mean_hours: float | None
    median_hours_from_start: float | None


@dataclass(frozen=True)
class StepFigures:
    """Every step seen (in the order first seen) and its counts per (cohort, group, step):
    cohort "all" groups cases by version, "randomised" by the arm a split chose."""

    steps: tuple[str, ...]
    counts: Mapping[tuple[str, int, str], StepCounts]


class DashboardSummaries(Protocol):
    """The dashboard's figures of one pathway, from summaries kept as events are written
    (never a read of every event): a few statements, however many cases."""

    def cases(self, pathway: str, fields: Collection[str]) -> builtins.list[CaseRecord]:
        """The pathway's cases, oldest first, as the figures read them: id, pathway, version,
        client, status, created_at, and of `data` only the answers at the dotted `fields`."""
        ...

    def answer_values(self, pathway: str, fields: Collection[str]
                      ) -> dict[str, builtins.list[Any]]:
        """Each named top-level answer's distinct values among the pathway's cases (null or
        absent: none; values told apart as JSON holds them), from counts kept as cases are
        written, not read from every case."""
        ...

    def case_facts(self, pathway: str, hidden: HiddenSteps, *, outcome: str | None,
                   step: str) -> builtins.list[CaseFacts]:
        """Each case of the pathway that has events, by case id."""
        ...

    def case_groups(self, pathway: str, hidden: HiddenSteps, *, outcome: str | None,
                    step: str, answer: str | None, days: int) -> builtins.list[CaseGroup]:
        """Every case of the pathway counted into its group (a GROUP BY, not a read of every
        case): the facts of case_facts (outcome, step), the answer at the dotted path
        `answer`, engaged after `days` days."""
        ...

    def client_groups(self, pathway: str, hidden: HiddenSteps, *, outcome: str,
                      start_field: str, step: str, answer: str | None, days: int
                      ) -> builtins.list[tuple[int, str | None, CaseGroup]]:
        """case_groups with no outcome, kept apart as an outcome measured per client from
        imported data needs: by the text at the case's client's dotted `start_field` (None:
        not text), and by its client where the client has an event of `outcome` (imported,
        or recorded by a step, whatever its value), else client 0: (client, start, group).
        A client 0's value is 0 when its start is a date, else unknown."""
        ...

    def step_figures(self, pathway: str, hidden: HiddenSteps) -> StepFigures: ...

    def outcome_names(self, pathway: str, hidden: HiddenSteps) -> builtins.list[str]:
        """The outcomes recorded on the pathway's cases (outcome_recorded events), sorted."""
        ...

    def task_counts(self, pathway: str) -> builtins.list[tuple[str | None, str, int]]:
        """Tasks completed on the pathway's cases per (actor, month 'YYYY-MM' in UTC)."""
        ...
