"""Ad-hoc subprocesses and data objects, as BPMN 2.0.2 says (issue 16 items 10, 11)."""

from __future__ import annotations

from tests.conformance.bpmn import end, flows, model, process, script, start, user
from tests.conformance.harness import Complete, Conformance


def adhoc(completion: str, *body: str) -> str:
    return (f'<bpmn:adHocSubProcess id="pick">{"".join(body)}'
            f"<bpmn:completionCondition>{completion}</bpmn:completionCondition>"
            "</bpmn:adHocSubProcess>")


def test_an_adhoc_subprocess_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5 (Ad-Hoc Sub-Process): its activities without incoming flows are
    enabled when it starts, done in any order; it completes when, after an activity of it
    completes, its completionCondition holds. SpiffWorkflow 3.2 evaluates the condition as
    the subprocess starts (a NameError when its variable is not set yet, and a subprocess
    whose condition holds already would finish doing nothing) and, when it holds not,
    cannot start it (KeyError 'data_objects'): publish refuses it, naming it."""
    files = model(process(start(), script("init", "enough = False"),
                          adhoc("enough == True", user("a"), user("b"), user("c")),
                          user("after"), end(), flows("start>init>pick>after>end")))
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("pick", "adhoc_not_supported")
    assert isinstance(refused.line, int) and "ad-hoc" in refused.reason


def test_data_object_written_then_read(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.4 (Data): a dataOutputAssociation writes an activity's output into a
    data object; a later dataInputAssociation reads it as the activity's input."""
    body = (
        '<bpmn:dataObject id="score"/>'
        '<bpmn:dataObjectReference id="score_ref" dataObjectRef="score"/>'
        '<bpmn:scriptTask id="write"><bpmn:dataOutputAssociation id="w_out">'
        "<bpmn:targetRef>score_ref</bpmn:targetRef></bpmn:dataOutputAssociation>"
        "<bpmn:script>score = 7</bpmn:script></bpmn:scriptTask>"
        )
    reader = ('<bpmn:scriptTask id="read">'
              '<bpmn:property id="read_placeholder" name="__targetRef_placeholder"/>'
              '<bpmn:dataInputAssociation id="r_in">'
              "<bpmn:sourceRef>score_ref</bpmn:sourceRef>"
              "<bpmn:targetRef>read_placeholder</bpmn:targetRef></bpmn:dataInputAssociation>"
              "<bpmn:script>doubled = score * 2</bpmn:script></bpmn:scriptTask>")
    files = model(process(start(), body, user("wait"), reader, end(),
                          flows("start>write>wait>read>end")))
    outcome = bpmn.run(files, [])
    assert outcome.open_tasks == ["wait"], outcome
    assert "score" not in outcome.data  # written into the data object, out of the case data
    outcome = bpmn.run(files, [Complete("wait")])
    assert outcome.status == "completed", outcome.error
    assert outcome.data["doubled"] == 14
