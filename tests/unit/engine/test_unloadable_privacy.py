"""A version whose definition cannot be loaded is never read as "unknown, open to all": its
cases, events and tasks are withheld from every viewer but an admin (engine.privacy,
engine.access)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine import access, privacy
from engine.definitions import SENSITIVE_CATEGORIES
from engine.model import CaseRecord, Event, InboxTask, User


def user(role: str) -> User:
    return User(id=1, username="u", name="U", organisation="org", role=role)


@pytest.mark.parametrize(("role", "sees"), [("admin", True), ("team_lead", False),
                                            ("caseworker", False), ("designer", False),
                                            ("commissioner", False)])
def test_only_an_admin_sees_what_an_unloadable_version_holds(role: str, sees: bool) -> None:
    assert access.may_see_unloadable(user(role)) is sees


def test_the_redactor_withholds_an_unknown_versions_case_events_and_tasks() -> None:
    sensitivity = privacy.Sensitivity.of([], unknown=[("rotten", 1)])
    everything = frozenset(SENSITIVE_CATEGORIES)  # even a viewer who sees every category
    case = CaseRecord(id=7, pathway="rotten", version=1, client_id=1, status="active",
                      state={}, data={"note": "x"})
    other = CaseRecord(id=8, pathway="rotten", version=2, client_id=1, status="active",
                       state={}, data={"note": "x"})
    event = Event(case_id=7, seq=1, at=datetime(2026, 1, 1, tzinfo=UTC), type="case_started",
                  step=None, actor="t", data={})
    task = InboxTask(id="t", case_id=7, pathway="rotten", version=1, step="review",
                     title="Review", role=None, form=None, due=None)
    withheld = privacy.Redactor(sensitivity, everything, may_do=lambda t: True)
    assert withheld.case(case) is None and withheld.events(case, [event]) == []
    assert withheld.task(task) is False
    assert withheld.case(other) is not None  # another version of the pathway is unaffected
    admin = privacy.Redactor(sensitivity, everything, sees_unknown=True)
    assert admin.case(case) is not None and admin.events(case, [event]) == [event]
    assert admin.task(task) is True
