"""The daily e-mail digest (issue 18, item 10): `pathways digest`, and the worker's daily run
of it when PATHWAYS_DIGEST_DAILY says so.

Each user who asked for it on their account page gets counts (new for them, new for their
role since they last looked at the inbox, overdue) and a link to the inbox: never a
client's name nor a case's data, since e-mail leaves the system. It goes through the
notifier the settings name (PATHWAYS_NOTIFIER: smtp sends it to the user's address in
PATHWAYS_SMTP_ADDRESSES), at most once per user per UTC day.
"""

from __future__ import annotations

import logging
from datetime import date

import click

from adapters.bootstrap import Application
from adapters.cli.common import Context, UsageProblem, cli, command, emit
from engine.casework import DigestResult

log = logging.getLogger("pathways.digest")
URL_ENV = "PATHWAYS_PUBLIC_URL"


def inbox_link(url: str | None) -> str:
    """The inbox's address under the site's public address (the path alone without one)."""
    return (url or "").rstrip("/") + "/inbox"


def _line(result: DigestResult) -> str:
    news = result.news
    counts = "" if news is None else (f": {news.mine} new for them, {news.role} new for "
                                      f"their role, {news.overdue} overdue")
    return f"{result.username}: {result.outcome}{counts}" + (
        f" ({result.reason})" if result.reason else "")


def run_digest(app: Application, url: str | None, *, dry_run: bool = False
               ) -> list[DigestResult]:
    return app.casework.send_digests(app.engine.notifier, inbox_link(url), dry_run=dry_run)


def run_daily(app: Application, done: date | None, url: str | None) -> date | None:
    """For a loop (the worker): send today's digests unless `done` says they went."""
    today = app.engine.clock.now().date()
    if done == today:
        return done
    try:
        results = run_digest(app, url)
    except Exception as err:  # the worker goes on; the next round tries again
        log.warning("the daily digest failed, trying again next round: %s", err)
        return done
    for result in results:
        (log.warning if result.outcome == "failed" else log.info)("digest %s", _line(result))
    return today


@cli.command()
@click.option("--dry-run", is_flag=True, help="Say who would get a digest, with their "
              "counts; send nothing and mark nothing sent.")
@click.option("--url", envvar=URL_ENV, default=None, help="The site's public address, for "
              f"the inbox link [${URL_ENV}].")
@command
def digest(ctx: Context, dry_run: bool, url: str | None) -> None:
    """Send today's e-mail digest of new and overdue tasks to each user who asked for it."""
    if url is not None and not url.startswith(("https://", "http://")):
        raise UsageProblem(f"--url {url!r} must start with https:// or http://",
                           details={"fields": {"url": ["must start with https:// or "
                                                       "http://"]}})
    results = run_digest(ctx.app, url, dry_run=dry_run)
    payload = [{"username": r.username, "outcome": r.outcome, "reason": r.reason or None,
                **({"mine": r.news.mine, "role": r.news.role, "overdue": r.news.overdue}
                   if r.news else {})} for r in results]
    emit(ctx.json_mode, {"dry_run": dry_run, "users": payload},
         lambda: "\n".join([_line(r) for r in results] or ["nobody asked for the digest"]))
    if any(r.outcome == "failed" for r in results):
        raise click.exceptions.Exit(1)
