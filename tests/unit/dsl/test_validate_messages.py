"""dsl.validate on notifications: message placeholders, who is notified, and a task's
`remind` / `escalate` (issue 15, items 4 and 11), each problem located exactly."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from dsl import compile_pathway, load_pathway
from engine.workflow.message_templates import MISSING_VALUE, render
from tests.diagram_geometry import problems as geometry_problems
from tests.unit.dsl.test_validate import at, doc, one, problems, where

SENSITIVE_HEAD = textwrap.dedent("""\
    pathway: demo
    title: Demo
    roles:
      worker: {title: Worker}
      lead: {title: Lead}
    client_fields:
      release_date: date
      diagnosis: {type: text, sensitive: health}
    steps:
    """)


def test_placeholders_of_fields_the_client_and_the_case_are_valid() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          due: release_date - P7D
          remind: P2D before due
          escalate: {after: P3D overdue, to: worker, message: "{task} due {due}"}
          form:
            seen_on: {type: date}
        - notify: tell
          to: team_lead
          message: "Seen {client.name} ({client.phone}) on {seen_on}, case {case} {{ok}}"
        - notify: tell_again
          to: assignee
          message: Done
        """)
    assert problems(text) == []


def test_an_unknown_placeholder_is_located_in_the_message() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          form:
            seen_on: {type: date}
        - notify: tell
          to: worker
          message: "Seen on {seen_one}"
        """)
    problem = one(text)
    assert where(problem) == at(text, "{seen_one}")
    assert problem.path == "steps[1].message"
    assert problem.message.startswith("{seen_one} is not a form field")
    assert "did you mean 'seen_on'?" in problem.message


def test_a_stray_brace_or_an_attribute_walk_is_refused() -> None:
    text = doc("""\
        - notify: tell
          to: worker
          message: "Hi {client.__class__} and {oops"
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "{client.__class__}")]
    assert "is neither a placeholder" in found[0].message
    text = doc("""\
        - notify: tell
          to: worker
          message: "Hi {client.name.upper}"
        """)
    assert "is neither a placeholder" in one(text).message


def test_due_and_task_belong_to_reminders_only() -> None:
    text = doc("""\
        - notify: tell
          to: worker
          message: "Due {due}"
        """)
    problem = one(text)
    assert where(problem) == at(text, "{due}")
    assert "only known in a task's reminder or escalation" in problem.message


def test_sensitive_values_may_not_leave_by_notification() -> None:
    text = SENSITIVE_HEAD + textwrap.indent(textwrap.dedent("""\
        - task: first
          role: worker
          title: First
          form:
            risk: {type: text, sensitive: offence}
        - notify: tell
          to: worker
          message: "{client.diagnosis} / {risk} / {client.missing}"
        """), "  ")
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "{client.diagnosis}"), at(text, "{risk}"),
                                         at(text, "{client.missing}")]
    assert found[0].message.startswith("{client.diagnosis} is a sensitive (health) client "
                                       "field: a notification leaves Pathways (e-mail)")
    assert found[1].message.startswith("{risk} is a sensitive (offence) form field")
    assert "not declared under client_fields" in found[2].message


def test_a_sensitive_pathway_may_not_name_its_client() -> None:
    text = SENSITIVE_HEAD.replace("title: Demo\n", "title: Demo\nsensitive: offence\n") \
        + textwrap.indent(textwrap.dedent("""\
        - notify: tell
          to: worker
          message: "About {client.name}"
        """), "  ")
    problem = one(text)
    assert where(problem) == at(text, "{client.name}")
    assert "this pathway is sensitive (offence)" in problem.message


def test_remind_and_escalate_need_a_due_date_and_a_declared_role() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          remind: P2D before due
          escalate: {after: P3D overdue, to: boss}
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "remind"), at(text, "escalate"),
                                         at(text, "boss")]
    assert found[0].message.startswith("remind counts from the task's due date, but this "
                                       "task has no `due`: add one")
    assert found[2].message.startswith("role 'boss' (who the task is escalated to) is not "
                                       "declared")


def test_a_reminder_that_is_not_a_duration_before_due() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          due: P7D
          remind: two days before
        """)
    problem = one(text)
    assert where(problem) == at(text, "two days before")
    assert problem.path == "steps[0].remind"


def test_a_step_id_that_a_reminder_would_take_is_reserved() -> None:
    text = doc("""\
        - task: visit_reminder
          role: worker
          title: First
        """)
    assert "is reserved" in one(text).message


def test_render_fills_placeholders_and_nothing_else() -> None:
    values = {"client": {"name": "Ada"}, "case": 3, "seen": True, "score": 0}
    assert render("{client.name} {case} {seen} {score} {{x}} {gone} {client.gone}",
                  values) == f"Ada 3 yes 0 {{x}} {MISSING_VALUE} {MISSING_VALUE}"


def test_reminders_compile_to_non_interrupting_boundary_timers() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          due: release_date - P7D
          remind: {before: P2D, to: team_lead}
          escalate: {after: P3D, to: worker}
        """)
    bpmn = compile_pathway(load_pathway(text, "p.yaml")).bpmn
    assert ('<bpmn:boundaryEvent id="first_remind" name="P2D before due" '
            'attachedToRef="first" cancelActivity="false">') in bpmn
    assert 'pathways_due("client.release_date - P7D", "-P2D")' in bpmn
    assert 'pathways_due("client.release_date - P7D", "P3D")' in bpmn
    assert '<bpmn:userTask id="first_overdue" name="Overdue: First">' in bpmn
    # drawn on the task's border, nothing else overlapping, labels clear
    assert geometry_problems(bpmn) == []
    shapes = {m[0]: tuple(map(int, m[1:])) for m in re.findall(
        r'bpmnElement="(\w+)"[^>]*>\s*<dc:Bounds x="(\d+)" y="(\d+)" width="(\d+)" '
        r'height="(\d+)"', bpmn)}
    x, y, w, h = shapes["first"]
    for event in ("first_remind", "first_escalate"):
        ex, ey, ew, eh = shapes[event]
        assert x <= ex + ew // 2 <= x + w and y <= ey + eh // 2 <= y + h


def test_a_sensitive_tasks_reminder_may_not_name_the_client() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          due: P7D
          sensitive: health
          remind: {before: P1D, message: "See {client.name}"}
        """)
    problem = one(text)
    assert where(problem) == at(text, "{client.name}")
    assert "this step is sensitive (health)" in problem.message


def test_the_readme_example_of_reminders_is_valid() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    [snippet] = [block for block in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
                 if "remind: P2D before due" in block]
    text = textwrap.dedent("""\
        pathway: tenancy
        title: Tenancy sustainment
        roles:
          keyworker: {title: Keyworker}
          team_leader: {title: Team leader}
        steps:
        """) + snippet
    assert problems(text) == []
    compile_pathway(load_pathway(text, "tenancy.yaml"))


def test_a_reminder_before_the_task_opens_is_refused() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          due: P2D
          remind: P3D before due
        - task: second
          role: worker
          title: Second
          due: release_date
          remind: {before: P30D}
        """)
    problem = one(text)
    assert where(problem) == at(text, "P3D before due")
    assert problem.message.startswith("the reminder comes P3D before due, but the task is due "
                                      "P2D after it opens")


def test_a_misspelt_reminder_key_or_duration_says_what_to_write() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          due: P7D
          remind: {before: 2 days, too: x}
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "2 days"), at(text, "too")]
    assert "is not an ISO-8601 duration" in found[0].message
    assert found[1].message.startswith("unknown key 'too' (did you mean 'to'?)")
