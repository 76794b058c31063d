"""Changing running cases in the browser (issue 14, item 5): a dry run of moving a
pathway's active cases from one version to another (every affected case, with the step it
would move to or why it cannot move), running it, the history of migrations, and putting a
migration's cases back. The engine decides what is safe (engine.versions.migration), as for
`pathways migrate`; designers and admins only, every change CSRF-protected and recorded with
who made it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import BadRequest, NotFound

from engine.access import may_open_records
from engine.model import Migration, MigrationTally
from engine.versions import MigrationReport, Started
from web.designer import CHANGERS, published_versions, version_asked
from web.security import application, current_user, roles_required

bp = Blueprint("migrations", __name__)


@dataclass(frozen=True)
class Asked:
    """The migration a form asks for."""

    older: int
    newer: int
    step: str | None
    renamed: str = ""  # steps renamed, as typed: "old=new, old=new"

    @property
    def renames(self) -> dict[str, str]:
        return _renames(self.renamed)


def _renames(typed: str) -> dict[str, str]:
    """"old=new" pairs, separated by commas or spaces (as `pathways migrate --map`)."""
    renames: dict[str, str] = {}
    for pair in typed.replace(",", " ").split():
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise BadRequest(f"renamed steps: {pair[:80]!r} must be written old=new")
        renames[old] = new
    return renames


def _asked(args: Mapping[str, str], versions: list[int]) -> Asked | None:
    """From, to, the step filter and the steps renamed of a request (None: not asked yet); a
    version that is not published, or the same one twice, is refused."""
    older, newer = args.get("from", ""), args.get("to", "")
    if not older and not newer:
        return None
    chosen = (version_asked(older, versions, "from"), version_asked(newer, versions, "to"))
    if chosen[0] == chosen[1]:
        raise BadRequest("from and to must be different versions")
    renamed = " ".join((args.get("renamed") or "").split())
    _renames(renamed)  # refused here when it is not old=new
    return Asked(*chosen, (args.get("step") or "").strip() or None, renamed)


@dataclass(frozen=True)
class Screen:
    """Which cases a viewer who may not open client records sees only as a count: every
    case of a pathway that reveals health or offence data, and a case whose step (where it
    is, where it would go, or a step its refusal names) does. A case id beside such a step
    would say that this client was there."""

    everything: bool
    steps: frozenset[str]

    def hides(self, from_step: str | None, to_step: str | None, reason: str | None) -> bool:
        if self.everything:
            return True
        if from_step in self.steps or to_step in self.steps:
            return True
        return bool(reason) and any(step in (reason or "") for step in self.steps)

    def split(self, rows: list[Any]) -> tuple[list[Any], tuple[int, int]]:
        """(the rows to list, (how many are not listed, how many of those moved or would))
        of results with from_step, to_step, reason and ok."""
        shown, hidden = [], []
        for row in rows:
            if self.hides(row.from_step, row.to_step, row.reason):
                hidden.append(row.ok)
            else:
                shown.append(row)
        return shown, (len(hidden), sum(hidden))


def _screen(name: str, *numbers: int) -> Screen:
    """Nothing hidden for who may open records; else the versions' sensitive steps (with
    their titles, which a refusal may quote)."""
    user = current_user()
    if user is not None and may_open_records(user):
        return Screen(False, frozenset())
    engine = application().engine
    definitions = [engine.definition(name, number) for number in numbers]
    steps = {step for d in definitions for step in d.sensitive_steps}
    titles = {d.user_tasks[step].title for d in definitions for step in d.sensitive_steps
              if step in d.user_tasks and d.user_tasks[step].title}
    return Screen(any(d.sensitive_pathway for d in definitions),
                  frozenset(steps | titles))


def _titles(name: str, number: int) -> dict[str, str]:
    return {step: info.title for step, info in
            application().engine.definition(name, number).user_tasks.items()}


@bp.get("/pathways/<name>/migrate")
@roles_required(*CHANGERS)
def plan(name: str) -> Any:
    """The form, and with from and to given, the dry run: every active case on `from` (at
    `step`, if given) with what moving it would do."""
    versions = published_versions(name)
    asked = _asked(request.args, versions)
    report = None
    steps: dict[str, str] = {}
    new_titles: dict[str, str] = {}
    shown: list[Any] = []
    unlisted = (0, 0)
    if asked is not None:
        report = application().engine.migrate(
            name, asked.older, asked.newer, dry_run=True,
            steps=[asked.step] if asked.step else (), renames=asked.renames)
        steps = _titles(name, asked.older)
        new_titles = _titles(name, asked.newer)
        shown, unlisted = _screen(name, asked.older, asked.newer).split(report.cases)
    return render_template("migrate.html", name=name, versions=versions, asked=asked,
                           report=report, steps=steps, new_titles=new_titles, shown=shown,
                           unlisted=unlisted,
                           moving=sum(r.ok for r in report.cases) if report else 0)


# how long a request waits for a migration before showing its progress instead (seconds)
WAIT_SECONDS = 5.0
STALLED_AFTER = timedelta(minutes=2)  # no progress for this long: its process has stopped


@dataclass
class _Run:
    """A migration running in a thread of its own: its id once recorded, then its report
    or the error it stopped with."""

    migration: int | None = None
    report: MigrationReport | None = None
    error: BaseException | None = None
    known: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


def _in_background(work: Callable[[Started], MigrationReport]) -> _Run:
    """Run a migration (or a revert) in a thread; return when it is done or, if it takes
    longer than the app's PATHWAYS_MIGRATION_WAIT, once it is recorded, so that a large
    one is followed on its page rather than in a request the browser gives up on. Each
    case is its own transaction: if the process stops, what was done stays done and the
    page says the run stopped."""
    run = _Run()

    def started(migration_id: int) -> None:
        run.migration = migration_id
        run.known.set()

    def work_through() -> None:
        try:
            run.report = work(started)
        except BaseException as error:
            run.error = error
        finally:
            run.known.set()
            run.done.set()

    threading.Thread(target=work_through, name="pathways-migration", daemon=True).start()
    if not run.done.wait(current_app.config.get("PATHWAYS_MIGRATION_WAIT", WAIT_SECONDS)):
        run.known.wait()
    if run.error is not None and (run.migration is None or run.done.is_set()):
        raise run.error
    return run


def _after(name: str, run: _Run, done: Callable[[MigrationReport], str]) -> Any:
    """To the migration's page: with what it did, or to follow its progress."""
    if run.report is not None:
        flash(done(run.report))
    else:
        flash(f"Migration {run.migration} is running; this page shows how far it has got.")
    return redirect(url_for("migrations.show", name=name, migration_id=run.migration))


