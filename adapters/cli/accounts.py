"""Commands on accounts and the access log: orgs, users, users tokens, access."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click

from adapters.cli.common import ID, Context, UsageProblem, cli, command, emit
from engine.model import USER_ROLES, ApiToken, User

# -- accounts: organisations, users, API tokens ---------------------------------------------


def user_json(user: User) -> dict[str, Any]:
    """A user for output: never the password hash."""
    return {"username": user.username, "name": user.name, "organisation": user.organisation,
            "role": user.role, "pathway_roles": list(user.pathway_roles),
            "active": user.active}


def token_json(token: ApiToken) -> dict[str, Any]:
    """A token for output: never its hash."""
    return {"id": token.id, "username": token.username, "name": token.name,
            "created_at": token.created_at.isoformat() if token.created_at else None,
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}


def _user_line(user: User) -> str:
    roles = f"  [{', '.join(user.pathway_roles)}]" if user.pathway_roles else ""
    state = "" if user.active else "  (deactivated)"
    return f"{user.username}  {user.name}  {user.organisation}  {user.role}{roles}{state}"


def _read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or asked for twice without echo."""
    if from_stdin:
        line: str = sys.stdin.readline()
        return line.rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True,
                                 err=True)
    return password


@cli.group()
def orgs() -> None:
    """Organisations taking part in the programme."""


@orgs.command("add")
@click.argument("organisation_id", metavar="ID")
@click.option("--name", required=True, help="The organisation's name.")
@command
def orgs_add(ctx: Context, organisation_id: str, name: str) -> None:
    """Add an organisation (or rename one)."""
    org = ctx.app.accounts.add_organisation(organisation_id, name)
    emit(ctx.json_mode, {"id": org.id, "name": org.name}, lambda: org.id)


@orgs.command("list")
@command
def orgs_list(ctx: Context) -> None:
    """Every organisation."""
    found = ctx.app.accounts.organisations()
    emit(ctx.json_mode, [{"id": o.id, "name": o.name} for o in found],
          lambda: "\n".join(f"{o.id}  {o.name}" for o in found) or "no organisations")


@cli.group()
def users() -> None:
    """People who sign in to the caseworker web and the API."""


@users.command("add")
@click.argument("username")
@click.option("--name", required=True, help="The person's name.")
@click.option("--org", "organisation", required=True, help="Their organisation's id.")
@click.option("--role", required=True, help=f"One of {', '.join(USER_ROLES)}.")
@click.option("--pathway-role", "pathway_roles", multiple=True, metavar="ROLE",
              help="A pathway lane role they work (repeatable; none = any of their "
                   "organisation's).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin instead of asking.")
@command
def users_add(ctx: Context, username: str, name: str, organisation: str, role: str,
              pathway_roles: tuple[str, ...], password_stdin: bool) -> None:
    """Add a user; the password is asked for (twice), never given as an argument."""
    password = _read_password(password_stdin)
    user = ctx.app.accounts.add_user(username, name, organisation, role, password,
                                     pathway_roles)
    emit(ctx.json_mode, user_json(user), lambda: user.username)


@users.command("list")
@click.option("--org", "organisation", help="Only users of this organisation.")
@command
def users_list(ctx: Context, organisation: str | None) -> None:
    """Users, by username."""
    found = ctx.app.accounts.users(organisation)
    emit(ctx.json_mode, [user_json(u) for u in found],
          lambda: "\n".join(_user_line(u) for u in found) or "no users")


@users.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin instead of asking.")
@command
def users_password(ctx: Context, username: str, password_stdin: bool) -> None:
    """Set a user's password (which signs them out everywhere)."""
    ctx.app.accounts.get_user(username)  # fail before asking for a password
    user = ctx.app.accounts.set_password(username, _read_password(password_stdin))
    emit(ctx.json_mode, user_json(user), lambda: f"password of {user.username} set")


@users.command("deactivate")
@click.argument("username")
@command
def users_deactivate(ctx: Context, username: str) -> None:
    """Stop a user signing in: ends their sessions and revokes their API tokens."""
    user = ctx.app.accounts.deactivate(username)
    emit(ctx.json_mode, user_json(user), lambda: f"{user.username} deactivated")


