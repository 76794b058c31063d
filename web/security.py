"""Who is signed in, and the guards every page and API route goes through.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Lax, Secure unless turned off for
plain-HTTP local use) holding only the username; the user is read again on every request,
so a deactivated account is out at its next click. Every form is CSRF-protected by
Flask-WTF; sign-in attempts are rate limited per address and per username by Flask-Limiter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import current_app, g, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import Forbidden

from adapters.bootstrap import Application
from engine.errors import NotFoundError
from engine.model import User

F = TypeVar("F", bound=Callable[..., Any])

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://",
                  strategy="moving-window", default_limits=[])


def application() -> Application:
    app: Application = current_app.extensions["pathways"]
    return app


def current_user() -> User | None:
    user: User | None = g.get("user")
    return user


def load_user() -> None:
    """Before each request: the signed-in user, if the session names an active one."""
    g.user = None
    username = session.get("username")
    if not username:
        return
    try:
        user = application().accounts.get_user(username)
    except NotFoundError:
        user = None
    if user is None or not user.active:
        session.clear()
        return
    g.user = user


def sign_in(user: User) -> None:
    session.clear()  # a new session on sign-in: no fixation
    session.permanent = True
    session["username"] = user.username


def sign_out() -> None:
    session.clear()


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only users with one of these Pathways roles; others get 403 (after signing in)."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None or user.role not in roles:
                raise Forbidden(f"this page is for {', '.join(roles)} only")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


_MAX_NEXT = 2048


def _same_origin_path(value: str) -> bool:
    """True when value, as any browser would read it, is a path on this site: it starts with
    one slash, holds no control character, space, backslash, DEL or non-ASCII character
    (browsers drop tabs and newlines and read a backslash as a slash, so "/<TAB>/evil" and
    "/<BACKSLASH>evil" are "//evil", another host), and urllib finds no scheme or host."""
    if not value.startswith("/") or value.startswith("//"):
        return False
    if not value.isascii() or any(c <= " " or c in "\\\x7f" for c in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None) -> str:
    """Where to go after signing in, claiming, giving back: a path on this site as given,
    else the home page. Every redirect to a target taken from a request goes through here.

    The path part is checked as sent and again after percent-decoding (twice, for double
    encoding), so `/%2F%2Fevil`, `/%5Cevil` and `/%09/evil` go home as `//evil` would."""
    home = url_for("home")
    if not target or len(target) > _MAX_NEXT or not _same_origin_path(target):
        return home
    path = re.split(r"[?#]", target, maxsplit=1)[0]
    once = unquote(path)
    if not _same_origin_path(once) or not _same_origin_path(unquote(once)):
        return home
    return target
