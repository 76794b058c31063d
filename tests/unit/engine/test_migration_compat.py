"""Which edits a case in flight can take (issue 15): a change is judged by what it does to
the case, not by whether the step's settings differ at all. Adding an option or an optional
field, changing words, adding a step ahead of the case move it; removing an answer it gave,
a field, making a field required or narrowing a limit refuse it, saying which field changed
and how. Steps renamed are mapped (`renames`, or `renamed_from:` in the DSL)."""

from __future__ import annotations

from typing import Any

import pytest

from engine import Engine
from engine.errors import InvalidArgumentError
from engine.versions.form_compat import form_problems
from tests.unit.engine.test_versions import REPEATING, edited, publish

LOOP = edited("          done: {type: boolean, required: true, title: Done}",
              "          done: {type: boolean, required: true, title: Done}\n"
              "          mood: {type: choice, options: [good, bad], required: true, title: Mood}\n"
              "          note: {type: text, max_length: 50, title: Note}\n"
              "          visits: {type: integer, min: 0, max: 10, title: Visits}\n"
              "      - task: review\n"
              "        role: worker\n"
              "        title: Review",
              REPEATING)
ROUND = {"done": False, "mood": "good", "note": "fine", "visits": 2}


def started(engine: Engine, v2: str, tasks_done: int) -> int:
    """A case of LOOP with so many tasks done (two a round), and v2 published."""
    publish(engine, LOOP)
    publish(engine, v2)
    client = engine.add_client("Ann").id
    assert client is not None
    case_id = engine.start_case("referral", client, version=1).case.id or 0
    for _ in range(tasks_done):
        task = engine.get_case(case_id).tasks[0].task
        engine.complete_task(task.id, ROUND if task.step == "check_in" else {})
    return case_id


def in_round_two(engine: Engine, v2: str) -> int:
    """A case of LOOP that finished its first round (now at check_in again)."""
    return started(engine, v2, 2)


def at_review(engine: Engine, v2: str) -> int:
    """A case of LOOP in its first round that has answered check_in (now at review)."""
    return started(engine, v2, 1)


def runs_to_the_end(engine: Engine, case_id: int, answers: dict[str, Any]) -> list[str]:
    done = []
    for _ in range(10):
        view = engine.get_case(case_id)
        if view.case.status != "active":
            break
        task = view.tasks[0].task
        done.append(task.step)
        engine.complete_task(task.id, answers if task.step in ("check_in", "weekly_visit") else
                             {"why": "because"} if task.step == "extra" else {})
    assert engine.get_case(case_id).case.status == "completed"
    return done


COMPATIBLE = {
    "an option added": ("[good, bad]", "[good, bad, mixed]"),
    "an optional field added": ("title: Mood}", "title: Mood}\n          extra: {type: text}"),
    "an option the case did not use removed": ("[good, bad]", "[good]"),
    "a limit widened": ("max_length: 50", "max_length: 500"),
    "a minimum lowered": ("min: 0", "min: -5"),
    "a maximum removed": ("max: 10, ", ""),
    # (mood, not done: `until: done` reads done, which must be answered)
    "a field no longer required": ("options: [good, bad], required: true,",
                                   "options: [good, bad],"),
    "help text added": ("title: Mood}", "title: Mood, help: 'How was it?'}"),
    "a step added after the loop's current step": (
        "title: Visits}", "title: Visits}\n      - task: extra\n        role: worker\n"
        "        title: Extra\n        form:\n          why: {type: text, required: true}"),
}


@pytest.mark.parametrize("edit", sorted(COMPATIBLE))
def test_a_case_in_a_loop_takes_a_compatible_change_of_its_body(engine: Engine,
                                                                edit: str) -> None:
    old, new = COMPATIBLE[edit]
    case_id = in_round_two(engine, edited(old, new, LOOP))
    result = engine.migrate("referral", 1, 2).cases[0]
    assert (result.ok, result.reason) == (True, None)
    assert engine.get_case(case_id).case.version == 2
    done = runs_to_the_end(engine, case_id, {**ROUND, "done": True})
    assert done[0] == "check_in" and done[-1] == "close"
    assert ("extra" in done) == ("task: extra" in new)


