"""Moving a case that waits for its loop's next round (engine.versions.round_waits records
the wait): after every command that ran the case, and in the worker's sweep, the move is
tried again by the migration's own rules and settings (the same move check, saved and loaded
again on the new version, the same case_migrated event naming the migration).

A try that the case's round still refuses leaves it waiting (with the newest reason); one
refused for another reason ends the wait, saying so; a case another process holds is left
for the next try. Nothing here undoes the command that ran the case: a failed try is
logged.
"""

from __future__ import annotations

import logging

from engine.errors import ConflictError
from engine.model import Migration, MigrationCase
from engine.versions import round_waits
from engine.versions.migration_commands import _migrate_case, _Plan, _renamed_back
from engine.versions.renames import Renames
from engine.workflow.case_runtime import CaseRuntime

log = logging.getLogger("engine.services")

# statuses a case may leave only to come back to "active" on the same version: it waits on
_MAY_COME_BACK = frozenset({"error"})


def move_waiting(rt: CaseRuntime, case_id: int | None) -> int:
    """Try to move each case waiting for its loop's next round (of one case, or all);
    returns how many moved. Never raises: a failed try is logged and tried again later."""
    with rt.uow(read_only=True) as uow:
        waiting = uow.migrations.waiting(case_id)
    moved = 0
    for entry in waiting:
        try:
            moved += _try(rt, entry)
        except ConflictError as err:  # the case (or its result) changed meanwhile
            log.info("case %s: its move of migration %s is left for later: %s",
                     entry.case_id, entry.migration_id, err)
        except Exception:
            log.exception("case %s: its move of migration %s failed; it is tried again later",
                          entry.case_id, entry.migration_id)
    return moved


def _try(rt: CaseRuntime, entry: MigrationCase) -> bool:
    with rt.uow(read_only=True) as uow:
        migration = uow.migrations.get(entry.migration_id)
        record = rt.case(uow, entry.case_id, with_state=False)
    assert migration is not None and migration.id is not None
    if record.version == migration.from_version and record.status in _MAY_COME_BACK:
        return False
    if record.version != migration.from_version or record.status != "active":
        why = (f"the case is {record.status}" if record.status != "active"
               else f"the case is on version {record.version} now")
        with rt.uow() as uow:
            uow.migrations.settle(round_waits.ended(entry, why))
            uow.commit()
        return False
    plan, restore = _plan(rt, migration, entry)
    result = _migrate_case(rt, plan, entry.case_id, restore)
    return result is not None and result.ok


def _plan(rt: CaseRuntime, migration: Migration, entry: MigrationCase
          ) -> tuple[_Plan, MigrationCase | None]:
    """The migration's plan, now, for its waiting case (and for a revert, the result of the
    migration it puts back, to mark the case put back)."""
    with rt.uow(read_only=True) as uow:
        old = rt.parsed(uow, migration.pathway, migration.from_version)
        new = rt.parsed(uow, migration.pathway, migration.to_version)
        original = uow.migrations.get(migration.reverts) if migration.reverts else None
        restore = next((c for c in uow.migrations.cases(migration.reverts)
                        if c.case_id == entry.case_id), None) if migration.reverts else None
    if original is not None:
        renames = _renamed_back(original, old, new)
    else:
        renames = Renames(old, new, dict((migration.filter or {}).get("renames") or {}))
    assert migration.id is not None
    plan = _Plan(old, new, migration.from_version, migration.to_version, migration.id,
                 frozenset(), rt.clock.now(), migration.actor, dry_run=False,
                 reverts=migration.reverts, renames=renames, later=entry)
    return plan, restore
