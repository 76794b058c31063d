"""A programme with something broken in every way a stored case can break, for the
no-traceback tests of the CLI and the web.

On one database (SQLite or PostgreSQL): the pathway `robust` (one user task) with cases that
are active, completed and cancelled; `failing`, whose first step divides by zero, with a
case in `error`; a case of `robust` whose stored state was overwritten with nonsense
straight in the database (`corrupt`); and `rotten`, whose stored BPMN no longer parses,
with a case on it. An admin with an API token sees all of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from adapters.bootstrap import Application
from adapters.sql import tables
from tests.web.conftest import PASSWORD

ADMIN = "rb_admin"
CASEWORKER = "rb_caseworker"
ORGANISATION = "robust_org"


def bpmn(process: str, *, script: str | None = None) -> str:
    """A process of one user task (`review`), after a script task when script is given."""
    first = "review"
    steps = ""
    if script is not None:
        first = "compute"
        steps = (f'<bpmn:scriptTask id="compute" name="Compute"><bpmn:incoming>f0'
                 f'</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing><bpmn:script>{script}'
                 f'</bpmn:script></bpmn:scriptTask>'
                 f'<bpmn:sequenceFlow id="f1" sourceRef="compute" targetRef="review"/>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="{process}_defs"
    targetNamespace="https://pathways.example/tests">
  <bpmn:process id="{process}" name="{process.title()}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    {steps}
    <bpmn:userTask id="review" name="Review">
      <bpmn:incoming>{'f1' if script is not None else 'f0'}</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="{first}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@dataclass
class BrokenWorld:
    """Ids of the broken things (cases by what is wrong with them, their open tasks)."""

    client: int
    cases: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)  # case kind -> its open task
    token: str = ""  # the admin's API token
    caseworker_token: str = ""


def corrupt_state(state: dict[str, Any]) -> dict[str, Any]:
    """The state with its format marker kept but its task tree made nonsense, as a bad
    hand edit or a half-applied upgrade would leave it."""
    return {**state, "root": "not-a-task-id", "tasks": {"not-a-task-id": {"parent": 7}}}


def build(application: Application) -> BrokenWorld:
    """Publish, start and break everything on application's database."""
    engine = application.engine
    for process, script in (("robust", None), ("failing", "x = 1 / 0"), ("rotten", None)):
        engine.publish({f"{process}.bpmn": bpmn(process, script=script)}, f"{process}.bpmn",
                       note="robustness", author="tests")
    world = BrokenWorld(client=_id(engine.add_client("Robin Hood", {}).id))
    for kind, pathway in (("active", "robust"), ("completed", "robust"),
                          ("cancelled", "robust"), ("error", "failing"),
                          ("corrupt", "robust"), ("rotten", "rotten")):
        view = engine.start_case(pathway, world.client, actor="tests")
        world.cases[kind] = _id(view.case.id)
        if view.tasks:
            world.tasks[kind] = view.tasks[0].task.id
    engine.complete_task(world.tasks.pop("completed"), {}, actor="tests")
    engine.cancel_case(world.cases["cancelled"], actor="tests", reason="robustness")
    world.tasks.pop("cancelled", None)
    assert engine.get_case(world.cases["error"]).case.status == "error"
    with application.database.begin() as connection:
        state = connection.execute(select(tables.cases.c.state).where(
            tables.cases.c.id == world.cases["corrupt"])).scalar_one()
        if isinstance(state, str):
            state = json.loads(state)
        connection.execute(update(tables.cases).where(
            tables.cases.c.id == world.cases["corrupt"]).values(state=corrupt_state(state)))
        rotten = connection.execute(select(tables.versions.c.bundle_hash).where(
            tables.versions.c.pathway == "rotten")).scalar_one()
        connection.execute(update(tables.bundles).where(tables.bundles.c.hash == rotten).values(
            files={"rotten.bpmn": "<bpmn:definitions>this no longer parses"}))
    accounts = application.accounts
    accounts.add_organisation(ORGANISATION, "Robust Org")
    accounts.add_user(ADMIN, "Robust Admin", ORGANISATION, "admin", PASSWORD)
    accounts.add_user(CASEWORKER, "Robust Caseworker", ORGANISATION, "caseworker", PASSWORD)
    world.token = accounts.issue_token(ADMIN, "tests")[1]
    world.caseworker_token = accounts.issue_token(CASEWORKER, "tests")[1]
    return world


def _id(value: int | None) -> int:
    assert value is not None
    return value