INCOMPATIBLE = {
    "the option the case answered removed": (
        ("[good, bad]", "[bad]"), "option 'good' of field 'mood' is removed, and this case "
        "answered 'good'"),
    "a field removed": (
        ("          note: {type: text, max_length: 50, title: Note}\n", ""),
        "field 'note' is removed"),
    "a field made required": (
        ("note: {type: text,", "note: {type: text, required: true,"),
        "field 'note' is now required"),
    "a required field added": (
        ("title: Mood}", "title: Mood}\n          extra: {type: text, required: true}"),
        "field 'extra' is added as a required answer, which this case never gave"),
    "a limit narrowed": (
        ("max_length: 50", "max_length: 5"),
        "field 'note' now allows at most 5 characters (was 50)"),
    "a minimum raised": (("min: 0", "min: 1"), "field 'visits' now has a minimum of 1 (was 0)"),
    "a type changed": (("visits: {type: integer", "visits: {type: number"),
                       "field 'visits' is now a number (was a whole number)"),
}


@pytest.mark.parametrize("edit", sorted(INCOMPATIBLE))
def test_an_incompatible_form_change_refuses_saying_which_field_and_how(engine: Engine,
                                                                        edit: str) -> None:
    (old, new), words = INCOMPATIBLE[edit]
    case_id = at_review(engine, edited(old, new, LOOP))
    before = engine.get_case(case_id).case
    result = engine.migrate("referral", 1, 2).cases[0]
    assert not result.ok
    assert result.reason == (
        f"step 'check_in', which this case has completed, changes in version 2 (form: {words})"
        "; it can move once it starts its next round of 'rounds', and will move by itself "
        "then")
    after = engine.get_case(case_id).case
    assert (after.version, after.revision) == (1, before.revision)
    # at the round's boundary (check_in again) what it answered before is the past: it moves
    # by itself (tests/integration/test_round_moves.py)
    task = engine.get_case(case_id).tasks[0].task
    engine.complete_task(task.id, {})
    assert engine.get_case(case_id).case.version == 2
    [migration] = engine.migrations()
    _, [entry] = engine.migration(migration.id or 0)
    assert (entry.ok, entry.reason, entry.to_step, entry.moved_at_round) == (
        True, None, "check_in", 2)


def test_a_removed_option_this_case_did_not_answer_lets_it_move_mid_round(
        engine: Engine) -> None:
    case_id = at_review(engine, edited("[good, bad]", "[good]", LOOP))
    result = engine.migrate("referral", 1, 2).cases[0]
    assert (result.ok, result.reason, result.to_step) == (True, None, "review")
    assert engine.get_case(case_id).case.version == 2


def _form(fields: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"schema": {"type": "object", "properties": fields, "required": required or []}}


def test_form_problems_judge_a_list_answer_and_a_limit_set_where_there_was_none() -> None:
    many = {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}}
    fewer = {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}
    assert form_problems(_form({"m": many}), _form({"m": fewer}), lambda _: [["a", "c"]]) == [
        "option 'c' of field 'm' is removed, and this case answered 'c'"]
    assert form_problems(_form({"m": many}), _form({"m": fewer}), lambda _: [["a"]]) == []
    assert form_problems(_form({"t": {"type": "string"}}),
                         _form({"t": {"type": "string", "maxLength": 9}}), lambda _: []) == [
        "field 't' now allows at most 9 characters (was no limit)"]
    assert form_problems(_form({"t": {"type": "string", "x-pathways-save-to": "client.a"}}),
                         _form({"t": {"type": "string"}}), lambda _: []) == [
        "field 't': its setting 'save_to' changed"]
    assert form_problems(None, _form({"t": {"type": "string"}}), lambda _: []) == []
    secret = {"type": "string", "enum": ["low", "high"], "x-pathways-sensitive": "offence"}
    assert form_problems(_form({"risk": secret}), _form({"risk": {**secret, "enum": ["low"]}}),
                         lambda _: ["high"]) == [
        "an option this case answered is removed from field 'risk' (a sensitive field: the "
        "option is not named here)"]


