"""The caseworkers' pages, happy paths first: inbox, claiming, reassigning, a task's form,
drafts, completing, a client's record, consents, starting a case, the subject access export
and a break-glass opening. Each test builds a small programme of its own on a real database
(the shipped definitions, two organisations with a user of every role, three clients).

`World` and `build_world` are shared with test_access_matrix.py.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from adapters.bootstrap import Application
from adapters.definition_files import pathway_name, publish_order, read_bundle
from engine.model import Consent, InboxTask, User
from tests.web.conftest import PASSWORD, Site, StoredRecords, csrf_token, sign_in

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
ROLES = ("caseworker", "team_lead", "designer", "commissioner", "admin")
ORGANISATIONS = {"sg": ("st_giles_trust", "St Giles Trust"),
                 "om": ("ormiston_families", "Ormiston Families")}
GATE_TITLE = "Gate reception (Peterborough One Service)"  # gate_reception's title
PATHWAY_OF = {"sg": "gate_reception", "om": "family_support"}  # each organisation's own


# -- the world -----------------------------------------------------------------------------


@functools.cache
def shipped_bundles() -> tuple[tuple[dict[str, str], str, str], ...]:
    """(files, main file, note) of definitions/*, in the order `pathways init` publishes."""
    order = publish_order(DEFINITIONS)
    known = {pathway_name(path) for path, _ in order}
    return tuple((*read_bundle(path, known_pathways=known), note) for path, note in order)


def publish_shipped(application: Application) -> None:
    for files, main, note in shipped_bundles():
        application.engine.publish(dict(files), main, note=note, author="tests",
                                   unless_published=True)


@dataclass
class World(StoredRecords):
    """The programme every test works in. Users are `{org}_{role}` (sg_caseworker,
    om_admin, ...); clients and their first open task by first name."""

    app_site: Site
    users: dict[str, User]
    clients: dict[str, int]
    tasks: dict[str, str]

    @property
    def application(self) -> Application:
        return self.app_site.application

    def user(self, username: str) -> User:
        return self.users[username]

    def client(self, username: str | None = None) -> FlaskClient:
        """A test client, signed in (through the login form) as username unless None."""
        client = self.app_site.client()
        if username is not None:
            sign_in(client, username)
        return client

    def open_tasks(self, client_id: int) -> list[InboxTask]:
        with self.uow() as uow:
            return [t for case in uow.cases.list(client_id=client_id, status="active")
                    for t in uow.inbox.list(case_id=case.id)]

    def consents(self, client_id: int) -> list[Consent]:
        with self.uow() as uow:
            found: list[Consent] = uow.consents.for_client(client_id)
            return found

    def new_client(self, org: str, name: str, **fields: Any) -> tuple[int, str]:
        """A client added by the organisation's caseworker with a case of its own pathway
        started: (client id, its first open task)."""
        application = self.application
        if org == "sg":
            fields.setdefault("release_date", (date.today() + timedelta(days=30)).isoformat())
        else:
            fields.setdefault("phone", "01733 000000")
        client = application.casework.add_client(self.user(f"{org}_caseworker"), name, fields)
        assert client.id is not None
        view = application.engine.start_case(PATHWAY_OF[org], client.id,
                                             actor=f"{org}_caseworker")
        assert len(view.tasks) == 1, view.tasks
        return client.id, view.tasks[0].task.id


def build_world(site: Site) -> World:
    """Shipped definitions; St Giles Trust and Ormiston Families with a user of every role;
    St Giles clients Aaron (release in 30 days) and Ben (released 10 days ago: his task is
    overdue) on gate_reception; Ormiston's client Cara on family_support."""
    application = site.application
    publish_shipped(application)
    users: dict[str, User] = {}
    for prefix, (org_id, org_name) in ORGANISATIONS.items():
        application.accounts.add_organisation(org_id, org_name)
        for role in ROLES:
            username = f"{prefix}_{role}"
            users[username] = application.accounts.add_user(
                username, f"{org_name} {role.replace('_', ' ')}", org_id, role, PASSWORD)
    world = World(site, users, {}, {})
    today = date.today()
    for org, name, fields in (
            ("sg", "Aaron Smith", {"release_date": (today + timedelta(days=30)).isoformat()}),
            ("sg", "Ben Jones", {"release_date": (today - timedelta(days=10)).isoformat()}),
            ("om", "Cara Green", {"phone": "01733 123456"})):
        first = name.split()[0].lower()
        world.clients[first], world.tasks[first] = world.new_client(org, name, **fields)
    return world


@pytest.fixture
def world(site: Site) -> World:
    return build_world(site)


# -- reading pages ---------------------------------------------------------------------------


NEEDS_ASSESSMENT = {"needs_accommodation": "true", "needs_benefits": "false",
                    "needs_substance_misuse": "false", "needs_family": "false",
                    "needs_employment": "true", "risk_level": "high", "notes": "Seen in HMP"}


def inbox_counts(html: str) -> dict[str, int]:
    counts = {key: int(re.search(rf'{label} <span class="badge">(\d+)</span>', html)[1])  # type: ignore[index]
              for key, label in (("mine", "For me"), ("role", "For my role"),
                                 ("unassigned", "Unassigned"))}
    overdue = re.search(r'class="badge overdue">(\d+) overdue<', html)
    counts["overdue"] = int(overdue[1]) if overdue else 0
    return counts


def inbox_clients(html: str) -> list[str]:
    """The client names of the inbox's rows, in order."""
    return re.findall(r'<td data-label="Client"><a href="/clients/\d+">([^<]+)</a></td>', html)


def field_block(html: str, name: str) -> str:
    """The HTML of one form field's block: its label, control and errors."""
    start = html.index(f'id="field-{name}"')
    end = html.find('<div class="field', start)
    return html[start:end if end >= 0 else len(html)]


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash" role="status">([^<]*)</p>', html)


def token(client: FlaskClient, path: str = "/inbox") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf_token(page.text)


# -- the inbox -----------------------------------------------------------------------------


def test_inbox_scopes_with_their_counts(world: World) -> None:
    world.application.casework.claim(world.user("sg_caseworker"), world.tasks["ben"])
    client = world.client("sg_caseworker")

    role = client.get("/inbox")  # "For my role" is the default
    assert role.status_code == 200
    assert inbox_clients(role.text) == ["Ben Jones", "Aaron Smith"]  # due soonest first
    assert inbox_counts(role.text) == {"mine": 1, "role": 2, "unassigned": 1, "overdue": 1}
    assert "Cara Green" not in role.text  # Ormiston's client: not St Giles' task
    assert 'aria-current="page">For my role' in role.text

    mine = client.get("/inbox?scope=mine")
    assert inbox_clients(mine.text) == ["Ben Jones"]
    assert inbox_counts(mine.text) == {"mine": 1, "role": 2, "unassigned": 1, "overdue": 1}
    assert "Give back" in mine.text and "Claim<" not in mine.text

    unassigned = client.get("/inbox?scope=unassigned")
    assert inbox_clients(unassigned.text) == ["Aaron Smith"]
    assert inbox_counts(unassigned.text)["overdue"] == 0  # overdue counts the chosen scope
    assert ">Claim</button>" in unassigned.text

    other = world.client("om_caseworker").get("/inbox")
    assert inbox_clients(other.text) == ["Cara Green"]
    assert inbox_counts(other.text) == {"mine": 0, "role": 1, "unassigned": 1, "overdue": 0}


def test_inbox_filters(world: World) -> None:
    application = world.application
    # Aaron moves on to the gate meeting; Dean is on version 1 of gate_reception
    application.casework.complete(world.user("sg_caseworker"), world.tasks["aaron"],
                                  {**{k: v == "true" for k, v in NEEDS_ASSESSMENT.items()
                                      if v in ("true", "false")},
                                   "risk_level": "high"})
    dean = application.casework.add_client(
        world.user("sg_caseworker"), "Dean Hall",
        {"release_date": (date.today() + timedelta(days=60)).isoformat()})
    assert dean.id is not None
    application.engine.start_case("gate_reception", dean.id, version=1, actor="sg_caseworker")
    client = world.client("sg_caseworker")

    def rows(query: str) -> list[str]:
        page = client.get(f"/inbox?{query}")
        assert page.status_code == 200, page.text
        return sorted(inbox_clients(page.text))

    assert rows("") == ["Aaron Smith", "Ben Jones", "Dean Hall"]
    assert rows("pathway=gate_reception") == ["Aaron Smith", "Ben Jones", "Dean Hall"]
    assert rows("pathway=family_support") == []
    assert rows("pathway=gate_reception&version=1") == ["Dean Hall"]
    assert rows("version=2") == ["Aaron Smith", "Ben Jones"]
    assert rows("step=gate_meeting") == ["Aaron Smith"]
    assert rows("step=needs_assessment") == ["Ben Jones", "Dean Hall"]
    assert rows(f"client={world.clients['ben']}") == ["Ben Jones"]
    assert rows("data=risk_level%3Dhigh") == ["Aaron Smith"]
    assert rows("data=needs_accommodation%3Dtrue") == ["Aaron Smith"]  # JSON for non-text
    assert rows("data=client.name%3DDean+Hall") == ["Dean Hall"]
    assert rows("data=risk_level%3Dhigh,+needs_family%3Dtrue") == []
    assert rows("overdue=yes") == ["Ben Jones"]
    assert rows("overdue=no") == ["Aaron Smith", "Dean Hall"]
    assert rows("scope=unassigned&overdue=yes&pathway=gate_reception") == ["Ben Jones"]
    # the counts follow the filters (scope aside)
    page = client.get("/inbox?version=1")
    assert inbox_counts(page.text) == {"mine": 0, "role": 1, "unassigned": 1, "overdue": 0}
    # the filter form keeps what was asked
    page = client.get("/inbox?step=gate_meeting&data=risk_level%3Dhigh&overdue=no")
    assert '<option value="gate_meeting" selected>' in page.text
    assert 'name="data" value="risk_level=high"' in page.text
    assert '<option value="no" selected>' in page.text
    bad = client.get("/inbox?data=no-equals-sign")
    assert bad.status_code == 400 and "write it as field=value" in bad.text
    assert 'name="data" value="no-equals-sign"' in bad.text  # the inbox, what was typed kept


SORTED = {"due": ["Ben Jones", "Aaron Smith"], "-due": ["Aaron Smith", "Ben Jones"],
          "client": ["Aaron Smith", "Ben Jones"], "-client": ["Ben Jones", "Aaron Smith"],
          "created": ["Aaron Smith", "Ben Jones"], "-created": ["Ben Jones", "Aaron Smith"]}


def test_inbox_sorts(world: World) -> None:
    client = world.client("sg_caseworker")
    for sort in ("due", "-due", "created", "-created", "client", "-client", "pathway", "step",
                 "title"):
        page = client.get(f"/inbox?sort={sort}")
        assert page.status_code == 200, sort
        assert f'<option value="{sort}" selected>' in page.text
        names = inbox_clients(page.text)
        if sort in SORTED:
            assert names == SORTED[sort], sort
        else:  # both tasks are the same step of the same pathway
            assert sorted(names) == ["Aaron Smith", "Ben Jones"], sort


def test_inbox_refuses_an_unknown_sort_or_scope(world: World) -> None:
    client = world.client("sg_caseworker")
    for query in ("sort=bogus", "sort=due;drop", "sort=DUE", "scope=everyone", "scope=MINE",
                  "scope=mine&sort=client,due"):
        page = client.get(f"/inbox?{query}")
        assert page.status_code == 400, query
        assert "unknown scope or sort" in page.text


# -- claiming and reassigning ----------------------------------------------------------------


def test_claim_and_give_back(world: World) -> None:
    client = world.client("sg_caseworker")
    task = world.tasks["aaron"]
    csrf = token(client, "/inbox?scope=unassigned")
    claimed = client.post(f"/tasks/{task}/claim",
                          data={"csrf_token": csrf, "back": "/inbox?scope=mine"})
    assert claimed.status_code == 302 and claimed.location == "/inbox?scope=mine"
    assert world.open_task(task).assignee == "sg_caseworker"  # type: ignore[union-attr]
    mine = client.get("/inbox?scope=mine")
    assert "The task is yours." in flashes(mine.text)
    assert inbox_clients(mine.text) == ["Aaron Smith"] and "Give back" in mine.text
    assert any(e.action == "claim" and e.username == "sg_caseworker"
               for e in world.access_log(world.clients["aaron"]))

    # claiming without saying where to go back to opens the task
    other = client.post(f"/tasks/{world.tasks['ben']}/claim", data={"csrf_token": csrf})
    assert other.status_code == 302 and other.location == f"/tasks/{world.tasks['ben']}"

    back = client.post(f"/tasks/{task}/unclaim", data={"csrf_token": csrf})
    assert back.status_code == 302 and back.location == "/inbox"
    assert world.open_task(task).assignee is None  # type: ignore[union-attr]
    assert "The task is back in the team&#39;s list." in client.get("/inbox").text


def test_claim_goes_back_only_to_a_page_of_this_site(world: World) -> None:
    client = world.client("sg_caseworker")
    csrf = token(client)
    for back in ("https://evil.example/", "//evil.example/inbox", "/\\evil.example"):
        for action in ("claim", "unclaim"):
            response = client.post(f"/tasks/{world.tasks['aaron']}/{action}",
                                   data={"csrf_token": csrf, "back": back})
            assert response.status_code == 302
            assert response.location.startswith("/"), (back, response.location)
            assert not response.location.startswith(("//", "/\\")), (back, response.location)


def test_a_caseworker_cannot_take_a_colleagues_task_but_a_team_lead_can(world: World) -> None:
    task = world.tasks["aaron"]
    world.application.casework.claim(world.user("sg_team_lead"), task)
    caseworker = world.client("sg_caseworker")
    csrf = token(caseworker)
    refused = caseworker.post(f"/tasks/{task}/claim", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "assigned to sg_team_lead" in refused.text
    assert caseworker.post(f"/tasks/{task}/unclaim",
                           data={"csrf_token": csrf}).status_code == 403
    page = caseworker.get(f"/tasks/{task}")  # may still look, but not act
    assert page.status_code == 200
    assert "Only they (or a team lead) can work on it." in page.text
    assert 'value="complete"' not in page.text
    assert world.open_task(task).assignee == "sg_team_lead"  # type: ignore[union-attr]


def test_team_lead_reassigns_in_bulk(world: World) -> None:
    lead = world.client("sg_team_lead")
    page = lead.get("/inbox")
    assert page.status_code == 200
    assert f'name="task" value="{world.tasks["aaron"]}" form="bulk"' in page.text
    assert '<option value="sg_caseworker">' in page.text  # colleagues of the organisation
    assert "om_caseworker" not in page.text
    csrf = csrf_token(page.text)
    both = [world.tasks["aaron"], world.tasks["ben"]]

    done = lead.post("/inbox/reassign", data={"csrf_token": csrf, "task": both,
                                              "to": "sg_caseworker"})
    assert done.status_code == 302 and done.location == "/inbox?scope=role"
    assert "2 task(s) assigned to St Giles Trust caseworker." in flashes(lead.get("/inbox").text)
    assert {world.open_task(t).assignee for t in both} == {"sg_caseworker"}  # type: ignore[union-attr]
    mine = world.client("sg_caseworker").get("/inbox?scope=mine")
    assert inbox_counts(mine.text)["mine"] == 2
    log = world.access_log(world.clients["aaron"])
    assert any(e.action == "reassign" and e.username == "sg_team_lead"
               and e.detail.get("to") == "sg_caseworker" for e in log)

    undone = lead.post("/inbox/reassign", data={"csrf_token": csrf, "task": both, "to": ""})
    assert undone.status_code == 302
    assert "2 task(s) made unassigned." in flashes(lead.get("/inbox").text)
    assert {world.open_task(t).assignee for t in both} == {None}  # type: ignore[union-attr]

    nothing = lead.post("/inbox/reassign", data={"csrf_token": csrf, "to": "sg_caseworker"})
    assert nothing.status_code == 302
    assert "Tick the tasks to reassign first." in flashes(lead.get("/inbox").text)

    # not to someone of another organisation, nor to someone who may not do the task: the
    # inbox again, told why (tests/web/test_inbox_filters.py: what can be is reassigned)
    elsewhere = lead.post("/inbox/reassign", data={"csrf_token": csrf, "task": both,
                                                   "to": "om_caseworker"})
    assert elsewhere.status_code == 302
    assert "no active user" in lead.get("/inbox").text
    designer = lead.post("/inbox/reassign", data={"csrf_token": csrf, "task": both,
                                                  "to": "sg_designer"})
    assert designer.status_code == 302 and "may not do" in lead.get("/inbox").text
    assert {world.open_task(t).assignee for t in both} == {None}  # type: ignore[union-attr]
    # another organisation's task is left out, the others are reassigned
    mixed = lead.post("/inbox/reassign", data={
        "csrf_token": csrf, "task": [world.tasks["aaron"], world.tasks["cara"]],
        "to": "sg_caseworker"})
    assert mixed.status_code == 302
    assert world.open_task(world.tasks["aaron"]).assignee == "sg_caseworker"  # type: ignore[union-attr]
    assert world.open_task(world.tasks["cara"]).assignee is None  # type: ignore[union-attr]


def test_admin_reassigns_across_organisations(world: World) -> None:
    admin = world.client("sg_admin")
    page = admin.get("/inbox")
    assert sorted(inbox_clients(page.text)) == ["Aaron Smith", "Ben Jones", "Cara Green"]
    assert '<option value="om_caseworker">' in page.text
    done = admin.post("/inbox/reassign", data={"csrf_token": csrf_token(page.text),
                                               "task": world.tasks["cara"],
                                               "to": "om_caseworker"})
    assert done.status_code == 302
    assert world.open_task(world.tasks["cara"]).assignee == "om_caseworker"  # type: ignore[union-attr]


def test_a_caseworker_cannot_reassign(world: World) -> None:
    client = world.client("sg_caseworker")
    page = client.get("/inbox")
    assert 'name="task"' not in page.text and 'id="to"' not in page.text  # no bulk controls
    refused = client.post("/inbox/reassign", data={
        "csrf_token": csrf_token(page.text), "task": world.tasks["aaron"],
        "to": "sg_caseworker"})
    assert refused.status_code == 403
    assert "team_lead, admin only" in refused.text
    assert world.open_task(world.tasks["aaron"]).assignee is None  # type: ignore[union-attr]


# -- a task --------------------------------------------------------------------------------


def test_task_page_shows_the_form_with_labels(world: World) -> None:
    task = world.tasks["aaron"]
    page = world.client("sg_caseworker").get(f"/tasks/{task}")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Needs assessment</h1>" in html
    assert f'<a href="/clients/{world.clients["aaron"]}">Aaron Smith</a>' in html
    assert f"{GATE_TITLE} v2" in html and "Not assigned." in html
    assert f'action="/tasks/{task}"' in html or '<form method="post" class="card"' in html
    assert 'name="csrf_token"' in html
    block = field_block(html, "needs_accommodation")
    assert "<legend>Accommodation" in block and 'class="req"' in block
    assert "Has no settled address to go to on release" in block  # the help text
    assert 'type="radio" name="needs_accommodation" value="true"' in block
    assert 'type="radio" name="needs_accommodation" value="false"' in block
    risk = field_block(html, "risk_level")
    assert "<legend>Risk level" in risk
    for option in ("low", "medium", "high", "very high"):
        assert f'name="risk_level" value="{option}"' in risk
    notes = field_block(html, "notes")
    assert '<label for="input-notes">Notes' in notes and 'class="req"' not in notes
    assert '<textarea id="input-notes" name="notes"' in notes
    assert 'value="complete"' in html and 'value="draft"' in html
    assert any(e.action == "view_task" and e.username == "sg_caseworker"
               for e in world.access_log(world.clients["aaron"]))


def test_task_page_prefills_from_the_client_record(world: World) -> None:
    page = world.client("om_caseworker").get(f"/tasks/{world.tasks['cara']}")
    assert page.status_code == 200
    phone = field_block(page.text, "phone")
    assert '<label for="input-phone">Contact phone' in phone
    assert 'value="01733 123456"' in phone
    first = field_block(page.text, "first_contact")
    assert "Date of first contact" in first and 'type="date"' in first


def test_invalid_data_is_shown_beside_the_field_and_what_was_typed_is_kept(
        world: World) -> None:
    task = world.tasks["aaron"]
    client = world.client("sg_caseworker")
    csrf = token(client, f"/tasks/{task}")
    typed = {**NEEDS_ASSESSMENT, "needs_benefits": "maybe", "notes": "Typed <carefully>"}
    page = client.post(f"/tasks/{task}", data={**typed, "csrf_token": csrf,
                                               "action": "complete"})
    assert page.status_code == 422
    assert "Please check the fields marked below." in page.text
    benefits = field_block(page.text, "needs_benefits")
    assert 'class="field invalid"' in page.text
    assert '<p class="field-error" id="error-needs_benefits">choose Yes or No</p>' in benefits
    accommodation = field_block(page.text, "needs_accommodation")
    assert "field-error" not in accommodation
    assert re.search(r'name="needs_accommodation" value="true"\s+checked', accommodation)
    assert re.search(r'name="risk_level" value="high"\s+checked',
                     field_block(page.text, "risk_level"))
    assert "Typed &lt;carefully&gt;</textarea>" in field_block(page.text, "notes")
    assert world.open_task(task) is not None  # nothing was saved

    # the engine's own checks, too: a required answer left out
    missing = {k: v for k, v in NEEDS_ASSESSMENT.items() if k != "risk_level"}
    page = client.post(f"/tasks/{task}", data={**missing, "csrf_token": csrf,
                                               "action": "complete"})
    assert page.status_code == 422
    assert "this field is required" in field_block(page.text, "risk_level")
    assert "Seen in HMP</textarea>" in page.text
    assert world.open_task(task) is not None

    # both kinds at once are named in one round: an unreadable answer and a missing one
    both = {**missing, "needs_benefits": "maybe"}
    page = client.post(f"/tasks/{task}", data={**both, "csrf_token": csrf,
                                               "action": "complete"})
    assert page.status_code == 422
    assert "choose Yes or No" in field_block(page.text, "needs_benefits")
    assert "this field is required" in field_block(page.text, "risk_level")


def test_a_saved_draft_is_there_when_the_task_is_opened_again(world: World) -> None:
    task = world.tasks["aaron"]
    client = world.client("sg_caseworker")
    csrf = token(client, f"/tasks/{task}")
    saved = client.post(f"/tasks/{task}", data={
        "csrf_token": csrf, "action": "draft", "needs_family": "true",
        "risk_level": "medium", "notes": "Half way through"})
    assert saved.status_code == 302 and saved.location == f"/tasks/{task}"
    page = client.get(f"/tasks/{task}")
    assert "Draft saved. You can come back to it later." in flashes(page.text)
    assert "draft saved" in page.text
    assert re.search(r'name="needs_family" value="true"\s+checked', page.text)
    assert re.search(r'name="risk_level" value="medium"\s+checked', page.text)
    assert "Half way through</textarea>" in page.text
    assert world.open_task(task) is not None  # a draft completes nothing
    draft = world.draft(task, "sg_caseworker")
    assert draft is not None and draft.data["risk_level"] == "medium"
    # a draft is its author's own
    other = world.client("sg_team_lead").get(f"/tasks/{task}")
    assert "Half way through" not in other.text and "draft saved" not in other.text


def test_completing_goes_on_to_the_clients_next_task(world: World) -> None:
    task = world.tasks["aaron"]
    client = world.client("sg_caseworker")
    csrf = token(client, f"/tasks/{task}")
    done = client.post(f"/tasks/{task}", data={**NEEDS_ASSESSMENT, "csrf_token": csrf,
                                               "action": "complete"})
    assert done.status_code == 302, done.text
    assert world.open_task(task) is None
    following = world.open_tasks(world.clients["aaron"])
    assert [t.step for t in following] == ["gate_meeting"]
    assert done.location == f"/tasks/{following[0].id}"
    page = client.get(done.location)
    assert "Done. Next for this client: Meet client at the prison gate." in flashes(page.text)
    assert "<h1>Meet client at the prison gate</h1>" in page.text


def test_completing_the_last_task_goes_back_to_the_inbox(world: World) -> None:
    client = world.client("om_caseworker")
    task = world.tasks["cara"]
    csrf = token(client, f"/tasks/{task}")
    first = client.post(f"/tasks/{task}", data={
        "csrf_token": csrf, "action": "complete", "phone": "01733 654321",
        "first_contact": date.today().isoformat()})
    assert first.status_code == 302
    (consent,) = world.open_tasks(world.clients["cara"])
    assert consent.step == "consent" and first.location == f"/tasks/{consent.id}"
    last = client.post(f"/tasks/{consent.id}", data={
        "csrf_token": csrf, "action": "complete", "consent_given": "false"})
    assert last.status_code == 302 and last.location == "/inbox"
    assert "Done. Nothing more for this client right now." in flashes(
        client.get("/inbox").text)
    assert world.open_tasks(world.clients["cara"]) == []


def test_a_draft_goes_when_the_task_is_done(world: World) -> None:
    task = world.tasks["aaron"]
    client = world.client("sg_caseworker")
    csrf = token(client, f"/tasks/{task}")
    client.post(f"/tasks/{task}", data={"csrf_token": csrf, "action": "draft",
                                        "notes": "draft"})
    assert world.draft(task, "sg_caseworker") is not None
    client.post(f"/tasks/{task}", data={**NEEDS_ASSESSMENT, "csrf_token": csrf,
                                        "action": "complete"})
    assert world.draft(task, "sg_caseworker") is None


def test_an_unknown_task_is_not_found(world: World) -> None:
    client = world.client("sg_caseworker")
    assert client.get("/tasks/no-such-task").status_code == 404
    csrf = token(client)
    assert client.post("/tasks/no-such-task/claim", data={"csrf_token": csrf}
                       ).status_code == 404


# -- a client's record ---------------------------------------------------------------------


def test_client_record_shows_profile_cases_timeline_and_consents(world: World) -> None:
    aaron = world.clients["aaron"]
    world.application.casework.complete(world.user("sg_caseworker"), world.tasks["aaron"],
                                        {"needs_accommodation": True, "needs_benefits": False,
                                         "needs_substance_misuse": False,
                                         "needs_family": False, "needs_employment": False,
                                         "risk_level": "low"})
    page = world.client("sg_caseworker").get(f"/clients/{aaron}")
    assert page.status_code == 200
    html = page.text
    assert f'<h1>Aaron Smith <span class="muted">client {aaron}</span></h1>' in html
    release = (date.today() + timedelta(days=30)).isoformat()
    assert f"<dt>release date</dt><dd>{release}</dd>" in html  # profile
    assert f"{GATE_TITLE} v2" in html and "(St Giles Trust)" in html  # cases
    assert "<td>active</td>" in html
    (gate,) = world.open_tasks(aaron)
    assert f'<a href="/tasks/{gate.id}">Meet client at the prison gate</a>' in html
    # the timeline: when, what and who
    assert re.search(r'<time datetime="[0-9T:.+-]+">', html)
    assert re.search(r"<strong>task completed</strong> · Needs assessment\s*"
                     rf'<span class="muted">{re.escape(GATE_TITLE)} · '
                     r'<a href="/cases/\d+">case \d+</a>'
                     r" · by St Giles Trust caseworker</span>", html)
    # and what was answered, labelled from the form, in words
    assert "<dt>Accommodation</dt><dd>Yes</dd>" in html
    assert "<dt>Risk level</dt><dd>low</dd>" in html
    assert "<strong>case started</strong>" in html
    assert "No consent recorded." in html
    assert "Export everything held" not in html  # for admins only
    assert 'name="scope"' in html and 'name="purpose"' in html  # the consent form
    entries = [e for e in world.access_log(aaron) if e.action == "view_client"]
    assert entries[-1].username == "sg_caseworker"
    assert entries[-1].detail["basis"] == "organisation" and entries[-1].reason is None


def test_a_refused_consent_keeps_what_was_typed_and_says_what_is_wrong(world: World) -> None:
    """A blank purpose (or a missing given/withdrawn) answers the client page again, the
    form filled in as sent, with the problem beside its field: not an error page."""
    aaron = world.clients["aaron"]
    client = world.client("sg_caseworker")
    csrf = token(client, f"/clients/{aaron}")
    refused = client.post(f"/clients/{aaron}/consents", data={
        "csrf_token": csrf, "scope": "health", "given": "no", "purpose": "  "})
    assert refused.status_code == 400
    page = refused.text
    assert "Record a consent" in page and "Consents</h2>" in page  # the client page
    assert re.search(r'<option value="health" selected>', page)
    assert re.search(r'<input type="radio" name="given" value="no"[^>]* checked', page)
    assert re.search(r'<p class="field-error"[^>]*>[^<]*purpose', page)
    assert 'role="alert"' in page
    unsaid = client.post(f"/clients/{aaron}/consents", data={
        "csrf_token": csrf, "scope": "offence", "purpose": "Probation sharing agreement"})
    assert unsaid.status_code == 400
    assert 'name="purpose" value="Probation sharing agreement"' in unsaid.text
    assert re.search(r'<option value="offence" selected>', unsaid.text)
    assert "say whether consent is given" in unsaid.text
    assert world.consents(aaron) == []


def test_an_unknown_client_is_not_found(world: World) -> None:
    assert world.client("sg_caseworker").get("/clients/999999").status_code == 404


def test_recording_a_consent(world: World) -> None:
    aaron = world.clients["aaron"]
    client = world.client("sg_caseworker")
    csrf = token(client, f"/clients/{aaron}")
    recorded = client.post(f"/clients/{aaron}/consents", data={
        "csrf_token": csrf, "scope": "programme", "given": "yes",
        "purpose": "Sharing with the One Service providers"})
    assert recorded.status_code == 302 and recorded.location == f"/clients/{aaron}"
    page = client.get(recorded.location)
    assert "Consent recorded." in flashes(page.text)
    assert re.search(r"<tr><td>programme</td><td>given</td><td>\d{1,2} [A-Z][a-z]{2} \d{4}</td>"
                     r"<td>Sharing with the One Service providers</td><td>sg_caseworker · ",
                     page.text)
    (consent,) = world.consents(aaron)
    assert consent.given and consent.recorded_by == "sg_caseworker"
    # with programme consent in effect, another organisation opens the record: no reason
    other = world.client("om_caseworker").get(f"/clients/{aaron}")
    assert other.status_code == 200
    assert world.access_log(aaron)[-1].detail["basis"] == "consent"

    withdrawn = client.post(f"/clients/{aaron}/consents", data={
        "csrf_token": csrf, "scope": "programme", "given": "no", "purpose": "Client asked"})
    assert withdrawn.status_code == 302
    assert "<td>withdrawn</td>" in client.get(f"/clients/{aaron}").text
    assert world.client("om_caseworker").get(f"/clients/{aaron}").status_code == 403

    for bad, message in (({"given": "perhaps", "scope": "programme", "purpose": "x"},
                          "say whether consent is given"),
                         ({"given": "yes", "scope": "everything", "purpose": "x"},
                          "unknown consent scope"),
                         ({"given": "yes", "scope": "health", "purpose": "  "},
                          "purpose")):
        response = client.post(f"/clients/{aaron}/consents", data={**bad, "csrf_token": csrf})
        assert response.status_code == 400, bad
        assert message in response.text
    assert len(world.consents(aaron)) == 2


def test_starting_a_case(world: World) -> None:
    aaron = world.clients["aaron"]
    client = world.client("sg_caseworker")
    page = client.get(f"/clients/{aaron}")
    options = re.findall(r'<option value="([a-z_]+)">[^<]+</option>',
                         page.text.split('id="pathway"')[1].split("</select>")[0])
    # what St Giles works: its own pathways and SOVA's, open to St Giles' staff
    assert options == ["employment_support", "gate_reception", "housing_support"]
    csrf = csrf_token(page.text)
    started = client.post(f"/clients/{aaron}/cases", data={"csrf_token": csrf,
                                                           "pathway": "housing_support"})
    assert started.status_code == 302
    housing = [t for t in world.open_tasks(aaron) if t.pathway == "housing_support"]
    assert [t.step for t in housing] == ["housing_assessment"]
    assert started.location == f"/tasks/{housing[0].id}"
    flash = flashes(client.get(started.location).text)
    assert any(re.fullmatch(r"Started housing support \(case \d+\)\.", f) for f in flash)
    assert any(e.action == "start_case" and e.detail["pathway"] == "housing_support"
               for e in world.access_log(aaron))

    refused = client.post(f"/clients/{aaron}/cases", data={"csrf_token": csrf,
                                                           "pathway": "family_support"})
    assert refused.status_code == 403 and "does not work pathway" in refused.text
    unknown = client.post(f"/clients/{aaron}/cases", data={"csrf_token": csrf,
                                                           "pathway": "no_such_pathway"})
    assert unknown.status_code == 404
    assert world.case_count(aaron) == 2


def test_a_second_active_case_of_a_pathway_is_started_only_when_confirmed(
        world: World) -> None:
    """The demo started a duplicate gate reception that then entered the trial's counts:
    a second open case of the same pathway for a client needs a second, deliberate press."""
    aaron = world.clients["aaron"]
    (existing,) = world.application.engine.list_cases(client_id=aaron)
    assert existing.pathway == "gate_reception" and existing.status == "active"
    client = world.client("sg_caseworker")
    csrf = token(client, f"/clients/{aaron}")
    warned = client.post(f"/clients/{aaron}/cases", data={"csrf_token": csrf,
                                                          "pathway": "gate_reception"})
    assert warned.status_code == 409
    assert world.case_count(aaron) == 1
    assert re.search(r'role="alert"[^>]*>[^<]*already has an open '
                     rf'{re.escape(GATE_TITLE)} case',
                     warned.text)
    assert f"case {existing.id}" in warned.text
    confirm = warned.text.split('id="confirm-duplicate"')[1].split("</form>")[0]
    assert '<input type="hidden" name="pathway" value="gate_reception">' in confirm
    assert '<input type="hidden" name="duplicate" value="start_another">' in confirm
    started = client.post(f"/clients/{aaron}/cases", data={
        "csrf_token": csrf, "pathway": "gate_reception", "duplicate": "start_another"})
    assert started.status_code == 302
    assert world.case_count(aaron) == 2


def test_admin_exports_everything_held_on_a_client(world: World) -> None:
    aaron = world.clients["aaron"]
    world.application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                              "programme", "One Service")
    admin = world.client("sg_admin")
    record = admin.get(f"/clients/{aaron}")
    assert record.status_code == 200
    assert f'href="/clients/{aaron}/export"' in record.text
    response = admin.get(f"/clients/{aaron}/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="client-{aaron}-subject-access.json"')
    document = json.loads(response.data)
    assert document["exported_by"] == "sg_admin"
    assert document["client"]["name"] == "Aaron Smith"
    assert document["client"]["fields"]["release_date"]
    (case,) = document["cases"]
    assert case["pathway"] == "gate_reception" and "state" not in case
    assert case["events"][0]["type"] == "case_started"
    assert [t["step"] for t in case["tasks"]] == ["needs_assessment"]
    assert [(c["scope"], c["given"]) for c in document["consents"]] == [("programme", True)]
    actions = [e["action"] for e in document["access_log"]]
    assert {"create_client", "record_consent", "view_client"} <= set(actions)
    assert actions[-1] == "export"  # the export itself is logged
    assert "Cara Green" not in response.text  # only this client


# -- break glass ---------------------------------------------------------------------------


def test_break_glass_takes_a_reason_and_is_logged(world: World) -> None:
    aaron = world.clients["aaron"]
    client = world.client("om_caseworker")
    refused = client.get(f"/clients/{aaron}")
    assert refused.status_code == 403
    assert "<h1>A reason is needed</h1>" in refused.text
    assert f'<form method="post" action="/clients/{aaron}/open">' in refused.text
    assert '<input id="reason" name="reason" required' in refused.text
    assert "Aaron Smith" not in refused.text and "release" not in refused.text
    assert world.access_log(aaron)[-1].action == "view_client_refused"
    assert world.access_log(aaron)[-1].username == "om_caseworker"

    blank = client.post(f"/clients/{aaron}/open", data={
        "csrf_token": csrf_token(refused.text), "reason": "   "})
    assert blank.status_code == 400

    reason = "Client's partner asked us for urgent help"
    given = client.post(f"/clients/{aaron}/open", data={
        "csrf_token": csrf_token(refused.text), "reason": reason})
    assert given.status_code == 302 and given.location == f"/clients/{aaron}"  # no reason in it
    opened = client.get(given.location)
    assert opened.status_code == 200
    assert "Aaron Smith" in opened.text
    assert "Opened with a recorded reason: Client&#39;s partner asked us" in opened.text
    entry = world.access_log(aaron)[-1]
    assert (entry.action, entry.username, entry.organisation, entry.reason) == (
        "view_client", "om_caseworker", "ormiston_families", reason)
    assert entry.detail["break_glass"] is True and entry.detail["basis"] == "break_glass"

    # the view is read-only: no consent is recorded under it (tests/security/test_break_glass)
    consent = client.post(f"/clients/{aaron}/consents", data={
        "csrf_token": csrf_token(opened.text), "scope": "programme", "given": "yes",
        "purpose": "Family support"})
    assert consent.status_code == 403
    assert world.consents(aaron) == []
    assert world.access_log(aaron)[-1].action == "record_consent_refused"


def test_a_designer_never_opens_a_client_record(world: World) -> None:
    client = world.client("sg_designer")
    page = client.get(f"/clients/{world.clients['aaron']}")
    assert page.status_code == 403
    assert "does not open individual client records" in page.text
    assert "A reason is needed" not in page.text
    token = csrf_token(client.get("/dashboard").text)
    given = client.post(f"/clients/{world.clients['aaron']}/open", data={
        "csrf_token": token, "reason": "curious about this client's progress"})
    assert given.status_code == 403 and "Aaron" not in given.text
    # a reason never goes in the address, for anyone
    assert client.get(f"/clients/{world.clients['aaron']}?reason=curious+about+it"
                      ).status_code == 400


# -- around the pages ------------------------------------------------------------------------


def test_home_sends_case_staff_to_the_inbox_and_the_others_to_the_dashboard(world: World) -> None:
    for username in ("sg_caseworker", "sg_team_lead", "om_admin"):
        response = world.client(username).get("/")
        assert response.status_code == 302 and response.location == "/inbox", username
    for username in ("sg_designer", "om_commissioner"):
        response = world.client(username).get("/")
        assert response.status_code == 302 and response.location == "/dashboard", username


def test_health(world: World) -> None:
    response = world.client().get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "pathways": 8}


EMPTY_HEADER = re.compile(r"<th[^>]*>\s*</th>")


@pytest.mark.parametrize(("username", "url"), [
    ("sg_caseworker", "/inbox"), ("sg_admin", "/admin/users"),
    ("sg_admin", "/admin/users/sg_caseworker"), ("sg_admin", "/admin/organisations"),
    ("sg_admin", "/admin/access"),
    ("sg_designer", "/pathways/gate_reception/migrations"), ("om_commissioner", "/dashboard"),
    ("om_commissioner", "/dashboard?pathway=gate_reception"),
])
def test_table_headers_have_names_and_scrolling_regions_take_focus(
        world: World, username: str, url: str) -> None:
    """WCAG 2.2 (axe-core's empty-table-header and scrollable-region-focusable): a column
    of buttons still has a header screen readers can say, and a table that scrolls
    sideways can be reached and scrolled from the keyboard."""
    page = world.client(username).get(url)
    assert page.status_code == 200, (url, page.status_code)
    assert not EMPTY_HEADER.findall(page.text), url
    for region in re.findall(r'<div class="scroll"[^>]*>', page.text):
        assert 'tabindex="0"' in region and "aria-label=" in region, region


def test_a_figures_table_scrolls_in_a_named_focusable_region() -> None:
    from web.figures import table_html
    html = str(table_html([{"people": 3}], ["people"], "Cohort <1>"))
    assert html.startswith('<div class="scroll" tabindex="0" role="region" '
                           'aria-label="Cohort &lt;1&gt;">')
    untitled = str(table_html([{"people": 3, "a": 1, "b": 2, "c": 3}],
                              ["people", "a", "b", "c"]))
    assert untitled.startswith('<div class="scroll" tabindex="0" role="region" '
                               'aria-label="Table: People, A, B, …">')
