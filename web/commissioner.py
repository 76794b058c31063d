"""The commissioner's dashboard: did a version do better, how sure are we, what is owed.

Aggregates only (no client appears by name): version comparison with 95% intervals and
tests (engine.analysis, scipy/statsmodels), met-at-gate against an outcome, engagement,
caseworker activity month on month, and the payment statement (engine.payments) from the
programme's configuration. Every chart (matplotlib SVG) has its numbers in a table and a
CSV download.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, g, render_template, request
from werkzeug.exceptions import BadRequest, NotFound

from engine import analysis, disclosure, followup, privacy
from engine.definitions import ParsedDefinition
from engine.errors import DefinitionError, InvalidArgumentError
from engine.followup import FollowUp
from engine.model import CaseRecord
from engine.numbers import parse_decimal, parse_int
from engine.outcomes import Cohort, MeasureResult, OutcomeMeasure
from engine.payments import (
    CohortInput,
    assumed_figures,
    matched_cohort_input,
    payment_statement,
    programme_from_config,
)
from engine.ports import CaseFacts, DashboardSummaries, HiddenSteps, StepFigures
from web import charts, decisions, figures
from web.dashboard_cache import cached
from web.security import application, roles_required

bp = Blueprint("commissioner", __name__)
bp.add_app_template_global(figures.cell, "cell")
bp.add_app_template_global(figures.label, "label")
VIEWERS = ("commissioner", "designer", "admin")
TABLES = ("versions", "gate", "field", "engagement", "activity")  # each shown[f"{name}_rows"]


GATE = "met_at_gate"  # the step the outcome is split by


@dataclass(frozen=True)
class Summarised:
    """What the figures of one pathway read: its cases and the summaries of their events
    (adapters.sql.summaries), never the events themselves."""

    cases: list[CaseRecord]
    names: list[str]  # outcomes recorded on the cases' events the figures may show
    outcome: str | None  # the recorded outcome asked for, if it is one of names
    facts: list[CaseFacts]
    steps: StepFigures
    tasks: list[tuple[str | None, str, int]]


def _summarised(pathway: str, outcome: str | None, measured: list[str]) -> Summarised:
    """The pathway's cases and summaries, read in one unit of work; a recorded outcome
    not asked for (or not recorded) is the first recorded one unless a measured one leads."""

    def read(cases: list[CaseRecord], summaries: DashboardSummaries) -> Summarised:
        hidden = _hidden(pathway, cases)
        names = summaries.outcome_names(pathway, hidden)
        chosen = measured + names
        chosen_outcome = outcome if outcome in chosen else (chosen[0] if chosen else None)
        recorded = chosen_outcome if chosen_outcome in names else None
        return Summarised(cases, names, recorded,
                          summaries.case_facts(pathway, hidden, outcome=recorded, step=GATE),
                          summaries.step_figures(pathway, hidden),
                          summaries.task_counts(pathway))

    return application().engine.summarised(pathway, read)


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


def _unloadable() -> list[str]:
    """The page's notice: each version left out because its definition cannot be loaded."""
    found: dict[tuple[str, int], str] = g.get("unloadable", {})
    return [f"{p} v{n} cannot be loaded, so its cases' steps are left out and no table is "
            f"split by field: {why}" for (p, n), why in sorted(found.items())]


def _hidden(pathway: str, cases: list[CaseRecord]) -> HiddenSteps:
    """What per-step figures and outcome names leave out: every event about a step,
    decision or referral whose existence reveals health or offence data (engine.privacy),
    which no dashboard viewer may split by, and every event of a version whose definition
    cannot be loaded (what it reveals is unknown). A pathway that is sensitive as a whole
    still shows its own steps: its figures are aggregates, under disclosure control like
    every other."""
    found = _sensitivity(cases)
    others = frozenset(p for p in found.pathways if p != pathway)
    steps = {number: _steps_hidden(definition, others)
             for (name, number), definition in found.definitions.items() if name == pathway}
    return HiddenSteps(frozenset(n for p, n in found.unknown if p == pathway), steps, others)


def _sensitivity(cases: list[CaseRecord]) -> privacy.Sensitivity:
    """What every version in use or published marks sensitive (engine.privacy); a version
    whose definition cannot be loaded is unknown."""
    engine = application().engine
    wanted = dict.fromkeys([*((c.pathway, c.version) for c in cases),
                            *((v.pathway, v.number) for v in engine.definitions())])
    loaded = {key: _loaded(*key) for key in wanted}
    return privacy.Sensitivity.of(
        ((p, n, d) for (p, n), d in loaded.items() if d is not None),
        unknown=[key for key, d in loaded.items() if d is None])


