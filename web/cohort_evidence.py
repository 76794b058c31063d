"""The programme's cohorts measured from the imported outcome data, for the dashboard.

Each configured cohort is followed up to the data's extraction date and, once complete,
measured against its comparison group (a rate set by hand or an imported matched group);
the complete cohorts give the payment statement (engine.outcomes.payments). Cohorts partition the
people released, so their figures are under disclosure control together
(engine.outcomes.disclosure). Also here, from the same programme file: each case's outcome measured
from imported data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from flask import current_app, g

from engine.outcomes import (
    Cohort,
    CohortInput,
    FollowUp,
    MeasureResult,
    OutcomeMeasure,
    disclosure,
    estimates,
    followup,
    matched_cohort_input,
    payment_statement,
    programme_from_config,
    tally,
    values_per_person,
)
from engine.summary_ports import CaseGroup
from web.dashboard_cache import cached, programme_stamp
from web.security import application

COHORT_COLUMNS = ("cohort", "from", "to", "people", "events", "per_100", "per_100_ci_low",
                  "per_100_ci_high", "comparison_per_100", "people_with_events", "binary_pct",
                  "binary_ci_low", "binary_ci_high", "status", "windows_open", "extracted_on",
                  "complete_on")
_COHORT_FIGURES = ("people", "events", "per_100", "per_100_ci_low", "per_100_ci_high",
                   "people_with_events", "binary_pct", "binary_ci_low", "binary_ci_high",
                   "windows_open")


def programme() -> Any | None:
    """The programme's configuration, read once per request (several sections use it) and
    parsed again only when its file changes (web.dashboard_cache.programme_stamp)."""
    if "programme" not in g:
        path = Path(application().settings.definitions_dir) / "programmes" / "peterborough.yaml"
        stamp = programme_stamp()
        kept: dict[Any, Any] = current_app.extensions.setdefault("pathways_programme", {})
        if kept.get("key") != (path, stamp):
            kept.clear()
            kept.update(key=(path, stamp), programme=programme_from_config(
                yaml.safe_load(path.read_text("utf-8"))) if stamp is not None else None)
        g.programme = kept["programme"]
    return g.programme


def threshold() -> int:
    """The disclosure threshold every figure shown is protected at."""
    return int(application().settings.disclosure_threshold)


def measured_groups(rows: Iterable[tuple[int, str | None, CaseGroup]], kind: str
                    ) -> list[CaseGroup]:
    """The cases' groups (DashboardSummaries.client_groups) with the outcome `kind`
    measured per client put in, as the cohort results count it: the client's events of the
    programme's frequency measure for `kind` (engine.outcomes' occurrences, read once) in
    the measure's windows from its start date, the text kept with its group read as
    client_dates reads it (no date: unknown); a client 0 has no events: 0 when dated
    (engine.outcomes.values_per_person). Tens of thousands of rows, a few kinds of group:
    each distinct (client, date text) is measured once and tally adds the cases up per
    group and value."""
    measure = frequency_measure(kind)
    if measure is None:
        return tally.with_outcomes((None, group) for _, _, group in rows)
    chosen = list(rows)
    values = values_per_person(((client, text) for client, text, _ in chosen),
                               application().outcomes.occurrences(kind), measure)
    return tally.with_outcomes((values[client, text], group) for client, text, group in chosen)


def frequency_measure(kind: str) -> OutcomeMeasure | None:
    """The programme's frequency measure of outcome `kind`, if it has one."""
    configured = programme()
    return next((m for m in (configured.measures if configured else ())
                 if m.kind == kind and m.type == "frequency"), None)


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
    if any(disclosure.small(v, threshold()) for v in (matched.people, matched.events)):
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
        rate = estimates.rate_ci(measured.events, measured.people) if measured.people \
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
        share = estimates.proportion_ci(measured_binary.people_with_events,
                                       measured_binary.people)
        row.update(people_with_events=measured_binary.people_with_events,
                   binary_pct=None if share.rate is None else share.rate * 100,
                   binary_ci_low=None if share.ci_low is None else share.ci_low * 100,
                   binary_ci_high=None if share.ci_high is None else share.ci_high * 100)
    return found


def cohort_evidence(configured: Any) -> CohortEvidence:
    """Each configured cohort: its follow-up by the data's extraction date and, only once
    that is complete, its figures against its comparison; the payment statement on the
    complete cohorts, final when every configured cohort is complete (issue 12, items 1
    and 6). Computed once per revision of the data (web.dashboard_cache)."""
    def compute() -> CohortEvidence:
        with application().outcomes.reading_once():
            return _compute_cohort_evidence(configured)

    return cached("cohorts", (), compute)


def _compute_cohort_evidence(configured: Any) -> CohortEvidence:
    if configured is None or not configured.measures:
        return CohortEvidence([], None, "")
    frequency = _first_measure(configured, "frequency")
    binary = _first_measure(configured, "binary")
    rows: list[dict[str, Any]] = []
    inputs: list[CohortInput] = []
    not_final: list[str] = []
    for definition in configured.cohorts:
        if not definition.releases_from:
            not_final.append(f"{definition.name} has no release period in the programme file")
            continue
        row, found, why_not = _cohort_result(definition, frequency, binary)
        if found is not None:
            inputs.append(found)
        else:
            not_final.append(why_not)
        rows.append(row)
    hidden = _protect_cohorts(rows, threshold())
    if any(name in hidden for name in {cohort.name for cohort in inputs}):
        return CohortEvidence(rows, None, "", suppressed=True)  # it would show hidden figures
    final = bool(inputs) and not not_final
    statement = payment_statement(configured.mechanism, inputs, final=final) if inputs \
        else None
    return CohortEvidence(rows, statement, _final_said(final, not_final))


