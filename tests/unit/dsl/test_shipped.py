"""The shipped DSL pathways: valid, compiled as the golden files say, and run end to end.

definitions/ holds each pathway's current file and, as NAME.vN.yaml, its earlier versions
(gate_reception.v1.yaml: the launch version, without mental health screening); each file has
its own golden file, named after the definition file.

Set PATHWAYS_UPDATE_GOLDEN=1 to rewrite tests/data/golden/ after an intended compiler change,
then review the diff like any other change.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.definition_files import pathway_name, publish_order, read_bundle
from dsl import compile_pathway, load_pathway, validate
from engine import Engine
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

ROOT = Path(__file__).parents[3]
DEFINITIONS = ROOT / "definitions"
GOLDEN = ROOT / "tests" / "data" / "golden"
SHIPPED = sorted(DEFINITIONS.glob("*.yaml"))
KNOWN = {pathway_name(path) for path in SHIPPED}
GATE_V1 = DEFINITIONS / "gate_reception.v1.yaml"
GATE_V2 = DEFINITIONS / "gate_reception.yaml"
RELEASE = "2026-02-01"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_pathway_is_valid_and_matches_its_golden_bpmn(path: Path) -> None:
    document, problems = validate(path.read_text(), str(path), known_pathways=KNOWN)
    assert problems == []
    assert document is not None
    compiled = compile_pathway(document)
    assert compiled.pathway == pathway_name(path)
    golden = GOLDEN / f"{path.stem}.bpmn"  # gate_reception.v1.bpmn for gate_reception.v1.yaml
    if os.environ.get("PATHWAYS_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(compiled.bpmn, encoding="utf-8")
    assert compiled.bpmn == golden.read_text(encoding="utf-8"), (
        f"compiled {path.name} differs from {golden}; if intended, rerun with "
        "PATHWAYS_UPDATE_GOLDEN=1 and review the diff")


def engine_with_everything() -> tuple[Engine, FakeClock]:
    """Every shipped file published as `pathways init` does: gate_reception v1, then v2."""
    clock = FakeClock()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock)
    for path, note in publish_order(DEFINITIONS):
        engine.publish(*read_bundle(path, known_pathways=KNOWN), note=note)
    return engine, clock


def test_the_definitions_folder_publishes_gate_reception_v1_then_v2_with_their_notes() -> None:
    order = publish_order(DEFINITIONS)
    assert sorted(path for path, _ in order) == sorted(SHIPPED)
    notes = {path.name: note for path, note in order}
    names = list(notes)
    assert names.index("gate_reception.v1.yaml") + 1 == names.index("gate_reception.yaml")
    assert notes["gate_reception.v1.yaml"].startswith("Launch version (2010)")
    assert "mental health screening" in notes["gate_reception.yaml"]
    assert notes["family_support.yaml"] == "published by init"
    engine, _ = engine_with_everything()
    assert [(v.number, v.note) for v in engine.versions("gate_reception")] == [
        (1, notes["gate_reception.v1.yaml"]), (2, notes["gate_reception.yaml"])]
    v1_steps = read_bundle(GATE_V1, known_pathways=KNOWN)[0]["gate_reception.bpmn"]
    v2_steps = read_bundle(GATE_V2, known_pathways=KNOWN)[0]["gate_reception.bpmn"]
    assert "mental_health_screening" not in v1_steps and "needs_mental_health" not in v1_steps
    assert "mental_health_screening" in v2_steps and "needs_mental_health" not in v2_steps


def until_a_timer_fires(engine: Engine, clock: FakeClock, case_id: int, *, weeks: int) -> None:
    """Move time on eight days at a time until a timer fires, at most `weeks` times."""
    for _week in range(weeks):
        clock.advance(days=8)
        if engine.fire_due_timers(clock.now()):
            return
    raise AssertionError(f"case {case_id} waits for nothing that ever comes")


def drive(engine: Engine, clock: FakeClock, case_id: int,
          answers: Mapping[str, Any], *, max_steps: int = 400) -> list[str]:
    """Complete open tasks with the answers for their step (a dict, or a list used in turn),
    moving time on whenever nothing is open, until the case ends."""
    turns: Counter[str] = Counter()
    done: list[str] = []
    for _ in range(max_steps):
        case = engine.get_case(case_id)
        if case.case.status != "active":
            return done
        if not case.tasks:  # nothing to do: let time pass until a timer fires
            until_a_timer_fires(engine, clock, case_id, weeks=60)
            continue
        view = sorted(case.tasks, key=lambda v: v.task.step)[0]
        answer = answers[view.task.step]
        if isinstance(answer, list):
            answer = answer[min(turns[view.task.step], len(answer) - 1)]
        turns[view.task.step] += 1
        engine.complete_task(view.task.id, answer)
        done.append(view.task.step)
    raise AssertionError(f"case {case_id} did not finish in {max_steps} steps")


NO_NEEDS = {f"needs_{need}": False for need in (
    "accommodation", "benefits", "substance_misuse", "family", "employment")}
GATE_ANSWERS: dict[str, Any] = {
    "needs_assessment": {**NO_NEEDS, "needs_accommodation": True, "needs_family": True,
                         "risk_level": "high"},
    "gate_meeting": {"met_at_gate": True},
    "gate_follow_up": {"contact_made": True},
    "first_week_support": {"accommodation_status": "hostel", "benefits_claim_made": True},
    "mental_health_screening": {"mental_health_concern": False, "consent_to_refer": False},
    "refer_accommodation": {"accommodation_referral_made": True},
    "refer_family": {"family_referral_made": True, "family_contact_consent": True},
    "weekly_contact": [{"contact_made": True, "still_engaged": True}] * 2
    + [{"contact_made": True, "still_engaged": False}],
    "exit_review": {"exit_reason": "disengaged"},
}


def test_gate_reception_refers_the_family_on_and_family_support_runs_to_the_end() -> None:
    engine, clock = engine_with_everything()
    client = engine.add_client("Sam", {"release_date": RELEASE, "phone": "0700"})
    case_id = engine.start_case("gate_reception", client.id or 0).case.id or 0
    assert engine.get_case(case_id).case.version == 2
    steps = drive(engine, clock, case_id, GATE_ANSWERS)
    assert steps.count("weekly_contact") == 3 and steps[-1] == "exit_review"
    assert steps.index("first_week_support") + 1 == steps.index("mental_health_screening")
    assert engine.list_cases(pathway="mental_health_referral") == []  # no concern: no referral
    outcomes = {e.data["outcome"]: e.data["value"] for e in engine.events(case_id)
                if e.type == "outcome_recorded"}
    assert outcomes == {"met_at_gate": True}
    [family] = engine.list_cases(pathway="family_support")
    family_steps = drive(engine, clock, family.id or 0, {
        "referral_received": {"phone": "0711", "first_contact": "2026-02-03"},
        "consent": {"consent_given": True, "consent_scope": ["family_work"]},
        "family_assessment": {"children_count": 2, "relationship_strength": 2,
                              "goals": "Regular contact with the children"},
        "family_session": [{"attended": True, "goals_met": False},
                           {"attended": True, "goals_met": True}],
        "review": {"outcome_summary": "Weekly contact restored", "relationship_strength_now": 4},
    })
    assert family_steps.count("family_session") == 2
    assert engine.get_client(client.id or 0).fields["phone"] == "0711"  # saved to the record
    assert engine.get_case(family.id or 0).case.exit_reason == "completed"


@pytest.mark.parametrize("concern, consent", [(True, True), (True, False), (False, True)])
def test_gate_reception_v2_refers_to_mind_on_a_concern_with_consent(concern: bool,
                                                                    consent: bool) -> None:
    engine, clock = engine_with_everything()
    client = engine.add_client("Mo", {"release_date": RELEASE})
    case_id = engine.start_case("gate_reception", client.id or 0).case.id or 0
    steps = drive(engine, clock, case_id, {
        **GATE_ANSWERS, "needs_assessment": {**NO_NEEDS, "risk_level": "low"},
        "mental_health_screening": {"mental_health_concern": concern,
                                    "consent_to_refer": consent}})
    assert steps[:4] == ["needs_assessment", "gate_meeting", "first_week_support",
                         "mental_health_screening"]
    referrals = [e.data for e in engine.events(case_id) if e.type == "referral_made"]
    minds = engine.list_cases(pathway="mental_health_referral")
    if concern and consent:
        assert referrals == [{"pathway": "mental_health_referral"}]
        [mind] = minds
        assert mind.client_id == client.id and mind.status == "active"
    else:
        assert referrals == [] and minds == []


def test_gate_reception_v1_runs_without_mental_health_screening() -> None:
    engine, clock = engine_with_everything()
    client = engine.add_client("Lee", {"release_date": RELEASE})
    case_id = engine.start_case("gate_reception", client.id or 0, version=1).case.id or 0
    answers = {step: answer for step, answer in GATE_ANSWERS.items()
               if step != "mental_health_screening"}  # v1 would fail on a step it lacks
    steps = drive(engine, clock, case_id, answers)
    assert "mental_health_screening" not in steps and steps[-1] == "exit_review"
    assert engine.get_case(case_id).case.version == 1


@pytest.mark.parametrize("scores, expected", [
    ((4, 3, False), ["screening", "outcome"]),
    ((14, 3, False), ["screening", "make_referral", "check_attendance", "check_attendance",
                      "outcome"]),
])
def test_mental_health_referral_threshold_and_follow_ups(scores: tuple[int, int, bool],
                                                         expected: list[str]) -> None:
    engine, clock = engine_with_everything()
    client = engine.add_client("Ali")
    case_id = engine.start_case("mental_health_referral", client.id or 0).case.id or 0
    phq9, gad7, risk = scores
    steps = drive(engine, clock, case_id, {
        "screening": {"phq9_score": phq9, "gad7_score": gad7, "risk_to_self": risk},
        "make_referral": {"service": "talking_therapies",
                          "appointment_date": (clock.now() + timedelta(days=3)).date().isoformat()},
        "check_attendance": [{"attended": False}, {"attended": True}],
        "outcome": {"outcome": "in_treatment"},
    })
    assert steps == expected


def test_mental_health_referral_gives_up_after_three_follow_ups() -> None:
    engine, clock = engine_with_everything()
    client = engine.add_client("Bea")
    case_id = engine.start_case("mental_health_referral", client.id or 0).case.id or 0
    steps = drive(engine, clock, case_id, {
        "screening": {"phq9_score": 20, "gad7_score": 15, "risk_to_self": True},
        "make_referral": {"service": "crisis_team",
                          "appointment_date": (clock.now() + timedelta(days=1)).date().isoformat()},
        "check_attendance": {"attended": False},
        "outcome": {"outcome": "not_attended"},
    })
    assert steps.count("check_attendance") == 4  # the appointment check and 3 follow-ups


@pytest.mark.parametrize("situation, expected", [
    ("family", ["housing_assessment"]),
    ("no_fixed_abode", ["housing_assessment", "apply_for_housing", "housing_decision"]),
])
def test_housing_support_branches(situation: str, expected: list[str]) -> None:
    engine, clock = engine_with_everything()
    client = engine.add_client("Cal", {"release_date": RELEASE})
    case_id = engine.start_case("housing_support", client.id or 0).case.id or 0
    steps = drive(engine, clock, case_id, {
        "housing_assessment": {"current_situation": situation, "priority_need": False},
        "apply_for_housing": {"applied_to": "council"},
        "housing_decision": {"accommodation_secured": True},
    })
    assert steps == expected
    outcomes = [e.data for e in engine.events(case_id) if e.type == "outcome_recorded"]
    assert outcomes == [{"outcome": "accommodation_secured", "value": True}]


def test_employment_support_runs_both_tracks_in_parallel() -> None:
    engine, clock = engine_with_everything()
    client = engine.add_client("Dee")
    case_id = engine.start_case("employment_support", client.id or 0).case.id or 0
    first = engine.complete_task(engine.get_case(case_id).tasks[0].task.id,
                                 {"goal": "work", "qualifications": ["cscs_card"]})
    assert sorted(t.task.step for t in first.tasks) == ["cv_and_applications", "training_place"]
    steps = drive(engine, clock, case_id, {
        "cv_and_applications": {"applications_made": 5},
        "training_place": {"training_started": True},
        "outcome_check": {"in_work": True, "in_training": False},
    })
    assert steps == ["cv_and_applications", "training_place", "outcome_check"]


# -- the YAML gate_reception against the BPMN it replaced ----------------------------------

BPMN_ORIGINAL = ROOT / "tests" / "data" / "gate_reception.bpmn"


def run_gate(engine: Engine, clock: FakeClock, answers: Mapping[str, Any]
             ) -> tuple[Counter[str], list[str], set[str]]:
    client = engine.add_client("Eve", {"release_date": RELEASE})
    case_id = engine.start_case("gate_reception", client.id or 0).case.id or 0
    steps = drive(engine, clock, case_id, answers)
    main_path = [s for s in steps if not s.startswith("refer_")]
    with engine._uow() as uow:
        specs = engine._parsed(uow, "gate_reception", 1).spec.task_specs

    def first_task(target: str) -> str | None:
        """Where a branch leads, looking through merging gateways to the task it reaches."""
        spec = specs.get(target)
        while spec is not None and spec.name not in set(steps):
            if len(spec.outputs) != 1 or not type(spec).__name__.endswith("Gateway"):
                return None
            spec = spec.outputs[0]
        return spec.name if spec is not None else None

    chosen = {first_task(target) for e in engine.events(case_id) if e.type == "decision"
              for target in e.data["taken"]} - {None}
    return Counter(steps), main_path, {name for name in chosen if name}


@pytest.mark.parametrize("scenario", ["met_two_needs", "not_met_then_reached", "never_reached",
                                      "all_needs"])
def test_yaml_gate_reception_takes_the_same_steps_and_decisions_as_the_bpmn(
        scenario: str) -> None:
    """Both YAML versions run as the BPMN they replaced, but for mental health: the BPMN has a
    manual referral on a need found in the needs assessment, version 1 has nothing, version 2
    a screening after first-week support (and a referral to Mind, not made here)."""
    answers = dict(GATE_ANSWERS)
    if scenario == "not_met_then_reached":
        answers["gate_meeting"] = {"met_at_gate": False}
    elif scenario == "never_reached":
        answers["gate_meeting"] = {"met_at_gate": False}
        answers["gate_follow_up"] = {"contact_made": False}
        answers["exit_review"] = {"exit_reason": "not_engaged"}
    elif scenario == "all_needs":
        answers["needs_assessment"] = {**{k: True for k in NO_NEEDS}, "risk_level": "low"}
        for need in ("benefits", "substance_misuse", "employment"):
            answers[f"refer_{need}"] = {f"{need}_referral_made": True}
    bpmn_answers = {
        **answers, "refer_mental_health": {"mental_health_referral_made": True},
        "needs_assessment": {**answers["needs_assessment"],
                             "needs_mental_health": scenario == "all_needs"}}
    results = []
    for source, source_answers in ((BPMN_ORIGINAL, bpmn_answers), (GATE_V1, answers),
                                   (GATE_V2, answers)):
        clock = FakeClock()
        engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock)
        engine.publish(*read_bundle(source, known_pathways=KNOWN))
        results.append(run_gate(engine, clock, source_answers))
    (bpmn_steps, bpmn_path, bpmn_chosen), v1, v2 = results
    assert bpmn_steps.pop("refer_mental_health", 0) == (scenario == "all_needs")
    bpmn_chosen.discard("refer_mental_health")
    v2_steps, v2_path, v2_chosen = v2
    assert v2_steps.pop("mental_health_screening", 0) == bpmn_steps["first_week_support"]
    v2_path = [step for step in v2_path if step != "mental_health_screening"]
    for yaml_steps, yaml_path, yaml_chosen in (v1, (v2_steps, v2_path, v2_chosen)):
        assert yaml_steps == bpmn_steps
        assert yaml_path == bpmn_path
        assert yaml_chosen == bpmn_chosen


def test_every_shipped_definition_loads_without_problems() -> None:
    for path in SHIPPED:
        assert load_pathway(path.read_text(), str(path), known_pathways=KNOWN)
