"""The pure rules of notes and closing a case (issue 18): what a note's fields must be, and
who may close a case. Storage, pages and the API: tests/web/test_case_notes.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.access import may_close_case
from engine.casework import NOTE_KINDS, note_problems
from engine.model import User

TODAY = date(2026, 12, 6)


def user(role: str, organisation: str = "sg", *, active: bool = True) -> User:
    return User(id=1, username="u", name="U", organisation=organisation, role=role,
                active=active)


def test_a_good_note_has_no_problem() -> None:
    for kind in NOTE_KINDS:
        assert note_problems(kind, TODAY, None, "Rang him", TODAY) == {}
    assert note_problems("visit", TODAY - timedelta(days=400), 0, "x", TODAY) == {}
    assert note_problems("visit", TODAY, 1440, "x" * 5000, TODAY) == {}


def test_each_bad_field_is_named() -> None:
    problems = note_problems("gossip", TODAY + timedelta(days=1), 1441, " " * 3, TODAY)
    assert problems == {
        "kind": ["choose one of: Phone call, Visit, Prison visit, Missed appointment, "
                 "Meeting, Other"],
        "contact_on": ["the contact cannot be later than today"],
        "minutes": ["enter minutes from 0 to 1440"],
        "text": ["write what happened"]}
    assert note_problems("visit", None, -1, "x" * 5001, TODAY) == {
        "contact_on": ["enter the day of the contact"],
        "minutes": ["enter minutes from 0 to 1440"],
        "text": ["at most 5,000 characters (this is 5,001)"]}


@pytest.mark.parametrize(("who", "holder", "allowed"), [
    (user("caseworker"), "sg", True), (user("team_lead"), "sg", True),
    (user("admin", "om"), "sg", True), (user("admin", "om"), None, True),
    (user("caseworker", "om"), "sg", False), (user("team_lead", "om"), "sg", False),
    (user("caseworker"), None, False), (user("designer"), "sg", False),
    (user("commissioner"), "sg", False), (user("caseworker", active=False), "sg", False),
])
def test_who_may_close_a_case(who: User, holder: str | None, allowed: bool) -> None:
    assert may_close_case(who, holder) is allowed
