"""The web app under Flask's test client, on a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from adapters.bootstrap import Application, bootstrap
from adapters.passwords import WerkzeugPasswordHasher
from adapters.settings import Settings
from adapters.sql import SqlAlchemyUnitOfWorkFactory
from engine.model import AccessEntry, Draft, InboxTask
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
def site(migrated_database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = Settings(database_url=migrated_database_url, secret_key="test-secret",
                        definitions_dir=tmp_path / "no-definitions")
    application = bootstrap(settings, hasher=CHEAP_HASHER)
    app = create_app(application, test_config={"TESTING": True})
    limiter.reset()
    try:
        yield Site(app, application)
    finally:
        application.close()


class StoredRecords:
    """Reads straight from the database behind a site, for the tests' world objects (which
    give `application`)."""

    @property
    def application(self) -> Application:
        raise NotImplementedError

    def uow(self) -> Any:
        return SqlAlchemyUnitOfWorkFactory(self.application.database)()

    def open_task(self, task_id: str) -> InboxTask | None:
        with self.uow() as uow:
            found: InboxTask | None = uow.inbox.get(task_id)
            return found

    def draft(self, task_id: str, username: str) -> Draft | None:
        with self.uow() as uow:
            found: Draft | None = uow.drafts.get(task_id, username)
            return found

    def access_log(self, client_id: int) -> list[AccessEntry]:
        with self.uow() as uow:
            found: list[AccessEntry] = uow.access_log.list(client_id=client_id)
            return found

    def case_count(self, client_id: int) -> int:
        with self.uow() as uow:
            return len(uow.cases.list(client_id=client_id))


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
