"""What worked: the statistics of a programme's cases, computed from plain records.

Pure functions over cases (`CaseRecord`: pathway, version, status, data, created_at; the
workflow state is not read) and their events (`Event`), plus, where a measure needs one, an
outcome per case supplied by the caller (True/False, or a count such as reconviction events).
Nothing here touches storage; the web dashboard and the CLI load the records and call these.

This module compares a pathway's versions and splits its cases by a step or a field. The
estimates they are made of, and how each interval and test is computed, are in
engine.outcomes.estimates; engagement is in engine.outcomes.engagement, activity month on month in
engine.outcomes.activity, and what of each table may be shown in engine.outcomes.protected_tables.

Results are frozen dataclasses holding plain ints and floats (None where a number does not
exist, e.g. a rate of zero cases); each has `rows()` giving a list of dicts, all with the same
keys (engine.outcomes.estimates.COLUMNS) in the same order, for a table or `csv_text`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from engine import csvout
from engine.dotted import dig
from engine.errors import InvalidArgumentError
from engine.model import CaseRecord, Event
from engine.outcomes import case_events
from engine.outcomes.estimates import (
    Proportion,
    ProportionDifference,
    Rate,
    RateComparison,
    compare_proportions,
    compare_rates,
    holm,
    measure_row,
    proportion_ci,
    rate_ci,
    read_p_value,
    table_row,
)
from engine.outcomes.tally import (
    MISSING,
    Outcomes,
    OutcomeValue,
    Tally,
    answer_label,
    outcome_kind,
    outcome_value,
)
from engine.summary_ports import CaseFacts, CaseGroup, StepCounts, StepFigures

# the events the dashboard's figures read (and its summaries keep)
SUMMARISED = ("case_started", "version_allocated", "task_ready", "task_completed",
              "outcome_recorded")
__all__ = ["MISSING", "OutcomeValue", "Outcomes"]  # also here, where callers look for them


# -- outcomes per case ------------------------------------------------------------------------


def outcomes_from_events(cases: Iterable[CaseRecord], events: Iterable[Event], outcome: str,
                         *, missing: OutcomeValue = None
                         ) -> dict[int, OutcomeValue]:
    """Each case's outcome from its `outcome_recorded` events named `outcome`: the value of
    the last one (a bool stays a bool, a whole number becomes a count, anything else counts
    as recorded: True); a case with no such event gets `missing`. By default None: an
    unrecorded outcome is unknown, not a 'no' (counting it as 'no' favours the arm with
    more open cases), so comparisons leave it out and count it as missing."""
    found: dict[int, OutcomeValue] = {}
    for event in case_events.ordered(events):
        if event.type == "outcome_recorded" and event.data.get("outcome") == outcome:
            value = event.data.get("value")
            if isinstance(value, bool) or value is None:
                found[event.case_id] = bool(value)
            elif isinstance(value, int):
                found[event.case_id] = value
            else:
                found[event.case_id] = True
    return {case_id: found.get(case_id, missing) for case_id in case_events.ids(cases)}


def _outcome_of(tally: Tally, kind: str | None) -> Proportion | Rate | None:
    """The tally's known outcomes as a share (yes/no) or a rate per case (counts, with the
    per-person counts a comparison needs to see how much they vary)."""
    if kind is None:
        return None
    known = sum(tally.known.values())
    if kind == "rate":
        values = tally.values()
        return replace(rate_ci(sum(values), known), counts=tuple(values))
    return proportion_ci(sum(cases for (_, value), cases in tally.known.items() if value),
                         known)


@dataclass(frozen=True)
class MissingBounds:
    """How far the difference in shares could move if the missing outcomes were known:
    `low` takes every missing outcome in this group as False and every missing one in the
    baseline as True, `high` the reverse (best/worst case bounds). The primary comparison
    stays the one on known outcomes; these bound it, they do not replace it."""

    low: ProportionDifference
    high: ProportionDifference
    method: str = ("best/worst case: missing outcomes all one way in one group, all the "
                   "other way in the other")


def _missing_bounds(group: Proportion | Rate | None, group_missing: int,
                    baseline: Proportion | Rate | None, baseline_missing: int
                    ) -> MissingBounds | None:
    """Best/worst-case bounds for a difference in shares; None for counts (a missing count
    has no worst case) or when nothing is missing in either group."""
    if not (isinstance(group, Proportion) and isinstance(baseline, Proportion)) \
            or group_missing + baseline_missing == 0:
        return None
    group_n, baseline_n = group.n + group_missing, baseline.n + baseline_missing
    return MissingBounds(
        compare_proportions(group.count, group_n, baseline.count + baseline_missing,
                            baseline_n),
        compare_proportions(group.count + group_missing, group_n, baseline.count,
                            baseline_n))


def _compare(group: Proportion | Rate | None, baseline: Proportion | Rate | None
             ) -> ProportionDifference | RateComparison | None:
    if isinstance(group, Proportion) and isinstance(baseline, Proportion):
        return compare_proportions(group.count, group.n, baseline.count, baseline.n)
    if isinstance(group, Rate) and isinstance(baseline, Rate):
        return compare_rates(group.events, group.exposure, baseline.events,
                             baseline.exposure, group.per, counts1=group.counts,
                             counts2=baseline.counts)
    return None



# -- versions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepStats:
    """One step in one version. `reached`: cases with a task_ready for it; `completion`: cases
    with a task_completed for it, of all the version's cases; `vs_baseline`: that share minus
    the baseline version's. Times, in hours: `median_hours`/`mean_hours` over every completed
    task, from its task_ready (same task id) to its task_completed (from the case's start if
    its task_ready is not in the log); `median_hours_from_start`: from the case's start to its
    first completion of the step, over the cases that completed it."""

    step: str
    reached: int
    completion: Proportion
    vs_baseline: ProportionDifference | None
    completions: int
    median_hours: float | None
    mean_hours: float | None
    median_hours_from_start: float | None


@dataclass(frozen=True)
class VersionStats:
    version: int
    cases: int
    completed: Proportion  # cases whose status is 'completed'
    completed_vs_baseline: ProportionDifference | None
    steps: tuple[StepStats, ...]
    outcome: Proportion | Rate | None
    vs_baseline: ProportionDifference | RateComparison | None
    outcome_missing: int = 0  # cases with no known outcome: left out of `outcome`
    outcome_bounds: MissingBounds | None = None  # vs_baseline if the missing were known


@dataclass(frozen=True)
class VersionComparison:
    """Each version's cases, completion, steps and outcome, each against `baseline`.

    cohort 'all': every case, by the version it is on (CaseRecord.version). cohort
    'randomised': only cases whose version_allocated event has policy 'split', by the arm the
    split allocated (intention to treat, even if the case migrated since): the fair
    comparison. A client who started the pathway twice stays in one arm, so their cases are
    not independent; the tests assume they are."""

    pathway: str | None
    cohort: str
    baseline: int | None
    outcome_name: str | None
    outcome_kind: str | None
    versions: tuple[VersionStats, ...]
    randomised: VersionComparison | None = None

    def version(self, number: int) -> VersionStats:
        for stats in self.versions:
            if stats.version == number:
                return stats
        raise KeyError(number)

    def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        base = None if self.baseline is None else f"version {self.baseline}"
        for v in self.versions:
            group = f"version {v.version}"
            vs = None if v.version == self.baseline else base
            rows.append(table_row(self.cohort, group, "cases", n=v.cases, count=v.cases))
            rows.append(measure_row(self.cohort, group, "completed", v.completed,
                                     v.completed_vs_baseline, vs))
            for step in v.steps:
                rows.append(measure_row(self.cohort, group, f"step {step.step} completed",
                                         step.completion, step.vs_baseline, vs))
                rows.append(table_row(self.cohort, group, f"step {step.step} median hours",
                                 n=step.completions, value=step.median_hours))
                rows.append(table_row(self.cohort, group, f"step {step.step} mean hours",
                                 n=step.completions, value=step.mean_hours))
                rows.append(table_row(self.cohort, group,
                                 f"step {step.step} median hours from start",
                                 n=step.completion.count, value=step.median_hours_from_start))
            if v.outcome is not None:
                rows.append(measure_row(self.cohort, group, self._outcome_measure(),
                                         v.outcome, v.vs_baseline, vs))
                rows.append(table_row(self.cohort, group, self.missing_measure(), n=v.cases,
                                 count=v.outcome_missing))
        if self.randomised is not None:
            rows.extend(self.randomised.rows())
        return rows

    def _outcome_measure(self) -> str:
        name = self.outcome_name or "outcome"
        return f"{name} per 100" if self.outcome_kind == "rate" else name

    def missing_measure(self) -> str:
        """The rows' measure for how many cases have no known outcome."""
        return f"{self.outcome_name or 'outcome'} missing"


