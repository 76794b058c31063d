"""Payment by results (engine.outcomes.payments): the Peterborough mechanism and its published
results.

Figures from ../shared/notes/domain.md: cohort 1 had 142 reconviction events per 100 against
155 for the comparison group, an 8.4% reduction, below the 10% cohort threshold, so no early
payment; the final result was 9% across the pilot, above the 7.5% overall threshold, so the
outcome payment was due. The notes give no price per event avoided and no caps: the figures
used for them here (as in definitions/programmes/peterborough.yaml) are placeholders.

The programme's configuration lives in definitions/programmes/ (a sub-folder, so `pathways
init` and the shipped-pathway tests, which read definitions/*.yaml as pathways, pass it by).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InvalidArgumentError
from engine.outcomes import MeasureResult, OutcomeMeasure, measure_occurrences
from engine.outcomes.payments import (
    CohortInput,
    PaymentMechanism,
    PaymentStatement,
    matched_cohort_input,
    mechanism_from_config,
    payment_statement,
    programme_from_config,
)

ROOT = Path(__file__).parents[3]
PROGRAMME_FILE = ROOT / "definitions" / "programmes" / "peterborough.yaml"

MINUS, TIMES, GE, POUND = "\u2212", "\u00d7", "\u2265", "\u00a3"

# The Peterborough mechanism as definitions/programme.yaml configures it.
PETERBOROUGH: dict[str, Any] = {
    "measure": "frequency",
    "per": 100,
    "cohort_threshold_percent": 10,
    "overall_threshold_percent": 7.5,
    "early_payment": True,
    "price_per_event_avoided": 10000,          # placeholder: not in the notes
    "caps": {"per_cohort": 3000000, "overall": 6000000},  # placeholders: not in the notes
}

# Cohort 1 as published: 142 vs 155 events per 100 (about 1,000 people, per the notes).
COHORT_1 = CohortInput("cohort 1", size=1000, intervention_events=1420,
                       comparison_rate=Decimal(155))
# A cohort 2 (802 people: 1,802 in all) that brings the pilot to exactly 9%:
# (1,550 + 1,050 - 1,420 - 946) / (1,550 + 1,050) = 234 / 2,600 = 9%.
COHORT_2 = CohortInput("cohort 2", size=802, intervention_events=946, comparison_events=1050)


def peterborough(**changes: Any) -> PaymentMechanism:
    config = copy.deepcopy(PETERBOROUGH)
    config.update(changes)
    return mechanism_from_config(config)


def line_with(statement: PaymentStatement, fragment: str) -> str:
    found = [line for line in statement.lines if fragment in line]
    assert found, f"no line with {fragment!r} in:\n" + "\n".join(statement.lines)
    return found[0]


# ----------------------------------------------------------------------------------------------
# The published results

def test_cohort_1_is_an_8_4_percent_reduction_below_10_percent_so_no_early_payment() -> None:
    statement = payment_statement(peterborough(), [COHORT_1], final=False)
    [cohort] = statement.cohorts
    assert cohort.intervention_rate == 142
    assert cohort.comparison_rate == 155
    assert cohort.reduction.quantize(Decimal("0.1")) == Decimal("8.4")
    assert Decimal("8.38") < cohort.reduction < Decimal("8.39")  # 13 / 155 exactly
    assert cohort.meets_cohort_threshold is False
    assert cohort.events_avoided == 130
    assert cohort.early_payment_before_caps == 0 and cohort.early_payment == 0
    assert statement.total_payment == 0 and statement.final_payment == 0
    assert f"cohort 1: reduction = (155 {MINUS} 142) / 155 = 8.4%" in statement.lines
    assert "cohort 1: 8.4% < 10% cohort threshold: no early payment" in statement.lines
    assert "cohort 1: comparison rate = 155 per 100 (given)" in statement.lines
    assert (f"cohort 1: intervention rate = 1,420 events / 1,000 people {TIMES} 100 "
            "= 142 per 100") in statement.lines
    assert "interim statement" in line_with(statement, "final payment")


def test_the_published_rates_alone_give_the_same_statement_for_100_people() -> None:
    statement = payment_statement(peterborough(), [CohortInput(
        "cohort 1", size=100, intervention_events=142, comparison_events=155)], final=False)
    assert statement.cohorts[0].reduction == COHORT_1_REDUCTION
    assert f"cohort 1: reduction = (155 {MINUS} 142) / 155 = 8.4%" in statement.lines
    assert statement.total_payment == 0


COHORT_1_REDUCTION = Decimal(13) / Decimal(155) * 100


def test_a_9_percent_reduction_over_the_pilot_triggers_the_overall_payment() -> None:
    statement = payment_statement(peterborough(), [COHORT_1, COHORT_2])
    assert statement.people == 1802
    assert statement.intervention_events == 2366
    assert statement.comparison_events == 2600
    assert statement.reduction == 9
    assert statement.meets_overall_threshold is True
    assert [c.meets_cohort_threshold for c in statement.cohorts] == [False, False]
    assert statement.early_payments == 0
    assert statement.events_avoided == 234
    assert statement.outcome_payment_before_caps == Decimal("2340000.00")
    assert statement.outcome_payment == Decimal("2340000.00")
    assert statement.final_payment == Decimal("2340000.00")
    assert statement.total_payment == Decimal("2340000.00")
    lines = statement.lines
    assert f"all cohorts: reduction = (2,600 {MINUS} 2,366) / 2,600 = 9.0%" in lines
    assert f"all cohorts: 9.0% {GE} 7.5% overall threshold: outcome payment triggered" in lines
    assert (f"all cohorts: outcome payment = 234 events {TIMES} {POUND}10,000.00 "
            f"= {POUND}2,340,000.00") in lines
    assert "all cohorts: people = 1,000 + 802 = 1,802" in lines
    assert (f"total paid = early {POUND}0.00 + final {POUND}2,340,000.00 "
            f"= {POUND}2,340,000.00") in lines


def test_the_overall_payment_is_pooled_over_cohorts_not_averaged() -> None:
    # 9.9% and 8.4%; pooled by events it is 9% (averaging the two would give 9.15%).
    statement = payment_statement(peterborough(), [COHORT_1, COHORT_2])
    assert [c.reduction.quantize(Decimal("0.1")) for c in statement.cohorts] == [
        Decimal("8.4"), Decimal("9.9")]
    assert statement.reduction == 9


def test_below_7_5_percent_overall_nothing_is_paid() -> None:
    worse = CohortInput("cohort 2", size=802, intervention_events=1000, comparison_events=1050)
    statement = payment_statement(peterborough(), [COHORT_1, worse])
    assert statement.reduction < Decimal("7.5")
    assert statement.meets_overall_threshold is False
    assert statement.total_payment == 0
    assert "no outcome payment" in line_with(statement, "overall threshold")


def test_exactly_at_a_threshold_is_enough() -> None:
    # 10% exactly for the cohort, 7.5% exactly overall.
    cohort = CohortInput("a", size=1000, intervention_events=900, comparison_events=1000)
    statement = payment_statement(peterborough(), [cohort])
    assert statement.cohorts[0].reduction == 10
    assert statement.cohorts[0].meets_cohort_threshold
    assert f"a: 10.0% {GE} 10% cohort threshold: early payment due" in statement.lines
    overall = payment_statement(peterborough(), [
        CohortInput("b", size=1000, intervention_events=925, comparison_events=1000)])
    assert overall.reduction == Decimal("7.5") and overall.meets_overall_threshold


def test_a_reduction_just_below_a_threshold_is_shown_with_the_decimals_it_takes() -> None:
    cohort = CohortInput("a", size=10000, intervention_events=9004,
                         comparison_rate=Decimal(100))  # 9.96%: not "10.0% < 10%"
    statement = payment_statement(peterborough(), [cohort], final=False)
    assert "a: 9.96% < 10% cohort threshold: no early payment" in statement.lines


# ----------------------------------------------------------------------------------------------
# Early payments, caps, rounding

def test_a_cohort_at_10_percent_or_more_is_paid_early_and_the_final_payment_deducts_it() -> None:
    good = CohortInput("cohort 1", size=1000, intervention_events=1300,
                       comparison_rate=Decimal(155))  # 16.1%, 250 events avoided
    statement = payment_statement(peterborough(), [good, COHORT_2])
    assert statement.cohorts[0].early_payment == Decimal("2500000.00")
    assert statement.cohorts[1].early_payment == 0
    assert statement.outcome_payment == Decimal("3540000.00")  # 354 events
    assert statement.final_payment == Decimal("1040000.00")
    assert statement.total_payment == statement.outcome_payment
    assert (f"final payment = {POUND}3,540,000.00 {MINUS} {POUND}2,500,000.00 "
            f"= {POUND}1,040,000.00") in statement.lines


def test_the_per_cohort_cap_limits_an_early_payment() -> None:
    good = CohortInput("cohort 1", size=1000, intervention_events=1000,
                       comparison_rate=Decimal(155))  # 550 events avoided: 5.5m before caps
    statement = payment_statement(peterborough(), [good], final=False)
    [cohort] = statement.cohorts
    assert cohort.early_payment_before_caps == Decimal("5500000.00")
    assert cohort.early_payment == Decimal("3000000.00")
    assert f"cohort 1: early payment capped at the per-cohort cap {POUND}3,000,000.00" in (
        statement.lines)


def test_the_overall_cap_limits_everything_paid() -> None:
    big = [CohortInput(f"cohort {n}", size=1000, intervention_events=1000,
                       comparison_rate=Decimal(155)) for n in (1, 2, 3)]
    statement = payment_statement(peterborough(), big)
    assert [c.early_payment for c in statement.cohorts] == [
        Decimal(3000000), Decimal(3000000), Decimal(0)]  # the third finds the 6m cap used up
    assert "leaves" in line_with(statement, "cohort 3: early payment limited")
    assert statement.outcome_payment_before_caps == Decimal("16500000.00")
    assert statement.outcome_payment == Decimal("6000000.00")
    assert statement.final_payment == 0
    assert statement.total_payment == Decimal("6000000.00")


def test_no_caps_configured_means_none() -> None:
    mechanism = peterborough(caps={"per_cohort": None})
    assert mechanism.cohort_cap is None and mechanism.overall_cap is None
    assert peterborough(caps=None).overall_cap is None
    del_caps = {k: v for k, v in PETERBOROUGH.items() if k != "caps"}
    assert mechanism_from_config(del_caps).cohort_cap is None


def test_early_payments_are_kept_when_the_overall_threshold_is_missed() -> None:
    good = CohortInput("cohort 1", size=1000, intervention_events=1300,
                       comparison_rate=Decimal(155))
    bad = CohortInput("cohort 2", size=1000, intervention_events=1700,
                      comparison_rate=Decimal(155))
    statement = payment_statement(peterborough(), [good, bad])
    assert statement.meets_overall_threshold is False
    assert statement.early_payments == Decimal("2500000.00")
    assert statement.final_payment == 0
    assert statement.total_payment == Decimal("2500000.00")
    assert "early payments are kept" in line_with(statement, "final payment")


def test_no_early_payment_when_the_mechanism_has_none() -> None:
    good = CohortInput("cohort 1", size=1000, intervention_events=1300,
                       comparison_rate=Decimal(155))
    statement = payment_statement(peterborough(early_payment=False), [good, COHORT_2])
    assert statement.cohorts[0].meets_cohort_threshold is True
    assert statement.early_payments == 0
    assert statement.total_payment == statement.final_payment == Decimal("3540000.00")


def test_payments_are_rounded_to_the_penny_half_up_before_caps() -> None:
    # 155 per 100 against 130.5 per 100 for 2 people: 0.49 events avoided x 12.5 = 6.125
    cohort = CohortInput("a", size=2, intervention_events=0, comparison_rate=Decimal("24.5"))
    mechanism = peterborough(price_per_event_avoided="12.5", caps=None)
    statement = payment_statement(mechanism, [cohort])
    assert statement.cohorts[0].events_avoided == Decimal("0.49")
    assert statement.cohorts[0].early_payment == Decimal("6.13")  # 6.125 half up
    assert statement.total_payment == Decimal("6.13")


def test_a_comparison_group_of_another_size_is_scaled_to_the_cohort() -> None:
    cohort = CohortInput("a", size=500, intervention_events=700, comparison_events=1550,
                         comparison_size=1000)
    statement = payment_statement(peterborough(), [cohort], final=False)
    assert statement.cohorts[0].comparison_rate == 155
    assert statement.cohorts[0].comparison_events == 775
    assert statement.cohorts[0].events_avoided == 75
    assert "a: comparison events for 500 people = 155 " in line_with(statement, "500 people =")


def test_the_statement_is_json_ready() -> None:
    data = payment_statement(peterborough(), [COHORT_1, COHORT_2]).to_dict()
    assert json.loads(json.dumps(data))["total_payment"] == "2340000.00"
    assert data["cohorts"][0]["input"]["name"] == "cohort 1"
    assert data["mechanism"]["overall_threshold"] == "7.5"


# ----------------------------------------------------------------------------------------------
# Bad configuration and bad data

@pytest.mark.parametrize(("change", "path", "message"), [
    ({"cohort_threshold_percent": None}, "cohort_threshold_percent", "required"),
    ({"cohort_threshold_percent": 150}, "cohort_threshold_percent", "percentage"),
    ({"overall_threshold_percent": 0}, "overall_threshold_percent", "percentage"),
    ({"overall_threshold_percent": "seven"}, "overall_threshold_percent", "number"),
    ({"overall_threshold_percent": True}, "overall_threshold_percent", "number"),
    ({"overall_threshold_percent": float("nan")}, "overall_threshold_percent", "finite"),
    ({"price_per_event_avoided": -1}, "price_per_event_avoided", "above 0"),
    ({"price_per_event_avoided": [1]}, "price_per_event_avoided", "number"),
    ({"caps": {"overall": "lots"}}, "caps.overall", "number"),
    ({"caps": {"per_cohort": -5}}, "caps.per_cohort", "0 or more"),
    ({"caps": {"per_cohort_cap": 5}}, "caps.per_cohort_cap", "unknown field"),
    ({"caps": [1, 2]}, "caps", "mapping"),
    ({"measure": "binary"}, "measure", "unknown measure"),
    ({"per": 0}, "per", "above 0"),
    ({"per": 1.5}, "per", "whole number"),
    ({"early_payment": "yes"}, "early_payment", "true or false"),
    ({"treshold": 10}, "treshold", "unknown field"),
])
def test_a_bad_mechanism_is_rejected_with_the_field_path(
        change: dict[str, Any], path: str, message: str) -> None:
    config = copy.deepcopy(PETERBOROUGH)
    config.update(change)
    with pytest.raises(InvalidArgumentError) as caught:
        mechanism_from_config(config, path="payment_mechanism")
    fields = caught.value.details["fields"]
    assert list(fields) == [f"payment_mechanism.{path}"]
    assert message in " ".join(fields[f"payment_mechanism.{path}"])
    assert caught.value.code == "invalid_argument"
    assert f"payment_mechanism.{path}" in caught.value.message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        mechanism_from_config({"cohort_threshold_percent": 200, "caps": {"overall": -1}})
    assert set(caught.value.details["fields"]) == {
        "cohort_threshold_percent", "overall_threshold_percent", "price_per_event_avoided",
        "caps.overall"}


def test_a_mechanism_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        mechanism_from_config([1, 2], path="payment_mechanism")
    assert list(caught.value.details["fields"]) == ["payment_mechanism"]


def test_the_dataclass_checks_its_own_fields() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        PaymentMechanism(cohort_threshold=Decimal(0), overall_threshold=Decimal("7.5"),
                         price_per_event=Decimal(-1))
    assert set(caught.value.details["fields"]) == {"cohort_threshold", "price_per_event"}


PROGRAMME: dict[str, Any] = {
    "programme": "Peterborough One Service",
    "payment_mechanism": PETERBOROUGH,
    "cohorts": [{"name": "cohort 1", "releases_from": "2010-09", "releases_to": "2012-06"},
                {"name": "cohort 2", "releases_from": "2012-07", "releases_to": None}],
}


def test_a_programme_reads_its_name_mechanism_and_cohorts() -> None:
    programme = programme_from_config(PROGRAMME)
    assert programme.name == "Peterborough One Service"
    assert programme.mechanism == mechanism_from_config(PETERBOROUGH)
    assert [(c.name, c.releases_from, c.releases_to) for c in programme.cohorts] == [
        ("cohort 1", "2010-09", "2012-06"), ("cohort 2", "2012-07", None)]


def test_a_bad_programme_reports_every_problem_by_path() -> None:
    config = copy.deepcopy(PROGRAMME)
    del config["programme"]
    config["payment_mechanism"]["caps"]["overall"] = "lots"
    config["cohorts"][1]["releases_from"] = "July 2012"
    config["cohorts"].append({"name": "cohort 1", "releases_from": "2012-09",
                              "releases_to": "2012-08"})
    config["cohorts"].append("cohort 4")
    with pytest.raises(InvalidArgumentError) as caught:
        programme_from_config(config)
    assert set(caught.value.details["fields"]) == {
        "programme", "payment_mechanism.caps.overall", "cohorts[1].releases_from",
        "cohorts[2].name", "cohorts[2].releases_to", "cohorts[3]"}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"size": 0, "intervention_events": 1, "comparison_events": 1}, "x.size"),
    ({"size": 10, "intervention_events": -1, "comparison_events": 1}, "x.intervention_events"),
    ({"size": 10, "intervention_events": 1}, "x.comparison_events"),
    ({"size": 10, "intervention_events": 1, "comparison_events": 1,
      "comparison_rate": Decimal(1)}, "x.comparison_events"),
    ({"size": 10, "intervention_events": 1, "comparison_rate": Decimal(0)}, "x.comparison_rate"),
    ({"size": 10, "intervention_events": 1, "comparison_rate": Decimal(1),
      "comparison_size": 5}, "x.comparison_size"),
])
def test_bad_cohort_data_is_rejected(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        CohortInput("x", **kwargs)
    assert field in caught.value.details["fields"]


def test_a_statement_needs_cohorts_with_distinct_names() -> None:
    with pytest.raises(InvalidArgumentError):
        payment_statement(peterborough(), [])
    with pytest.raises(InvalidArgumentError) as caught:
        payment_statement(peterborough(), [COHORT_1, COHORT_1])
    assert "cohort 1" in caught.value.details["fields"]["cohorts"][0]


# ----------------------------------------------------------------------------------------------
# The shipped configuration

def test_the_shipped_programme_file_is_the_peterborough_mechanism() -> None:
    if not PROGRAMME_FILE.exists():
        pytest.fail("definitions/programmes/peterborough.yaml is missing")
    programme = programme_from_config(yaml.safe_load(PROGRAMME_FILE.read_text("utf-8")))
    assert programme.mechanism == mechanism_from_config(
        {**PETERBOROUGH, "assumed": ["price_per_event_avoided", "caps.per_cohort",
                                     "caps.overall"]})
    assert programme.cohorts[0].releases_from == "2010-09"
    assert programme.cohorts[0].releases_to == "2012-06"
    statement = payment_statement(programme.mechanism, [COHORT_1], final=False)
    assert f"cohort 1: reduction = (155 {MINUS} 142) / 155 = 8.4%" in statement.lines
    assert statement.total_payment == 0
    # reconvictions: fewer is better (read by the INDIGO export, among others)
    assert {m.direction for m in programme.measures} == {"lower_is_better"}
    # the placeholder price and caps are flagged on the statement itself (issue 12, item 7)
    assert "ASSUMED, not from the contract: price per event avoided, cap per cohort, " \
           "overall cap. The amounts below are placeholders until the contract's figures " \
           "are put in the programme file." in statement.lines


def test_assumed_names_only_figures_of_the_mechanism() -> None:
    """A contract's own figures make a statement without the flag; an unknown name or a
    non-list is refused with the field path."""
    statement = payment_statement(mechanism_from_config(PETERBOROUGH), [COHORT_1], final=False)
    assert not any(line.startswith("ASSUMED") for line in statement.lines)
    with pytest.raises(InvalidArgumentError) as refused:
        mechanism_from_config({**PETERBOROUGH, "assumed": ["price", 3]}, path="payment_mechanism")
    assert "payment_mechanism.assumed" in refused.value.details["fields"]
    with pytest.raises(InvalidArgumentError) as unknown:
        mechanism_from_config({**PETERBOROUGH, "assumed": ["price"]}, path="payment_mechanism")
    assert "unknown figure 'price'" in unknown.value.details["fields"][
        "payment_mechanism.assumed[0]"][0]


# ----------------------------------------------------------------------------------------------
# Properties

_AMOUNT = re.compile(f"{POUND}([0-9,]+\\.[0-9]{{2}})")
_REDUCTION = re.compile(f"reduction = \\(([-0-9,.]+) {MINUS} ([-0-9,.]+)\\) / ([-0-9,.]+) "
                        "= (-?[0-9.]+)%$")


def _amounts(line: str) -> list[Decimal]:
    return [Decimal(a.replace(",", "")) for a in _AMOUNT.findall(line)]


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def check_lines(statement: PaymentStatement) -> None:
    """Every line of arithmetic agrees with the statement's figures and with itself."""
    for cohort in statement.cohorts:
        reduction = line_with(statement, f"{cohort.input.name}: reduction = ")
        match = _REDUCTION.search(reduction)
        assert match, reduction
        assert _number(match[1]) == cohort.comparison_rate.quantize(
            Decimal("0.01"), ROUND_HALF_UP)
        assert _number(match[2]) == cohort.intervention_rate.quantize(
            Decimal("0.01"), ROUND_HALF_UP)
        assert _number(match[4]) == cohort.reduction.quantize(Decimal("0.1"), ROUND_HALF_UP)
        if cohort.early_payment_before_caps:
            early = _amounts(line_with(statement, f"{cohort.input.name}: early payment = "))
            assert early == [statement.mechanism.price_per_event.quantize(Decimal("0.01")),
                             cohort.early_payment_before_caps]
    pooled = _REDUCTION.search(line_with(statement, "all cohorts: reduction = "))
    assert pooled
    a, b, c = (_number(pooled[i]) for i in (1, 2, 3))
    assert (a, b) == (statement.comparison_events.quantize(Decimal("0.01"), ROUND_HALF_UP),
                      statement.intervention_events)
    assert c == a
    assert _number(pooled[4]) == statement.reduction.quantize(Decimal("0.1"), ROUND_HALF_UP)
    total = _amounts(line_with(statement, "total paid = "))
    assert total == [statement.early_payments, statement.final_payment,
                     statement.total_payment]
    assert total[0] + total[1] == total[2]
    final_line = line_with(statement, "final payment = ")
    final = _amounts(final_line)
    if "below 0" in final_line:  # outcome - early < 0: nothing more, nothing clawed back
        assert final[0] < final[1] and final[2] == statement.final_payment == 0
    elif len(final) == 3:  # outcome - early = final
        assert final[0] - final[1] == final[2] == statement.final_payment
    if len(final) == 3:
        assert final[0] == statement.outcome_payment
        assert final[1] == statement.early_payments
    people = line_with(statement, "all cohorts: people = ")
    parts = [_number(p) for p in re.findall(r"[0-9][0-9,]*", people.split("=", 1)[1])]
    assert parts[-1] == statement.people
    if len(parts) > 1:
        assert sum(parts[:-1]) == parts[-1]


