"""Payment by results: a programme's payment mechanism, and the statement of what it pays.

Modelled on the Peterborough social impact bond (see ../shared/notes/domain.md):

* the **measure** is the frequency of reconviction events, counted per 100 people, for the
  intervention cohort against a matched comparison group; lower is better;
* a cohort whose own **reduction** — (comparison - intervention) / comparison — is at least the
  **cohort threshold** (10%) is paid early, for that cohort alone;
* a reduction of at least the **overall threshold** (7.5%) across the whole pilot (every cohort
  pooled: events summed, people summed) triggers the outcome payment on all cohorts;
* payments are a **price per reconviction event avoided**; events avoided =
  (comparison rate - intervention rate) / 100 * cohort size;
* **caps**: the per-cohort cap limits a cohort's early payment; the overall cap limits everything
  paid (early payments and the final payment together). The final payment is the capped outcome
  payment on all cohorts less the early payments already made, never below zero: an early payment
  is never clawed back, also when the overall threshold is missed.

`payment_statement` shows every input, every computed figure and one human-readable line of
arithmetic per step, so a commissioner can check the sums by hand. `final=False` gives an
interim statement (some cohorts still to come): early payments only.

Rounding rule (ROUNDING): everything is computed exactly (rational arithmetic) from the counts
— people and events, of the cohort and of its matched comparison group (matched_cohort_input:
never a rate rounded for display, which can put an exact 10% reduction at 9.99998%); the
threshold tests compare exact reductions with the thresholds. A payment is rounded to the
penny, half up (decimal.ROUND_HALF_UP), once — when events avoided * price is worked out — and
caps apply to those rounded amounts. The figures in the statement's fields are exact to 28
significant digits; the arithmetic lines show rates and events to 2 decimal places and
reductions to 1 (more where needed to show which side of a threshold a reduction falls),
trailing zeros dropped: rounded for display only. Amounts are in pounds.

Pure: no I/O. `mechanism_from_config` / `programme_from_config` validate mappings as read from
definitions/programme.yaml and raise InvalidArgumentError with every problem by field path
(details["fields"]).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import Any

from engine.errors import InvalidArgumentError
from engine.outcomes import MeasureResult, OutcomeMeasure, outcome_directions

ROUNDING = ("Exact arithmetic from the counts of people and events; thresholds tested on "
            "exact reductions; each payment (events avoided \u00d7 price) rounded to the penny, "
            "half up, before caps; lines show rates and events to 2 decimal places and "
            "reductions to 1, trailing zeros dropped: rounded for display only.")

MEASURES = {"frequency": "frequency of reconviction events per {per} people"}

MINUS = "\u2212"
TIMES = "\u00d7"
GE = "\u2265"
POUND = "\u00a3"

_PENNY = Decimal("0.01")
_FIELD_DIGITS = Context(prec=28)
_SHOW_DIGITS = Context(prec=60)
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


# ----------------------------------------------------------------------------------------------
# The mechanism

@dataclass(frozen=True)
class PaymentMechanism:
    """How a programme pays for outcomes. Percentages are percent (10 = 10%), amounts pounds."""

    cohort_threshold: Decimal
    """Reduction (percent) a cohort needs on its own to be paid early (Peterborough: 10)."""
    overall_threshold: Decimal
    """Reduction (percent) across all cohorts pooled that triggers payment (Peterborough: 7.5)."""
    price_per_event: Decimal
    """Pounds paid per reconviction event avoided."""
    cohort_cap: Decimal | None = None
    """Most one cohort's early payment can be, pounds; None: no cap."""
    overall_cap: Decimal | None = None
    """Most everything paid can be (early and final payments together), pounds; None: no cap."""
    early_payment: bool = True
    """Whether a cohort reaching cohort_threshold is paid early."""
    measure: str = "frequency"
    """The outcome measure: "frequency" of reconviction events (lower is better)."""
    per: int = 100
    """Rates are events per this many people."""
    assumed: tuple[str, ...] = ()
    """Figures of the programme file that are placeholders, not the contract's (e.g.
    "price_per_event_avoided"): every statement says so, so none is mistaken for a bill."""

    def __post_init__(self) -> None:
        problems: dict[str, list[str]] = {}
        for name in ("cohort_threshold", "overall_threshold"):
            value = getattr(self, name)
            if not 0 < value < 100:
                problems.setdefault(name, []).append(
                    f"must be a percentage above 0 and below 100, not {value}")
        if self.price_per_event <= 0:
            problems.setdefault("price_per_event", []).append(
                f"must be above 0, not {self.price_per_event}")
        for name in ("cohort_cap", "overall_cap"):
            cap = getattr(self, name)
            if cap is not None and cap < 0:
                problems.setdefault(name, []).append(f"must be 0 or more, not {cap}")
        for name, maximum in (("cohort_threshold", Decimal(100)),
                              ("overall_threshold", Decimal(100)),
                              ("price_per_event", MAX_AMOUNT), ("cohort_cap", MAX_AMOUNT),
                              ("overall_cap", MAX_AMOUNT)):
            why = _out_of_bounds(getattr(self, name), maximum)
            if why is not None:
                problems[name] = [why]
        if _too_big(self.per, MAX_PER):
            problems.setdefault("per", []).append(f"must be at most {MAX_PER}")
        if self.measure not in MEASURES:
            problems.setdefault("measure", []).append(
                f"unknown measure {self.measure!r}; known: {', '.join(sorted(MEASURES))}")
        if self.per <= 0:
            problems.setdefault("per", []).append(f"must be above 0, not {self.per}")
        if problems:
            raise _invalid("invalid payment mechanism", problems)

    @property
    def measure_description(self) -> str:
        return MEASURES[self.measure].format(per=self.per)


