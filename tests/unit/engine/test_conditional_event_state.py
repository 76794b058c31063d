"""Conditional event definitions outside a running case: an event-based gateway keeps one it
saw in the case's stored state (its task's `seen_events`), so the serializer writes it and
reads it back as the same class, equal to the spec's own (the gateway still finds its
branch); and the version diff compares conditions, so a new condition is a change."""

from __future__ import annotations

from engine.versions.migration import diff_versions
from engine.workflow.conditional_events import ConditionalEvent
from engine.workflow.definitions import ParsedDefinition, parse_bundle
from engine.workflow.state import SERIALIZER
from tests.conformance.bpmn import MAIN_FILE, catch, end, flows, model, process, start


def test_a_conditional_event_definition_survives_the_serializer() -> None:
    definition = ConditionalEvent("ready == True", name="became_ready")
    restored = SERIALIZER.registry.restore(SERIALIZER.registry.convert(definition))
    assert type(restored) is ConditionalEvent
    assert restored == definition
    assert restored != ConditionalEvent("ready == True", name="other_event")


def test_a_changed_condition_is_a_change_between_versions() -> None:
    """A new version whose conditional event waits for another condition changes that step's
    behaviour: the version diff says so (migrations are judged on it)."""

    def version(condition: str) -> ParsedDefinition:
        files = model(process(start(), catch("until_ready", (
            "<bpmn:conditionalEventDefinition><bpmn:condition>"
            f"{condition}</bpmn:condition></bpmn:conditionalEventDefinition>")), end(),
            flows("start>until_ready>end")))
        return parse_bundle(files, MAIN_FILE)

    diff = diff_versions(version("ready == True"), version("ready == False"))
    assert [change.step for change in diff.changed] == ["until_ready"]
    assert diff.changed[0].behaviour_changed
