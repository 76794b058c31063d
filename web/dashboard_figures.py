"""The figures the commissioner's dashboard shows, gathered from the engine.

For one pathway and one outcome: the version comparison, the split at the gate and by an
answer, engagement and activity (engine.outcomes.analysis), read from the summaries of the cases'
events (adapters.sql.summaries through the engine), with every step or referral that
reveals health or offence data left out (engine.access.privacy) and disclosure control applied
(engine.outcomes.protected_tables.protected_rows). The page, its charts (drawn here) and its CSVs
all read the same figures, computed once per revision of the data (web.dashboard_cache).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from flask import g, request
from werkzeug.exceptions import BadRequest

from engine.access import privacy
from engine.errors import DefinitionError, InvalidArgumentError
from engine.outcomes import activity as activity_table
from engine.outcomes import analysis, disclosure, engagement, protected_tables
from engine.summary_ports import (
    CaseGroup,
    DashboardSummaries,
    HiddenSteps,
    StepFigures,
)
from engine.workflow import ParsedDefinition
from web import charts, decisions
from web.cohort_evidence import frequency_measure, measured_groups, programme, threshold
from web.dashboard_cache import alongside, cached
from web.security import application

GATE = "met_at_gate"  # the step the outcome is split by
ENGAGED_AFTER_DAYS = 30  # a case is engaged when worked on this long after it started


@dataclass(frozen=True)
class Summarised:
    """What the outcome figures of one pathway read: its cases counted in groups and the
    summaries of their events (adapters.sql.summaries), never the events themselves."""

    names: list[str]  # outcomes recorded on the cases' events the figures may show
    outcome: str | None  # the outcome asked for (measured or recorded), else the first
    groups: list[CaseGroup]
    steps: StepFigures
    answers: dict[str, list[Any]]  # the answer the request splits by (if any): its values


def _summarised(pathway: str, outcome: str | None, measured: list[str],
                answer: str | None) -> Summarised:
    """The pathway's cases counted in groups by the facts the figures read (with the answer
    the request splits by, if any) and its step summaries, read in one unit of work (one
    snapshot: the groups and the steps' counts agree); an outcome not asked for (or not
    recorded nor measured) is the first measured one, else the first recorded one. An
    outcome measured from imported data is each case's client's: the cases are counted in
    groups per client with events of it (else per start date), each one's value put in
    (web.cohort_evidence.measured_groups) and the groups added together."""
    hidden = _hidden(pathway)

    def read(summaries: DashboardSummaries
             ) -> tuple[Summarised, list[tuple[int, str | None, CaseGroup]]]:
        names = summaries.outcome_names(pathway, hidden)
        chosen = measured + names
        chosen_outcome = outcome if outcome in chosen else (chosen[0] if chosen else None)
        recorded = chosen_outcome if chosen_outcome in names else None
        by_client: list[tuple[int, str | None, CaseGroup]] = []
        groups: list[CaseGroup] = []
        measure = frequency_measure(chosen_outcome) if chosen_outcome in measured else None
        if chosen_outcome is not None and measure is not None:
            by_client = summaries.client_groups(
                pathway, hidden, outcome=chosen_outcome, start_field=measure.start_field,
                step=GATE, answer=answer, days=ENGAGED_AFTER_DAYS)
        else:
            groups = summaries.case_groups(pathway, hidden, outcome=recorded, step=GATE,
                                           answer=answer, days=ENGAGED_AFTER_DAYS)
        return (Summarised(names, chosen_outcome, groups,
                           summaries.step_figures(pathway, hidden),
                           summaries.answer_values(pathway, [answer] if answer else [])),
                by_client)

    found, by_client = application().engine.summarised(read)
    if found.outcome is None or found.outcome not in measured:
        return found
    return replace(found, groups=measured_groups(by_client, found.outcome))


def _loaded(pathway: str, number: int) -> ParsedDefinition | None:
    """The version's definition, or None when its stored files cannot be loaded; such a
    version is noted (g.unloadable, for the page's notice) and what only it could tell is
    left out of the figures: its cases' steps, and any split by field."""
    try:
        return application().engine.definition(pathway, number)
    except DefinitionError as err:
        unloadable: dict[tuple[str, int], str] = g.setdefault("unloadable", {})
        unloadable[(pathway, number)] = err.message
        return None


def unloadable_notice() -> list[str]:
    """The page's notice: each version left out because its definition cannot be loaded."""
    found: dict[tuple[str, int], str] = g.get("unloadable", {})
    return [f"{p} v{n} cannot be loaded, so its cases' steps are left out and no table is "
            f"split by field: {why}" for (p, n), why in sorted(found.items())]


def _hidden(pathway: str) -> HiddenSteps:
    """What per-step figures and outcome names leave out: every event about a step,
    decision or referral whose existence reveals health or offence data (engine.access.privacy),
    which no dashboard viewer may split by, and every event of a version whose definition
    cannot be loaded (what it reveals is unknown). A pathway that is sensitive as a whole
    still shows its own steps: its figures are aggregates, under disclosure control like
    every other."""
    found = _sensitivity(pathway)
    others = frozenset(p for p in found.pathways if p != pathway)
    steps = {number: _steps_hidden(definition, others)
             for (name, number), definition in found.definitions.items() if name == pathway}
    return HiddenSteps(frozenset(n for p, n in found.unknown if p == pathway), steps, others)


def _sensitivity(pathway: str) -> privacy.Sensitivity:
    """What every version of the pathway and every other pathway's latest marks sensitive
    (engine.access.privacy); a version whose definition cannot be loaded is unknown. Every
    version a case can be on is one of the pathway's versions."""
    engine = application().engine
    wanted = dict.fromkeys([*((pathway, v.number) for v in engine.versions(pathway)),
                            *((v.pathway, v.number) for v in engine.definitions())])
    loaded = {key: _loaded(*key) for key in wanted}
    return privacy.Sensitivity.of(
        ((p, n, d) for (p, n), d in loaded.items() if d is not None),
        unknown=[key for key, d in loaded.items() if d is None])


def _steps_hidden(definition: ParsedDefinition, others: frozenset[str]) -> frozenset[str]:
    """A version's sensitive steps, and its referrals to another pathway that is sensitive."""
    return frozenset(definition.sensitive_steps) | frozenset(
        step for step, target in definition.referrals.items() if target in others)


def choose(pathway: str, outcome: str | None) -> dict[str, Any]:
    """Everything the dashboard page shows for one pathway and one outcome: the outcome
    figures (outcome_figures), the answers its tables may be split by (split_fields) and the
    activity (activity_figures), each computed once per revision of the data and kept on its
    own (web.dashboard_cache), so a chart or CSV computes only what it shows. The fields
    are found alongside the outcome figures (a scan of the cases' answers the database runs
    while Python counts)."""
    fields = alongside(lambda: split_fields(pathway))
    shown = dict(outcome_figures(pathway, outcome))
    shown["fields"] = fields()
    shown.update(activity_figures(pathway))
    return shown


def outcome_figures(pathway: str, outcome: str | None) -> dict[str, Any]:
    """For one pathway and one outcome (recorded by the pathway's steps, or measured from
    imported outcome data): the version comparison, the split at the gate and by the answer
    the request names, and engagement, with disclosure control applied
    (engine.outcomes.disclosure): the `*_rows` are what pages, charts and CSVs show."""
    field, baseline, versus = request_choices()

    def same(shown: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The outcome it resolved to, and no outcome named when that is the default: the
        page's charts and CSVs name it, or not, and are the same figures."""
        chosen = shown["outcome"]
        default = shown["names"][0] if shown["names"] else None
        return [(pathway, chosen, field, baseline, versus)] + (
            [(pathway, None, field, baseline, versus)] if chosen == default else [])

    return cached("outcome", (pathway, outcome, field, baseline, versus),
                  lambda: _compute_outcome(pathway, outcome), same)


def split_fields(pathway: str) -> list[str]:
    """The answers the pathway's tables may be split by and are worth splitting by (a few
    distinct values among its cases)."""
    def compute() -> list[str]:
        allowed = _splittable(pathway)
        return _fields(application().engine.summarised(
            lambda summaries: summaries.answer_values(pathway, allowed)))

    return cached("fields", (pathway,), compute)


def activity_figures(pathway: str) -> dict[str, Any]:
    """Tasks completed per organisation and caseworker per month, under disclosure control."""
    def compute() -> dict[str, Any]:
        tasks = application().engine.summarised(
            lambda summaries: summaries.task_counts(pathway))
        organisations = {u.username: u.organisation for u in application().accounts.users()}
        found = activity_table.activity_from_counts(tasks, organisations)
        return {"activity": found,
                "activity_rows": protected_tables.protected_activity(found, threshold())}

    return cached("activity", (pathway,), compute)


def request_choices() -> tuple[str | None, str | None, str | None]:
    """What else in the request changes the figures: the split, its baseline, the version
    compared against."""
    return (request.args.get("field") or None, request.args.get("baseline") or None,
            request.args.get("versus") or None)


def _compute_outcome(pathway: str, outcome: str | None) -> dict[str, Any]:
    measured = _measured_kinds()
    field = request.args.get("field") or None
    if field is not None and field not in _splittable(pathway):
        raise BadRequest(f"the figures cannot be split by {field[:60]!r}: only by an answer "
                         "that is a yes/no or one of a few options, never by free text or by "
                         "health or offence information")
    found = _summarised(pathway, outcome, measured, field)
    groups = found.groups
    names = measured + found.names
    outcome = found.outcome
    total = sum(group.cases for group in groups)
    with_outcome = outcome is not None and total > 0
    versus = decisions.chosen_version(request.args.get("versus"), groups)
    comparison = analysis.version_comparison_of_groups(
        groups, found.steps, measured=outcome is not None, baseline=versus,
        outcome_name=outcome, pathway=pathway)
    gate = analysis.split_by_step_of_groups(groups, GATE, outcome_name=outcome) \
        if with_outcome else None
    by_field = _split_by_field(field, _fields(found.answers), groups, outcome) \
        if with_outcome else None
    engaged = engagement.engagement_of_groups(groups, ENGAGED_AFTER_DAYS)
    limit = threshold()
    return {"names": names, "outcome": outcome, "comparison": comparison,
            "gate": gate, "engagement": engaged,
            "field": field if by_field else None, "by_field": by_field,
            "total": _count(total, limit), "threshold": limit,
            "versions_rows": protected_tables.protected_rows(comparison.rows(), limit),
            "gate_rows": protected_tables.protected_rows(gate.rows(), limit) if gate else None,
            "field_rows": protected_tables.protected_rows(by_field.rows(), limit)
            if by_field else None,
            "engagement_rows": protected_tables.protected_rows(engaged.rows(), limit),
            "versus": versus}


def _measured_kinds() -> list[str]:
    """The outcomes measured from imported data: each kind of the programme's frequency
    measures that has imported events."""
    configured = programme()
    imported = application().outcomes.imported_kinds() if configured else set()
    return sorted({m.kind for m in (configured.measures if configured else ())
                   if m.type == "frequency" and m.kind in imported})


def _split_by_field(field: str | None, fields: list[str], groups: list[CaseGroup],
                    outcome: str | None) -> analysis.OutcomeSplit | None:
    """The split the request asks for (?field=, with ?baseline=), if its field is worth
    splitting by; a baseline that is not one of its values is refused."""
    if field not in fields:
        return None
    try:
        return analysis.split_by_field_of_groups(
            groups, field, baseline=request.args.get("baseline") or None,
            outcome_name=outcome)
    except InvalidArgumentError as error:
        raise BadRequest(error.message) from error


def _count(value: int, threshold: int) -> int | str:
    return disclosure.SUPPRESSED if disclosure.small(value, threshold) else value


def _splittable(pathway: str) -> frozenset[str]:
    """The fields a table may be split by at all (engine.outcomes.disclosure.splittable_fields: a
    yes/no or a few options in every form of every version, never free text, never
    sensitive in any published pathway)."""
    engine = application().engine
    schemas: list[dict[str, Any]] = []
    sensitive: set[str] = set()
    versions = [(pathway, v.number) for v in engine.versions(pathway)]
    latest = [(v.pathway, v.number) for v in engine.definitions()]
    loaded = {key: _loaded(*key) for key in dict.fromkeys([*versions, *latest])}
    if any(parsed is None for parsed in loaded.values()):
        return frozenset()  # what an unloadable version makes sensitive cannot be told
    for key, parsed in loaded.items():
        assert parsed is not None
        if key in versions:
            schemas.extend(parsed.forms.values())
        sensitive.update(parsed.sensitive_fields(), parsed.sensitive_client())
    return disclosure.splittable_fields(schemas, sensitive)


def _fields(answers: dict[str, list[Any]]) -> list[str]:
    """The allowed fields worth splitting by: a few distinct values (yes/no, text or whole
    numbers) in the cases' data."""
    return sorted(key for key, held in answers.items()
                  if 1 < len({str(v) for v in held if isinstance(v, bool | str | int)}) <= 8)


def _figure(value: Any) -> float | None:
    """A shown figure as a float for a chart (None: suppressed or missing)."""
    return None if value is None or value == disclosure.SUPPRESSED else float(value)


def _version_chart(shown: dict[str, Any]) -> str | None:
    """The outcome by version with its interval, from the protected rows (a suppressed
    version is a gap)."""
    comparison: analysis.VersionComparison = shown["comparison"]
    outcome = shown["outcome"]
    measure = comparison._outcome_measure()
    chosen = [r for r in shown["versions_rows"]
              if r["cohort"] == "all" and r["measure"] == measure]
    if not chosen or outcome is None:
        return None
    scale = 100.0 if comparison.outcome_kind != "rate" else 1.0
    values: list[float | None] = []
    lows: list[float | None] = []
    highs: list[float | None] = []
    for row in chosen:
        for column, into in (("value", values), ("ci_low", lows), ("ci_high", highs)):
            figure = _figure(row[column])
            into.append(None if figure is None else figure * scale)
    unit = "per 100" if comparison.outcome_kind == "rate" else "% of cases"
    return charts.bars_with_intervals(
        f"{outcome} by version (95% CI; gaps: fewer than {shown['threshold']} cases)",
        [str(r["group"]).replace("version ", "v") for r in chosen], values, lows, highs, unit)


def drawn(name: str, shown: dict[str, Any]) -> str | None:
    """The chart's SVG (drawing one is a visible cost, so it is kept like the figures)."""
    if name == "forest":
        return decisions.forest_svg(decisions.for_dashboard(shown), shown["outcome"],
                                    shown["threshold"])
    return _version_chart(shown) if name == "versions" else _activity_chart(shown)


def _activity_chart(shown: dict[str, Any]) -> str | None:
    activity: activity_table.Activity = shown["activity"]
    rows = [r for r in shown["activity_rows"] if r["level"] == "organisation"]
    if not rows:
        return None
    months = list(activity.months)
    series: dict[str, list[float]] = defaultdict(lambda: [math.nan] * len(months))
    for row in rows:
        figure = _figure(row["tasks"])
        series[row["name"]][months.index(row["month"])] = math.nan if figure is None \
            else figure
    return charts.lines("Tasks completed per organisation per month (gaps: suppressed)",
                        months, dict(series), "tasks")
