"""Constructs Pathways does not run are refused at publish, at the element, saying what to do
instead (issue 16: never run one silently wrong): BPMN compensation, and the Camunda
extensions Pathways cannot run as Camunda does (connectors, a form key naming a form kept
elsewhere, a JUEL condition it cannot translate; what it runs: test_camunda.py)."""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError
from tests.conformance.bpmn import (
    boundary,
    end,
    flow,
    flows,
    gateway,
    model,
    process,
    script,
    start,
    subprocess,
    throw,
    user,
)
from tests.conformance.harness import Conformance

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
COMPENSATE = "<bpmn:compensateEventDefinition/>"


def camunda(files: dict[str, str]) -> dict[str, str]:
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        "<bpmn:definitions ", f"<bpmn:definitions {CAMUNDA} ", 1)
    return files


def located(refused: DefinitionError, element: str, rule: str) -> None:
    assert (refused.element, refused.details["rule"]) == (element, rule), refused.details
    assert refused.file == "conformance.bpmn"
    assert isinstance(refused.line, int) and isinstance(refused.column, int)


def booked_then_undone() -> str:
    """A task `book` with a compensation boundary event and its handler `unbook`."""
    return (user("book") + boundary("book_undo", "book", COMPENSATE)
            + '<bpmn:userTask id="unbook" isForCompensation="true"/>')


UNDO_LINK = ('<bpmn:association id="undo_link" associationDirection="One" '
              'sourceRef="book_undo" targetRef="unbook"/>')


def test_a_compensation_end_event_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.6 / §13.5.5 (Compensation): a compensation throw event makes the
    compensation handlers of the completed activities run (here `unbook` after `book`).
    SpiffWorkflow 3.2 has no compensation: the throw would throw nothing and `unbook` never
    run, so publish refuses the throw, naming it."""
    files = model(process(start(), booked_then_undone(), end("undo", COMPENSATE),
                          flows("start>book>undo"), UNDO_LINK))
    refused = bpmn.refusal(files)
    located(refused, "book_undo", "compensation_not_supported")
    assert "compensation" in refused.reason


def test_an_intermediate_compensation_throw_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.6: an intermediate compensation throw event (here with no handler
    anywhere, so the first compensation element is the throw itself)."""
    files = model(process(start(), user("book"), throw("undo", COMPENSATE), end(),
                          flows("start>book>undo>end")))
    located(bpmn.refusal(files), "undo", "compensation_not_supported")


def test_a_compensation_event_subprocess_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5 (Event Sub-Processes): a compensation start event starts an event
    subprocess when its parent is compensated; never in Pathways."""
    files = model(process(
        start(), user("book"), end(), flows("start>book>end"),
        subprocess("on_undo", start("undo_start", COMPENSATE), user("undo_it"),
                   end("undo_end"), flows("undo_start>undo_it>undo_end"),
                   event_triggered=True)))
    located(bpmn.refusal(files), "undo_start", "compensation_not_supported")


def test_an_activity_for_compensation_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.3: an activity with isForCompensation="true" runs only as a
    compensation handler; SpiffWorkflow would treat it as an ordinary task."""
    files = model(process(start(), user("book"), end(), flows("start>book>end"),
                          '<bpmn:userTask id="unbook" isForCompensation="true"/>'))
    refused = bpmn.refusal(files)
    located(refused, "unbook", "compensation_not_supported")
    assert "isForCompensation" in refused.reason


@pytest.mark.parametrize(("attribute", "value"), [
    ("class", "org.example.SendLetter"), ("delegateExpression", "${sendLetter}"),
    ("expression", "${letters.send(execution)}"), ("type", "external")])
def test_a_camunda_service_task_is_refused(bpmn: Conformance, attribute: str,
                                          value: str) -> None:
    """A Camunda connector (Java class, delegate, expression, external task) would never be
    called: SpiffWorkflow ignores the attribute. Refused, naming what Pathways offers."""
    task = f'<bpmn:serviceTask id="send" camunda:{attribute}="{value}"/>'
    files = camunda(model(process(start(), task, end(), flows("start>send>end"))))
    refused = bpmn.refusal(files)
    located(refused, "send", "camunda_connector")
    assert refused.details["attribute"] == f"camunda:{attribute}"
    assert "pathwaysNotifyTo" in refused.reason and "message throw" in refused.reason


def test_a_camunda_form_key_is_refused(bpmn: Conformance) -> None:
    """A camunda:formKey names a form Pathways would never show."""
    files = camunda(model(process(
        start(), '<bpmn:userTask id="ask" camunda:formKey="embedded:app:ask.html"/>', end(),
        flows("start>ask>end"))))
    refused = bpmn.refusal(files)
    located(refused, "ask", "camunda_form")
    assert "formJsonSchemaFilename" in refused.reason


def test_a_complex_juel_condition_is_refused_naming_it(bpmn: Conformance) -> None:
    juel = "${execution.getVariable('x').size() > 0}"
    files = model(process(
        start(), gateway("exclusive", "choose", default="choose-no"), script("yes"),
        script("no"), end("end_yes"), end("end_no"),
        flows("start>choose", "yes>end_yes", "no>end_no"),
        flow("choose", "yes", cond=juel), flow("choose", "no")))
    refused = bpmn.refusal(files)
    located(refused, "choose-yes", "juel_expression")
    assert juel in refused.reason and "expression language" in refused.reason
