"""Who is signed in, and the guards every page and API route goes through.

Sessions live on the server (engine.accounts, table user_sessions); the cookie (Flask's
signed cookie: HttpOnly, SameSite=Lax, Secure unless turned off for plain-HTTP local use)
holds only the session's random key. Every request looks the key up, so sign-out, a password
change, deactivation, an admin's "sign out everywhere", idle time and age end a session at
once, copies of the cookie included. Every form is CSRF-protected by Flask-WTF; sign-in
attempts are rate limited per address and per username by Flask-Limiter.
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

from adapters import logs
from adapters.bootstrap import Application
from engine.model import User
from web.observability import PROBES

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


SESSION_KEY = "sid"  # the cookie's entry holding the server session's key


def load_user() -> None:
    """Before each request: the signed-in user, if the cookie holds the key of a live
    session of an active user. A dead key (or a cookie from before server sessions) is
    dropped, so the browser is simply signed out."""
    g.user = None
    if request.endpoint in PROBES:  # probes answer without a user, and without the database
        return
    key = session.get(SESSION_KEY)
    if key is None:
        if "username" in session:
            session.clear()
        return
    user = application().accounts.session_user(key) if isinstance(key, str) else None
    if user is None:
        session.clear()
        return
    g.user = user
    logs.note(user=user.username)


def sign_in(user: User) -> None:
    """A new server session and a fresh cookie (no fixation); the browser's earlier
    session, if any, ends."""
    earlier = session.get(SESSION_KEY)
    if isinstance(earlier, str):
        application().accounts.end_session(earlier)
    session.clear()
    session.permanent = True
    _, key = application().accounts.start_session(user.username)
    session[SESSION_KEY] = key


def sign_out() -> None:
    key = session.get(SESSION_KEY)
    if isinstance(key, str):
        application().accounts.end_session(key)
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
