"""The statistics core (engine/analysis.py and the modules split from it): known examples
checked against numbers computed independently here or published, a coverage simulation, edge
cases, and each report on synthetic cases and events."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from engine.activity import activity_by_month
from engine.analysis import (
    csv_text,
    outcomes_from_events,
    split_by_field,
    split_by_step,
    version_comparison,
)
from engine.engagement import engagement
from engine.errors import InvalidArgumentError
from engine.estimates import (
    COLUMNS,
    compare_proportions,
    compare_rates,
    holm,
    proportion_ci,
    rate_ci,
)
from engine.model import CaseRecord, Event

Z = 1.959963984540054  # the 97.5% point of the standard normal


def wilson(x: int, n: int, z: float = Z) -> tuple[float, float]:
    """Wilson's score interval, written out (Wilson 1927; Newcombe 1998 method 3)."""
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


# -- known examples ---------------------------------------------------------------------------


def test_wilson_interval_matches_the_formula() -> None:
    result = proportion_ci(7, 20)
    low, high = wilson(7, 20)
    assert result.rate == pytest.approx(0.35)
    assert result.ci_low == pytest.approx(low, abs=1e-12)
    assert result.ci_high == pytest.approx(high, abs=1e-12)
    assert (result.count, result.n, result.method) == (7, 20, "wilson")


def test_difference_matches_newcombes_published_example_and_hand_computation() -> None:
    # Newcombe (1998), Stat Med 17:873, Table II example (a): 56/70 vs 48/80;
    # method 10 (hybrid score) gives 0.0524 to 0.3339.
    result = compare_proportions(56, 70, 48, 80)
    assert result.difference == pytest.approx(0.2)
    assert result.ci_low == pytest.approx(0.0524, abs=5e-5)
    assert result.ci_high == pytest.approx(0.3339, abs=5e-5)
    # the same interval built by hand from the two Wilson intervals
    p1, p2 = 56 / 70, 48 / 80
    l1, u1 = wilson(56, 70)
    l2, u2 = wilson(48, 80)
    low = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    assert result.ci_low == pytest.approx(low, abs=1e-9)
    assert result.ci_high == pytest.approx(high, abs=1e-9)
    # p-value: the pooled two-proportion z test, written out
    pooled = 104 / 150
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 70 + 1 / 80))
    assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)
    assert not result.small_sample


def test_fisher_exact_matches_the_lady_tasting_tea() -> None:
    # Fisher (1935): 3 of 4 cups right either way; two-sided p = 34/70 = 0.4857
    result = compare_proportions(3, 4, 1, 4)
    assert result.fisher_p_value == pytest.approx(34 / 70)
    assert result.small_sample


def test_rate_comparison_matches_peterborough_cohort_one_scale() -> None:
    # 142 vs 155 reconviction events per 100, 1,000 people each (MoJ, 2014)
    result = compare_rates(1420, 1000, 1550, 1000)
    assert result.ratio == pytest.approx(1420 / 1550)
    assert result.difference == pytest.approx(-13.0)
    # the exact interval is close to the log-normal (Wald) one for counts this large
    se = math.sqrt(1 / 1420 + 1 / 1550)
    assert result.ci_low == pytest.approx(1420 / 1550 * math.exp(-Z * se), abs=2e-3)
    assert result.ci_high is not None
    assert result.ci_high == pytest.approx(1420 / 1550 * math.exp(Z * se), abs=2e-3)
    # and the exact conditional test agrees with the normal approximation of it
    share = 1420 / 2970
    z = (share - 0.5) / math.sqrt(0.25 / 2970)
    assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), abs=2e-3)
    assert result.p_value is not None and result.p_value < 0.05


def test_rate_interval_with_no_events_is_the_exact_poisson_bound() -> None:
    result = rate_ci(0, 10)  # per 100: upper bound of a zero count is -ln(0.025)
    assert result.rate == 0
    assert result.ci_low == pytest.approx(0)
    assert result.ci_high == pytest.approx(-math.log(0.025) / 10 * 100, rel=1e-6)


