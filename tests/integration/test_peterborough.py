"""The Peterborough story: mental health support added part-way through the programme.

The first social impact bond (HMP Peterborough, 2010) launched gate reception without mental
health screening and added it later. definitions/ ships both: gate_reception.v1.yaml (the
launch version) and gate_reception.yaml (version 2: a mental health screening after
first-week support, and a referral to Mind's mental_health_referral pathway on a concern with
consent). Cases started on version 1 move to version 2 if they have not passed first-week
support; the others finish on version 1. A migration can be put back.

Runs the real Engine on SQLite and PostgreSQL (the `uow_factory` fixture), with a fake clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.definition_files import pathway_name, publish_order, read_bundle
from engine import Engine
from engine.ports import UnitOfWorkFactory
from tests.unit.dsl.test_shipped import until_a_timer_fires
from tests.unit.engine.fakes import FakeClock

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
PATHWAY = "gate_reception"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RELEASE_DATE = "2026-02-01"

NO_NEEDS = {f"needs_{need}": False for need in (
    "accommodation", "benefits", "substance_misuse", "family", "employment")}
ANSWERS: dict[str, Any] = {
    "needs_assessment": {**NO_NEEDS, "risk_level": "medium"},
    "gate_meeting": {"met_at_gate": True},
    "gate_follow_up": {"contact_made": True, "contact_method": "phone"},
    "first_week_support": {"accommodation_status": "hostel", "benefits_claim_made": True},
    "refer_accommodation": {"accommodation_referral_made": True,
                            "accommodation_provider": "Peterborough Housing"},
    "weekly_contact": {"contact_made": True, "still_engaged": False},
    "exit_review": {"exit_reason": "disengaged"},
}
CONCERN_WITH_CONSENT = {"mental_health_concern": True, "consent_to_refer": True}
NO_CONCERN = {"mental_health_concern": False, "consent_to_refer": False}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def engine(uow_factory: UnitOfWorkFactory, clock: FakeClock) -> Engine:
    """The engine with definitions/ published as `pathways init` publishes it."""
    engine = Engine(uow=uow_factory, clock=clock)
    ordered = publish_order(DEFINITIONS)
    known = {pathway_name(path) for path, _ in ordered}
    for path, note in ordered:
        engine.publish(*read_bundle(path, known_pathways=known), note=note,
                       author="pathways init", unless_published=True)
    assert [v.number for v in engine.versions(PATHWAY)] == [1, 2]
    return engine


def open_steps(engine: Engine, case_id: int) -> list[str]:
    return sorted(view.task.step for view in engine.list_tasks(case_id=case_id))


def complete(engine: Engine, case_id: int, step: str, data: Mapping[str, Any]) -> None:
    [view] = [v for v in engine.list_tasks(case_id=case_id) if v.task.step == step]
    result = engine.complete_task(view.task.id, data, actor="caseworker")
    assert result.status != "error", engine.get_case(case_id).case.error


def start_on_v1(engine: Engine, name: str, *steps: tuple[str, Mapping[str, Any]]) -> int:
    """A case on version 1 for a new client, with the given steps done."""
    client = engine.add_client(name, {"release_date": RELEASE_DATE})
    assert client.id is not None
    case_id = engine.start_case(PATHWAY, client.id, version=1, actor="cara").case.id
    assert case_id is not None
    for step, data in steps:
        complete(engine, case_id, step, data)
    return case_id


def drive(engine: Engine, clock: FakeClock, case_id: int, answers: Mapping[str, Any]
          ) -> list[str]:
    """Complete the case's open tasks with the answers for their step, letting time pass
    when it waits, until it ends; the steps done, in order."""
    done: list[str] = []
    for _ in range(50):
        case = engine.get_case(case_id)
        if case.case.status != "active":
            assert case.case.status == "completed", case.case.error
            return done
        if not case.tasks:
            until_a_timer_fires(engine, clock, case_id, weeks=10)
            continue
        step = sorted(view.task.step for view in case.tasks)[0]
        complete(engine, case_id, step, answers[step])
        done.append(step)
    raise AssertionError(f"case {case_id} did not finish")


def test_cases_move_to_the_version_with_mental_health_screening_unless_past_it(
        engine: Engine, clock: FakeClock) -> None:
    assessment = ("needs_assessment", ANSWERS["needs_assessment"])
    not_met = ("gate_meeting", {"met_at_gate": False})
    cases = {
        "needs_assessment": start_on_v1(engine, "Adam"),
        "gate_meeting": start_on_v1(engine, "Ben", assessment),
        "gate_follow_up": start_on_v1(engine, "Carl", assessment, not_met),
        "first_week_support": start_on_v1(engine, "Dev", assessment,
                                          ("gate_meeting", ANSWERS["gate_meeting"])),
    }
    idle = start_on_v1(engine, "Ed", assessment)  # moved, then left alone: reverted
    late = start_on_v1(  # past first-week support: stays on version 1
        engine, "Finn", ("needs_assessment", {**ANSWERS["needs_assessment"],
                                              "needs_accommodation": True}),
        ("gate_meeting", ANSWERS["gate_meeting"]),
        ("first_week_support", ANSWERS["first_week_support"]))
    for step, case_id in cases.items():
        assert open_steps(engine, case_id) == [step]
    assert open_steps(engine, late) == ["refer_accommodation"]
    moving = {**cases, "idle": idle}

    # A dry run says what would happen and changes nothing.
    preview = engine.migrate(PATHWAY, 1, 2, dry_run=True, actor="programme_manager")
    assert preview.migration is None and preview.dry_run
    by_case = {result.case: result for result in preview.cases}
    assert set(by_case) == set(moving.values()) | {late}
    for step, case_id in cases.items():
        result = by_case[case_id]
        assert result.ok and result.from_step == result.to_step == step, result
    refused = by_case[late]
    assert not refused.ok and refused.from_step == "refer_accommodation"
    assert refused.reason is not None and "first_week_support" in refused.reason
    assert {engine.get_case(c).case.version for c in by_case} == {1}
    assert not any(e.type == "case_migrated" for c in by_case for e in engine.events(c))

    # The migration itself: the same answer, recorded.
    idle_state = json.dumps(engine.get_case(idle).case.state)
    report = engine.migrate(PATHWAY, 1, 2, actor="programme_manager")
    assert report.migration is not None
    assert [(r.case, r.ok, r.reason, r.from_step, r.to_step) for r in report.cases] == [
        (r.case, r.ok, r.reason, r.from_step, r.to_step) for r in preview.cases]
    for case_id in moving.values():
        assert engine.get_case(case_id).case.version == 2
        [migrated] = [e for e in engine.events(case_id) if e.type == "case_migrated"]
        assert migrated.actor == "programme_manager"
        assert migrated.data["migration"] == report.migration
        assert (migrated.data["from_version"], migrated.data["to_version"]) == (1, 2)
    assert engine.get_case(late).case.version == 1
    assert not any(e.type == "case_migrated" for e in engine.events(late))

    # Moved cases finish on version 2, screened; a concern with consent refers them to Mind.
    referred = {"needs_assessment", "first_week_support"}
    for step, case_id in cases.items():
        answers = {**ANSWERS, "mental_health_screening":
                   CONCERN_WITH_CONSENT if step in referred else NO_CONCERN}
        steps = drive(engine, clock, case_id, answers)
        assert steps[0] == step and steps[-1] == "exit_review"
        assert steps[steps.index("first_week_support") + 1] == "mental_health_screening"
        assert engine.get_case(case_id).case.version == 2
    minds = engine.list_cases(pathway="mental_health_referral")
    clients = {engine.get_case(case_id).case.client_id: step for step, case_id in cases.items()}
    assert sorted(clients[mind.client_id] for mind in minds) == sorted(referred)
    for step in referred:
        referrals = [e.data for e in engine.events(cases[step]) if e.type == "referral_made"]
        assert referrals == [{"pathway": "mental_health_referral"}]

    # The case that was past first-week support finishes on version 1, unscreened.
    steps = drive(engine, clock, late, ANSWERS)
    assert steps[0] == "refer_accommodation" and steps[-1] == "exit_review"
    assert "mental_health_screening" not in steps
    assert engine.get_case(late).case.version == 1

    # Putting the migration back: the untouched case returns to version 1 as it was; the
    # cases that finished on version 2 stay there.
    reverted = engine.revert_migration(report.migration, actor="programme_manager")
    assert reverted.migration is not None and reverted.reverts == report.migration
    results = {result.case: result for result in reverted.cases}
    assert set(results) == set(moving.values())
    assert results[idle].ok and results[idle].to_step == "gate_meeting"
    for case_id in cases.values():
        assert not results[case_id].ok and "completed" in (results[case_id].reason or "")
        assert engine.get_case(case_id).case.version == 2
    assert engine.get_case(idle).case.version == 1
    assert json.dumps(engine.get_case(idle).case.state) == idle_state  # as it was written
    assert open_steps(engine, idle) == ["gate_meeting"]
    assert [e.type for e in engine.events(idle)].count("migration_reverted") == 1
    steps = drive(engine, clock, idle, ANSWERS)
    assert steps[0] == "gate_meeting" and "mental_health_screening" not in steps
