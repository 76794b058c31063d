"""Changes between versions said in a designer's words (engine.versions.describe): the kind
of a step added or removed, what changed in a form field, never a type name."""

from __future__ import annotations

from engine.versions import VersionDiff, describe, kind_of_step
from engine.versions.change_words import KIND_OF_STEP
from engine.versions.migration import StepChange, StepSummary


def _field_change(old: dict[str, object], new: dict[str, object]) -> StepChange:
    return StepChange("p", "assess", "Assess", {"form": {
        "fields_added": [], "fields_removed": [], "fields_changed": ["risk"],
        "field_changes": {"risk": {"from": old, "to": new}}}})


def test_steps_added_and_removed_are_named_by_their_kind_in_words() -> None:
    diff = VersionDiff(added=[StepSummary("p", "call", "Call the GP", "UserTask"),
                              StepSummary("p", "gw", None, "ExclusiveGateway")],
                       removed=[StepSummary("p", "odd", "Odd", "SomeNewSpiffClass")])
    lines = describe(diff)
    assert [(line.how, line.step, line.title, line.details) for line in lines] == [
        ("added", "call", "Call the GP", ("a task for a person added",)),
        ("added", "gw", "gw", ("a decision added",)),
        ("removed", "odd", "Odd", ("a step removed",))]


def test_every_known_kind_of_step_is_said_without_its_type_name() -> None:
    for type_name, words in KIND_OF_STEP.items():
        assert kind_of_step(type_name) == words
        assert type_name not in words


def test_a_form_field_s_options_type_required_and_limits_are_said() -> None:
    change = _field_change(
        {"type": "string", "enum": ["low", "high"], "required": True, "maxLength": 10},
        {"type": "string", "enum": ["low", "high", "very high"], "required": False,
         "maxLength": 20})
    (line,) = describe(VersionDiff(changed=[change]))
    assert line.details == ("field 'risk': option 'very high' added",
                            "field 'risk': no longer required",
                            "field 'risk': maxLength 10 → 20")
    retyped = _field_change({"type": "string", "required": False},
                            {"type": "integer", "required": True})
    (line,) = describe(VersionDiff(changed=[retyped]))
    assert line.details == ("field 'risk': now a whole number (was text)",
                            "field 'risk': now required")


def test_a_list_s_options_and_a_field_without_its_details_are_said_too() -> None:
    options = _field_change({"type": "array", "items": {"enum": ["a", "b"]}},
                            {"type": "array", "items": {"enum": ["a"]}})
    assert describe(VersionDiff(changed=[options]))[0].details == (
        "field 'risk': option 'b' removed",)
    bare = StepChange("p", "assess", None, {"form": {"fields_changed": ["risk"]},
                                             "timer": {"from": "P1D", "to": "P2D"},
                                             "role": {"from": "caseworker", "to": None}})
    assert describe(VersionDiff(changed=[bare]))[0].details == (
        "field 'risk': settings changed", "timer changed",
        "now done by anyone (was caseworker)")
