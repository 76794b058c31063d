"""Versions of a pathway: publish, list, read, diff, and the allocation of new cases.

Handlers of the Engine facade, each one unit of work on a CaseRuntime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import DefinitionError, NotFoundError
from engine.model import AllocationPolicy, Bundle, DefinitionDraft, PathwayVersion
from engine.ports import UnitOfWork
from engine.versions.allocation import check_policy, new_seed
from engine.workflow.case_runtime import CaseRuntime

if TYPE_CHECKING:  # SpiffWorkflow loads with the first definition a command parses
    from engine.versions.migration import VersionDiff
    from engine.workflow.definitions import ParsedDefinition


@dataclass(frozen=True)
class PublishResult:
    pathway: str
    version: int
    hash: str
    changed: bool


@dataclass(frozen=True)
class VersionSummary:
    version: PathwayVersion
    cases: int  # cases (of any status) that run on this version


def publish(rt: CaseRuntime, files: Mapping[str, str], main_file: str, *, note: str,
            author: str, unless_published: bool) -> PublishResult:
    """Publish a bundle as the pathway's next version; identical content changes nothing
    (see Engine.publish)."""
    from engine.versions import round_waits
    from engine.workflow.validation import publishable

    with rt.uow() as uow:
        bundle_files = _with_called_processes(uow, dict(files), main_file)
        parsed = publishable(bundle_files, main_file)
        latest = uow.versions.latest(parsed.pathway)
        if latest is not None and latest.bundle_hash == parsed.hash:
            return PublishResult(parsed.pathway, latest.number, parsed.hash, False)
        if unless_published:
            for earlier in uow.versions.list(parsed.pathway):
                if earlier.bundle_hash == parsed.hash:
                    return PublishResult(parsed.pathway, earlier.number, parsed.hash, False)
        uow.versions.add_bundle(Bundle(parsed.hash, bundle_files))
        version = uow.versions.add(PathwayVersion(
            pathway=parsed.pathway, number=(latest.number + 1) if latest else 1,
            bundle_hash=parsed.hash, main_file=main_file, note=note, author=author,
            published_at=rt.clock.now(), start_messages=parsed.start_messages,
            processes=parsed.processes))
        round_waits.end_for_newer_version(uow, parsed.pathway, version.number)
        uow.commit()
    return PublishResult(parsed.pathway, version.number, parsed.hash, True)


def _with_called_processes(uow: UnitOfWork, files: dict[str, str],
                           main_file: str) -> dict[str, str]:
    """Add the published BPMN of processes the bundle calls but does not contain."""
    from engine.workflow.definitions import called_elements

    defined: set[str] = set()
    called: set[str] = set()
    for name, text in files.items():
        if name.endswith(".bpmn"):
            has, calls = called_elements(text, name)
            defined |= has
            called |= calls
    for process in sorted(called - defined):
        version = uow.versions.latest(process)
        bundle = uow.versions.bundle(version.bundle_hash) if version else None
        if bundle is None:
            continue  # parse_bundle reports the unknown process with its location
        for name, text in bundle.files.items():
            files.setdefault(name, text)
    return files


def versions(rt: CaseRuntime, pathway: str | None) -> list[PathwayVersion]:
    with rt.uow(read_only=True) as uow:
        return uow.versions.list(pathway)


def definitions(rt: CaseRuntime) -> list[PathwayVersion]:
    with rt.uow(read_only=True) as uow:
        return uow.versions.latest_all()


@dataclass(frozen=True)
class LoadedDefinitions:
    """What load_definitions parsed, and the versions that would not parse (pathway,
    number): in the order loaded."""

    loaded: tuple[tuple[str, int], ...]
    failed: tuple[tuple[str, int], ...]


def load_definitions(rt: CaseRuntime, limit: int | None = None) -> LoadedDefinitions:
    """Parse the published versions into the runtime's cache before any request asks: the
    latest version of every pathway (by pathway), then the older ones newest first, at most
    `limit` (default: what the cache holds; more would push the first ones out). A server
    does this as it starts, so no user's page waits for a parse (the inbox and the dashboard
    need every pathway's). A version that does not parse is named, not raised: it fails
    where it is used, as it would have."""
    capacity = rt.definition_capacity if limit is None else min(limit, rt.definition_capacity)
    with rt.uow(read_only=True) as uow:
        everything = uow.versions.list()  # by pathway, then number: the last is the latest
        latest = {v.pathway: v for v in everything}
        rest = sorted((v for v in everything if latest[v.pathway] is not v),
                      key=lambda v: (-v.number, v.pathway))
        loaded: list[tuple[str, int]] = []
        failed: list[tuple[str, int]] = []
        for version in [*latest.values(), *rest][:capacity]:
            try:
                rt.parsed_version(uow, version)
            except (DefinitionError, NotFoundError):
                failed.append((version.pathway, version.number))
            else:
                loaded.append((version.pathway, version.number))
    return LoadedDefinitions(tuple(loaded), tuple(failed))


def _not_published(pathway: str) -> NotFoundError:
    return NotFoundError(f"pathway {pathway!r} is not published", details={"pathway": pathway})


@dataclass(frozen=True)
class StepLoad:
    """What is at one step of a version now: the diagram's counts."""

    waiting: int = 0  # open tasks at the step
    overdue: int = 0  # of those, due before now
    in_error: tuple[int, ...] = ()  # the cases that stopped with an error at the step