def test_the_lines_of_the_published_examples_are_consistent() -> None:
    check_lines(payment_statement(peterborough(), [COHORT_1], final=False))
    check_lines(payment_statement(peterborough(), [COHORT_1, COHORT_2]))
    # the reduction recomputed from the numbers shown in its line
    statement = payment_statement(peterborough(), [COHORT_1, COHORT_2])
    for line in statement.lines:
        match = _REDUCTION.search(line)
        if match:
            comparison, intervention, divisor = (_number(match[i]) for i in (1, 2, 3))
            recomputed = (comparison - intervention) / divisor * 100
            assert abs(recomputed - _number(match[4])) <= Decimal("0.06"), line


@st.composite
def cohorts(draw: st.DrawFn) -> list[CohortInput]:
    result = []
    for index in range(draw(st.integers(1, 3))):
        size = draw(st.integers(1, 2000))
        intervention = draw(st.integers(0, 4000))
        if draw(st.booleans()):
            result.append(CohortInput(f"cohort {index + 1}", size=size,
                                      intervention_events=intervention,
                                      comparison_events=draw(st.integers(1, 4000))))
        else:
            rate = Decimal(draw(st.integers(1, 30000))) / 100
            result.append(CohortInput(f"cohort {index + 1}", size=size,
                                      intervention_events=intervention, comparison_rate=rate))
    return result