def version_comparison(cases: Iterable[CaseRecord], events: Iterable[Event],
                       outcomes: Outcomes | None = None, *, outcome_name: str | None = None,
                       baseline: int | None = None, pathway: str | None = None,
                       steps: Sequence[str] | None = None) -> VersionComparison:
    """Compare the versions of one pathway (see VersionComparison for the two cohorts).

    `outcomes` maps case id -> True/False (a share with its interval, compared as a
    difference) or a count (events per 100 cases, compared as a rate ratio); a case missing
    from it, or mapped to None, is left out of the outcome's denominator only. `baseline`
    defaults to the lowest version present: every difference is version minus baseline.
    `steps` fixes the steps and their order; by default every step with a task_ready or
    task_completed event, in the order they first occur. `pathway` picks the pathway's cases;
    without it the cases must all be of one pathway."""
    chosen, name = _one_pathway(cases, pathway)
    chosen_ids = {c.id for c in chosen}  # once: not once per event
    by_case = case_events.by_case(e for e in events if e.case_id in chosen_ids)
    step_ids = list(steps) if steps is not None else _steps_seen(by_case)
    return _versions_compared(
        chosen, name,
        {c.id or 0: case_events.split_arm(by_case.get(c.id or 0, [])) for c in chosen},
        step_ids,
        lambda _cohort, _version, step, members: _step_stats(step, members.records, by_case),
        outcomes, outcome_name, baseline)


