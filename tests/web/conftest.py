"""The web app under Flask's test client, on a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from adapters.bootstrap import Application, bootstrap
from adapters.passwords import WerkzeugPasswordHasher
from adapters.settings import Settings
from web import create_app
from web.security import SESSION_KEY, limiter

PASSWORD = "correct horse battery"
CHEAP_HASHER = WerkzeugPasswordHasher("pbkdf2:sha256:1000")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    app: Flask
    application: Application

    def client(self) -> FlaskClient:
        return self.app.test_client()


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = Settings(database_url=database_url, secret_key="test-secret",
                        definitions_dir=tmp_path / "no-definitions")
    application = bootstrap(settings, hasher=CHEAP_HASHER)
    app = create_app(application, test_config={"TESTING": True})
    limiter.reset()
    try:
        yield Site(app, application)
    finally:
        application.close()


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302, response.text


def force_sign_in(client: FlaskClient, site: Site, username: str) -> None:
    """Sign the client in as username without the sign-in form (and its rate limits): a
    server session is started and its key put in the cookie, as the form would."""
    _, key = site.application.accounts.start_session(username)
    with client.session_transaction() as session:
        session.permanent = True
        session[SESSION_KEY] = key
