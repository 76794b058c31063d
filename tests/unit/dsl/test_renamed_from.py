"""`renamed_from: <old id>` on a step (issue 15): compiled to the BPMN extension property
pathwaysRenamedFrom on the step's element, so a migration maps the old step to the renamed
one (a version drawn in BPMN says it with the same property)."""

from __future__ import annotations

import textwrap

from dsl import compile_pathway, load_pathway, validate
from engine.workflow.definitions import parse_bundle
from tests.unit.dsl.test_validate import at, doc, one, problems, where


def test_renamed_from_compiles_to_a_property_of_the_step_element_of_any_kind() -> None:
    text = doc("""\
        - task: weekly_visit
          renamed_from: check_in
          role: worker
          title: Visit
        - wait: cool_off
          renamed_from: pause
          for: P1D
        """)
    compiled = compile_pathway(load_pathway(text, "p.yaml"))
    assert compiled.bpmn.count('<spiffworkflow:property name="pathwaysRenamedFrom"') == 2
    parsed = parse_bundle(compiled.files(), compiled.bpmn_file)
    spec = parsed.spec.task_specs["weekly_visit"]
    assert spec.extensions["properties"]["pathwaysRenamedFrom"] == "check_in"


def test_renamed_from_must_be_an_id_the_version_no_longer_uses() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
        - task: second
          renamed_from: first
          role: worker
          title: Second
        """)
    problem = one(text)
    assert where(problem) == at(text, "first", occurrence=2)
    assert "renamed_from 'first' is the id of a step of this version (line" in problem.message
    bad = doc("""\
        - task: second
          renamed_from: First Step
          role: worker
          title: Second
        """)
    assert [p.path for p in problems(bad)] == ["steps[0].renamed_from"]


def test_two_steps_cannot_be_renamed_from_the_same_step() -> None:
    text = doc("""\
        - task: one
          renamed_from: old
          role: worker
          title: One
        - task: two
          renamed_from: old
          role: worker
          title: Two
        """)
    problem = one(text)
    assert where(problem) == at(text, "old", occurrence=2)
    assert "step 'one' (line" in problem.message


def test_a_document_without_renamed_from_is_unchanged() -> None:
    text = textwrap.dedent(doc("""\
        - task: one
          role: worker
          title: One
        """))
    assert validate(text, "p.yaml")[1] == []
    assert "pathwaysRenamedFrom" not in compile_pathway(load_pathway(text, "p.yaml")).bpmn