@dataclass(frozen=True)
class CohortDefinition:
    """A cohort as the programme defines it: who is in it (releases in a span of months)."""

    name: str
    releases_from: str | None = None
    """First month of releases, YYYY-MM."""
    releases_to: str | None = None
    """Last month of releases, YYYY-MM; None when not known or still open."""
    description: str = ""


@dataclass(frozen=True)
class Programme:
    name: str
    mechanism: PaymentMechanism
    cohorts: tuple[CohortDefinition, ...] = ()
    description: str = ""
    # how outcomes are counted (engine.outcomes.OutcomeMeasure), configured, not coded
    measures: tuple[OutcomeMeasure, ...] = ()

    def outcome_directions(self) -> dict[str, str]:
        """Outcome name -> higher_is_better / lower_is_better, from the measures (their
        kinds and the step outcomes they name): which way each outcome is good news."""
        return outcome_directions(self.measures)


_MECHANISM_KEYS = {
    "measure", "per", "cohort_threshold_percent", "overall_threshold_percent",
    "price_per_event_avoided", "early_payment", "caps", "assumed",
}
# the figures `assumed` may name, and how a statement names them
_ASSUMABLE = {
    "cohort_threshold_percent": "cohort threshold",
    "overall_threshold_percent": "overall threshold",
    "price_per_event_avoided": "price per event avoided",
    "caps.per_cohort": "cap per cohort",
    "caps.overall": "overall cap",
}
_CAP_KEYS = {"per_cohort", "overall"}
_PROGRAMME_KEYS = {"programme", "description", "payment_mechanism", "cohorts",
                   "outcome_measures"}
_COHORT_KEYS = {"name", "releases_from", "releases_to", "description"}


