"""The dashboard's cases counted in groups by the database (issue 12, item 9).

Every figure of a version comparison, a split and engagement is a count of cases sharing
some facts (engine.summary_ports.CaseGroup), so the database counts them: one GROUP BY over
the cases joined to their kept summaries (adapters.sql.summaries), whatever their number,
instead of a row per case read into Python. What the privacy rule hides by version or step
is left out in the statement; the few cases with an event hidden by the names in its data
(`corrected`) are left out of it and counted from their facts one by one, as case_facts
finds them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    FromClause,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from adapters.sql import tables
from adapters.sql.repositories.common import json_at, text_at
from engine.model import CaseRecord
from engine.outcomes import tally
from engine.summary_ports import CaseFacts, CaseGroup, HiddenSteps

FactsOf = Callable[[Collection[int]], list[CaseFacts]]


FACT_TYPES = ("version_allocated", "outcome_recorded", "task_completed")  # fact_events's


def fact_events(step: str) -> ColumnElement[bool]:
    """The summarised events a case's facts are read from: split allocations, outcomes, and
    completions of `step`."""
    s = tables.summary_events
    return or_(and_(s.c.type == "version_allocated", s.c.split.is_(True)),
               s.c.type == "outcome_recorded",
               and_(s.c.type == "task_completed", s.c.step == step))


def read_case_groups(connection: Connection, pathway: str, hidden: HiddenSteps,
                     corrected: Collection[int], facts_of: FactsOf, *, outcome: str | None,
                     step: str, answer: str | None, days: int) -> list[CaseGroup]:
    """engine.summary_ports.DashboardSummaries.case_groups: the statement's groups, with the
    `corrected` cases' own (from facts_of) added in."""
    per_case = _per_case(connection.dialect.name, pathway, hidden, corrected,
                         outcome=outcome, step=step, answer=answer, days=days)
    groups = [group for _, _, group in _grouped(connection, per_case, answer)]
    if corrected:
        groups += [group for _, group in _corrected(
            connection, pathway, sorted(corrected), facts_of, answer=answer, days=days)]
    return tally.merged(groups)  # answers labelled alike (true, "true") are one group


def read_client_groups(connection: Connection, pathway: str, hidden: HiddenSteps,
                       corrected: Collection[int], facts_of: FactsOf, *, outcome: str,
                       start_field: str, step: str, answer: str | None, days: int
                       ) -> list[tuple[int, str | None, CaseGroup]]:
    """engine.summary_ports.DashboardSummaries.client_groups: read_case_groups with no
    outcome, grouped too by the client where it has an event of `outcome`, else by the
    text of its start date (a few thousand dates, not a row per client); the corrected
    cases by their client."""
    per_case = _per_case(connection.dialect.name, pathway, hidden, corrected, outcome=None,
                         step=step, answer=answer, days=days,
                         measured=(outcome, start_field))
    found = _grouped(connection, per_case, answer)
    if corrected:
        c = tables.cases
        keys = {case_id: (client, start) for case_id, client, start in connection.execute(
            select(c.c.id, *_client_columns(connection.dialect.name, (outcome, start_field)))
            .select_from(c.outerjoin(tables.clients, tables.clients.c.id == c.c.client_id))
            .where(c.c.id.in_(sorted(corrected))))}
        found += [(*keys[case_id], group) for case_id, group in _corrected(
            connection, pathway, sorted(corrected), facts_of, answer=answer, days=days)]
    return found


def _grouped(connection: Connection, per_case: FromClause, answer: str | None
             ) -> list[tuple[int, str | None, CaseGroup]]:
    """The per-case rows counted in groups: (client, start, group), client 0 and start
    None unless grouped by. Grouped by client there are many rows but a few kinds of group:
    each is made once and shared (100,000 groups made one by one took a third of a
    second)."""
    found = []
    made: dict[tuple[Any, ...], CaseGroup] = {}
    for *facts, client, start, cases in connection.execute(
            select(*per_case.c, func.count()).group_by(*per_case.c)).all():
        key = (*facts, cases)
        group = made.get(key)
        if group is None:
            version, status, arm, value, counted, happened, held, engaged = facts
            group = made[key] = CaseGroup(
                version, status, arm,
                None if value is None else (value if counted else bool(value)),
                bool(happened), None if answer is None else tally.answer_label(held),
                None if engaged is None else bool(engaged), cases)
        found.append((client, start, group))
    return found