# -- simulation -------------------------------------------------------------------------------


def test_interval_covers_zero_about_95_percent_of_the_time_when_there_is_no_difference(
) -> None:
    rng = np.random.default_rng(20100910)
    trials, n1, n2, p = 2000, 80, 90, 0.3
    covered = significant = 0
    for s1, s2 in zip(rng.binomial(n1, p, trials), rng.binomial(n2, p, trials), strict=True):
        result = compare_proportions(int(s1), n1, int(s2), n2)
        assert result.ci_low is not None and result.ci_high is not None
        covered += result.ci_low <= 0 <= result.ci_high
        significant += result.p_value is not None and result.p_value < 0.05
    assert 0.935 <= covered / trials <= 0.965
    assert 0.035 <= significant / trials <= 0.065


# -- edges ------------------------------------------------------------------------------------


def test_no_cases_gives_no_numbers() -> None:
    empty = proportion_ci(0, 0)
    assert (empty.rate, empty.ci_low, empty.ci_high) == (None, None, None)
    diff = compare_proportions(0, 0, 3, 10)
    assert (diff.difference, diff.ci_low, diff.ci_high, diff.p_value,
            diff.fisher_p_value) == (None, None, None, None, None)
    assert rate_ci(0, 0).rate is None
    assert compare_rates(3, 0, 1, 10).ratio is None


def test_all_successes_and_extremes() -> None:
    full = proportion_ci(10, 10)
    assert full.rate == 1 and full.ci_high == pytest.approx(1)
    assert full.ci_low == pytest.approx(wilson(10, 10)[0])
    same = compare_proportions(5, 5, 5, 5)
    assert same.difference == 0 and same.p_value == 1.0 and same.fisher_p_value == 1.0
    assert same.ci_low is not None and same.ci_high is not None
    assert same.ci_low < 0 < same.ci_high
    apart = compare_proportions(5, 5, 0, 5)
    assert apart.difference == 1
    assert apart.fisher_p_value == pytest.approx(2 / 252)  # 2 / C(10, 5)
    assert apart.ci_low is not None and apart.ci_low > 0 and apart.ci_high == pytest.approx(1)
    none = compare_rates(0, 10, 0, 10)
    assert none.ratio is None and none.p_value == 1.0
    only_first = compare_rates(5, 10, 0, 10)
    assert only_first.ratio is None and only_first.ci_high is None
    assert only_first.ci_low is not None and 0 < only_first.ci_low < 1
    assert only_first.p_value == pytest.approx(2 * 0.5**5)  # 5 of 5 events, even odds


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        proportion_ci(5, 4)
    with pytest.raises(InvalidArgumentError):
        compare_proportions(-1, 4, 1, 4)
    with pytest.raises(InvalidArgumentError):
        rate_ci(-1, 4)


# -- reports on synthetic cases ---------------------------------------------------------------

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Log:
    """Builds cases and their events the way the engine records them."""

    def __init__(self) -> None:
        self.cases: list[CaseRecord] = []
        self.events: list[Event] = []

    def case(self, version: int, *, policy: str = "latest", status: str = "active",
             start: datetime = T0, data: dict[str, Any] | None = None,
             arm: int | None = None) -> int:
        case_id = len(self.cases) + 1
        self.cases.append(CaseRecord(id=case_id, pathway="gate", version=version,
                                     client_id=case_id, status=status,  # type: ignore[arg-type]
                                     state={}, data=data or {}, created_at=start))
        self.add(case_id, "case_started", start, data={"pathway": "gate", "version": version})
        allocated: dict[str, Any] = {"policy": policy, "version": arm or version}
        if policy == "split":
            allocated.update(weights={"1": 50, "2": 50}, seed="s", draw=0.5)
        self.add(case_id, "version_allocated", start, data=allocated)
        return case_id

    def add(self, case_id: int, type_: str, at: datetime, step: str | None = None,
            actor: str | None = None, data: dict[str, Any] | None = None) -> None:
        seq = sum(1 for e in self.events if e.case_id == case_id) + 1
        self.events.append(Event(case_id, seq, type_, at, step, actor, data or {}))

    def task(self, case_id: int, step: str, ready: datetime, done: datetime | None,
             actor: str = "amy") -> None:
        task_id = f"{case_id}-{step}-{ready.isoformat()}"
        self.add(case_id, "task_ready", ready, step, data={"task": task_id})
        if done is not None:
            self.add(case_id, "task_completed", done, step, actor,
                     data={"task": task_id, "data": {}})

    def outcome(self, case_id: int, name: str, value: Any, at: datetime = T0) -> None:
        self.add(case_id, "outcome_recorded", at, name, data={"outcome": name, "value": value})


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