def mechanism_from_config(config: object, *, path: str = "") -> PaymentMechanism:
    """A PaymentMechanism from a mapping such as definitions/programme.yaml's
    `payment_mechanism`:

        measure: frequency                 # optional, the only measure known so far
        per: 100                           # optional, rates are events per 100 people
        cohort_threshold_percent: 10       # required
        overall_threshold_percent: 7.5     # required
        price_per_event_avoided: 10000     # required, pounds
        early_payment: true                # optional, default true
        caps: {per_cohort: 3000000, overall: 6000000}   # optional; null = no cap
        assumed: [price_per_event_avoided]  # optional: placeholders, not the contract's

    Raises InvalidArgumentError listing every problem by field path (prefixed with `path`).
    """
    problems: dict[str, list[str]] = {}
    at = _at(path)
    if not isinstance(config, Mapping):
        raise _invalid("invalid payment mechanism",
                       {path or "(config)": [f"must be a mapping, not {_kind(config)}"]})
    _unknown_keys(config, _MECHANISM_KEYS, path, problems)

    measure = config.get("measure", "frequency")
    if not isinstance(measure, str) or measure not in MEASURES:
        _add(problems, at("measure"),
             f"unknown measure {measure!r}; known: {', '.join(sorted(MEASURES))}")
    per = config.get("per", 100)
    if isinstance(per, bool) or not isinstance(per, int) or not 0 < per <= MAX_PER:
        _add(problems, at("per"), f"must be a whole number above 0 and at most {MAX_PER}")

    cohort_threshold = _percentage(config, "cohort_threshold_percent", at, problems)
    overall_threshold = _percentage(config, "overall_threshold_percent", at, problems)
    price = _number(config, "price_per_event_avoided", at, problems, required=True)
    if price is not None and price <= 0:
        _add(problems, at("price_per_event_avoided"), f"must be above 0, not {price}")

    early = config.get("early_payment", True)
    if not isinstance(early, bool):
        _add(problems, at("early_payment"), f"must be true or false, not {early!r}")

    cohort_cap: Decimal | None = None
    overall_cap: Decimal | None = None
    caps = config.get("caps")
    if caps is not None:
        if not isinstance(caps, Mapping):
            _add(problems, at("caps"), f"must be a mapping, not {_kind(caps)}")
        else:
            _unknown_keys(caps, _CAP_KEYS, at("caps"), problems)
            cap_at = _at(at("caps"))
            cohort_cap = _number(caps, "per_cohort", cap_at, problems, required=False)
            overall_cap = _number(caps, "overall", cap_at, problems, required=False)
            for key, cap in (("per_cohort", cohort_cap), ("overall", overall_cap)):
                if cap is not None and cap < 0:
                    _add(problems, cap_at(key), f"must be 0 or more, not {cap}")

    assumed = config.get("assumed", [])
    if not isinstance(assumed, list) or not all(isinstance(a, str) for a in assumed):
        _add(problems, at("assumed"), f"must be a list of figure names, not {assumed!r}")
        assumed = []
    for index, name in enumerate(assumed):
        if name not in _ASSUMABLE:
            _add(problems, f"{at('assumed')}[{index}]",
                 f"unknown figure {name!r}; known: {', '.join(sorted(_ASSUMABLE))}")

    if problems:
        raise _invalid("invalid payment mechanism", problems)
    assert cohort_threshold is not None and overall_threshold is not None and price is not None
    assert isinstance(measure, str) and isinstance(per, int) and isinstance(early, bool)
    return PaymentMechanism(
        cohort_threshold=cohort_threshold, overall_threshold=overall_threshold,
        price_per_event=price, cohort_cap=cohort_cap, overall_cap=overall_cap,
        early_payment=early, measure=measure, per=per, assumed=tuple(assumed))


