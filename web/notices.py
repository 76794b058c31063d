"""What the app tells people about their work (issue 18, item 10): the nav's counts of new
and overdue tasks, each a link to the inbox showing them, and the user's own page, where
they choose the daily e-mail digest.

The counts are worked out once per request, and only when a page's nav shows them (a page
for a user who does tasks, the inbox aside: it shows its own counts and marks the look):
two statements, see engine.casework.notices.inbox_news.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.model import InboxNews
from web.security import application, current_user, login_required, roles_required

bp = Blueprint("notices", __name__)
SINCE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the inbox's since= (UTC, no "+" to escape)


@bp.app_context_processor
def _nav_news() -> dict[str, Any]:
    return {"inbox_news": nav_news, "since_param": since_param}


def nav_news() -> InboxNews | None:
    """The signed-in user's counts, read at most once per request (None: no tasks)."""
    if "inbox_news" not in g:
        user = current_user()
        g.inbox_news = None if user is None else application().casework.inbox_news(user)
    news: InboxNews | None = g.inbox_news
    return news


def since_param(moment: datetime | None) -> dict[str, str]:
    """The inbox link's query for tasks new since moment (none: every task is new)."""
    return {} if moment is None else {"since": moment.strftime(SINCE_FORMAT)}


def parse_since(text: str) -> datetime:
    """The inbox's since= value: an ISO 8601 moment with its time zone; ValueError if not."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


@bp.get("/account")
@login_required
def account() -> Any:
    """The user's own page: who they are, and the daily digest's choice."""
    user = current_user()
    assert user is not None
    return render_template("account.html",
                           notices=application().casework.notices(user))


@bp.post("/account/digest")
@roles_required("caseworker", "team_lead", "admin")
def digest() -> Any:
    """Turn the user's daily e-mail digest on or off."""
    user = current_user()
    assert user is not None
    wanted = request.form.get("digest") == "on"
    application().casework.set_digest(user, wanted)
    flash("You will get the daily e-mail digest." if wanted
          else "You will not get the daily e-mail digest.")
    return redirect(url_for("notices.account"))
