"""Contacts and notes outside tasks, and closing a case (issue 18, items 2 and 3), through the
pages and the API, on SQLite and PostgreSQL.

A note is recorded on a client (optionally about one of their cases) by those who may write
to the record; it shows on the client's timeline and its case's page, is in the subject
access export, and is read under the record's rules (its free text only by those who see
every sensitive category, or its author's organisation). A case is closed with a reason by
caseworkers of the organisation that holds it and admins; others who see it get 403, a
closed case 409.
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import date, timedelta
from typing import Any

import pytest

from tests.web.conftest import csrf_token
from tests.web.test_case_page import ASSESSMENT, aaron_case, api
from tests.web.test_pages import World, build_world, flashes

CALL = {"kind": "phone_call", "contact_on": date.today().isoformat(), "minutes": "15",
        "text": "Rang about his housing appointment; he will go on Monday."}


@pytest.fixture
def world(site: Any) -> World:
    world = build_world(site)
    world.application.casework.complete(world.user("sg_caseworker"), world.tasks["aaron"],
                                        ASSESSMENT)
    return world


def post(world: World, username: str, page: str, action: str, data: dict[str, str]) -> Any:
    client = world.client(username)
    shown = client.get(page)
    assert shown.status_code == 200, shown.text[:300]
    return client, client.post(action, data={**data, "csrf_token": csrf_token(shown.text)})


def notes_of(world: World, client_id: int) -> list[Any]:
    with world.uow() as uow:
        return list(uow.notes.for_client(client_id))


def case_status(world: World, case_id: int) -> str:
    with world.uow() as uow:
        case = uow.cases.get(case_id, with_state=False)
        assert case is not None
        return case.status


def api_post(world: World, username: str, path: str, body: Any) -> Any:
    token = world.application.accounts.issue_token(username, "tests")[1]
    return world.app_site.client().post("/api/v1" + path, json=body,
                                        headers={"Authorization": f"Bearer {token}"})


# -- notes ---------------------------------------------------------------------------------


def test_a_caseworker_notes_a_call_on_the_client_record(world: World) -> None:
    aaron = world.clients["aaron"]
    client, response = post(world, "sg_caseworker", f"/clients/{aaron}",
                            f"/clients/{aaron}/notes", CALL)
    assert response.status_code == 302 and response.location == f"/clients/{aaron}#notes"
    page = client.get(f"/clients/{aaron}").text
    assert flashes(page) == ["Note recorded."]
    item = re.search(r'<li class="note" id="note-\d+">.*?</li>', page, re.S)
    assert item, page
    assert "<strong>Phone call</strong>" in item[0] and "15 min" in item[0]
    assert "by St Giles Trust caseworker (St Giles Trust)" in item[0]
    assert htmllib.escape(CALL["text"]) in item[0]
    (note,) = notes_of(world, aaron)
    assert (note.kind, note.minutes, note.case_id, note.organisation) == (
        "phone_call", 15, None, "st_giles_trust")
    with world.uow() as uow:
        logged = [e for e in uow.access_log.list(client_id=aaron) if e.action == "record_note"]
    assert logged[0].detail["note"] == note.id and logged[0].username == "sg_caseworker"


def test_a_refused_note_keeps_what_was_typed_and_names_each_field(world: World) -> None:
    aaron = world.clients["aaron"]
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    sent = {"kind": "visit", "contact_on": tomorrow, "minutes": "2000",
            "text": "Typed <carefully> & kept"}
    _, response = post(world, "sg_caseworker", f"/clients/{aaron}",
                       f"/clients/{aaron}/notes", sent)
    assert response.status_code == 422
    html = response.text
    assert "The note was not recorded" in html
    assert "the contact cannot be later than today" in html
    assert "enter minutes from 0 to 1440" in html
    assert f'value="{tomorrow}"' in html and 'value="2000"' in html
    assert "Typed &lt;carefully&gt; &amp; kept</textarea>" in html
    assert '<option value="visit" selected>' in html
    _, response = post(world, "sg_caseworker", f"/clients/{aaron}",
                       f"/clients/{aaron}/notes",
                       {"kind": "gossip", "contact_on": "yesterday", "minutes": "ten",
                        "text": "   "})
    assert response.status_code == 422
    for message in ("choose one of: Phone call", "enter a date as YYYY-MM-DD",
                    "enter a whole number of minutes", "write what happened"):
        assert message in response.text, message
    assert notes_of(world, aaron) == []


def test_a_note_from_the_case_page_is_about_that_case(world: World) -> None:
    aaron, case_id = world.clients["aaron"], aaron_case(world)
    sent = {**CALL, "kind": "missed_appointment", "minutes": "", "text": "Did not come in."}
    client, response = post(world, "sg_caseworker", f"/cases/{case_id}",
                            f"/cases/{case_id}/notes", sent)
    assert response.status_code == 302 and response.location == f"/cases/{case_id}#notes"
    page = client.get(f"/cases/{case_id}").text
    assert "<strong>Missed appointment</strong>" in page and "Did not come in." in page
    (note,) = notes_of(world, aaron)
    assert note.case_id == case_id and note.minutes is None
    record = client.get(f"/clients/{aaron}").text
    assert f'<a href="/cases/{case_id}">case {case_id}</a> · by St Giles Trust caseworker' in record
    body = api(world, "sg_caseworker", f"/cases/{case_id}").json
    assert [n["text"] for n in body["notes"]] == ["Did not come in."]


def test_a_note_about_a_case_of_another_client_is_refused(world: World) -> None:
    aaron = world.clients["aaron"]
    with world.uow() as uow:
        (ben_case,) = uow.cases.list(client_id=world.clients["ben"])
    _, response = post(world, "sg_caseworker", f"/clients/{aaron}",
                       f"/clients/{aaron}/notes", {**CALL, "case": str(ben_case.id)})
    assert response.status_code == 422
    assert f"case {ben_case.id} is not one of this client&#39;s cases" in response.text
    assert notes_of(world, aaron) == []


def test_another_organisation_may_not_note_without_consent_nor_read_the_notes(
        world: World) -> None:
    aaron = world.clients["aaron"]
    world.application.casework.record_note(
        world.user("sg_caseworker"), aaron, kind="prison_visit", contact_on=date.today(),
        minutes=60, text="Visited at HMP Peterborough")
    client = world.client("om_caseworker")
    token = csrf_token(client.get("/inbox").text)
    response = client.post(f"/clients/{aaron}/notes", data={**CALL, "csrf_token": token})
    assert response.status_code == 403 and "Aaron" not in response.text
    assert len(notes_of(world, aaron)) == 1
    assert api(world, "om_caseworker", f"/clients/{aaron}/notes").status_code == 403
    # under the programme consent: may record a note, reads its own, not St Giles' free text
    world.application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                              "programme", "One Service")
    response = client.post(f"/clients/{aaron}/notes", data={**CALL, "csrf_token": token})
    assert response.status_code == 302
    page = client.get(f"/clients/{aaron}").text
    assert CALL["text"] in page and "HMP Peterborough" not in page
    listed = api(world, "om_caseworker", f"/clients/{aaron}/notes").json["notes"]
    assert [n["organisation"] for n in listed] == ["ormiston_families"]
    # with the health and offence consents in effect too, every note reads
    for scope in ("health", "offence"):
        world.application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                                  scope, "One Service")
    listed = api(world, "om_caseworker", f"/clients/{aaron}/notes").json["notes"]
    assert [n["kind"] for n in listed] == ["prison_visit", "phone_call"]


def test_break_glass_reads_but_never_writes_a_note(world: World) -> None:
    aaron = world.clients["aaron"]
    client = world.client("om_caseworker")
    opened = client.post(f"/clients/{aaron}/open", data={
        "reason": "Client came to our office asking for urgent help",
        "csrf_token": csrf_token(client.get("/inbox").text)})
    assert opened.status_code == 302
    page = client.get(f"/clients/{aaron}").text
    assert 'id="record-note"' not in page
    response = client.post(f"/clients/{aaron}/notes",
                           data={**CALL, "csrf_token": csrf_token(page)})
    assert response.status_code == 403 and notes_of(world, aaron) == []


def test_notes_are_in_the_subject_access_export(world: World) -> None:
    aaron = world.clients["aaron"]
    world.application.casework.record_note(
        world.user("sg_caseworker"), aaron, kind="meeting", contact_on=date.today(),
        minutes=None, text="Met at the library")
    exported = world.client("sg_admin").get(f"/clients/{aaron}/export").json
    assert [n["text"] for n in exported["notes"]] == ["Met at the library"]
    assert exported["notes"][0]["organisation"] == "st_giles_trust"
    body = api(world, "sg_admin", f"/clients/{aaron}/export").json
    assert body["notes"][0]["kind"] == "meeting"


def test_the_api_records_and_lists_notes(world: World) -> None:
    aaron, case_id = world.clients["aaron"], aaron_case(world)
    made = api_post(world, "sg_caseworker", f"/clients/{aaron}/notes", {
        "kind": "visit", "contact_on": date.today().isoformat(), "minutes": 45,
        "text": "Home visit", "case_id": case_id})
    assert made.status_code == 201, made.text
    assert made.headers["Location"].endswith(f"/api/v1/clients/{aaron}/notes")
    note = made.json["note"]
    assert (note["kind_title"], note["case_id"], note["pathway"]) == (
        "Visit", case_id, "gate_reception")
    listed = api(world, "sg_caseworker", f"/clients/{aaron}/notes").json["notes"]
    assert [n["id"] for n in listed] == [note["id"]]
    record = api(world, "sg_caseworker", f"/clients/{aaron}").json
    assert record["may_note"] is True and record["notes"][0]["text"] == "Home visit"
    bad = api_post(world, "sg_caseworker", f"/clients/{aaron}/notes", {
        "kind": "gossip", "contact_on": "soon", "minutes": 5000, "text": ""})
    assert bad.status_code == 400
    fields = bad.json["error"]["details"]["fields"]
    assert set(fields) == {"kind", "contact_on", "minutes", "text"}
    future = api_post(world, "sg_caseworker", f"/clients/{aaron}/notes", {
        "kind": "visit", "contact_on": (date.today() + timedelta(days=3)).isoformat(),
        "text": "later"})
    assert future.status_code == 400
    assert future.json["error"]["details"]["fields"]["contact_on"] == [
        "the contact cannot be later than today"]
    assert len(notes_of(world, aaron)) == 1


# -- closing a case ---------------------------------------------------------------------------


def test_a_caseworker_closes_a_case_with_a_reason(world: World) -> None:
    case_id = aaron_case(world)
    client, response = post(world, "sg_caseworker", f"/cases/{case_id}",
                            f"/cases/{case_id}/close", {"reason": "Moved out of the area"})
    assert response.status_code == 302 and response.location == f"/cases/{case_id}"
    page = client.get(f"/cases/{case_id}").text
    assert flashes(page) == ["Case closed."]
    assert '<dd id="case-status">cancelled</dd>' in page and 'id="close-case"' not in page
    assert case_status(world, case_id) == "cancelled"
    with world.uow() as uow:
        (event,) = [e for e in uow.events.list(case_id) if e.type == "case_cancelled"]
        logged = [e for e in uow.access_log.list(client_id=world.clients["aaron"])
                  if e.action == "close_case"]
    assert event.data["reason"] == "Moved out of the area" and event.actor == "sg_caseworker"
    assert logged[0].detail["why"] == "Moved out of the area" and logged[0].reason is None
    assert world.open_tasks(world.clients["aaron"]) == []
    # closing it again: 409, said plainly
    token = csrf_token(page)
    again = client.post(f"/cases/{case_id}/close", data={"reason": "Again",
                                                         "csrf_token": token})
    assert again.status_code == 409 and "already closed (cancelled)" in again.text


def test_closing_without_a_reason_keeps_the_page_and_says_why(world: World) -> None:
    case_id = aaron_case(world)
    _, response = post(world, "sg_caseworker", f"/cases/{case_id}",
                       f"/cases/{case_id}/close", {"reason": "   "})
    assert response.status_code == 422
    assert "say why the case is closed" in response.text
    assert 'id="close-reason"' in response.text and "The case was not closed" in response.text
    assert case_status(world, case_id) == "active"


def test_only_the_holding_organisation_and_admins_close_a_case(world: World) -> None:
    case_id = aaron_case(world)
    world.application.casework.record_consent(world.user("sg_caseworker"),
                                              world.clients["aaron"], True, "programme",
                                              "One Service")
    client = world.client("om_caseworker")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and 'id="close-case"' not in page.text
    refused = client.post(f"/cases/{case_id}/close", data={
        "reason": "Not ours", "csrf_token": csrf_token(page.text)})
    assert refused.status_code == 403 and "holds this case" in refused.text
    api_refused = api_post(world, "om_team_lead", f"/cases/{case_id}/close",
                           {"reason": "Not ours"})
    assert api_refused.status_code == 403
    assert case_status(world, case_id) == "active"
    closed = api_post(world, "om_admin", f"/cases/{case_id}/close", {"reason": "Duplicate"})
    assert closed.status_code == 200, closed.text
    assert closed.json["case"]["status"] == "cancelled"
    again = api_post(world, "sg_caseworker", f"/cases/{case_id}/close", {"reason": "Again"})
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert "already closed" in again.json["error"]["message"]
    missing = api_post(world, "sg_caseworker", f"/cases/{case_id}/close", {})
    assert missing.status_code == 400
    assert "reason" in missing.json["error"]["details"]["fields"]
