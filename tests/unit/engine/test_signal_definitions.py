"""Signals in definitions: SpiffWorkflow 3.2 leaves signal end events unparsed (our parser
reads them), and `signal_scope` on a throwing event is checked at publish."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition

from engine.errors import DefinitionError
from engine.workflow.definitions import parse_bundle
from tests.bundles import DATA, bundle, edited_bundle

# the extension elements that make a throwing event's signal programme-wide
PROGRAMME_SCOPE = ('<bpmn:extensionElements><spiffworkflow:properties>'
                   '<spiffworkflow:property name="signal_scope" value="programme" />'
                   '</spiffworkflow:properties></bpmn:extensionElements>')


def programme(scope_property: str) -> tuple[dict[str, str], str]:
    text = (DATA / "signal_programme.bpmn").read_text().replace(
        '<spiffworkflow:property name="signal_scope" value="SCOPE" />', scope_property)
    return {"signal_programme.bpmn": text}, "signal_programme.bpmn"


def test_a_signal_end_event_throws_its_signal() -> None:
    parsed = parse_bundle(*bundle("signal_thrower"))
    definition = parsed.spec.task_specs["ended"].event_definition
    assert isinstance(definition, SignalEventDefinition)
    assert definition.name == "support_ended"
    assert parsed.signal_scopes == {"housing_found": "client", "support_ended": "client"}


def test_signal_start_events_are_listed_apart_from_start_messages() -> None:
    parsed = parse_bundle(*bundle("signal_started"))
    assert parsed.start_signals == ("support_ended",)
    assert parsed.start_messages == ()


def test_a_programme_scope_is_read_from_the_throwing_event() -> None:
    parsed = parse_bundle(*programme(
        '<spiffworkflow:property name="signal_scope" value="programme" />'))
    assert parsed.signal_scope("housing_found") == "programme"
    assert parsed.signal_scope("never_thrown") == "client"


@pytest.mark.parametrize("value", ["everyone", "Programme", ""])
def test_an_unknown_scope_is_refused_with_its_element(value: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        parse_bundle(*programme(
            f'<spiffworkflow:property name="signal_scope" value="{value}" />'))
    assert refused.value.element == "announce" and refused.value.line is not None
    assert refused.value.details["value"] == value


def test_a_scope_on_an_event_that_throws_no_signal_is_refused() -> None:
    housed = '<bpmn:intermediateCatchEvent id="housed" name="Housing found">'
    files, main = edited_bundle("signal_catcher", housed, housed + PROGRAMME_SCOPE)
    with pytest.raises(DefinitionError, match="signal_scope belongs on") as refused:
        parse_bundle(files, main)
    assert refused.value.element == "housed"


def test_one_signal_thrown_with_two_scopes_is_refused() -> None:
    # the end event throws housing_found too, programme-wide, while the other throw does not
    files, main = edited_bundle(
        "signal_thrower",
        '<bpmn:endEvent id="ended" name="Support ended"><bpmn:incoming>f4</bpmn:incoming>\n'
        '      <bpmn:signalEventDefinition signalRef="support_ended" />',
        f'<bpmn:endEvent id="ended" name="Support ended">{PROGRAMME_SCOPE}'
        '<bpmn:incoming>f4</bpmn:incoming>\n'
        '      <bpmn:signalEventDefinition signalRef="housing_found" />')
    with pytest.raises(DefinitionError, match="same scope") as refused:
        parse_bundle(files, main)
    assert refused.value.element == "ended"
