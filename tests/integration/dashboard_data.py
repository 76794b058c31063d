"""Randomised programme data for the dashboard's auditor tests, and the figures computed two
ways: from every event in Python (the dashboard's computation before the summaries, kept here
as the reference) and from the summaries (what the dashboard computes now).

The data has several versions, a randomised split, steps that are sensitive in some versions,
events whose data names a sensitive step or pathway, tasks completed without being made
ready and made ready twice, missing and repeated outcomes, counts, cases without a start,
cases moved to another version after their events were written, splits that come after a
case's tasks, and events appended a few at a time (as commands do) rather than all at once.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from engine.access import privacy
from engine.model import CaseRecord, Client, NewEvent, OutcomeEvent
from engine.outcomes import analysis
from engine.outcomes.activity import Activity, activity_by_month, activity_from_counts
from engine.outcomes.engagement import (
    Engagement,
    engagement,
    engagement_from,
    engagement_of_groups,
)
from engine.ports import UnitOfWork, UnitOfWorkFactory
from engine.summary_ports import HiddenSteps

PATHWAY = "housing"
GATE = "met_at_gate"
STEPS = ("assess", "refer_mh", "gate", "review", GATE)
HIDDEN = HiddenSteps(versions=frozenset({4}),
                     steps={1: frozenset({"refer_mh"}), 2: frozenset({"refer_mh", "gate"}),
                            3: frozenset({GATE})},
                     everywhere=frozenset({"mental_health"}))
ACTORS = ("amy", "bo", "cy", None)
HIDDEN_STEPS_ONLY = HiddenSteps(steps=HIDDEN.steps, everywhere=HIDDEN.everywhere)
HIDDEN_OUTCOME = "seen_by_mh"  # recorded only in events the privacy rule hides by name
ANSWER = "risk"  # the answer the figures are split by: labelled as JSON writes it
ANSWERS = ({"risk": "low"}, {"risk": "high"}, {"risk": "high"}, {"risk": True}, {"risk": 1},
           {"risk": "1"}, {"risk": None}, {})
T0 = datetime(2024, 1, 1, 9, tzinfo=UTC)
CLIENT_FIELDS = ({"release": {"date": "2024-01-10"}}, {"release": {"date": "2024-02-30"}},
                 {"release": {"date": " 2024-03-01 "}}, {"release": {"date": 20240101}},
                 {"release": {"date": None}}, {"release": "2024-01-10"}, {})


def _case_events(rng: random.Random, version: int, start: datetime) -> list[NewEvent]:
    found: list[NewEvent] = []
    if rng.random() < 0.9:
        message = {"message": "start:mental_health"} if rng.random() < 0.05 else {}
        found.append(NewEvent("case_started", start, data={"pathway": PATHWAY, **message}))
    if rng.random() < 0.6:
        arm = rng.choice((1, 2, 3)) if rng.random() < 0.95 else "two"
        found.append(NewEvent("version_allocated", start, data={
            "policy": rng.choice(("split", "split", "latest")), "version": arm}))
    moment = start
    for number in range(rng.randint(0, 6)):
        step = rng.choice(STEPS)
        task = f"t{number % 3}"  # a task id can come back (made ready again)
        moment += timedelta(hours=rng.randint(1, 400), minutes=rng.randint(0, 59))
        actor = rng.choice(ACTORS)
        if rng.random() < 0.85:
            found.append(NewEvent("task_ready", moment, step, None, {"task": task}))
        if rng.random() < 0.8:
            moment += timedelta(hours=rng.randint(0, 90), seconds=rng.randint(0, 3599))
            answer = rng.choice(("low", "high", "refer_mh", "completed:mental_health", 3))
            found.append(NewEvent("task_completed", moment, step, actor,
                                  {"task": task, "answer": {"risk": [answer]}}))
    if rng.random() < 0.15:  # a split after the case's tasks: its steps move to the arm
        found.append(NewEvent("version_allocated", moment, data={
            "policy": "split", "version": rng.choice((1, 2, 3))}))
    for _ in range(rng.choice((0, 1, 1, 2))):
        moment += timedelta(days=rng.randint(0, 40))
        value: Any = rng.choice((True, False, None, "yes", 0))
        found.append(NewEvent("outcome_recorded", moment, rng.choice((None, "gate", GATE)),
                              None, {"outcome": GATE, "value": value}))
    if rng.random() < 0.5:
        found.append(NewEvent("outcome_recorded", moment, rng.choice((None, "refer_mh")),
                              None, {"outcome": "reconvictions", "value": rng.randint(0, 4)}))
    if rng.random() < 0.7:
        found.append(NewEvent("outcome_recorded", moment, None, None,
                              {"outcome": "housed", "value": rng.choice((True, False, None))}))
    if rng.random() < 0.2:  # an outcome whose every event names a sensitive pathway
        found.append(NewEvent("outcome_recorded", moment, None, None,
                              {"outcome": HIDDEN_OUTCOME, "value": True,
                               "via": "mental_health"}))
    found.append(NewEvent("note_added", moment, None, "amy", {"text": "gate"}))
    return found


def build(storage: UnitOfWorkFactory, seed: int, cases: int = 60) -> None:
    """The pathway's cases and events, written through the repositories."""
    rng = random.Random(seed)
    measured = random.Random(seed + 1000)  # the clients' dates and imported events
    moved: list[int] = []
    with storage() as uow:
        for number in range(cases):
            client = uow.clients.add(Client(None, f"Client {number}", measured.choice(
                CLIENT_FIELDS), created_at=T0))
            if measured.random() < 0.3:
                day = date(2024, 1, 1) + timedelta(days=measured.randint(0, 300))
                uow.outcomes.add_event(OutcomeEvent(None, client.id or 0, "reconviction",
                                                    day, day + timedelta(days=30), "import"))
            version = rng.choice((1, 2, 3, 4))
            start = T0 + timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 600))
            case = uow.cases.add(CaseRecord(
                None, PATHWAY, version, client.id or 0, rng.choice(("active", "completed")),
                {}, data=dict(rng.choice(ANSWERS)), created_at=start,
                updated_at=start))
            events = _case_events(rng, version, start)
            while events:  # a few at a time, as commands append them
                size = rng.randint(1, 4)
                uow.events.append(case.id or 0, events[:size])
                events = events[size:]
            if rng.random() < 0.1:
                moved.append(case.id or 0)
        _other_pathway(uow)
        uow.commit()
    migrate(storage, moved, rng)


