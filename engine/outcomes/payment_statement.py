"""The payment statement: what a payment mechanism pays for cohorts' results, every step
shown as a line of arithmetic (engine.outcomes.payments has the rules and the rounding)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from engine.outcomes.outcome_measures import MeasureResult
from engine.outcomes.payment_checks import (
    MAX_EVENTS,
    MAX_PEOPLE,
    MAX_RATE,
    Problems,
    add_problem,
    invalid,
    not_count,
    out_of_bounds,
    too_big,
)
from engine.outcomes.payment_figures import (
    MINUS,
    TIMES,
    exact,
    figure,
    money,
    percent,
    pounds,
    sum_shown,
    to_penny,
    versus,
)
from engine.outcomes.payment_mechanism import PaymentMechanism, assumed_figures

ROUNDING = ("Exact arithmetic from the counts of people and events; thresholds tested on "
            "exact reductions; each payment (events avoided \u00d7 price) rounded to the penny, "
            "half up, before caps; lines show rates and events to 2 decimal places and "
            "reductions to 1, trailing zeros dropped: rounded for display only.")

ALL_COHORTS = "all cohorts"


# -- the data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortInput:
    """One cohort's results: how many people, how many reconviction events they had, and the
    matched comparison group's events (as a count, for comparison_size people — by default as
    many as the cohort) or rate (events per `per` people)."""

    name: str
    size: int
    intervention_events: int
    comparison_events: int | None = None
    comparison_rate: Decimal | None = None
    comparison_size: int | None = None

    def __post_init__(self) -> None:
        problems = _cohort_problems(self)
        if problems:
            raise invalid(f"invalid results for cohort {self.name!r}",
                          {f"{self.name}.{key}": value for key, value in problems.items()})


def _cohort_problems(cohort: CohortInput) -> Problems:
    problems: Problems = {}
    if not cohort.name.strip():
        add_problem(problems, "name", "required")
    if not_count(cohort.size) or cohort.size <= 0:
        add_problem(problems, "size", f"must be a whole number above 0, not {cohort.size!r}")
    if not_count(cohort.intervention_events) or cohort.intervention_events < 0:
        add_problem(problems, "intervention_events",
                    f"must be a whole number, 0 or more, not {cohort.intervention_events!r}")
    _comparison_problems(cohort, problems)
    for name, maximum in (("size", MAX_PEOPLE), ("intervention_events", MAX_EVENTS),
                          ("comparison_events", MAX_EVENTS), ("comparison_size", MAX_PEOPLE)):
        if too_big(getattr(cohort, name), maximum):
            problems[name] = [f"must be at most {maximum}"]
    why = out_of_bounds(cohort.comparison_rate, MAX_RATE)
    if why is not None:
        problems["comparison_rate"] = [why]
    return problems


def _comparison_problems(cohort: CohortInput, problems: Problems) -> None:
    """The comparison group: exactly one of its events (and size) or its rate."""
    events, rate, size = cohort.comparison_events, cohort.comparison_rate, cohort.comparison_size
    if (events is None) == (rate is None):
        add_problem(problems, "comparison_events",
                    "give exactly one of comparison_events and comparison_rate")
    if events is not None and (not_count(events) or events <= 0):
        add_problem(problems, "comparison_events",
                    f"must be a whole number above 0, not {events!r}")
    if rate is not None and not (isinstance(rate, Decimal | int) and not isinstance(rate, bool)
                                 and Decimal(rate).is_finite() and rate > 0):
        add_problem(problems, "comparison_rate", f"must be above 0, not {rate!r}")
    if size is None:
        return
    if events is None:
        add_problem(problems, "comparison_size", "only goes with comparison_events")
    elif not_count(size) or size <= 0:
        add_problem(problems, "comparison_size", f"must be a whole number above 0, not {size!r}")


def matched_cohort_input(name: str, cohort: MeasureResult,
                         comparison: MeasureResult) -> CohortInput:
    """A cohort's results against its matched comparison group, from both groups' counts of
    people and events: never from their per_100 figures, which are rounded for display
    (1,200 events / 900 people is 133.33... per 100; as 133.3333 it turns an exact 10%
    reduction into 9.99998% and withholds the early payment)."""
    return CohortInput(name, size=cohort.people, intervention_events=cohort.events,
                       comparison_events=comparison.events, comparison_size=comparison.people)


@dataclass(frozen=True)
class CohortStatement:
    input: CohortInput
    intervention_rate: Decimal
    """Intervention events per `per` people."""
    comparison_rate: Decimal
    """Comparison group's events per `per` people."""
    comparison_events: Decimal
    """The events the cohort would have had at the comparison rate (rate * size / per)."""
    reduction: Decimal
    """(comparison rate - intervention rate) / comparison rate, in percent."""
    meets_cohort_threshold: bool
    events_avoided: Decimal
    """(comparison rate - intervention rate) / per * size; negative when worse."""
    early_payment_before_caps: Decimal
    early_payment: Decimal
    """After the per-cohort cap and what the overall cap leaves."""
    lines: tuple[str, ...]


