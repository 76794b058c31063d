"""Commands that write case data out: export xes, cases, events, tasks, notes, indigo."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml

from adapters.cli.common import Context, F, UsageProblem, cli, command, emit
from adapters.cli.outcomes import Day
from engine.access import Redactor, Sensitivity
from engine.errors import DefinitionError
from engine.model import CaseNote, CaseRecord, Event
from engine.workflow import ParsedDefinition, SystemClock

if TYPE_CHECKING:
    from engine.cases import CaseStream

# -- exports -------------------------------------------------------------------------------


@cli.group()
def export() -> None:
    """Export records for other tools: XES event log, CSV, INDIGO impact bond data."""


def _output_option(func: F) -> F:
    return click.option("-o", "--output", type=click.Path(path_type=Path),
                        help="Write to this file (UTF-8) instead of stdout.")(func)


def _deliver(ctx: Context, text: str, output: Path | None, fmt: str, records: int,
             left_out: list[dict[str, Any]]) -> None:
    """The export on stdout, or written to OUTPUT with a one-line report."""
    _write([text], output)
    _report(ctx, output, fmt, records, left_out)


def _write(chunks: Iterable[str], output: Path | None) -> None:
    """The export's text as it comes: on stdout, or into OUTPUT, through a temporary file
    beside it renamed over it when complete (never a half-written OUTPUT)."""
    if output is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def _report(ctx: Context, output: Path | None, fmt: str, records: int,
            left_out: list[dict[str, Any]]) -> None:
    """After the export: what was left out (versions whose definition cannot be loaded:
    _LeftOut) is always said, on stderr when the export itself is on stdout; written to
    OUTPUT, a one-line report with it."""
    if output is None:
        if left_out:
            click.echo(json.dumps({"left_out": left_out}, ensure_ascii=False)
                       if ctx.json_mode else _left_out_lines(left_out), err=True)
        return
    emit(ctx.json_mode, {"file": str(output), "format": fmt, "records": records,
                          "left_out": left_out},
          lambda: "\n".join([f"wrote {records} record(s) as {fmt} to {output}",
                             *([_left_out_lines(left_out)] if left_out else [])]))


def _left_out_lines(left_out: list[dict[str, Any]]) -> str:
    lines = []
    for item in left_out:
        what = [f"{item['cases']} case(s)"] if item.get("cases") else []
        if item.get("notes"):
            what.append(f"{item['notes']} note(s)")
        if item.get("pathway_described") is False:
            what.append("its pathway entry")
        lines.append(f"warning: left out {' and '.join(what) or 'nothing'} of "
                     f"{item['pathway']} v{item['version']}: {item['reason']}")
    return "\n".join(lines)


class _LeftOut:
    """The versions an export could not load, and what of each it left out.

    A redacted export cannot tell what such a version makes sensitive, so it leaves its
    cases (and their events and tasks) out; a full export keeps them. Either way nothing is
    dropped without being reported."""

    def __init__(self) -> None:
        self.reasons: dict[tuple[str, int], str] = {}
        self.cases: dict[tuple[str, int], int] = {}
        self.notes: dict[tuple[str, int], int] = {}  # notes about those cases (export notes)
        self.undescribed: set[tuple[str, int]] = set()

    def definition(self, engine: Any, pathway: str, number: int) -> ParsedDefinition | None:
        try:
            parsed: ParsedDefinition = engine.definition(pathway, number)
        except DefinitionError as err:
            self.reasons[(pathway, number)] = err.message
            return None
        return parsed

    def count_cases(self, found: Iterable[CaseRecord]) -> None:
        for case in found:
            key = (case.pathway, case.version)
            if key in self.reasons:
                self.cases[key] = self.cases.get(key, 0) + 1

    def count_note(self, case: tuple[str, int] | None) -> None:
        if case is not None and case in self.reasons:
            self.notes[case] = self.notes.get(case, 0) + 1

    def report(self) -> list[dict[str, Any]]:
        keys = sorted({*self.cases, *self.notes, *self.undescribed})
        return [{"pathway": p, "version": n, "cases": self.cases.get((p, n), 0),
                 "reason": self.reasons[(p, n)],
                 **({"notes": self.notes[(p, n)]} if (p, n) in self.notes else {}),
                 **({"pathway_described": False} if (p, n) in self.undescribed else {})}
                for p, n in keys]


def _events_by_case(ctx: Context, found: list[CaseRecord]) -> dict[int, list[Event]]:
    return {c.id: ctx.app.engine.events(c.id) for c in found if c.id is not None}


def _full_option(func: F) -> F:
    return click.option("--full/--redacted", default=False, help=(
        "--redacted (the default) leaves out what reveals health or offence data: cases "
        "of sensitive pathways, sensitive steps, referrals and fields; --full keeps "
        "everything."))(func)


def _redactor(ctx: Context, found: list[CaseRecord], full: bool, left_out: _LeftOut
              ) -> Redactor | None:
    """None for a full export; else a redactor that shows no sensitive category, and
    withholds the cases of versions whose definition cannot be loaded (noted in left_out)."""
    if full:
        return None
    redactor = _redactor_of(ctx, [(c.pathway, c.version) for c in found], left_out)
    left_out.count_cases(found)  # once the versions that cannot be loaded are known
    return redactor


def _redactor_of(ctx: Context, versions: Iterable[tuple[str, int]], left_out: _LeftOut
                 ) -> Redactor:
    """A redactor that knows what `versions` and the latest of every pathway make
    sensitive."""
    engine = ctx.app.engine
    wanted = dict.fromkeys([*versions, *((v.pathway, v.number) for v in engine.definitions())])
    loaded = {key: left_out.definition(engine, *key) for key in wanted}
    return Redactor(Sensitivity.of(
        ((p, n, d) for (p, n), d in loaded.items() if d is not None),
        unknown=[key for key, d in loaded.items() if d is None]), frozenset())


class _StepTitles(Mapping[tuple[str, int], Mapping[str, str]]):
    """(pathway, version) -> step titles, each version's read when first asked for; a
    version that cannot be loaded has none (its step ids stay the activity names)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.found: dict[tuple[str, int], Mapping[str, str] | None] = {}

    def __getitem__(self, key: tuple[str, int]) -> Mapping[str, str]:
        from engine.exports import step_titles

        if key not in self.found:
            try:
                parsed = self.ctx.app.engine.definition(*key)
            except DefinitionError:
                self.found[key] = None
            else:
                self.found[key] = step_titles(parsed.spec, parsed.subprocess_specs)
        titles = self.found[key]
        if titles is None:
            raise KeyError(key)
        return titles

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return (key for key, titles in self.found.items() if titles is not None)

    def __len__(self) -> int:
        return sum(titles is not None for titles in self.found.values())


