"""The dashboard's summaries stay equal to what the events say after every kind of write the
engine makes (start, complete, cancel, retry on another version, migrate) and after
migration 0011 fills them in from events stored before it (issue 12, item 9), on SQLite and
PostgreSQL. The reference is the fakes' summaries, computed from the same events by
engine.outcomes.analysis's functions over events."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import and_, delete, select

from adapters.sql import (
    SqlAlchemyUnitOfWorkFactory,
    step_figures,
    step_summaries,
    tables,
    upgrade,
)
from adapters.sql.schema import downgrade
from engine import Engine
from engine.model import CaseRecord, Client, NewEvent
from engine.outcomes.tally import group_order
from engine.ports import UnitOfWorkFactory
from engine.summary_ports import HiddenSteps, StepCounts
from tests.bundles import bundle
from tests.databases import migrated_engine
from tests.integration import dashboard_data
from tests.unit.engine.fakes import FakeData, _Summaries

GATE = "met_at_gate"
HIDDEN = (HiddenSteps(),
          HiddenSteps(steps={1: frozenset({"refer_mental_health", "needs_assessment"})},
                      everywhere=frozenset({"mental_health_referral", "medium"})))


ANSWERS = ("needs_mental_health", "met_at_gate", "housing.status", "never_asked")


def _distinct(values: dict[str, list[Any]]) -> dict[str, list[str]]:
    """answer_values in an order of its own (a GROUP BY gives its groups in any order)."""
    return {name: sorted(f"{type(v).__name__}:{v!r}" for v in held)
            for name, held in values.items()}


def _figures(summaries: Any, pathway: str) -> list[Any]:
    found: list[Any] = [summaries.task_counts(pathway), summaries.cases(pathway, ANSWERS),
                        _distinct(summaries.answer_values(pathway, ANSWERS))]
    for hidden in HIDDEN:
        figures = summaries.step_figures(pathway, hidden)
        found += [sorted(summaries.case_groups(pathway, hidden, outcome=outcome, step=GATE,
                                               answer=answer, days=days), key=group_order)
                  for outcome, answer, days in ((GATE, "needs_mental_health", 30),
                                                (None, None, 0), ("reconvicted", "housing", 1))]
        found += [_cases_per_row(summaries.client_groups(
                      pathway, hidden, outcome="reconviction", start_field="release_date",
                      step=GATE, answer=answer, days=days))
                  for answer, days in (("needs_mental_health", 30), (None, 0))]
        found += [summaries.case_facts(pathway, hidden, outcome=GATE, step=GATE),
                  summaries.outcome_names(pathway, hidden), figures.steps,
                  {key: (c.reached, c.done, c.completions, c.median_hours,
                         c.median_hours_from_start,
                         None if c.mean_hours is None else pytest.approx(c.mean_hours))
                   for key, c in figures.counts.items()}]
    return found


def _cases_per_row(rows: list[Any]) -> Counter[Any]:
    """How many cases each (client, start, group's facts) has, however they are split into
    rows (the database adds up cases with the same start date; the fakes list each)."""
    counted: Counter[Any] = Counter()
    for client, start, group in rows:
        counted[(client, start, replace(group, cases=0))] += group.cases
    return counted


def assert_summaries_follow_events(uow_factory: UnitOfWorkFactory, *pathways: str) -> None:
    with uow_factory() as uow:
        for pathway in pathways:
            cases = uow.cases.list(pathway=pathway)
            reference = _Summaries(FakeData(
                cases={c.id or 0: c for c in cases}, events=uow.events.list_all(pathway=pathway),
                clients={c.id or 0: c for c in uow.clients.list()}))
            expected = _figures(reference, pathway)
            found = _figures(uow.summaries, pathway)
            assert sorted(found[0], key=str) == sorted(expected[0], key=str)
            assert found[1:] == expected[1:]


def _complete_open(engine: Engine, case_id: int, data: dict[str, Any]) -> None:
    view = engine.list_tasks(case_id=case_id)[0]
    engine.complete_task(view.task.id, data, actor="cara")


def test_summaries_follow_every_kind_of_write(engine: Engine,
                                              uow_factory: UnitOfWorkFactory) -> None:
    engine.publish(*bundle("gate_reception"))
    clients = [engine.add_client(name, {"release_date": "2026-02-01"}).id or 0
               for name in ("Ann", "Bo", "Cy")]
    cases = [engine.start_case("gate_reception", client, actor="cara").case.id or 0
             for client in clients]
    assert_summaries_follow_events(uow_factory, "gate_reception")
    assessment = {**{f"needs_{need}": need == "mental_health" for need in (
        "accommodation", "benefits", "substance_misuse", "mental_health", "family",
        "employment")}, "risk_level": "medium", "notes": "Assessed."}
    for case_id in cases[:2]:
        _complete_open(engine, case_id, assessment)
        assert_summaries_follow_events(uow_factory, "gate_reception")
    engine.cancel_case(cases[2], actor="cara")
    assert_summaries_follow_events(uow_factory, "gate_reception")
    files, main = bundle("gate_reception")
    engine.publish({**files, main: files[main] + "<!-- version 2 -->\n"}, main)
    engine.migrate("gate_reception", 1, 2, actor="cara")
    assert 2 in {case.version for case in engine.list_cases(pathway="gate_reception")}
    assert_summaries_follow_events(uow_factory, "gate_reception")

    engine.publish(*bundle("scripted", "x = missing_name + 1"))
    broken = engine.start_case("scripted", clients[0]).case.id or 0
    assert_summaries_follow_events(uow_factory, "scripted")
    engine.publish(*bundle("scripted", "x = 1"))
    engine.retry_case(broken, version=2, actor="designer")
    _complete_open(engine, broken, {})
    assert_summaries_follow_events(uow_factory, "scripted", "gate_reception")


def test_migration_0011_fills_the_summaries_in_from_the_events_stored(
        database_url: str) -> None:
    with migrated_engine(database_url) as database:
        storage = SqlAlchemyUnitOfWorkFactory(database)
        dashboard_data.build(storage, seed=7)
        with storage() as uow:
            before = dashboard_data.summarised(uow, GATE)
        with database.begin() as connection:  # as if written before the summaries existed
            for table in (tables.summary_events, tables.summary_event_names,
                          tables.summary_cases, tables.summary_activity):
                connection.execute(delete(table))
        downgrade(database_url, "0010_revision")
        upgrade(database_url)
        with storage() as uow:
            dashboard_data.assert_same(dashboard_data.summarised(uow, GATE), before)
            dashboard_data.assert_same(dashboard_data.summarised(uow, GATE),
                                       dashboard_data.reference(uow, GATE))


def test_migration_0033_gives_every_name_its_event_s_pathway_and_type(
        database_url: str) -> None:
    """The names written before 0033 (without their event's pathway and type) are given
    them from summary_events: every name row then has its event's (a name of no event, which
    the figures never read, is deleted), and the figures are the same."""
    with migrated_engine(database_url) as database:
        storage = SqlAlchemyUnitOfWorkFactory(database)
        dashboard_data.build(storage, seed=7)
        with storage() as uow:
            before = [dashboard_data.summarised(uow, GATE), dashboard_data.summarised_facts(
                uow, GATE, dashboard_data.HIDDEN_STEPS_ONLY)]
        downgrade(database_url, "0030_attachments")
        with database.begin() as connection:  # a name of no event: none is written so
            connection.exec_driver_sql("INSERT INTO summary_event_names (case_id, seq, name) "
                                       "VALUES (1, 9999, 'mental_health')")
        upgrade(database_url)
        n, s = tables.summary_event_names, tables.summary_events
        with database.connect() as connection:
            names = connection.execute(
                select(n.c.pathway, n.c.type, s.c.pathway, s.c.type)
                .select_from(n.outerjoin(s, and_(s.c.case_id == n.c.case_id,
                                                 s.c.seq == n.c.seq)))).all()
        assert {pathway for pathway, _, _, _ in names} == {dashboard_data.PATHWAY, "other"}
        assert all(tuple(row[:2]) == tuple(row[2:]) for row in names)
        with storage() as uow:
            after = [dashboard_data.summarised(uow, GATE), dashboard_data.summarised_facts(
                uow, GATE, dashboard_data.HIDDEN_STEPS_ONLY)]
            for found, was in zip(after, before, strict=True):
                dashboard_data.assert_same(found, was)
            dashboard_data.assert_same(after[0], dashboard_data.reference(uow, GATE))


# -- the per-step figures kept as increments (adapters.sql.step_summaries) -------------------


@given(st.lists(st.one_of(st.integers(-30, 3000).map(float),
                          st.floats(-1e4, 1e6, allow_nan=False, allow_infinity=False)),
                min_size=1, max_size=60))
def test_a_median_from_bucket_counts_and_the_middle_bucket_is_statistics_median(
        values: list[float]) -> None:
    """The two reads a median takes (how many values each bucket holds, then the values of
    the middle one or two buckets) give exactly statistics.median, ties and negatives too."""
    counts: dict[int, int] = defaultdict(int)
    by_bucket: dict[int, dict[float, int]] = defaultdict(lambda: defaultdict(int))
    for value in values:
        counts[step_summaries.bucket_of(value)] += 1
        by_bucket[step_summaries.bucket_of(value)][value] += 1
    middle = [step_figures._nth(by_bucket[bucket], rank)
              for bucket, rank in step_figures._middle(counts)]
    found = middle[0] if len(middle) == 1 else (middle[0] + middle[1]) / 2
    assert found == statistics.median(values)


@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False))
def test_buckets_are_in_the_order_of_their_values(a: float, b: float) -> None:
    assert (step_summaries.bucket_of(min(a, b)) <= step_summaries.bucket_of(max(a, b)))


def test_a_case_moved_away_takes_its_steps_and_its_group_s_earliest_event_with_it(
        uow_factory: UnitOfWorkFactory) -> None:
    """Moving the case whose task came first in its group: the group's step order and counts
    come from the cases left, the moved case counts in its new version, and a split given
    after the case's tasks moves them to its arm."""
    t0 = datetime(2025, 1, 6, 9, tzinfo=UTC)
    with uow_factory() as uow:
        ids = []
        for number, (first, second) in enumerate((("assess", "review"),
                                                   ("review", "assess"))):
            client = uow.clients.add(Client(None, f"Client {number}", created_at=t0))
            case = uow.cases.add(CaseRecord(None, "housing", 1, client.id or 0, "active", {},
                                            created_at=t0, updated_at=t0))
            start = t0 + timedelta(days=number)
            uow.events.append(case.id or 0, [
                NewEvent("case_started", start, data={}),
                NewEvent("task_ready", start + timedelta(hours=1), first, None, {"task": "a"}),
                NewEvent("task_completed", start + timedelta(hours=3), first, "amy",
                         {"task": "a"}),
                NewEvent("task_ready", start + timedelta(hours=4), second, None,
                         {"task": "b"})])
            ids.append(case.id or 0)
        uow.commit()
    with uow_factory() as uow:
        figures = uow.summaries.step_figures("housing", HiddenSteps())
        assert figures.steps == ("assess", "review")
        assert figures.counts[("all", 1, "assess")].reached == 2
        moved = uow.cases.get(ids[0])
        assert moved is not None
        uow.cases.save(replace(moved, version=2), moved.revision)
        uow.events.append(ids[0], [NewEvent("version_allocated", t0 + timedelta(days=3),
                                             data={"policy": "split", "version": 2})])
        uow.commit()
    with uow_factory() as uow:
        figures = uow.summaries.step_figures("housing", HiddenSteps())
        assert figures.steps == ("assess", "review")  # case 0's assess still came first
        assert figures.counts[("all", 1, "assess")] == StepCounts(1, 0, 0, None, None, None)
        assert figures.counts[("all", 2, "assess")] == StepCounts(1, 1, 1, 2.0, 2.0, 3.0)
        assert figures.counts[("randomised", 2, "review")].reached == 1
        assert figures.steps == uow.summaries.step_figures(
            "housing", HiddenSteps(versions=frozenset({2}))).steps[::-1]
        cases = uow.cases.list(pathway="housing")
        reference = _Summaries(FakeData(cases={c.id or 0: c for c in cases},
                                        events=uow.events.list_all(pathway="housing")))
        for hidden in (HiddenSteps(), HiddenSteps(versions=frozenset({2}))):
            assert uow.summaries.step_figures("housing", hidden) == reference.step_figures(
                "housing", hidden)


def test_the_figures_read_cases_with_just_the_answers_named(
        engine: Engine, uow_factory: UnitOfWorkFactory) -> None:
    """The dashboard reads 100,000 cases without their state or whole data: each answer
    named comes back as the data holds it (a yes/no stays a bool on SQLite too, where
    json_extract gives 1/0), nested at its dotted path; a missing or null answer is absent."""
    engine.publish(*bundle("gate_reception"))
    client = engine.add_client("Ann", {"release_date": "2026-02-01"}).id or 0
    case_id = engine.start_case("gate_reception", client, actor="cara").case.id or 0
    data = {"yes": True, "no": False, "zero": 0, "text": "a \"quoted\" word", "gone": None,
            "list": [1, "b"], "housing": {"status": "none", "since": 3, "flag": False},
            "dotted.key": "not a path"}
    with uow_factory() as uow:
        stored = uow.cases.get(case_id)
        assert stored is not None
        uow.cases.save(replace(stored, data=data), stored.revision)
        uow.commit()
    named = ("yes", "no", "zero", "text", "gone", "list", "housing.status", "housing.flag",
             "housing.absent", "absent.deeper", "missing")
    with uow_factory() as uow:
        [found] = uow.summaries.cases("gate_reception", named)
        whole = uow.cases.get(case_id, with_state=False)
    assert whole is not None
    assert found.data == {"yes": True, "no": False, "zero": 0, "text": 'a "quoted" word',
                          "list": [1, "b"], "housing": {"status": "none", "flag": False}}
    assert type(found.data["zero"]) is int and type(found.data["no"]) is bool
    assert (found.id, found.pathway, found.version, found.client_id, found.status,
            found.created_at, found.state) == (whole.id, whole.pathway, whole.version,
                                               whole.client_id, whole.status,
                                               whole.created_at, {})
    with uow_factory() as uow:
        assert [c.data for c in uow.summaries.cases("gate_reception", ())] == [{}]
        assert uow.summaries.cases("no_such_pathway", named) == []
        assert _distinct(uow.summaries.answer_values("gate_reception", named)) == _distinct(
            {"yes": [True], "no": [False], "zero": [0], "text": ['a "quoted" word'],
             "list": [[1, "b"]]})  # dotted paths are no field to split by
        assert uow.summaries.answer_values("no_such_pathway", named) == {}
        assert uow.summaries.answer_values("gate_reception", ()) == {}


def test_answer_values_are_each_answer_s_distinct_values_told_apart_by_type(
        engine: Engine, uow_factory: UnitOfWorkFactory) -> None:
    """Which fields are worth splitting by is read as a GROUP BY: true, 1 and "1" are three
    values (as JSON holds them, on SQLite too), repeated values count once, null and absent
    answers none."""
    engine.publish(*bundle("gate_reception"))
    answers = [{"x": True, "y": "a"}, {"x": 1, "y": "a"}, {"x": "1", "y": None},
               {"x": True}, {"x": False, "y": "b"}]
    cases = [engine.start_case("gate_reception", engine.add_client(f"C{index}").id or 0,
                               actor="cara").case.id or 0 for index in range(len(answers))]
    with uow_factory() as uow:
        for case_id, data in zip(cases, answers, strict=True):
            stored = uow.cases.get(case_id)
            assert stored is not None
            uow.cases.save(replace(stored, data=data), stored.revision)
        uow.commit()
    with uow_factory() as uow:
        found = _distinct(uow.summaries.answer_values("gate_reception", ["x", "y", "z"]))
    assert found == {"x": ["bool:False", "bool:True", "int:1", "str:'1'"],
                     "y": ["str:'a'", "str:'b'"]}


def test_answer_values_read_any_answer_name_each_apart(
        engine: Engine, uow_factory: UnitOfWorkFactory) -> None:
    """PostgreSQL unpacks each case's data once into a column per answer: names with
    spaces and capitals are columns of their own, and names longer than a column's name
    may be (63 bytes) are not cut into one another."""
    engine.publish(*bundle("gate_reception"))
    long = "a" * 64
    answers = [{"Has space": "x", "has space": "y", f"{long}1": "one", f"{long}2": "two"},
               {"Has space": "z", f"{long}1": "uno"}]
    cases = [engine.start_case("gate_reception", engine.add_client(f"C{index}").id or 0,
                               actor="cara").case.id or 0 for index in range(len(answers))]
    with uow_factory() as uow:
        for case_id, data in zip(cases, answers, strict=True):
            stored = uow.cases.get(case_id)
            assert stored is not None
            uow.cases.save(replace(stored, data=data), stored.revision)
        uow.commit()
    with uow_factory() as uow:
        found = _distinct(uow.summaries.answer_values(
            "gate_reception", ["Has space", "has space", f"{long}1", f"{long}2"]))
        short = _distinct(uow.summaries.answer_values("gate_reception", ["Has space"]))
    assert found == {"Has space": ["str:'x'", "str:'z'"], "has space": ["str:'y'"],
                     f"{long}1": ["str:'one'", "str:'uno'"], f"{long}2": ["str:'two'"]}
    assert short == {"Has space": ["str:'x'", "str:'z'"]}


def test_a_case_is_engaged_from_exactly_the_given_days_after_its_start(
        storage: UnitOfWorkFactory) -> None:
    """Engagement is counted by the database to the microsecond, as engine.outcomes.engagement
    counts it: a task completed exactly 30 days after the start (its case_started, else the
    case's created_at) is engaged, one a microsecond earlier is not; a case with no completed
    task is not; on a month's last day too (the days added to a date, not to a month)."""
    start = datetime(2026, 1, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    day = timedelta(days=30)
    shapes = {  # name: (created_at, case_started at, last task completed at)
        "exactly": (start - timedelta(hours=5), start, start + day),
        "a microsecond short": (start, start, start + day - timedelta(microseconds=1)),
        "from created_at": (start, None, start + day),
        "whole second": (start.replace(microsecond=0), None,
                         start.replace(microsecond=0) + day),
        "never completed": (start, start, None),
        "no events": (start, None, None),
    }
    with storage() as uow:
        for index, (name, (created, started, completed)) in enumerate(shapes.items()):
            client = uow.clients.add(Client(None, name, created_at=created))
            case = uow.cases.add(CaseRecord(None, "engaged", 1, client.id or 0, "active", {},
                                            data={"name": name}, created_at=created,
                                            updated_at=created))
            events = ([NewEvent("case_started", started)] if started else []) + (
                [NewEvent("task_completed", completed, "call", "amy", {"task": f"t{index}"})]
                if completed else [])
            if events:
                uow.events.append(case.id or 0, events)
        uow.commit()
    with storage() as uow:
        groups = uow.summaries.case_groups("engaged", HiddenSteps(), outcome=None, step=GATE,
                                           answer="name", days=30)
    assert {group.answer: group.engaged for group in groups} == {
        "exactly": True, "a microsecond short": False, "from created_at": True,
        "whole second": True, "never completed": False, "no events": False}
    assert all(group.cases == 1 for group in groups)


def test_an_outcome_is_named_when_one_of_its_events_is_shown(
        uow_factory: UnitOfWorkFactory) -> None:
    """The names are found by probing the outcomes' index, each then checked against the
    rule: an outcome recorded at a step hidden on one version is named by its event on
    another; one recorded only there, only on a hidden version, or only in events hidden by
    the names in their data is not; an empty name never is."""
    recorded = {  # version: (step, outcome, the event's data beyond the outcome)
        1: [("refer", "referred", {}), ("refer", "only_hidden_step", {}), (None, "", {}),
            (None, "by_name", {"via": "mental_health"}), (None, "aa_plain", {})],
        2: [("refer", "referred", {}), ("other", "named_late", {})],
        3: [(None, "only_hidden_version", {})]}
    at = datetime(2024, 1, 1, 9, tzinfo=UTC)
    with uow_factory() as uow:
        client = uow.clients.add(Client(None, "Ann", created_at=at)).id or 0
        for version, events in recorded.items():
            case = uow.cases.add(CaseRecord(None, "p", version, client, "active", {},
                                            created_at=at, updated_at=at))
            uow.events.append(case.id or 0, [
                NewEvent("outcome_recorded", at + timedelta(minutes=n), step, None,
                         {"outcome": name, "value": True, **extra})
                for n, (step, name, extra) in enumerate(events)])
        uow.commit()
    rules = {
        "none": HiddenSteps(),
        "steps": HiddenSteps(steps={1: frozenset({"refer"})},
                             everywhere=frozenset({"mental_health"})),
        "versions": HiddenSteps(versions=frozenset({3}), steps={1: frozenset({"refer"})},
                                everywhere=frozenset({"mental_health"}))}
    with uow_factory() as uow:
        found = {label: uow.summaries.outcome_names("p", rule) for label, rule in rules.items()}
    everything = ["aa_plain", "by_name", "named_late", "only_hidden_step",
                  "only_hidden_version", "referred"]
    assert found == {
        "none": everything,
        "steps": ["aa_plain", "named_late", "only_hidden_version", "referred"],
        "versions": ["aa_plain", "named_late", "referred"]}
