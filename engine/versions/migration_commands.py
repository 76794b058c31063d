"""Migration: move a pathway's running cases to another version, and put them back.

Handlers of the Engine facade. A migration is recorded in a unit of work of its own; then
each case is checked (engine.versions.migration), moved, saved and loaded again on the new version,
and run until it waits, in a transaction of its own, persisted by the runtime's template
(`CaseRuntime.persist`): a case that cannot move is left untouched and reported with the
reason, and the others go on. A case refused only because of the round of a loop it is in
waits for its next round and then moves by itself (engine.versions.round_waits records the
wait, engine.versions.round_moves moves it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from engine.errors import CaseStateError, ConflictError, InvalidArgumentError, NotFoundError
from engine.model import CaseRecord, Migration, MigrationCase, MigrationTally, NewEvent
from engine.ports import UnitOfWork
from engine.versions import round_waits
from engine.versions.migration import check_move, current_steps, move
from engine.versions.move_check import running_loops
from engine.versions.renames import Renames, check_renames, declared_renames
from engine.workflow import runner
from engine.workflow.case_runtime import CaseRuntime, CommandOutcome
from engine.workflow.clock import running_at
from engine.workflow.definitions import ParsedDefinition
from engine.workflow.state import (
    DONE_KEY,
    StateFormatError,
    compact,
    done_steps,
    dump_state,
    load_state,
)

log = logging.getLogger("engine.services")  # the log lines keep their logger's name

Progress = Callable[[int, int], None]  # (cases done, cases in all)
Started = Callable[[int], None]  # the id of the migration now recorded
PROGRESS_EVERY = 10  # a running migration records how far it has got every so many cases


@dataclass(frozen=True)
class MigrationResult:
    """What a migration did (or, in a dry run, would do) with one case."""

    case: int
    ok: bool
    reason: str | None
    from_step: str | None
    to_step: str | None


@dataclass(frozen=True)
class MigrationReport:
    migration: int | None  # None for a dry run: nothing was recorded
    pathway: str
    from_version: int
    to_version: int
    dry_run: bool
    cases: list[MigrationResult]
    reverts: int | None = None


@dataclass(frozen=True)
class _Plan:
    """One migration's settings, the same for each of its cases."""

    old: ParsedDefinition
    new: ParsedDefinition
    from_version: int
    to_version: int
    migration_id: int | None  # None: a dry run
    steps: frozenset[str]  # only cases now at one of these steps (empty: all)
    now: datetime
    actor: str | None
    dry_run: bool
    reverts: int | None = None  # the migration this one puts back
    renames: Renames | None = None  # steps renamed from old to new
    # the case's result, waiting for its loop's next round, when this moves it later
    # (engine.versions.round_moves)
    later: MigrationCase | None = None


