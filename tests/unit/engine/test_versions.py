"""Versions, allocation, diff and migration of running cases (engine on in-memory fakes)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from dsl import compile_pathway, load_pathway
from engine import Engine
from engine.errors import CaseStateError, InvalidArgumentError, NotFoundError
from engine.model import AllocationPolicy
from engine.versions.allocation import allocate, draw, pick
from tests.bundles import bundle
from tests.pathway_texts import URGENT_REFERRAL
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

V1 = URGENT_REFERRAL + """\
  - task: assess
    role: worker
    title: Assess
    form:
      score: {type: integer, required: true, title: Score}
  - task: close
    role: worker
    title: Close
"""


def edited(old: str, new: str, text: str = V1) -> str:
    assert old in text
    return text.replace(old, new, 1)


# v2 puts a screening step between assess and close
V2_SCREEN_AFTER_ASSESS = edited("  - task: close\n", """  - task: screen
    role: worker
    title: Screen
    form:
      concern: {type: boolean, required: true, title: Concern}
  - task: close
""")


def publish(engine: Engine, text: str, note: str = "") -> int:
    compiled = compile_pathway(load_pathway(text, "referral.yaml"))
    return engine.publish(compiled.files(), compiled.bpmn_file, note=note).version


ANSWERS: dict[str, dict[str, Any]] = {
    "intake": {"urgent": False}, "assess": {"score": 3}, "screen": {"concern": True},
    "close": {}}


def advance(engine: Engine, case_id: int, steps: int) -> None:
    for _ in range(steps):
        task = engine.get_case(case_id).tasks[0].task
        engine.complete_task(task.id, ANSWERS[task.step])


def finish(engine: Engine, case_id: int) -> list[str]:
    """Complete every task until the case ends; returns the steps done."""
    done = []
    for _ in range(20):
        view = engine.get_case(case_id)
        if view.case.status != "active":
            break
        task = view.tasks[0].task
        done.append(task.step)
        engine.complete_task(task.id, ANSWERS[task.step])
    assert engine.get_case(case_id).case.status == "completed"
    return done


def types(engine: Engine, case_id: int) -> list[str]:
    return [e.type for e in engine.events(case_id)]


# -- versions and diff ---------------------------------------------------------------------


def test_version_summaries_count_cases_per_version(engine: Engine) -> None:
    publish(engine, V1, note="launch")
    client = engine.add_client("Ann").id
    assert client is not None
    engine.start_case("referral", client)
    publish(engine, V2_SCREEN_AFTER_ASSESS, note="adds screening")
    engine.start_case("referral", client)
    engine.start_case("referral", client)
    summaries = engine.version_summaries("referral")
    assert [(s.version.number, s.version.note, s.cases) for s in summaries] == [
        (1, "launch", 1), (2, "adds screening", 2)]
    with pytest.raises(NotFoundError):
        engine.version_summaries("nothing")


def test_diff_reports_added_removed_and_changed_steps(engine: Engine) -> None:
    publish(engine, V1)
    v2 = edited("title: Intake", "title: First contact", V2_SCREEN_AFTER_ASSESS)
    v2 = edited("      score: {type: integer, required: true, title: Score}",
                "      score: {type: integer, required: true, title: Score}\n"
                "      notes: {type: long_text, title: Notes}", v2)
    publish(engine, v2)
    diff = engine.diff("referral", 1, 2)
    assert [s.step for s in diff.added] == ["screen"]
    assert diff.removed == []
    changed = {c.step: c for c in diff.changed}
    assert changed["intake"].kinds == ["title"]
    assert not changed["intake"].behaviour_changed
    assert changed["intake"].changes["title"] == {"from": "Intake", "to": "First contact"}
    assert changed["assess"].kinds == ["form", "order"]
    assert changed["assess"].changes["form"]["fields_added"] == ["notes"]
    assert changed["assess"].changes["order"] == {"from": ["close"], "to": ["screen"]}
    back = engine.diff("referral", 2, 1)
    assert [s.step for s in back.removed] == ["screen"]
    assert engine.diff("referral", 1, 1).empty


def test_diff_works_for_bpmn_pathways(engine: Engine) -> None:
    files, main = bundle("intake")
    engine.publish(files, main)
    files[main] = files[main].replace('name="Assess needs"', 'name="Assess all needs"')
    engine.publish(files, main)
    diff = engine.diff("intake", 1, 2)
    assert [(c.step, c.kinds) for c in diff.changed] == [("assess", ["title"])]


# -- allocation ----------------------------------------------------------------------------


def test_new_cases_get_the_latest_version_by_default_and_say_so(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    client = engine.add_client("Ann").id
    assert client is not None
    case = engine.start_case("referral", client).case
    assert case.version == 2
    allocated = [e for e in engine.events(case.id or 0) if e.type == "version_allocated"]
    assert [e.data for e in allocated] == [{"policy": "latest", "version": 2}]
    assert engine.allocation("referral").kind == "latest"


def test_a_fixed_policy_and_a_per_case_override(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    client = engine.add_client("Ann").id
    assert client is not None
    policy = engine.set_allocation("referral", "fixed", version=1, actor="commissioner")
    assert (policy.kind, policy.version, policy.set_by) == ("fixed", 1, "commissioner")
    case = engine.start_case("referral", client).case
    assert case.version == 1
    override = engine.start_case("referral", client, version=2).case
    assert override.version == 2
    data = [e.data for e in engine.events(override.id or 0) if e.type == "version_allocated"]
    assert data == [{"policy": "override", "version": 2}]
    engine.set_allocation("referral", "latest")
    assert engine.start_case("referral", client).case.version == 2


def test_split_allocation_is_recorded_and_recomputable_from_its_seed(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    policy = engine.set_allocation("referral", "split", weights={1: 50, 2: 50}, seed="s-1")
    for number in range(40):
        client = engine.add_client(f"client {number}").id
        assert client is not None
        case = engine.start_case("referral", client).case
        event = next(e for e in engine.events(case.id or 0) if e.type == "version_allocated")
        assert event.data["policy"] == "split" and event.data["seed"] == "s-1"
        assert event.data["weights"] == {"1": 50, "2": 50}
        assert event.data["draw"] == draw("s-1", "referral", client)
        assert case.version == event.data["version"] == allocate(
            policy, "referral", client, 2).version


def test_the_same_seed_gives_the_same_allocation(clock: FakeClock) -> None:
    def run() -> list[int]:
        engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock)
        publish(engine, V1)
        publish(engine, V2_SCREEN_AFTER_ASSESS)
        engine.set_allocation("referral", "split", weights={1: 1, 2: 1}, seed="fixed seed")
        versions = []
        for number in range(30):
            client = engine.add_client(f"c{number}").id
            assert client is not None
            versions.append(engine.start_case("referral", client).case.version)
        return versions

    first, second = run(), run()
    assert first == second
    assert set(first) == {1, 2}


def test_split_without_a_seed_gets_a_random_recorded_one(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    one = engine.set_allocation("referral", "split", weights={1: 50, 2: 50})
    two = engine.set_allocation("referral", "split", weights={1: 50, 2: 50})
    assert one.seed and two.seed and one.seed != two.seed
    assert engine.allocation("referral").seed == two.seed


@pytest.mark.parametrize("seed", ["a", "b", "peterborough-2010"])
def test_a_fifty_fifty_split_lands_within_the_binomial_range(seed: str) -> None:
    policy = AllocationPolicy("referral", "split", weights={1: 50, 2: 50}, seed=seed)
    n = 10_000
    on_one = sum(allocate(policy, "referral", client, 2).version == 1
                 for client in range(1, n + 1))
    # 4.4 standard deviations: a fair split fails this once in 100,000 runs
    assert abs(on_one - n / 2) <= 4.4 * math.sqrt(n * 0.25)


def test_uneven_weights_are_honoured_in_proportion() -> None:
    policy = AllocationPolicy("referral", "split", weights={1: 20, 2: 30, 3: 50}, seed="w")
    n = 10_000
    counts = {1: 0, 2: 0, 3: 0}
    for client in range(n):
        counts[allocate(policy, "referral", client, 3).version] += 1
    for version, share in ((1, 0.2), (2, 0.3), (3, 0.5)):
        assert abs(counts[version] - n * share) <= 4.4 * math.sqrt(n * share * (1 - share))


def test_pick_covers_the_whole_unit_interval() -> None:
    assert pick({1: 1, 2: 1}, 0.0) == 1
    assert pick({1: 1, 2: 1}, 0.4999) == 1
    assert pick({1: 1, 2: 1}, 0.5) == 2
    assert pick({1: 1, 2: 1}, 0.999999) == 2


@pytest.mark.parametrize(("kind", "kwargs", "says"), [
    ("fixed", {"version": 3}, "--fixed 3: not a published version"),
    ("split", {"weights": {1: 50}}, "at least two versions"),
    ("split", {"weights": {1: 50, 3: 50}}, "version 3 is not published"),
    ("split", {"weights": {1: 50, 2: 0}}, "positive whole numbers"),
    ("coin", {}, "unknown allocation policy"),
])
def test_impossible_policies_are_refused(engine: Engine, kind: str, kwargs: dict[str, Any],
                                         says: str) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    with pytest.raises(InvalidArgumentError) as caught:
        engine.set_allocation("referral", kind, **kwargs)
    assert says in caught.value.message
    assert engine.allocation("referral").kind == "latest"


# -- migration -----------------------------------------------------------------------------


def start_on(engine: Engine, version: int, steps_done: int) -> int:
    client = engine.add_client("Client").id
    assert client is not None
    case_id = engine.start_case("referral", client, version=version).case.id
    assert case_id is not None
    advance(engine, case_id, steps_done)
    return case_id


def test_cases_before_the_change_move_and_later_ones_are_refused(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    at_intake, at_assess, at_close = (start_on(engine, 1, n) for n in range(3))
    report = engine.migrate("referral", 1, 2, actor="designer")
    assert report.migration is not None and not report.dry_run
    results = {r.case: r for r in report.cases}
    assert (results[at_intake].ok, results[at_intake].from_step,
            results[at_intake].to_step) == (True, "intake", "intake")
    assert results[at_assess].ok and results[at_assess].to_step == "assess"
    refused = results[at_close]
    assert not refused.ok and refused.from_step == "close"
    assert refused.reason == ("step 'assess', which this case has completed, changes in "
                              "version 2 (what comes next)")
    assert engine.get_case(at_close).case.version == 1
    for case_id in (at_intake, at_assess):
        view = engine.get_case(case_id)
        assert view.case.version == 2
        assert [t.task.version for t in view.tasks] == [2]
        migrated = [e for e in engine.events(case_id) if e.type == "case_migrated"]
        assert len(migrated) == 1 and migrated[0].actor == "designer"
        assert migrated[0].data["migration"] == report.migration
        assert (migrated[0].data["from_version"], migrated[0].data["to_version"]) == (1, 2)
    assert finish(engine, at_assess) == ["assess", "screen", "close"]
    assert finish(engine, at_close) == ["close"]


def test_a_removed_ready_step_or_a_changed_completed_form_refuses(engine: Engine) -> None:
    publish(engine, V1)
    without_assess = edited("""  - task: assess
    role: worker
    title: Assess
    form:
      score: {type: integer, required: true, title: Score}