def _steps_hidden(definition: ParsedDefinition, others: frozenset[str]) -> frozenset[str]:
    """A version's sensitive steps, and its referrals to another pathway that is sensitive."""
    return frozenset(definition.sensitive_steps) | frozenset(
        step for step, target in definition.referrals.items() if target in others)


def _measured_outcomes(cases: list[CaseRecord], kind: str) -> dict[int, int | None]:
    """Per case, its client's events of the programme's frequency measure for `kind`,
    counted in the measure's windows from the client's own start date (None: no date)."""
    programme = _programme()
    measure = next((m for m in (programme.measures if programme else ())
                    if m.kind == kind and m.type == "frequency"), None)
    if measure is None:
        return {}
    clients = {client.id: client for client in application().engine.clients()}  # one read
    by_client: dict[int, list[Any]] = defaultdict(list)
    for event in application().outcomes.events(kind=kind):
        by_client[event.client_id].append(event)
    found: dict[int, int | None] = {}
    for case in cases:
        client = clients.get(case.client_id)
        start_text = client.fields.get(measure.start_field) if client else None
        try:
            start = date.fromisoformat(str(start_text)) if start_text else None
        except ValueError:
            start = None
        if case.id is None:
            continue
        found[case.id] = None if start is None else len({
            e.recorded_on for e in by_client.get(case.client_id, [])
            if measure.counts(start, e.occurred_on, e.recorded_on)})
    return found


def _threshold() -> int:
    return int(application().settings.disclosure_threshold)


