"""The exit reason of the end a case reached is stored apart from its data (issue 11 item
5), on SQLite and PostgreSQL: the shipped gate reception keeps the caseworker's exit review
answer, and cases stored by the old engine are moved over by migration 0008_data."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select

from adapters.cli import case_json
from adapters.definition_files import read_bundle
from adapters.sql import upgrade
from adapters.sql.schema import downgrade
from adapters.sql.tables import cases
from engine import Engine
from engine.exports import cases_csv
from engine.ports import UnitOfWorkFactory
from tests.unit.dsl.test_shipped import DEFINITIONS, GATE_ANSWERS, KNOWN, RELEASE, drive
from tests.unit.engine.fakes import FakeClock

_CLOSING = """\
pathway: closing
title: Closing
roles:
  worker: {title: Worker}
steps:
  - task: exit_review
    role: worker
    title: Exit review
    form:
      exit_reason: {type: choice, options: [moved_away, reconvicted]}
  - end: case_closed
    reason: closed
"""


def test_gate_reception_exit_review_answer_survives_the_end_step(
        uow_factory: UnitOfWorkFactory) -> None:
    clock = FakeClock()
    engine = Engine(uow=uow_factory, clock=clock)
    for name in ("family_support.yaml", "mental_health_referral.yaml", "gate_reception.yaml"):
        engine.publish(*read_bundle(DEFINITIONS / name, known_pathways=KNOWN))
    client = engine.add_client("Sam", {"release_date": RELEASE})
    case_id = engine.start_case("gate_reception", client.id or 0).case.id or 0
    drive(engine, clock, case_id, {**GATE_ANSWERS, "exit_review": {"exit_reason": "reconvicted"}})

    stored = Engine(uow=uow_factory, clock=clock).get_case(case_id).case  # read back
    assert stored.status == "completed"
    assert (stored.data["exit_reason"], stored.exit_reason) == ("reconvicted", "closed")
    shown = case_json(stored)  # `pathways cases show --json`
    assert (shown["exit_reason"], shown["data"]["exit_reason"]) == ("closed", "reconvicted")
    [listed] = [c for c in engine.list_cases(pathway="gate_reception") if c.id == case_id]
    assert listed.exit_reason == "closed"
    # read as CSV: a repeat's rounds are a column of JSON, quoted, commas and all
    header, row = list(csv.reader(io.StringIO(cases_csv([stored]))))[:2]
    values = dict(zip(header, row, strict=True))
    assert (values["exit_reason"], values["data.exit_reason"]) == ("closed", "reconvicted")


def _row(db_engine: SqlEngine, case_id: int) -> tuple[dict[str, Any], str | None]:
    with db_engine.connect() as connection:
        data, reason = connection.execute(
            select(cases.c.data, cases.c.exit_reason).where(cases.c.id == case_id)).one()
    return data, reason


def test_cases_the_old_engine_stored_get_their_exit_reason_and_form_answer_back(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, database_url: str,
        tmp_path: Path) -> None:
    (tmp_path / "closing.yaml").write_text(_CLOSING)
    engine = Engine(uow=uow_factory, clock=FakeClock())
    engine.publish(*read_bundle(tmp_path / "closing.yaml"))
    client = engine.add_client("Ann")
    answered, unanswered = (engine.start_case("closing", client.id or 0) for _ in range(2))
    engine.complete_task(answered.tasks[0].task.id, {"exit_reason": "reconvicted"})
    engine.complete_task(unanswered.tasks[0].task.id, {})
    open_case = engine.start_case("closing", client.id or 0).case.id or 0
    answered_id, unanswered_id = answered.case.id or 0, unanswered.case.id or 0
    assert _row(db_engine, answered_id) == ({"client": {"id": client.id, "name": "Ann"},
                                             "exit_reason": "reconvicted"}, "closed")

    # back to 0006: the reason is where the old engine wrote it, over the form answer
    downgrade(database_url, "0007_signals")
    with db_engine.connect() as connection:
        old = {row.id: row.data for row in connection.execute(select(cases.c.id, cases.c.data))}
    assert old[answered_id]["exit_reason"] == "closed"  # the answer lost, as it used to be
    assert old[unanswered_id]["exit_reason"] == "closed"
    assert "exit_reason" not in old[open_case]

    upgrade(database_url)
    data, reason = _row(db_engine, answered_id)
    assert (data["exit_reason"], reason) == ("reconvicted", "closed")
    data, reason = _row(db_engine, unanswered_id)
    assert "exit_reason" not in data and reason == "closed"
    data, reason = _row(db_engine, open_case)
    assert "exit_reason" not in data and reason is None
    again = Engine(uow=uow_factory, clock=FakeClock()).get_case(answered_id).case
    assert (again.data["exit_reason"], again.exit_reason) == ("reconvicted", "closed")