def programme_from_config(config: object) -> Programme:
    """A Programme from a whole programme file (definitions/programme.yaml, parsed):
    `programme` (name), `description`, `payment_mechanism` (see mechanism_from_config) and
    `cohorts` (a list of {name, releases_from: YYYY-MM, releases_to: YYYY-MM or null,
    description})."""
    if not isinstance(config, Mapping):
        raise _invalid("invalid programme",
                       {"(config)": [f"must be a mapping, not {_kind(config)}"]})
    problems: dict[str, list[str]] = {}
    _unknown_keys(config, _PROGRAMME_KEYS, "", problems)
    name = config.get("programme")
    if not isinstance(name, str) or not name.strip():
        _add(problems, "programme", "required: the programme's name")
    description = config.get("description", "")
    if not isinstance(description, str):
        _add(problems, "description", f"must be text, not {_kind(description)}")

    mechanism: PaymentMechanism | None = None
    if "payment_mechanism" not in config:
        _add(problems, "payment_mechanism", "required")
    else:
        try:
            mechanism = mechanism_from_config(config["payment_mechanism"],
                                              path="payment_mechanism")
        except InvalidArgumentError as err:
            for where, messages in err.details["fields"].items():
                problems.setdefault(where, []).extend(messages)

    cohorts: list[CohortDefinition] = []
    raw_cohorts = config.get("cohorts", [])
    if not isinstance(raw_cohorts, list):
        _add(problems, "cohorts", f"must be a list, not {_kind(raw_cohorts)}")
        raw_cohorts = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_cohorts):
        where = f"cohorts[{index}]"
        if not isinstance(raw, Mapping):
            _add(problems, where, f"must be a mapping, not {_kind(raw)}")
            continue
        _unknown_keys(raw, _COHORT_KEYS, where, problems)
        cohort_name = raw.get("name")
        if not isinstance(cohort_name, str) or not cohort_name.strip():
            _add(problems, f"{where}.name", "required: the cohort's name")
            cohort_name = ""
        elif cohort_name in seen:
            _add(problems, f"{where}.name", f"another cohort is already called {cohort_name!r}")
        seen.add(cohort_name)
        months: dict[str, str | None] = {}
        for key in ("releases_from", "releases_to"):
            value = raw.get(key)
            if value is not None and not (isinstance(value, str) and _MONTH.match(value)):
                _add(problems, f"{where}.{key}", f"must be a month YYYY-MM, not {value!r}")
                value = None
            months[key] = value
        first, last = months["releases_from"], months["releases_to"]
        if first and last and last < first:
            _add(problems, f"{where}.releases_to", f"{last} is before releases_from {first}")
        cohort_description = raw.get("description", "")
        if not isinstance(cohort_description, str):
            _add(problems, f"{where}.description", f"must be text, not {_kind(cohort_description)}")
            cohort_description = ""
        cohorts.append(CohortDefinition(name=cohort_name, releases_from=first, releases_to=last,
                                        description=cohort_description))

    measures: list[OutcomeMeasure] = []
    raw_measures = config.get("outcome_measures", [])
    if not isinstance(raw_measures, list):
        _add(problems, "outcome_measures", f"must be a list, not {_kind(raw_measures)}")
        raw_measures = []
    for index, raw in enumerate(raw_measures):
        where = f"outcome_measures[{index}]"
        if not isinstance(raw, Mapping):
            _add(problems, where, f"must be a mapping, not {_kind(raw)}")
            continue
        try:
            measures.append(OutcomeMeasure.from_config(raw))
        except (InvalidArgumentError, TypeError) as err:
            fields = err.details.get("fields", {}) if isinstance(err, InvalidArgumentError) \
                else {}
            for key, messages in (fields or {"(measure)": [str(err)]}).items():
                for message in messages if isinstance(messages, list) else [messages]:
                    _add(problems, f"{where}.{key}", str(message))

    try:
        outcome_directions(measures)
    except InvalidArgumentError as err:
        _add(problems, "outcome_measures", err.message)
    if problems:
        raise _invalid("invalid programme", problems)
    assert isinstance(name, str) and isinstance(description, str) and mechanism is not None
    return Programme(name=name, mechanism=mechanism, cohorts=tuple(cohorts),
                     description=description, measures=tuple(measures))


def assumed_figures(mechanism: PaymentMechanism) -> list[str]:
    """The placeholder figures of the mechanism (payment_mechanism.assumed), as a statement
    names them (e.g. "price per event avoided")."""
    return [_ASSUMABLE.get(name, name) for name in mechanism.assumed]


