"""What the app tells people about their work without their asking (issue 18, item 10):
the nav's counts of new and overdue tasks, and the optional daily e-mail digest of the same
counts.

"New" is since the user last looked at the inbox (every inbox page marks the look). The
counts are of the tasks the user may do (the inbox's TaskGrant, with the same access
rules) and stop at NEWS_CAP, so a page's cost does not grow with the open tasks. The digest
leaves the system as e-mail: it carries counts and a link, never a client's name nor any
case's data, and goes at most once a UTC day per user (the day is claimed before sending,
given back when sending fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from engine import access
from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_inbox import grant
from engine.model import InboxNews, InboxQuery, User, UserNotices
from engine.ports import Notification, Notifier

NEWS_CAP = 99  # the nav shows "99+" past this
DIGEST_SUBJECT = "Pathways: your tasks today"


def inbox_news(cw: CaseworkContext, user: User) -> InboxNews | None:
    """The nav's counts (None for a user who does no tasks): two statements, the versions
    (whose parsed definitions are cached) and the counts with the last look."""
    if not (user.active and user.role in access.TASK_ROLES):
        return None
    with cw.uow(read_only=True) as uow:
        loaded = {(v.pathway, v.number): cw.loaded(uow, v.pathway, v.number)
                  for v in uow.versions.list()}
        query = InboxQuery(grant(user, loaded), user.username, cw.clock.now())
        return uow.notices.news(query, cap=NEWS_CAP)


def mark_inbox_seen(cw: CaseworkContext, user: User) -> None:
    """The user looked at the inbox now: the nav's "new" counts start again from here."""
    with cw.uow() as uow:
        uow.notices.mark_seen(user.username, cw.clock.now())
        uow.commit()


def notices(cw: CaseworkContext, user: User) -> UserNotices:
    with cw.uow(read_only=True) as uow:
        return uow.notices.get(user.username)


def set_digest(cw: CaseworkContext, user: User, wanted: bool) -> None:
    """The user's own choice: the daily e-mail digest, or not."""
    with cw.uow() as uow:
        uow.notices.set_digest(user.username, wanted)
        uow.commit()


@dataclass(frozen=True)
class DigestResult:
    username: str
    outcome: str  # "sent", "would send" (dry run), "sent already", "nothing new", "failed"
    news: InboxNews | None = None
    reason: str = ""


def digest_text(news: InboxNews, link: str) -> str:
    """The e-mail's body: counts and a link, nothing about any client or case."""
    def count(n: int, key: str, what: str) -> str:
        more = "+" if key in news.over else ""
        return f"{n}{more} {what}"

    return (f"{count(news.mine, 'mine', 'new task(s) assigned to you')}\n"
            f"{count(news.role, 'role', 'new task(s) for your role(s)')}\n"
            f"{count(news.overdue, 'overdue', 'overdue task(s)')}\n\n"
            "New means created since you last looked at your inbox.\n"
            f"Open your inbox: {link}\n")


def send_digests(cw: CaseworkContext, notifier: Notifier | None, link: str, *,
                 dry_run: bool = False) -> list[DigestResult]:
    """Send today's digest to each user who asked for it and has something to hear of
    (once a UTC day: a second run the same day sends nothing). dry_run: say what would be
    sent, send and mark nothing."""
    today = cw.clock.now().date()
    with cw.uow(read_only=True) as uow:
        wanted = [uow.users.by_username(name) for name in uow.notices.digest_users()]
    return [_digest_one(cw, notifier, user, today, link, dry_run)
            for user in wanted if user is not None and user.active]


def _digest_one(cw: CaseworkContext, notifier: Notifier | None, user: User, today: date,
                link: str, dry_run: bool) -> DigestResult:
    news = inbox_news(cw, user)
    if news is None or not (news.mine or news.role or news.overdue):
        return DigestResult(user.username, "nothing new", news)
    if dry_run:
        sent = notices(cw, user).digest_sent_on == today
        return DigestResult(user.username, "sent already" if sent else "would send", news)
    with cw.uow() as uow:
        taken = uow.notices.take_digest(user.username, today)
        uow.commit()
    if not taken:
        return DigestResult(user.username, "sent already", news)
    try:
        if notifier is None:
            raise RuntimeError("no notifier is configured (PATHWAYS_NOTIFIER)")
        notifier.notify(Notification(0, 0, "assignee", digest_text(news, link), None,
                                     subject=DIGEST_SUBJECT, recipients=(user.username,),
                                     kind="digest"))
    except Exception as err:
        with cw.uow() as uow:
            uow.notices.release_digest(user.username, today)
            uow.commit()
        return DigestResult(user.username, "failed", news, reason=str(err))
    return DigestResult(user.username, "sent", news)