class _Shown:
    """The cases (with their events) an export carries, as they stream by: redacted unless
    full, the cases of versions that cannot be loaded counted in left_out, events counted."""

    def __init__(self, ctx: Context, full: bool) -> None:
        self.left_out = _LeftOut()
        self.redactor = None if full else _redactor_of(
            ctx, [(v.pathway, v.number) for v in ctx.app.engine.versions()], self.left_out)
        self.events = 0
        self.cases = 0

    def with_events(self, pairs: Iterable[tuple[CaseRecord, list[Event]]], *,
                    count: bool = True) -> Iterator[tuple[CaseRecord, list[Event]]]:
        """The pairs shown; `count` false on a second pass over the same cases."""
        from engine.exports import redact_case

        for case, events in pairs:
            if count:
                self.left_out.count_cases([case])
            shown = (case, events) if self.redactor is None else redact_case(
                self.redactor, case, events)
            if shown is not None:
                self.events += len(shown[1])
                self.cases += 1
                yield shown

    def only_cases(self, cases: Iterable[CaseRecord], *, count: bool = True
                   ) -> Iterator[CaseRecord]:
        return (case for case, _ in self.with_events(((case, []) for case in cases),
                                                     count=count))


@export.command("xes")
@_output_option
@click.option("--pathway", help="Only cases of this pathway.")
@_full_option
@command
def export_xes(ctx: Context, output: Path | None, pathway: str | None, full: bool) -> None:
    """The event log as XES (IEEE 1849-2016) for process-mining tools: a trace per case."""
    from engine.exports import xes_chunks

    shown = _Shown(ctx, full)

    def write(stream: CaseStream) -> None:
        _write(xes_chunks(shown.with_events(stream.with_events(pathway)),
                          step_titles=_StepTitles(ctx),
                          name=f"Pathways: {pathway}" if pathway else "Pathways event log"),
               output)

    ctx.app.engine.streamed(write)  # read, built and written a case at a time
    _report(ctx, output, "xes", shown.events, shown.left_out.report())