# ----------------------------------------------------------------------------------------------
# The data, and the statement

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
        problems: dict[str, list[str]] = {}
        if not self.name.strip():
            _add(problems, "name", "required")
        if _not_count(self.size) or self.size <= 0:
            _add(problems, "size", f"must be a whole number above 0, not {self.size!r}")
        if _not_count(self.intervention_events) or self.intervention_events < 0:
            _add(problems, "intervention_events",
                 f"must be a whole number, 0 or more, not {self.intervention_events!r}")
        if (self.comparison_events is None) == (self.comparison_rate is None):
            _add(problems, "comparison_events",
                 "give exactly one of comparison_events and comparison_rate")
        if self.comparison_events is not None and (
                _not_count(self.comparison_events) or self.comparison_events <= 0):
            _add(problems, "comparison_events",
                 f"must be a whole number above 0, not {self.comparison_events!r}")
        if self.comparison_rate is not None and not (
                isinstance(self.comparison_rate, Decimal | int)
                and not isinstance(self.comparison_rate, bool)
                and Decimal(self.comparison_rate).is_finite() and self.comparison_rate > 0):
            _add(problems, "comparison_rate", f"must be above 0, not {self.comparison_rate!r}")
        if self.comparison_size is not None:
            if self.comparison_events is None:
                _add(problems, "comparison_size", "only goes with comparison_events")
            elif _not_count(self.comparison_size) or self.comparison_size <= 0:
                _add(problems, "comparison_size",
                     f"must be a whole number above 0, not {self.comparison_size!r}")
        for name, maximum in (("size", MAX_PEOPLE), ("intervention_events", MAX_EVENTS),
                              ("comparison_events", MAX_EVENTS),
                              ("comparison_size", MAX_PEOPLE)):
            if _too_big(getattr(self, name), maximum):
                problems[name] = [f"must be at most {maximum}"]
        why = _out_of_bounds(self.comparison_rate, MAX_RATE)
        if why is not None:
            problems["comparison_rate"] = [why]
        if problems:
            raise _invalid(f"invalid results for cohort {self.name!r}",
                           {f"{self.name}.{key}": value for key, value in problems.items()})


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


