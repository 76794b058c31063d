"""People by their names on pages (issue 18, item 7): "by Casey Walker", not
"by sg_caseworker".

One lookup per request at most, and none when the only person a page names is the one
reading it (their name is already known) or people the page has loaded anyway (the inbox's
colleagues): the users are read the first time a page names someone else, then kept for
the rest of the request in flask.g.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import g

from engine.model import User
from web.security import application, current_user

_KEY = "people_names"


def remember(users: Iterable[User]) -> None:
    """Names a page has loaded anyway, so naming them costs no statement."""
    known: dict[str, str] = g.setdefault("people_known", {})
    known.update({u.username: u.name for u in users})


def person(username: str | None) -> str:
    """The user's full name; the username itself when no user has it (a system actor, a
    deleted account); "" for none."""
    if not username:
        return ""
    me = current_user()
    if me is not None and me.username == username:
        return me.name or username
    known: dict[str, str] = g.setdefault("people_known", {})
    if username in known:
        return known[username] or username
    if _KEY not in g:
        setattr(g, _KEY, {u.username: u.name for u in application().accounts.users()})
    names: dict[str, str] = getattr(g, _KEY)
    return names.get(username) or username