@export.command("cases")
@_output_option
@click.option("--pathway", help="Only cases of this pathway.")
@_full_option
@command
def export_cases(ctx: Context, output: Path | None, pathway: str | None, full: bool) -> None:
    """Cases as CSV, their data flattened into data.* columns, then how many case notes
    are about each (notes)."""
    from engine.exports import case_data_keys, counted_cases_csv_chunks

    shown = _Shown(ctx, full)

    def write(stream: CaseStream) -> None:
        # two passes in one snapshot: the data columns first, then the rows
        keys = case_data_keys(shown.only_cases(stream.cases(pathway)))
        shown.cases = 0
        _write(counted_cases_csv_chunks(stream.note_counts(
            shown.only_cases(stream.cases(pathway), count=False), pathway), keys), output)

    ctx.app.engine.streamed(write)
    _report(ctx, output, "csv", shown.cases, shown.left_out.report())


@export.command("events")
@_output_option
@click.option("--pathway", help="Only cases of this pathway.")
@_full_option
@command
def export_events(ctx: Context, output: Path | None, pathway: str | None, full: bool) -> None:
    """The event log as CSV, a row per event: the branch each decision took, outcomes."""
    from engine.exports import events_csv_chunks

    shown = _Shown(ctx, full)
    ctx.app.engine.streamed(lambda stream: _write(
        events_csv_chunks(shown.with_events(stream.with_events(pathway))), output))
    _report(ctx, output, "csv", shown.events, shown.left_out.report())


@export.command("tasks")
@_output_option
@click.option("--pathway", help="Only tasks of this pathway.")
@_full_option
@command
def export_tasks(ctx: Context, output: Path | None, pathway: str | None, full: bool) -> None:
    """Open inbox tasks as CSV, with the step each case waits at."""
    from engine.exports import tasks_csv

    found = [view.task for view in ctx.app.engine.list_tasks(pathway=pathway)]
    cases = ctx.app.engine.list_cases(pathway=pathway)
    clients = {c.id: c.client_id for c in cases if c.id is not None}
    left_out = _LeftOut()
    if (redactor := _redactor(ctx, cases, full, left_out)) is not None:
        found = [task for task in found if redactor.task(task)]
    _deliver(ctx, tasks_csv(found, clients), output, "csv", len(found), left_out.report())


@export.command("notes")
@_output_option
@click.option("--since", type=Day(), help="Only contacts on or after this day, YYYY-MM-DD.")
@click.option("--pathway", help="Only notes about a case of this pathway (a note about no "
                                "case is then left out).")
