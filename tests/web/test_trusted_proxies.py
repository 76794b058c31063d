"""PATHWAYS_TRUSTED_PROXIES: behind N load balancers the client's address is taken from
X-Forwarded-For (werkzeug's ProxyFix); with 0, the default, the header is ignored, so a client
cannot dodge the sign-in rate limit (20 attempts a minute per address) by sending it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from tests.web.conftest import CHEAP_HASHER
from web import create_app
from web.security import limiter

PER_ADDRESS = 20  # web.auth: sign-in attempts a minute from one address


def _client(url: str, tmp_path: Path, proxies: int) -> Iterator[FlaskClient]:
    settings = Settings(database_url=url, secret_key="test-secret", trusted_proxies=proxies,
                        definitions_dir=tmp_path / "no-definitions")
    application = bootstrap(settings, hasher=CHEAP_HASHER)
    app = create_app(application, test_config={"TESTING": True, "WTF_CSRF_ENABLED": False})
    limiter.reset()
    try:
        yield app.test_client()
    finally:
        application.close()


@pytest.fixture
def direct(migrated_database_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    yield from _client(migrated_database_url, tmp_path, 0)


@pytest.fixture
def proxied(migrated_database_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    yield from _client(migrated_database_url, tmp_path, 1)


def _attempt(client: FlaskClient, number: int, forwarded_for: str) -> int:
    """A failed sign-in (a different unknown username each time: only the address limit
    applies); its status."""
    return client.post("/login", data={"username": f"nobody{number}", "password": "guess"},
                       headers={"X-Forwarded-For": forwarded_for}).status_code


def test_without_trusted_proxies_x_forwarded_for_is_ignored(direct: FlaskClient) -> None:
    statuses = [_attempt(direct, n, f"203.0.113.{n}") for n in range(PER_ADDRESS + 1)]
    assert statuses == [401] * PER_ADDRESS + [429]  # one address, whatever the header says


def test_behind_one_proxy_the_forwarded_address_is_the_clients(proxied: FlaskClient) -> None:
    statuses = [_attempt(proxied, n, "203.0.113.7") for n in range(PER_ADDRESS + 1)]
    assert statuses == [401] * PER_ADDRESS + [429]
    assert _attempt(proxied, 99, "203.0.113.8") == 401  # another client behind the proxy
    # a client's own X-Forwarded-For entry, left of the proxy's, changes nothing
    assert _attempt(proxied, 100, "198.51.100.1, 203.0.113.7") == 429