def _other_pathway(uow: UnitOfWork) -> None:
    """A case of another pathway whose events name the hidden names: none of them is the
    pathway's, so none is hidden from its figures (nor read: the names are read by pathway)."""
    other = uow.cases.add(CaseRecord(None, "other", 1, 1, "active", {}, created_at=T0,
                                     updated_at=T0))
    named = {"via": "mental_health", "next": "refer_mh"}
    uow.events.append(other.id or 0, [
        NewEvent("task_completed", T0, "assess", "amy", {"task": "x"}),
        NewEvent("version_allocated", T0, data={"policy": "split", "version": 1, **named}),
        NewEvent("task_ready", T0, GATE, None, {"task": "y", **named}),
        NewEvent("task_completed", T0, GATE, "amy", {"task": "y", **named}),
        NewEvent("outcome_recorded", T0, None, None, {"outcome": GATE, "value": True,
                                                       **named})])


def migrate(storage: UnitOfWorkFactory, case_ids: list[int], rng: random.Random) -> None:
    """Move cases to another version, as a migration does (their events stay)."""
    with storage() as uow:
        for case_id in case_ids:
            case = uow.cases.get(case_id)
            assert case is not None
            uow.cases.save(replace(case, version=rng.choice((1, 2, 3))), case.revision)
        uow.commit()


