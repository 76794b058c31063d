"""A version whose definition cannot be loaded is never read as "unknown, open to all": its
cases, events and tasks are withheld from every viewer but an admin (engine.access.privacy,
engine.access)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine import access
from engine.access import privacy
from engine.model import CaseRecord, Event, InboxTask, User
from engine.workflow.definitions import SENSITIVE_CATEGORIES


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


def test_client_fields_are_hidden_while_a_version_that_may_mark_them_cannot_be_loaded() -> None:
    """A field only the unloadable version marks sensitive cannot be told from any other:
    every profile field is hidden from a viewer who may not see every category."""
    from engine.model import Client

    sensitivity = privacy.Sensitivity.of([], unknown=[("rotten", 1)])
    client = Client(id=1, name="Ann", fields={"release_date": "2026-01-01",
                                              "risk_level": "high"})
    some = frozenset(list(SENSITIVE_CATEGORIES)[:1])
    caseworker = privacy.Redactor(sensitivity, some)
    shown = caseworker.client(client)
    assert shown.name == "Ann"
    assert shown.fields == {"release_date": access.HIDDEN, "risk_level": access.HIDDEN}
    assert caseworker.hidden_categories == ["unclassified"]
    everything = frozenset(SENSITIVE_CATEGORIES)
    assert privacy.Redactor(sensitivity, everything).client(client).fields == client.fields
    assert privacy.Redactor(sensitivity, some, sees_unknown=True).client(
        client).fields == client.fields
    loaded = privacy.Redactor(privacy.Sensitivity.of([]), some)
    assert loaded.client(client).fields == client.fields  # nothing unloadable: as before
