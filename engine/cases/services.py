"""The engine's entry point: `Engine`, a thin facade over the command handlers.

Every method is one line handing over to a handler grouped by feature: cases
(engine.cases.case_commands, engine.cases.case_queries), clients (engine.cases.client_commands),
messages and signals (engine.cases.message_commands), versions and allocation
(engine.versions.version_commands) and migration (engine.versions.migration_commands). Each handler
runs on the `CaseRuntime` the Engine is: one unit of work per command, in the one transaction
template (engine.workflow.case_runtime: load, act, persist events, inbox rows, timers and messages,
commit).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from engine.cases import case_queries
from engine.lazy import LazyModule
from engine.model import (
    AllocationPolicy,
    CaseRecord,
    Client,
    DefinitionDraft,
    Event,
    Migration,
    MigrationCase,
    MigrationTally,
    PathwayVersion,
)
from engine.ports import UnitOfWork
from engine.summary_ports import DashboardSummaries
from engine.versions import version_commands
from engine.versions.version_commands import PublishResult, VersionSummary
from engine.workflow.case_runtime import (
    CaseRuntime,
    CaseView,
    CompletionResult,
    TaskView,
    outcome_of,
    tell,
)
from engine.workflow.live_cases import LiveWorkflowCache

# The handlers that run cases (and SpiffWorkflow with them) load when first called
# (engine.lazy): a command that only reads storage starts without them.
if TYPE_CHECKING:
    from engine.cases import adhoc_commands, case_commands, client_commands, message_commands
    from engine.versions import migration_commands, round_moves
    from engine.versions.migration import VersionDiff
    from engine.versions.migration_commands import (
        MigrationReport,
        MigrationResult,
        Progress,
        Started,
    )
    from engine.workflow.definitions import ParsedDefinition
else:
    adhoc_commands = LazyModule(lambda: importlib.import_module("engine.cases.adhoc_commands"))
    case_commands = LazyModule(lambda: importlib.import_module("engine.cases.case_commands"))
    client_commands = LazyModule(lambda: importlib.import_module("engine.cases.client_commands"))
    message_commands = LazyModule(
        lambda: importlib.import_module("engine.cases.message_commands"))
    migration_commands = LazyModule(
        lambda: importlib.import_module("engine.versions.migration_commands"))
    round_moves = LazyModule(lambda: importlib.import_module("engine.versions.round_moves"))


def __getattr__(name: str) -> Any:
    """MigrationReport, MigrationResult and Progress, from their module when first asked."""
    if name in ("MigrationReport", "MigrationResult", "Progress"):
        from engine.versions import migration_commands as module

        return getattr(module, name)
    raise AttributeError(f"module 'engine.cases.services' has no attribute {name!r}")


T = TypeVar("T")
P = ParamSpec("P")

__all__ = ["CaseView", "CompletionResult", "Engine", "LiveWorkflowCache", "MigrationReport",
           "MigrationResult", "Progress", "PublishResult", "TaskView", "VersionSummary"]


def observed(kind: str) -> Callable[[Callable[Concatenate[Engine, P], T]],
                                     Callable[Concatenate[Engine, P], T]]:
    """A command of the facade: its observer is told its kind, outcome and duration."""

    def decorate(method: Callable[Concatenate[Engine, P], T]
                 ) -> Callable[Concatenate[Engine, P], T]:
        def run(engine: Engine, /, *args: P.args, **kwargs: P.kwargs) -> T:
            started = time.perf_counter()
            try:
                result = method(engine, *args, **kwargs)
            except Exception as err:
                tell(engine.observer.command_done, kind, outcome_of(err),
                     time.perf_counter() - started)
                raise
            tell(engine.observer.command_done, kind, "ok", time.perf_counter() - started)
            return result

        update_wrapper(run, method)  # its name and docstring
        return run

    return decorate


class Engine(CaseRuntime):
    """The application's entry point for everything that runs or reads cases."""

    # -- definitions ---------------------------------------------------------------------

    @observed("publish")
    def publish(self, files: Mapping[str, str], main_file: str, *, note: str = "",
                author: str = "", unless_published: bool = False) -> PublishResult:
        """Publish a bundle as the pathway's next version; identical content changes nothing.

        "Identical" means the same as the latest version, or with unless_published the same
        as any earlier version (so replaying a pathway's history publishes nothing twice).
        A model that could not run is refused first (engine.workflow.validation: XSD, semantic
        rules,
        a dry run), with a DefinitionError naming the file, line, column and element.
        """
        return version_commands.publish(self, files, main_file, note=note, author=author,
                                        unless_published=unless_published)

    def versions(self, pathway: str | None = None) -> list[PathwayVersion]:
        return version_commands.versions(self, pathway)

    def definitions(self) -> list[PathwayVersion]:
        return version_commands.definitions(self)

    def load_definitions(self, limit: int | None = None) -> version_commands.LoadedDefinitions:
        """Parse the published versions before any request needs them (a server starting):
        the latest of every pathway first, at most what the cache holds (or limit)."""
        return version_commands.load_definitions(self, limit)

    def version_summaries(self, pathway: str) -> list[VersionSummary]:
        """Every version of a pathway with how many cases run on it, oldest first."""
        return version_commands.version_summaries(self, pathway)

    def save_definition_draft(self, username: str, pathway: str, source: str,
                              based_on: int | None) -> DefinitionDraft:
        """Keep a designer's unpublished text of a pathway ("" for a new one), started from
        version based_on; one per designer and pathway."""
        return version_commands.save_definition_draft(self, username, pathway, source,
                                                      based_on)

    def definition_draft(self, username: str, pathway: str) -> DefinitionDraft | None:
        return version_commands.definition_draft(self, username, pathway)

    def discard_definition_draft(self, username: str, pathway: str) -> None:
        version_commands.discard_definition_draft(self, username, pathway)

    def step_load(self, pathway: str, number: int) -> dict[str, version_commands.StepLoad]:
        """Per step of a version, what is there now: open tasks, overdue ones, cases in
        error (a diagram's counts)."""
        return version_commands.step_load(self, pathway, number)

    def definition(self, pathway: str, number: int, *, uow: UnitOfWork | None = None
                   ) -> ParsedDefinition:
        """The parsed definition of a published version (cached): forms, roles, steps.
        Reads through uow when given (else in a unit of work of its own)."""
        return version_commands.definition(self, pathway, number, uow=uow)

    def diff(self, pathway: str, old: int, new: int) -> VersionDiff:
        """The steps added, removed and changed from version old to version new."""
        return version_commands.diff(self, pathway, old, new)

    # -- allocation ----------------------------------------------------------------------

    @observed("set_allocation")
    def set_allocation(self, pathway: str, kind: str, *, version: int | None = None,
                       weights: Mapping[int, int] | None = None, seed: str | None = None,
                       actor: str | None = None) -> AllocationPolicy:
        """Set which version the pathway's new cases get; the policy is kept with its history.

        A split without a seed gets a random one, recorded so the split can be recomputed.
        """
        return version_commands.set_allocation(self, pathway, kind, version=version,
                                               weights=weights, seed=seed, actor=actor)

    def allocation(self, pathway: str) -> AllocationPolicy:
        """The pathway's policy in force (the latest version when none was ever set)."""
        return version_commands.allocation(self, pathway)

    # -- clients -------------------------------------------------------------------------

    @observed("add_client")
    def add_client(self, name: str, fields: Mapping[str, Any] | None = None) -> Client:
        """Register a client. The name and fields must be storable text (engine.text), and
        each field a pathway declares must fit its declared type (FormValidationError)."""
        return client_commands.add_client(self, name, fields)

    def get_client(self, client_id: int) -> Client:
        return client_commands.get_client(self, client_id)

    def clients(self) -> list[Client]:
        return client_commands.clients(self)

    # -- commands ------------------------------------------------------------------------

    @observed("start_case")
    def start_case(self, pathway: str, client_id: int, *, version: int | None = None,
                   actor: str | None = None) -> CaseView:
        return case_commands.start_case(self, pathway, client_id, version=version, actor=actor)

    @observed("complete_task")
    def complete_task(self, task_id: str, data: Mapping[str, Any], *,
                      actor: str | None = None, guard: case_commands.TaskGuard | None = None,
                      finish: case_commands.TaskFinish | None = None) -> CompletionResult:
        """Complete a ready human task with form data (validated first; invalid saves nothing).

        `guard` runs first in the completion's transaction: a caller's checks (raising
        refuses the completion) and writes that go with it; it returns the task's case (its
        id, or its record as read without state in this transaction).
        `finish` runs once the case is written, before the commit, given the case."""
        return case_commands.complete_task(self, task_id, data, actor=actor, guard=guard,
                                           finish=finish)

    @observed("fire_due_timers")
    def fire_due_timers(self, now: datetime | None = None) -> int:
        """Fire every timer due at `now` (default: the clock). Returns how many fired.

        Each case is claimed in the transaction that fires it, the longest-due first, so
        several workers on one PostgreSQL database fire disjoint cases; a case another
        process holds (conflict) is left for the next round rather than retried here. A case
        whose timer cannot be fired for any other reason is put in error with the reason
        (see CaseRuntime.record_failure) and the others go on.
        """
        return case_commands.fire_due_timers(self, now)

    def due_timers(self, now: datetime | None = None) -> tuple[int, datetime | None]:
        """How many active cases have a timer due (at `now`, default the clock) and the
        earliest due time among them: the worker's backlog."""
        with self.uow(read_only=True) as uow:
            return uow.timers.due_count(now or self.clock.now())

    @observed("retry_case")
    def retry_case(self, case_id: int, *, version: int | None = None,
                   actor: str | None = None, data: Mapping[str, Any] | None = None) -> CaseView:
        """Run a case's failed step again, on a fixed version of its pathway if given.

        `data` fixes what the step lacked before it runs again: names set on the failed step's
        data, and under "client" the client's fields (checked against their declared types and
        saved on the client's record, as a form's `save_to` would). The client's current
        fields are always read again, so a date added to the record since is seen. A step
        that fails again puts the case back in error with the new reason; a timer is
        scheduled again from its re-evaluated date.
        """
        return case_commands.retry_case(self, case_id, version=version, actor=actor, data=data)

    @observed("cancel_case")
    def cancel_case(self, case_id: int, *, actor: str | None = None,
                    reason: str = "") -> CaseView:
        return case_commands.cancel_case(self, case_id, actor=actor, reason=reason)

    @observed("finish_adhoc")
    def finish_adhoc(self, case_id: int, step: str, *, actor: str | None = None) -> CaseView:
        """The caseworker ends the case's open ad-hoc subprocess at `step` (BPMN 2.0.2
        §10.3.5): its offered activities are withdrawn and the case goes on after it.
        NotFoundError if none is open there; CaseStateError while an activity inside runs."""
        return adhoc_commands.finish_adhoc(self, case_id, step, actor=actor)

    # -- migration -----------------------------------------------------------------------

    @observed("migrate")
    def migrate(self, pathway: str, from_version: int, to_version: int, *,
                dry_run: bool = False, steps: Sequence[str] = (),
                case_ids: Sequence[int] = (), actor: str | None = None,
                progress: Progress | None = None,
                started: Started | None = None,
                renames: Mapping[str, str] | None = None) -> MigrationReport:
        """Move the pathway's active cases from one version to another, each case safely.

        Each case is checked (engine.versions.migration), moved, saved and loaded again on the new
        version, and run until it waits, all in its own transaction: a case that cannot move
        is left untouched and reported with the reason. `steps` keeps only cases now at one
        of those steps; `case_ids` only those cases. A dry run writes nothing. `started` is
        told the migration's id once it is recorded (a page can then follow its progress,
        which is recorded on it as it runs). `renames` maps a step id of the old version to
        its id in the new one (besides those the new version declares with renamed_from).
        """
        return migration_commands.migrate(self, pathway, from_version, to_version,
                                          dry_run=dry_run, steps=steps, case_ids=case_ids,
                                          actor=actor, progress=progress, started=started,
                                          renames=renames)

    @observed("revert_migration")
    def revert_migration(self, migration_id: int, *, actor: str | None = None,
                         progress: Progress | None = None,
                         started: Started | None = None) -> MigrationReport:
        """Put the cases a migration moved back on the version they came from.

        A case nobody has touched since gets its exact earlier state back. One that moved on
        is migrated back by the same rules as any migration, or refused with the reason.
        """
        return migration_commands.revert_migration(self, migration_id, actor=actor,
                                                   progress=progress, started=started)

    def migrations(self, pathway: str | None = None) -> list[Migration]:
        return migration_commands.migrations(self, pathway)

    def migration(self, migration_id: int) -> tuple[Migration, list[MigrationCase]]:
        return migration_commands.migration(self, migration_id)

    def migration_tallies(self, pathway: str) -> dict[int, MigrationTally]:
        """Per migration of the pathway: cases moved, stayed, and whether any was put back."""
        return migration_commands.tallies(self, pathway)

    # -- messages ------------------------------------------------------------------------

    @observed("deliver_messages")
    def deliver_messages(self, client_id: int | None = None) -> int:
        """Deliver waiting messages to the cases they are for. Returns how many went."""
        return self.route_messages(client_id)

    @observed("move_waiting_cases")
    def move_waiting_cases(self) -> int:
        """Move every case that waits for its loop's next round to move to a migration's
        version and now can (the worker's sweep, for a case whose own command could not);
        returns how many moved."""
        return self.move_waiting(None)

    def move_waiting(self, case_id: int | None) -> int:
        """(CaseRuntime's hook after every command: engine.versions.round_moves.)"""
        return round_moves.move_waiting(self, case_id)

    def route_messages(self, client_id: int | None) -> int:
        """Offer each pending message to the cases waiting for it, once per call (also
        after every command that sent messages or now waits for some)."""
        return message_commands.route_messages(self, client_id)

    # -- queries -------------------------------------------------------------------------

    def get_case(self, case_id: int) -> CaseView:
        return case_queries.get_case(self, case_id)

    def list_cases(self, *, pathway: str | None = None, status: str | None = None,
                   client_id: int | None = None) -> list[CaseRecord]:
        return case_queries.list_cases(self, pathway=pathway, status=status,
                                       client_id=client_id)

    def list_tasks(self, *, case_id: int | None = None, role: str | None = None,
                   pathway: str | None = None) -> list[TaskView]:
        """Open tasks with their forms. A task whose version cannot be loaded is listed with
        no form and its problem, so one broken version does not hide every other task."""
        return case_queries.list_tasks(self, case_id=case_id, role=role, pathway=pathway)

    def events(self, case_id: int) -> list[Event]:
        return case_queries.events(self, case_id)

    def data_revision(self) -> int:
        """Changes whenever a commit changes data: what computed figures are cached by."""
        return case_queries.data_revision(self)

    def summarised(self, read: Callable[[DashboardSummaries], T]) -> T:
        """What `read` takes from the dashboard's summaries, in one read-only unit of work
        (the figures never read every event, and count cases in groups where they can)."""
        with self._uow(read_only=True) as uow:
            return read(uow.summaries)

    def streamed(self, read: Callable[[case_queries.CaseStream], T]) -> T:
        """What `read` takes from every case (and its events) streamed in batches, in one
        read-only unit of work: an export writes them as they come, in constant memory."""
        with self._uow(read_only=True) as uow:
            return read(case_queries.CaseStream(uow))

    def cases_and_events(self, pathway: str) -> tuple[list[CaseRecord], list[Event]]:
        """The pathway's cases and all their events, read together in two statements
        (figures over every case; never one read per case)."""
        return case_queries.cases_and_events(self, pathway)