DECIDING = """
pathway: referral
title: Referral
roles:
  worker: {title: Worker}
steps:
  - task: intake
    role: worker
    title: Intake
    form:
      urgent: {type: boolean, required: true, title: Urgent}
  - decide: how_fast
    branches:
      - when: urgent
        steps:
          - task: fast_track
            role: worker
            title: Fast track
    otherwise:
      - task: standard
        role: worker
        title: Standard
  - task: close
    role: worker
    title: Close
"""
ON_THE_FAST_TRACK = "          - task: fast_track\n"
ON_THE_STANDARD_TRACK = "      - task: standard\n"


@pytest.mark.parametrize(("where", "moves"), [
    (ON_THE_FAST_TRACK, True), (ON_THE_STANDARD_TRACK, False)])
def test_a_step_added_on_a_branch_the_case_did_not_take_is_ahead_of_it(
        engine: Engine, where: str, moves: bool) -> None:
    indent = where[:where.index("-")]
    added = (f"{indent}- task: triage\n{indent}  role: worker\n{indent}  title: Triage\n"
             + where)
    publish(engine, DECIDING)
    publish(engine, edited(where, added, DECIDING))
    client = engine.add_client("Ann").id
    assert client is not None
    case_id = engine.start_case("referral", client, version=1).case.id or 0
    task = engine.get_case(case_id).tasks[0].task
    engine.complete_task(task.id, {"urgent": False})
    result = engine.migrate("referral", 1, 2).cases[0]
    if not moves:  # triage now comes before the step the case is at: it was skipped
        assert result.reason == ("step 'how_fast', which this case has completed, changes "
                                 "in version 2 (conditions, what comes next)")
        return
    assert (result.ok, result.reason, result.to_step) == (True, None, "standard")
    for _ in range(2):
        task = engine.get_case(case_id).tasks[0].task
        engine.complete_task(task.id, {})
    assert engine.get_case(case_id).case.status == "completed"


# -- steps renamed ----------------------------------------------------------------------

RENAMED = LOOP.replace("check_in", "weekly_visit")


@pytest.mark.parametrize("how", ["map", "renamed_from"])
def test_a_renamed_step_maps_the_cases_at_it_and_done_with_it(engine: Engine, how: str) -> None:
    v2 = RENAMED if how == "map" else RENAMED.replace(
        "      - task: weekly_visit\n", "      - task: weekly_visit\n"
        "        renamed_from: check_in\n")
    at_it, past_it = in_round_two(engine, v2), started(engine, v2, 1)
    renames = {"check_in": "weekly_visit"} if how == "map" else None
    if how == "map":
        refused = engine.migrate("referral", 1, 2, dry_run=True).cases
        assert [r.reason for r in refused] == [
            "its current step 'check_in' is removed in version 2",
            "step 'check_in', which this case has completed, is removed in version 2"]
    report = engine.migrate("referral", 1, 2, renames=renames)
    assert [(r.case, r.ok, r.from_step, r.to_step) for r in report.cases] == [
        (at_it, True, "check_in", "weekly_visit"), (past_it, True, "review", "review")]
    assert runs_to_the_end(engine, at_it, {**ROUND, "done": True})[0] == "weekly_visit"
    assert runs_to_the_end(engine, past_it, {**ROUND, "done": True}) == [
        "review", "weekly_visit", "review", "close"]


def test_a_renamed_repeat_takes_its_rounds_along(engine: Engine) -> None:
    case_id = in_round_two(engine, LOOP.replace("rounds", "sessions"))
    result = engine.migrate("referral", 1, 2, renames={"rounds": "sessions"}).cases[0]
    assert (result.ok, result.reason) == (True, None)
    assert runs_to_the_end(engine, case_id, {**ROUND, "done": True}) == [
        "check_in", "review", "close"]
    # the rounds kept under the old id carry on under the new one: round 1, then round 2
    data = engine.get_case(case_id).case.data
    assert "rounds" not in data
    assert [entry["done"] for entry in data["sessions"]["rounds"]] == [False, True]


