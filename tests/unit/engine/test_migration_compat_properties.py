"""Properties of migrating a case in flight across the edits issue 15 says it must take, and
those it must refuse (tests/unit/engine/test_migration_properties.py has the rest).

A random valid pathway v1 (with a required choice field `mood` on its first task, the one
every case does first), a case of it moved a random number of steps on, and v2 made from v1
by one edit chosen knowing where the case is:

* compatible, so the case always moves and then runs to completion on v2: an option added to
  a choice field, an optional field added to any task, a title or label changed, a task
  added right after a task the case is at (ahead of it), a task the case is at or has done
  renamed (mapped by `renames` or by `renamed_from:` in v2);
* incompatible, so the case is always refused, with the field named, and left exactly as it
  was: the option it answered removed, the field it answered removed, and a task it is at
  renamed without a mapping.

Before these edits were judged by what they do to the case, adding an option or an optional
field to a task the case had done refused it ("changes in version 2 (form)"), as did any
edit of a loop's body for a case in a later round, and any renamed step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from hypothesis import assume, event, given, note
from hypothesis import strategies as st

from engine.versions.migration import current_steps
from engine.workflow.state import load_state
from tests.unit.dsl.test_compile_properties import TITLES, documents
from tests.unit.engine.test_migration_properties import (
    NEW_TASK,
    PATHWAY,
    PROPERTIES,
    Edit,
    World,
    active,
    assume_valid,
    finishes,
    publish,
    seen,
    start_and_move_on,
    step_lists,
    tasks,
    the_result,
)

MOOD = {"type": "choice", "options": ["good", "bad", "mixed"], "required": True,
        "title": "Mood"}


def with_mood(v1: dict[str, Any]) -> dict[str, Any]:
    v1 = copy.deepcopy(v1)
    v1["steps"][0]["form"]["mood"] = copy.deepcopy(MOOD)
    return v1


def intake(doc: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = doc["steps"][0]
    assert step["task"] == "intake"
    return step


class Case:
    """Where the case is before migrating: ready tasks, current steps, what it answered."""

    def __init__(self, world: World, case_id: int) -> None:
        self.before = active(world, case_id)
        self.ready = {step for _id, step, *_ in self.before.tasks}
        workflow = load_state(self.before.state, world.parsed[1], world.engine.script_engine)
        self.here = set(current_steps(workflow))
        self.mood = self.before.data.get("mood")
        note(f"the case is at {sorted(self.here)}, ready: {sorted(self.ready)}, "
             f"mood: {self.mood!r}")

    @property
    def did_intake(self) -> bool:
        return self.mood is not None


Renames = dict[str, str] | None
Editor = Callable[[st.DataObject, dict[str, Any], Case], tuple[Edit, Renames]]


def add_option(data: st.DataObject, doc: dict[str, Any], case: Case) -> tuple[Edit, Renames]:
    fields = [(task, name) for task in tasks(doc) for name, spec in (task.get("form") or {})
              .items() if spec.get("type") in ("choice", "multiple_choice")]
    task, name = fields[data.draw(st.integers(0, len(fields) - 1), label="field")]
    task["form"][name]["options"].append("brand_new")
    return Edit(f"add an option to {name}", task["task"]), None


def add_optional_field(data: st.DataObject, doc: dict[str, Any], case: Case
                       ) -> tuple[Edit, Renames]:
    every = tasks(doc)
    task = every[data.draw(st.integers(0, len(every) - 1), label="task to widen")]
    kind = data.draw(st.sampled_from(["text", "boolean", "integer", "choice", "date"]),
                     label="kind")
    spec: dict[str, Any] = {"type": kind, "title": "Added later"}
    if kind == "choice":
        spec["options"] = ["one", "two"]
    task.setdefault("form", {})[f"{kind}_902"] = spec
    return Edit("add an optional field", task["task"]), None


def change_text(data: st.DataObject, doc: dict[str, Any], case: Case) -> tuple[Edit, Renames]:
    every = tasks(doc)
    task = every[data.draw(st.integers(0, len(every) - 1), label="task to reword")]
    task["title"] = data.draw(st.sampled_from([t for t in TITLES if t != task["title"]]),
                              label="title")
    task["instructions"] = "Read this first."
    intake(doc)["form"]["mood"]["help"] = "How did it go?"
    return Edit("change a title, instructions and help", task["task"], words_only=True), None


def add_step_ahead(data: st.DataObject, doc: dict[str, Any], case: Case
                   ) -> tuple[Edit, Renames]:
    """A task right after a task the case is at: what came before the case is unchanged."""
    places = [(steps, index) for steps, _holder in step_lists(doc["steps"])
              for index, step in enumerate(steps) if step.get("task") in case.ready]
    assert places, "a case at rest with no ready task waits at a timer or a message"
    steps, index = places[data.draw(st.integers(0, len(places) - 1), label="after")]
    added: dict[str, Any] = {"task": NEW_TASK, "role": steps[index]["role"],
                             "title": "Added ahead"}
    if data.draw(st.booleans(), label="with a form"):
        added["form"] = {"answer_902": {"type": "boolean", "required": True}}
    steps.insert(index + 1, added)
    return Edit("add a task ahead of the case", NEW_TASK), None


def rename_step(data: st.DataObject, doc: dict[str, Any], case: Case) -> tuple[Edit, Renames]:
    """A task the case is at or has done (intake), renamed, with the mapping given."""
    candidates = sorted(case.ready | {"intake"})
    old = data.draw(st.sampled_from(candidates), label="renamed")
    new = f"{old}_renamed"
    task = next(task for task in tasks(doc) if task["task"] == old)
    task["task"] = new
    if data.draw(st.booleans(), label="declared in v2"):
        task["renamed_from"] = old
        return Edit(f"rename {old} (renamed_from)", new), None
    return Edit(f"rename {old} (--map)", new), {old: new}


COMPATIBLE: dict[str, Editor] = {
    "add option": add_option, "add optional field": add_optional_field,
    "change text": change_text, "add step ahead": add_step_ahead, "rename": rename_step}


def _publish_edit(world: World, v1: dict[str, Any], case: Case, edit: Editor,
                  data: st.DataObject) -> tuple[Edit, Renames]:
    v2 = copy.deepcopy(v1)
    made, renames = edit(data, v2, case)
    note(f"edit: {made}, renames: {renames}")
    assume_valid(v2, made)
    event(f"edit: {made.kind.split(' (')[0]}")
    world.publish(v2)
    return made, renames


@PROPERTIES
# without block and for_each steps: step_lists (the migration properties') walks the older kinds
@given(v1=documents(block_depth=0, for_each=False), data=st.data(),
       kind=st.sampled_from(sorted(COMPATIBLE)))
def test_a_compatible_edit_always_moves_the_case_which_then_runs_to_the_end(
        v1: dict[str, Any], data: st.DataObject, kind: str) -> None:
    v1 = with_mood(v1)
    world = publish(v1)
    case_id = start_and_move_on(world, v1, data)
    case = Case(world, case_id)
    assume(kind != "add step ahead" or case.ready)  # not only waiting at a timer or message
    event(f"edit kind: {kind}")
    _edit, renames = _publish_edit(world, v1, case, COMPATIBLE[kind], data)
    result = the_result(world.engine.migrate(PATHWAY, 1, 2, renames=renames).cases, case_id)
    event(f"case at {len(case.ready)} task(s), {'after' if case.did_intake else 'at'} intake")
    assert (result.ok, result.reason) == (True, None)
    assert world.engine.get_case(case_id).case.version == 2
    finishes(world, case_id, data, version=2)


INCOMPATIBLE = ("remove the answered option", "remove the answered field",
                "rename without a mapping")


@PROPERTIES
@given(v1=documents(block_depth=0, for_each=False), data=st.data(),
       kind=st.sampled_from(INCOMPATIBLE))
def test_an_incompatible_edit_always_refuses_naming_what_changed_and_leaves_the_case(
        v1: dict[str, Any], data: st.DataObject, kind: str) -> None:
    v1 = with_mood(v1)
    world = publish(v1)
    case_id = start_and_move_on(world, v1, data)
    case = Case(world, case_id)
    v2 = copy.deepcopy(v1)
    mood = intake(v2)["form"]["mood"]
    if kind == "rename without a mapping" or not case.did_intake:
        if not case.ready:
            return
        old = sorted(case.ready)[0]
        next(task for task in tasks(v2) if task["task"] == old)["task"] = f"{old}_renamed"
        expected = f"its current step {old!r} is removed in version 2"
    elif kind == "remove the answered option":
        mood["options"] = [option for option in mood["options"] if option != case.mood]
        expected = (f"(form: option {case.mood!r} of field 'mood' is removed, and this case "
                    f"answered {case.mood!r})")
    else:
        del intake(v2)["form"]["mood"]
        expected = "(form: field 'mood' is removed)"
    edit = Edit(kind, "intake")
    note(f"edit: {edit}")
    assume_valid(v2, edit)
    event(f"edit: {kind}")
    world.publish(v2)

    result = the_result(world.engine.migrate(PATHWAY, 1, 2).cases, case_id)
    assert not result.ok
    assert expected in (result.reason or ""), result.reason
    assert seen(world.engine, case_id) == case.before
    finishes(world, case_id, data, version=1)