def step_load(rt: CaseRuntime, pathway: str, number: int) -> dict[str, StepLoad]:
    """Per step of the version: its open tasks, how many are overdue, and the cases that
    stopped there with an error (an error with no step is under "")."""
    with rt.uow(read_only=True) as uow:
        if uow.versions.get(pathway, number) is None:
            raise NotFoundError(f"{pathway!r} has no version {number}",
                                details={"pathway": pathway, "version": number})
        tasks = uow.inbox.open_by_step(pathway, number, rt.clock.now())
        failed = uow.cases.list(pathway=pathway, status="error", version=number)
    errors: dict[str, list[int]] = {}
    for case in failed:
        errors.setdefault(str((case.error or {}).get("step") or ""), []).append(case.id or 0)
    return {step: StepLoad(*tasks.get(step, (0, 0)), tuple(sorted(errors.get(step, ()))))
            for step in sorted({*tasks, *errors})}


def save_definition_draft(rt: CaseRuntime, username: str, pathway: str, source: str,
                          based_on: int | None) -> DefinitionDraft:
    """Keep what a designer is writing, unpublished (one draft per designer and pathway)."""
    draft = DefinitionDraft(username, pathway, source, based_on, rt.clock.now())
    with rt.uow() as uow:
        uow.definition_drafts.save(draft)
        uow.commit()
    return draft


def definition_draft(rt: CaseRuntime, username: str, pathway: str) -> DefinitionDraft | None:
    with rt.uow(read_only=True) as uow:
        return uow.definition_drafts.get(username, pathway)


def discard_definition_draft(rt: CaseRuntime, username: str, pathway: str) -> None:
    with rt.uow() as uow:
        uow.definition_drafts.delete(username, pathway)
        uow.commit()


def version_summaries(rt: CaseRuntime, pathway: str) -> list[VersionSummary]:
    """Every version of a pathway with how many cases run on it, oldest first."""
    with rt.uow(read_only=True) as uow:
        found = uow.versions.list(pathway)
        if not found:
            raise _not_published(pathway)
        counts = uow.cases.count_by_version(pathway)
    return [VersionSummary(v, counts.get(v.number, 0)) for v in found]


def definition(rt: CaseRuntime, pathway: str, number: int, *, uow: UnitOfWork | None
               ) -> ParsedDefinition:
    """The parsed definition of a published version (cached), read through uow when given
    (else in a unit of work of its own)."""
    if uow is not None:
        return rt.parsed(uow, pathway, number)
    with rt.uow(read_only=True) as own:
        return rt.parsed(own, pathway, number)


def diff(rt: CaseRuntime, pathway: str, old: int, new: int) -> VersionDiff:
    """The steps added, removed and changed from version old to version new."""
    from engine.versions.migration import diff_versions

    with rt.uow(read_only=True) as uow:
        return diff_versions(rt.parsed(uow, pathway, old), rt.parsed(uow, pathway, new))


def set_allocation(rt: CaseRuntime, pathway: str, kind: str, *, version: int | None,
                   weights: Mapping[int, int] | None, seed: str | None,
                   actor: str | None) -> AllocationPolicy:
    """Set which version the pathway's new cases get; the policy is kept with its history.
    A split without a seed gets a random one, recorded so the split can be recomputed."""
    chosen = dict(weights or {})
    with rt.uow() as uow:
        published = [v.number for v in uow.versions.list(pathway)]
        if not published:
            raise _not_published(pathway)
        check_policy(kind, version, chosen, published)
        policy = uow.allocations.set(AllocationPolicy(
            pathway=pathway, kind=kind, version=version if kind == "fixed" else None,
            weights=chosen if kind == "split" else {},
            seed=(seed or new_seed()) if kind == "split" else None,
            set_at=rt.clock.now(), set_by=actor))
        uow.commit()
    return policy


def allocation(rt: CaseRuntime, pathway: str) -> AllocationPolicy:
    """The pathway's policy in force (the latest version when none was ever set)."""
    with rt.uow(read_only=True) as uow:
        if uow.versions.latest(pathway) is None:
            raise _not_published(pathway)
        return uow.allocations.current(pathway) or AllocationPolicy(pathway, "latest")
