"""Properties of migrating running cases between two versions of a pathway.

Random valid pathway v1 (tests/unit/dsl/test_compile_properties.py's `documents`), a random
edit of it as v2 (one edit a designer makes: a task inserted at any nesting level, a step
removed, a form field added, removed or made required, a condition, a due date, a timer, a
role, a title changed, two steps swapped...), and a case of v1 moved a random number of steps
on with random valid data. Then `Engine.migrate(v1 -> v2)`:

* either refuses the case, with a reason, and leaves it exactly as it was (still on v1, same
  revision, state and events), and it still runs to completion on v1;
* or moves it: it is on v2, its stored state loads with v2's specs, and it runs to completion
  on v2. Never a case that fails to load, never an exception from migrate.

Edits that only change words (titles, instructions, labels) never refuse; an edit that
removes a step the case is at (a ready task, a waiting timer, or a step holding one) always
does: seen when a random edit happens to, and on purpose in a property of its own. A dry run
answers as the real migration does and changes nothing. Reverting a migration of a case
nobody touched since restores its stored state exactly, and it runs to completion on v1.

The @example cases are regressions found by these properties (see their comments).

Edits keep v2 as sound as v1 is by construction, not only valid: the validator checks that a
condition's names exist somewhere, not that they are defined on every path to it, so a step
is only removed, or two steps swapped, when nothing else reads what they define.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, example, given, note, settings
from hypothesis import strategies as st

from dsl import compile_pathway, validate
from dsl.validate import reads
from engine import Engine
from engine.versions.migration import current_steps
from engine.versions.round_waits import DRY_RUN_WILL_MOVE, WILL_MOVE
from engine.workflow import runner
from engine.workflow.definitions import ParsedDefinition, parse_bundle
from engine.workflow.state import load_state
from tests.unit.dsl.test_compile_properties import (
    DURATIONS_FOR,
    HELPER,
    HELPER_ID,
    INITIAL_FORM,
    TITLES,
    act,
    checked,
    client_values,
    documents,
    run_to_the_end,
)
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

# the open task picked at random is picked alike on a replay (tests/unit/conftest.py)
pytestmark = pytest.mark.usefixtures("task_ids_in_creation_order")

PROPERTIES = settings(max_examples=50, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                             HealthCheck.filter_too_much])
PATHWAY = "generated"
# refer before wait: a refer step has a `wait` key too
STEP_KINDS = ("task", "decide", "parallel", "repeat", "refer", "wait", "record", "notify", "end")
# conditions on the initial task's fields: defined on every path of every document
CONDITIONS: tuple[Any, ...] = ("gate_a", "not gate_a", "gate_b and score > 5", "score <= 3",
                               "(gate_a) or (score in [1, 2, 3])", True, False)
NEW_TASK, NEW_FIELD = "task_901", "902"  # generated ids and field names count from 1, far lower


# -- reading a document ---------------------------------------------------------------------


def kind_of(step: dict[str, Any]) -> str:
    return next(kind for kind in STEP_KINDS if kind in step)


def step_lists(steps: list[dict[str, Any]], holder: str = "top"
               ) -> Iterator[tuple[list[dict[str, Any]], str]]:
    """Every step list, nested ones too, with what holds it (top, decide, otherwise,
    parallel, repeat)."""
    yield steps, holder
    for step in steps:
        kind = kind_of(step)
        if kind in ("decide", "parallel"):
            for branch in step["branches"]:
                yield from step_lists(branch["steps"], kind)
        if kind == "decide" and isinstance(step.get("otherwise"), list):
            yield from step_lists(step["otherwise"], "otherwise")
        if kind == "repeat":
            yield from step_lists(step["steps"], "repeat")


def inside(step: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The step and every step nested in it."""
    yield step
    for steps, _holder in list(step_lists([step]))[1:]:
        yield from steps


def all_steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for steps, _ in step_lists(document["steps"]) for step in steps]


def tasks(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in all_steps(document) if "task" in step]


def ids(step: dict[str, Any]) -> set[str]:
    return {str(each[kind_of(each)]) for each in inside(step)}