def test_version_comparison_counts_steps_times_and_outcomes() -> None:
    log = Log()
    # version 1: 4 cases, all did intake (2 h each), 1 did assess; 1 reoffended of 4
    for i in range(4):
        c = log.case(1, status="completed" if i == 0 else "active")
        log.task(c, "intake", T0, T0 + hours(2))
        if i == 0:
            log.task(c, "assess", T0 + hours(2), T0 + hours(26))
    # version 2 (split-allocated): 6 cases, intake 1 h, all assessed in 4 h
    for _ in range(6):
        c = log.case(2, policy="split")
        log.task(c, "intake", T0, T0 + hours(1))
        log.task(c, "assess", T0 + hours(1), T0 + hours(5))
    # one split-allocated case on version 1 that never finished intake
    c = log.case(1, policy="split")
    log.task(c, "intake", T0, None)
    outcomes = {case.id or 0: case.id in (1, 5) for case in log.cases}

    result = version_comparison(log.cases, log.events, outcomes, outcome_name="reoffended")
    assert result.baseline == 1 and result.outcome_kind == "proportion"
    v1, v2 = result.version(1), result.version(2)
    assert (v1.cases, v2.cases) == (5, 6)
    assert v1.completed.count == 1 and v1.completed_vs_baseline is None
    assert [s.step for s in v1.steps] == ["intake", "assess"]
    intake1, assess1 = v1.steps
    assert (intake1.reached, intake1.completion.count, intake1.completion.n) == (5, 4, 5)
    assert intake1.median_hours == 2 and intake1.mean_hours == 2
    assert (assess1.completion.count, assess1.median_hours) == (1, 24)
    assert assess1.median_hours_from_start == 26
    intake2, assess2 = v2.steps
    assert intake2.median_hours == 1 and assess2.median_hours_from_start == 5
    assert assess2.completion.rate == 1
    diff = assess2.vs_baseline
    assert diff is not None
    expected = compare_proportions(6, 6, 1, 5)
    assert diff == expected and diff.difference == pytest.approx(1 - 1 / 5)
    assert v1.outcome == proportion_ci(1, 5)
    assert v2.outcome == proportion_ci(1, 6)
    assert v2.vs_baseline == compare_proportions(1, 6, 1, 5)

    randomised = result.randomised
    assert randomised is not None and randomised.cohort == "randomised"
    assert [(v.version, v.cases) for v in randomised.versions] == [(1, 1), (2, 6)]

    rows = result.rows()
    assert all(tuple(row) == COLUMNS for row in rows)
    outcome_row = next(r for r in rows if r["cohort"] == "all" and r["group"] == "version 2"
                       and r["measure"] == "reoffended")
    assert outcome_row["compared_with"] == "version 1"
    assert outcome_row["estimate"] == pytest.approx(1 / 6 - 1 / 5)
    text = csv_text(rows)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert len(text.splitlines()) == len(rows) + 1


