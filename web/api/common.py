"""What every API module shares: the blueprint, its prefix, and the authenticated user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, g

from engine.model import User

PREFIX = "/api/v1"
BODY = "(body)"  # the details.fields key of a problem with the request body as a whole

bp = Blueprint("api", __name__, url_prefix=PREFIX)

F = TypeVar("F", bound=Callable[..., Any])


def api_user() -> User:
    """The user of the request's bearer token (web.api.authenticate ran before any view)."""
    user: User | None = g.get("user")
    assert user is not None  # authenticate ran
    return user