def reads_of(step: dict[str, Any]) -> set[str]:
    """The names the step's own expressions read (not those of steps nested in it)."""
    sources: list[Any] = [branch.get("when") for branch in step.get("branches") or []]
    sources += [step.get("when"), step.get("value"), step.get("until")]
    sources += [spec.get("visible_when") for spec in (step.get("form") or {}).values()]
    names: set[str] = set()
    for source in sources:
        if isinstance(source, str):
            names |= {name.partition(".")[0] for name in reads(source)}
    return names


def defines(steps: list[dict[str, Any]]) -> set[str]:
    """Every name the steps (and steps nested in them) may define: form fields, refer results."""
    names: set[str] = set()
    for step in steps:
        for each in inside(step):
            names |= set(each.get("form") or {})
            if "refer" in each:
                names.add(f"{each['refer']}_result")
    return names


def reads_in(steps: list[dict[str, Any]]) -> set[str]:
    return {name for step in steps for each in inside(step) for name in reads_of(each)}


def differs(draw: st.DrawFn, options: list[Any] | tuple[Any, ...], current: Any) -> Any:
    return draw(st.sampled_from([option for option in options if option != current]))


# -- edits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    kind: str
    step: str | None  # the step edited, if one
    removed: frozenset[str] = frozenset()  # steps the edit removes (nested ones too)
    words_only: bool = False  # titles, instructions and labels only


Editor = Callable[[st.DrawFn, dict[str, Any]], Edit]