def test_a_map_naming_a_step_the_versions_lack_is_refused(engine: Engine) -> None:
    in_round_two(engine, RENAMED)
    with pytest.raises(InvalidArgumentError, match="version 1 has no step 'visit'"):
        engine.migrate("referral", 1, 2, renames={"visit": "weekly_visit"})
    with pytest.raises(InvalidArgumentError, match="version 2 has no step 'weekly'"):
        engine.migrate("referral", 1, 2, renames={"check_in": "weekly"})
    assert engine.migrations() == []


def test_a_revert_maps_the_renamed_step_back(engine: Engine) -> None:
    case_id = in_round_two(engine, RENAMED)
    migration = engine.migrate("referral", 1, 2, renames={"check_in": "weekly_visit"})
    task = engine.get_case(case_id).tasks[0].task
    engine.complete_task(task.id, ROUND)  # moved on: migrated back by the rules
    revert = engine.revert_migration(migration.migration or 0)
    assert [(r.ok, r.reason, r.to_step) for r in revert.cases] == [(True, None, "review")]
    assert runs_to_the_end(engine, case_id, {**ROUND, "done": True}) == [
        "review", "check_in", "review", "close"]


SPLIT = """
pathway: referral
title: Referral
roles:
  worker: {title: Worker}
steps:
  - parallel: both
    branches:
      - steps:
          - task: a
            role: worker
            title: A
      - steps:
          - task: b
            role: worker
            title: B
  - task: close
    role: worker
    title: Close
"""
SPLIT_WITH_A_BRANCH_ADDED = edited(
    "      - steps:\n          - task: b",
    "      - steps:\n          - task: x\n            role: worker\n            title: X\n"
    "      - steps:\n          - task: b", SPLIT)


def test_a_case_past_a_parallel_split_is_refused_a_branch_added_to_it(engine: Engine) -> None:
    """The split started its branches before the new one existed: the new branch would
    never run and the join would wait for it (the case moved, then fell into `error`
    when its last branch finished). The parsed gateways are Pathways' merging subclasses,
    so the check must know them by what they are, not by their class's own name."""
    publish(engine, SPLIT)
    publish(engine, SPLIT_WITH_A_BRANCH_ADDED)
    client = engine.add_client("Ann").id
    assert client is not None
    case_id = engine.start_case("referral", client, version=1).case.id or 0
    a = next(t.task for t in engine.get_case(case_id).tasks if t.task.step == "a")
    engine.complete_task(a.id, {})
    result = engine.migrate("referral", 1, 2).cases[0]
    assert not result.ok and "both" in (result.reason or ""), result
    b = engine.get_case(case_id).tasks[0].task
    engine.complete_task(b.id, {})
    assert [t.task.step for t in engine.get_case(case_id).tasks] == ["close"]


def test_a_case_before_a_parallel_split_takes_a_branch_added_to_it(engine: Engine) -> None:
    publish(engine, "pathway: referral\ntitle: Referral\nroles:\n  worker: {title: Worker}\n"
            "steps:\n  - task: intake\n    role: worker\n    title: Intake\n"
            + SPLIT.split("steps:\n", 1)[1])
    publish(engine, "pathway: referral\ntitle: Referral\nroles:\n  worker: {title: Worker}\n"
            "steps:\n  - task: intake\n    role: worker\n    title: Intake\n"
            + SPLIT_WITH_A_BRANCH_ADDED.split("steps:\n", 1)[1])
    client = engine.add_client("Ann").id
    assert client is not None
    case_id = engine.start_case("referral", client, version=1).case.id or 0
    assert engine.migrate("referral", 1, 2).cases[0].ok
    engine.complete_task(engine.get_case(case_id).tasks[0].task.id, {})
    assert sorted(t.task.step for t in engine.get_case(case_id).tasks) == ["a", "b", "x"]