""", "")
    publish(engine, without_assess)
    at_assess = start_on(engine, 1, 1)
    report = engine.migrate("referral", 1, 2)
    assert report.cases[0].reason == "its current step 'assess' is removed in version 2"
    changed_form = edited("      urgent: {type: boolean, required: true, title: Urgent}",
                          "      urgent: {type: boolean, required: true, title: Urgent}\n"
                          "      reason: {type: text, required: true, title: Reason}")
    publish(engine, changed_form)
    report = engine.migrate("referral", 1, 3)
    assert report.cases[0].reason == (
        "step 'intake', which this case has completed, changes in version 3 (form: field "
        "'reason' is added as a required answer, which this case never gave)")
    assert engine.get_case(at_assess).case.version == 1


def test_a_title_change_alone_never_stops_a_case(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, edited("title: Intake", "title: Welcome"))
    case_id = start_on(engine, 1, 2)
    report = engine.migrate("referral", 1, 2)
    assert report.cases[0].ok
    assert finish(engine, case_id) == ["close"]


def test_a_dry_run_says_what_would_happen_and_changes_nothing(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    moving, staying = start_on(engine, 1, 0), start_on(engine, 1, 2)
    before = {c: (engine.get_case(c).case.revision, types(engine, c)) for c in (moving, staying)}
    report = engine.migrate("referral", 1, 2, dry_run=True)
    assert report.migration is None and report.dry_run
    assert [(r.case, r.ok) for r in report.cases] == [(moving, True), (staying, False)]
    assert {c: (engine.get_case(c).case.revision, types(engine, c))
            for c in (moving, staying)} == before
    assert engine.migrations() == []


def test_filters_by_current_step_and_by_case(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    at_intake, at_assess = start_on(engine, 1, 0), start_on(engine, 1, 1)
    report = engine.migrate("referral", 1, 2, steps=["assess"], dry_run=True)
    assert [r.case for r in report.cases] == [at_assess]
    report = engine.migrate("referral", 1, 2, case_ids=[at_intake, 999], dry_run=True)
    assert [(r.case, r.ok, r.reason) for r in report.cases] == [
        (999, False, "no case 999"), (at_intake, True, None)]
    with pytest.raises(InvalidArgumentError):
        engine.migrate("referral", 1, 1)
    with pytest.raises(NotFoundError):
        engine.migrate("referral", 1, 7)


def test_progress_is_reported_case_by_case(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    for _ in range(3):
        start_on(engine, 1, 0)
    seen: list[tuple[int, int]] = []
    engine.migrate("referral", 1, 2, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_running_migration_records_how_far_it_has_got(engine: Engine) -> None:
    """What a page shows while a large migration runs (on any node): the cases it will
    check, recorded as it starts; how many it has checked, every PROGRESS_EVERY cases; all of
    them, and when it finished, at the end. `started` is told its id first."""
    from engine.versions.migration_commands import PROGRESS_EVERY

    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    total = 2 * PROGRESS_EVERY + 3
    for _ in range(total):
        start_on(engine, 1, 0)
    ids: list[int] = []
    seen: list[tuple[int, int | None, int, bool]] = []

    def look(done: int, _total: int) -> None:
        migration, _ = engine.migration(ids[0])
        seen.append((done, migration.planned, migration.checked,
                     migration.finished_at is None))

    report = engine.migrate("referral", 1, 2, started=ids.append, progress=look)
    assert ids == [report.migration]
    assert seen[0] == (1, total, 0, True)
    assert seen[PROGRESS_EVERY - 1] == (PROGRESS_EVERY, total, PROGRESS_EVERY, True)
    assert seen[-1] == (total, total, 2 * PROGRESS_EVERY, True)
    done, _ = engine.migration(ids[0])
    assert (done.planned, done.checked) == (total, total)
    assert done.finished_at is not None and done.progressed_at is not None
    back: list[int] = []
    revert = engine.revert_migration(ids[0], started=back.append)
    undone, _ = engine.migration(back[0])
    assert back == [revert.migration] and (undone.planned, undone.checked) == (total, total)


def test_revert_restores_untouched_cases_exactly(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    case_id = start_on(engine, 1, 1)
    before = engine.get_case(case_id)
    report = engine.migrate("referral", 1, 2)
    assert report.migration is not None
    revert = engine.revert_migration(report.migration, actor="designer")
    assert revert.reverts == report.migration and revert.migration != report.migration
    assert [(r.case, r.ok) for r in revert.cases] == [(case_id, True)]
    after = engine.get_case(case_id)
    assert after.case.version == 1
    assert after.case.data == before.case.data
    assert [(t.task.id, t.task.step, t.task.version) for t in after.tasks] == [
        (t.task.id, t.task.step, t.task.version) for t in before.tasks]
    reverted = [e for e in engine.events(case_id) if e.type == "migration_reverted"]
    assert reverted[0].data["reverts"] == report.migration
    assert reverted[0].data["restored"] is True
    _, results = engine.migration(report.migration)
    assert results[0].reverted_by == revert.migration
    with pytest.raises(CaseStateError):
        engine.revert_migration(report.migration)
    with pytest.raises(InvalidArgumentError):
        engine.revert_migration(revert.migration or 0)
    assert finish(engine, case_id) == ["assess", "close"]


# v1 and v2 wait a day after intake; v2 only retitles close
WAITING = edited("  - task: assess\n", "  - wait: cool_off\n    for: P1D\n  - task: assess\n")
WAITING_RETITLED = edited("    title: Close\n", "    title: Close the case\n", WAITING)


def test_a_revert_after_a_wait_came_due_saves_the_case_as_it_is_now(
        engine: Engine, clock: FakeClock) -> None:
    """The state stored before the migration is only written back as it was while the case
    is still that case: a wait that came due since goes off as the case is put back, the
    case runs on to its next task, and the state written says so, as its events do."""
    publish(engine, WAITING)
    publish(engine, WAITING_RETITLED)
    case_id = start_on(engine, 1, 1)
    before = engine.get_case(case_id).case
    report = engine.migrate("referral", 1, 2)
    assert report.migration is not None
    clock.advance(days=2)  # due, but no timer round has run yet
    revert = engine.revert_migration(report.migration)
    assert [(r.case, r.ok) for r in revert.cases] == [(case_id, True)]
    after = engine.get_case(case_id).case
    assert after.version == 1
    assert types(engine, case_id)[-3:] == ["migration_reverted", "timer_fired", "task_ready"]
    assert after.state != before.state
    waits = [task["state"] for task in after.state["tasks"].values()
             if task["task_spec"] == "cool_off"]
    assert waits == [TaskState.COMPLETED]
    assert [view.task.step for view in engine.get_case(case_id).tasks] == ["assess"]


def test_revert_of_a_case_that_moved_on_follows_the_migration_rules(engine: Engine) -> None:
    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    went_on, went_far = start_on(engine, 1, 0), start_on(engine, 1, 1)
    report = engine.migrate("referral", 1, 2)
    assert report.migration is not None
    advance(engine, went_on, 1)  # now at assess on v2: still fine on v1
    advance(engine, went_far, 1)  # now at screen, a step v1 does not have
    revert = engine.revert_migration(report.migration)
    results = {r.case: r for r in revert.cases}
    assert results[went_on].ok and results[went_on].to_step == "assess"
    assert not results[went_far].ok
    assert results[went_far].reason == "its current step 'screen' is removed in version 1"
    assert engine.get_case(went_on).case.version == 1
    assert engine.get_case(went_far).case.version == 2
    assert finish(engine, went_far) == ["screen", "close"]


def test_a_case_that_would_not_load_again_is_left_untouched(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.versions.migration_commands as services

    publish(engine, V1)
    publish(engine, V2_SCREEN_AFTER_ASSESS)
    case_id = start_on(engine, 1, 0)
    revision = engine.get_case(case_id).case.revision
    real = services.load_state

    def failing(state: dict[str, Any], parsed: Any, script_engine: Any,
                **options: Any) -> Any:
        if parsed.spec.task_specs.get("screen") is not None:
            raise TypeError("'module' object is not callable")
        return real(state, parsed, script_engine, **options)

    monkeypatch.setattr(services, "load_state", failing)
    report = engine.migrate("referral", 1, 2)
    assert not report.cases[0].ok
    assert report.cases[0].reason == ("the case would not survive saving and loading on "
                                      "version 2: 'module' object is not callable")
    monkeypatch.undo()
    view = engine.get_case(case_id)
    assert (view.case.version, view.case.revision) == (1, revision)
    _, results = engine.migration(report.migration or 0)
    assert [(r.case_id, r.ok) for r in results] == [(case_id, False)]


REPEATING = """
pathway: referral
title: Referral
roles:
  worker: {title: Worker}