def reference(uow: UnitOfWork, outcome: str, hidden: HiddenSteps = HIDDEN) -> dict[str, Any]:
    """The figures as the dashboard computed them before the summaries: from every event."""
    cases = uow.cases.list(pathway=PATHWAY)
    events = uow.events.list_all(pathway=PATHWAY)
    version = {case.id: case.version for case in cases}
    shown = [e for e in events if not privacy.hides(hidden, version[e.case_id], e)]
    outcomes = analysis.outcomes_from_events(cases, shown, outcome)
    return _figures(
        analysis.version_comparison(cases, shown, outcomes, outcome_name=outcome,
                                    pathway=PATHWAY),
        analysis.split_by_step(cases, shown, GATE, outcomes, outcome_name=outcome),
        analysis.split_by_field(cases, ANSWER, outcomes, outcome_name=outcome),
        engagement(cases, events, 30),
        activity_by_month([e for e in events if e.type == "task_completed"],
                          {"amy": "org_a", "bo": "org_b"}),
        sorted({str(e.data.get("outcome")) for e in shown
                if e.type == "outcome_recorded" and e.data.get("outcome")}))


def summarised(uow: UnitOfWork, outcome: str, hidden: HiddenSteps = HIDDEN) -> dict[str, Any]:
    """The same figures from the cases counted in groups by the database (as
    web.dashboard_figures computes them now)."""
    summaries = uow.summaries
    groups = summaries.case_groups(PATHWAY, hidden, outcome=outcome, step=GATE, answer=ANSWER,
                                   days=30)
    return _figures(
        analysis.version_comparison_of_groups(
            groups, summaries.step_figures(PATHWAY, hidden), measured=True,
            outcome_name=outcome, pathway=PATHWAY),
        analysis.split_by_step_of_groups(groups, GATE, outcome_name=outcome),
        analysis.split_by_field_of_groups(groups, ANSWER, outcome_name=outcome),
        engagement_of_groups(groups, 30),
        activity_from_counts(summaries.task_counts(PATHWAY), {"amy": "org_a", "bo": "org_b"}),
        summaries.outcome_names(PATHWAY, hidden))


def summarised_facts(uow: UnitOfWork, outcome: str, hidden: HiddenSteps = HIDDEN
                     ) -> dict[str, Any]:
    """The same figures from each case's facts (as the dashboard computes them for an
    outcome measured from imported data)."""
    cases = uow.cases.list(pathway=PATHWAY)
    summaries = uow.summaries
    facts = summaries.case_facts(PATHWAY, hidden, outcome=outcome, step=GATE)
    recorded = {fact.case_id: fact.outcome for fact in facts}
    outcomes = {case.id: recorded.get(case.id) for case in cases if case.id is not None}
    return _figures(
        analysis.version_comparison_from(cases, facts, summaries.step_figures(PATHWAY, hidden),
                                         outcomes, outcome_name=outcome, pathway=PATHWAY),
        analysis.split_by_step_from(cases, {f.case_id for f in facts if f.happened}, GATE,
                                    outcomes, outcome_name=outcome),
        analysis.split_by_field(cases, ANSWER, outcomes, outcome_name=outcome),
        engagement_from(cases, facts, 30),
        activity_from_counts(summaries.task_counts(PATHWAY), {"amy": "org_a", "bo": "org_b"}),
        summaries.outcome_names(PATHWAY, hidden))


def _figures(comparison: analysis.VersionComparison, gate: analysis.OutcomeSplit,
             by_answer: analysis.OutcomeSplit, engaged: Engagement, activity: Activity,
             names: list[str]) -> dict[str, Any]:
    return {"versions": comparison.rows(), "gate": gate.rows(), "answer": by_answer.rows(),
            "engagement": engaged.rows(), "activity": activity.rows(), "names": names}


def assert_same(found: dict[str, Any], expected: dict[str, Any]) -> None:
    """Row for row, value for value; a mean of hours to the last few bits (a database sums
    floats in its own order, Python's fmean exactly)."""
    assert found.keys() == expected.keys()
    for table, rows in expected.items():
        assert len(found[table]) == len(rows), table
        for got, want in zip(found[table], rows, strict=True):
            if isinstance(want, dict) and str(want.get("measure", "")).endswith("mean hours") \
                    and want["value"] is not None:
                assert got == {**want, "value": pytest.approx(want["value"], rel=1e-12)}
            else:
                assert got == want, table
