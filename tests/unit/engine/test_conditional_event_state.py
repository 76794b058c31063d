"""A conditional event definition an event-based gateway saw is kept in the case's stored
state (its task's `seen_events`): the serializer writes it and reads it back as the same
class, equal to the spec's own, so the gateway still finds the branch it belongs to."""

from __future__ import annotations

from engine.workflow.conditional_events import ConditionalEvent
from engine.workflow.state import SERIALIZER


def test_a_conditional_event_definition_survives_the_serializer() -> None:
    definition = ConditionalEvent("ready == True", name="became_ready")
    restored = SERIALIZER.registry.restore(SERIALIZER.registry.convert(definition))
    assert type(restored) is ConditionalEvent
    assert restored == definition
    assert restored != ConditionalEvent("ready == True", name="other_event")