def _per_case(dialect: str, pathway: str, hidden: HiddenSteps, corrected: Collection[int], *,
              outcome: str | None, step: str, answer: str | None, days: int,
              measured: tuple[str, str] | None = None) -> FromClause:
    """One row per case but the corrected ones: the facts its group is counted by (and,
    for an outcome `measured` per client, (its name, the start date's field), the client
    where it has an event of it, else the start date's text)."""
    c, sc, cs = tables.cases, tables.summary_cases, tables.summary_case_steps
    last = _last_outcome(pathway, hidden, corrected, outcome)
    gate = _true_outcome(pathway, hidden, step)
    done_hidden = sorted(hidden.versions | {version for version, steps in hidden.steps.items()
                                            if step in steps})
    steps = (select(cs.c.case_id, cs.c.done_seq)  # by its index: (pathway, step, case)
             .where(cs.c.pathway == pathway, cs.c.step == step).subquery("gate_step"))
    # the summary's own pathway too (always the case's): PostgreSQL then hashes the
    # pathway's summaries alone, not every pathway's, to look the cases up in
    joined = (c.outerjoin(sc, and_(sc.c.case_id == c.c.id, sc.c.pathway == pathway))
              .outerjoin(gate, gate.c.case_id == c.c.id)
              .outerjoin(steps, steps.c.case_id == c.c.id))
    value: ColumnElement[Any] = null()
    counted: ColumnElement[Any] = null()
    if last is not None:
        joined = joined.outerjoin(last, last.c.case_id == c.c.id)
        value, counted = last.c.value, last.c.counted
    done: ColumnElement[bool] = steps.c.done_seq.is_not(None)
    if done_hidden:
        done = and_(done, c.c.version.not_in(done_hidden))
    hidden_version = (c.c.version.in_(sorted(hidden.versions)) if hidden.versions
                      else false())
    return (select(
        c.c.version.label("version"), c.c.status.label("status"),
        case((hidden_version, null()), else_=func.nullif(sc.c.arm, 0)).label("arm"),
        value.label("value"), counted.label("counted"),
        case((or_(gate.c.case_id.is_not(None), done), 1), else_=0).label("happened"),
        (json_at(c.c.data, answer, dialect) if answer is not None and '"' not in answer
         else null()).label("answer"),
        _engaged(dialect, days).label("engaged"),
        *_client_columns(dialect, measured))
        .select_from(joined if measured is None
                     else joined.outerjoin(tables.clients,
                                           tables.clients.c.id == c.c.client_id))
        .where(c.c.pathway == pathway,
               *([c.c.id.not_in(sorted(corrected))] if corrected else []))
        .subquery("per_case"))


def _client_columns(dialect: str, measured: tuple[str, str] | None
                    ) -> list[ColumnElement[Any]]:
    """The columns "client" and "start" of a case's row: 0 and null unless measured per
    client; then its client where it has an event of the outcome (imported, or recorded by a
    step), else 0, and the text at its client's start date field."""
    if measured is None:
        return [literal(0).label("client"), null().label("start")]
    outcome, start_field = measured
    c, s, e = tables.cases, tables.summary_events, tables.outcome_events
    recorded_by = c.alias("recorded_case")
    with_events = union(
        select(e.c.client_id).where(e.c.kind == outcome),
        select(recorded_by.c.client_id)
        .select_from(s.join(recorded_by, recorded_by.c.id == s.c.case_id))
        .where(s.c.outcome == outcome, s.c.type == "outcome_recorded"))
    return [case((c.c.client_id.in_(with_events), c.c.client_id), else_=0).label("client"),
            text_at(tables.clients.c.fields, start_field, dialect).label("start")]


def shown_outcomes(pathway: str, hidden: HiddenSteps, alias: str
                    ) -> tuple[FromClause, list[ColumnElement[bool]]]:
    """The pathway's summarised outcome_recorded events, and what the privacy rule shows of
    them but their names: none of a hidden version, none at a step hidden on the case's
    version (the events are joined to their cases only then)."""
    s = tables.summary_events
    shown: list[ColumnElement[bool]] = [s.c.pathway == pathway,
                                        s.c.type == "outcome_recorded"]
    steps = [(version, steps) for version, steps in sorted(hidden.steps.items()) if steps]
    if not hidden.versions and not steps:
        return s, shown
    cases = tables.cases.alias(alias)
    if hidden.versions:
        shown.append(cases.c.version.not_in(sorted(hidden.versions)))
    shown += [not_(and_(cases.c.version == version, s.c.step.is_not(None),
                        s.c.step.in_(sorted(steps))))
              for version, steps in steps]
    return s.join(cases, cases.c.id == s.c.case_id), shown