@dataclass(frozen=True)
class PaymentStatement:
    mechanism: PaymentMechanism
    cohorts: tuple[CohortStatement, ...]
    people: int
    intervention_events: int
    comparison_events: Decimal
    intervention_rate: Decimal
    comparison_rate: Decimal
    reduction: Decimal
    """Pooled across all cohorts, percent: (comparison events - intervention events) /
    comparison events."""
    meets_overall_threshold: bool
    """Whether the pooled reduction reaches the overall threshold (in an interim statement:
    would, if these were all the cohorts; nothing is paid on it)."""
    final: bool
    """False for an interim statement: early payments only."""
    events_avoided: Decimal
    outcome_payment_before_caps: Decimal
    """Events avoided * price on all cohorts when the overall threshold is met, else 0."""
    outcome_payment: Decimal
    """The same after the overall cap."""
    early_payments: Decimal
    final_payment: Decimal
    """outcome_payment less early_payments, never below 0 (0 when the threshold is missed)."""
    total_payment: Decimal
    """early_payments + final_payment; never more than the overall cap."""
    lines: tuple[str, ...]
    rounding: str = field(default=ROUNDING)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: Decimals as strings, tuples as lists."""
        result = _plain(self)
        assert isinstance(result, dict)
        return result


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


# -- the statement ---------------------------------------------------------------------------


def payment_statement(mechanism: PaymentMechanism, cohorts: Sequence[CohortInput], *,
                      final: bool = True) -> PaymentStatement:
    """What the mechanism pays for these cohorts' results, every step shown.

    final=True (the default): every cohort of the programme is in, so the overall threshold is
    tested on them all and the final payment worked out. final=False: an interim statement
    (e.g. Peterborough in 2014, cohort 1 only): early payments only; the pooled reduction so
    far is shown, but no outcome payment is due on it yet.
    """
    _check_cohorts(cohorts)
    lines = _preamble(mechanism)
    statements: list[CohortStatement] = []
    early_total = Fraction(0)
    expected_total = Fraction(0)
    for cohort in cohorts:
        own = _cohort_statement(mechanism, cohort, early_total)
        early_total += own.paid
        expected_total += own.expected
        lines += own.statement.lines
        statements.append(own.statement)
    pooled = _pooled(mechanism.per, cohorts, expected_total)
    lines += _pooled_lines(pooled, mechanism.per, cohorts, statements)
    meets_overall = pooled.reduction >= Fraction(mechanism.overall_threshold)
    lines.append(_overall_line(pooled.reduction, Fraction(mechanism.overall_threshold), final))
    due = final and meets_overall
    outcome_before, outcome = (_priced(ALL_COHORTS, "outcome payment", pooled.avoided,
                                       Fraction(mechanism.price_per_event),
                                       mechanism.overall_cap, "overall cap", lines)
                               if due else (Fraction(0), Fraction(0)))
    early_amounts = [Fraction(s.early_payment) for s in statements]
    if any(early_amounts):
        lines.append(f"early payments made = {sum_shown(early_amounts, as_money=True)}")
    final_payment = _final_payment(outcome, early_total, due=due, final=final, lines=lines)
    total = early_total + final_payment
    lines.append(f"total paid = early {money(early_total)} + final {money(final_payment)} = "
                 f"{money(total)}")
    return PaymentStatement(
        mechanism=mechanism, cohorts=tuple(statements), people=pooled.people,
        intervention_events=pooled.events, comparison_events=exact(expected_total),
        intervention_rate=exact(pooled.intervention_rate),
        comparison_rate=exact(pooled.comparison_rate), reduction=exact(pooled.reduction),
        meets_overall_threshold=meets_overall, final=final,
        events_avoided=exact(pooled.avoided), outcome_payment_before_caps=pounds(outcome_before),
        outcome_payment=pounds(outcome), early_payments=pounds(early_total),
        final_payment=pounds(final_payment), total_payment=pounds(total), lines=tuple(lines))


def _check_cohorts(cohorts: Sequence[CohortInput]) -> None:
    """At least one cohort, no two of one name."""
    if not cohorts:
        raise invalid("a payment statement needs at least one cohort",
                      {"cohorts": ["at least one cohort is required"]})
    names = [cohort.name for cohort in cohorts]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise invalid("cohort names must be unique",
                      {"cohorts": [f"more than one cohort called {name!r}"
                                   for name in duplicates]})


def _preamble(mechanism: PaymentMechanism) -> list[str]:
    """The measure, the rounding rule and the figures that are placeholders."""
    lines = [f"Measure: {mechanism.measure_description}; lower is better.",
             f"Rounding: {ROUNDING}"]
    if mechanism.assumed:
        lines.append(f"ASSUMED, not from the contract: {', '.join(assumed_figures(mechanism))}. "
                     "The amounts below are placeholders until the contract's figures are put "
                     "in the programme file.")
    return lines


class _CohortFigures(NamedTuple):
    statement: CohortStatement
    expected: Fraction
    """The comparison events for the cohort's size, exact."""
    paid: Fraction
    """The early payment, exact."""