@bp.post("/pathways/<name>/migrate")
@roles_required(*CHANGERS)
def run(name: str) -> Any:
    """Move the cases the dry run showed (each again checked as it moves)."""
    versions = published_versions(name)
    asked = _asked(request.form, versions)
    if asked is None:
        raise BadRequest("say which versions: from and to")
    user = current_user()
    engine = application().engine
    going = _in_background(lambda started: engine.migrate(
        name, asked.older, asked.newer, steps=[asked.step] if asked.step else (),
        actor=user.username if user else None, started=started, renames=asked.renames))

    def said(report: MigrationReport) -> str:
        moved = sum(r.ok for r in report.cases)
        return (f"Migration {report.migration}: moved {moved} case(s) from v{asked.older} "
                f"to v{asked.newer}, refused {len(report.cases) - moved}.")

    return _after(name, going, said)


@bp.get("/pathways/<name>/migrations")
@roles_required(*CHANGERS)
def history(name: str) -> Any:
    published_versions(name)
    engine = application().engine
    tallies = engine.migration_tallies(name)
    found = []
    for migration in reversed(engine.migrations(name)):
        tally = tallies.get(migration.id or 0, MigrationTally())
        only = "; ".join(f"{key}: {_listed(value)}"
                         for key, value in sorted(migration.filter.items()) if value)
        found.append((migration, only, tally.moved, tally.stayed, tally.reverted))
    return render_template("migrations.html", name=name, found=found)