@_full_option
@command
def export_notes(ctx: Context, output: Path | None, since: date | None, pathway: str | None,
                 full: bool) -> None:
    """Case notes (contacts: calls, visits, ...) as CSV, a row per note, oldest first.

    A note's text is free text that may tell health or offence facts: --redacted (the
    default) keeps each row with its text empty and leaves out the notes about cases it
    leaves out; --full keeps the text, as `export cases --full` keeps every case's data."""
    from engine.casework import NOTE_KINDS
    from engine.exports import notes_csv_chunks, redact_note

    shown = _Shown(ctx, full)
    written = 0

    def rows(notes: Iterable[tuple[CaseNote, tuple[str, int] | None]]) -> Iterator[CaseNote]:
        nonlocal written
        for note, case in notes:
            if shown.redactor is not None:
                shown.left_out.count_note(case)
                if (found := redact_note(shown.redactor, note, case)) is None:
                    continue
                note = found
            written += 1
            yield note

    ctx.app.engine.streamed(lambda stream: _write(notes_csv_chunks(
        rows(stream.notes(since=since, pathway=pathway)), NOTE_KINDS), output))
    _report(ctx, output, "csv", written, shown.left_out.report())


def _programme_directions(ctx: Context, programme_file: Path | None) -> dict[str, str]:
    """Outcome -> direction from the programme file named, else from the definitions
    folder's programmes/peterborough.yaml if it exists ({} without one)."""
    from engine.outcomes import programme_from_config

    if programme_file is None:
        programme_file = ctx.settings.definitions_dir / "programmes" / "peterborough.yaml"
        if not programme_file.is_file():
            return {}
    try:
        config = yaml.safe_load(programme_file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UsageProblem(f"cannot read the programme file {programme_file}: {err}",
                           details={"file": str(programme_file)}) from err
    return programme_from_config(config).outcome_directions()


@export.command("indigo")
@_output_option
@click.option("--name", default="Pathways programme", show_default=True,
              help="The programme's (impact bond's) name.")
@click.option("--programme", "programme_file", type=click.Path(path_type=Path),
              help="The programme file (default: programmes/peterborough.yaml of the "
                   "definitions folder, when there is one): its outcome measures say which "
                   "outcomes, and which step outcomes, are better lower (direction).")
@click.option("--lower-is-better", "lower_is_better", multiple=True, metavar="OUTCOME",
              help="An outcome that is better lower (e.g. reconvicted), where no measure of "
                   "the programme file says so. Repeatable.")
@_full_option
@command
def export_indigo(ctx: Context, output: Path | None, name: str, programme_file: Path | None,
                  lower_is_better: tuple[str, ...], full: bool) -> None:
    """The programme as an INDIGO impact bond data standard project document (JSON).

    An outcome counts as a positive social outcome for the clients who had it, unless the
    programme's measure for it (--programme, else the definitions folder's programme file)
    or --lower-is-better says fewer is better (reconvictions): then for the clients it is
    recorded for who did not have it."""
    from engine.exports import ProgrammePathway, indigo_project, redact

    directions = _programme_directions(ctx, programme_file)
    directions.update(dict.fromkeys(lower_is_better, "lower_is_better"))

    engine = ctx.app.engine
    found = engine.list_cases()
    events_by_case = _events_by_case(ctx, found)
    left_out = _LeftOut()
    redactor = _redactor(ctx, found, full, left_out)
    if redactor is not None:
        found, events_by_case = redact(redactor, found, events_by_case)
    pathways = []
    for version in engine.definitions():
        if redactor is not None and redactor.hides(
                redactor.sensitivity.pathway(version.pathway)):
            continue
        parsed = left_out.definition(engine, version.pathway, version.number)
        if parsed is None:  # its title, owner and organisations cannot be read
            left_out.undescribed.add((version.pathway, version.number))
            continue
        organisations = sorted({org for orgs in parsed.role_organisations.values()
                                for org in orgs})
        pathways.append(ProgrammePathway(
            version.pathway, version.number,
            str(getattr(parsed.spec, "description", "") or ""), parsed.owner,
            tuple(organisations)))
    document = indigo_project(
        name=name, pathways=pathways, cases=found, events_by_case=events_by_case,
        as_of=SystemClock().now(),
        organisation_names={o.id: o.name for o in ctx.app.accounts.organisations()},
        directions=directions)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    _deliver(ctx, text, output, "indigo", 1, left_out.report())