def test_randomised_cohort_uses_the_allocated_arm_even_after_migration() -> None:
    log = Log()
    moved = log.case(2, policy="split", arm=1)  # allocated to 1, migrated to 2 since
    log.case(2, policy="split")
    log.case(1, policy="fixed")
    outcomes = {moved: True, 2: False, 3: False}
    result = version_comparison(log.cases, log.events, outcomes, baseline=1)
    assert [(v.version, v.cases) for v in result.versions] == [(1, 1), (2, 2)]
    randomised = result.randomised
    assert randomised is not None
    assert [(v.version, v.cases) for v in randomised.versions] == [(1, 1), (2, 1)]
    assert randomised.version(1).outcome == proportion_ci(1, 1)
    assert randomised.version(2).vs_baseline == compare_proportions(0, 1, 1, 1)


def test_version_comparison_with_counts_compares_rates() -> None:
    log = Log()
    ids1 = [log.case(1) for _ in range(10)]
    ids2 = [log.case(2) for _ in range(10)]
    counts = {**dict.fromkeys(ids1, 3), **dict.fromkeys(ids2, 1)}
    counts[ids2[0]] = None  # not known yet: left out
    result = version_comparison(log.cases, log.events, counts, outcome_name="reconvictions")
    assert result.outcome_kind == "rate"
    assert result.version(1).outcome == rate_ci(30, 10)
    v2 = result.version(2)
    assert v2.outcome == rate_ci(9, 9)
    # compared with each person's count, so that the interval allows for their dispersion
    assert v2.vs_baseline == compare_rates(9, 9, 30, 10, counts1=[1] * 9, counts2=[3] * 10)
    assert result.randomised is None
    assert any(r["measure"] == "reconvictions per 100" for r in result.rows())


def test_version_comparison_refuses_mixed_pathways() -> None:
    log = Log()
    log.case(1)
    log.cases.append(CaseRecord(id=99, pathway="other", version=1, client_id=9,
                                status="active", state={}))
    with pytest.raises(InvalidArgumentError):
        version_comparison(log.cases, log.events)
    assert version_comparison(log.cases, log.events, pathway="other").version(1).cases == 1


def test_split_by_step_and_by_field() -> None:
    log = Log()
    met = []
    for i in range(20):
        c = log.case(1, data={"housing": "needs" if i % 2 else "settled",
                              "client": {"children": i < 5}})
        if i < 8:
            log.outcome(c, "met_at_gate", True)
            met.append(c)
        elif i < 10:
            log.outcome(c, "met_at_gate", False)
        if i < 3:
            log.task(c, "gate_meeting", T0, T0 + hours(1))
        log.outcome(c, "reoffended", i % 4 == 0)
    outcomes = outcomes_from_events(log.cases, log.events, "reoffended")
    assert sum(1 for v in outcomes.values() if v) == 5

    gate = split_by_step(log.cases, log.events, "met_at_gate", outcomes)
    yes, no = gate.group("yes"), gate.group("no")
    assert (yes.cases, no.cases) == (8, 12)
    assert gate.baseline == "no"
    assert yes.outcome == proportion_ci(2, 8)  # cases 1 and 5 (i = 0, 4)
    assert no.outcome == proportion_ci(3, 12)
    assert yes.vs_baseline == compare_proportions(2, 8, 3, 12) and no.vs_baseline is None

    meeting = split_by_step(log.cases, log.events, "gate_meeting", outcomes)
    assert meeting.group("yes").cases == 3

    housing = split_by_field(log.cases, "housing", outcomes)
    assert [g.group for g in housing.groups] == ["needs", "settled"]
    assert housing.group("needs").outcome == proportion_ci(0, 10)
    assert housing.group("settled").outcome == proportion_ci(5, 10)
    children = split_by_field(log.cases, "client.children", outcomes, baseline="false")
    assert children.group("true").cases == 5
    assert children.group("true").vs_baseline == compare_proportions(2, 5, 3, 15)
    missing = split_by_field(log.cases, "nowhere", outcomes)
    assert [(g.group, g.cases) for g in missing.groups] == [("(missing)", 20)]
    rows = gate.rows()
    assert all(tuple(r) == COLUMNS for r in rows)
    assert {r["group"] for r in rows} == {"yes", "no"}


