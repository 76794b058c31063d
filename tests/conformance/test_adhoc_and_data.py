"""Data objects, as BPMN 2.0.2 says (issue 16 item 10); ad-hoc subprocesses (item 11) are in
test_adhoc.py."""

from __future__ import annotations

from tests.conformance.bpmn import end, flows, model, process, start, user
from tests.conformance.harness import Complete, Conformance


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