def version_comparison_from(cases: Iterable[CaseRecord], facts: Iterable[CaseFacts],
                            figures: StepFigures, outcomes: Outcomes | None = None, *,
                            outcome_name: str | None = None, baseline: int | None = None,
                            pathway: str | None = None) -> VersionComparison:
    """version_comparison from the summaries kept as events are written (the cases' arms in
    `facts`, the steps' counts in `figures`): the same figures, without reading events."""
    chosen, name = _one_pathway(cases, pathway)
    arms = {fact.case_id: fact.arm for fact in facts}
    return _versions_compared(chosen, name, arms, list(figures.steps), _counted_steps(figures),
                              outcomes, outcome_name, baseline)


def version_comparison_of_groups(groups: Iterable[CaseGroup], figures: StepFigures, *,
                                 measured: bool, outcome_name: str | None = None,
                                 baseline: int | None = None, pathway: str | None = None
                                 ) -> VersionComparison:
    """version_comparison_from, from the cases counted in groups (engine.summary_ports:
    the database counts them); `measured` False: no outcome is compared."""
    everyone: dict[int, Tally] = defaultdict(Tally)
    by_arm: dict[int, Tally] = defaultdict(Tally)
    for group in groups:
        outcome = group.outcome if measured else None
        everyone[group.version].add(group.status, outcome, group.cases)
        if group.arm is not None:
            by_arm[group.arm].add(group.status, outcome, group.cases)
    kind = outcome_kind(everyone.values(), measured)
    return _compared(pathway, dict(everyone), dict(by_arm), list(figures.steps),
                     _counted_steps(figures), kind, outcome_name, baseline)


