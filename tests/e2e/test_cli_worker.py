"""`pathways worker` and `pathways messages deliver` go on past a bad case (issue 11, item 2):
they exit 0 with their JSON, log one line per failing case on stderr, and the failing case is
listed by `cases list --status error`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from adapters.sql import SqlAlchemyUnitOfWorkFactory, make_engine, tables
from engine.model import Message
from tests.e2e.test_cli import DATA, TIMER_BPMN, Cli


def test_worker_and_delivery_isolate_a_damaged_case(cli: Cli, tmp_path: Path) -> None:
    tick = tmp_path / "tick.bpmn"
    tick.write_text(TIMER_BPMN, encoding="utf-8")
    published_tick, published_wake, added = cli.many(
        ["publish", str(tick)], ["publish", str(DATA / "wake.bpmn")],
        ["clients", "add", "--name", "Eve"])
    assert published_tick.ok()["pathway"] == "tick" and published_wake.ok()["pathway"] == "wake"
    client = str(added.ok()["id"])
    good, damaged_timer, waiting = (outcome.ok() for outcome in cli.many(
        ["cases", "start", "tick", "--client", client],
        ["cases", "start", "tick", "--client", client],
        ["cases", "start", "wake", "--client", client]))
    [prepare] = waiting["tasks"]
    assert cli.json("tasks", "complete", prepare["id"])["status"] == "active"

    # Two rows damaged in the database, and a message kept by a sender whose process
    # stopped before routing it.
    assert cli.database_url is not None
    db = make_engine(cli.database_url)
    try:
        with db.begin() as connection:
            connection.execute(
                update(tables.cases)
                .where(tables.cases.c.id.in_([damaged_timer["id"], waiting["id"]]))
                .values(state={"pathways_state_format": 1, "tasks": {}}))
        with SqlAlchemyUnitOfWorkFactory(db)() as uow:
            uow.messages.add(Message(id=None, name="appointment_booked", client_id=int(client),
                                     payload={"on": "Monday"}, sender_case_id=None,
                                     created_at=datetime.now(UTC)))
            uow.commit()
    finally:
        db.dispose()

    delivery = cli.run("messages", "deliver")
    assert delivery.returncode == 0, delivery.stderr
    assert json.loads(delivery.stdout) == {"delivered": 0}
    [line] = delivery.stderr.splitlines()
    assert f"case {waiting['id']}: delivering message 'appointment_booked' failed" in line

    latest = max(datetime.fromisoformat(c["created_at"]) for c in (good, damaged_timer))
    time.sleep(max(0.0, (latest + timedelta(seconds=1.5) - datetime.now(UTC)).total_seconds()))
    rounds = cli.run("worker", "--rounds", "1", "--interval", "0")
    assert rounds.returncode == 0, rounds.stderr
    assert [json.loads(line) for line in rounds.stdout.splitlines()] == [
        {"round": 1, "fired": 1, "delivered": 0, "moved": 0}]
    [line] = rounds.stderr.splitlines()
    assert f"case {damaged_timer['id']}: firing its timer failed: StateFormatError" in line

    failed, shown, again = cli.many(["cases", "list", "--status", "error"],
                                    ["cases", "show", str(good["id"])],
                                    ["messages", "deliver"])
    listed = {case["id"]: case for case in failed.ok()}
    assert sorted(listed) == sorted([damaged_timer["id"], waiting["id"]])
    assert listed[damaged_timer["id"]]["error"]["step"] == "pause"
    assert [t["step"] for t in shown.ok()["tasks"]] == ["after"]
    # The kept message is not retried against the case in error: no spin, no new line.
    assert again.ok() == {"delivered": 0} and again.stderr == ""
    events = cli.json("events", str(waiting["id"]))
    assert [e["type"] for e in events].count("error") == 1
