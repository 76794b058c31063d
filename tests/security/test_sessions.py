"""Sessions end on the server: a copied session cookie is worth nothing after sign-out, a
password change, deactivation, an admin's "sign out everywhere", 30 minutes of inactivity or
10 hours, on SQLite and PostgreSQL.

The attack: someone copies the `pathways_session` cookie (a shared office machine, a browser
profile, a proxy log) and replays it later from another browser. Each test signs in through
the real form, copies the cookie into a second test client, ends the session the way a user
or an admin would, and replays the copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from engine.errors import InvalidArgumentError
from tests.e2e.test_cli import Cli
from tests.e2e.test_cli_accounts import run_with_input
from tests.web.conftest import CHEAP_HASHER, PASSWORD, Site, csrf_token, sign_in
from web import create_app
from web.security import limiter

COOKIE = "pathways_session"
ORG = "st_giles_trust"


@pytest.fixture
def people(site: Site) -> Site:
    """Two caseworkers and an admin of one organisation, and a designer."""
    accounts = site.application.accounts
    accounts.add_organisation(ORG, "St Giles Trust")
    for username, role in (("amy", "caseworker"), ("bob", "caseworker"), ("ann", "admin"),
                           ("dee", "designer")):
        accounts.add_user(username, username.title(), ORG, role, PASSWORD)
    return site


def signed_in(site: Site, username: str) -> FlaskClient:
    """A browser signed in through the sign-in form."""
    limiter.reset()
    client = site.client()
    sign_in(client, username)
    return client


def copy_of(site: Site, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of the client's session cookie."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None and cookie.value
    thief = site.client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def works(client: FlaskClient, path: str = "/inbox") -> bool:
    """True when the client is signed in (the page opens), False when sent to sign in."""
    response = client.get(path)
    if response.status_code == 302 and response.location.startswith("/login"):
        return False
    assert response.status_code == 200, (response.status_code, response.location)
    return True


def sign_out(client: FlaskClient) -> None:
    token = csrf_token(client.get("/inbox").text)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.location.startswith("/login")


# -- sign-out -----------------------------------------------------------------------------------


def test_a_copied_cookie_is_refused_after_sign_out(people: Site) -> None:
    amy = signed_in(people, "amy")
    thief = copy_of(people, amy)
    assert works(thief)  # the copy works while the session lives: that is the threat

    sign_out(amy)

    assert not works(thief)
    assert not works(thief, "/clients")
    assert not works(amy)
    # the JSON API never takes the cookie
    answer = thief.get("/api/v1/tasks")
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized"


def test_a_refused_replay_stays_refused_and_does_not_revive(people: Site) -> None:
    amy = signed_in(people, "amy")
    cookie = amy.get_cookie(COOKIE)
    assert cookie is not None
    sign_out(amy)
    for _ in range(2):
        thief = people.client()
        thief.set_cookie(COOKIE, cookie.value)
        assert not works(thief)


def test_sign_out_ends_only_that_session(people: Site) -> None:
    """Signing out on one machine leaves the same person's other machine and other people
    signed in; the other ways below end every session of the person."""
    office = signed_in(people, "amy")
    laptop = signed_in(people, "amy")
    bob = signed_in(people, "bob")
    sign_out(office)
    assert not works(office)
    assert works(laptop) and works(bob)


def test_signing_in_starts_a_new_session(people: Site) -> None:
    """No fixation: a cookie from before sign-in (planted or seen) is not signed in after
    it, and signing in again ends the session the browser had."""
    limiter.reset()
    amy = people.client()
    page = amy.get("/login")
    planted = copy_of(people, amy)
    response = amy.post("/login", data={"username": "amy", "password": PASSWORD,
                                        "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302 and works(amy)
    assert not works(planted)

    earlier = copy_of(people, amy)
    again = amy.post("/login", data={"username": "amy", "password": PASSWORD,
                                     "csrf_token": csrf_token(amy.get("/inbox").text)})
    assert again.status_code == 302 and works(amy)
    assert not works(earlier)


# -- password change, deactivation ------------------------------------------------------------


def test_a_password_change_ends_every_session_of_that_user(people: Site) -> None:
    amy = signed_in(people, "amy")
    thief = copy_of(people, amy)
    bob = signed_in(people, "bob")
    people.application.accounts.set_password("amy", "a brand new password")
    assert not works(thief) and not works(amy)
    assert works(bob)
    assert works(signed_in_with(people, "amy", "a brand new password"))


def signed_in_with(site: Site, username: str, password: str) -> FlaskClient:
    limiter.reset()
    client = site.client()
    sign_in(client, username, password)
    return client


def test_cli_password_change_ends_every_session(people: Site, cli: Cli) -> None:
    amy = signed_in(people, "amy")
    thief = copy_of(people, amy)
    bob = signed_in(people, "bob")
    changed = run_with_input(cli, ["users", "password", "amy", "--password-stdin"],
                             "another long password\n").ok()
    assert changed["username"] == "amy"
    assert not works(thief) and not works(amy)
    assert works(bob)


def test_cli_deactivation_ends_sessions_and_api_tokens(people: Site, cli: Cli) -> None:
    accounts = people.application.accounts
    amy = signed_in(people, "amy")
    thief = copy_of(people, amy)
    _, token = accounts.issue_token("amy", "case system")
    api = people.client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/tasks", headers=headers).status_code == 200

    assert cli.json("users", "deactivate", "amy")["active"] is False

    assert not works(thief) and not works(amy)
    assert api.get("/api/v1/tasks", headers=headers).status_code == 401
    assert all(t.revoked_at is not None for t in accounts.tokens("amy"))
    assert not any(s.live for s in accounts.sessions("amy"))
    assert works(signed_in(people, "bob"))


# -- an admin signs someone out everywhere ------------------------------------------------------


def test_admin_signs_a_user_out_everywhere_from_the_users_page(people: Site) -> None:
    office = signed_in(people, "amy")
    laptop = signed_in(people, "amy")
    thief = copy_of(people, office)
    bob = signed_in(people, "bob")
    ann = signed_in(people, "ann")

    page = ann.get("/admin/users")
    assert page.status_code == 200
    assert re.search(r"<td[^>]*>amy</td>.*?<td[^>]*>2 live", page.text, re.S), page.text
    response = ann.post("/admin/users/amy/signout", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302 and response.location == "/admin/users"
    followed = ann.get(response.location)
    assert "Signed amy out everywhere (2 sessions)" in followed.text

    assert not works(office) and not works(laptop) and not works(thief)
    assert works(bob) and works(ann)
    assert works(signed_in(people, "amy"))  # they may sign in again


def test_only_admins_may_sign_people_out_and_only_with_the_csrf_token(people: Site) -> None:
    amy = signed_in(people, "amy")
    bob = signed_in(people, "bob")
    dee = signed_in(people, "dee")
    anonymous = people.client()
    anonymous_token = csrf_token(anonymous.get("/login").text)
    for client in (bob, dee):
        assert client.get("/admin/users").status_code == 403
        token = csrf_token(client.get("/login", follow_redirects=True).text)
        refused = client.post("/admin/users/amy/signout", data={"csrf_token": token})
        assert refused.status_code == 403
    assert anonymous.get("/admin/users").location.startswith("/login")
    refused = anonymous.post("/admin/users/amy/signout",
                             data={"csrf_token": anonymous_token})
    assert refused.status_code == 302 and refused.location.startswith("/login")
    ann = signed_in(people, "ann")
    assert ann.post("/admin/users/amy/signout").status_code == 400  # no CSRF token
    assert ann.post("/admin/users/amy/signout",
                    data={"csrf_token": "forged"}).status_code == 400
    assert ann.get("/admin/users/amy/signout").status_code == 405
    assert works(amy)
    page = ann.get("/admin/users")
    missing = ann.post("/admin/users/nobody/signout",
                       data={"csrf_token": csrf_token(page.text)})
    assert missing.status_code == 404


def test_cli_signs_a_user_out_everywhere(people: Site, cli: Cli) -> None:
    office = signed_in(people, "amy")
    thief = copy_of(people, office)
    laptop = signed_in(people, "amy")
    bob = signed_in(people, "bob")

    ended = cli.json("users", "signout", "amy")

    assert ended == {"username": "amy", "sessions_ended": 2}
    assert not works(office) and not works(thief) and not works(laptop)
    assert works(bob)
    assert cli.json("users", "signout", "amy") == {"username": "amy", "sessions_ended": 0}
    assert cli.error("users", "signout", "nobody", code="not_found")
    plain = cli.run_argv(cli.argv(["users", "signout", "bob"]))
    assert plain.returncode == 0 and "bob" in plain.stdout and "1" in plain.stdout
    assert not works(bob)


# -- idle timeout and the absolute lifetime, with a clock the test moves ----------------------


@dataclass
class MovableClock:
    at: datetime = field(default_factory=lambda: datetime(2026, 6, 1, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def timed(migrated_database_url: str, tmp_path: Path) -> Iterator[tuple[Site, MovableClock]]:
    """The web app on a clock the test moves, sessions idle out after 30 minutes."""
    clock = MovableClock()
    settings = Settings(database_url=migrated_database_url, secret_key="test-secret",
                        definitions_dir=tmp_path / "no-definitions", session_idle_minutes=30)
    application = bootstrap(settings, hasher=CHEAP_HASHER, clock=clock)
    app = create_app(application, test_config={"TESTING": True})
    limiter.reset()
    site = Site(app, application)
    site.application.accounts.add_organisation(ORG, "St Giles Trust")
    for username in ("amy", "bob"):
        site.application.accounts.add_user(username, username.title(), ORG, "caseworker",
                                           PASSWORD)
    try:
        yield site, clock
    finally:
        application.close()


def test_a_session_ends_after_30_idle_minutes(timed: tuple[Site, MovableClock]) -> None:
    site, clock = timed
    amy = signed_in(site, "amy")
    thief = copy_of(site, amy)
    for _ in range(4):  # use keeps it alive
        clock.advance(minutes=29)
        assert works(amy)
    bob = signed_in(site, "bob")
    clock.advance(minutes=31)
    assert not works(thief) and not works(amy)
    clock.advance(minutes=-31)  # a clock turned back does not revive an ended session
    assert not works(amy)
    assert works(bob)


def test_a_session_ends_after_10_hours_however_busy(timed: tuple[Site, MovableClock]) -> None:
    site, clock = timed
    amy = signed_in(site, "amy")
    for _ in range(29):
        clock.advance(minutes=20)
        assert works(amy)  # 9 h 40 min
    clock.advance(minutes=21)
    assert not works(amy)


def test_idle_minutes_and_hours_come_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHWAYS_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("PATHWAYS_SESSION_HOURS", "8")
    settings = Settings.from_env("sqlite://")
    assert (settings.session_idle_minutes, settings.session_hours) == (15, 8)
    monkeypatch.delenv("PATHWAYS_SESSION_IDLE_MINUTES")
    monkeypatch.delenv("PATHWAYS_SESSION_HOURS")
    settings = Settings.from_env("sqlite://")
    assert (settings.session_idle_minutes, settings.session_hours) == (30, 10)
    for bad in ("0", "-5", "1e9", "99999999999", "thirty"):
        monkeypatch.setenv("PATHWAYS_SESSION_IDLE_MINUTES", bad)
        with pytest.raises(InvalidArgumentError, match="PATHWAYS_SESSION_IDLE_MINUTES"):
            Settings.from_env("sqlite://")