def payment_statement(mechanism: PaymentMechanism, cohorts: Sequence[CohortInput], *,
                      final: bool = True) -> PaymentStatement:
    """What the mechanism pays for these cohorts' results, every step shown.

    final=True (the default): every cohort of the programme is in, so the overall threshold is
    tested on them all and the final payment worked out. final=False: an interim statement
    (e.g. Peterborough in 2014, cohort 1 only): early payments only; the pooled reduction so
    far is shown, but no outcome payment is due on it yet.
    """
    if not cohorts:
        raise _invalid("a payment statement needs at least one cohort",
                       {"cohorts": ["at least one cohort is required"]})
    names = [cohort.name for cohort in cohorts]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise _invalid("cohort names must be unique",
                       {"cohorts": [f"more than one cohort called {name!r}"
                                    for name in duplicates]})

    per = mechanism.per
    price = Fraction(mechanism.price_per_event)
    cohort_threshold = Fraction(mechanism.cohort_threshold)
    overall_threshold = Fraction(mechanism.overall_threshold)
    lines: list[str] = [f"Measure: {mechanism.measure_description}; lower is better.",
                        f"Rounding: {ROUNDING}"]
    if mechanism.assumed:
        named = ", ".join(_ASSUMABLE.get(name, name) for name in mechanism.assumed)
        lines.append(f"ASSUMED, not from the contract: {named}. The amounts below are "
                     "placeholders until the contract's figures are put in the programme file.")

    statements: list[CohortStatement] = []
    early_total = Fraction(0)
    expected_total = Fraction(0)
    for cohort in cohorts:
        name = cohort.name
        own: list[str] = []
        intervention_rate = Fraction(cohort.intervention_events * per, cohort.size)
        own.append(f"{name}: intervention rate = {_n(cohort.intervention_events)} events / "
                   f"{_n(cohort.size)} people {TIMES} {per} = {_n(intervention_rate)} per {per}")
        if cohort.comparison_rate is not None:
            comparison_rate = Fraction(cohort.comparison_rate)
            expected = comparison_rate * cohort.size / per
            own.append(f"{name}: comparison rate = {_n(comparison_rate)} per {per} (given)")
            own.append(f"{name}: comparison events = {_n(comparison_rate)} {TIMES} "
                       f"{_n(cohort.size)} / {per} = {_n(expected)}")
        else:
            assert cohort.comparison_events is not None
            comparison_size = cohort.comparison_size or cohort.size
            comparison_rate = Fraction(cohort.comparison_events * per, comparison_size)
            expected = comparison_rate * cohort.size / per
            own.append(f"{name}: comparison rate = {_n(cohort.comparison_events)} events / "
                       f"{_n(comparison_size)} people {TIMES} {per} = {_n(comparison_rate)} "
                       f"per {per}")
            if comparison_size != cohort.size:
                own.append(f"{name}: comparison events for {_n(cohort.size)} people = "
                           f"{_n(comparison_rate)} {TIMES} {_n(cohort.size)} / {per} = "
                           f"{_n(expected)}")
        reduction = (comparison_rate - intervention_rate) / comparison_rate * 100
        own.append(f"{name}: reduction = ({_n(comparison_rate)} {MINUS} "
                   f"{_n(intervention_rate)}) / {_n(comparison_rate)} = {_pct(reduction)}")
        avoided = (comparison_rate - intervention_rate) / per * cohort.size
        own.append(f"{name}: events avoided = ({_n(comparison_rate)} {MINUS} "
                   f"{_n(intervention_rate)}) / {per} {TIMES} {_n(cohort.size)} = {_n(avoided)}")
        meets = reduction >= cohort_threshold
        own.append(f"{name}: {_versus(reduction, cohort_threshold)} cohort threshold: "
                   + ("early payment due" if meets and mechanism.early_payment else
                      "no early payment" if not meets else
                      "(early payments are not part of this mechanism)"))
        before = Fraction(0)
        paid = Fraction(0)
        if meets and mechanism.early_payment:
            before = _to_penny(avoided * price)
            own.append(f"{name}: early payment = {_n(avoided)} events {TIMES} "
                       f"{_money(price)} = {_money(before)}")
            paid = before
            if mechanism.cohort_cap is not None and paid > Fraction(mechanism.cohort_cap):
                paid = Fraction(mechanism.cohort_cap)
                own.append(f"{name}: early payment capped at the per-cohort cap "
                           f"{_money(paid)}")
            if mechanism.overall_cap is not None:
                room = Fraction(mechanism.overall_cap) - early_total
                if paid > room:
                    own.append(f"{name}: early payment limited to what the overall cap "
                               f"{_money(mechanism.overall_cap)} leaves: "
                               f"{_money(mechanism.overall_cap)} {MINUS} "
                               f"{_money(early_total)} = {_money(room)}")
                    paid = room
        early_total += paid
        expected_total += expected
        lines += own
        statements.append(CohortStatement(
            input=cohort, intervention_rate=_dec(intervention_rate),
            comparison_rate=_dec(comparison_rate), comparison_events=_dec(expected),
            reduction=_dec(reduction), meets_cohort_threshold=meets,
            events_avoided=_dec(avoided), early_payment_before_caps=_pounds(before),
            early_payment=_pounds(paid), lines=tuple(own)))

    people = sum(cohort.size for cohort in cohorts)
    events = sum(cohort.intervention_events for cohort in cohorts)
    pooled_intervention = Fraction(events * per, people)
    pooled_comparison = expected_total * per / people
    pooled_reduction = (expected_total - events) / expected_total * 100
    pooled_avoided = expected_total - events
    every = "all cohorts"
    lines.append(f"{every}: people = {_sum([c.size for c in cohorts])}")
    lines.append(f"{every}: intervention events = "
                 f"{_sum([c.intervention_events for c in cohorts])}")
    lines.append(f"{every}: comparison events = "
                 f"{_sum([Fraction(s.comparison_events) for s in statements])}")
    lines.append(f"{every}: intervention rate = {_n(events)} / {_n(people)} {TIMES} {per} = "
                 f"{_n(pooled_intervention)} per {per}")
    lines.append(f"{every}: comparison rate = {_n(expected_total)} / {_n(people)} {TIMES} "
                 f"{per} = {_n(pooled_comparison)} per {per}")
    lines.append(f"{every}: reduction = ({_n(expected_total)} {MINUS} {_n(events)}) / "
                 f"{_n(expected_total)} = {_pct(pooled_reduction)}")
    lines.append(f"{every}: events avoided = {_n(expected_total)} {MINUS} {_n(events)} = "
                 f"{_n(pooled_avoided)}")
    meets_overall = pooled_reduction >= overall_threshold
    if final:
        lines.append(f"{every}: {_versus(pooled_reduction, overall_threshold)} overall "
                     "threshold: "
                     + ("outcome payment triggered" if meets_overall else "no outcome payment"))
    else:
        lines.append(f"{every}: interim statement: the overall threshold "
                     f"({_n(overall_threshold, 12)}%) is tested when every cohort is in; "
                     "no outcome payment yet")

    outcome_before = Fraction(0)
    outcome = Fraction(0)
    if final and meets_overall:
        outcome_before = _to_penny(pooled_avoided * price)
        lines.append(f"{every}: outcome payment = {_n(pooled_avoided)} events {TIMES} "
                     f"{_money(price)} = {_money(outcome_before)}")
        outcome = outcome_before
        if mechanism.overall_cap is not None and outcome > Fraction(mechanism.overall_cap):
            outcome = Fraction(mechanism.overall_cap)
            lines.append(f"{every}: outcome payment capped at the overall cap {_money(outcome)}")
    early_amounts = [Fraction(s.early_payment) for s in statements]
    if any(early_amounts):
        lines.append(f"early payments made = {_sum(early_amounts, money=True)}")
    if final and meets_overall:
        final_payment = max(outcome - early_total, Fraction(0))
        shown = f"{_money(outcome)} {MINUS} {_money(early_total)}"
        lines.append(f"final payment = {shown} = {_money(final_payment)}"
                     if outcome >= early_total else
                     f"final payment = {shown}, below 0, so {_money(0)} "
                     "(early payments are not clawed back)")
    else:
        final_payment = Fraction(0)
        why = "interim statement" if not final else "overall threshold not met"
        lines.append(f"final payment = {_money(0)} ({why}"
                     + ("; early payments are kept)" if early_total else ")"))
    total = early_total + final_payment
    lines.append(f"total paid = early {_money(early_total)} + final {_money(final_payment)} = "
                 f"{_money(total)}")

    return PaymentStatement(
        mechanism=mechanism, cohorts=tuple(statements), people=people,
        intervention_events=events, comparison_events=_dec(expected_total),
        intervention_rate=_dec(pooled_intervention), comparison_rate=_dec(pooled_comparison),
        reduction=_dec(pooled_reduction), meets_overall_threshold=meets_overall, final=final,
        events_avoided=_dec(pooled_avoided), outcome_payment_before_caps=_pounds(outcome_before),
        outcome_payment=_pounds(outcome), early_payments=_pounds(early_total),
        final_payment=_pounds(final_payment), total_payment=_pounds(total), lines=tuple(lines))


