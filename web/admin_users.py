"""Admins' page of user accounts: who is signed in where, and "sign out everywhere".

An admin ends every session of a user at once (a lost laptop, a shared machine left signed
in, a suspected copied cookie); the user may sign in again. Deactivating and setting
passwords stay on the command line (`pathways users ...`), which end sessions too.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for

from web.security import application, roles_required

bp = Blueprint("admin_users", __name__)


@bp.get("/admin/users")
@roles_required("admin")
def users() -> Any:
    accounts = application().accounts
    live = Counter(s.username for s in accounts.sessions() if s.live)
    return render_template("admin_users.html", users=accounts.users(), live=live,
                           idle_minutes=int(accounts.session_idle.total_seconds() // 60),
                           hours=int(accounts.session_lifetime.total_seconds() // 3600))


@bp.post("/admin/users/<username>/signout")
@roles_required("admin")
def sign_out_everywhere(username: str) -> Any:
    ended = application().accounts.end_sessions(username)  # NotFoundError: 404
    flash(f"Signed {username} out everywhere ({ended} session{'s' if ended != 1 else ''}).")
    return redirect(url_for("admin_users.users"))