def _cohort_statement(mechanism: PaymentMechanism, cohort: CohortInput,
                      early_total: Fraction) -> _CohortFigures:
    """One cohort's figures and lines; early_total is what earlier cohorts were paid early."""
    name, per = cohort.name, mechanism.per
    own: list[str] = []
    intervention_rate = Fraction(cohort.intervention_events * per, cohort.size)
    own.append(f"{name}: intervention rate = {figure(cohort.intervention_events)} events / "
               f"{figure(cohort.size)} people {TIMES} {per} = {figure(intervention_rate)} "
               f"per {per}")
    comparison_rate, expected = _comparison(cohort, per, own)
    shown = f"({figure(comparison_rate)} {MINUS} {figure(intervention_rate)})"
    reduction = (comparison_rate - intervention_rate) / comparison_rate * 100
    own.append(f"{name}: reduction = {shown} / {figure(comparison_rate)} = {percent(reduction)}")
    avoided = (comparison_rate - intervention_rate) / per * cohort.size
    own.append(f"{name}: events avoided = {shown} / {per} {TIMES} {figure(cohort.size)} = "
               f"{figure(avoided)}")
    meets = reduction >= Fraction(mechanism.cohort_threshold)
    paid_early = meets and mechanism.early_payment
    own.append(f"{name}: {versus(reduction, Fraction(mechanism.cohort_threshold))} cohort "
               "threshold: " + ("early payment due" if paid_early else
                                "no early payment" if not meets else
                                "(early payments are not part of this mechanism)"))
    before, paid = (_early_payment(mechanism, name, avoided, early_total, own) if paid_early
                    else (Fraction(0), Fraction(0)))
    statement = CohortStatement(
        input=cohort, intervention_rate=exact(intervention_rate),
        comparison_rate=exact(comparison_rate), comparison_events=exact(expected),
        reduction=exact(reduction), meets_cohort_threshold=meets,
        events_avoided=exact(avoided), early_payment_before_caps=pounds(before),
        early_payment=pounds(paid), lines=tuple(own))
    return _CohortFigures(statement, expected, paid)


def _comparison(cohort: CohortInput, per: int, own: list[str]) -> tuple[Fraction, Fraction]:
    """(the comparison rate, the events the cohort would have had at it)."""
    name = cohort.name
    if cohort.comparison_rate is not None:
        rate = Fraction(cohort.comparison_rate)
        expected = rate * cohort.size / per
        own.append(f"{name}: comparison rate = {figure(rate)} per {per} (given)")
        own.append(f"{name}: comparison events = {figure(rate)} {TIMES} "
                   f"{figure(cohort.size)} / {per} = {figure(expected)}")
        return rate, expected
    assert cohort.comparison_events is not None
    size = cohort.comparison_size or cohort.size
    rate = Fraction(cohort.comparison_events * per, size)
    expected = rate * cohort.size / per
    own.append(f"{name}: comparison rate = {figure(cohort.comparison_events)} events / "
               f"{figure(size)} people {TIMES} {per} = {figure(rate)} per {per}")
    if size != cohort.size:
        own.append(f"{name}: comparison events for {figure(cohort.size)} people = "
                   f"{figure(rate)} {TIMES} {figure(cohort.size)} / {per} = {figure(expected)}")
    return rate, expected