caps = st.one_of(st.none(), st.integers(0, 5_000_000).map(Decimal))
mechanisms = st.builds(
    PaymentMechanism,
    cohort_threshold=st.sampled_from([Decimal(10), Decimal(5), Decimal("12.5")]),
    overall_threshold=st.sampled_from([Decimal("7.5"), Decimal(5), Decimal(10)]),
    price_per_event=st.integers(1, 5_000_000).map(lambda p: Decimal(p) / 100),
    cohort_cap=caps, overall_cap=caps, early_payment=st.booleans())


def _better(cohort: CohortInput, fewer: int) -> CohortInput:
    return CohortInput(cohort.name, size=cohort.size,
                       intervention_events=max(cohort.intervention_events - fewer, 0),
                       comparison_events=cohort.comparison_events,
                       comparison_rate=cohort.comparison_rate,
                       comparison_size=cohort.comparison_size)


@settings(max_examples=300, deadline=None)
@given(mechanism=mechanisms, data=cohorts(), which=st.integers(0, 2),
       fewer=st.integers(0, 4000), final=st.booleans())
def test_payment_never_falls_as_the_reduction_grows_and_never_exceeds_the_caps(
        mechanism: PaymentMechanism, data: list[CohortInput], which: int, fewer: int,
        final: bool) -> None:
    statement = payment_statement(mechanism, data, final=final)
    improved = list(data)
    index = which % len(data)
    improved[index] = _better(data[index], fewer)
    better = payment_statement(mechanism, improved, final=final)
    assert better.cohorts[index].reduction >= statement.cohorts[index].reduction
    assert better.total_payment >= statement.total_payment
    assert better.early_payments >= statement.early_payments
    for each in (statement, better):
        assert each.total_payment == each.early_payments + each.final_payment
        assert each.final_payment >= 0
        assert each.total_payment == each.total_payment.quantize(Decimal("0.01"))
        if mechanism.overall_cap is not None:
            assert each.total_payment <= mechanism.overall_cap
        for cohort in each.cohorts:
            assert 0 <= cohort.early_payment <= cohort.early_payment_before_caps
            if mechanism.cohort_cap is not None:
                assert cohort.early_payment <= mechanism.cohort_cap
            if not (cohort.meets_cohort_threshold and mechanism.early_payment):
                assert cohort.early_payment_before_caps == 0
        if not (final and each.meets_overall_threshold):
            assert each.final_payment == 0
        check_lines(each)