def shown_outcome_events(pathway: str, hidden: HiddenSteps, alias: str,
                         columns: list[ColumnElement[Any]],
                         where: list[ColumnElement[bool]]) -> FromClause:
    """`columns` of the pathway's outcome_recorded events that are `where` and the rule
    shows (as shown_outcomes). When it hides steps but no version, only the events at a step
    hidden on some version are joined to their cases to tell which; the others (most, read
    from the outcomes' index alone) need no version, and come first (a LIMIT over the
    result may stop before the join is run)."""
    s = tables.summary_events
    hidden_steps = sorted(set().union(*hidden.steps.values())) if hidden.steps else []
    events, shown = shown_outcomes(pathway, hidden, alias)
    if hidden.versions or not hidden_steps:
        return select(*columns).select_from(events).where(*shown, *where).subquery()
    at_no_hidden_step = (select(*columns)
                         .where(s.c.pathway == pathway, s.c.type == "outcome_recorded",
                                or_(s.c.step.is_(None), s.c.step.not_in(hidden_steps)),
                                *where))
    at_a_hidden_step = (select(*columns).select_from(events)
                        .where(*shown, s.c.step.in_(hidden_steps), *where))
    return union_all(at_no_hidden_step, at_a_hidden_step).subquery()


def _last_outcome(pathway: str, hidden: HiddenSteps, corrected: Collection[int],
                  outcome: str | None) -> FromClause | None:
    """Per case, its last shown value of `outcome` (one pass in seq order, numbered from the
    last: no second read per case)."""
    if outcome is None:
        return None
    s = tables.summary_events
    events = shown_outcome_events(
        pathway, hidden, "outcome_case", [s.c.case_id, s.c.seq, s.c.value, s.c.counted],
        [s.c.outcome == outcome,
         *([s.c.case_id.not_in(sorted(corrected))] if corrected else [])])
    ranked = (select(events.c.case_id, events.c.value, events.c.counted,
                     func.row_number().over(partition_by=events.c.case_id,
                                            order_by=events.c.seq.desc()).label("latest"))
              .subquery("ranked_outcome"))
    return (select(ranked.c.case_id, ranked.c.value, ranked.c.counted)
            .where(ranked.c.latest == 1).subquery("last_outcome"))


def _true_outcome(pathway: str, hidden: HiddenSteps, step: str) -> FromClause:
    """The cases with a shown outcome named `step` recorded as true (the step happened)."""
    s = tables.summary_events
    events = shown_outcome_events(pathway, hidden, "gate_case", [s.c.case_id],
                                  [s.c.outcome == step, s.c.truthy == true()])
    return select(events.c.case_id).distinct().subquery("gate_outcome")


def _engaged(dialect: str, days: int) -> ColumnElement[Any]:
    """1 when the case's last task completed at or after its start + `days` days (its
    first case_started, else its created_at), 0 when not, null with no start. Exact on both
    backends: PostgreSQL adds an interval; SQLite keeps timestamps as fixed-width UTC text
    ('YYYY-MM-DD HH:MM:SS.ffffff'), so the days are added to the date part and the time of
    day kept, and the texts compared."""
    c, sc = tables.cases, tables.summary_cases
    start = func.coalesce(sc.c.started_at, c.c.created_at)
    if dialect == "sqlite":
        mark: ColumnElement[Any] = func.date(func.substr(start, 1, 10),
                                             bindparam("engaged_days", f"+{days} days")
                                             ).concat(func.substr(start, 11))
    else:
        mark = start + literal(timedelta(days=days))
    return case((start.is_(None), null()),
                (and_(sc.c.last_completed_at.is_not(None), sc.c.last_completed_at >= mark), 1),
                else_=0)


def _corrected(connection: Connection, pathway: str, ids: list[int], facts_of: FactsOf, *,
               answer: str | None, days: int) -> list[tuple[int, CaseGroup]]:
    """The corrected cases' groups, each from its facts found one by one, with its id."""
    c = tables.cases
    path = answer if answer is not None and '"' not in answer else None
    rows = connection.execute(
        select(c.c.id, c.c.version, c.c.status, c.c.created_at, c.c.client_id,
               json_at(c.c.data, path, connection.dialect.name) if path is not None
               else null())
        .where(c.c.pathway == pathway, c.c.id.in_(ids))).all()
    facts = {fact.case_id: fact for fact in facts_of(ids)}
    found = []
    for case_id, version, status, created_at, client, held in rows:
        case = CaseRecord(id=case_id, pathway=pathway, version=version, client_id=client,
                          status=status, state={}, created_at=created_at,
                          data=nested([] if path is None else [(path, held)]))
        chosen = [facts[case_id]] if case_id in facts else []
        found += [(case_id, group) for group in tally.groups_from_facts(
            [case], chosen, {fact.case_id: fact.outcome for fact in chosen}, answer=answer,
            days=days)]
    return found


def nested(answers: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Case data holding just these answers, each at its dotted path (absent ones left out,
    as in the whole data)."""
    data: dict[str, Any] = {}
    for path, value in answers:
        if value is None:
            continue
        *parents, last = path.split(".")
        into = data
        for part in parents:
            into = into.setdefault(part, {})
        into[last] = value
    return data