class _Refused(Exception):
    """This case does not move, and why (reported, and recorded with the migration)."""

    def __init__(self, reason: str | None, from_step: str | None = None,
                 loop: str | None = None, running: frozenset[str] = frozenset()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.from_step = from_step
        self.loop = loop  # the loop whose next round the case waits for (only its round)
        self.running = running  # the loops a round of which the case is in


# -- migrate -----------------------------------------------------------------------------


def migrate(rt: CaseRuntime, pathway: str, from_version: int, to_version: int, *,
            dry_run: bool, steps: Sequence[str], case_ids: Sequence[int],
            actor: str | None, progress: Progress | None,
            started: Started | None = None,
            renames: Mapping[str, str] | None = None) -> MigrationReport:
    """Move the pathway's active cases from one version to another, each case safely
    (see Engine.migrate)."""
    if from_version == to_version:
        raise InvalidArgumentError(f"--from and --to are both version {from_version}",
                                   details={"from": from_version, "to": to_version})
    now = rt.clock.now()
    explicit = dict(renames or {})
    with rt.uow() as uow:
        old = rt.parsed(uow, pathway, from_version)
        new = rt.parsed(uow, pathway, to_version)
        check_renames(old, new, explicit, (f"version {from_version}", f"version {to_version}"))
        candidates, results, recordable = _chosen_cases(uow, pathway, from_version, case_ids)
        migration_id = None if dry_run else _record_migration(uow, Migration(
            id=None, pathway=pathway, from_version=from_version, to_version=to_version,
            created_at=now, actor=actor, planned=len(candidates),
            filter={"steps": list(steps), "cases": list(case_ids),
                    **({"renames": explicit} if explicit else {})}), recordable)
    if migration_id is not None and started is not None:
        started(migration_id)
    plan = _Plan(old, new, from_version, to_version, migration_id, frozenset(steps), now,
                 actor, dry_run, renames=Renames(old, new, explicit))
    results += _run(rt, plan, [(case_id, None) for case_id in candidates], progress)
    if migration_id is not None:
        _finish(rt, migration_id, len(candidates))
    return MigrationReport(migration_id, pathway, from_version, to_version, dry_run, results)


def _chosen_cases(uow: UnitOfWork, pathway: str, version: int, case_ids: Sequence[int]
                  ) -> tuple[list[int], list[MigrationResult], list[MigrationResult]]:
    """The cases to try; the requested ones that cannot move, reported; and those of them
    that exist, to record with the migration."""
    candidates = [c.id for c in uow.cases.list(pathway=pathway, status="active",
                                               version=version) if c.id is not None]
    if not case_ids:
        return candidates, [], []
    wanted = list(dict.fromkeys(case_ids))
    unmovable = _unmovable(uow, wanted, set(candidates), pathway, version)
    return ([c for c in wanted if c in set(candidates)], [r for r, _ in unmovable],
            [r for r, exists in unmovable if exists])


def _unmovable(uow: UnitOfWork, wanted: Sequence[int], movable: set[int], pathway: str,
               version: int) -> list[tuple[MigrationResult, bool]]:
    """Results for requested cases that are not active cases of that version, each with
    whether the case exists."""
    results = []
    for case_id in wanted:
        if case_id in movable:
            continue
        record = uow.cases.get(case_id, with_state=False)
        if record is None:
            reason = f"no case {case_id}"
        elif record.pathway != pathway:
            reason = f"case {case_id} is a case of {record.pathway}, not {pathway}"
        elif record.version != version:
            reason = f"case {case_id} is on version {record.version}, not {version}"
        else:
            reason = f"case {case_id} is {record.status}; only active cases move"
        results.append((MigrationResult(case_id, False, reason, None, None),
                        record is not None))
    return results


def _record_migration(uow: UnitOfWork, migration: Migration,
                      refused: Sequence[MigrationResult]) -> int:
    """Record the migration, with the requested cases refused up front (a case id that
    does not exist is only reported); commits."""
    added = uow.migrations.add(migration)
    assert added.id is not None
    for result in refused:
        uow.migrations.add_case(MigrationCase(added.id, result.case, False, result.reason))
    uow.commit()
    return added.id


def _run(rt: CaseRuntime, plan: _Plan, cases: Sequence[tuple[int, MigrationCase | None]],
         progress: Progress | None) -> list[MigrationResult]:
    """Migrate each case in turn (with what to restore it to, for a revert)."""
    results = []
    for done, (case_id, restore) in enumerate(cases, start=1):
        result = _migrate_or_report(rt, plan, case_id, restore)
        if result is not None:
            results.append(result)
        if plan.migration_id is not None and done % PROGRESS_EVERY == 0:
            _progress(rt, plan.migration_id, done)
        if progress is not None:
            progress(done, len(cases))
    return results


def _progress(rt: CaseRuntime, migration_id: int, checked: int) -> None:
    with rt.uow() as uow:
        uow.migrations.progress(migration_id, checked, rt.clock.now())
        uow.commit()


def _finish(rt: CaseRuntime, migration_id: int, checked: int) -> None:
    with rt.uow() as uow:
        uow.migrations.progress(migration_id, checked, rt.clock.now())
        uow.migrations.finish(migration_id, rt.clock.now())
        uow.commit()


# -- one case ----------------------------------------------------------------------------


def _migrate_or_report(rt: CaseRuntime, plan: _Plan, case_id: int,
                       restore: MigrationCase | None) -> MigrationResult | None:
    """Run one case's migration; a case someone changed meanwhile is reported, not lost."""
    try:
        return _migrate_case(rt, plan, case_id, restore)
    except ConflictError:
        result = MigrationResult(case_id, False, f"case {case_id} changed while it was being "
                                 "migrated; run the migration again for it", None, None)
        with rt.uow() as uow:
            return _record_refusal(uow, plan, result)


def _migrate_case(rt: CaseRuntime, plan: _Plan, case_id: int,
                  restore: MigrationCase | None) -> MigrationResult | None:
    """Check, move and save one case in one transaction (None: filtered out by steps)."""
    with rt.uow() as uow:
        try:
            moved = _move_case(rt, uow, plan, case_id, restore)
        except _Refused as refused:
            return _record_refusal(uow, plan, MigrationResult(
                case_id, False, refused.reason, refused.from_step, None), refused)
        if moved is None:
            return None
        result, outcome = moved
    if outcome is not None:
        rt.after_commit(outcome)
    return result


def _move_case(rt: CaseRuntime, uow: UnitOfWork, plan: _Plan, case_id: int,
               restore: MigrationCase | None
               ) -> tuple[MigrationResult, CommandOutcome | None] | None:
    """Move the case and commit (no outcome: a dry run, nothing written); None: the case
    is not at one of the plan's steps. Raises _Refused."""
    record, workflow = _load_case(rt, uow, plan, case_id)
    here = current_steps(workflow)
    if plan.steps and not plan.steps.intersection(here):
        return None
    from_step = ", ".join(here) or None
    untouched = restore is not None and restore.after_revision == record.revision \
        and restore.before_state is not None
    if not untouched:
        _check(uow, plan, record, workflow, from_step)
    before_state = json.loads(json.dumps(record.state))
    expected = record.revision
    restoring = restore if untouched else None
    with running_at(plan.now):
        workflow, saved = _round_trip(rt, plan, workflow, case_id, from_step, restoring)
        before = runner.snapshot(workflow)
        error = runner.run_engine(workflow)
        if error is not None:
            raise _Refused(f"on version {plan.to_version} the case fails at step "
                           f"{error.get('step')!r}: {error.get('message')}", from_step)
        to_step = ", ".join(current_steps(workflow)) or (
            "(completed)" if workflow.is_completed() else None)
        result = MigrationResult(case_id, True, None, from_step, to_step)
        if plan.dry_run:
            return result, None
        kept = _state_to_put_back(workflow, saved, restoring)
        assert plan.migration_id is not None
        entry = round_waits.moved_entry(MigrationCase(
            plan.migration_id, case_id, True, None, from_step, to_step,
            before_state=before_state, before_revision=expected), plan.later, workflow,
            plan.now)
        outcome = _save_move(rt, uow, plan, record, workflow, before, (from_step, to_step),
                             untouched, kept, entry.moved_at_round)
    round_waits.record(uow, replace(entry, after_revision=record.revision), plan.later)
    if restore is not None and plan.reverts is not None:
        uow.migrations.mark_reverted(plan.reverts, case_id, plan.migration_id)
    uow.commit()
    return result, outcome


def _load_case(rt: CaseRuntime, uow: UnitOfWork, plan: _Plan, case_id: int
               ) -> tuple[CaseRecord, Any]:
    """The case and its workflow on the version it leaves, if it is still active there."""
    record = rt.case(uow, case_id)
    if record.version != plan.from_version or record.status != "active":
        raise _Refused(f"case {case_id} is {record.status} on version {record.version} now, "
                       f"not active on {plan.from_version}")
    try:
        workflow = load_state(record.state, plan.old, rt.script_engine, case_id=case_id)
    except StateFormatError as err:  # one damaged case: refused, the others go on
        raise _Refused(err.message) from err
    return record, workflow


def _check(uow: UnitOfWork, plan: _Plan, record: CaseRecord, workflow: Any,
           from_step: str | None) -> None:
    """Refuse a move engine.versions.migration finds unsafe."""
    done = _done_steps(uow, record, workflow)
    check = check_move(workflow, plan.old, plan.new, done,
                       version_label=f"version {plan.to_version}", renames=plan.renames)
    if not check.ok:
        raise _Refused(check.reason, from_step, check.next_round,
                       frozenset(running_loops(workflow)))


def _round_trip(rt: CaseRuntime, plan: _Plan, workflow: Any, case_id: int,
                from_step: str | None, restore: MigrationCase | None
                ) -> tuple[Any, dict[str, Any]]:
    """The workflow moved onto the new version (or its exact earlier state restored),
    saved and loaded again, and its state as saved: a case that would not survive that is
    refused."""
    try:
        if restore is not None:
            assert restore.before_state is not None
            workflow = load_state(restore.before_state, plan.new, rt.script_engine)
        else:
            move(workflow, plan.new, plan.renames)
        moved = dump_state(workflow)
        workflow = load_state(moved, plan.new, rt.script_engine)
        if dump_state(workflow) != moved:
            raise ValueError("the state read back differs from the state saved")
    except Exception as err:  # any failure means: do not move it
        log.info("case %s fails the round trip to %s v%s", case_id, plan.new.pathway,
                 plan.to_version, exc_info=True)
        cause = err.__cause__ if isinstance(err, StateFormatError) else None
        raise _Refused(f"the case would not survive saving and loading on version "
                       f"{plan.to_version}: {cause or err}", from_step) from err
    return workflow, moved


def _state_to_put_back(workflow: Any, saved: dict[str, Any], restore: MigrationCase | None
                       ) -> dict[str, Any] | None:
    """The state stored before the migration, to write back as it was, when the case
    restored from it (`saved`: its state once loaded) ran on without changing; None
    otherwise (not restored, or a timer came due since: write what the case is now).

    Saving the restored case again would give the same case but not the same state.
    SpiffWorkflow writes a task's data as a delta from its parent's, listing the `deletions`
    in the key order of the parent's data; loading rebuilds each task's data as its parent's
    followed by its own updates, so keys can come back in another order (a join's data after
    its branches ran) and the deletions be listed differently. Loading also orders the tasks
    parents first.
    """
    if restore is None or restore.before_state is None:
        return None
    compact(workflow)  # as persisting does: the stored state was compacted too
    return restore.before_state if dump_state(workflow) == saved else None


def _save_move(rt: CaseRuntime, uow: UnitOfWork, plan: _Plan, record: CaseRecord,
               workflow: Any, before: Any, steps: tuple[str | None, str | None],
               restored: bool, kept: dict[str, Any] | None,
               at_round: int | None) -> CommandOutcome:
    """Persist the moved case with its case_migrated (or migration_reverted) event (with
    `kept`, the state it had before the migration, written back as it was; a case that
    waited for its loop's next round says which round it moved at)."""
    assert plan.migration_id is not None
    from_step, to_step = steps
    kind = "migration_reverted" if plan.reverts is not None else "case_migrated"
    events = [NewEvent(type=kind, at=plan.now, actor=plan.actor, data={
        "migration": plan.migration_id, "from_version": plan.from_version,
        "to_version": plan.to_version, "from_step": from_step, "to_step": to_step,
        **({"reverts": plan.reverts, "restored": restored}
           if plan.reverts is not None else {}),
        **({"moved_at_round": at_round} if plan.later is not None else {})})]
    events += runner.describe_changes(workflow, plan.new, before, plan.now)
    expected = record.revision
    record.version = plan.to_version
    return rt.persist(uow, record, workflow, plan.new, events, None, plan.now,
                      expected_revision=expected, state=kept)


def _record_refusal(uow: UnitOfWork, plan: _Plan, result: MigrationResult,
                    refused: _Refused | None = None) -> MigrationResult:
    """Record a case that stays (one refused only because of its loop's round waits for
    the next: engine.versions.round_waits)."""
    loop = refused.loop if refused is not None else None
    result = replace(result, reason=round_waits.refusal_words(result.reason, loop,
                                                              dry_run=plan.dry_run))
    if plan.migration_id is not None:
        entry = round_waits.refused_entry(MigrationCase(
            plan.migration_id, result.case, False, result.reason, result.from_step), loop,
            refused.running if refused is not None else (), plan.later)
        if entry is not None:
            round_waits.record(uow, entry, plan.later)
            uow.commit()
    return result


def _done_steps(uow: UnitOfWork, record: CaseRecord, workflow: Any) -> dict[str, set[str]]:
    """Completed steps cut from the tree; for states saved before they were tracked,
    the steps the event log names stand in (they cover every step a person did)."""
    if DONE_KEY in record.state:
        return done_steps(workflow)
    assert record.id is not None
    named = {e.step for e in uow.events.list(record.id)
             if e.step and e.type in ("task_completed", "decision", "timer_fired",
                                      "outcome_recorded", "referral_made",
                                      "notification_requested")}
    return {workflow.spec.name: named}


# -- revert and read ---------------------------------------------------------------------


def revert_migration(rt: CaseRuntime, migration_id: int, *, actor: str | None,
                     progress: Progress | None,
                     started: Started | None = None) -> MigrationReport:
    """Put the cases a migration moved back on the version they came from (see
    Engine.revert_migration)."""
    now = rt.clock.now()
    with rt.uow() as uow:
        original, moved, waiting = _revertible(uow, migration_id)
        old = rt.parsed(uow, original.pathway, original.to_version)
        new = rt.parsed(uow, original.pathway, original.from_version)
        revert = uow.migrations.add(Migration(
            id=None, pathway=original.pathway, from_version=original.to_version,
            to_version=original.from_version, created_at=now, actor=actor,
            filter={"reverts": migration_id}, reverts=migration_id, planned=len(moved)))
        for entry in waiting:  # a case waiting for its loop's next round waits no more
            uow.migrations.settle(round_waits.ended(
                entry, f"migration {revert.id} put back this migration"))
        uow.commit()
    assert revert.id is not None
    if started is not None:
        started(revert.id)
    plan = _Plan(old, new, original.to_version, original.from_version, revert.id,
                 frozenset(), now, actor, dry_run=False, reverts=migration_id,
                 renames=_renamed_back(original, old, new))
    results = _run(rt, plan, [(entry.case_id, entry) for entry in moved], progress)
    _finish(rt, revert.id, len(moved))
    return MigrationReport(revert.id, original.pathway, original.to_version,
                           original.from_version, False, results, reverts=migration_id)


def _renamed_back(original: Migration, old: ParsedDefinition, new: ParsedDefinition
                  ) -> Renames:
    """The steps a migration renamed, named back (old: the version it moved cases to)."""
    forward = {**declared_renames(old), **dict((original.filter or {}).get("renames") or {})}
    return Renames(old, new, {after: before for before, after in forward.items()},
                   declared=False)


def _revertible(uow: UnitOfWork, migration_id: int
                ) -> tuple[Migration, list[MigrationCase], list[MigrationCase]]:
    """The migration, the cases it moved that were not put back since, and those waiting
    for their loop's next round to move."""
    original = uow.migrations.get(migration_id)
    if original is None:
        raise NotFoundError(f"no migration {migration_id}",
                            details={"migration": migration_id})
    if original.reverts is not None:
        raise InvalidArgumentError(
            f"migration {migration_id} is itself a revert (of migration "
            f"{original.reverts}); migrate again instead", details={"migration": migration_id})
    results = uow.migrations.cases(migration_id)
    moved = [c for c in results if c.ok and c.reverted_by is None]
    waiting = [c for c in results if c.waiting]
    if not moved and not waiting:
        raise CaseStateError(f"migration {migration_id} has no moved case left to put "
                             "back", details={"migration": migration_id})
    return original, moved, waiting


def migrations(rt: CaseRuntime, pathway: str | None) -> list[Migration]:
    with rt.uow(read_only=True) as uow:
        return uow.migrations.list(pathway)


def tallies(rt: CaseRuntime, pathway: str) -> dict[int, MigrationTally]:
    with rt.uow(read_only=True) as uow:
        return uow.migrations.tallies(pathway)


def migration(rt: CaseRuntime, migration_id: int) -> tuple[Migration, list[MigrationCase]]:
    with rt.uow(read_only=True) as uow:
        found = uow.migrations.get(migration_id)
        if found is None:
            raise NotFoundError(f"no migration {migration_id}",
                                details={"migration": migration_id})
        return found, uow.migrations.cases(migration_id)
