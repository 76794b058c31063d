"""The estimates the dashboard's statistics are made of: a share, a rate, and the comparison
of two of either, each with its interval and test, plus Holm's adjustment of several p-values.

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
exist, e.g. a rate of zero cases); `measure_row` lays one out, with its comparison, as a row
of COLUMNS, the columns every comparison table of the dashboard shares.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from engine.errors import InvalidArgumentError

CONFIDENCE = 0.95

# the columns of every comparison table (`rows()` of versions, splits and engagement)
COLUMNS: tuple[str, ...] = (
    "cohort", "group", "measure", "n", "count", "value", "ci_low", "ci_high",
    "compared_with", "comparison", "estimate", "estimate_ci_low", "estimate_ci_high",
    "p_value", "exact_p_value", "dispersion", "adjusted_p_value", "small_sample")


@dataclass(frozen=True)
class _Libraries:
    """scipy.stats and the statsmodels modules the estimates call."""

    stats: ModuleType
    proportion: ModuleType
    rates: ModuleType


@functools.cache
def _libraries() -> _Libraries:
    """Imported on first use: they take over a second to import, which every command-line call
    and worker start would otherwise pay without computing a single estimate."""
    from scipy import stats
    from statsmodels.stats import proportion, rates

    return _Libraries(stats=stats, proportion=proportion, rates=rates)


def load_libraries() -> None:
    """Import the statistics libraries now: a server calls this at start, so the first
    dashboard request does not pay for the import."""
    _libraries()


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
    low, high = _libraries().proportion.proportion_confint(
        successes, n, alpha=1 - confidence, method="wilson")
    return Proportion(successes, n, successes / n, _clip01(low), _clip01(high), confidence)


def compare_proportions(s1: int, n1: int, s2: int, n2: int,
                        confidence: float = CONFIDENCE) -> ProportionDifference:
    """Group 1's share minus group 2's, with Newcombe's interval and the tests (see the
    module docstring)."""
    _check_count(s1, n1)
    _check_count(s2, n2)
    if n1 == 0 or n2 == 0:
        return ProportionDifference(None, None, None, None, None, True, confidence)
    low, high = _libraries().proportion.confint_proportions_2indep(
        s1, n1, s2, n2, method="newcomb", compare="diff", alpha=1 - confidence)
    table = [[s1, n1 - s1], [s2, n2 - s2]]
    total, successes = n1 + n2, s1 + s2
    expected = [n * k / total for n in (n1, n2) for k in (successes, total - successes)]
    if successes in (0, total):  # both shares 0, or both 1: no difference at all
        p_value: float | None = 1.0
    else:
        p_value = _number(_libraries().stats.chi2_contingency(table, correction=False).pvalue)
    _, fisher_p = _libraries().stats.fisher_exact(table, alternative="two-sided")
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
    low, high = _libraries().rates.confint_poisson(
        events, exposure, method="exact-c", alpha=1 - confidence)
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
    result = _libraries().stats.binomtest(events1, total, exposure1 / (exposure1 + exposure2))
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
        if events:  # each distinct count once, times its people: a group is 100,000s
            mean = events / exposure
            chi2 += sum(people * (count - mean) ** 2
                        for count, people in Counter(counts).items()) / mean
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
    z = float(_libraries().stats.t.ppf(0.5 + confidence / 2, df))
    p_value = float(2 * _libraries().stats.t.sf(abs(log_ratio) / se, df))
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


# -- as rows of a comparison table ------------------------------------------------------------


def table_row(cohort: str, group: str, measure: str, **values: Any) -> dict[str, Any]:
    """One row of COLUMNS: the labels and the values given, None in every other column."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(cohort=cohort, group=group, measure=measure, **values)
    return row


def measure_row(cohort: str, group: str, measure: str, value: Proportion | Rate,
                compared: ProportionDifference | RateComparison | None,
                compared_with: str | None) -> dict[str, Any]:
    """One estimate, and its comparison with `compared_with`'s if any, as a row of COLUMNS."""
    if isinstance(value, Proportion):
        row = table_row(cohort, group, measure, n=value.n, count=value.count, value=value.rate,
                        ci_low=value.ci_low, ci_high=value.ci_high)
    else:
        row = table_row(cohort, group, measure, n=value.exposure, count=value.events,
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