def _counted_steps(figures: StepFigures) -> StepStatsOf:
    def step_stats(cohort: str, version: int, step: str, members: Tally) -> StepStats:
        found = figures.counts.get((cohort, version, step), StepCounts(0, 0, 0, None, None,
                                                                       None))
        return StepStats(step, found.reached, proportion_ci(found.done, members.cases), None,
                         found.completions, found.median_hours, found.mean_hours,
                         found.median_hours_from_start)

    return step_stats


StepStatsOf = Callable[[str, int, str, Tally], "StepStats"]


def _one_pathway(cases: Iterable[CaseRecord], pathway: str | None
                 ) -> tuple[list[CaseRecord], str | None]:
    chosen = [c for c in cases if c.id is not None and (pathway is None or c.pathway == pathway)]
    pathways = sorted({c.pathway for c in chosen})
    if len(pathways) > 1:
        raise InvalidArgumentError(
            f"cases of several pathways ({', '.join(pathways)}): name one",
            details={"pathways": pathways})
    return chosen, pathway or (pathways[0] if pathways else None)


def _versions_compared(chosen: list[CaseRecord], name: str | None,
                       arms: Mapping[int, int | None], step_ids: Sequence[str],
                       step_stats: StepStatsOf, outcomes: Outcomes | None,
                       outcome_name: str | None, baseline: int | None) -> VersionComparison:
    """The cases counted by version and by arm, then compared."""
    everyone: dict[int, Tally] = defaultdict(Tally)
    by_arm: dict[int, Tally] = defaultdict(Tally)
    for case in chosen:
        value = outcome_value(outcomes, case.id or 0)
        arm = arms.get(case.id or 0)
        for tallies, key in ((everyone, case.version), (by_arm, arm)):
            if key is not None:
                tallies[key].add(case.status, value)
                tallies[key].records.append(case)
    kind = outcome_kind(everyone.values(), outcomes is not None)
    return _compared(name, dict(everyone), dict(by_arm), step_ids, step_stats, kind,
                     outcome_name, baseline)


def _compared(name: str | None, everyone: dict[int, Tally], by_arm: dict[int, Tally],
              step_ids: Sequence[str], step_stats: StepStatsOf, kind: str | None,
              outcome_name: str | None, baseline: int | None) -> VersionComparison:
    """Both cohorts (every case by version, randomised cases by arm) of a comparison."""

    def compare(cohort: str, groups: dict[int, Tally], base: int | None
                ) -> VersionComparison:
        if base is None or base not in groups:
            base = min(groups) if groups else None

        def stats(version: int, base_stats: VersionStats | None) -> VersionStats:
            return _version_stats(
                version, groups[version], step_ids, kind, base_stats,
                lambda step, members: step_stats(cohort, version, step, members))

        base_stats = stats(base, None) if base is not None else None
        versions = tuple(stats(v, None if v == base else base_stats) for v in sorted(groups))
        return VersionComparison(name, cohort, base, outcome_name, kind, versions)

    result = compare("all", everyone, baseline)
    if by_arm:
        randomised = compare("randomised", by_arm, baseline)
        result = replace(result, randomised=randomised)
    return result


def _steps_seen(by_case: Mapping[int, list[Event]]) -> list[str]:
    first: dict[str, tuple[datetime, int, int]] = {}
    for events in by_case.values():
        for event in events:
            if event.type in ("task_ready", "task_completed") and event.step:
                key = (case_events.utc(event.at), event.case_id, event.seq)
                if event.step not in first or key < first[event.step]:
                    first[event.step] = key
    return sorted(first, key=lambda step: first[step])