# ----------------------------------------------------------------------------------------------
# Exact from counts to payment (issue 12, item 2)

RECONVICTION = OutcomeMeasure(kind="reconviction", type="frequency", window_from="release",
                              window_months=12, recorded_within_months=18)


def measured(people: int, events: int) -> MeasureResult:
    """The frequency measure over `people` released on 1 Jan 2011 and `events` court days,
    spread over them (a person has at most one event a day), counted by the engine."""
    release = date(2011, 1, 1)
    starts = {person: release for person in range(people)}
    occurrences = [(n % people, release + timedelta(days=1 + n // people),
                    release + timedelta(days=1 + n // people)) for n in range(events)]
    result = measure_occurrences(starts, occurrences, RECONVICTION)
    assert (result.people, result.events) == (people, events)
    return result


def early_payment_by_hand(people: int, events: int, group_people: int, group_events: int,
                          price: int) -> Decimal:
    """The contract's arithmetic on the counts, with fractions: events avoided = (comparison
    rate - intervention rate) / 100 * people, times the price, half up to the penny."""
    comparison = Fraction(group_events * 100, group_people)
    intervention = Fraction(events * 100, people)
    amount = (comparison - intervention) / 100 * people * price
    return (Decimal(amount.numerator) / Decimal(amount.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_a_matched_group_of_900_with_1200_events_pays_an_exact_10_percent_reduction() -> None:
    group = measured(900, 1200)   # 133.33... per 100; rounded to 133.3333 for display
    cohort = measured(1000, 1200)  # 120 per 100: exactly 10% fewer
    assert (Fraction(400, 3) - 120) / Fraction(400, 3) * 100 == 10
    statement = payment_statement(peterborough(), [matched_cohort_input("cohort 1", cohort,
                                                                        group)], final=False)
    [result] = statement.cohorts
    assert result.reduction == 10
    assert result.meets_cohort_threshold is True
    expected = early_payment_by_hand(1000, 1200, 900, 1200, 10000)
    assert expected == Decimal("1333333.33")
    assert result.early_payment == expected
    assert "cohort 1: 10.0% \u2265 10% cohort threshold: early payment due" in statement.lines
    assert (f"cohort 1: comparison rate = 1,200 events / 900 people {TIMES} 100 = 133.33 "
            "per 100") in statement.lines
    # the rounded display figure would have flipped it: why it is never computed with
    rounded = CohortInput("cohort 1", size=1000, intervention_events=1200,
                          comparison_rate=Decimal(str(group.per_100)))
    assert payment_statement(peterborough(), [rounded], final=False).cohorts[0] \
        .meets_cohort_threshold is False


def test_one_event_more_than_an_exact_10_percent_reduction_is_no_early_payment() -> None:
    statement = payment_statement(peterborough(), [matched_cohort_input(
        "cohort 1", measured(1000, 1201), measured(900, 1200))], final=False)
    [result] = statement.cohorts
    reduction = (Fraction(400, 3) - Fraction(1201, 10)) / Fraction(400, 3) * 100
    assert reduction < 10 and result.reduction == Decimal(reduction.numerator) / \
        Decimal(reduction.denominator)
    assert result.meets_cohort_threshold is False and result.early_payment == 0
    assert "cohort 1: 9.9% < 10% cohort threshold: no early payment" in statement.lines


def test_the_statement_says_its_figures_are_rounded_for_display_only() -> None:
    statement = payment_statement(peterborough(), [COHORT_1], final=False)
    assert "rounded for display only" in statement.rounding
    assert any("rounded for display only" in line for line in statement.lines)
    assert "half up" in statement.rounding


def test_the_peterborough_programme_says_reconvicted_is_a_negative_outcome() -> None:
    """Issue 12.8: the INDIGO export must never count `reconvicted` (recorded by a pathway
    step) as a positive social outcome; the programme file says which way it goes."""
    programme = programme_from_config(yaml.safe_load(PROGRAMME_FILE.read_text("utf-8")))
    directions = programme.outcome_directions()
    assert directions["reconvicted"] == directions["reconviction"] == "lower_is_better"
