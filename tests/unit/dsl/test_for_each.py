"""`for_each` (issue 15, item 9): one task per family member, side by side, each answered on
its own, the answers collected in `<id>_results`; compiled and run on the real Engine."""

from __future__ import annotations

from typing import Any

import pytest

from dsl import validate
from engine import Engine
from tests.case_steps import complete, open_steps
from tests.unit.dsl.test_compile import compiled, element, start, status

NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"

FAMILY = """\
- task: household
  role: worker
  title: Household
  form:
    members: {type: text}
- for_each: member_check
  in: children
  steps:
    - task: check_member
      role: worker
      title: "Check on {item.name}"
      form:
        safe: {type: boolean, required: true}
        note: {type: text}
- decide: all_safe
  branches:
    - when: "len(member_check_results) == 3"
      steps:
        - task: three_checked
          role: manager
          title: Three checked
  otherwise: []
"""


def tasks_at(engine: Engine, case_id: int, step: str) -> list[Any]:
    return [view for view in engine.get_case(case_id).tasks if view.task.step == step]


def family_case(engine: Engine, children: object) -> int:
    """A FAMILY case whose household task gave `children` (a client field here)."""
    case_id = start(engine, compiled(FAMILY.replace("in: children", "in: client.kids")),
                    kids=children)
    complete(engine, case_id, "household")
    return case_id


def test_for_each_compiles_to_a_parallel_multi_instance_subprocess() -> None:
    result = compiled(FAMILY)
    box = element(result, "member_check")
    assert box.tag == f"{NS}subProcess"
    [loop] = box.iter(f"{NS}multiInstanceLoopCharacteristics")
    assert loop.get("isSequential") == "false"
    assert [(child.tag.removeprefix(NS), child.text or child.get("name")) for child in loop] == [
        ("loopDataInputRef", "member_check_results"),
        ("loopDataOutputRef", "member_check_results"),
        ("inputDataItem", "member_check_item"), ("outputDataItem", "member_check_answer")]
    [script] = element(result, "member_check_list").iter(f"{NS}script")
    assert script.text == 'member_check_results = expr("client.children")'


def test_three_items_give_three_tasks_each_answered_on_its_own(engine: Engine) -> None:
    members = [{"name": "Ann"}, {"name": "Bo"}, {"name": "Cy"}]
    case_id = family_case(engine, members)
    views = {view.task.title: view for view in tasks_at(engine, case_id, "check_member")}
    assert sorted(views) == ["Check on Ann", "Check on Bo", "Check on Cy"]
    engine.complete_task(views["Check on Bo"].task.id, {"safe": False})
    assert open_steps(engine, case_id) == ["check_member", "check_member"]
    engine.complete_task(views["Check on Cy"].task.id, {"safe": True, "note": "ok"})
    engine.complete_task(views["Check on Ann"].task.id, {"safe": True, "note": "fine"})
    assert open_steps(engine, case_id) == ["three_checked"]
    results = engine.get_case(case_id).case.data["member_check_results"]
    assert results == [
        {"item": {"name": "Ann"}, "safe": True, "note": "fine"},
        {"item": {"name": "Bo"}, "safe": False},
        {"item": {"name": "Cy"}, "safe": True, "note": "ok"}]
    complete(engine, case_id, "three_checked")
    assert status(engine, case_id) == "completed"


def test_each_instance_keeps_its_own_answers_whatever_the_order(engine: Engine) -> None:
    """Completed out of order, the list still follows the items' order; a plain item fills
    `{item}`, and `{item.name}` of an item without a name stays as written."""
    text = FAMILY.replace("in: children", "in: client.kids").replace(
        '"Check on {item.name}"', '"Check {item} ({item.name})"')
    case_id = start(engine, compiled(text), kids=["a", "b", "c"])
    complete(engine, case_id, "household")
    views = {view.task.title: view for view in tasks_at(engine, case_id, "check_member")}
    assert sorted(views) == ["Check a ({item.name})", "Check b ({item.name})",
                             "Check c ({item.name})"]
    for letter, safe in (("c", True), ("a", False), ("b", True)):
        engine.complete_task(views[f"Check {letter} ({{item.name}})"].task.id, {"safe": safe})
    results = engine.get_case(case_id).case.data["member_check_results"]
    assert results == [{"item": "a", "safe": False}, {"item": "b", "safe": True},
                       {"item": "c", "safe": True}]


def test_an_empty_list_runs_no_task_and_carries_on(engine: Engine) -> None:
    case_id = family_case(engine, [])
    assert engine.get_case(case_id).case.data["member_check_results"] == []
    assert status(engine, case_id) == "completed"


