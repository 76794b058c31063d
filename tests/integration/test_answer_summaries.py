"""Each answer's values among a pathway's cases, kept as cases are written (issue 17,
adapters.sql.answer_summaries): the values the dashboard reads are always those a read of
every case's data finds, after cases are added, their data changed mid-case (a value no case
holds any more gone), moved to another version, saved without being read first in the
transaction, and after migration 0025 counts the cases stored before it; on SQLite and
PostgreSQL. The reference is the fakes' answer_values, over the same cases."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, select

from adapters.sql import SqlAlchemyUnitOfWorkFactory, tables, upgrade
from adapters.sql.schema import downgrade
from engine import Engine
from engine.model import CaseRecord, Client
from engine.ports import UnitOfWorkFactory
from tests.bundles import bundle
from tests.databases import migrated_engine
from tests.integration import dashboard_data
from tests.unit.engine.fakes import FakeData, _Summaries

LONG = "x" * 300  # a name and a value longer than a key is kept whole


def _distinct(values: dict[str, list[Any]]) -> dict[str, list[str]]:
    """Each one's values in an order of their own, an object's keys in theirs."""
    return {name: sorted(f"{type(v).__name__}:{json.dumps(v, sort_keys=True)}" for v in held)
            for name, held in values.items()}


def _expected(uow: Any, pathway: str, names: list[str]) -> dict[str, list[str]]:
    cases = uow.cases.list(pathway=pathway)
    reference = _Summaries(FakeData(cases={c.id or 0: c for c in cases}))
    return _distinct(reference.answer_values(pathway, names))


def _assert_values(uow_factory: UnitOfWorkFactory, pathway: str, names: list[str]) -> None:
    with uow_factory() as uow:
        assert _distinct(uow.summaries.answer_values(pathway, names)) == _expected(
            uow, pathway, names)


def _save(uow_factory: UnitOfWorkFactory, case_id: int, data: dict[str, Any], *,
          read: bool = True) -> None:
    with uow_factory() as uow:
        if read:
            stored = uow.cases.get(case_id)
        else:  # read as a list reads it: save must find the answers it had itself
            stored = next(c for c in uow.cases.list() if c.id == case_id)
        assert stored is not None
        uow.cases.save(replace(stored, data=data), stored.revision)
        uow.commit()


def test_values_follow_the_cases_data_as_it_changes(
        engine: Engine, uow_factory: UnitOfWorkFactory) -> None:
    engine.publish(*bundle("gate_reception"))
    names = ["risk", "flag", LONG, "nested", "gone", "never"]
    cases = [engine.start_case("gate_reception", engine.add_client(f"C{n}").id or 0,
                               actor="cara").case.id or 0 for n in range(3)]
    _assert_values(uow_factory, "gate_reception", names)
    _save(uow_factory, cases[0], {"risk": "low", "flag": True, "gone": 1})
    _save(uow_factory, cases[1], {"risk": "low", "flag": 1, LONG: LONG,
                                  "nested": {"b": 1, "a": [1, "2"]}})
    _save(uow_factory, cases[2], {"risk": "high", "flag": "1", "nested": {"a": [1, "2"],
                                                                           "b": 1}})
    _assert_values(uow_factory, "gate_reception", names)
    with uow_factory() as uow:
        assert _distinct(uow.summaries.answer_values("gate_reception", names)) == {
            "risk": ['str:"high"', 'str:"low"'], "flag": ["bool:true", "int:1", 'str:"1"'],
            LONG: [f'str:"{LONG}"'], "nested": ['dict:{"a": [1, "2"], "b": 1}'],
            "gone": ["int:1"]}
    # changed mid-case: "low" still held by one case, "high", the long value and "gone" by
    # none; saved without a read of the case in the transaction too
    _save(uow_factory, cases[2], {"risk": "low", "flag": None}, read=False)
    _save(uow_factory, cases[0], {"risk": "low", "flag": True})
    _save(uow_factory, cases[1], {"risk": "low", "flag": 1, LONG: "short"}, read=False)
    _assert_values(uow_factory, "gate_reception", names)
    with uow_factory() as uow:
        assert _distinct(uow.summaries.answer_values("gate_reception", names)) == {
            "risk": ['str:"low"'], "flag": ["bool:true", "int:1"], LONG: ['str:"short"']}
    # a case on another version keeps its answers; saved twice in one transaction
    with uow_factory() as uow:
        stored = uow.cases.get(cases[0])
        assert stored is not None
        moved = replace(stored, version=2, data={"risk": "medium"})
        uow.cases.save(moved, stored.revision)
        uow.cases.save(replace(moved, data={"risk": "high"}), stored.revision + 1)
        uow.commit()
    _assert_values(uow_factory, "gate_reception", names)


def test_a_completed_form_s_answers_are_counted(
        engine: Engine, uow_factory: UnitOfWorkFactory) -> None:
    engine.publish(*bundle("gate_reception"))
    case_id = engine.start_case("gate_reception", engine.add_client("Ann").id or 0,
                                actor="cara").case.id or 0
    view = engine.list_tasks(case_id=case_id)[0]
    engine.complete_task(view.task.id, {**{f"needs_{need}": need == "family" for need in (
        "accommodation", "benefits", "substance_misuse", "mental_health", "family",
        "employment")}, "risk_level": "medium", "notes": "Assessed."}, actor="cara")
    names = ["needs_family", "needs_benefits", "risk_level", "notes"]
    with uow_factory() as uow:
        found = _distinct(uow.summaries.answer_values("gate_reception", names))
    assert found == {"needs_family": ["bool:true"], "needs_benefits": ["bool:false"],
                     "risk_level": ['str:"medium"'],
                     "notes": ['str:"Assessed."']}
    _assert_values(uow_factory, "gate_reception", names)


def test_a_write_that_fails_counts_nothing(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        client = uow.clients.add(Client(None, "Ann", {}))
        case = uow.cases.add(CaseRecord(None, "p", 1, client.id or 0, "active", {},
                                        data={"a": "one"}))
        uow.commit()
    with uow_factory() as uow:
        stored = uow.cases.get(case.id or 0)
        assert stored is not None
        uow.cases.save(replace(stored, data={"a": "two"}), stored.revision)
        # rolled back: never committed
    _assert_values(uow_factory, "p", ["a"])
    with uow_factory() as uow:
        assert _distinct(uow.summaries.answer_values("p", ["a"])) == {"a": ['str:"one"']}


def test_migration_0025_counts_the_answers_of_the_cases_stored(database_url: str) -> None:
    with migrated_engine(database_url) as database:
        storage = SqlAlchemyUnitOfWorkFactory(database)
        dashboard_data.build(storage, seed=7)
        with storage() as uow:
            case = uow.cases.add(CaseRecord(None, dashboard_data.PATHWAY, 1, 1, "active", {},
                                            data={LONG: LONG, "n": {"b": [1], "a": None}}))
            uow.commit()
        with database.connect() as connection:
            written = sorted(connection.execute(select(tables.summary_answers)).all())
        names = [dashboard_data.ANSWER, LONG, "n"]
        with storage() as uow:
            before = _distinct(uow.summaries.answer_values(dashboard_data.PATHWAY, names))
            assert before == _expected(uow, dashboard_data.PATHWAY, names)
            assert case.id is not None and before[LONG] == [f'str:"{LONG}"']
        with database.begin() as connection:  # as if written before the counts existed
            connection.execute(delete(tables.summary_answers))
        downgrade(database_url, "0024_inbox_lane_index")
        upgrade(database_url)
        with database.connect() as connection:
            counted = sorted(connection.execute(select(tables.summary_answers)).all())
        # the rows written case by case, but those whose count went back to 0
        assert counted == [row for row in written if row.cases]
        with storage() as uow:
            assert _distinct(uow.summaries.answer_values(dashboard_data.PATHWAY,
                                                         names)) == before
