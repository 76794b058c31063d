"""What a migration records for a case that can move only at its next round of a repeat, and
how that wait ends (engine.versions.round_moves runs the move itself).

A migration (not a dry run) that refuses a case only because of the round of a repeat it is
in (every reason the move check gives holds only in that round) records it as *waiting*
for the repeat's next round. The wait ends when the case moves (at the start of a round, or
where the repeat ended if the check then accepts it), or when it cannot: the repeat ended
and the case still cannot move, the case ended or left the version, a later migration took
the case, the migration was put back, or a newer version of the pathway was published. Each
end is written into the result's reason, so the migration's history says what became of
the case.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState

from engine.model import MigrationCase
from engine.ports import UnitOfWork
from engine.versions.move_check import running_loops, workflows_of

WILL_MOVE = ", and will move by itself then"  # after the move check's NEXT_ROUND words
DRY_RUN_WILL_MOVE = ", and a migration (not a dry run) moves it by itself then"


def refusal_words(reason: str | None, loop: str | None, *, dry_run: bool) -> str | None:
    """The reason a case stays, saying that it moves by itself at its loop's next round."""
    if reason is None or loop is None:
        return reason
    return reason + (DRY_RUN_WILL_MOVE if dry_run else WILL_MOVE)


def ended(entry: MigrationCase, why: str) -> MigrationCase:
    """A waiting result that no longer waits, saying why."""
    reason = (entry.reason or "").removesuffix(WILL_MOVE)
    return replace(entry, waiting=False, reason=f"{reason} (it no longer waits: {why})")


def record(uow: UnitOfWork, entry: MigrationCase, later: MigrationCase | None) -> None:
    """Record a migration's result for a case: a first result (a later migration's result
    ends the case's waits in other migrations), or what became of a waiting one (`later`)."""
    if later is not None:
        uow.migrations.settle(entry)
        return
    for waiting in uow.migrations.waiting(entry.case_id):
        if waiting.migration_id != entry.migration_id:
            uow.migrations.settle(ended(
                waiting, f"migration {entry.migration_id} took the case"))
    uow.migrations.add_case(entry)


def refused_entry(entry: MigrationCase, loop: str | None, running: Collection[str],
                  later: MigrationCase | None) -> MigrationCase | None:
    """The result of a refused case (None: a waiting case that waits on, as it was).

    A case refused only because of its loop's round waits; a case that waited and is refused
    now for another reason stays, saying whether its loop ended."""
    if loop is not None:
        waits = replace(entry, waits_for_round=loop, waiting=True)
        if later is not None and (later.reason, later.waits_for_round) == (
                waits.reason, waits.waits_for_round):
            return None
        return waits
    if later is None:
        return entry
    waited = later.waits_for_round
    how = "but the loop ended" if waited not in running else "but cannot move there either"
    return replace(entry, waits_for_round=waited, reason=(
        f"{entry.reason} (it waited for its next round of {waited!r}, {how}; it stays: "
        "migrate it again if need be)"))


def moved_entry(entry: MigrationCase, later: MigrationCase | None, workflow: Any,
                now: datetime) -> MigrationCase:
    """The result of a moved case; one that waited says when, and at which round."""
    if later is None:
        return entry
    return replace(entry, waits_for_round=later.waits_for_round, moved_at=now,
                   moved_at_round=round_now(workflow, later.waits_for_round))


def round_now(workflow: Any, loop: str | None) -> int | None:
    """The round of the loop the case is in (None: it is in none of its rounds)."""
    if loop is None or loop not in running_loops(workflow):
        return None
    numbers = [rounds.get("round") for each in workflows_of(workflow)
               if not each.is_completed()
               for task in each.get_tasks(state=TaskState.READY | TaskState.WAITING)
               for rounds in [task.data.get(loop)] if isinstance(rounds, dict)]
    return max((n for n in numbers if isinstance(n, int)), default=None)


def end_for_newer_version(uow: UnitOfWork, pathway: str, number: int) -> None:
    """A version published: the pathway's cases waiting to move to an older version (not to
    be put back) wait no more (in uow, uncommitted)."""
    for waiting in uow.migrations.waiting():
        migration = uow.migrations.get(waiting.migration_id)
        if migration is not None and migration.pathway == pathway \
                and migration.reverts is None and migration.to_version < number:
            uow.migrations.settle(ended(
                waiting, f"version {number} was published since; migrate it to that"))