def _listed(value: Any) -> str:
    """A migration's filter value in words (renames as old → new)."""
    if isinstance(value, Mapping):
        return ", ".join(f"{old} \N{RIGHTWARDS ARROW} {new}" for old, new in value.items())
    return ", ".join(map(str, value))


def _migration(name: str, migration_id: int) -> Any:
    migration, cases = application().engine.migration(migration_id)  # none: its 404
    if migration.pathway != name:
        raise NotFound(f"no migration {migration_id} of {name[:80]!r}")
    return migration, cases


@bp.get("/pathways/<name>/migrations/<int:migration_id>")
@roles_required(*CHANGERS)
def show(name: str, migration_id: int) -> Any:
    migration, cases = _migration(name, migration_id)
    shown, unlisted = _screen(name, migration.from_version, migration.to_version).split(cases)
    return render_template("migration.html", name=name, migration=migration, cases=cases,
                           state=_state(migration), shown=shown, unlisted=unlisted,
                           old_titles=_titles(name, migration.from_version),
                           new_titles=_titles(name, migration.to_version),
                           moved=sum(c.ok for c in cases),
                           waiting=sum(c.waiting for c in cases),
                           reverted=any(c.reverted_by for c in cases))


@bp.post("/pathways/<name>/migrations/<int:migration_id>/revert")
@roles_required(*CHANGERS)
def revert(name: str, migration_id: int) -> Any:
    """Put the cases the migration moved back (each by the engine's rules)."""
    _migration(name, migration_id)
    user = current_user()
    engine = application().engine
    going = _in_background(lambda started: engine.revert_migration(
        migration_id, actor=user.username if user else None, started=started))

    def said(report: MigrationReport) -> str:
        moved = sum(r.ok for r in report.cases)
        return (f"Migration {report.migration} put {moved} case(s) back on "
                f"v{report.to_version}, refused {len(report.cases) - moved}.")

    return _after(name, going, said)


def _state(migration: Migration) -> str:
    """finished, running, or stopped (no progress for STALLED_AFTER: its process died)."""
    if migration.finished_at is not None:
        return "finished"
    last = migration.progressed_at or migration.created_at
    now = application().engine.clock.now()
    return "stopped" if now - last > STALLED_AFTER else "running"


@bp.get("/pathways/<name>/migrations/<int:migration_id>/progress.json")
@roles_required(*CHANGERS)
def progress(name: str, migration_id: int) -> Any:
    """How far the migration has got: for its page while it runs, and for scripts."""
    migration, cases = _migration(name, migration_id)
    return jsonify({"migration": migration.id, "state": _state(migration),
                    "planned": migration.planned, "checked": migration.checked,
                    "moved": sum(c.ok for c in cases),
                    "stayed": sum(not c.ok for c in cases)})


@bp.post("/pathways/<name>/v<int:number>/steps/<step>/retry")
@roles_required(*CHANGERS)
def retry_step(name: str, number: int, step: str) -> Any:
    """Run the failed step again for every case of the version stopped at it with an error,
    on the version chosen (a designer who fixed the definition publishes it, then retries
    here); counts only, as the page shows them."""
    versions = published_versions(name)
    to = request.form.get("to", "")
    target = version_asked(to, versions, "to") if to else None
    user = current_user()
    assert user is not None  # roles_required ran
    done = application().casework.retry_at_step(user, name, number, step, to_version=target)
    where = f"v{target}" if target is not None else f"v{number}"
    flash(f"Retried {done.retried} case(s) at this step on {where}: {done.running} running "
          f"again, {done.still_in_error} still in error.")
    return redirect(url_for("designer.version", name=name, number=number) + f"#step-{step}")