def _choose(pathway: str, outcome: str | None) -> dict[str, Any]:
    """Everything the dashboard shows for one pathway and one outcome (recorded by the
    pathway's steps, or measured from imported outcome data), with disclosure control
    applied (engine.disclosure): the `*_rows` are what pages, charts and CSVs show.
    Computed once per revision of the data (web.dashboard_cache) for the page, its charts
    and its CSVs alike."""
    field, baseline, versus = _request_choices()

    def same(shown: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The outcome it resolved to, and no outcome named when that is the default: the
        page's charts and CSVs name it, or not, and are the same figures."""
        chosen = shown["outcome"]
        default = shown["names"][0] if shown["names"] else None
        return [(pathway, chosen, field, baseline, versus)] + (
            [(pathway, None, field, baseline, versus)] if chosen == default else [])

    return cached("choose", (pathway, outcome, field, baseline, versus),
                  lambda: _compute_choice(pathway, outcome), same)


def _request_choices() -> tuple[str | None, str | None, str | None]:
    """What else in the request changes the figures: the split, its baseline, the version
    compared against."""
    return (request.args.get("field") or None, request.args.get("baseline") or None,
            request.args.get("versus") or None)


def _compute_choice(pathway: str, outcome: str | None) -> dict[str, Any]:
    programme = _programme()
    measured = sorted({m.kind for m in (programme.measures if programme else ())
                       if m.type == "frequency"
                       and application().outcomes.events(kind=m.kind, include_cases=False)})
    found = _summarised(pathway, outcome, measured)
    cases = found.cases
    names = measured + found.names
    outcome = outcome if outcome in names else (names[0] if names else None)
    outcomes: analysis.Outcomes | None
    if outcome in measured:
        outcomes = _measured_outcomes(cases, outcome) or None
    else:
        recorded = {fact.case_id: fact.outcome for fact in found.facts}
        outcomes = {case.id: recorded.get(case.id) for case in cases
                    if case.id is not None} if outcome else None
    versus = decisions.chosen_version(request.args.get("versus"), cases)
    comparison = analysis.version_comparison_from(
        cases, found.facts, found.steps, outcomes, baseline=versus, outcome_name=outcome,
        pathway=pathway)
    gate = analysis.split_by_step_from(
        cases, {fact.case_id for fact in found.facts if fact.happened}, GATE, outcomes,
        outcome_name=outcome) if outcomes else None
    field = request.args.get("field") or None
    allowed = _splittable(pathway)
    fields = _fields(allowed, cases)
    if field is not None and field not in allowed:
        raise BadRequest(f"the figures cannot be split by {field[:60]!r}: only by an answer "
                         "that is a yes/no or one of a few options, never by free text or by "
                         "health or offence information")
    baseline = request.args.get("baseline") or None
    by_field = None
    if outcomes and field in fields:
        try:
            by_field = analysis.split_by_field(cases, field, outcomes, baseline=baseline,
                                               outcome_name=outcome)
        except InvalidArgumentError as error:
            raise BadRequest(error.message) from error
    engaged = analysis.engagement_from(cases, found.facts, 30)
    organisations = {u.username: u.organisation for u in application().accounts.users()}
    activity = analysis.activity_from_counts(found.tasks, organisations)
    threshold = _threshold()
    rows = analysis.protected_rows(comparison.rows(), threshold)
    return {"cases": cases, "names": names, "outcome": outcome, "comparison": comparison,
            "gate": gate, "engagement": engaged, "activity": activity, "fields": fields,
            "field": field if by_field else None, "by_field": by_field,
            "total": _count(len(cases), threshold), "threshold": threshold,
            "versions_rows": rows,
            "gate_rows": analysis.protected_rows(gate.rows(), threshold) if gate else None,
            "field_rows": analysis.protected_rows(by_field.rows(), threshold)
            if by_field else None,
            "engagement_rows": analysis.protected_rows(engaged.rows(), threshold),
            "activity_rows": analysis.protected_activity(activity, threshold),
            "versus": versus}


def _count(value: int, threshold: int) -> int | str:
    return disclosure.SUPPRESSED if disclosure.small(value, threshold) else value


def _splittable(pathway: str) -> frozenset[str]:
    """The fields a table may be split by at all (engine.disclosure.splittable_fields: a
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


def _fields(allowed: frozenset[str], cases: list[CaseRecord]) -> list[str]:
    """The allowed fields worth splitting by: a few distinct values in the cases' data."""
    values: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        for key, value in case.data.items():
            if key in allowed and isinstance(value, bool | str | int):
                values[key].add(str(value))
    return sorted(key for key, seen in values.items() if 1 < len(seen) <= 8)


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
    values, lows, highs = [], [], []
    for row in chosen:
        for column, into in (("value", values), ("ci_low", lows), ("ci_high", highs)):
            figure = _figure(row[column])
            into.append(None if figure is None else figure * scale)
    unit = "per 100" if comparison.outcome_kind == "rate" else "% of cases"
    return charts.bars_with_intervals(
        f"{outcome} by version (95% CI; gaps: fewer than {shown['threshold']} cases)",
        [str(r["group"]).replace("version ", "v") for r in chosen], values, lows, highs, unit)


def _drawn(name: str, shown: dict[str, Any]) -> str | None:
    """The chart's SVG (drawing one is a visible cost, so it is kept like the figures)."""
    if name == "forest":
        return decisions.forest_svg(decisions.for_dashboard(shown), shown["outcome"],
                                    shown["threshold"])
    return _version_chart(shown) if name == "versions" else _activity_chart(shown)


def _activity_chart(shown: dict[str, Any]) -> str | None:
    activity: analysis.Activity = shown["activity"]
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


def _programme() -> Any | None:
    """The programme's configuration, read once per request (several sections use it)."""
    if "programme" not in g:
        path = Path(application().settings.definitions_dir) / "programmes" / "peterborough.yaml"
        g.programme = programme_from_config(yaml.safe_load(path.read_text("utf-8"))) \
            if path.is_file() else None
    return g.programme


# Bounds of the payment form's figures: far beyond any real cohort, small enough that the
# statement's exact arithmetic stays instant.
MAX_COHORT = 10_000_000
MAX_EVENTS = 1_000_000_000
MAX_RATE = Decimal(100_000)
FORM_LABELS = {"size": "Cohort size", "events": "Reconviction events",
               "comparison": "Comparison per 100"}


def _statement(form: Any) -> tuple[Any, dict[str, str]]:
    """The payment statement for the cohort figures entered (or the published cohort 1).
    Every figure goes through engine.numbers with explicit bounds: a refusal is said on the
    page (values["error"]), never a 500 or minutes of big-number arithmetic."""
    programme = _programme()
    if programme is None:
        return None, {}
    values = {"size": str(form.get("size", "1000")), "events": str(form.get("events", "1420")),
              "comparison": str(form.get("comparison", "155")),
              "final": "yes" if form.get("final") == "yes" else ""}
    try:
        size = parse_int(values["size"], field=FORM_LABELS["size"], minimum=1,
                         maximum=MAX_COHORT)
        events = parse_int(values["events"], field=FORM_LABELS["events"], minimum=0,
                           maximum=MAX_EVENTS)
        rate = parse_decimal(values["comparison"], field=FORM_LABELS["comparison"],
                             minimum=Decimal("0.01"), maximum=MAX_RATE, places=2)
        cohort = CohortInput(programme.cohorts[0].name if programme.cohorts else "cohort 1",
                             size=size, intervention_events=events, comparison_rate=rate)
    except InvalidArgumentError as err:
        problems = err.details.get("fields", {})
        values["error"] = "; ".join(f"{k.split('.')[-1].replace('_', ' ')}: {', '.join(v)}"
                                    for k, v in problems.items()) or err.message
        return None, values
    return payment_statement(programme.mechanism, [cohort],
                             final=values["final"] == "yes"), values


def _month_start(month: str) -> date:
    return date.fromisoformat(f"{month}-01")


def _month_end(month: str) -> date:
    first = _month_start(month)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


@dataclass
class CohortEvidence:
    """The cohort results, the payment statement they give (None: none can be computed, or
    it would show hidden figures) and whether it is final, in words."""

    rows: list[dict[str, Any]]
    statement: Any
    final_said: str
    suppressed: bool = False  # a statement is due but would show hidden figures


def _cohort_results(programme: Any) -> tuple[list[dict[str, Any]], Any]:
    """Each configured cohort measured from the imported outcome events, against its
    comparison group's rate; and the payment statement those figures give."""
    evidence = _cohort_evidence(programme)
    return evidence.rows, evidence.statement


def _cohort_of(definition: Any) -> Cohort:
    """The programme file's cohort as dates; an open-ended one (releases_to null) takes
    everyone released from its start."""
    return Cohort(definition.name, _month_start(definition.releases_from),
                  _month_end(definition.releases_to) if definition.releases_to else date.max)


def _cohort_follow_up(cohort: Cohort, open_ended: bool, measures: list[OutcomeMeasure]
                      ) -> tuple[int, FollowUp]:
    """The people measured and the cohort's follow-up (issue 12, item 1): by the data's
    extraction date, each measure's windows closed for every member; the first measure not
    complete says why."""
    outcomes = application().outcomes
    statuses = []
    people = 0
    for measure in measures:
        starts = outcomes.cohort_starts(cohort, measure)
        people = max(people, len(starts))
        statuses.append(followup.follow_up(
            starts.values(), measure, outcomes.extraction_date(measure.kind),
            None if open_ended else cohort.end))
    return people, next((s for s in statuses if not s.complete), statuses[0])


def _comparison(row: dict[str, Any], name: str, frequency: OutcomeMeasure
                ) -> tuple[float | None, MeasureResult | None]:
    """The cohort's comparison: a rate set by hand, else an imported matched group of its
    name whose own follow-up is complete (else the row says why not)."""
    outcomes = application().outcomes
    compared = outcomes.comparison_rates(cohort=name, kind=frequency.kind)
    if compared and compared[-1].per_100 is not None:
        return compared[-1].per_100, None
    subjects = outcomes.matched_group(name)
    if not subjects:
        return None, None
    status = followup.group_follow_up([s.release_date for s in subjects], frequency,
                                      subjects[0].extracted_on)
    if not status.complete:
        row["comparison_follow_up"] = status
        return None, None
    matched = outcomes.measure_matched_group(name, frequency)
    if any(disclosure.small(v, _threshold()) for v in (matched.people, matched.events)):
        row["comparison_suppressed"] = True  # a few real people's records: not shown
        return None, None
    return matched.per_100, matched


def _measured_row(row: dict[str, Any], cohort: Cohort, frequency: OutcomeMeasure | None,
                  binary: OutcomeMeasure | None, matched: MeasureResult | None
                  ) -> CohortInput | None:
    """A complete cohort's figures into its row; its statement input, if it has a
    comparison (row["comparison_per_100"], or the matched group's counts)."""
    outcomes = application().outcomes
    found: CohortInput | None = None
    if frequency is not None:
        measured = outcomes.measure_cohort(cohort, frequency).result
        rate = analysis.rate_ci(measured.events, measured.people) if measured.people \
            else None
        row.update(people=measured.people, events=measured.events,
                   per_100=measured.per_100,
                   per_100_ci_low=rate.ci_low if rate else None,
                   per_100_ci_high=rate.ci_high if rate else None)
        comparison = row.get("comparison_per_100")
        if measured.people and comparison:
            # a matched group's counts, not its rounded rate (issue 12, item 2); a
            # comparison rate set by hand is taken as given
            found = (matched_cohort_input(cohort.name, measured, matched)
                     if matched is not None else
                     CohortInput(cohort.name, size=measured.people,
                                 intervention_events=measured.events,
                                 comparison_rate=Decimal(str(comparison))))
    if binary is not None:
        measured_binary = outcomes.measure_cohort(cohort, binary).result
        share = analysis.proportion_ci(measured_binary.people_with_events,
                                       measured_binary.people)
        row.update(people_with_events=measured_binary.people_with_events,
                   binary_pct=None if share.rate is None else share.rate * 100,
                   binary_ci_low=None if share.ci_low is None else share.ci_low * 100,
                   binary_ci_high=None if share.ci_high is None else share.ci_high * 100)
    return found


def _cohort_evidence(programme: Any) -> CohortEvidence:
    """Each configured cohort: its follow-up by the data's extraction date and, only once
    that is complete, its figures against its comparison; the payment statement on the
    complete cohorts, final when every configured cohort is complete (issue 12, items 1
    and 6). Computed once per revision of the data (web.dashboard_cache)."""
    def compute() -> CohortEvidence:
        with application().outcomes.reading_once():
            return _compute_cohort_evidence(programme)

    return cached("cohorts", (), compute)


def _compute_cohort_evidence(programme: Any) -> CohortEvidence:
    if programme is None or not programme.measures:
        return CohortEvidence([], None, "")
    frequency = next((m for m in programme.measures if m.type == "frequency"), None)
    binary = next((m for m in programme.measures if m.type == "binary"), None)
    measures = [m for m in (frequency, binary) if m is not None]
    rows: list[dict[str, Any]] = []
    inputs: list[CohortInput] = []
    not_final: list[str] = []
    for definition in programme.cohorts:
        if not definition.releases_from:
            not_final.append(f"{definition.name} has no release period in the programme file")
            continue
        cohort = _cohort_of(definition)
        open_ended = not definition.releases_to
        people, status = _cohort_follow_up(cohort, open_ended, measures)
        row: dict[str, Any] = {
            "cohort": definition.name, "from": cohort.start.isoformat(),
            "to": None if open_ended else cohort.end.isoformat(), "people": people,
            "status": "complete" if status.complete else "interim",
            "windows_open": status.open_windows,
            "extracted_on": status.extracted_on.isoformat() if status.extracted_on else None,
            "complete_on": status.complete_on.isoformat() if status.complete_on else None,
            "_follow_up": status}
        comparison, matched = (_comparison(row, definition.name, frequency)
                               if frequency is not None else (None, None))
        row["comparison_per_100"] = comparison  # rounded: for display only
        found = (_measured_row(row, cohort, frequency, binary, matched) if status.complete
                 else None)
        if found is not None:
            inputs.append(found)
        elif status.complete:
            not_final.append(f"{definition.name} has nobody measured" if not people else
                             f"{definition.name} has no comparison group's figures")
        else:
            not_final.append(f"{definition.name} is interim")
        rows.append(row)
    hidden = _protect_cohorts(rows, _threshold())
    if any(name in hidden for name in {cohort.name for cohort in inputs}):
        return CohortEvidence(rows, None, "", suppressed=True)  # it would show hidden figures
    final = bool(inputs) and not not_final
    statement = payment_statement(programme.mechanism, inputs, final=final) if inputs else None
    said = ("final: every cohort's follow-up is complete, so the overall threshold is tested"
            if final else "not final: " + "; ".join(not_final)
            + " — the overall threshold is tested when every cohort is complete")
    return CohortEvidence(rows, statement, said)


_COHORT_FIGURES = ("people", "events", "per_100", "per_100_ci_low", "per_100_ci_high",
                   "people_with_events", "binary_pct", "binary_ci_low", "binary_ci_high",
                   "windows_open")


def _protect_cohorts(rows: list[dict[str, Any]], threshold: int) -> set[str]:
    """Disclosure control on the cohort results (cohorts partition the people released):
    a cohort with a small count of people, events, or people with and without an event is
    hidden, with a second one if it is the only one. The windows still open count people
    too: hidden when it, or the people whose windows have closed, are a small count.
    Returns the hidden cohorts' names."""
    cells = [(row.get("people") or 0, row.get("events") or 0,
              row.get("people_with_events") or 0,
              (row.get("people") or 0) - (row.get("people_with_events") or 0)) for row in rows]
    hidden = disclosure.suppress_groups(cells, threshold)
    for index in hidden:
        rows[index].update({k: disclosure.SUPPRESSED for k in _COHORT_FIGURES
                            if k in rows[index]})
    for index, row in enumerate(rows):
        if row.pop("comparison_suppressed", False):
            row["comparison_per_100"] = disclosure.SUPPRESSED
        status: FollowUp | None = row.pop("_follow_up", None)
        if status is not None:
            row["follow_up"], suppressed = _follow_up_said(status, threshold, index in hidden)
            if suppressed:
                row["windows_open"] = disclosure.SUPPRESSED
        matched: FollowUp | None = row.pop("comparison_follow_up", None)
        if matched is not None:
            row["follow_up"] += ("; its matched comparison group is not followed up yet: "
                                 + _follow_up_said(matched, threshold, disclosure.small(
                                     matched.members, threshold))[0])
    return {rows[index]["cohort"] for index in hidden}


def _follow_up_said(status: FollowUp, threshold: int, hidden: bool) -> tuple[str, bool]:
    """The follow-up in words, and whether its count of open windows (people) is hidden:
    when the cohort is, or it or its complement is small."""
    closed = status.members - status.open_windows
    if hidden:
        return status.words(disclosure.SUPPRESSED, disclosure.SUPPRESSED), True
    if disclosure.small(status.open_windows, threshold) or disclosure.small(closed, threshold):
        return status.words(disclosure.SUPPRESSED), True
    return status.words(), False


COHORT_COLUMNS = ("cohort", "from", "to", "people", "events", "per_100", "per_100_ci_low",
                  "per_100_ci_high", "comparison_per_100", "people_with_events", "binary_pct",
                  "binary_ci_low", "binary_ci_high", "status", "windows_open", "extracted_on",
                  "complete_on")


@bp.get("/dashboard")
@roles_required(*VIEWERS)
def dashboard() -> Any:
    pathways = sorted(v.pathway for v in application().engine.definitions())
    pathway = request.args.get("pathway") or ("gate_reception" if "gate_reception" in pathways
                                              else (pathways[0] if pathways else ""))
    if pathway and pathway not in pathways:
        raise NotFound(f"no pathway {pathway!r}")
    shown = _choose(pathway, request.args.get("outcome")) if pathway else None
    statement, payment = _statement(request.args)
    evidence = _cohort_evidence(_programme())
    cohorts, data_statement = evidence.rows, evidence.statement
    status = 422 if payment.get("error") else 200
    if shown is not None:
        shown["decisions"] = decisions.for_dashboard(shown)
    return render_template(
        "dashboard.html", pathways=pathways, pathway=pathway, shown=shown,
        cohorts=cohorts, cohort_columns=COHORT_COLUMNS, data_statement=data_statement,
        version_chart=bool(shown and shown["outcome"] and any(
            v.outcome is not None for v in shown["comparison"].versions)),
        activity_chart=bool(shown and shown["activity"].organisations),
        statement_suppressed=evidence.suppressed, final_said=evidence.final_said,
        statement=statement, payment=payment, threshold=_threshold(),
        unloadable=_unloadable()), status


def _statement_inputs(evidence: CohortEvidence) -> list[dict[str, Any]]:
    """The printable statement's table of inputs: each cohort's (protected) figures and, for
    a cohort in the statement, its reduction and early payment (the chart's numbers)."""
    by_name = {c.input.name: c for c in (evidence.statement.cohorts
                                         if evidence.statement else ())}
    found = []
    for row in evidence.rows:
        line = by_name.get(row["cohort"])
        found.append({
            "cohort": row["cohort"], "from": row["from"], "to": row["to"] or "not set",
            "status": row["status"], "people": row["people"], "events": row.get("events"),
            "comparison_per_100": row.get("comparison_per_100"),
            "reduction_pct": None if line is None else _places(line.reduction, 1),
            "meets_cohort_threshold": None if line is None
            else ("yes" if line.meets_cohort_threshold else "no"),
            "early_payment": None if line is None else f"£{line.early_payment:,}"})
    return found


def _places(value: Decimal, places: int) -> str:
    """Rounded half up for display, as the statement's lines are."""
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


STATEMENT_COLUMNS = ("cohort", "from", "to", "status", "people", "events",
                     "comparison_per_100", "reduction_pct", "meets_cohort_threshold",
                     "early_payment")


@bp.get("/dashboard/statement")
@roles_required(*VIEWERS)
def statement_page() -> Any:
    """The payment statement from the data as a document of its own, made to be printed
    (and signed off): headings, the inputs, a chart against the thresholds, the arithmetic,
    and every placeholder figure flagged."""
    programme = _programme()
    evidence = _cohort_evidence(programme)
    return render_template(
        "statement.html", programme=programme, evidence=evidence,
        statement=evidence.statement, inputs=_statement_inputs(evidence),
        columns=STATEMENT_COLUMNS, threshold=_threshold(),
        pooled=_places(evidence.statement.reduction, 1) if evidence.statement else None,
        assumed=assumed_figures(programme.mechanism) if programme else [])


@bp.get("/dashboard/cohorts.svg")
@roles_required(*VIEWERS)
def cohort_chart() -> Any:
    """Each cohort's reduction against the cohort and overall thresholds (an interim or
    hidden cohort is a gap); the numbers are in the statement's table of inputs."""
    programme = _programme()
    evidence = _cohort_evidence(programme)
    statement = evidence.statement
    if programme is None or statement is None:
        raise NotFound("no payment statement to chart yet")
    reductions = {c.input.name: float(c.reduction) for c in statement.cohorts}
    labels = [row["cohort"] for row in evidence.rows] + ["all cohorts"]
    values = [reductions.get(row["cohort"]) for row in evidence.rows]
    values.append(float(statement.reduction))
    mechanism = programme.mechanism
    svg = charts.bars_against_thresholds(
        f"Reduction in reconviction events ({'final' if statement.final else 'interim'}; "
        "gaps: no result yet)", labels, values,
        [("cohort threshold (early payment)", float(mechanism.cohort_threshold)),
         ("overall threshold", float(mechanism.overall_threshold))],
        missing="interim")
    return Response(svg, mimetype="image/svg+xml", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@bp.get("/dashboard/<name>.svg")
@roles_required(*VIEWERS)
def chart(name: str) -> Any:
    """A chart as an SVG image of its own: matplotlib styles its shapes inline, which the
    pages' Content-Security-Policy rightly forbids, so charts are images with a policy that
    allows only that (no scripts, nothing fetched)."""
    pathway = request.args.get("pathway", "")
    if pathway not in {v.pathway for v in application().engine.definitions()}:
        raise NotFound(f"no pathway {pathway!r}")
    if name not in ("versions", "activity", "forest"):
        raise NotFound(f"no chart {name!r}")
    outcome = request.args.get("outcome")
    choices = (name, pathway, outcome, *_request_choices())
    svg = cached("chart", choices, lambda: _drawn(name, _choose(pathway, outcome)))
    if svg is None:
        raise NotFound("no figures for that chart yet")
    return Response(svg, mimetype="image/svg+xml", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@bp.get("/dashboard/<table>.csv")
@roles_required(*VIEWERS)
def table_csv(table: str) -> Any:
    if table == "cohorts":
        rows, _ = _cohort_results(_programme())
        return Response(analysis.csv_text(rows, COHORT_COLUMNS), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="cohorts.csv"'})
    if table not in TABLES:
        raise NotFound(f"no table {table!r}")
    pathway = request.args.get("pathway", "")
    if pathway not in {v.pathway for v in application().engine.definitions()}:
        raise NotFound(f"no pathway {pathway!r}")
    shown = _choose(pathway, request.args.get("outcome"))
    source = shown[f"{table}_rows"]
    if source is None:
        raise NotFound("no figures for that table yet")
    columns = analysis.ACTIVITY_COLUMNS if table == "activity" else analysis.COLUMNS
    text = analysis.csv_text(source, columns)
    headers = {"Content-Disposition": f'attachment; filename="{pathway}-{table}.csv"'}
    if left_out := sorted(g.get("unloadable", {})):  # the page says so; a file says it here
        headers["X-Pathways-Left-Out"] = ", ".join(f"{p} v{n}" for p, n in left_out)
    return Response(text, mimetype="text/csv", headers=headers)
