"""Who is signed in, and the guards every page and API route goes through.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Lax, Secure unless turned off for
plain-HTTP local use) holding only the username; the user is read again on every request,
so a deactivated account is out at its next click. Every form is CSRF-protected by
Flask-WTF; sign-in attempts are rate limited per address and per username by Flask-Limiter.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

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


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site, never another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not any(ord(c) < 32 or ord(c) == 127 for c in target):  # no header splitting
        return target
    return url_for("home")
