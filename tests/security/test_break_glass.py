"""Break-glass stays glass: a time-boxed, read-only, logged and reportable view.

Every escalation path an outside review found is tried here, through the pages (Flask's test
client) and the API, on SQLite and PostgreSQL: after Ormiston Families' caseworker opens a
St Giles client's record with a reason, starting a case, recording or withdrawing a consent
of any scope, completing, drafting or claiming a task are refused and change nothing; what
was started or consented under break-glass before this fix never makes an organisation
involved; the view ends with its time box (the app's clock is a fake one, moved on here);
health and offence details stay hidden; the reason never travels in a URL or in the session
cookie; meaningless reasons are refused; and every opening is listed by
`pathways access report` and the admin page /admin/access.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from engine.access import check_reason
from engine.errors import ForbiddenError, InvalidArgumentError
from engine.model import AccessEntry, Consent
from tests.e2e.test_cli import Cli
from tests.unit.engine.fakes import FakeClock
from tests.unit.engine.test_casework import ASSESS
from tests.unit.engine.test_casework import World as UnitWorld
from tests.web.conftest import CHEAP_HASHER, Site, csrf_token
from tests.web.test_pages import NEEDS_ASSESSMENT, World, build_world
from web import create_app
from web.security import limiter

REASON = "Safeguarding call from the probation officer"
HEADER = "X-Pathways-Reason"
API = "/api/v1"


@dataclass
class Glass:
    """build_world's programme on an app whose clock the test moves, with API tokens."""

    world: World
    clock: FakeClock
    tokens: dict[str, str]

    @property
    def aaron(self) -> int:
        return self.world.clients["aaron"]

    def page(self, username: str | None) -> FlaskClient:
        limiter.reset()
        return self.world.client(username)

    def api(self, username: str, method: str, path: str, *, json_body: Any = None,
            headers: dict[str, str] | None = None) -> TestResponse:
        return self.world.app_site.client().open(
            API + path, method=method, json=json_body,
            headers={"Authorization": f"Bearer {self.tokens[username]}", **(headers or {})})

    def snapshot(self, client_id: int) -> tuple[Any, ...]:
        """What an escalation could change: cases, tasks with assignees, drafts, consents."""
        with self.world.uow() as uow:
            cases = sorted((c.id, c.status) for c in uow.cases.list(client_id=client_id))
            tasks = sorted((t.id, t.assignee) for case_id, _ in cases
                           for t in uow.inbox.list(case_id=case_id))
            drafts = sorted((d.task_id, d.username) for case_id, _ in cases
                            for d in uow.drafts.for_case(case_id))
            consents = [(c.scope, c.given) for c in uow.consents.for_client(client_id)]
        return cases, tasks, drafts, consents

    def open_on_page(self, client: FlaskClient, client_id: int, reason: str = REASON
                     ) -> TestResponse:
        refused = client.get(f"/clients/{client_id}")
        assert refused.status_code == 403 and 'name="reason"' in refused.text
        return client.post(f"/clients/{client_id}/open", data={
            "csrf_token": csrf_token(refused.text), "reason": reason})


def make_glass(database_url: str, tmp_path: Path, minutes: int = 30) -> Iterator[Glass]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    # The web session outlives the moves of the clock here (an idle session would end at 30
    # minutes too): what ends is the break-glass view alone.
    settings = Settings(database_url=database_url, secret_key="test-secret",
                        definitions_dir=tmp_path / "no-definitions",
                        break_glass_minutes=minutes, session_idle_minutes=24 * 60)
    application = bootstrap(settings, hasher=CHEAP_HASHER, clock=clock)
    app = create_app(application, test_config={"TESTING": True})
    limiter.reset()
    try:
        world = build_world(Site(app, application))
        tokens = {name: application.accounts.issue_token(name, "tests")[1]
                  for name in world.users}
        yield Glass(world, clock, tokens)
    finally:
        application.close()


@pytest.fixture
def glass(migrated_database_url: str, tmp_path: Path) -> Iterator[Glass]:
    yield from make_glass(migrated_database_url, tmp_path)


