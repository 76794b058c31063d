"""No inference of sensitive data from what is not hidden (issue 10, item 2).

For each sensitive field of the shipped pathways (definitions/), a client takes the branch it
decides, on the real shipped definitions published through the engine on a real database
(SQLite and PostgreSQL). Then a caseworker of another organisation, who may open the record
under the client's programme consent but has no health or offence consent, must find in no
page, no API answer and no export (default mode) the field's value, the names, titles or ids
of the steps that depend on it, the referral it causes, or the sensitive pathway's name. The
client's own organisation, the organisation doing a task, and an admin's subject access
export still see everything.

The sensitive fields: gate reception's needs_substance_misuse (health: decides the substance
misuse referral) and mental_health_concern (health: decides the referral to Mind's
mental_health_referral, a pathway marked health as a whole, whose phq9_score, gad7_score and
risk_to_self decide its own referral), and risk_level (offence: nothing depends on it, its
value must stay hidden). Version 1 of gate reception has the same substance misuse branch;
tests/unit/dsl/test_sensitive.py checks what each shipped version derives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from adapters.cli import cli as pathways_cli
from engine.access import HIDDEN
from tests.web.conftest import PASSWORD, Site, force_sign_in
from tests.web.test_pages import World, build_world

PROVIDER = "Aspire Recovery Wellbeing"  # typed on the sensitive referral's form
RISK = "very high"  # the offence field's value

# what the outsider must not learn, by the sensitive field it depends on
SUBSTANCE_MISUSE = ("refer_substance_misuse", "Refer to substance misuse services",
                    "substance_misuse_referral_made", "substance_misuse_provider", PROVIDER)
MENTAL_HEALTH = ("mental_health_referral", "mental health referral",
                 "Mental health screening and referral (Mind)", "Screening (PHQ-9 and GAD-7)",
                 "start:mental", "mh_practitioner", "make_referral",
                 "Refer to a mental health service", "mh_screened", "phq9")
FORBIDDEN = (*SUBSTANCE_MISUSE, *MENTAL_HEALTH, RISK)

ASSESSMENT = {"needs_accommodation": False, "needs_benefits": False,
              "needs_substance_misuse": True, "needs_family": False,
              "needs_employment": False, "risk_level": RISK, "notes": "Seen in HMP"}
ANSWERS: dict[str, dict[str, Any]] = {
    "needs_assessment": ASSESSMENT,
    "gate_meeting": {"met_at_gate": True},
    "first_week_support": {"accommodation_status": "settled", "benefits_claim_made": True},
    "mental_health_screening": {"mental_health_concern": True, "consent_to_refer": True},
    "refer_substance_misuse": {"substance_misuse_referral_made": True,
                               "substance_misuse_provider": PROVIDER},
}


@dataclass
class Scene:
    world: World
    dan: int  # took both sensitive branches, referred to Mind; substance misuse referral done
    eve: int  # substance misuse referral open in the inbox

    @property
    def application(self) -> Any:
        return self.world.application


def _drive(world: World, client_id: int, until: str | None,
           **changed: dict[str, Any]) -> None:
    """Complete the client's gate reception tasks in order (ANSWERS, but for `changed`),
    stopping at step `until`."""
    caseworker = world.user("sg_caseworker")
    answers = {**ANSWERS, **changed}
    while True:
        tasks = [t for t in world.open_tasks(client_id) if t.pathway == "gate_reception"]
        if not tasks or tasks[0].step == until or tasks[0].step not in answers:
            return
        world.application.casework.complete(caseworker, tasks[0].id, answers[tasks[0].step])


@pytest.fixture
def scene(site: Site) -> Scene:
    world = build_world(site)
    application = site.application
    application.accounts.add_organisation("mind", "Mind")
    world.users["mind_caseworker"] = application.accounts.add_user(
        "mind_caseworker", "Mo Mind", "mind", "caseworker", PASSWORD)
    release = (date.today() - timedelta(days=1)).isoformat()
    sg = world.user("sg_caseworker")
    clients = {}
    for name in ("Dan Brown", "Eve White"):
        client = application.casework.add_client(sg, name, {"release_date": release})
        assert client.id is not None
        application.casework.start_case(sg, "gate_reception", client.id)
        application.casework.record_consent(sg, client.id, True, "programme", "One Service")
        clients[name] = client.id
    dan, eve = clients["Dan Brown"], clients["Eve White"]
    _drive(world, dan, until=None)
    (screening,) = [t for t in world.open_tasks(dan) if t.pathway == "mental_health_referral"]
    application.casework.complete(world.user("mind_caseworker"), screening.id, {
        "phq9_score": 16, "gad7_score": 4, "risk_to_self": False})
    _drive(world, eve, until="refer_substance_misuse", mental_health_screening={
        "mental_health_concern": False, "consent_to_refer": False})
    with world.uow() as uow:
        dan_cases = {c.pathway for c in uow.cases.list(client_id=dan)}
    assert dan_cases == {"gate_reception", "mental_health_referral"}  # the referral happened
    assert [t.step for t in world.open_tasks(eve)] == ["refer_substance_misuse"]
    assert "make_referral" in {t.step for t in world.open_tasks(dan)}  # over the threshold
    return Scene(world, dan, eve)


def assert_nothing_sensitive(text: str, where: str) -> None:
    found = [word for word in FORBIDDEN if word.lower() in text.lower()]
    assert not found, f"{where} shows {found}"


def _values(document: Any, key: str) -> Iterator[Any]:
    """Every value of `key` anywhere in a JSON document."""
    if isinstance(document, dict):
        for k, v in document.items():
            if k == key:
                yield v
            yield from _values(v, key)
    elif isinstance(document, list):
        for item in document:
            yield from _values(item, key)


# -- pages and API answers -----------------------------------------------------------------


def test_the_client_record_page_reveals_no_sensitive_step_referral_or_pathway(
        scene: Scene) -> None:
    world = scene.world
    outsider = world.client("om_caseworker")
    for client_id in (scene.dan, scene.eve):
        page = outsider.get(f"/clients/{client_id}")
        assert page.status_code == 200, page.text
        assert "Dan Brown" in page.text or "Eve White" in page.text
        assert_nothing_sensitive(page.text, f"the record of client {client_id}")
        assert "needs assessment" in page.text.lower()  # what is not sensitive is still there
    for path in ("/inbox", "/inbox?scope=unassigned", "/clients",
                 "/inbox?data=needs_substance_misuse%3Dtrue"):
        page = outsider.get(path)
        assert page.status_code == 200, path
        assert_nothing_sensitive(page.text, path)


def test_the_api_reveals_no_sensitive_value_step_referral_or_pathway(scene: Scene) -> None:
    world = scene.world
    api = _api(world)
    for client_id in (scene.dan, scene.eve):
        response = api("om_caseworker", f"/clients/{client_id}")
        assert response.status_code == 200, response.text
        assert_nothing_sensitive(response.text, f"GET /clients/{client_id}")
        record = response.json
        for key in ("needs_substance_misuse", "risk_level", "mental_health_concern"):
            values = list(_values(record, key))
            assert values and all(v == HIDDEN for v in values), (key, values)
        assert [c["pathway"] for c in record["cases"]] == ["gate_reception"]
        steps = {e["step"] for e in record["timeline"]}
        assert "needs_assessment" in steps and "gw_refer_substance_misuse" not in steps
        assert not any(e["type"] == "referral_made" for e in record["timeline"])
        assert record["referrals"] == []
    for path in ("/tasks", "/tasks?scope=unassigned",
                 "/tasks?data=needs_substance_misuse%3Dtrue",
                 "/tasks?data=substance_misuse_referral_made%3Dtrue"):
        response = api("om_caseworker", path)
        assert response.status_code == 200, (path, response.text)
        assert_nothing_sensitive(response.text, path)
    (task,) = world.open_tasks(scene.eve)
    assert api("om_caseworker", f"/tasks/{task.id}").status_code == 404


def test_a_health_consent_shows_health_but_not_offence(scene: Scene) -> None:
    world = scene.world
    world.application.casework.record_consent(world.user("sg_caseworker"), scene.dan, True,
                                              "health", "Mind and drug services")
    record = _api(world)("om_caseworker", f"/clients/{scene.dan}").json
    assert record is not None
    text = json.dumps(record)
    for word in (*SUBSTANCE_MISUSE, "mental_health_referral"):
        assert word in text, word
    assert set(_values(record, "needs_substance_misuse")) == {True}
    assert set(_values(record, "risk_level")) == {HIDDEN} and RISK not in text


def test_the_clients_own_organisation_and_the_task_doer_still_see_their_work(
        scene: Scene) -> None:
    world = scene.world
    api = _api(world)
    own = api("sg_caseworker", f"/clients/{scene.dan}").json
    assert own is not None
    text = json.dumps(own)
    for word in (*SUBSTANCE_MISUSE, "mental_health_referral", RISK):
        assert word in text, word
    inbox = api("sg_caseworker", "/tasks").text
    assert "Refer to substance misuse services" in inbox
    (task,) = world.open_tasks(scene.eve)
    page = world.client("sg_caseworker").get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "Refer to substance misuse services" in page.text
    mind = api("mind_caseworker", "/tasks").text
    assert "Refer to a mental health service" in mind


def test_the_subject_access_export_keeps_everything(scene: Scene) -> None:
    world = scene.world
    document = world.application.casework.export_client(world.user("sg_admin"), scene.dan)
    text = json.dumps(document)
    for word in (*SUBSTANCE_MISUSE, "mental_health_referral", "start:mental", RISK):
        assert word in text, word
    response = world.client("sg_admin").get(f"/clients/{scene.dan}/export")
    assert response.status_code == 200 and PROVIDER in response.text


# -- exports ---------------------------------------------------------------------------------


def _export(site: Site, *args: str) -> str:
    result = CliRunner().invoke(pathways_cli, ["--db", site.application.settings.database_url,
                                               "export", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("kind", ["xes", "cases", "tasks", "indigo"])
def test_exports_are_redacted_by_default_and_whole_with_full(scene: Scene, kind: str) -> None:
    site = scene.world.app_site
    redacted = _export(site, kind)
    assert_nothing_sensitive(redacted, f"export {kind}")
    assert _export(site, kind, "--redacted") == redacted
    full = _export(site, kind, "--full")
    expected = {"xes": "gw_refer_substance_misuse", "cases": PROVIDER,
                "tasks": "Refer to substance misuse services",
                "indigo": "mh_screened"}[kind]
    assert expected in full
    if kind == "cases":
        assert HIDDEN in redacted and "gate_reception" in redacted
    if kind == "xes":
        assert "needs_assessment" in redacted  # the rest of the log is there


# -- helpers ---------------------------------------------------------------------------------


def _api(world: World) -> Any:
    tokens: dict[str, str] = {}

    def call(username: str, path: str) -> Any:
        if username not in tokens:
            tokens[username] = world.application.accounts.issue_token(username, "tests")[1]
        return world.app_site.client().get(
            "/api/v1" + path, headers={"Authorization": f"Bearer {tokens[username]}"})
    return call


def test_the_dashboard_names_no_sensitive_step_or_outcome(scene: Scene) -> None:
    """Aggregates too: no per-step row, outcome or split of the commissioner's dashboard
    names a step, decision or referral whose existence reveals health data (here with
    disclosure control at 1, so that every count would show)."""
    application = scene.application
    application.settings = replace(application.settings, disclosure_threshold=1)
    site = scene.world.app_site
    for username in ("sg_commissioner", "sg_designer", "sg_admin"):
        client = site.client()
        force_sign_in(client, site, username)
        for url in ("/dashboard?pathway=gate_reception",
                    *(f"/dashboard/{table}.csv?pathway=gate_reception"
                      for table in ("versions", "gate", "engagement", "activity"))):
            response = client.get(url)
            assert response.status_code == 200, (url, response.text[:300])
            # the pathway chooser lists every published service, Mind's too: no one's data
            shown = re.sub(r'<select name="pathway">.*?</select>', "", response.text,
                           flags=re.S)
            assert_nothing_sensitive(shown, f"{url} as {username}")
        versions = client.get("/dashboard/versions.csv?pathway=gate_reception").text
        assert "needs_assessment" in versions  # the other steps are still there