# ----------------------------------------------------------------------------------------------
# Helpers

def _invalid(message: str, problems: dict[str, list[str]]) -> InvalidArgumentError:
    listed = "; ".join(f"{where}: {', '.join(messages)}" for where, messages in problems.items())
    return InvalidArgumentError(f"{message}: {listed}", details={"fields": problems})


def _add(problems: dict[str, list[str]], where: str, message: str) -> None:
    problems.setdefault(where, []).append(message)


def _at(prefix: str) -> Callable[[str], str]:
    def join(key: str) -> str:
        return f"{prefix}.{key}" if prefix else key
    return join


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _unknown_keys(config: Mapping[Any, Any], known: set[str], path: str,
                  problems: dict[str, list[str]]) -> None:
    for key in config:
        if key not in known:
            _add(problems, _at(path)(str(key)),
                 f"unknown field; expected one of {', '.join(sorted(known))}")


def _number(config: Mapping[Any, Any], key: str, at: Callable[[str], str],
            problems: dict[str, list[str]], *, required: bool) -> Decimal | None:
    if key not in config or config[key] is None:
        if required:
            _add(problems, at(key), "required")
        return None
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        _add(problems, at(key), f"must be a number, not {_kind(value)}")
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        _add(problems, at(key), f"must be a number, not {value!r}")
        return None
    if not number.is_finite():
        _add(problems, at(key), f"must be a finite number, not {value!r}")
        return None
    why = _out_of_bounds(number, MAX_AMOUNT)
    if why is not None:
        _add(problems, at(key), why)
        return None
    return number