@users.command("reactivate")
@click.argument("username")
@command
def users_reactivate(ctx: Context, username: str) -> None:
    """Let a deactivated user sign in again (their revoked API tokens stay revoked)."""
    user = ctx.app.accounts.reactivate(username)
    emit(ctx.json_mode, user_json(user), lambda: f"{user.username} reactivated")


@users.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(USER_ROLES))
@command
def users_role(ctx: Context, username: str, role: str) -> None:
    """Give a user another role; the last active admin stays one."""
    user = ctx.app.accounts.change_role(username, role)
    emit(ctx.json_mode, user_json(user), lambda: f"{user.username} is now {user.role}")


@users.command("signout")
@click.argument("username")
@command
def users_signout(ctx: Context, username: str) -> None:
    """End every web session of a user at once (they may sign in again)."""
    ended = ctx.app.accounts.end_sessions(username)
    emit(ctx.json_mode, {"username": username, "sessions_ended": ended},
          lambda: f"{username} signed out everywhere ({ended} session(s) ended)")


@users.group("tokens")
def users_tokens() -> None:
    """API tokens (for the JSON API)."""


@users_tokens.command("add")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for.")
@command
def users_tokens_add(ctx: Context, username: str, name: str) -> None:
    """Issue a token; it is printed this once and cannot be shown again."""
    token, plain = ctx.app.accounts.issue_token(username, name)
    emit(ctx.json_mode, {**token_json(token), "token": plain}, lambda: plain)


@users_tokens.command("list")
@click.argument("username")
@command
def users_tokens_list(ctx: Context, username: str) -> None:
    """A user's tokens (not the tokens themselves)."""
    found = ctx.app.accounts.tokens(username)
    emit(ctx.json_mode, [token_json(t) for t in found],
          lambda: "\n".join(f"{t.id}  {t.name}  {'revoked' if t.revoked_at else 'live'}"
                            for t in found) or "no tokens")


@users_tokens.command("revoke")
@click.argument("token_id", type=ID)
@command
def users_tokens_revoke(ctx: Context, token_id: int) -> None:
    """Revoke a token for good."""
    ctx.app.accounts.revoke_token(token_id)
    emit(ctx.json_mode, {"id": token_id, "revoked": True},
          lambda: f"token {token_id} revoked")


# -- the access log --------------------------------------------------------------------------


def _day(option: str, text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise UsageProblem(f"--{option} {text!r}: write the date as YYYY-MM-DD",
                           details={"fields": {option: ["must be a date (YYYY-MM-DD)"]}}
                           ) from None


@cli.group()
def access() -> None:
    """Who opened which client record, when, why and what they saw."""


@access.command("report")
@click.option("--break-glass", "break_glass", is_flag=True,
              help="Only break-glass accesses: each opening with its reason, and every view "
                   "under it.")
@click.option("--since", "since_text", metavar="DATE", help="From this day (YYYY-MM-DD, UTC).")
@click.option("--until", "until_text", metavar="DATE",
              help="To this day, included (YYYY-MM-DD, UTC).")
@click.option("--org", "organisation", help="Only entries of this organisation's users.")
@click.option("--user", "username", help="Only entries of this user.")
@command
def access_report(ctx: Context, break_glass: bool, since_text: str | None,
                  until_text: str | None, organisation: str | None,
                  username: str | None) -> None:
    """The access log, oldest first (every entry, or with --break-glass the break-glass
    ones): at, username, organisation, client, action, reason, viewed."""
    since, until = _day("since", since_text), _day("until", until_text)
    rows = ctx.app.casework.access_report(None, break_glass=break_glass, since=since,
                                          until=until, organisation=organisation,
                                          username=username)
    emit(ctx.json_mode,
          [{"at": r.at.isoformat(), "username": r.username, "organisation": r.organisation,
            "client": r.client, "action": r.action, "reason": r.reason, "viewed": r.viewed}
           for r in rows],
          lambda: "\n".join(f"{r.at:%Y-%m-%d %H:%M:%S}  {r.username} ({r.organisation})  "
                            f"client {r.client if r.client is not None else '-'}  {r.action}  "
                            f"{r.viewed}" + (f"  reason: {r.reason}" if r.reason else "")
                            for r in rows) or "no access recorded")