def _priced(who: str, payment: str, events: Fraction, price: Fraction, cap: Decimal | None,
            cap_name: str, lines: list[str]) -> tuple[Fraction, Fraction]:
    """(events * price rounded to the penny, the same held to the cap), with their lines."""
    before = to_penny(events * price)
    lines.append(f"{who}: {payment} = {figure(events)} events {TIMES} {money(price)} = "
                 f"{money(before)}")
    if cap is not None and before > Fraction(cap):
        lines.append(f"{who}: {payment} capped at the {cap_name} {money(Fraction(cap))}")
        return before, Fraction(cap)
    return before, before


def _early_payment(mechanism: PaymentMechanism, name: str, avoided: Fraction,
                   early_total: Fraction, own: list[str]) -> tuple[Fraction, Fraction]:
    """(before caps, paid): held to the per-cohort cap and to what the overall cap leaves."""
    before, paid = _priced(name, "early payment", avoided, Fraction(mechanism.price_per_event),
                           mechanism.cohort_cap, "per-cohort cap", own)
    if mechanism.overall_cap is None:
        return before, paid
    room = Fraction(mechanism.overall_cap) - early_total
    if paid > room:
        own.append(f"{name}: early payment limited to what the overall cap "
                   f"{money(mechanism.overall_cap)} leaves: {money(mechanism.overall_cap)} "
                   f"{MINUS} {money(early_total)} = {money(room)}")
        paid = room
    return before, paid


class _Pooled(NamedTuple):
    """All cohorts together: events summed, people summed."""

    people: int
    events: int
    expected: Fraction
    intervention_rate: Fraction
    comparison_rate: Fraction
    reduction: Fraction
    avoided: Fraction


def _pooled(per: int, cohorts: Sequence[CohortInput], expected: Fraction) -> _Pooled:
    people = sum(cohort.size for cohort in cohorts)
    events = sum(cohort.intervention_events for cohort in cohorts)
    return _Pooled(people=people, events=events, expected=expected,
                   intervention_rate=Fraction(events * per, people),
                   comparison_rate=expected * per / people,
                   reduction=(expected - events) / expected * 100,
                   avoided=expected - events)


def _pooled_lines(pooled: _Pooled, per: int, cohorts: Sequence[CohortInput],
                  statements: Sequence[CohortStatement]) -> list[str]:
    every, expected, events = ALL_COHORTS, figure(pooled.expected), figure(pooled.events)
    comparison_events = [Fraction(s.comparison_events) for s in statements]
    return [
        f"{every}: people = {sum_shown([c.size for c in cohorts])}",
        f"{every}: intervention events = {sum_shown([c.intervention_events for c in cohorts])}",
        f"{every}: comparison events = {sum_shown(comparison_events)}",
        f"{every}: intervention rate = {events} / {figure(pooled.people)} {TIMES} {per} = "
        f"{figure(pooled.intervention_rate)} per {per}",
        f"{every}: comparison rate = {expected} / {figure(pooled.people)} {TIMES} {per} = "
        f"{figure(pooled.comparison_rate)} per {per}",
        f"{every}: reduction = ({expected} {MINUS} {events}) / {expected} = "
        f"{percent(pooled.reduction)}",
        f"{every}: events avoided = {expected} {MINUS} {events} = {figure(pooled.avoided)}",
    ]


def _overall_line(reduction: Fraction, threshold: Fraction, final: bool) -> str:
    if not final:
        return (f"{ALL_COHORTS}: interim statement: the overall threshold "
                f"({figure(threshold, 12)}%) is tested when every cohort is in; "
                "no outcome payment yet")
    return (f"{ALL_COHORTS}: {versus(reduction, threshold)} overall threshold: "
            + ("outcome payment triggered" if reduction >= threshold else "no outcome payment"))


def _final_payment(outcome: Fraction, early_total: Fraction, *, due: bool, final: bool,
                   lines: list[str]) -> Fraction:
    """The outcome payment less the early payments, never below 0; 0 unless due."""
    if not due:
        why = "interim statement" if not final else "overall threshold not met"
        lines.append(f"final payment = {money(0)} ({why}"
                     + ("; early payments are kept)" if early_total else ")"))
        return Fraction(0)
    final_payment = max(outcome - early_total, Fraction(0))
    shown = f"{money(outcome)} {MINUS} {money(early_total)}"
    lines.append(f"final payment = {shown} = {money(final_payment)}"
                 if outcome >= early_total else
                 f"final payment = {shown}, below 0, so {money(0)} "
                 "(early payments are not clawed back)")
    return final_payment