def _version_stats(version: int, tally: Tally, steps: Sequence[str], kind: str | None,
                   base: VersionStats | None,
                   step_stats_of: Callable[[str, Tally], StepStats]) -> VersionStats:
    completed = proportion_ci(tally.completed, tally.cases)
    step_stats = []
    for index, step in enumerate(steps):
        stats = step_stats_of(step, tally)
        if base is not None:
            base_step = base.steps[index].completion
            stats = StepStats(stats.step, stats.reached, stats.completion,
                              compare_proportions(stats.completion.count, stats.completion.n,
                                                  base_step.count, base_step.n),
                              stats.completions, stats.median_hours, stats.mean_hours,
                              stats.median_hours_from_start)
        step_stats.append(stats)
    outcome = _outcome_of(tally, kind)
    missing = tally.missing if kind is not None else 0
    return VersionStats(
        version, tally.cases, completed,
        None if base is None else compare_proportions(completed.count, completed.n,
                                                      base.completed.count, base.completed.n),
        tuple(step_stats), outcome,
        None if base is None else _compare(outcome, base.outcome),
        missing,
        None if base is None else _missing_bounds(outcome, missing, base.outcome,
                                                  base.outcome_missing))


def _step_stats(step: str, cases: list[CaseRecord], by_case: Mapping[int, list[Event]]
                ) -> StepStats:
    reached = done = 0
    durations: list[float] = []
    from_start: list[float] = []
    for case in cases:
        events = by_case.get(case.id or 0, [])
        start = case_events.started(case, events)
        ready_at: dict[Any, datetime] = {}
        first_done: datetime | None = None
        was_ready = False
        for event in events:
            if event.step != step:
                continue
            if event.type == "task_ready":
                was_ready = True
                ready_at[event.data.get("task")] = event.at
            elif event.type == "task_completed":
                began = ready_at.get(event.data.get("task"), start)
                if began is not None:
                    durations.append(case_events.hours(began, event.at))
                if first_done is None:
                    first_done = event.at
        reached += was_ready or first_done is not None
        if first_done is not None:
            done += 1
            if start is not None:
                from_start.append(case_events.hours(start, first_done))
    return StepStats(step, reached, proportion_ci(done, len(cases)), None, len(durations),
                     statistics.median(durations) if durations else None,
                     statistics.fmean(durations) if durations else None,
                     statistics.median(from_start) if from_start else None)


# -- splits by a step or a field --------------------------------------------------------------


@dataclass(frozen=True)
class GroupStats:
    group: str
    cases: int
    outcome: Proportion | Rate | None
    vs_baseline: ProportionDifference | RateComparison | None  # this group minus baseline
    # vs_baseline's p (Fisher's when small_sample), Holm-adjusted over the split's comparisons
    adjusted_p_value: float | None = None



@dataclass(frozen=True)
class OutcomeSplit:
    """The outcome in each group of cases (`by` names the split), each against `baseline`."""

    by: str
    baseline: str | None
    outcome_name: str | None
    outcome_kind: str | None
    groups: tuple[GroupStats, ...]

    def group(self, label: str) -> GroupStats:
        for stats in self.groups:
            if stats.group == label:
                return stats
        raise KeyError(label)

    def rows(self) -> list[dict[str, Any]]:
        name = self.outcome_name or "outcome"
        measure = f"{name} per 100" if self.outcome_kind == "rate" else name
        rows: list[dict[str, Any]] = []
        for g in self.groups:
            rows.append(table_row(self.by, g.group, "cases", n=g.cases, count=g.cases))
            if g.outcome is not None:
                row = measure_row(self.by, g.group, measure, g.outcome, g.vs_baseline,
                                   None if g.group == self.baseline else self.baseline)
                row.update(adjusted_p_value=g.adjusted_p_value)
                rows.append(row)
        return rows


def split_by_step(cases: Iterable[CaseRecord], events: Iterable[Event], step: str,
                  outcomes: Outcomes, *, outcome_name: str | None = None) -> OutcomeSplit:
    """Outcome of the cases where `step` happened ('yes') against those where it did not
    ('no', the baseline). It happened when the case has a task_completed event for the step
    id, or an outcome_recorded event whose outcome is named `step` with a true value (e.g.
    'met_at_gate')."""
    by_case = case_events.by_case(events)
    return split_by_step_from(
        cases,
        {case_id for case_id, found in by_case.items() if case_events.happened(found, step)},
        step, outcomes, outcome_name=outcome_name)


