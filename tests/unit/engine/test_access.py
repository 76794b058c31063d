"""The access policy (engine.access) as pure functions: tasks, records, sensitive data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.definition_files import read_bundle
from dsl import compile_pathway, load_pathway
from engine import access
from engine.errors import DefinitionError
from engine.model import USER_ROLES, Consent, InboxTask, User
from engine.workflow.definitions import ParsedDefinition, parse_bundle
from tests.pathway_texts import pathway_head

RESETTLE = pathway_head("resettle", "Resettlement", "st_giles") + """\
  caseworker: {title: Caseworker, organisations: [st_giles]}
  volunteer: {title: Volunteer}
client_fields:
  phone: text
  diagnosis: {type: text, sensitive: health}
  mood_note: text
steps:
  - task: assess
    role: caseworker
    title: Assess
    form:
      offences: {type: long_text, sensitive: offence}
      mood: {type: text, sensitive: health, save_to: client.mood_note}
      phone: {type: text, prefill: client.phone}
  - task: befriend
    role: volunteer
    title: Befriend
"""

TODAY = date(2026, 1, 5)


@pytest.fixture(scope="module")
def resettle() -> ParsedDefinition:
    compiled = compile_pathway(load_pathway(RESETTLE, "resettle.yaml"))
    return parse_bundle(compiled.files(), compiled.bpmn_file)


def user(role: str = "caseworker", organisation: str = "st_giles", **kw: Any) -> User:
    return User(id=1, username="u", name="U", organisation=organisation, role=role, **kw)


def task(role: str | None, assignee: str | None = None) -> InboxTask:
    return InboxTask(id="t", case_id=1, pathway="resettle", version=1, step="s", title="S",
                     role=role, form=None, due=None, assignee=assignee)


def consent(scope: str, given: bool, on: date, seq: int = 1) -> Consent:
    return Consent(id=seq, client_id=1, given=given, scope=scope, purpose="p",
                   recorded_by="amy", recorded_at=datetime(2026, 1, 1, tzinfo=UTC)
                   .replace(minute=seq), effective_on=on)


def test_roles_file_is_read(resettle: ParsedDefinition) -> None:
    assert resettle.owner == "st_giles"
    assert resettle.role_organisations == {"caseworker": ("st_giles",), "volunteer": ()}
    assert resettle.sensitive_fields() == {"offences": "offence", "mood": "health"}
    assert resettle.sensitive_client() == {"diagnosis": "health", "mood_note": "health"}
    assert resettle.involves("st_giles") and not resettle.involves("mind")


@pytest.mark.parametrize(("role", "organisation", "lane", "expected"), [
    ("caseworker", "st_giles", "caseworker", True),
    ("caseworker", "mind", "caseworker", False),
    ("team_lead", "st_giles", "caseworker", True),
    ("team_lead", "mind", "caseworker", False),
    ("caseworker", "mind", "volunteer", True),  # no organisations listed: open to all
    ("caseworker", "mind", "undeclared", True),  # a lane the roles file does not name
    ("caseworker", "mind", None, True),
    ("admin", "programme", "caseworker", True),
    ("designer", "st_giles", "caseworker", False),
    ("commissioner", "st_giles", "volunteer", False),
])
def test_who_may_do_a_task(resettle: ParsedDefinition, role: str, organisation: str,
                           lane: str | None, expected: bool) -> None:
    assert access.may_do_task(user(role, organisation), task(lane), resettle) is expected


def test_pathway_roles_narrow_the_tasks(resettle: ParsedDefinition) -> None:
    volunteer_only = user(pathway_roles=("volunteer",))
    assert access.may_do_task(volunteer_only, task("volunteer"), resettle)
    assert not access.may_do_task(volunteer_only, task("caseworker"), resettle)
    assert not access.may_do_task(volunteer_only, task(None), resettle)


def test_inactive_users_may_do_nothing(resettle: ParsedDefinition) -> None:
    gone = user("admin", active=False)
    assert not access.may_do_task(gone, task("caseworker"), resettle)
    assert not access.record_access(gone, involved=True, consents=[], today=TODAY).allowed


def test_a_pathway_without_roles_file_is_open_to_everyone() -> None:
    bare = ParsedDefinition(pathway="p", hash="h", main_file="p.bpmn", files={}, spec=None,
                            subprocess_specs={}, processes=(), start_messages=())
    assert access.may_do_task(user(organisation="anyone"), task("lane"), bare)
    assert access.may_start(user(organisation="anyone"), bare)
    assert not bare.involves("anyone")


def test_acting_on_an_assigned_task() -> None:
    assert access.may_act_on(user(), task("caseworker", None))
    assert access.may_act_on(user(), task("caseworker", "u"))
    assert not access.may_act_on(user(), task("caseworker", "someone"))
    assert access.may_act_on(user("team_lead"), task("caseworker", "someone"))
    assert access.may_act_on(user("admin"), task("caseworker", "someone"))


def test_who_may_start(resettle: ParsedDefinition) -> None:
    assert access.may_start(user(), resettle)
    assert access.may_start(user(organisation="mind"), resettle)  # the volunteer role is open
    assert not access.may_start(user("designer"), resettle)
    assert not access.may_start(user("commissioner"), resettle)


def test_who_may_retry_a_case_in_error(resettle: ParsedDefinition) -> None:
    assert access.may_retry(user("team_lead"), resettle)  # the owner's lead
    assert access.may_retry(user("admin", organisation="elsewhere"), resettle)
    assert access.may_retry(user("admin"), None)  # an unknown version: admins only
    assert not access.may_retry(user("team_lead"), None)
    assert not access.may_retry(user("team_lead", organisation="mind"), resettle)  # not named
    assert not access.may_retry(user("team_lead", active=False), resettle)
    for role in ("caseworker", "designer", "commissioner"):
        assert not access.may_retry(user(role), resettle), role


def test_consent_in_effect_is_the_latest_effective_one() -> None:
    given = consent("programme", True, date(2026, 1, 1), 1)
    withdrawn = consent("programme", False, date(2026, 1, 3), 2)
    future = consent("programme", True, date(2026, 2, 1), 3)
    assert not access.consent_in_effect([], "programme", TODAY)
    assert access.consent_in_effect([given], "programme", TODAY)
    assert not access.consent_in_effect([given, withdrawn], "programme", TODAY)
    assert not access.consent_in_effect([given, withdrawn, future], "programme", TODAY)
    assert access.consent_in_effect([given, withdrawn, future], "programme", date(2026, 2, 1))
    assert not access.consent_in_effect([given], "health", TODAY)
    # recorded later on the same day wins
    again = consent("programme", True, date(2026, 1, 3), 4)
    assert access.consent_in_effect([given, withdrawn, again], "programme", TODAY)


@pytest.mark.parametrize("role", USER_ROLES)
def test_record_access_by_role(role: str) -> None:
    decision = access.record_access(user(role), involved=True, consents=[], today=TODAY)
    assert decision.allowed is (role in ("caseworker", "team_lead", "admin"))
    with_reason = access.record_access(user(role), involved=False, consents=[], today=TODAY,
                                       reason="safeguarding concern")
    assert with_reason.allowed is (role in ("caseworker", "team_lead", "admin"))


def test_record_access_bases() -> None:
    given = [consent("programme", True, date(2026, 1, 1))]
    assert access.record_access(user("admin"), involved=False, consents=[],
                                today=TODAY).basis == "admin"
    assert access.record_access(user(), involved=True, consents=[],
                                today=TODAY).basis == "organisation"
    assert access.record_access(user(), involved=False, consents=given,
                                today=TODAY).basis == "consent"
    refused = access.record_access(user(), involved=False, consents=[], today=TODAY)
    assert not refused.allowed and refused.reason_required and refused.basis is None
    assert not access.record_access(user(), involved=False, consents=[], today=TODAY,
                                    reason="   ").allowed
    glass = access.record_access(user(), involved=False, consents=[], today=TODAY,
                                 reason="urgent risk")
    assert glass.allowed and glass.break_glass
    designer = access.record_access(user("designer"), involved=True, consents=given,
                                    today=TODAY, reason="curious")
    assert not designer.allowed and not designer.reason_required


def test_visible_categories() -> None:
    health = [consent("health", True, date(2026, 1, 1))]
    both = [*health, consent("offence", True, date(2026, 1, 1), 2)]
    everything = frozenset({"health", "offence"})
    assert access.visible_categories(user(), involved=True, consents=[],
                                     today=TODAY) == everything
    assert access.visible_categories(user("team_lead"), involved=True, consents=[],
                                     today=TODAY) == everything
    assert access.visible_categories(user("admin"), involved=False, consents=[],
                                     today=TODAY) == everything
    assert access.visible_categories(user(), involved=False, consents=[],
                                     today=TODAY) == frozenset()
    assert access.visible_categories(user(), involved=False, consents=health,
                                     today=TODAY) == {"health"}
    assert access.visible_categories(user(), involved=False, consents=both,
                                     today=TODAY) == everything
    for role in ("designer", "commissioner"):
        assert access.visible_categories(user(role), involved=True, consents=both,
                                         today=TODAY) == frozenset()


def test_a_bpmn_pathway_ships_its_roles_file_beside_it(tmp_path: Path) -> None:
    source = Path(__file__).parents[2] / "data"
    for name in ("intake.bpmn", "intake.assess.schema.json"):
        (tmp_path / name).write_text((source / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    files, main = read_bundle(tmp_path / "intake.bpmn")
    assert "intake.roles.json" not in files
    assert parse_bundle(files, main).role_organisations == {}
    (tmp_path / "intake.roles.json").write_text(json.dumps({
        "organisation": "st_giles",
        "roles": {"caseworker": {"title": "Caseworker", "organisations": ["st_giles"]}}}))
    files, main = read_bundle(tmp_path / "intake.bpmn")
    parsed = parse_bundle(files, main)
    assert parsed.owner == "st_giles"
    assert parsed.role_organisations == {"caseworker": ("st_giles",)}
    assert parsed.forms.keys() == {"intake.assess.schema.json"}  # not a form
    (tmp_path / "intake.roles.json").write_text('{"roles": {"x": {"organisations": "a"}}}')
    with pytest.raises(DefinitionError, match="organisations of role 'x'"):
        parse_bundle(*read_bundle(tmp_path / "intake.bpmn"))


def test_the_dsl_compiles_a_roles_file(resettle: ParsedDefinition) -> None:
    compiled = compile_pathway(load_pathway(RESETTLE, "resettle.yaml"))
    assert json.loads(compiled.files()["resettle.roles.json"]) == {
        "organisation": "st_giles",
        "roles": {"caseworker": {"title": "Caseworker", "organisations": ["st_giles"]},
                  "volunteer": {"title": "Volunteer", "organisations": []}},
        "sensitive_client_fields": {"diagnosis": "health"},
        "client_fields": {"phone": "text", "diagnosis": "text", "mood_note": "text"}}
    assert resettle.client_field_types == {"phone": "text", "diagnosis": "text",
                                           "mood_note": "text"}
    form = json.loads(compiled.forms["resettle.assess.schema.json"])
    assert form["properties"]["offences"]["x-pathways-sensitive"] == "offence"
    assert "x-pathways-sensitive" not in form["properties"]["phone"]


def test_a_task_open_to_one_organisation_is_for_its_staff_only(
        resettle: ParsedDefinition) -> None:
    """DSL `organisation:` narrows a task to the organisation the case data names, within
    the role's own organisations; an admin may still do it."""
    narrowed = InboxTask(id="t", case_id=1, pathway="resettle", version=1, step="s", title="S",
                         role="caseworker", form=None, due=None, organisation="st_giles")
    assert access.may_do_task(user(organisation="st_giles"), narrowed, resettle)
    assert access.may_do_task(user("team_lead", organisation="st_giles"), narrowed, resettle)
    assert not access.may_do_task(user(organisation="mind"), narrowed, resettle)
    assert not access.may_do_task(user("team_lead", organisation="mind"), narrowed, resettle)
    assert access.may_do_task(user("admin", organisation="mind"), narrowed, resettle)
    # never wider than the role: an organisation the role is not open to gains nothing
    elsewhere = InboxTask(id="t", case_id=1, pathway="resettle", version=1, step="s",
                          title="S", role="caseworker", form=None, due=None,
                          organisation="nacro")
    assert not access.may_do_task(user(organisation="nacro"), elsewhere, resettle)