def insert_task(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    steps, _holder = draw(st.sampled_from(list(step_lists(doc["steps"]))))
    last = len(steps)
    if steps and kind_of(steps[-1]) in ("end", "decide"):
        last -= 1  # an end, and a decide that may end, stay last
    task: dict[str, Any] = {"task": NEW_TASK, "role": draw(st.sampled_from(sorted(doc["roles"]))),
                            "title": draw(st.sampled_from(TITLES))}
    form = draw(st.sampled_from([None, {}, {f"text_{NEW_FIELD}": {"type": "text"}},
                                 {f"boolean_{NEW_FIELD}": {"type": "boolean", "required": True}}]))
    if form is not None:
        task["form"] = form
    steps.insert(draw(st.integers(0, max(last, 0))), task)
    return Edit("insert a task", NEW_TASK)


def removable(doc: dict[str, Any]) -> list[tuple[list[dict[str, Any]], int]]:
    """(list, index) of every step whose removal leaves the document sound: nothing else
    reads what it defines, and no list that must have steps is left empty."""
    everything = all_steps(doc)
    candidates = []
    for steps, holder in step_lists(doc["steps"]):
        if len(steps) == 1 and holder in ("top", "parallel", "repeat"):
            continue
        for index, step in enumerate(steps):
            gone = {id(each) for each in inside(step)}
            rest = [each for each in everything if id(each) not in gone]
            if not defines([step]) & {name for each in rest for name in reads_of(each)}:
                candidates.append((steps, index))
    return candidates


def remove_step(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    candidates = removable(doc)
    assume(candidates)
    steps, index = draw(st.sampled_from(candidates))
    step = steps.pop(index)
    return Edit(f"remove a {kind_of(step)}", str(step[kind_of(step)]),
                removed=frozenset(ids(step)))


def swap_steps(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    candidates = []
    for steps, _holder in step_lists(doc["steps"]):
        for i in range(len(steps)):
            for j in range(i + 1, len(steps)):
                if "end" in steps[i] or "end" in steps[j]:
                    continue
                # after the swap: j, i+1 .. j-1, i
                if reads_in([steps[j]]) & defines(steps[i:j]) or \
                        reads_in(steps[i + 1:j]) & defines([steps[i]]):
                    continue
                candidates.append((steps, i, j))
    assume(candidates)
    steps, i, j = draw(st.sampled_from(candidates))
    steps[i], steps[j] = steps[j], steps[i]
    return Edit("swap two steps", str(steps[j][kind_of(steps[j])]))


def add_field(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    task = draw(st.sampled_from(tasks(doc)))
    kind = draw(st.sampled_from(["text", "boolean", "integer", "choice"]))
    spec: dict[str, Any] = {"type": kind}
    if kind == "choice":
        spec["options"] = ["one", "two"]
    if draw(st.booleans()):
        spec["required"] = True
    task.setdefault("form", {})[f"{kind}_{NEW_FIELD}"] = spec
    return Edit("add a form field", task["task"])


def remove_field(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    read = reads_in(doc["steps"])
    candidates = [(task, name) for task in tasks(doc) for name in task.get("form") or {}
                  if name not in read]
    assume(candidates)
    task, name = draw(st.sampled_from(candidates))
    del task["form"][name]
    return Edit("remove a form field", task["task"])


def require_field(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    candidates = [(task, name) for task in tasks(doc)
                  for name, spec in (task.get("form") or {}).items() if not spec.get("required")]
    assume(candidates)
    task, name = draw(st.sampled_from(candidates))
    task["form"][name]["required"] = True
    return Edit("make a form field required", task["task"])


def change_condition(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    candidates = [(branch, step) for step in all_steps(doc) if "decide" in step
                  for branch in step["branches"]]
    candidates += [(step, step) for step in all_steps(doc) if "record" in step]
    assume(candidates)
    holder, step = draw(st.sampled_from(candidates))
    holder["when"] = differs(draw, CONDITIONS, holder.get("when"))
    return Edit("change a condition", str(step[kind_of(step)]))


def change_role(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    task = draw(st.sampled_from(tasks(doc)))
    if len(doc["roles"]) == 1 or draw(st.integers(0, 3)) == 0:
        doc["roles"]["coordinator"] = {"title": "Coordinator"}
    task["role"] = differs(draw, sorted(doc["roles"]), task["role"])
    return Edit("change a task's role", task["task"])


def change_due(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    task = draw(st.sampled_from(tasks(doc)))
    dues: list[Any] = [None, "P1D", "P2D", "P7D", "PT12H"]
    if (doc.get("client_fields") or {}).get("release_date") == "date":
        dues += ["release_date - P7D", "release_date + P1D"]
    due = differs(draw, dues, task.get("due"))
    if due is None:
        del task["due"]
    else:
        task["due"] = due
    return Edit("add, change or remove a due date", task["task"])


def change_timer(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    candidates = [step for step in all_steps(doc) if kind_of(step) in ("wait", "repeat")]
    assume(candidates)
    step = draw(st.sampled_from(candidates))
    if kind_of(step) == "wait":
        old_for, old_until = step.pop("for", None), step.pop("until", None)
        if draw(st.booleans()):
            step["for"] = differs(draw, DURATIONS_FOR, old_for)
        else:
            step["until"] = differs(draw, ['date("2026-01-09")', 'date("2025-12-01")',
                                           'date("2026-03-02")'], old_until)
        return Edit("change a wait", step["wait"])
    if draw(st.booleans()):
        step["max"] = differs(draw, [1, 2, 3, 4, 5], step["max"])
    elif "every" in step:
        del step["every"]
    else:
        step["every"] = "P1D"
    return Edit("change a repeat", step["repeat"])


def change_words(draw: st.DrawFn, doc: dict[str, Any]) -> Edit:
    """Titles, instructions, labels: what people read, never what a step does."""
    where = draw(st.sampled_from(["task title", "instructions", "field label", "pathway title",
                                  "role title"]))
    task = draw(st.sampled_from(tasks(doc)))
    if where == "task title":
        task["title"] = differs(draw, TITLES, task["title"])
    elif where == "instructions":
        instructions = differs(draw, [None, *TITLES], task.get("instructions"))
        task.pop("instructions", None)
        if instructions is not None:
            task["instructions"] = instructions
    elif where == "field label" and task.get("form"):
        spec = task["form"][draw(st.sampled_from(sorted(task["form"])))]
        key = draw(st.sampled_from(["title", "help"]))
        spec[key] = differs(draw, TITLES, spec.get(key))
    elif where == "role title":
        role = draw(st.sampled_from(sorted(doc["roles"])))
        doc["roles"][role]["title"] = f"Renamed {role}"
    else:
        doc["title"] = differs(draw, TITLES, doc["title"])
    return Edit(f"change a {where}", task["task"], words_only=True)


EDITORS: dict[str, Editor] = {
    "insert": insert_task, "remove": remove_step, "swap": swap_steps, "add field": add_field,
    "remove field": remove_field, "require field": require_field,
    "condition": change_condition, "role": change_role, "due": change_due,
    "timer": change_timer, "words": change_words}


# edits that let most cases move, for properties of cases that moved
MOSTLY_MOVABLE = ("insert", "add field", "due", "condition", "words", "role", "timer")


Versions = tuple[dict[str, Any], dict[str, Any], Edit]  # v1, v2 and the edit that made v2


@st.composite
def versions(draw: st.DrawFn, editors: tuple[str, ...] = tuple(EDITORS)) -> Versions:
    """(v1, v2, the edit that made v2 of v1), both valid."""
    v1 = draw(documents(block_depth=0, for_each=False))  # the edits below walk the older kinds
    v2 = copy.deepcopy(v1)
    edit = EDITORS[draw(st.sampled_from(editors))](draw, v2)
    assume_valid(v2, edit)
    event(f"edit: {edit.kind}")
    return v1, v2, edit


def assume_valid(v2: dict[str, Any], edit: Edit) -> None:
    text = yaml.safe_dump(v2, sort_keys=False, allow_unicode=True)
    _, problems = validate(text, "v2.yaml", known_pathways={HELPER_ID})
    if problems:
        event(f"invalid edit: {edit.kind}")
        note(text + "\n".join(str(p) for p in problems))
    assume(not problems)


# -- running cases ----------------------------------------------------------------------------


@dataclass
class World:
    engine: Engine
    clock: FakeClock
    parsed: dict[int, ParsedDefinition]

    def publish(self, document: dict[str, Any]) -> None:
        """Publish the document as the pathway's next version."""
        compiled = compile_pathway(document)
        published = self.engine.publish(compiled.files(), compiled.bpmn_file)
        assert (published.version, published.changed) == (len(self.parsed) + 1, True)
        self.parsed[published.version] = parse_bundle(compiled.files(), compiled.bpmn_file)


def publish(v1: dict[str, Any], v2: dict[str, Any] | None = None) -> World:
    """An engine on fakes with the helper pathway, v1 and (if given) v2 published."""
    clock = FakeClock()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock)
    helper = compile_pathway(HELPER)
    engine.publish(helper.files(), helper.bpmn_file)
    world = World(engine, clock, {})
    world.publish(checked(v1))
    if v2 is not None:
        note("v2:\n" + yaml.safe_dump(v2, sort_keys=False, allow_unicode=True))
        world.publish(v2)
    return world


def start_and_move_on(world: World, v1: dict[str, Any], data: st.DataObject) -> int:
    """A case of v1 moved a random number of steps on (tasks done, time passed)."""
    engine = world.engine
    client = engine.add_client("Generated", client_values(v1.get("client_fields") or {}, data))
    case_id = engine.start_case(PATHWAY, client.id or 0, version=1).case.id or 0
    for _ in range(data.draw(st.integers(0, 6), label="moves before migrating")):
        if engine.get_case(case_id).case.status != "active":
            break
        act(engine, world.clock, data)
    return case_id


def migrating(pair: Versions, data: st.DataObject) -> tuple[World, Edit, int]:
    """Both versions published and a case of v1 moved on, ready to migrate: the world, the
    edit that made v2, and the case."""
    v1, v2, edit = pair
    note(f"edit: {edit}")
    world = publish(v1, v2)
    return world, edit, start_and_move_on(world, v1, data)


@dataclass(frozen=True)
class Seen:
    """What the engine shows of a case."""

    version: int
    status: str
    revision: int
    state: dict[str, Any]
    data: dict[str, Any]
    waiting_for: list[str]
    tasks: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]


def seen(engine: Engine, case_id: int) -> Seen:
    view = engine.get_case(case_id)
    case = view.case
    return Seen(case.version, case.status, case.revision, copy.deepcopy(case.state),
                copy.deepcopy(case.data), list(case.waiting_for),
                sorted((t.task.id, t.task.step, t.task.title, t.task.role, t.task.form,
                        t.task.due) for t in view.tasks),
                [(e.seq, e.type, e.step, e.data) for e in engine.events(case_id)])


def finishes(world: World, case_id: int, data: st.DataObject, version: int) -> None:
    run_to_the_end(world.engine, world.clock, case_id, data)
    case = world.engine.get_case(case_id).case
    assert case.version == version
    assert case.status == "completed", case.error
    assert [e for e in world.engine.events(case_id) if e.type == "error"] == []


def the_result(results: list[Any], case_id: int) -> Any:
    mine = [result for result in results if result.case == case_id]
    assert len(mine) == 1, results
    return mine[0]


def active(world: World, case_id: int) -> Seen:
    """What the case shows before migrating; a case that already finished is not an example."""
    before = at_rest(world, case_id)
    assume(before is not None)
    assert before is not None
    return before


def at_rest(world: World, case_id: int) -> Seen | None:
    """What the case shows before migrating, or None if it already finished."""
    before = seen(world.engine, case_id)
    event(f"case {before.status} before migrating")
    return before if before.status == "active" else None


class Scripted:
    """Stands in for st.data() in an @example, which cannot take one: the first open task,
    no optional field filled, and every other value given by its label."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers

    def draw(self, strategy: Any, label: Any = None) -> Any:
        if label == "task":
            return 0
        if isinstance(label, str) and label.startswith("fill "):
            return False
        return self.answers[label]

    def __repr__(self) -> str:
        return f"Scripted(**{self.answers!r})"


def _regression(steps: list[dict[str, Any]], role_title: str = "Worker") -> dict[str, Any]:
    return {"pathway": PATHWAY, "title": "Regression", "roles": {"worker": {"title": role_title}},
            "steps": [{"task": "intake", "role": "worker", "title": "Intake",
                       "form": copy.deepcopy(INITIAL_FORM)}, *steps]}


def _inside_a_repeat(title: str) -> dict[str, Any]:
    return _regression([
        {"repeat": "repeat_1", "until": "done_2", "max": 3, "steps": [
            {"task": "task_3", "role": "worker", "title": "Round",
             "form": {"done_2": {"type": "boolean", "required": True}}}]},
        {"task": "task_4", "role": "worker", "title": title}])


# Regression: a case inside a running repeat (at task_3, round 1) moves to a version that
# only retitles task_4, after the repeat; once task_3 is done the case is active with no
# task or timer open, for ever. move() re-adds the loop task's predicted successor after its
# running round, so the loop's children change order (engine/versions/migration.py _predict_again).
INSIDE_A_REPEAT = (_inside_a_repeat("After"), _inside_a_repeat("After, retitled"),
                   Edit("change a task title", "task_4", words_only=True))
INSIDE_A_REPEAT_DATA = Scripted(**{"moves before migrating": 1, "gate_a": True,
                                   "gate_b": True, "score": 1, "done_2": True})
# Regression: renaming a role (its title; the id stays) refuses every case that has done a
# task of that role: a task's role is compared by its lane's name, which is the role's title
# ("step 'intake', which this case has completed, changes in version 2 (role)").
RENAMED_ROLE = (_regression([{"task": "task_1", "role": "worker", "title": "After"}]),
                _regression([{"task": "task_1", "role": "worker", "title": "After"}],
                            role_title="Key worker"),
                Edit("change a role title", None, words_only=True))
RENAMED_ROLE_DATA = Scripted(**{"moves before migrating": 1, "gate_a": True, "gate_b": True,
                                "score": 1})


def _nested_parallels(intake_title: str) -> dict[str, Any]:
    return {
        "pathway": PATHWAY, "title": "Check in",
        "roles": {"worker": {"title": "The worker", "organisations": ["some_org"]}},
        "client_fields": {"release_date": "date", "children": "integer"},
        "steps": [
            {"task": "intake", "role": "worker", "title": intake_title,
             "form": copy.deepcopy(INITIAL_FORM)},
            {"parallel": "parallel_1", "branches": [
                {"steps": [{"wait": "wait_2", "until": 'date("2026-01-09")'},
                           {"record": "record_3", "outcome": "a & b"}]},
                {"steps": [{"parallel": "parallel_4", "branches": [
                    {"steps": [{"refer": "refer_5", "pathway": HELPER_ID, "wait": True}]},
                    {"steps": [{"task": "task_6", "role": "worker", "title": "Check in",
                                "form": {"scale_7": {"type": "scale", "help": "Check in",
                                                     "min": 0, "max": 0},
                                         "integer_8": {"type": "integer", "help": "Check in",
                                                       "required": True,
                                                       "save_to": "client.children"}}}]}]}]},
                {"steps": [{"record": "record_9", "outcome": "a & b"}]}]}]}


# Regression: reverting a migration of a case nobody touched gave back a state equal in
# meaning but not in form. After task_6 and the referral are done, the inner join holds
# integer_8 then refer_5_result; the waiting outer join's data delta lists the keys it
# drops in that order. Loaded again, the inner join's data is rebuilt from its parent
# (refer_5_done) first, so refer_5_result comes first and a re-saved state lists the
# deletions the other way round (and its tasks in another order).
NESTED_PARALLELS = (_nested_parallels("Intake"), _nested_parallels("Check in"),
                    Edit("change a task title", "intake", words_only=True))
NESTED_PARALLELS_DATA = Scripted(**{
    "release_date": "2025-12-01", "children": 0, "moves before migrating": 5, "gate_a": False,
    "gate_b": False, "score": 0, "integer_8": 0, "helped": False})


# -- properties -------------------------------------------------------------------------------


@PROPERTIES
@given(pair=versions(), data=st.data())
@example(pair=INSIDE_A_REPEAT, data=INSIDE_A_REPEAT_DATA)
@example(pair=RENAMED_ROLE, data=RENAMED_ROLE_DATA)
def test_a_migration_refuses_with_a_reason_or_gives_a_case_that_loads_and_runs_to_the_end(
        pair: Versions, data: st.DataObject) -> None:
    world, edit, case_id = migrating(pair, data)
    engine = world.engine
    before = at_rest(world, case_id)
    if before is None:
        assert engine.migrate(PATHWAY, 1, 2).cases == []
        return
    ready = {step for _id, step, *_ in before.tasks}
    here = set(current_steps(load_state(before.state, world.parsed[1], engine.script_engine)))
    note(f"the case is at {sorted(here)}, ready: {sorted(ready)}")

    report = engine.migrate(PATHWAY, 1, 2)
    result = the_result(report.cases, case_id)
    note(f"migration: {result}")
    event("moved" if result.ok else "refused")
    if edit.words_only:
        assert result.ok, f"changing words only refused the case: {result.reason}"
    if edit.removed & (ready | here):
        assert not result.ok, f"moved though {sorted(edit.removed & (ready | here))} is removed"
    assert report.migration is not None
    _, recorded = engine.migration(report.migration)
    assert [(c.case_id, c.ok, c.reason) for c in recorded] == [
        (case_id, result.ok, result.reason)]

    if not result.ok:
        assert isinstance(result.reason, str)
        assert result.reason.strip()
        assert seen(engine, case_id) == before
        [entry] = recorded
        if not entry.waiting:
            finishes(world, case_id, data, version=1)
            return
        # refused only because of its loop's round: it moves by itself at its next round
        # (or, the loop ending first, where it ended if it may), by the same rules
        assert entry.waits_for_round and entry.reason.endswith(WILL_MOVE)
        run_to_the_end(engine, world.clock, case_id, data)
        _, [entry] = engine.migration(report.migration)
        assert not entry.waiting
        finishes(world, case_id, data, version=2 if entry.ok else 1)
        return
    after = engine.get_case(case_id).case
    assert after.version == 2
    assert after.revision > before.revision
    workflow = load_state(after.state, world.parsed[2], engine.script_engine)
    inbox = runner.inbox_rows(workflow, world.parsed[2], case_id, PATHWAY, 2) \
        if after.status == "active" else []
    assert sorted(row.id for row in inbox) == sorted(
        view.task.id for view in engine.list_tasks(case_id=case_id))
    events = engine.events(case_id)
    migrated = [e for e in events if e.type == "case_migrated"]
    assert len(migrated) == 1
    assert migrated[0].data["migration"] == report.migration
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {view.task.version for view in engine.list_tasks(case_id=case_id)} <= {2}
    finishes(world, case_id, data, version=2)


@PROPERTIES
@given(pair=versions(), data=st.data())
def test_a_dry_run_answers_as_the_migration_does_and_changes_nothing(
        pair: Versions, data: st.DataObject) -> None:
    world, _edit, case_id = migrating(pair, data)
    engine = world.engine
    before = active(world, case_id)

    dry = engine.migrate(PATHWAY, 1, 2, dry_run=True)
    assert dry.dry_run
    assert dry.migration is None
    assert seen(engine, case_id) == before
    assert engine.migrations() == []

    real = engine.migrate(PATHWAY, 1, 2)
    assert not real.dry_run
    event("moved" if the_result(real.cases, case_id).ok else "refused")
    # the same answers, but that a case waiting for its loop's next round moves by itself
    # then only when the migration is run (engine.versions.round_waits)
    assert [replace(r, reason=r.reason and r.reason.replace(DRY_RUN_WILL_MOVE, WILL_MOVE))
            for r in dry.cases] == real.cases


@settings(PROPERTIES, max_examples=30)
@given(pair=versions(MOSTLY_MOVABLE), data=st.data())
@example(pair=NESTED_PARALLELS, data=NESTED_PARALLELS_DATA)
def test_reverting_a_migration_nobody_acted_on_since_restores_the_case_exactly(
        pair: Versions, data: st.DataObject) -> None:
    world, _edit, case_id = migrating(pair, data)
    engine = world.engine
    before = active(world, case_id)
    migration = engine.migrate(PATHWAY, 1, 2)
    moved = the_result(migration.cases, case_id)
    event("moved" if moved.ok else "refused")
    assume(moved.ok and engine.get_case(case_id).case.status == "active")
    assert migration.migration is not None

    revert = engine.revert_migration(migration.migration)
    result = the_result(revert.cases, case_id)
    assert result.ok, result.reason
    assert revert.reverts == migration.migration
    after = seen(engine, case_id)
    assert (after.version, after.status, after.data, after.waiting_for, after.tasks) == (
        before.version, before.status, before.data, before.waiting_for, before.tasks)
    assert after.state == before.state
    assert after.events[:len(before.events)] == before.events
    assert [e[1] for e in after.events[len(before.events):]
            if e[1] in ("case_migrated", "migration_reverted")] == [
        "case_migrated", "migration_reverted"]
    finishes(world, case_id, data, version=1)


def test_reverting_puts_back_the_stored_state_as_it_was_written() -> None:
    """NESTED_PARALLELS as a plain test: the state put back is the one stored before the
    migration, key order included (cases.state is plain JSON, kept as written)."""
    clock = FakeClock()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock)
    for document in (HELPER, *NESTED_PARALLELS[:2]):
        compiled = compile_pathway(document)
        engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Regression", {"release_date": "2025-12-01", "children": 0})
    case_id = engine.start_case(PATHWAY, client.id or 0, version=1).case.id or 0
    for step, answer in (("intake", {"gate_a": False, "gate_b": False, "score": 0}),
                         ("task_6", {"integer_8": 0}), ("help_out", {"helped": False})):
        view, = [view for view in engine.list_tasks() if view.task.step == step]
        engine.complete_task(view.task.id, answer)
    clock.advance(hours=12)
    engine.deliver_messages()  # the referral's answer
    before = engine.get_case(case_id).case
    assert (before.status, [t.task.step for t in engine.list_tasks(case_id=case_id)]) == (
        "active", [])
    migration = engine.migrate(PATHWAY, 1, 2)
    assert [result.ok for result in migration.cases] == [True]
    assert migration.migration is not None

    revert = engine.revert_migration(migration.migration)
    assert [(result.ok, result.reason) for result in revert.cases] == [(True, None)]
    after = engine.get_case(case_id).case
    assert (after.version, after.data) == (1, before.data)
    assert after.state == before.state
    assert json.dumps(after.state) == json.dumps(before.state)


@settings(PROPERTIES, max_examples=30)
@given(v1=documents(block_depth=0, for_each=False), data=st.data())
def test_removing_a_step_the_case_is_at_always_refuses(v1: dict[str, Any],
                                                       data: st.DataObject) -> None:
    world = publish(v1)
    engine = world.engine
    case_id = start_and_move_on(world, v1, data)
    before = active(world, case_id)
    here = {step for _id, step, *_ in before.tasks} | set(current_steps(
        load_state(before.state, world.parsed[1], engine.script_engine)))
    v2 = copy.deepcopy(v1)
    candidates = [(steps, index) for steps, index in removable(v2) if ids(steps[index]) & here]
    assume(candidates)
    steps, index = candidates[data.draw(st.integers(0, len(candidates) - 1), label="remove")]
    step = steps.pop(index)
    edit = Edit(f"remove a {kind_of(step)}", str(step[kind_of(step)]), frozenset(ids(step)))
    note(f"the case is at {sorted(here)}; {edit}")
    assume_valid(v2, edit)
    event(f"edit: {edit.kind}")
    world.publish(v2)

    result = the_result(engine.migrate(PATHWAY, 1, 2).cases, case_id)
    assert not result.ok, f"moved although {sorted(edit.removed & here)} is removed"
    assert isinstance(result.reason, str)
    assert result.reason.strip()
    assert seen(engine, case_id) == before