@pytest.mark.parametrize(("steps", "message"), [
    ("""\
     - for_each: each
       in: members
       steps:
         - end: stop
           reason: stopped
     """, "one item cannot end the pathway"),
    ("""\
     - for_each: each
       in: members
       steps:
         - for_each: inner
           in: members
           steps:
             - task: t
               role: worker
               title: T
     """, "both would name their item"),
    ("""\
     - for_each: each
       in: nobody
       steps:
         - task: t
           role: worker
           title: T
     """, "'nobody' is not defined"),
    ("""\
     - for_each: each
       in: members
       steps: []
     """, "a for_each needs at least one step"),
    ("""\
     - task: t
       role: worker
       title: T
       form:
         each_results: {type: text}
     - for_each: each
       in: members
       steps:
         - task: u
           role: worker
           title: U
     """, "'each_results' is reserved"),
])
def test_for_each_mistakes_are_located(steps: str, message: str) -> None:
    from tests.unit.dsl.test_validate import doc

    text = doc("""\
        - task: ask
          role: worker
          title: Ask
          form:
            members: {type: text}
        """) + "\n".join("  " + line for line in __import__("textwrap").dedent(steps)
                         .splitlines()) + "\n"
    found = validate(text, "p.yaml")[1]
    assert [p for p in found if message in p.message], "\n".join(map(str, found))


def test_item_and_results_are_defined_names() -> None:
    from tests.unit.dsl.test_validate import doc

    text = doc("""\
        - task: ask
          role: worker
          title: Ask
          form:
            members: {type: text}
        - for_each: each
          in: members
          steps:
            - decide: adult
              branches:
                - when: item.age >= 18
                  steps:
                    - task: adult_check
                      role: worker
                      title: Adult check
              otherwise: []
        - decide: any
          branches:
            - when: len(each_results) > 0
              steps: []
          otherwise: []
        """)
    assert validate(text, "p.yaml")[1] == []


def test_a_for_each_inside_a_repeat_starts_afresh_each_round(engine: Engine) -> None:
    """The second round's list replaces the first round's answers (SpiffWorkflow would
    refuse to fill a list that is not the one it iterates)."""
    result = compiled("""\
        - repeat: visits
          max: 2
          steps:
            - for_each: child_check
              in: client.kids
              steps:
                - task: see_child
                  role: worker
                  title: "See {item}"
                  form:
                    well: {type: boolean}
        """)
    case_id = start(engine, result, kids=["a", "b"])
    for round_answer in (True, False):
        views = tasks_at(engine, case_id, "see_child")
        assert sorted(v.task.title for v in views) == ["See a", "See b"]
        for view in views:
            engine.complete_task(view.task.id, {"well": round_answer})
    case = engine.get_case(case_id).case
    assert case.status == "completed"
    assert case.data["child_check_results"] == [{"item": "a", "well": False},
                                                {"item": "b", "well": False}]


@pytest.mark.parametrize(("marking", "category"), [
    ("        note: {type: text, sensitive: health}\n", "health"),
    ("      sensitive: offence\n", "offence"),
    ("", None),
])
def test_results_holding_sensitive_answers_are_sensitive(marking: str,
                                                         category: str | None) -> None:
    """The results list carries each instance's answers: a sensitive field or step inside
    makes the whole list sensitive (left out for a viewer without the category)."""
    from engine.workflow.definitions import parse_bundle

    text = FAMILY
    if "sensitive: health" in marking:
        text = text.replace("        note: {type: text}\n", marking)
    elif marking:
        text = text.replace('      title: "Check on {item.name}"\n',
                            '      title: "Check on {item.name}"\n' + marking)
    result = compiled(text)
    parsed = parse_bundle(result.files(), result.bpmn_file)
    assert parsed.step_fields.get("member_check_results") == category


def test_two_for_each_steps_in_one_pathway(engine: Engine) -> None:
    """Each has its own item variable (an inputDataItem's id is unique in the file), both
    call it `item`."""
    result = compiled("""\
        - for_each: first
          in: client.kids
          steps:
            - task: see
              role: worker
              title: "See {item}"
        - for_each: second
          in: client.kids
          steps:
            - task: call
              role: worker
              title: "Call {item}"
        """)
    case_id = start(engine, result, kids=["a", "b"])
    for step, verb in (("see", "See"), ("call", "Call")):
        views = tasks_at(engine, case_id, step)
        assert sorted(v.task.title for v in views) == [f"{verb} a", f"{verb} b"]
        for view in views:
            engine.complete_task(view.task.id, {})
    case = engine.get_case(case_id).case
    assert case.status == "completed"
    assert case.data["second_results"] == [{"item": "a"}, {"item": "b"}]


def test_a_for_each_beside_a_repeat_is_drawn_cleanly() -> None:
    """Found by the layout property: a longer start label crossed the box beside it."""
    from tests.diagram_geometry import problems

    result = compiled("""\
        - parallel: both
          branches:
            - steps:
                - for_each: each_member
                  in: "[1, 2]"
                  steps:
                    - task: first_look
                      role: worker
                      title: Check in
                    - task: second_look
                      role: worker
                      title: Check in
            - steps:
                - repeat: rounds
                  max: 1
                  steps:
                    - task: visit
                      role: worker
                      title: Check in
        """)
    assert problems(result.bpmn) == []
