"""Signing in and out: hashed passwords, CSRF on every form, rate limits, safe cookies."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD, Site, csrf_token, sign_in
from tests.web.test_api_completion_cost import _reads, recorded


@pytest.fixture
def people(site: Site) -> Site:
    accounts = site.application.accounts
    accounts.add_organisation("st_giles_trust", "St Giles Trust")
    accounts.add_user("ann", "Ann Case", "st_giles_trust", "caseworker", PASSWORD)
    accounts.add_user("gone", "Gone Away", "st_giles_trust", "caseworker", PASSWORD)
    return site


def test_pages_send_you_to_sign_in_first(people: Site) -> None:
    client = people.client()
    response = client.get("/")
    assert response.status_code == 302 and response.location.endswith("/login")
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text and 'type="password"' in page.text


def test_signing_in_and_out(people: Site) -> None:
    client = people.client()
    sign_in(client, "ann")
    assert client.get("/").location == "/inbox"  # a caseworker starts at the inbox
    home = client.get("/inbox")
    assert home.status_code == 200 and "Ann Case" in home.text
    assert home.headers["Cache-Control"] == "no-store"
    out = client.post("/logout", data={"csrf_token": csrf_token(home.text)})
    assert out.status_code == 302
    assert client.get("/inbox").status_code == 302


def test_the_session_cookie_is_safe(people: Site) -> None:
    client = people.client()
    page = client.get("/login")
    response = client.post("/login", data={"username": "ann", "password": PASSWORD,
                                           "csrf_token": csrf_token(page.text)})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("pathways_session=")
    for flag in ("HttpOnly", "Secure", "SameSite=Lax"):
        assert flag in cookie
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_wrong_password_unknown_user_and_inactive_user_are_refused_alike(people: Site) -> None:
    people.application.accounts.deactivate("gone")
    client = people.client()
    for username, password in (("ann", "wrong password!"), ("nobody", PASSWORD),
                               ("gone", PASSWORD)):
        page = client.get("/login")
        response = client.post("/login", data={"username": username, "password": password,
                                               "csrf_token": csrf_token(page.text)})
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
        assert f'value="{username}"' in response.text  # the username is kept


def test_a_deactivated_user_is_out_at_the_next_click(people: Site) -> None:
    client = people.client()
    sign_in(client, "ann")
    people.application.accounts.deactivate("ann")
    assert client.get("/inbox").status_code == 302


def test_every_form_needs_its_csrf_token(people: Site) -> None:
    client = people.client()
    missing = client.post("/login", data={"username": "ann", "password": PASSWORD})
    assert missing.status_code == 400 and "could not be accepted" in missing.text
    forged = client.post("/login", data={"username": "ann", "password": PASSWORD,
                                         "csrf_token": "forged"})
    assert forged.status_code == 400
    sign_in(client, "ann")
    assert client.post("/logout").status_code == 400
    assert client.get("/inbox").status_code == 200  # still signed in


def test_sign_in_attempts_are_rate_limited_per_username(people: Site) -> None:
    client = people.client()
    statuses = []
    for _ in range(6):
        page = client.get("/login")
        statuses.append(client.post("/login", data={
            "username": "ann", "password": "guess guess", "csrf_token": csrf_token(page.text),
        }).status_code)
    assert statuses == [401] * 5 + [429]
    page = client.get("/login")
    blocked = client.post("/login", data={"username": "ann", "password": PASSWORD,
                                          "csrf_token": csrf_token(page.text)})
    assert blocked.status_code == 429 and "Too many attempts" in blocked.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_after_sign_in_only_local_pages_are_visited(people: Site, target: str) -> None:
    client = people.client()
    page = client.get(f"/login?next={target}")
    response = client.post("/login", data={"username": "ann", "password": PASSWORD,
                                           "next": target, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302 and response.location == "/"


def test_a_signed_in_page_reads_its_session_and_user_in_one_query(people: Site) -> None:
    """Every page a browser asks for checks its session first: the session and its user in
    one read (as an API token is), not one each."""
    client = people.client()
    sign_in(client, "ann")
    client.get("/account")
    with recorded(people.application) as (statements, _begun):
        assert client.get("/account").status_code == 200
    reads = _reads(statements)
    assert reads[("SELECT", "user_sessions")] == 1
    assert reads[("SELECT", "users")] == 0