def split_by_step_from(cases: Iterable[CaseRecord], happened: Container[int], step: str,
                       outcomes: Outcomes, *, outcome_name: str | None = None
                       ) -> OutcomeSplit:
    """split_by_step, given the ids of the cases where the step happened."""
    groups: dict[str, Tally] = {"yes": Tally(), "no": Tally()}
    for case in cases:
        if case.id is not None:
            groups["yes" if case.id in happened else "no"].add(
                case.status, outcome_value(outcomes, case.id))
    return _split(f"step {step}", groups, "no", outcome_kind(groups.values(), True),
                  outcome_name)


def split_by_step_of_groups(groups: Iterable[CaseGroup], step: str, *,
                            outcome_name: str | None = None) -> OutcomeSplit:
    """split_by_step_from, from the cases counted in groups (`happened`: the step)."""
    split: dict[str, Tally] = {"yes": Tally(), "no": Tally()}
    for group in groups:
        split["yes" if group.happened else "no"].add(group.status, group.outcome, group.cases)
    return _split(f"step {step}", split, "no", outcome_kind(split.values(), True),
                  outcome_name)


def split_by_field(cases: Iterable[CaseRecord], field: str, outcomes: Outcomes, *,
                   baseline: str | None = None, outcome_name: str | None = None
                   ) -> OutcomeSplit:
    """Outcome by the value of `field` in the case's data (a dotted path such as
    'client.has_children' reaches into nested objects). Values are labelled as JSON would
    write them ('true', 'false', '3', 'text'); no value is '(missing)'. `baseline` defaults
    to the largest group with a value (ties: the first label in sorted order); '(missing)'
    only when chosen or when no case has a value. A baseline that is no group is refused."""
    groups: dict[str, Tally] = defaultdict(Tally)
    for case in cases:
        if case.id is not None:
            groups[answer_label(dig(case.data, field))].add(
                case.status, outcome_value(outcomes, case.id))
    return _split_by_answer(field, groups, baseline, outcome_name)


def split_by_field_of_groups(groups: Iterable[CaseGroup], field: str, *,
                             baseline: str | None = None, outcome_name: str | None = None
                             ) -> OutcomeSplit:
    """split_by_field, from the cases counted in groups by their answer at `field`."""
    split: dict[str, Tally] = defaultdict(Tally)
    for group in groups:
        split[group.answer or MISSING].add(group.status, group.outcome, group.cases)
    return _split_by_answer(field, split, baseline, outcome_name)


def _split_by_answer(field: str, groups: dict[str, Tally], baseline: str | None,
                     outcome_name: str | None) -> OutcomeSplit:
    if baseline is not None and baseline not in groups:
        raise InvalidArgumentError(
            f"the split by {field[:60]!r} has no group {baseline[:60]!r} to compare against: "
            f"choose one of {', '.join(sorted(groups))}",
            details={"baseline": baseline[:60], "groups": sorted(groups)})
    if baseline is None and groups:
        baseline = min(groups, key=lambda label: (label == MISSING, -groups[label].cases,
                                                  label))
    return _split(f"field {field}", dict(sorted(groups.items())), baseline,
                  outcome_kind(groups.values(), True), outcome_name)


def _split(by: str, groups: Mapping[str, Tally], baseline: str | None, kind: str | None,
           outcome_name: str | None) -> OutcomeSplit:
    measured = {label: _outcome_of(tally, kind) for label, tally in groups.items()}
    base = measured.get(baseline) if baseline is not None else None
    compared = {label: None if label == baseline else _compare(measured[label], base)
                for label in groups}
    adjusted = dict(zip(compared, holm([read_p_value(c) for c in compared.values()]),
                        strict=True))
    return OutcomeSplit(by, baseline, outcome_name, kind, tuple(
        GroupStats(label, tally.cases, measured[label], compared[label], adjusted[label])
        for label, tally in groups.items()))


# -- tables -----------------------------------------------------------------------------------


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """The rows as CSV text with a header (columns: those given, else the first row's keys);
    None is written as an empty cell. Written by engine.csvout, the one CSV writer."""
    return csvout.dict_csv_text(rows, columns)
