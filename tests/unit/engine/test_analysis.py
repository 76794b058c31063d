"""Version comparisons and splits (engine/outcomes/analysis.py), each report on synthetic cases and
events; `Log` builds them for the other tests of the dashboard's statistics too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.errors import InvalidArgumentError
from engine.model import CaseRecord, Event
from engine.outcomes.analysis import (
    csv_text,
    outcomes_from_events,
    split_by_field,
    split_by_step,
    version_comparison,
)
from engine.outcomes.estimates import (
    COLUMNS,
    compare_proportions,
    compare_rates,
    holm,
    proportion_ci,
    rate_ci,
)

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
