"""Admins' pages of user accounts: who is signed in where, adding users, their role, turning
an account off and on, a new password, API tokens, and "sign out everywhere".

Every change goes through engine.accounts, the same service as `pathways users ...`, so the
web and the command line refuse the same things (the last active admin stays one and stays
active; nobody deactivates themselves) and end the same sessions; each change is written to
the access log with the admin who made it. A generated password or a new API token is shown
once, on the answer to the form that made it (never flashed: the session cookie would keep
it), and the answer is not stored by the browser.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from engine.accounts import new_password
from engine.errors import ConflictError, InvalidArgumentError
from engine.model import USER_ROLES, User
from web.security import application, current_user, roles_required

bp = Blueprint("admin_users", __name__)

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _admin() -> User:
    user = current_user()
    assert user is not None  # roles_required
    return user


def _problems(err: InvalidArgumentError | ConflictError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = err.details.get("fields") or {}
    return fields


@bp.get("/admin/users")
@roles_required("admin")
def users() -> Any:
    accounts = application().accounts
    live = Counter(s.username for s in accounts.sessions() if s.live)
    organisation = request.args.get("org") or ""
    known = {o.id for o in accounts.organisations()}
    shown = accounts.users(organisation if organisation in known else None)
    return render_template("admin_users.html", users=shown, live=live, org=organisation,
                           organisations=accounts.organisations(),
                           idle_minutes=int(accounts.session_idle.total_seconds() // 60),
                           hours=int(accounts.session_lifetime.total_seconds() // 3600))


# -- adding a user ---------------------------------------------------------------------------


def _new_user_form(form: dict[str, str], problems: dict[str, list[str]], status: int) -> Any:
    return render_template("admin_user_new.html", form=form, problems=problems,
                           roles=USER_ROLES,
                           organisations=application().accounts.organisations()), status


@bp.get("/admin/new-user")
@roles_required("admin")
def new_user() -> Any:
    return _new_user_form({"organisation": request.args.get("org", "")}, {}, 200)


@bp.post("/admin/new-user")
@roles_required("admin")
def add_user() -> Any:
    keys = ("username", "name", "organisation", "role", "pathway_roles")
    form = {k: (request.form.get(k) or "").strip() for k in keys}
    pathway_roles = [r for r in form["pathway_roles"].replace(",", " ").split() if r]
    password = new_password()
    try:
        added = application().accounts.add_user(
            form["username"], form["name"], form["organisation"], form["role"], password,
            pathway_roles, by=_admin())
    except InvalidArgumentError as err:
        return _new_user_form(form, _problems(err), 422)
    except ConflictError as err:
        return _new_user_form(form, _problems(err), 409)
    return _shown_once(added, "password", password)


def _shown_once(user: User, kind: str, secret: str, token_name: str = "") -> Any:
    """The page showing a new password or token, this once, kept by no cache."""
    body = render_template("admin_secret.html", shown=user, kind=kind, secret=secret,
                           token_name=token_name)
    return body, 200, _NO_STORE


# -- one user --------------------------------------------------------------------------------


def _user_page(username: str, *, problems: dict[str, list[str]] | None = None,
               refusal: str = "", token_name: str = "", status: int = 200) -> Any:
    accounts = application().accounts
    shown = accounts.get_user(username)  # NotFoundError: 404
    live = sum(1 for s in accounts.sessions(username) if s.live)
    return render_template("admin_user.html", shown=shown, live=live, roles=USER_ROLES,
                           tokens=list(reversed(accounts.tokens(username))),
                           problems=problems or {}, refusal=refusal,
                           token_name=token_name), status


@bp.get("/admin/users/<username>")
@roles_required("admin")
def user(username: str) -> Any:
    return _user_page(username)


@bp.post("/admin/users/<username>/role")
@roles_required("admin")
def change_role(username: str) -> Any:
    role = (request.form.get("role") or "").strip()
    try:
        changed = application().accounts.change_role(username, role, by=_admin())
    except InvalidArgumentError as err:
        return _user_page(username, problems=_problems(err), status=422)
    except ConflictError as err:
        return _user_page(username, refusal=err.message, status=409)
    flash(f"{changed.name} is now {changed.role.replace('_', ' ')}.")
    if changed.username == _admin().username and changed.role != "admin":
        return redirect(url_for("home"))  # no longer theirs to see
    return redirect(url_for("admin_users.user", username=changed.username))


@bp.post("/admin/users/<username>/deactivate")
@roles_required("admin")
def deactivate(username: str) -> Any:
    try:
        done = application().accounts.deactivate(username, by=_admin())
    except ConflictError as err:
        return _user_page(username, refusal=err.message, status=409)
    flash(f"{done.name} is deactivated: signed out everywhere, API tokens revoked.")
    return redirect(url_for("admin_users.user", username=done.username))


@bp.post("/admin/users/<username>/reactivate")
@roles_required("admin")
def reactivate(username: str) -> Any:
    done = application().accounts.reactivate(username, by=_admin())
    flash(f"{done.name} may sign in again (API tokens stay revoked).")
    return redirect(url_for("admin_users.user", username=done.username))


@bp.post("/admin/users/<username>/password")
@roles_required("admin")
def reset_password(username: str) -> Any:
    changed, password = application().accounts.reset_password(username, by=_admin())
    return _shown_once(changed, "password", password)


@bp.post("/admin/users/<username>/tokens")
@roles_required("admin")
def issue_token(username: str) -> Any:
    name = (request.form.get("name") or "").strip()
    accounts = application().accounts
    shown = accounts.get_user(username)  # NotFoundError: 404
    if not shown.active:
        return _user_page(username, refusal=f"{shown.name} is deactivated: reactivate the "
                          "account before issuing a token.", token_name=name, status=409)
    try:
        token, plain = accounts.issue_token(username, name, by=_admin())
    except InvalidArgumentError as err:
        return _user_page(username, problems={"token_name": _problems(err).get("name", [])},
                          token_name=name, status=422)
    return _shown_once(shown, "token", plain, token.name)


@bp.post("/admin/users/<username>/tokens/<int:token_id>/revoke")
@roles_required("admin")
def revoke_token(username: str, token_id: int) -> Any:
    accounts = application().accounts
    shown = accounts.get_user(username)  # NotFoundError: 404
    token = next((t for t in accounts.tokens(username) if t.id == token_id), None)
    if token is None:
        raise NotFound(f"{username} has no token {token_id}")
    accounts.revoke_token(token_id, by=_admin(), username=username)
    flash(f"Token “{token.name}” of {shown.name} is revoked.")
    return redirect(url_for("admin_users.user", username=shown.username))


@bp.post("/admin/users/<username>/signout")
@roles_required("admin")
def sign_out_everywhere(username: str) -> Any:
    ended = application().accounts.end_sessions(username, by=_admin())  # NotFoundError: 404
    flash(f"Signed {username} out everywhere ({ended} session{'s' if ended != 1 else ''}).")
    return redirect(url_for("admin_users.users"))
