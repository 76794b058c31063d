"""What worked: the statistics of a programme's cases, computed from plain records.

Pure functions over cases (`CaseRecord`: pathway, version, status, data, created_at; the
workflow state is not read) and their events (`Event`), plus, where a measure needs one, an
outcome per case supplied by the caller (True/False, or a count such as reconviction events).
Nothing here touches storage; the web dashboard and the CLI load the records and call these.

Every interval and test comes from scipy or statsmodels, never a hand-written formula:

* one proportion: Wilson score interval
  (`statsmodels.stats.proportion.proportion_confint(method="wilson")`);
* difference of two proportions (p1 - p2): Newcombe's hybrid score interval, method 10 of
  Newcombe (1998) (`statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb")`);
  p-value from Pearson's chi-square test without continuity correction, i.e. the pooled
  two-proportion z test (`scipy.stats.chi2_contingency(correction=False)`), and, for small
  samples, the two-sided Fisher exact test (`scipy.stats.fisher_exact`);
* one rate (events per 100 cases): exact Poisson interval (Garwood)
  (`statsmodels.stats.rates.confint_poisson(method="exact-c")`);
* two rates: rate ratio with the exact conditional interval and test: given the total of
  events, the first group's events are binomial with p = R*e1 / (R*e1 + e2), so
  `scipy.stats.binomtest` gives the exact test of R = 1 and its Clopper-Pearson interval,
  mapped to R. It assumes Poisson counts; counts that vary more than that between people
  (reconvictions usually do) make the interval too narrow, so it is used only when the
  per-person counts are not known (or one group has no events);
* two rates from per-person counts (what the dashboard compares): quasi-Poisson, the
  Poisson GLM's Wald interval and test of the log rate ratio with its variance scaled by the
  Pearson dispersion (X2 / (n - 2), floored at 1 so it is never narrower than Poisson's),
  on Student's t with n - 2 df: written out by hand because it is two lines, and checked
  against statsmodels' `GLM(family=Poisson()).fit(scale="X2", use_t=True)` in the tests;
  the dispersion is reported with it.

Results are frozen dataclasses holding plain ints and floats (None where a number does not
exist, e.g. a rate of zero cases); each has `rows()` giving a list of dicts, all with the same
keys in the same order, for a table or `csv_text`.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from scipy import stats as scipy_stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.rates import confint_poisson

from engine import csvout, disclosure
from engine.dotted import dig
from engine.errors import InvalidArgumentError
from engine.model import CaseRecord, Event
from engine.ports import CaseFacts, StepCounts, StepFigures

OutcomeValue = bool | int | None
Outcomes = Mapping[int, OutcomeValue]

CONFIDENCE = 0.95
# the events the dashboard's figures read (and its summaries keep)
SUMMARISED = ("case_started", "version_allocated", "task_ready", "task_completed",
              "outcome_recorded")
MISSING = "(missing)"
NO_USER = "(no user)"
UNKNOWN_ORGANISATION = "(unknown)"

# the columns of every comparison table (`rows()` of versions, splits and engagement)
COLUMNS: tuple[str, ...] = (
    "cohort", "group", "measure", "n", "count", "value", "ci_low", "ci_high",
    "compared_with", "comparison", "estimate", "estimate_ci_low", "estimate_ci_high",
    "p_value", "exact_p_value", "dispersion", "adjusted_p_value", "small_sample")
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "level", "name", "organisation", "month", "tasks", "previous", "change", "change_pct")


# -- the numbers ------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A plain float, or None for a value that is not a finite number."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Proportion:
    """`count` of `n` cases, as a share (`rate`, 0..1) with its Wilson interval.
    n = 0 gives rate and interval None."""

    count: int
    n: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float = CONFIDENCE
    method: str = "wilson"


@dataclass(frozen=True)
class ProportionDifference:
    """p1 - p2 with its Newcombe interval. `p_value`: Pearson chi-square (pooled z) test of
    p1 = p2; `fisher_p_value`: two-sided Fisher exact test. `small_sample` is True when an
    expected cell count is below 5: read the Fisher p-value then. All None when either
    group is empty."""

    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    fisher_p_value: float | None
    small_sample: bool
    confidence: float = CONFIDENCE
    method: str = "newcombe hybrid score; pearson chi-square; fisher exact"


@dataclass(frozen=True)
class Rate:
    """`events` over `exposure` (e.g. cases), as events per `per` with the exact Poisson
    (Garwood) interval. Exposure 0 gives rate and interval None."""

    events: int
    exposure: float
    per: float
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float = CONFIDENCE
    method: str = "exact poisson (garwood)"
    # each person's events, when the rate is of people (one unit of exposure each): what
    # a comparison needs to see how much counts vary between people
    counts: tuple[int, ...] | None = dataclasses.field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class RateComparison:
    """Rate 1 / rate 2 with the exact conditional interval and test (binomial, given the
    total of events); `difference` is rate 1 - rate 2 per `per` (point estimate only).
    `ratio` is None when rate 2 is zero; `ci_high` None means unbounded. Given per-person
    counts the interval and test are quasi-Poisson instead and `dispersion` is the estimated
    variance/mean (Pearson); None when no per-person counts were given."""

    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    difference: float | None
    p_value: float | None
    per: float = 100.0
    confidence: float = CONFIDENCE
    method: str = "exact conditional binomial (clopper-pearson)"
    dispersion: float | None = None


def proportion_ci(successes: int, n: int, confidence: float = CONFIDENCE) -> Proportion:
    """The share successes/n with its Wilson score interval (None for n = 0)."""
    _check_count(successes, n)
    if n == 0:
        return Proportion(successes, n, None, None, None, confidence)
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    return Proportion(successes, n, successes / n, _clip01(low), _clip01(high), confidence)


def compare_proportions(s1: int, n1: int, s2: int, n2: int,
                        confidence: float = CONFIDENCE) -> ProportionDifference:
    """Group 1's share minus group 2's, with Newcombe's interval and the tests (see the
    module docstring)."""
    _check_count(s1, n1)
    _check_count(s2, n2)
    if n1 == 0 or n2 == 0:
        return ProportionDifference(None, None, None, None, None, True, confidence)
    low, high = confint_proportions_2indep(s1, n1, s2, n2, method="newcomb", compare="diff",
                                           alpha=1 - confidence)
    table = [[s1, n1 - s1], [s2, n2 - s2]]
    total, successes = n1 + n2, s1 + s2
    expected = [n * k / total for n in (n1, n2) for k in (successes, total - successes)]
    if successes in (0, total):  # both shares 0, or both 1: no difference at all
        p_value: float | None = 1.0
    else:
        p_value = _number(scipy_stats.chi2_contingency(table, correction=False).pvalue)
    _, fisher_p = scipy_stats.fisher_exact(table, alternative="two-sided")
    return ProportionDifference(s1 / n1 - s2 / n2, _number(low), _number(high), p_value,
                                _number(fisher_p), min(expected) < 5, confidence)


def rate_ci(events: int, exposure: float, per: float = 100.0,
            confidence: float = CONFIDENCE) -> Rate:
    """Events per `per` units of exposure with the exact Poisson interval."""
    if events < 0 or exposure < 0:
        raise InvalidArgumentError("events and exposure must not be negative",
                                   details={"events": events, "exposure": exposure})
    if exposure == 0:
        return Rate(events, exposure, per, None, None, None, confidence)
    low, high = confint_poisson(events, exposure, method="exact-c", alpha=1 - confidence)
    return Rate(events, exposure, per, events / exposure * per, _scaled(low, per),
                _scaled(high, per), confidence)


def compare_rates(events1: int, exposure1: float, events2: int, exposure2: float,
                  per: float = 100.0, confidence: float = CONFIDENCE, *,
                  counts1: Sequence[int] | None = None,
                  counts2: Sequence[int] | None = None) -> RateComparison:
    """Rate 1 against rate 2: ratio, its interval, the test of equal rates, and the
    difference per `per`.

    Without per-person counts: the exact conditional (Poisson) interval and test. With them
    (`counts1`, `counts2`: each person's events, one person one unit of exposure): the
    quasi-Poisson Wald interval and test on the log ratio, whose variance is the Poisson one
    times the Pearson dispersion (never less than 1), because reconvictions vary more
    between people than Poisson allows and the exact interval is then too narrow."""
    if min(events1, events2) < 0 or min(exposure1, exposure2) < 0:
        raise InvalidArgumentError("events and exposures must not be negative")
    dispersion = _pearson_dispersion(events1, exposure1, counts1, events2, exposure2, counts2)
    if exposure1 == 0 or exposure2 == 0:
        return RateComparison(None, None, None, None, None, per, confidence)
    rate1, rate2 = events1 / exposure1, events2 / exposure2
    difference = (rate1 - rate2) * per
    ratio = rate1 / rate2 if rate2 > 0 else None
    total = events1 + events2
    if total == 0:
        return RateComparison(None, None, None, difference, 1.0, per, confidence,
                              dispersion=dispersion)
    if dispersion is not None and events1 > 0 and events2 > 0:
        return _quasi_poisson(events1, exposure1, events2, exposure2, dispersion,
                              len(counts1 or ()) + len(counts2 or ()) - 2, difference, per,
                              confidence)
    # no per-person counts, or no events in one arm (no log ratio): the exact method
    result = scipy_stats.binomtest(events1, total, exposure1 / (exposure1 + exposure2))
    interval = result.proportion_ci(confidence_level=confidence, method="exact")
    scale = exposure2 / exposure1

    def to_ratio(share: float) -> float | None:
        return None if share >= 1 else share / (1 - share) * scale

    return RateComparison(ratio, to_ratio(float(interval.low)), to_ratio(float(interval.high)),
                          difference, _number(result.pvalue), per, confidence,
                          dispersion=dispersion)


QUASI_POISSON = "quasi-poisson (pearson dispersion, wald t on the log ratio)"


def _pearson_dispersion(events1: int, exposure1: float, counts1: Sequence[int] | None,
                        events2: int, exposure2: float, counts2: Sequence[int] | None
                        ) -> float | None:
    """Variance/mean of per-person counts around each arm's own rate: Pearson's X2 over
    n - 2 degrees of freedom, as a quasi-Poisson model estimates it (None without counts,
    or with two people or fewer: nothing left to estimate it from)."""
    if counts1 is None and counts2 is None:
        return None
    if counts1 is None or counts2 is None:
        raise InvalidArgumentError("per-person counts are needed for both groups or neither")
    chi2 = 0.0
    for events, exposure, counts in ((events1, exposure1, counts1),
                                     (events2, exposure2, counts2)):
        if len(counts) != exposure or sum(counts) != events or min(counts, default=0) < 0:
            raise InvalidArgumentError(
                "per-person counts must be one whole count of zero or more per person, "
                "adding up to the group's events",
                details={"events": events, "exposure": exposure, "people": len(counts),
                         "sum": sum(counts)})
        if events:
            mean = events / exposure
            chi2 += sum((count - mean) ** 2 for count in counts) / mean
    people = len(counts1) + len(counts2)
    return chi2 / (people - 2) if people > 2 else None


def _quasi_poisson(events1: int, exposure1: float, events2: int, exposure2: float,
                   dispersion: float, df: int, difference: float, per: float,
                   confidence: float) -> RateComparison:
    """Wald interval and test of the log rate ratio with variance
    max(1, dispersion) x (1/events1 + 1/events2): the quasi-Poisson model's, floored at
    Poisson's so that a chance under-dispersion never narrows the interval. Student's t on
    the `df` the dispersion was estimated with (as R's quasipoisson), which matters for the
    small groups a split makes."""
    log_ratio = math.log((events1 / exposure1) / (events2 / exposure2))
    se = math.sqrt(max(1.0, dispersion) * (1 / events1 + 1 / events2))
    z = float(scipy_stats.t.ppf(0.5 + confidence / 2, df))
    p_value = float(2 * scipy_stats.t.sf(abs(log_ratio) / se, df))
    return RateComparison(math.exp(log_ratio), math.exp(log_ratio - z * se),
                          math.exp(log_ratio + z * se), difference, p_value, per,
                          confidence, QUASI_POISSON, dispersion)


def _check_count(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise InvalidArgumentError(f"need 0 <= successes <= n, got {successes} of {n}",
                                   details={"successes": successes, "n": n})


def _clip01(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else min(1.0, max(0.0, number))


def _scaled(value: Any, per: float) -> float | None:
    number = _number(value)
    return None if number is None else number * per


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
    for event in _ordered(events):
        if event.type == "outcome_recorded" and event.data.get("outcome") == outcome:
            value = event.data.get("value")
            if isinstance(value, bool) or value is None:
                found[event.case_id] = bool(value)
            elif isinstance(value, int):
                found[event.case_id] = value
            else:
                found[event.case_id] = True
    return {case_id: found.get(case_id, missing) for case_id in _ids(cases)}


def _outcome_kind(outcomes: Outcomes | None) -> str | None:
    """'proportion' when every known outcome is a bool, 'rate' when some is a count."""
    if outcomes is None:
        return None
    values = [v for v in outcomes.values() if v is not None]
    for value in values:
        if not isinstance(value, (bool, int)) or value < 0:
            raise InvalidArgumentError(
                "an outcome is True/False or a whole count of zero or more",
                details={"value": repr(value)})
    if values and not all(isinstance(v, bool) for v in values):
        return "rate"
    return "proportion"


def _outcome_of(ids: Sequence[int], outcomes: Outcomes | None,
                kind: str | None) -> Proportion | Rate | None:
    if outcomes is None or kind is None:
        return None
    known = [int(value) for value in (outcomes.get(i) for i in ids) if value is not None]
    if kind == "rate":
        return replace(rate_ci(sum(known), len(known)), counts=tuple(known))
    return proportion_ci(sum(1 for v in known if v), len(known))


def _missing_of(ids: Sequence[int], outcomes: Outcomes | None) -> int:
    """How many of the cases have no known outcome (absent from `outcomes`, or None)."""
    if outcomes is None:
        return 0
    return sum(1 for i in ids if outcomes.get(i) is None)


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


# -- events of a case -------------------------------------------------------------------------


def _ids(cases: Iterable[CaseRecord]) -> list[int]:
    return [case.id for case in cases if case.id is not None]


def _ordered(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.case_id, e.seq))


def _by_case(events: Iterable[Event]) -> dict[int, list[Event]]:
    grouped: dict[int, list[Event]] = defaultdict(list)
    for event in _ordered(events):
        grouped[event.case_id].append(event)
    return grouped


def _started(case: CaseRecord, events: Sequence[Event]) -> datetime | None:
    """When the case started: its case_started event, else its created_at."""
    for event in events:
        if event.type == "case_started":
            return event.at
    return case.created_at


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _split_arm(events: Sequence[Event]) -> int | None:
    """The version a randomised split allocated the case to (None: not allocated by one)."""
    for event in events:
        if event.type == "version_allocated" and event.data.get("policy") == "split":
            version = event.data.get("version")
            return version if isinstance(version, int) else None
    return None


def _happened(events: Sequence[Event], step: str) -> bool:
    for event in events:
        if event.type == "task_completed" and event.step == step:
            return True
        if (event.type == "outcome_recorded" and event.data.get("outcome") == step
                and bool(event.data.get("value"))):
            return True
    return False


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
            rows.append(_row(self.cohort, group, "cases", n=v.cases, count=v.cases))
            rows.append(_measure_row(self.cohort, group, "completed", v.completed,
                                     v.completed_vs_baseline, vs))
            for step in v.steps:
                rows.append(_measure_row(self.cohort, group, f"step {step.step} completed",
                                         step.completion, step.vs_baseline, vs))
                rows.append(_row(self.cohort, group, f"step {step.step} median hours",
                                 n=step.completions, value=step.median_hours))
                rows.append(_row(self.cohort, group, f"step {step.step} mean hours",
                                 n=step.completions, value=step.mean_hours))
                rows.append(_row(self.cohort, group,
                                 f"step {step.step} median hours from start",
                                 n=step.completion.count, value=step.median_hours_from_start))
            if v.outcome is not None:
                rows.append(_measure_row(self.cohort, group, self._outcome_measure(),
                                         v.outcome, v.vs_baseline, vs))
                rows.append(_row(self.cohort, group, self.missing_measure(), n=v.cases,
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
    by_case = _by_case(e for e in events if e.case_id in chosen_ids)
    step_ids = list(steps) if steps is not None else _steps_seen(by_case)
    return _versions_compared(
        chosen, name, {c.id or 0: _split_arm(by_case.get(c.id or 0, [])) for c in chosen},
        step_ids, lambda _cohort, _version, step, members: _step_stats(step, members, by_case),
        outcomes, outcome_name, baseline)


def version_comparison_from(cases: Iterable[CaseRecord], facts: Iterable[CaseFacts],
                            figures: StepFigures, outcomes: Outcomes | None = None, *,
                            outcome_name: str | None = None, baseline: int | None = None,
                            pathway: str | None = None) -> VersionComparison:
    """version_comparison from the summaries kept as events are written (the cases' arms in
    `facts`, the steps' counts in `figures`): the same figures, without reading events."""
    chosen, name = _one_pathway(cases, pathway)
    arms = {fact.case_id: fact.arm for fact in facts}

    def step_stats(cohort: str, version: int, step: str, members: list[CaseRecord]
                   ) -> StepStats:
        found = figures.counts.get((cohort, version, step), StepCounts(0, 0, 0, None, None,
                                                                       None))
        return StepStats(step, found.reached, proportion_ci(found.done, len(members)), None,
                         found.completions, found.median_hours, found.mean_hours,
                         found.median_hours_from_start)

    return _versions_compared(chosen, name, arms, list(figures.steps), step_stats, outcomes,
                              outcome_name, baseline)


StepStatsOf = Callable[[str, int, str, list[CaseRecord]], "StepStats"]


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
    """Both cohorts (every case by version, randomised cases by arm) of a comparison."""
    kind = _outcome_kind(outcomes)

    def compare(cohort: str, groups: dict[int, list[CaseRecord]], base: int | None
                ) -> VersionComparison:
        if base is None or base not in groups:
            base = min(groups) if groups else None

        def stats(version: int, base_stats: VersionStats | None) -> VersionStats:
            return _version_stats(
                version, groups[version], step_ids, outcomes, kind, base_stats,
                lambda step, members: step_stats(cohort, version, step, members))

        base_stats = stats(base, None) if base is not None else None
        versions = tuple(stats(v, None if v == base else base_stats) for v in sorted(groups))
        return VersionComparison(name, cohort, base, outcome_name, kind, versions)

    everyone: dict[int, list[CaseRecord]] = defaultdict(list)
    by_arm: dict[int, list[CaseRecord]] = defaultdict(list)
    for case in chosen:
        everyone[case.version].append(case)
        arm = arms.get(case.id or 0)
        if arm is not None:
            by_arm[arm].append(case)
    result = compare("all", dict(everyone), baseline)
    if by_arm:
        randomised = compare("randomised", dict(by_arm), baseline)
        result = replace(result, randomised=randomised)
    return result


def _steps_seen(by_case: Mapping[int, list[Event]]) -> list[str]:
    first: dict[str, tuple[datetime, int, int]] = {}
    for events in by_case.values():
        for event in events:
            if event.type in ("task_ready", "task_completed") and event.step:
                key = (_utc(event.at), event.case_id, event.seq)
                if event.step not in first or key < first[event.step]:
                    first[event.step] = key
    return sorted(first, key=lambda step: first[step])


def _version_stats(version: int, cases: list[CaseRecord], steps: Sequence[str],
                   outcomes: Outcomes | None, kind: str | None, base: VersionStats | None,
                   step_stats_of: Callable[[str, list[CaseRecord]], StepStats]
                   ) -> VersionStats:
    ids = _ids(cases)
    completed = proportion_ci(sum(1 for c in cases if c.status == "completed"), len(cases))
    step_stats = []
    for index, step in enumerate(steps):
        stats = step_stats_of(step, cases)
        if base is not None:
            base_step = base.steps[index].completion
            stats = StepStats(stats.step, stats.reached, stats.completion,
                              compare_proportions(stats.completion.count, stats.completion.n,
                                                  base_step.count, base_step.n),
                              stats.completions, stats.median_hours, stats.mean_hours,
                              stats.median_hours_from_start)
        step_stats.append(stats)
    outcome = _outcome_of(ids, outcomes, kind)
    missing = _missing_of(ids, outcomes)
    return VersionStats(
        version, len(cases), completed,
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
        start = _started(case, events)
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
                    durations.append(_hours(began, event.at))
                if first_done is None:
                    first_done = event.at
        reached += was_ready or first_done is not None
        if first_done is not None:
            done += 1
            if start is not None:
                from_start.append(_hours(start, first_done))
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


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment (Holm 1979) of several p-values read together, so that
    one of many splits is not called significant by chance; None stays None and is not
    counted. Controls the family-wise error rate without assuming independence."""
    known = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(known):
        running = max(running, min(1.0, (len(known) - rank) * p))
        adjusted[index] = running
    return adjusted


def read_p_value(compared: ProportionDifference | RateComparison | None) -> float | None:
    """The p-value to read: Fisher's exact under a small sample, else the test's."""
    if isinstance(compared, ProportionDifference):
        return compared.fisher_p_value if compared.small_sample else compared.p_value
    return None if compared is None else compared.p_value


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
            rows.append(_row(self.by, g.group, "cases", n=g.cases, count=g.cases))
            if g.outcome is not None:
                row = _measure_row(self.by, g.group, measure, g.outcome, g.vs_baseline,
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
    by_case = _by_case(events)
    return split_by_step_from(
        cases, {case_id for case_id, found in by_case.items() if _happened(found, step)},
        step, outcomes, outcome_name=outcome_name)


def split_by_step_from(cases: Iterable[CaseRecord], happened: Container[int], step: str,
                       outcomes: Outcomes, *, outcome_name: str | None = None
                       ) -> OutcomeSplit:
    """split_by_step, given the ids of the cases where the step happened."""
    groups: dict[str, list[int]] = {"yes": [], "no": []}
    for case in cases:
        if case.id is not None:
            groups["yes" if case.id in happened else "no"].append(case.id)
    return _split(f"step {step}", groups, "no", outcomes, outcome_name)


def split_by_field(cases: Iterable[CaseRecord], field: str, outcomes: Outcomes, *,
                   baseline: str | None = None, outcome_name: str | None = None
                   ) -> OutcomeSplit:
    """Outcome by the value of `field` in the case's data (a dotted path such as
    'client.has_children' reaches into nested objects). Values are labelled as JSON would
    write them ('true', 'false', '3', 'text'); no value is '(missing)'. `baseline` defaults
    to the largest group with a value (ties: the first label in sorted order); '(missing)'
    only when chosen or when no case has a value. A baseline that is no group is refused."""
    groups: dict[str, list[int]] = defaultdict(list)
    for case in cases:
        if case.id is not None:
            groups[_label(dig(case.data, field))].append(case.id)
    if baseline is not None and baseline not in groups:
        raise InvalidArgumentError(
            f"the split by {field[:60]!r} has no group {baseline[:60]!r} to compare against: "
            f"choose one of {', '.join(sorted(groups))}",
            details={"baseline": baseline[:60], "groups": sorted(groups)})
    if baseline is None and groups:
        baseline = min(groups, key=lambda label: (label == MISSING, -len(groups[label]),
                                                  label))
    return _split(f"field {field}", dict(sorted(groups.items())), baseline, outcomes,
                  outcome_name)


def _split(by: str, groups: Mapping[str, list[int]], baseline: str | None, outcomes: Outcomes,
           outcome_name: str | None) -> OutcomeSplit:
    kind = _outcome_kind(outcomes)
    measured = {label: _outcome_of(ids, outcomes, kind) for label, ids in groups.items()}
    base = measured.get(baseline) if baseline is not None else None
    compared = {label: None if label == baseline else _compare(measured[label], base)
                for label in groups}
    adjusted = dict(zip(compared, holm([read_p_value(c) for c in compared.values()]),
                        strict=True))
    return OutcomeSplit(by, baseline, outcome_name, kind, tuple(
        GroupStats(label, len(ids), measured[label], compared[label], adjusted[label])
        for label, ids in groups.items()))


def _label(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- engagement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Engagement:
    """The share of cases still engaged `days` after they started (see `engagement`)."""

    days: int
    as_of: datetime | None
    overall: Proportion
    by_version: tuple[tuple[int, Proportion], ...]
    too_recent: int  # cases left out: started less than `days` before as_of

    def rows(self) -> list[dict[str, Any]]:
        measure = f"engaged after {self.days} days"
        rows = [_measure_row("engagement", "all", measure, self.overall, None, None)]
        rows.extend(_measure_row("engagement", f"version {version}", measure, share, None, None)
                    for version, share in self.by_version)
        return rows


def engagement(cases: Iterable[CaseRecord], events: Iterable[Event], days: int = 30, *,
               as_of: datetime | None = None) -> Engagement:
    """Share of cases still engaged `days` after they started.

    A case started when its case_started event was recorded (else at its created_at; a case
    with neither is left out). It counts as engaged when it has at least one task_completed
    event at or after start + `days` days: someone still did work on it a month on. A case
    that ended, was cancelled, or went quiet before then is not engaged. With `as_of`, cases
    started less than `days` before it are left out (they could not have got there yet) and
    counted in `too_recent`; task completions after `as_of` are ignored."""
    by_case = _by_case(events)

    def engaged(case: CaseRecord, mark: datetime) -> bool:
        return any(e.type == "task_completed" and _utc(e.at) >= mark
                   and (as_of is None or _utc(e.at) <= _utc(as_of))
                   for e in by_case.get(case.id or 0, []))

    return _engagement(cases, days, as_of,
                       lambda case: _started(case, by_case.get(case.id or 0, [])), engaged)


def engagement_from(cases: Iterable[CaseRecord], facts: Iterable[CaseFacts], days: int = 30
                    ) -> Engagement:
    """engagement (without as_of) from each case's first start and last task completed."""
    by_id = {fact.case_id: fact for fact in facts}

    def started(case: CaseRecord) -> datetime | None:
        fact = by_id.get(case.id or 0)
        return fact.started_at if fact is not None and fact.started_at else case.created_at

    def engaged(case: CaseRecord, mark: datetime) -> bool:
        fact = by_id.get(case.id or 0)
        last = fact.last_completed_at if fact is not None else None
        return last is not None and _utc(last) >= mark

    return _engagement(cases, days, None, started, engaged)


def _engagement(cases: Iterable[CaseRecord], days: int, as_of: datetime | None,
                started: Callable[[CaseRecord], datetime | None],
                engaged: Callable[[CaseRecord, datetime], bool]) -> Engagement:
    if days < 0:
        raise InvalidArgumentError("days must not be negative", details={"days": days})
    window = timedelta(days=days)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    too_recent = 0
    for case in cases:
        if case.id is None:
            continue
        start = started(case)
        if start is None:
            continue
        mark = _utc(start) + window
        if as_of is not None and mark > _utc(as_of):
            too_recent += 1
            continue
        totals[case.version][0] += int(engaged(case, mark))
        totals[case.version][1] += 1
    overall = proportion_ci(sum(t[0] for t in totals.values()),
                            sum(t[1] for t in totals.values()))
    return Engagement(days, as_of, overall,
                      tuple((v, proportion_ci(*totals[v])) for v in sorted(totals)),
                      too_recent)


def _utc(moment: datetime) -> datetime:
    """Aware times in UTC; naive times are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# -- activity month on month ------------------------------------------------------------------


@dataclass(frozen=True)
class MonthActivity:
    """Tasks completed by one caseworker or organisation in one calendar month (UTC), and
    the change from the month before (None in the first month; `change_pct` also None when
    the month before had none)."""

    level: str  # 'caseworker' or 'organisation'
    name: str
    organisation: str | None
    month: str  # 'YYYY-MM'
    tasks: int
    previous: int | None
    change: int | None
    change_pct: float | None


@dataclass(frozen=True)
class Activity:
    months: tuple[str, ...]  # every calendar month from the first task to the last
    caseworkers: tuple[MonthActivity, ...]
    organisations: tuple[MonthActivity, ...]

    def rows(self) -> list[dict[str, Any]]:
        return [{column: getattr(row, column) for column in ACTIVITY_COLUMNS}
                for row in (*self.organisations, *self.caseworkers)]


def activity_by_month(events: Iterable[Event], organisations: Mapping[str, str]
                      ) -> Activity:
    """Tasks completed (task_completed events) per caseworker (the event's actor) and per
    organisation (`organisations` maps username -> organisation id) in each calendar month,
    month on month. Every month from the first to the last task appears for everyone, with 0
    where they completed none. An event without an actor counts as '(no user)', a user not
    in `organisations` under organisation '(unknown)'."""
    counts: dict[tuple[str | None, str], int] = defaultdict(int)
    for event in events:
        if event.type == "task_completed":
            moment = _utc(event.at)
            counts[(event.actor, f"{moment.year:04d}-{moment.month:02d}")] += 1
    return activity_from_counts(((actor, month, tasks) for (actor, month), tasks
                                 in counts.items()), organisations)


def activity_from_counts(counts: Iterable[tuple[str | None, str, int]],
                         organisations: Mapping[str, str]) -> Activity:
    """activity_by_month from tasks completed per (actor, month 'YYYY-MM')."""
    per_user: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_org: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    user_org: dict[str, str] = {}
    seen: set[str] = set()
    for actor, month, tasks in counts:
        user = actor or NO_USER
        organisation = organisations.get(actor or "", UNKNOWN_ORGANISATION)
        user_org[user] = organisation
        per_user[user][month] += tasks
        per_org[organisation][month] += tasks
        seen.add(month)
    months = _month_range(min(seen), max(seen)) if seen else ()

    def series(level: str, counts: Mapping[str, Mapping[str, int]],
               org_of: Mapping[str, str] | None) -> tuple[MonthActivity, ...]:
        rows = []
        for name in sorted(counts):
            previous: int | None = None
            for month in months:
                tasks = counts[name].get(month, 0)
                change = None if previous is None else tasks - previous
                pct = (None if previous is None or previous == 0 or change is None
                       else change / previous * 100)
                rows.append(MonthActivity(level, name,
                                          org_of[name] if org_of is not None else name,
                                          month, tasks, previous, change, pct))
                previous = tasks
        return tuple(rows)

    return Activity(months, series("caseworker", per_user, user_org),
                    series("organisation", per_org, None))


def _month_range(first: str, last: str) -> tuple[str, ...]:
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)


# -- tables -----------------------------------------------------------------------------------


def _row(cohort: str, group: str, measure: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(cohort=cohort, group=group, measure=measure, **values)
    return row


def _measure_row(cohort: str, group: str, measure: str, value: Proportion | Rate,
                 compared: ProportionDifference | RateComparison | None,
                 compared_with: str | None) -> dict[str, Any]:
    if isinstance(value, Proportion):
        row = _row(cohort, group, measure, n=value.n, count=value.count, value=value.rate,
                   ci_low=value.ci_low, ci_high=value.ci_high)
    else:
        row = _row(cohort, group, measure, n=value.exposure, count=value.events,
                   value=value.rate, ci_low=value.ci_low, ci_high=value.ci_high)
    if isinstance(compared, ProportionDifference):
        row.update(compared_with=compared_with, comparison="difference",
                   estimate=compared.difference, estimate_ci_low=compared.ci_low,
                   estimate_ci_high=compared.ci_high, p_value=compared.p_value,
                   exact_p_value=compared.fisher_p_value, small_sample=compared.small_sample)
    elif isinstance(compared, RateComparison):
        row.update(compared_with=compared_with, comparison="rate ratio",
                   estimate=compared.ratio, estimate_ci_low=compared.ci_low,
                   estimate_ci_high=compared.ci_high, p_value=compared.p_value,
                   exact_p_value=None if compared.method == QUASI_POISSON else compared.p_value,
                   dispersion=compared.dispersion)
    return row


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """The rows as CSV text with a header (columns: those given, else the first row's keys);
    None is written as an empty cell. Written by engine.csvout, the one CSV writer."""
    return csvout.dict_csv_text(rows, columns)


# -- disclosure control -----------------------------------------------------------------------

# the columns a hidden comparison row blanks (labels such as group and measure stay)
_FIGURES = ("n", "count", "value", "ci_low", "ci_high", "estimate", "estimate_ci_low",
            "estimate_ci_high", "p_value", "exact_p_value", "dispersion", "adjusted_p_value",
            "small_sample")
_VERSUS = ("estimate", "estimate_ci_low", "estimate_ci_high", "p_value", "exact_p_value",
           "dispersion", "adjusted_p_value", "small_sample")
_TOTAL_GROUP = "all"
_HOURS = (" median hours", " mean hours", " median hours from start")


def protected_rows(rows: Sequence[Mapping[str, Any]],
                   threshold: int = disclosure.DEFAULT_THRESHOLD) -> list[dict[str, Any]]:
    """The rows of a comparison table (versions, a split, engagement) as they may be shown:
    engine.disclosure's rule applied to each measure across the groups of each cohort. A
    group too small to show is hidden in every measure; a step's times go with its
    completion count; a difference or p-value goes when its baseline's row is hidden."""
    out = [dict(row) for row in rows]
    partitions: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for index, row in enumerate(out):
        if not str(row["measure"]).endswith(_HOURS):
            partitions[(row["cohort"], row["measure"])].append(index)
    hidden: set[int] = set()
    small_groups: dict[Any, set[Any]] = defaultdict(set)
    for (cohort, measure), members in sorted(partitions.items(),
                                             key=lambda item: item[0][1] != "cases"):
        groups = [i for i in members if out[i]["group"] != _TOTAL_GROUP]
        totals = [i for i in members if out[i]["group"] == _TOTAL_GROUP]
        forced = {k for k, i in enumerate(groups) if out[i]["group"] in small_groups[cohort]}
        chosen = disclosure.suppress_groups([_cells(out[i]) for i in groups], threshold,
                                            forced=forced)
        for k in chosen:
            hidden.add(groups[k])
            if measure == "cases":
                small_groups[cohort].add(out[groups[k]]["group"])
        hidden.update(i for i in totals if any(disclosure.small(c, threshold)
                                               for c in _cells(out[i])))
    where = {(out[i]["cohort"], out[i]["group"], out[i]["measure"]): i for i in range(len(out))}
    for index, row in enumerate(out):
        measure = str(row["measure"])
        if measure.endswith(_HOURS):
            step = next(measure[:-len(end)] for end in _HOURS if measure.endswith(end))
            basis = where.get((row["cohort"], row["group"], f"{step} completed"))
            if basis is None or basis in hidden or disclosure.small(row["n"], threshold):
                hidden.add(index)
    for index, row in enumerate(out):
        if index in hidden:
            row.update(dict.fromkeys(_FIGURES, disclosure.SUPPRESSED))
            continue
        baseline = where.get((row["cohort"], row.get("compared_with"), row["measure"]))
        if baseline is not None and baseline in hidden:
            row.update(dict.fromkeys(_VERSUS, disclosure.SUPPRESSED))
    return out


def _cells(row: Mapping[str, Any]) -> tuple[float, ...]:
    """The counts of one row: a group's size; a share's count with and without; a rate's
    people and events."""
    n, count = row.get("n") or 0, row.get("count") or 0
    if row["measure"] == "cases" or str(row["measure"]).endswith(" per 100"):
        return (n, count)
    return (n, count, n - count)


def protected_activity(activity: Activity, threshold: int = disclosure.DEFAULT_THRESHOLD
                       ) -> list[dict[str, Any]]:
    """Activity rows (ACTIVITY_COLUMNS) as they may be shown. Organisations by month form one
    table (each organisation's total taken to be known); each organisation's caseworkers by
    month another, whose column totals are that organisation's months (known when shown;
    under a hidden month every caseworker's count is hidden). The month before, the change
    and the change in percent go with the counts they come from."""
    months = list(activity.months)
    hidden: dict[tuple[str, str, str], bool] = {}

    def table(rows: Sequence[MonthActivity]) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = defaultdict(dict)
        for row in rows:
            found[row.name][row.month] = row.tasks
        return found

    organisations = table(activity.organisations)
    names = sorted(organisations)
    matrix = [[organisations[name].get(m, 0) for m in months] for name in names]
    cells = disclosure.suppress_table(matrix, threshold, known_rows=[True] * len(names),
                                      known_columns=[False] * len(months))
    for r, name in enumerate(names):
        for c, month in enumerate(months):
            hidden[("organisation", name, month)] = (r, c) in cells
    by_org: dict[str, list[MonthActivity]] = defaultdict(list)
    for row in activity.caseworkers:
        by_org[row.organisation or UNKNOWN_ORGANISATION].append(row)
    for organisation, rows in by_org.items():
        workers = table(rows)
        people = sorted(workers)
        matrix = [[workers[p].get(m, 0) for m in months] for p in people]
        org_hidden = [hidden.get(("organisation", organisation, m), True) for m in months]
        forced = {(r, c) for r in range(len(people)) for c in range(len(months))
                  if org_hidden[c]}
        cells = disclosure.suppress_table(
            matrix, threshold, known_rows=[False] * len(people),
            known_columns=[not h for h in org_hidden], forced=forced)
        for r, person in enumerate(people):
            for c, month in enumerate(months):
                hidden[("caseworker", person, month)] = (r, c) in cells
    shown: list[dict[str, Any]] = []
    for row in (*activity.organisations, *activity.caseworkers):
        values = {column: getattr(row, column) for column in ACTIVITY_COLUMNS}
        index = months.index(row.month)
        this = hidden.get((row.level, row.name, row.month), True)
        before = index > 0 and hidden.get((row.level, row.name, months[index - 1]), True)
        if this:
            values["tasks"] = disclosure.SUPPRESSED
        if before:
            values["previous"] = disclosure.SUPPRESSED
        if this or before:
            values["change"] = values["change_pct"] = disclosure.SUPPRESSED
        shown.append(values)
    return shown