steps:
  - repeat: rounds
    until: done
    max: 5
    steps:
      - task: check_in
        role: worker
        title: Check in
        form:
          done: {type: boolean, required: true, title: Done}
  - task: close
    role: worker
    title: Close
"""


def test_a_loop_goes_on_in_a_process_that_parsed_its_specs_afresh(clock: FakeClock) -> None:
    """A case inside a repeat, picked up by another process (a restart, the next CLI call,
    or a migration to a new version) must still hear its round complete."""
    uow = FakeUnitOfWorkFactory()
    first = Engine(uow=uow, clock=clock)
    publish(first, REPEATING)
    client = first.add_client("Ann").id
    assert client is not None
    case_id = first.start_case("referral", client).case.id or 0
    task = first.get_case(case_id).tasks[0].task
    first.complete_task(task.id, {"done": False})
    restarted = Engine(uow=uow, clock=clock)  # its own spec cache: specs parsed again
    for answer in (False, True):
        task = restarted.get_case(case_id).tasks[0].task
        assert task.step == "check_in"
        restarted.complete_task(task.id, {"done": answer})
    assert [t.task.step for t in restarted.get_case(case_id).tasks] == ["close"]


def test_a_case_inside_a_repeat_migrates_and_goes_on(engine: Engine) -> None:
    publish(engine, REPEATING)
    publish(engine, edited("title: Close", "title: Close the case", REPEATING))
    client = engine.add_client("Ann").id
    assert client is not None
    case_id = engine.start_case("referral", client, version=1).case.id or 0
    assert engine.migrate("referral", 1, 2).cases[0].ok
    task = engine.get_case(case_id).tasks[0].task
    engine.complete_task(task.id, {"done": True})
    view = engine.get_case(case_id)
    assert [(t.task.step, t.task.title) for t in view.tasks] == [("close", "Close the case")]
