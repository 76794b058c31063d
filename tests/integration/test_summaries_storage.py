"""The dashboard's summaries stay equal to what the events say after every kind of write the
engine makes (start, complete, cancel, retry on another version, migrate) and after
migration 0011 fills them in from events stored before it (issue 12, item 9), on SQLite and
PostgreSQL. The reference is the fakes' summaries, computed from the same events by
engine.outcomes.analysis's functions over events."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete

from adapters.sql import SqlAlchemyUnitOfWorkFactory, tables, upgrade
from adapters.sql.schema import downgrade
from engine import Engine
from engine.ports import HiddenSteps, UnitOfWorkFactory
from tests.bundles import bundle
from tests.databases import migrated_engine
from tests.integration import dashboard_data
from tests.unit.engine.fakes import FakeData, _Summaries

GATE = "met_at_gate"
HIDDEN = (HiddenSteps(),
          HiddenSteps(steps={1: frozenset({"refer_mental_health", "needs_assessment"})},
                      everywhere=frozenset({"mental_health_referral", "medium"})))


def _figures(summaries: Any, pathway: str) -> list[Any]:
    found: list[Any] = [summaries.task_counts(pathway)]
    for hidden in HIDDEN:
        figures = summaries.step_figures(pathway, hidden)
        found += [summaries.case_facts(pathway, hidden, outcome=GATE, step=GATE),
                  summaries.outcome_names(pathway, hidden), figures.steps,
                  {key: (c.reached, c.done, c.completions, c.median_hours,
                         c.median_hours_from_start,
                         None if c.mean_hours is None else pytest.approx(c.mean_hours))
                   for key, c in figures.counts.items()}]
    return found


def assert_summaries_follow_events(uow_factory: UnitOfWorkFactory, *pathways: str) -> None:
    with uow_factory() as uow:
        for pathway in pathways:
            cases = uow.cases.list(pathway=pathway)
            reference = _Summaries(FakeData(cases={c.id or 0: c for c in cases},
                                            events=uow.events.list_all(pathway=pathway)))
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