def test_engagement_after_a_month() -> None:
    log = Log()
    stays = log.case(1)
    log.task(stays, "session", T0 + timedelta(days=35), T0 + timedelta(days=35))
    edge = log.case(1)  # a task exactly 30 days on counts
    log.task(edge, "session", T0 + timedelta(days=30), T0 + timedelta(days=30))
    leaves = log.case(2)
    log.task(leaves, "session", T0 + timedelta(days=3), T0 + timedelta(days=29, hours=23))
    log.case(2)  # nothing done at all
    recent = log.case(2, start=T0 + timedelta(days=50))
    log.task(recent, "session", T0 + timedelta(days=51), T0 + timedelta(days=51))

    everyone = engagement(log.cases, log.events)
    assert (everyone.overall.count, everyone.overall.n) == (2, 5)
    as_of = engagement(log.cases, log.events, 30, as_of=T0 + timedelta(days=60))
    assert (as_of.overall.count, as_of.overall.n, as_of.too_recent) == (2, 4, 1)
    assert dict(as_of.by_version) == {1: proportion_ci(2, 2), 2: proportion_ci(0, 2)}
    early = engagement(log.cases, log.events, 30, as_of=T0 + timedelta(days=32))
    assert (early.overall.count, early.overall.n) == (1, 4)  # day-35 task not yet done
    assert [r["group"] for r in as_of.rows()] == ["all", "version 1", "version 2"]


def test_activity_month_on_month() -> None:
    log = Log()
    c = log.case(1)
    jan, mar = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 3, 31, 23, tzinfo=UTC)
    for _ in range(4):
        log.task(c, "session", jan, jan, actor="amy")
    log.task(c, "session", jan, jan, actor="bob")
    for _ in range(2):
        log.task(c, "session", mar, mar, actor="amy")
    log.task(c, "session", mar, mar, actor="zed")  # not in the map
    log.add(c, "task_completed", mar, "session", None, {"task": "x"})  # no user
    orgs = {"amy": "st_giles_trust", "bob": "st_giles_trust"}

    result = activity_by_month(log.events, orgs)
    assert result.months == ("2026-01", "2026-02", "2026-03")
    amy = [(a.month, a.tasks, a.previous, a.change, a.change_pct)
           for a in result.caseworkers if a.name == "amy"]
    assert amy == [("2026-01", 4, None, None, None), ("2026-02", 0, 4, -4, -100.0),
                   ("2026-03", 2, 0, 2, None)]
    giles = {a.month: a.tasks for a in result.organisations if a.name == "st_giles_trust"}
    assert giles == {"2026-01": 5, "2026-02": 0, "2026-03": 2}
    unknown = {a.month: a.tasks for a in result.organisations if a.name == "(unknown)"}
    assert unknown["2026-03"] == 2
    assert {a.name for a in result.caseworkers} == {"amy", "bob", "zed", "(no user)"}
    assert next(a for a in result.caseworkers if a.name == "zed").organisation == "(unknown)"
    assert len(result.rows()) == 3 * (2 + 4)
    assert activity_by_month([], orgs).months == ()


def test_month_boundaries_are_utc() -> None:
    log = Log()
    c = log.case(1)
    late = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    local = late.astimezone(timezone(timedelta(hours=2)))  # 1 February, 01:30 local
    log.add(c, "task_completed", local, "s", "amy", {"task": "t"})
    result = activity_by_month(log.events, {})
    assert result.months == ("2026-01",)


