"""The benches' web clients: the app as `pathways serve` runs it, signed in through the form.

One place, so that every bench measures the same server set-up (warmed up, then the garbage
collector set for a long-lived process: adapters.collector) and signs in the same way."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from adapters import collector
from adapters.bootstrap import Application
from web import create_app, warm_up


def served(app: Application) -> Flask:
    """The web app as a `pathways serve` worker has it before its first request."""
    web = create_app(app, test_config={"TESTING": True})
    warm_up(web)
    collector.settle_for_serving()
    return web


def sign_in(client: FlaskClient, username: str, password: str) -> FlaskClient:
    """The client, signed in through the sign-in form (its CSRF token read off the page)."""
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit(f"the bench user {username} could not sign in")
    return client
