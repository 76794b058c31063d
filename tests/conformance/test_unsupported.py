"""Constructs Pathways does not run are refused at publish, at the element, saying what to do
instead (issue 16: never run one silently wrong): the Camunda extensions Pathways cannot run
as Camunda does (connectors, a form key naming a form kept elsewhere, a JUEL condition it
cannot translate; what it runs: test_camunda.py). (The compensation forms Pathways does not
run are refused in test_compensation.py.)"""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError
from tests.conformance.bpmn import (
    end,
    flow,
    flows,
    gateway,
    model,
    process,
    script,
    start,
)
from tests.conformance.harness import Conformance

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def camunda(files: dict[str, str]) -> dict[str, str]:
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        "<bpmn:definitions ", f"<bpmn:definitions {CAMUNDA} ", 1)
    return files


def located(refused: DefinitionError, element: str, rule: str) -> None:
    assert (refused.element, refused.details["rule"]) == (element, rule), refused.details
    assert refused.file == "conformance.bpmn"
    assert isinstance(refused.line, int) and isinstance(refused.column, int)


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