def _percentage(config: Mapping[Any, Any], key: str, at: Callable[[str], str],
                problems: dict[str, list[str]]) -> Decimal | None:
    value = _number(config, key, at, problems, required=True)
    if value is not None and not 0 < value < 100:
        _add(problems, at(key), f"must be a percentage above 0 and below 100, not {value}")
        return None
    return value


def _not_count(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


# Bounds on every figure the statement works with, whatever it came from (the programme file,
# imported outcome data, a form): its arithmetic is exact (fractions), so one 10^999999999 or
# 4,000-digit figure would hold the interpreter for minutes. Far beyond any real programme.
MAX_PEOPLE = 10_000_000
MAX_EVENTS = 1_000_000_000
MAX_AMOUNT = Decimal(10) ** 12  # pounds
MAX_RATE = Decimal(1_000_000)
MAX_PER = 1_000_000
MAX_PLACES = 6


def _too_big(value: object, maximum: int) -> bool:
    """A count outside 0..maximum (checked before any arithmetic on it)."""
    return isinstance(value, int) and not isinstance(value, bool) and not (
        -maximum <= value <= maximum)


def _out_of_bounds(value: object, maximum: Decimal) -> str | None:
    """Why a decimal figure is beyond what the statement works with (None: it is not)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return None  # the caller's type check says what is wrong
    if isinstance(value, int):
        return None if abs(value) <= maximum else f"must be at most {maximum}"
    if not value.is_finite():
        return None
    if value.copy_abs() > maximum:  # copy_abs: no context, so no Overflow
        return f"must be at most {maximum}"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        return f"must have at most {MAX_PLACES} digits after the point"
    return None


def _dec(value: Fraction) -> Decimal:
    with localcontext(_FIELD_DIGITS):
        return Decimal(value.numerator) / Decimal(value.denominator)


def _pounds(value: Fraction) -> Decimal:
    """An amount already in whole pennies, as Decimal pounds with 2 places."""
    return _dec(value).quantize(_PENNY)


def _to_penny(amount: Fraction) -> Fraction:
    """Round half up to the penny (amounts here are never negative)."""
    pennies = math.floor(amount * 100 + Fraction(1, 2))
    return Fraction(pennies, 100)


def _rounded(value: Fraction, places: int) -> Decimal:
    with localcontext(_SHOW_DIGITS):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _n(value: Fraction | int, places: int = 2) -> str:
    """A count or rate for a line: thousands separated, at most `places` decimals, trailing
    zeros dropped."""
    shown = _rounded(Fraction(value), places)
    text = f"{shown:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pct(value: Fraction, places: int = 1) -> str:
    return f"{_rounded(value, places):f}%"


def _money(value: Fraction | Decimal | int) -> str:
    amount = _rounded(Fraction(value), 2)
    return f"{POUND}{amount:,.2f}"


def _sum(values: Sequence[Fraction | int], *, money: bool = False) -> str:
    show = _money if money else _n
    total = sum(values, Fraction(0))
    if len(values) == 1:
        return show(total)
    return " + ".join(show(v) for v in values) + f" = {show(total)}"


def _versus(reduction: Fraction, threshold: Fraction) -> str:
    """"8.4% < 10%" — with as many decimals as it takes for the shown figure to be on the
    right side of the threshold (9.96% is not shown as "10.0% < 10%")."""
    places = 1
    while places < 12 and reduction != threshold and _rounded(reduction, places) == _rounded(
            threshold, places):
        places += 1
    sign = GE if reduction >= threshold else "<"
    return f"{_pct(reduction, places)} {sign} {_n(threshold, 12)}%"


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value
