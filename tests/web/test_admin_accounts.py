"""The admin's account pages (issue 18, item 9): organisations, users, roles, deactivation,
passwords, API tokens and the access report with its filters and CSV, on SQLite and
PostgreSQL. The same engine service as `pathways users ...`, so the same refusals; who may
reach each route is tests/web/test_access_matrix.py's."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import PASSWORD, Site, csrf_token, force_sign_in, sign_in
from web.security import limiter

ORG = "st_giles_trust"
SECRET = re.compile(r'<code id="secret" class="secret">([^<]+)</code>')


@pytest.fixture
def office(site: Site) -> Site:
    """Two organisations; an admin (Ann), a caseworker (Amy) and a designer (Dee)."""
    accounts = site.application.accounts
    accounts.add_organisation(ORG, "St Giles Trust")
    accounts.add_organisation("ormiston", "Ormiston Families")
    accounts.add_user("ann", "Ann Admin", ORG, "admin", PASSWORD)
    accounts.add_user("amy", "Amy Case", ORG, "caseworker", PASSWORD)
    accounts.add_user("dee", "Dee Signer", "ormiston", "designer", PASSWORD)
    return site


def admin(site: Site, username: str = "ann") -> tuple[FlaskClient, str]:
    client = site.client()
    force_sign_in(client, site, username)
    return client, csrf_token(client.get("/admin/users").text)


def signs_in(site: Site, username: str, password: str) -> bool:
    limiter.reset()
    client = site.client()
    page = client.get("/login")
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": csrf_token(page.text)})
    return answer.status_code == 302


def secret_of(html: str) -> str:
    found = SECRET.search(html)
    assert found, html[:2000]
    return found.group(1)


def actions(site: Site) -> list[tuple[str, str]]:
    """(action, who) of every account change in the access log, oldest first."""
    return [(r.action, r.username) for r in site.application.casework.access_report(None)
            if r.client is None]


# -- organisations ----------------------------------------------------------------------------


def test_an_admin_adds_and_renames_organisations(office: Site) -> None:
    ann, token = admin(office)
    page = ann.get("/admin/organisations")
    assert page.status_code == 200
    assert "St Giles Trust" in page.text and "Ormiston Families" in page.text
    added = ann.post("/admin/organisations", data={"id": "nacro", "name": " Nacro ",
                                                   "csrf_token": token})
    assert added.status_code == 302 and added.location == "/admin/organisations"
    assert "Added Nacro." in ann.get(added.location).text
    renamed = ann.post("/admin/organisations/nacro/rename",
                       data={"name": "Nacro (North)", "csrf_token": token})
    assert renamed.status_code == 302
    names = {o.id: o.name for o in office.application.accounts.organisations()}
    assert names["nacro"] == "Nacro (North)"
    assert actions(office)[-2:] == [("add_organisation", "ann"), ("rename_organisation", "ann")]


def test_organisation_forms_keep_what_was_typed_and_name_the_field(office: Site) -> None:
    ann, token = admin(office)
    bad = ann.post("/admin/organisations", data={"id": "Bad Id", "name": "Typed Name",
                                                 "csrf_token": token})
    assert bad.status_code == 422
    assert 'value="Bad Id"' in bad.text and 'value="Typed Name"' in bad.text
    assert "must be lower case letters" in bad.text
    taken = ann.post("/admin/organisations", data={"id": ORG, "name": "Another",
                                                   "csrf_token": token})
    assert taken.status_code == 409 and "is taken" in taken.text and 'value="Another"' in taken.text
    assert {o.id: o.name for o in office.application.accounts.organisations()}[ORG] == \
        "St Giles Trust"  # "add" never renames
    empty = ann.post(f"/admin/organisations/{ORG}/rename", data={"name": "  ",
                                                                 "csrf_token": token})
    assert empty.status_code == 422 and "must not be empty" in empty.text
    missing = ann.post("/admin/organisations/nowhere/rename", data={"name": "X",
                                                                    "csrf_token": token})
    assert missing.status_code == 404


# -- users ------------------------------------------------------------------------------------


def test_an_admin_adds_a_user_whose_password_is_shown_once(office: Site) -> None:
    ann, token = admin(office)
    form = ann.get("/admin/new-user", query_string={"org": "ormiston"})
    assert form.status_code == 200 and '<option value="ormiston" selected>' in form.text
    added = ann.post("/admin/new-user", data={
        "username": "bea", "name": "Bea Worker", "organisation": ORG, "role": "caseworker",
        "pathway_roles": "gate_worker, housing_worker", "csrf_token": token})
    assert added.status_code == 200, added.text[:500]
    assert added.headers["Cache-Control"] == "no-store"
    assert "Bea Worker" in added.text and "St Giles Trust" in added.text
    password = secret_of(added.text)
    assert signs_in(office, "bea", password)
    bea = office.application.accounts.get_user("bea")
    assert (bea.role, bea.organisation, bea.pathway_roles) == (
        "caseworker", ORG, ("gate_worker", "housing_worker"))
    assert password not in ann.get("/admin/users/bea").text  # never again
    assert ("add_user", "ann") in actions(office)
    listed = ann.get("/admin/users", query_string={"org": ORG}).text
    assert "Bea Worker" in listed and "Dee Signer" not in listed


def test_a_refused_new_user_keeps_every_typed_value(office: Site) -> None:
    ann, token = admin(office)
    typed = {"username": "Bad Name", "name": "Typed Person", "organisation": "ormiston",
             "role": "boss", "pathway_roles": "Not-A-Role", "csrf_token": token}
    refused = ann.post("/admin/new-user", data=typed)
    assert refused.status_code == 422
    assert 'value="Bad Name"' in refused.text and 'value="Typed Person"' in refused.text
    assert '<option value="ormiston" selected>' in refused.text
    assert 'value="Not-A-Role"' in refused.text
    for message in ("must be 2-64 characters", "must be one of", "is not a role id"):
        assert message in refused.text
    taken = ann.post("/admin/new-user", data={**typed, "username": "amy", "role": "designer",
                                               "pathway_roles": ""})
    assert taken.status_code == 409 and "is taken" in taken.text
    assert '<option value="designer" selected>' in taken.text
    assert office.application.accounts.get_user("amy").role == "caseworker"


def test_role_changes_and_the_last_admin_is_kept(office: Site) -> None:
    ann, token = admin(office)
    page = ann.get("/admin/users/amy")
    assert page.status_code == 200 and "Amy Case" in page.text and "St Giles Trust" in page.text
    changed = ann.post("/admin/users/amy/role", data={"role": "team_lead", "csrf_token": token})
    assert changed.status_code == 302 and changed.location == "/admin/users/amy"
    assert "Amy Case is now team lead." in ann.get(changed.location).text
    bad = ann.post("/admin/users/amy/role", data={"role": "boss", "csrf_token": token})
    assert bad.status_code == 422 and "must be one of" in bad.text
    last = ann.post("/admin/users/ann/role", data={"role": "caseworker", "csrf_token": token})
    assert last.status_code == 409 and "last active admin" in last.text
    assert office.application.accounts.get_user("ann").role == "admin"
    ann.post("/admin/users/amy/role", data={"role": "admin", "csrf_token": token})
    stepped_down = ann.post("/admin/users/ann/role", data={"role": "designer",
                                                            "csrf_token": token})
    assert stepped_down.status_code == 302 and stepped_down.location == "/"
    assert ann.get("/admin/users").status_code == 403


def test_deactivation_ends_sessions_and_tokens_and_is_refused_for_oneself(office: Site) -> None:
    ann, token = admin(office)
    amy = office.client()
    force_sign_in(amy, office, "amy")
    _, plain = office.application.accounts.issue_token("amy", "sync")
    done = ann.post("/admin/users/amy/deactivate", data={"csrf_token": token})
    assert done.status_code == 302
    assert "deactivated" in ann.get(done.location).text
    assert amy.get("/inbox").location.startswith("/login")
    assert office.application.accounts.user_for_token(plain) is None
    assert not signs_in(office, "amy", PASSWORD)
    self_ = ann.post("/admin/users/ann/deactivate", data={"csrf_token": token})
    assert self_.status_code == 409 and "your own account" in self_.text
    assert office.application.accounts.get_user("ann").active
    again = ann.post("/admin/users/amy/reactivate", data={"csrf_token": token})
    assert again.status_code == 302 and signs_in(office, "amy", PASSWORD)
    assert ann.post("/admin/users/nobody/deactivate",
                    data={"csrf_token": token}).status_code == 404
    assert [a for a, who in actions(office) if who == "ann"] == [
        "deactivate_user", "reactivate_user"]


def test_a_password_reset_shows_a_new_one_once_and_signs_out(office: Site) -> None:
    ann, token = admin(office)
    amy = office.client()
    force_sign_in(amy, office, "amy")
    reset = ann.post("/admin/users/amy/password", data={"csrf_token": token})
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    password = secret_of(reset.text)
    assert amy.get("/inbox").location.startswith("/login")
    assert not signs_in(office, "amy", PASSWORD) and signs_in(office, "amy", password)
    assert ("reset_password", "ann") in actions(office)


def test_tokens_are_listed_created_once_and_revoked(office: Site) -> None:
    ann, token = admin(office)
    empty = ann.post("/admin/users/amy/tokens", data={"name": " ", "csrf_token": token})
    assert empty.status_code == 422 and "must not be empty" in empty.text
    made = ann.post("/admin/users/amy/tokens", data={"name": "Case sync", "csrf_token": token})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    plain = secret_of(made.text)
    api = office.client().get("/api/v1/clients", headers={"Authorization": f"Bearer {plain}"})
    assert api.status_code == 200
    page = ann.get("/admin/users/amy").text
    assert "Case sync" in page and "never" not in page.split("Case sync")[1][:400]
    assert plain not in page
    (listed,) = office.application.accounts.tokens("amy")
    assert listed.id is not None
    other = ann.post(f"/admin/users/dee/tokens/{listed.id}/revoke", data={"csrf_token": token})
    assert other.status_code == 404  # not dee's: nothing revoked
    assert office.application.accounts.user_for_token(plain) is not None
    revoked = ann.post(f"/admin/users/amy/tokens/{listed.id}/revoke",
                       data={"csrf_token": token})
    assert revoked.status_code == 302 and revoked.location == "/admin/users/amy"
    assert "Token “Case sync” of Amy Case is revoked." in ann.get(revoked.location).text
    assert office.client().get("/api/v1/clients", headers={
        "Authorization": f"Bearer {plain}"}).status_code == 401
    office.application.accounts.deactivate("dee")
    refused = ann.post("/admin/users/dee/tokens", data={"name": "x", "csrf_token": token})
    assert refused.status_code == 409 and "reactivate" in refused.text
    assert [a for a, who in actions(office) if who == "ann"] == ["issue_token", "revoke_token"]


# -- the access report ------------------------------------------------------------------------


def _report_world(site: Site) -> None:
    """Account changes by two admins of two organisations."""
    accounts = site.application.accounts
    accounts.add_user("oli", "Oli Admin", "ormiston", "admin", PASSWORD)
    accounts.issue_token("amy", "sync", by=accounts.get_user("ann"))
    accounts.reset_password("dee", by=accounts.get_user("oli"))


def test_the_access_report_filters_by_organisation_user_and_days(office: Site) -> None:
    _report_world(office)
    ann, _ = admin(office)
    everything = ann.get("/admin/access")
    assert everything.status_code == 200
    assert "API token" in everything.text and "password of dee reset" in everything.text
    assert "Oli Admin" in everything.text and "Ormiston Families" in everything.text
    by_org = ann.get("/admin/access", query_string={"org": "ormiston"}).text
    assert "password of dee reset" in by_org and "issued to amy" not in by_org
    by_user = ann.get("/admin/access", query_string={"user": "ann"}).text
    assert "issued to amy" in by_user and "password of dee reset" not in by_user
    today = date.today()
    past = (today - timedelta(days=3)).isoformat()
    assert "issued to amy" not in ann.get("/admin/access", query_string={
        "since": past, "until": (today - timedelta(days=2)).isoformat()}).text
    assert "issued to amy" in ann.get("/admin/access", query_string={
        "since": past, "until": (today + timedelta(days=1)).isoformat()}).text


def test_a_bad_day_is_named_and_kept(office: Site) -> None:
    ann, _ = admin(office)
    bad = ann.get("/admin/access", query_string={"since": "yesterday", "org": "ormiston"})
    assert bad.status_code == 400
    assert "Since: enter a date as YYYY-MM-DD" in bad.text and 'value="yesterday"' in bad.text
    assert '<option value="ormiston" selected>' in bad.text
    backwards = ann.get("/admin/access", query_string={"since": "2026-02-02",
                                                       "until": "2026-02-01"})
    assert backwards.status_code == 400 and "Until: must be on or after" in backwards.text
    assert ann.get("/admin/access.csv", query_string={"until": "soon"}).status_code == 400


def test_the_access_report_downloads_as_csv(office: Site) -> None:
    _report_world(office)
    ann, _ = admin(office)
    page = ann.get("/admin/access", query_string={"org": "ormiston", "break_glass": "1"}).text
    assert 'href="/admin/access.csv?break_glass=1&amp;org=ormiston"' in page
    answer = ann.get("/admin/access.csv", query_string={"org": "ormiston"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="access-log.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["action"] for r in rows] == ["reset_password"]
    assert rows[0]["user_name"] == "Oli Admin" and rows[0]["organisation_name"] == \
        "Ormiston Families"
    assert rows[0]["client"] == "" and rows[0]["reason"] == ""
    glass = ann.get("/admin/access.csv", query_string={"break_glass": "1"})
    assert glass.headers["Content-Disposition"] == 'attachment; filename="break-glass.csv"'
    assert glass.text.strip() == ",".join(
        ("at", "username", "user_name", "organisation", "organisation_name", "client",
         "action", "viewed", "reason"))  # account changes are never break-glass


def test_the_csv_neutralises_formulas_in_names(office: Site) -> None:
    accounts = office.application.accounts
    accounts.add_organisation("sneaky", '=HYPERLINK("http://x")')
    accounts.add_user("sam", "+Sam", "sneaky", "admin", PASSWORD)
    accounts.issue_token("amy", "-sync", by=accounts.get_user("sam"))
    ann, _ = admin(office)
    rows = list(csv.DictReader(io.StringIO(ann.get("/admin/access.csv",
                                                   query_string={"user": "sam"}).text)))
    assert [(r["user_name"], r["organisation_name"]) for r in rows] == [
        ("'+Sam", "'=HYPERLINK(\"http://x\")")]


def test_only_admins_reach_the_account_pages(office: Site) -> None:
    amy = office.client()
    sign_in(amy, "amy")
    for path in ("/admin/new-user", "/admin/users/amy", "/admin/organisations",
                 "/admin/access.csv"):
        assert amy.get(path).status_code == 403, path