def error_of(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    body = response.json
    assert body is not None, response.text[:500]
    error: dict[str, Any] = body["error"]
    return error


# -- read-only ---------------------------------------------------------------------------------


CONSENTS = [(scope, given) for scope in ("programme", "health", "offence")
            for given in (True, False)]


@pytest.mark.parametrize(("scope", "given"), CONSENTS)
def test_no_consent_can_be_recorded_under_break_glass(glass: Glass, scope: str,
                                                      given: bool) -> None:
    aaron = glass.aaron
    page = glass.page("om_caseworker")
    assert glass.open_on_page(page, aaron).status_code == 302
    opened = page.get(f"/clients/{aaron}")
    assert opened.status_code == 200
    before = glass.snapshot(aaron)

    refused = page.post(f"/clients/{aaron}/consents", data={
        "csrf_token": csrf_token(opened.text), "scope": scope,
        "given": "yes" if given else "no", "purpose": "Family support", "reason": REASON})
    assert refused.status_code == 403, refused.text[:300]
    api = glass.api("om_caseworker", "POST", f"/clients/{aaron}/consents", json_body={
        "given": given, "scope": scope, "purpose": "Family support", "reason": REASON},
        headers={HEADER: REASON})
    assert error_of(api, 403)["code"] == "forbidden"

    assert glass.snapshot(aaron) == before
    # and the record is still open to Ormiston only as a break-glass view
    record = glass.api("om_caseworker", "GET", f"/clients/{aaron}").json
    assert record is not None and record["basis"] == "break_glass"


def test_no_case_can_be_started_under_break_glass(glass: Glass) -> None:
    aaron = glass.aaron
    page = glass.page("om_caseworker")
    glass.open_on_page(page, aaron)
    opened = page.get(f"/clients/{aaron}")
    assert opened.status_code == 200
    assert 'name="pathway"' not in opened.text  # nothing to start from a break-glass view
    before = glass.snapshot(aaron)
    refused = page.post(f"/clients/{aaron}/cases", data={
        "csrf_token": csrf_token(opened.text), "pathway": "family_support", "reason": REASON})
    assert refused.status_code == 403, refused.text[:300]
    api = glass.api("om_caseworker", "POST", f"/clients/{aaron}/cases",
                    json_body={"pathway": "family_support", "reason": REASON},
                    headers={HEADER: REASON})
    assert error_of(api, 403)["code"] == "forbidden"
    assert glass.snapshot(aaron) == before
    # the attempts are reported with the break-glass opening they were made under
    report = glass.world.application.casework.access_report(None, break_glass=True)
    attempts = [r for r in report if r.action == "start_case_refused"]
    assert [(r.username, r.reason, r.viewed) for r in attempts] == [
        ("om_caseworker", REASON, "nothing (refused)")] * 2
    # Ormiston is still not involved: health and offence stay hidden, and once the time box
    # is over the record is closed again
    glass.clock.advance(minutes=31)
    assert page.get(f"/clients/{aaron}").status_code == 403
    assert error_of(glass.api("om_caseworker", "GET", f"/clients/{aaron}"), 403)[
        "details"]["reason_required"] is True


def test_no_task_can_be_completed_drafted_or_claimed_under_break_glass(glass: Glass) -> None:
    aaron = glass.aaron
    task = glass.world.tasks["aaron"]
    page = glass.page("om_caseworker")
    glass.open_on_page(page, aaron)
    token = csrf_token(page.get(f"/clients/{aaron}").text)
    before = glass.snapshot(aaron)
    for data in ({"action": "draft", "notes": "x"},
                 {"action": "complete", **NEEDS_ASSESSMENT}):
        assert page.post(f"/tasks/{task}", data={"csrf_token": token, **data}
                         ).status_code == 404
    assert page.post(f"/tasks/{task}/claim", data={"csrf_token": token}).status_code == 404
    assessment = {k: v == "true" if v in ("true", "false") else v
                  for k, v in NEEDS_ASSESSMENT.items()}
    headers = {HEADER: REASON}
    for method, path, body in (("PUT", f"/tasks/{task}/draft", {"data": {"notes": "x"}}),
                               ("POST", f"/tasks/{task}/complete", {"data": assessment}),
                               ("POST", f"/tasks/{task}/claim", None)):
        response = glass.api("om_caseworker", method, path, json_body=body, headers=headers)
        assert response.status_code == 404, (path, response.text[:300])
    assert glass.snapshot(aaron) == before


# -- what was done under break-glass before this fix counts for nothing --------------------------


def _legacy(glass: Glass, action: str, client_id: int, **detail: Any) -> None:
    """An access log entry as the old code wrote it for an action under break-glass."""
    with glass.world.uow() as uow:
        uow.access_log.add(AccessEntry(
            id=None, at=glass.clock.now(), username="om_caseworker",
            organisation="ormiston_families", client_id=client_id, action=action,
            reason=REASON, detail={"break_glass": True, **detail}))
        uow.commit()


def test_a_case_started_under_break_glass_makes_nobody_involved(glass: Glass) -> None:
    aaron = glass.aaron
    app = glass.world.application
    view = app.engine.start_case("family_support", aaron, actor="om_caseworker")
    _legacy(glass, "start_case", aaron, case=view.case.id, pathway="family_support")
    (task,) = view.tasks
    page = glass.page("om_caseworker")
    assert page.get(f"/clients/{aaron}").status_code == 403
    error_of(glass.api("om_caseworker", "GET", f"/clients/{aaron}"), 403)
    # the case's own tasks cannot be worked from it either
    before = glass.snapshot(aaron)
    token = csrf_token(page.get("/inbox").text)
    task_id = task.task.id
    for response in (page.get(f"/tasks/{task_id}"),
                     page.post(f"/tasks/{task_id}", data={"csrf_token": token,
                                                           "action": "draft"}),
                     page.post(f"/tasks/{task_id}/claim", data={"csrf_token": token}),
                     glass.api("om_caseworker", "PUT", f"/tasks/{task_id}/draft",
                               json_body={"data": {}}),
                     glass.api("om_caseworker", "POST", f"/tasks/{task_id}/claim"),
                     glass.api("om_caseworker", "POST", f"/tasks/{task_id}/complete",
                               json_body={"data": {"phone": "01733 000000",
                                                   "first_contact": date.today().isoformat()}})):
        assert response.status_code in (403, 404), response.text[:300]
        assert "Aaron Smith" not in response.text
    assert glass.snapshot(aaron) == before


@pytest.mark.parametrize("scope", ["programme", "health", "offence"])
def test_a_consent_recorded_under_break_glass_counts_for_nothing(glass: Glass,
                                                                 scope: str) -> None:
    aaron = glass.aaron
    glass.world.application.casework.complete(
        glass.world.user("sg_caseworker"), glass.world.tasks["aaron"],
        {k: v == "true" if v in ("true", "false") else v for k, v in NEEDS_ASSESSMENT.items()})
    with glass.world.uow() as uow:
        consent = uow.consents.add(Consent(
            id=None, client_id=aaron, given=True, scope=scope, purpose="Family support",
            recorded_by="om_caseworker", recorded_at=glass.clock.now(),
            effective_on=glass.clock.now().date()))
        uow.commit()
    _legacy(glass, "record_consent", aaron, consent=consent.id, given=True, scope=scope)
    if scope == "programme":
        error_of(glass.api("om_caseworker", "GET", f"/clients/{aaron}"), 403)
        return
    record = glass.api("om_caseworker", "GET", f"/clients/{aaron}",
                       headers={HEADER: REASON}).json
    assert record is not None and record["basis"] == "break_glass"
    assert record["visible_categories"] == []


# -- the time box --------------------------------------------------------------------------------


def test_the_view_ends_with_its_time_box(glass: Glass) -> None:
    aaron = glass.aaron
    page = glass.page("om_caseworker")
    assert glass.open_on_page(page, aaron).status_code == 302
    opened_api = glass.api("om_team_lead", "GET", f"/clients/{aaron}", headers={HEADER: REASON})
    assert opened_api.status_code == 200, opened_api.text
    glass.clock.advance(minutes=29)
    assert page.get(f"/clients/{aaron}").status_code == 200
    again = glass.api("om_team_lead", "GET", f"/clients/{aaron}")
    assert again.status_code == 200 and again.json["basis"] == "break_glass"  # type: ignore[index]
    # a later view within the box is logged as break-glass too, with the grant's reason
    entry = [e for e in glass.world.access_log(aaron) if e.action == "view_client"][-1]
    assert entry.detail["break_glass"] is True and entry.reason == REASON
    # the grant is the user's own: a colleague still needs a reason
    assert glass.page("om_admin").get(f"/clients/{aaron}").status_code == 200  # admin
    error_of(glass.api("sg_caseworker", "GET", f"/clients/{glass.world.clients['cara']}"), 403)
    glass.clock.advance(minutes=2)
    assert page.get(f"/clients/{aaron}").status_code == 403
    assert error_of(glass.api("om_team_lead", "GET", f"/clients/{aaron}"), 403)[
        "details"]["reason_required"] is True


def test_the_time_box_is_a_setting(database_url: str, tmp_path: Path) -> None:
    for glass in make_glass(database_url, tmp_path, minutes=5):
        aaron = glass.aaron
        assert glass.api("om_caseworker", "GET", f"/clients/{aaron}",
                         headers={HEADER: REASON}).status_code == 200
        glass.clock.advance(minutes=4)
        assert glass.api("om_caseworker", "GET", f"/clients/{aaron}").status_code == 200
        glass.clock.advance(minutes=2)
        error_of(glass.api("om_caseworker", "GET", f"/clients/{aaron}"), 403)


def test_settings_read_the_time_box_from_the_environment(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setenv("PATHWAYS_BREAK_GLASS_MINUTES", "15")
    assert Settings.from_env("sqlite://").break_glass_minutes == 15
    monkeypatch.delenv("PATHWAYS_BREAK_GLASS_MINUTES")
    assert Settings.from_env("sqlite://").break_glass_minutes == 30
    monkeypatch.setenv("PATHWAYS_BREAK_GLASS_MINUTES", "1E+999999")
    with pytest.raises(Exception, match="PATHWAYS_BREAK_GLASS_MINUTES"):
        Settings.from_env("sqlite://")


# -- sensitive data ------------------------------------------------------------------------------


def test_health_and_offence_stay_hidden_under_break_glass(glass: Glass) -> None:
    aaron = glass.aaron
    glass.world.application.casework.complete(
        glass.world.user("sg_caseworker"), glass.world.tasks["aaron"],
        {k: v == "true" if v in ("true", "false") else v for k, v in NEEDS_ASSESSMENT.items()})
    record = glass.api("om_caseworker", "GET", f"/clients/{aaron}", headers={HEADER: REASON})
    body = record.json
    assert body is not None and body["basis"] == "break_glass"
    assert body["visible_categories"] == []
    assert {"risk_level", "needs_substance_misuse"} <= set(body["hidden_fields"])
    assert body["cases"][0]["data"]["risk_level"] == "[hidden]"
    page = glass.page("om_caseworker")  # under the grant the API call opened
    html = page.get(f"/clients/{aaron}").text
    assert "Opened with a recorded reason" in html
    assert "Some details are hidden" in html and "high" not in html.split("<h2>Timeline")[0]


# -- the reason: never in a URL or the cookie; meaningful; not too long --------------------------


def _cookie_session(glass: Glass, client: FlaskClient) -> dict[str, Any]:
    app = glass.world.app_site.app
    cookie = client.get_cookie("pathways_session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    loaded: dict[str, Any] = serializer.loads(cookie.value)
    return loaded


def test_the_reason_is_never_in_a_url_nor_in_the_cookie(glass: Glass) -> None:
    aaron = glass.aaron
    page = glass.page("om_caseworker")
    given = glass.open_on_page(page, aaron)
    assert given.status_code == 302 and given.location == f"/clients/{aaron}"
    opened = page.get(given.location)
    assert opened.status_code == 200 and REASON in opened.text  # shown, from the server
    session = _cookie_session(glass, page)
    assert "break_glass" not in session
    assert "Safeguarding" not in json.dumps(session) and "probation" not in json.dumps(session)
    # the start-case and consent forms carry no reason either
    assert 'name="reason"' not in opened.text
    # a reason in the address is refused, for the page (even before signing in: no redirect
    # to the sign-in page carrying it) and for the API, with where to put it
    logged = len(glass.world.access_log(aaron))
    for client in (page, glass.page(None)):
        response = client.get(f"/clients/{aaron}", query_string={"reason": REASON})
        assert response.status_code == 400, response.status_code
        assert REASON not in (response.location or "")
        assert "form" in response.text
    error = error_of(glass.world.app_site.client().get(
        f"{API}/clients/{aaron}", query_string={"reason": REASON},
        headers={"Authorization": f"Bearer {glass.tokens['om_caseworker']}"}), 400)
    assert error["code"] == "invalid_argument" and HEADER in error["message"]
    assert len(glass.world.access_log(aaron)) == logged  # nothing opened, nothing logged


BAD_REASONS = [
    ("", "empty"), ("          ", "blank"), ("short one", "too short"),
    ("aaaaaaaaaaaa", "one character repeated"), ("!!!!!!!!!!!!!!!!", "punctuation"),
    ("a a a a a a a a a a a a", "one letter, spaced"), ("1234567890", "digits only"),
    ("ab ab ab ab ab ab ab", "two letters repeated"),
    ("Safeguarding " + "x" * 500, "over 500 characters"),
    ("Safeguarding\x00call from probation", "control character"),
]


@pytest.mark.parametrize(("reason", "why"), BAD_REASONS, ids=[w for _, w in BAD_REASONS])
def test_a_meaningless_reason_is_refused(glass: Glass, reason: str, why: str) -> None:
    aaron = glass.aaron
    before = len(glass.world.access_log(aaron))
    page = glass.page("om_caseworker")
    refused = page.get(f"/clients/{aaron}")
    response = page.post(f"/clients/{aaron}/open", data={
        "csrf_token": csrf_token(refused.text), "reason": reason})
    assert response.status_code == 400, (why, response.status_code)
    assert "Aaron Smith" not in response.text
    if "\x00" not in reason:  # (a NUL anywhere is refused before any page: no form)
        assert 'name="reason"' in response.text  # the form again, with what is wrong
    header = reason.encode("utf-8").decode("latin-1")  # headers travel as bytes
    if "\x00" not in reason:
        api = glass.world.app_site.client().get(
            f"{API}/clients/{aaron}",
            headers={"Authorization": f"Bearer {glass.tokens['om_caseworker']}",
                     HEADER: header})
        error = error_of(api, 400)
        assert error["code"] == "invalid_argument" and "reason" in error["details"]["fields"]
    assert not any(e.detail.get("break_glass") for e in glass.world.access_log(aaron)[before:])
    assert page.get(f"/clients/{aaron}").status_code == 403


@pytest.mark.parametrize(("text", "kept"), [
    ("Safeguarding", "Safeguarding"),
    ("  Call from   the\tprobation officer  ", "Call from the probation officer"),
    ("紧急安全问题需要查看记录", "紧急安全问题需要查看记录"),
    ("x" * 3 + "Safeguarding" + " " * 600, "xxxSafeguarding"),  # spaces count once
])
def test_what_a_reason_must_be(text: str, kept: str) -> None:
    """The rule itself (engine.access.check_reason), without a database."""
    assert check_reason(text) == kept
    for bad, _ in BAD_REASONS:
        with pytest.raises(InvalidArgumentError) as refused:
            check_reason(bad)
        assert list(refused.value.details["fields"]) == ["reason"]


def test_a_good_reason_in_any_language_opens_the_record(glass: Glass) -> None:
    aaron = glass.aaron
    reason = "Appel urgent de l'agent de probation — sécurité"
    api = glass.world.app_site.client().get(
        f"{API}/clients/{aaron}",
        headers={"Authorization": f"Bearer {glass.tokens['om_caseworker']}",
                 HEADER: reason.encode("utf-8").decode("latin-1")})
    assert api.status_code == 200, api.text
    entry = [e for e in glass.world.access_log(aaron) if e.action == "view_client"][-1]
    assert entry.reason == reason


# -- who may start a case for another organisation's client --------------------------------------


def test_starting_a_case_for_another_organisations_client_needs_their_programme_consent(
        glass: Glass) -> None:
    aaron = glass.aaron
    refused = glass.api("om_caseworker", "POST", f"/clients/{aaron}/cases",
                        json_body={"pathway": "family_support"})
    error_of(refused, 403)
    glass.world.application.casework.record_consent(
        glass.world.user("sg_caseworker"), aaron, True, "programme", "One Service sharing")
    started = glass.api("om_caseworker", "POST", f"/clients/{aaron}/cases",
                        json_body={"pathway": "family_support"})
    assert started.status_code == 201, started.text
    # now Ormiston works with Aaron: its own case opens the record in full
    record = glass.api("om_caseworker", "GET", f"/clients/{aaron}").json
    assert record is not None and record["basis"] == "organisation"


def test_a_referral_involves_the_organisation_referred_to() -> None:
    """On the engine's fakes: a refer step starts the referred organisation's case, which
    makes it involved (it may then start cases and record consents); nothing else does."""
    w = UnitWorld()
    sam = w.client("Sam", phone="0123")
    with pytest.raises(ForbiddenError):
        w.work.start_case(w.mo, "wellbeing", sam)
    with pytest.raises(ForbiddenError):
        w.work.record_consent(w.mo, sam, True, "health", "screening")
    w.work.complete(w.amy, w.resettle(sam).id, {**ASSESS})  # refers Sam to Mind
    assert w.work.client_record(w.mo, sam).basis == "organisation"
    w.work.record_consent(w.mo, sam, True, "health", "screening")
    assert w.work.start_case(w.mo, "wellbeing", sam).case.pathway == "wellbeing"


def test_a_referral_from_a_case_started_under_break_glass_involves_nobody() -> None:
    w = UnitWorld()
    sam = w.client("Sam", phone="0123")
    kim_case = w.engine.start_case("resettle", sam, actor="bob")
    with w.uow() as uow:
        uow.access_log.add(AccessEntry(
            id=None, at=w.clock.now(), username="bob", organisation="st_giles",
            client_id=sam, action="start_case", reason=REASON,
            detail={"break_glass": True, "case": kim_case.case.id}))
        uow.commit()
    w.engine.complete_task(kim_case.tasks[0].task.id, {**ASSESS}, actor="bob")
    with pytest.raises(ForbiddenError):
        w.work.client_record(w.mo, sam)


# -- the report ----------------------------------------------------------------------------------


def test_the_admin_page_lists_every_break_glass_opening(glass: Glass) -> None:
    aaron, cara = glass.aaron, glass.world.clients["cara"]
    glass.open_on_page(glass.page("om_caseworker"), aaron)
    glass.api("sg_team_lead", "GET", f"/clients/{cara}", headers={HEADER: REASON + " again"})
    admin = glass.page("sg_admin")
    nav = admin.get("/inbox").text
    assert 'href="/admin/access"' in nav
    today = glass.clock.now().date().isoformat()
    page = admin.get("/admin/access", query_string={"break_glass": "1", "since": today})
    assert page.status_code == 200, page.text[:300]
    assert REASON in page.text and REASON + " again" in page.text
    assert "om_caseworker" in page.text and "sg_team_lead" in page.text
    assert "client record" in page.text
    later = (glass.clock.now().date() + timedelta(days=1)).isoformat()
    assert REASON not in admin.get("/admin/access", query_string={
        "break_glass": "1", "since": later}).text
    everything = admin.get("/admin/access").text
    assert "create_client" in everything
    assert admin.get("/admin/access", query_string={"since": "yesterday"}).status_code == 400
    for user in ("sg_caseworker", "sg_team_lead", "sg_designer", "sg_commissioner"):
        assert glass.page(user).get("/admin/access").status_code == 403, user
    anonymous = glass.page(None).get("/admin/access")
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login")


def test_the_cli_reports_every_break_glass_opening(cli: Cli, tmp_path: Path) -> None:
    assert cli.database_url is not None
    application = bootstrap(Settings(database_url=cli.database_url,
                                     definitions_dir=tmp_path / "none"), migrate=False,
                            hasher=CHEAP_HASHER)
    try:
        app = create_app(application, test_config={"TESTING": True})
        world = build_world(Site(app, application))
        work = application.casework
        work.client_record(world.user("om_caseworker"), world.clients["aaron"], reason=REASON)
        work.client_record(world.user("om_caseworker"), world.clients["aaron"])  # in the box
        work.client_record(world.user("sg_caseworker"), world.clients["aaron"])  # own client
    finally:
        application.close()
    rows = cli.json("access", "report", "--break-glass")
    assert [set(row) for row in rows] == [
        {"at", "username", "organisation", "client", "action", "reason", "viewed"}] * 2
    first, second = rows
    assert (first["username"], first["organisation"], first["client"], first["action"],
            first["reason"]) == (
        "om_caseworker", "ormiston_families", world.clients["aaron"], "view_client", REASON)
    assert first["viewed"].startswith("client record")
    assert second["reason"] == REASON and datetime.fromisoformat(second["at"])
    everything = cli.json("access", "report")
    assert len(everything) > 2 and any(r["action"] == "create_client" for r in everything)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert cli.json("access", "report", "--break-glass", "--since", tomorrow) == []
    assert cli.json("access", "report", "--since", date.today().isoformat())
    cli.error("access", "report", "--since", "last week", code="invalid_argument")
    text = cli.run_argv(cli.argv(["access", "report", "--break-glass"]))
    assert text.returncode == 0 and REASON in text.stdout and "om_caseworker" in text.stdout