def test_missing_outcomes_stay_missing_with_best_and_worst_case_bounds() -> None:
    """Issue 12.3: a case with no recorded outcome is not a 'not reconvicted'. Version 1 (the
    baseline): 2 of 8 known reconvicted, 2 missing; version 2: 1 of 5 known, 5 missing."""
    log = Log()
    for version, reconvicted, not_reconvicted, missing in ((1, 2, 6, 2), (2, 1, 4, 5)):
        for value in [True] * reconvicted + [False] * not_reconvicted:
            log.outcome(log.case(version), "reconvicted", value)
        for _ in range(missing):
            log.case(version)
    outcomes = outcomes_from_events(log.cases, log.events, "reconvicted")
    assert sum(1 for v in outcomes.values() if v is None) == 7

    comparison = version_comparison(log.cases, log.events, outcomes, outcome_name="reconvicted")
    one, two = comparison.version(1), comparison.version(2)
    # primary: known outcomes only (today: 2/10 and 1/10, the missing counted as successes)
    assert one.outcome == proportion_ci(2, 8) and two.outcome == proportion_ci(1, 5)
    assert two.vs_baseline == compare_proportions(1, 5, 2, 8)
    assert (one.outcome_missing, two.outcome_missing) == (2, 5)
    # sensitivity, by hand: version 2's missing all not reconvicted and the baseline's all
    # reconvicted: 1/10 - 4/10 = -0.3; the reverse: 6/10 - 2/10 = +0.4
    bounds = two.outcome_bounds
    assert bounds is not None and one.outcome_bounds is None
    assert bounds.low == compare_proportions(1, 10, 4, 10)
    assert bounds.high == compare_proportions(6, 10, 2, 10)
    assert bounds.low.difference == pytest.approx(-0.3)
    assert bounds.high.difference == pytest.approx(0.4)
    rows = {(r["group"], r["measure"]): r for r in comparison.rows()}
    assert (rows[("version 2", "reconvicted missing")]["n"],
            rows[("version 2", "reconvicted missing")]["count"]) == (10, 5)
    assert rows[("version 2", "reconvicted")]["n"] == 5

    # an explicit default still fills the gaps, for a caller that means it
    filled = outcomes_from_events(log.cases, log.events, "reconvicted", missing=False)
    assert sum(1 for v in filled.values() if v is None) == 0


def test_holm_adjusts_p_values_by_hand() -> None:
    """Holm (1979) on 0.01, 0.04, 0.03, 0.005: sorted 0.005*4 = 0.02, 0.01*3 = 0.03,
    0.03*2 = 0.06, 0.04*1 = 0.04 -> 0.06 (never below the one before); None stays None and
    does not count."""
    assert holm([0.01, 0.04, None, 0.03, 0.005]) == pytest.approx(
        [0.03, 0.06, None, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []


def test_a_split_adjusts_its_p_values_and_never_defaults_to_missing_as_baseline() -> None:
    """Issue 12.5: the baseline of a field split is the largest group with a value, not
    '(missing)'; each comparison carries its Holm-adjusted p (over the comparisons of the
    split) beside its raw and Fisher p; a baseline that is no group is refused."""
    log = Log()
    outcome: dict[int, bool | int | None] = {}
    for i in range(30):
        risk = None if i < 14 else ("high" if i < 20 else "low" if i < 26 else "medium")
        c = log.case(1, data={"risk": risk} if risk else {})
        outcome[c] = i % 3 == 0
    split = split_by_field(log.cases, "risk", outcome)
    assert split.baseline == "high"  # 6 cases, tie with low broken by label; (missing) has 14
    compared = [g for g in split.groups if g.group != "high"]
    raw = [g.vs_baseline.fisher_p_value if g.vs_baseline.small_sample  # type: ignore[union-attr]
           else g.vs_baseline.p_value for g in compared]  # type: ignore[union-attr]
    assert [g.adjusted_p_value for g in compared] == pytest.approx(holm(raw))
    assert len(compared) == 3 and split.group("high").adjusted_p_value is None
    rows = {r["group"]: r for r in split.rows() if r["measure"] == "outcome"}
    assert rows["low"]["adjusted_p_value"] == split.group("low").adjusted_p_value
    assert rows["medium"]["small_sample"] is True
    assert split_by_field(log.cases, "risk", outcome, baseline="(missing)").baseline \
        == "(missing)"  # chosen, it is allowed
    with pytest.raises(InvalidArgumentError, match="no group 'extreme'"):
        split_by_field(log.cases, "risk", outcome, baseline="extreme")