def _first_measure(configured: Any, kind: str) -> OutcomeMeasure | None:
    """The programme's first measure of a type ("frequency" or "binary"), if any."""
    return next((m for m in configured.measures if m.type == kind), None)


def _cohort_result(definition: Any, frequency: OutcomeMeasure | None,
                   binary: OutcomeMeasure | None
                   ) -> tuple[dict[str, Any], CohortInput | None, str]:
    """One configured cohort's row (its figures only once its follow-up is complete), and
    its statement input or why it has none."""
    cohort = _cohort_of(definition)
    open_ended = not definition.releases_to
    measures = [m for m in (frequency, binary) if m is not None]
    people, status = _cohort_follow_up(cohort, open_ended, measures)
    row = _cohort_row(definition.name, cohort, open_ended, people, status)
    comparison, matched = (_comparison(row, definition.name, frequency)
                           if frequency is not None else (None, None))
    row["comparison_per_100"] = comparison  # rounded: for display only
    found = (_measured_row(row, cohort, frequency, binary, matched) if status.complete
             else None)
    if found is not None:
        return row, found, ""
    if not status.complete:
        return row, None, f"{definition.name} is interim"
    return row, None, (f"{definition.name} has nobody measured" if not people else
                       f"{definition.name} has no comparison group's figures")


def _cohort_row(name: str, cohort: Cohort, open_ended: bool, people: int, status: FollowUp
                ) -> dict[str, Any]:
    """A cohort's row before its figures: its dates, people and follow-up (kept whole
    under "_follow_up" until disclosure control says it in words)."""
    return {
        "cohort": name, "from": cohort.start.isoformat(),
        "to": None if open_ended else cohort.end.isoformat(), "people": people,
        "status": "complete" if status.complete else "interim",
        "windows_open": status.open_windows,
        "extracted_on": status.extracted_on.isoformat() if status.extracted_on else None,
        "complete_on": status.complete_on.isoformat() if status.complete_on else None,
        "_follow_up": status}


def _final_said(final: bool, not_final: list[str]) -> str:
    """Whether the statement is final, in words, and if not why not."""
    if final:
        return "final: every cohort's follow-up is complete, so the overall threshold is tested"
    return ("not final: " + "; ".join(not_final)
            + " — the overall threshold is tested when every cohort is complete")


def _protect_cohorts(rows: list[dict[str, Any]], threshold: int) -> set[str]:
    """Disclosure control on the cohort results (cohorts partition the people released):
    a cohort with a small count of people, events, or people with and without an event is
    hidden, with a second one if it is the only one. The windows still open count people
    too: hidden when it, or the people whose windows have closed, are a small count.
    Returns the hidden cohorts' names."""
    hidden = disclosure.suppress_groups([_cohort_cells(row) for row in rows], threshold)
    for index in hidden:
        rows[index].update({k: disclosure.SUPPRESSED for k in _COHORT_FIGURES
                            if k in rows[index]})
    for index, row in enumerate(rows):
        _protect_comparison_and_follow_up(row, threshold, index in hidden)
    return {rows[index]["cohort"] for index in hidden}


def _cohort_cells(row: dict[str, Any]) -> tuple[int, int, int, int]:
    """The counts of a cohort that each count people: people, events, people with an event
    and people without one."""
    people = row.get("people") or 0
    with_events = row.get("people_with_events") or 0
    return people, row.get("events") or 0, with_events, people - with_events


def _protect_comparison_and_follow_up(row: dict[str, Any], threshold: int, hidden: bool
                                      ) -> None:
    """A cohort's comparison suppressed where its matched group is small, and its follow-up
    (and its matched group's) said in words with the counts disclosure control allows."""
    if row.pop("comparison_suppressed", False):
        row["comparison_per_100"] = disclosure.SUPPRESSED
    status: FollowUp | None = row.pop("_follow_up", None)
    if status is not None:
        row["follow_up"], suppressed = _follow_up_said(status, threshold, hidden)
        if suppressed:
            row["windows_open"] = disclosure.SUPPRESSED
    matched: FollowUp | None = row.pop("comparison_follow_up", None)
    if matched is not None:
        row["follow_up"] += ("; its matched comparison group is not followed up yet: "
                             + _follow_up_said(matched, threshold, disclosure.small(
                                 matched.members, threshold))[0])


def _follow_up_said(status: FollowUp, threshold: int, hidden: bool) -> tuple[str, bool]:
    """The follow-up in words, and whether its count of open windows (people) is hidden:
    when the cohort is, or it or its complement is small."""
    closed = status.members - status.open_windows
    if hidden:
        return status.words(disclosure.SUPPRESSED, disclosure.SUPPRESSED), True
    if disclosure.small(status.open_windows, threshold) or disclosure.small(closed, threshold):
        return status.words(disclosure.SUPPRESSED), True
    return status.words(), False
