"""Changing running cases in the browser (issue 14, item 5): a dry run of moving a
pathway's active cases from one version to another (every affected case, with the step it
would move to or why it cannot move), running it, the history of migrations, and putting a
migration's cases back. The engine decides what is safe (engine.versions.migration), as for
`pathways migrate`; designers and admins only, every change CSRF-protected and recorded with
who made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest, NotFound

from web.designer import CHANGERS, published_versions, version_asked
from web.security import application, current_user, roles_required

bp = Blueprint("migrations", __name__)


@dataclass(frozen=True)
class Asked:
    """The migration a form asks for."""

    older: int
    newer: int
    step: str | None


def _asked(args: Mapping[str, str], versions: list[int]) -> Asked | None:
    """From, to and the step filter of a request (None: not asked yet); a version that is
    not published, or the same one twice, is refused."""
    older, newer = args.get("from", ""), args.get("to", "")
    if not older and not newer:
        return None
    chosen = (version_asked(older, versions, "from"), version_asked(newer, versions, "to"))
    if chosen[0] == chosen[1]:
        raise BadRequest("from and to must be different versions")
    return Asked(*chosen, (args.get("step") or "").strip() or None)


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
    if asked is not None:
        report = application().engine.migrate(
            name, asked.older, asked.newer, dry_run=True,
            steps=[asked.step] if asked.step else ())
        steps = _titles(name, asked.older)
        new_titles = _titles(name, asked.newer)
    return render_template("migrate.html", name=name, versions=versions, asked=asked,
                           report=report, steps=steps, new_titles=new_titles,
                           moving=sum(r.ok for r in report.cases) if report else 0)


@bp.post("/pathways/<name>/migrate")
@roles_required(*CHANGERS)
def run(name: str) -> Any:
    """Move the cases the dry run showed (each again checked as it moves)."""
    versions = published_versions(name)
    asked = _asked(request.form, versions)
    if asked is None:
        raise BadRequest("say which versions: from and to")
    user = current_user()
    report = application().engine.migrate(
        name, asked.older, asked.newer, steps=[asked.step] if asked.step else (),
        actor=user.username if user else None)
    moved = sum(r.ok for r in report.cases)
    flash(f"Migration {report.migration}: moved {moved} case(s) from v{asked.older} to "
          f"v{asked.newer}, refused {len(report.cases) - moved}.")
    return redirect(url_for("migrations.show", name=name, migration_id=report.migration))


@bp.get("/pathways/<name>/migrations")
@roles_required(*CHANGERS)
def history(name: str) -> Any:
    published_versions(name)
    engine = application().engine
    found = []
    for migration in reversed(engine.migrations(name)):
        _, cases = engine.migration(migration.id or 0)
        only = "; ".join(f"{key}: {', '.join(map(str, value))}"
                         for key, value in sorted(migration.filter.items()) if value)
        found.append((migration, only, sum(c.ok for c in cases),
                      sum(not c.ok for c in cases), any(c.reverted_by for c in cases)))
    return render_template("migrations.html", name=name, found=found)


def _migration(name: str, migration_id: int) -> Any:
    migration, cases = application().engine.migration(migration_id)  # none: its 404
    if migration.pathway != name:
        raise NotFound(f"no migration {migration_id} of {name[:80]!r}")
    return migration, cases


@bp.get("/pathways/<name>/migrations/<int:migration_id>")
@roles_required(*CHANGERS)
def show(name: str, migration_id: int) -> Any:
    migration, cases = _migration(name, migration_id)
    return render_template("migration.html", name=name, migration=migration, cases=cases,
                           old_titles=_titles(name, migration.from_version),
                           new_titles=_titles(name, migration.to_version),
                           moved=sum(c.ok for c in cases),
                           reverted=any(c.reverted_by for c in cases))


@bp.post("/pathways/<name>/migrations/<int:migration_id>/revert")
@roles_required(*CHANGERS)
def revert(name: str, migration_id: int) -> Any:
    """Put the cases the migration moved back (each by the engine's rules)."""
    _migration(name, migration_id)
    user = current_user()
    report = application().engine.revert_migration(
        migration_id, actor=user.username if user else None)
    moved = sum(r.ok for r in report.cases)
    flash(f"Migration {report.migration} put {moved} case(s) back on v{report.to_version}, "
          f"refused {len(report.cases) - moved}.")
    return redirect(url_for("migrations.show", name=name, migration_id=report.migration))
